//! The session table that runs inside the forwarding loop: demultiplexing
//! (RFC 5880 §6.3, RFC 5881 §3, RFC 5883 §4.1), scheduling, and the part
//! that makes BFD worth running on the dataplane core — next-hop liveness.
//!
//! Fast reroute: when a session leaves Up, every next hop it guards has its
//! liveness bit cleared inside the same `receive`/`poll`/`apply` call,
//! before it returns, so the very next packet takes the backup path. When
//! it comes back Up the bits return only after the session's hold-down and
//! only while dampening does not suppress it.
//!
//! Every way out of Up withdraws: detection timeout, the peer's Down, the
//! peer's AdminDown (RFC 5882 §3.2 lets a client keep using a path whose
//! peer went AdminDown, but BFD no longer verifies it, so fast reroute
//! treats it as lost) and our own AdminDown.
//!
//! Several sessions may guard one next hop; it is live only while **all**
//! of them are Up and released (each guard counts, like a series circuit).
//! When a next hop loses its last guard (`SetGuards`, `Remove`) its bit is
//! left as it is: an unguarded next hop's liveness belongs to the control
//! plane, which raises it as it sees fit.
//!
//! Nothing here logs: a log line on the dataplane core would be a system
//! call in the forwarding loop. State changes reach the control plane as
//! [`BfdEvent`]s, and it logs them.
//!
//! Hot path: `receive` and `poll` allocate nothing once sessions exist (all
//! tables are preallocated, packets are built on the stack), take no locks
//! and make no system calls. `poll` costs one comparison when nothing is
//! due: the engine caches the earliest deadline of all sessions (a lower
//! bound: it may be early, never late) and scans the table only when it
//! has passed.

use std::net::IpAddr;

use hashbrown::HashMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Nanos;
use super::command::{BfdCommand, BfdCommandError};
use super::dampening::Dampening;
use super::event::{BfdEvent, EventQueue};
use super::packet::{BfdPacket, BfdRepr};
use super::session::{Session, SessionKey, SessionParams, Transition};
use super::state::State;
use super::status::SessionStatus;
use super::transmit::BfdTx;
use super::verdict::{DropReason, RxVerdict};
use super::{MULTIHOP_PORT, SINGLE_HOP_PORT, SOURCE_PORT_FIRST};
use crate::fib::{Liveness, NextHopId};
use crate::port::PortId;

/// How many UDP source ports RFC 5881 §4 leaves us (49152..=65535).
const SOURCE_PORTS: usize = 16_384;

/// Drops counted before a packet reaches a session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineCounters {
    pub not_bfd_port: u64,
    pub malformed: u64,
    pub no_session: u64,
    /// Events lost because the control plane did not drain the queue.
    pub events_dropped: u64,
}

/// How many of a next hop's guarding sessions exist and how many of them
/// currently hold it live.
#[derive(Clone, Copy, Debug, Default)]
struct GuardCount {
    guards: u32,
    released: u32,
}

impl GuardCount {
    fn live(&self) -> bool {
        self.released == self.guards
    }
}

/// When a session's next hops may carry traffic again.
#[derive(Debug)]
struct Release {
    released: bool,
    release_at: Option<Nanos>,
    dampening: Option<Dampening>,
}

#[derive(Debug)]
struct Slot {
    session: Session,
    guards: Vec<NextHopId>,
    release: Release,
    /// Earliest time `poll` has work for this slot.
    deadline: Nanos,
}

impl Slot {
    fn next_deadline(&self) -> Nanos {
        let session = self.session.next_deadline().unwrap_or(Nanos::MAX);
        session.min(self.release.release_at.unwrap_or(Nanos::MAX))
    }
}

/// The BFD engine of one dataplane core.
#[derive(Debug)]
pub struct BfdEngine {
    rng: ChaCha8Rng,
    max_sessions: usize,
    slots: Vec<Option<Slot>>,
    free_slots: Vec<usize>,
    by_key: HashMap<SessionKey, usize>,
    by_discriminator: HashMap<u32, usize>,
    /// Your Discriminator zero, single-hop: (port, peer) (RFC 5881 §3).
    single_hop: HashMap<(PortId, IpAddr), usize>,
    /// Your Discriminator zero, multihop: (local, peer) (RFC 5883 §4.1).
    multihop: HashMap<(IpAddr, IpAddr), usize>,
    guard_counts: HashMap<NextHopId, GuardCount>,
    /// One bit per source port in use.
    source_ports: Box<[u64; SOURCE_PORTS / 64]>,
    events: EventQueue,
    earliest: Nanos,
    /// The latest time seen, for [`Self::sessions`].
    now: Nanos,
    counters: EngineCounters,
}

impl BfdEngine {
    /// An engine for up to `max_sessions` sessions; every table is sized
    /// for that now, so the hot path never grows one. `seed` drives
    /// discriminators, source ports, sequence numbers and jitter:
    /// deterministic for tests, random in production.
    pub fn new(seed: u64, max_sessions: usize) -> Self {
        BfdEngine {
            rng: ChaCha8Rng::seed_from_u64(seed),
            max_sessions,
            slots: Vec::with_capacity(max_sessions),
            free_slots: Vec::with_capacity(max_sessions),
            by_key: HashMap::with_capacity(max_sessions),
            by_discriminator: HashMap::with_capacity(max_sessions),
            single_hop: HashMap::with_capacity(max_sessions),
            multihop: HashMap::with_capacity(max_sessions),
            guard_counts: HashMap::with_capacity(max_sessions * 2),
            source_ports: Box::new([0; SOURCE_PORTS / 64]),
            events: EventQueue::with_capacity(max_sessions.saturating_mul(4).max(64)),
            earliest: Nanos::MAX,
            now: 0,
            counters: EngineCounters::default(),
        }
    }

    pub fn counters(&self) -> EngineCounters {
        EngineCounters {
            events_dropped: self.events.dropped,
            ..self.counters
        }
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Applies one control-plane command. May allocate (it is not the
    /// per-packet path). Liveness bits change here too: a new guard goes
    /// down until its session is Up; an AdminDown clears at once.
    pub fn apply(
        &mut self,
        cmd: BfdCommand,
        now: Nanos,
        liveness: &Liveness,
    ) -> Result<(), BfdCommandError> {
        self.now = self.now.max(now);
        match cmd {
            BfdCommand::Add {
                key,
                params,
                guards,
            } => self.add(key, params, guards, now, liveness),
            BfdCommand::Modify { key, params } => self.modify(key, params, now, liveness),
            BfdCommand::SetGuards { key, guards } => {
                let idx = self.index(&key)?;
                let guards = dedup(guards);
                if let Some(slot) = self.slots.get_mut(idx).and_then(Option::as_mut) {
                    let released = slot.release.released;
                    for &nh in &slot.guards {
                        guard_detach(&mut self.guard_counts, nh, released, liveness);
                    }
                    for &nh in &guards {
                        guard_attach(&mut self.guard_counts, nh, released, liveness);
                    }
                    slot.guards = guards;
                }
                Ok(())
            }
            BfdCommand::Remove { key } => self.remove(&key, liveness),
        }
    }

    fn index(&self, key: &SessionKey) -> Result<usize, BfdCommandError> {
        self.by_key
            .get(key)
            .copied()
            .ok_or(BfdCommandError::NoSuchSession(*key))
    }

    fn add(
        &mut self,
        key: SessionKey,
        params: SessionParams,
        guards: Vec<NextHopId>,
        now: Nanos,
        liveness: &Liveness,
    ) -> Result<(), BfdCommandError> {
        params
            .validate()
            .map_err(|error| BfdCommandError::InvalidParams { key, error })?;
        let port = match (key.multihop, key.port) {
            (false, None) => return Err(BfdCommandError::SingleHopWithoutPort(key)),
            (_, port) => port,
        };
        if self.by_key.contains_key(&key) {
            return Err(BfdCommandError::Exists(key));
        }
        let conflict = match (key.multihop, port) {
            (true, _) => self.multihop.get(&(key.local, key.peer)),
            (false, Some(port)) => self.single_hop.get(&(port, key.peer)),
            (false, None) => None,
        };
        if let Some(&other) = conflict {
            let existing = self.slots.get(other).and_then(Option::as_ref);
            return Err(BfdCommandError::DemuxConflict {
                key,
                existing: existing.map_or(key, |slot| *slot.session.key()),
            });
        }
        if self.by_key.len() >= self.max_sessions {
            return Err(BfdCommandError::TableFull {
                max_sessions: self.max_sessions,
            });
        }

        let discriminator = self.fresh_discriminator();
        let src_port = self.allocate_source_port();
        let xmit_auth_seq = self.rng.random();
        let dampening = params.dampening.map(Dampening::new);
        let session = Session::new(key, params, discriminator, src_port, xmit_auth_seq, now);
        let guards = dedup(guards);
        for &nh in &guards {
            guard_attach(&mut self.guard_counts, nh, false, liveness);
        }
        let mut slot = Slot {
            session,
            guards,
            release: Release {
                released: false,
                release_at: None,
                dampening,
            },
            deadline: 0,
        };
        slot.deadline = slot.next_deadline();
        self.earliest = self.earliest.min(slot.deadline);

        let idx = match self.free_slots.pop() {
            Some(idx) => idx,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        if let Some(entry) = self.slots.get_mut(idx) {
            *entry = Some(slot);
        }
        self.by_key.insert(key, idx);
        self.by_discriminator.insert(discriminator, idx);
        match (key.multihop, port) {
            (true, _) => {
                self.multihop.insert((key.local, key.peer), idx);
            }
            (false, Some(port)) => {
                self.single_hop.insert((port, key.peer), idx);
            }
            (false, None) => {}
        }
        Ok(())
    }

    fn modify(
        &mut self,
        key: SessionKey,
        params: SessionParams,
        now: Nanos,
        liveness: &Liveness,
    ) -> Result<(), BfdCommandError> {
        params
            .validate()
            .map_err(|error| BfdCommandError::InvalidParams { key, error })?;
        let idx = self.index(&key)?;
        let Some(slot) = self.slots.get_mut(idx).and_then(Option::as_mut) else {
            return Err(BfdCommandError::NoSuchSession(key));
        };
        slot.release.dampening = match (slot.release.dampening.take(), params.dampening) {
            (Some(mut state), Some(config)) => {
                state.reconfigure(config, now);
                Some(state)
            }
            (None, Some(config)) => Some(Dampening::new(config)),
            (_, None) => None,
        };
        if let Some(transition) = slot.session.reconfigure(params, now, &mut self.rng) {
            on_transition(
                slot,
                transition,
                now,
                &mut self.guard_counts,
                &mut self.events,
                liveness,
            );
        }
        slot.deadline = slot.next_deadline();
        self.earliest = self.earliest.min(slot.deadline);
        Ok(())
    }

    fn remove(&mut self, key: &SessionKey, liveness: &Liveness) -> Result<(), BfdCommandError> {
        let idx = self.index(key)?;
        let Some(slot) = self.slots.get_mut(idx).and_then(Option::take) else {
            return Err(BfdCommandError::NoSuchSession(*key));
        };
        for &nh in &slot.guards {
            guard_detach(&mut self.guard_counts, nh, slot.release.released, liveness);
        }
        self.by_key.remove(key);
        self.by_discriminator
            .remove(&slot.session.local_discriminator());
        match (key.multihop, key.port) {
            (true, _) => {
                self.multihop.remove(&(key.local, key.peer));
            }
            (false, Some(port)) => {
                self.single_hop.remove(&(port, key.peer));
            }
            (false, None) => {}
        }
        self.release_source_port(slot.session.src_port());
        self.free_slots.push(idx);
        Ok(())
    }

    /// bfd.LocalDiscr: random, nonzero, unique in this engine (§6.8.1).
    fn fresh_discriminator(&mut self) -> u32 {
        loop {
            let candidate: u32 = self.rng.random();
            if candidate != 0 && !self.by_discriminator.contains_key(&candidate) {
                return candidate;
            }
        }
    }

    /// A source port unique among our sessions (RFC 5881 §4), starting the
    /// search at a random one. With all 16384 in use, a random one is
    /// shared, which §4 allows.
    fn allocate_source_port(&mut self) -> u16 {
        let start = self.rng.random_range(0..SOURCE_PORTS);
        for step in 0..SOURCE_PORTS {
            let offset = (start + step) % SOURCE_PORTS;
            let (word, bit) = (offset / 64, 1u64 << (offset % 64));
            if let Some(bits) = self.source_ports.get_mut(word)
                && *bits & bit == 0
            {
                *bits |= bit;
                return source_port(offset);
            }
        }
        source_port(start)
    }

    fn release_source_port(&mut self, port: u16) {
        let offset = usize::from(port.wrapping_sub(SOURCE_PORT_FIRST));
        if offset < SOURCE_PORTS
            && let Some(bits) = self.source_ports.get_mut(offset / 64)
        {
            *bits &= !(1u64 << (offset % 64));
        }
    }

    /// A UDP datagram to port 3784/4784 addressed to us. `port` is the
    /// dataplane port it arrived on, `ttl` its IP TTL/hop limit, `payload`
    /// the UDP payload. Runs §6.8.6; a session leaving Up clears its
    /// next hops' liveness before this returns. A Poll is answered by the
    /// next [`Self::poll`] (its deadline becomes "now"), so the loop's
    /// `poll` in the same turn sends the Final.
    #[allow(clippy::too_many_arguments)]
    pub fn receive(
        &mut self,
        now: Nanos,
        port: PortId,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        udp_src_port: u16,
        udp_dst_port: u16,
        payload: &[u8],
        liveness: &Liveness,
    ) -> RxVerdict {
        // RFC 5881 §4 leaves source-port checks to the sender; we accept
        // any, and demultiplex as RFC 5880 §6.3 says.
        let _ = udp_src_port;
        self.now = self.now.max(now);
        let multihop = match udp_dst_port {
            SINGLE_HOP_PORT => false,
            MULTIHOP_PORT => true,
            other => {
                self.counters.not_bfd_port += 1;
                return RxVerdict::Dropped(DropReason::NotBfdPort(other));
            }
        };
        let packet = BfdPacket::new_unchecked(payload);
        let repr = match BfdRepr::parse(&packet) {
            Ok(repr) => repr,
            Err(error) => {
                self.counters.malformed += 1;
                return RxVerdict::Dropped(DropReason::Malformed(error));
            }
        };
        let idx = if repr.your_discriminator != 0 {
            self.by_discriminator.get(&repr.your_discriminator)
        } else if multihop {
            self.multihop.get(&(dst, src))
        } else {
            self.single_hop.get(&(port, src))
        };
        let Some(slot) = idx
            .copied()
            .and_then(|idx| self.slots.get_mut(idx))
            .and_then(Option::as_mut)
        else {
            self.counters.no_session += 1;
            return RxVerdict::Dropped(DropReason::NoSession);
        };
        let verdict = if slot.session.key().multihop != multihop {
            slot.session.count_drop();
            RxVerdict::Dropped(DropReason::WrongEncapsulation)
        } else {
            match slot
                .session
                .receive(now, ttl, packet.packet(), &repr, &mut self.rng)
            {
                Ok(transition) => {
                    if let Some(transition) = transition {
                        on_transition(
                            slot,
                            transition,
                            now,
                            &mut self.guard_counts,
                            &mut self.events,
                            liveness,
                        );
                    }
                    RxVerdict::Accepted
                }
                Err(reason) => RxVerdict::Dropped(reason),
            }
        };
        slot.deadline = slot.next_deadline();
        self.earliest = self.earliest.min(slot.deadline);
        verdict
    }

    /// Detection timeouts, hold-down/dampening releases and due
    /// transmissions; call it every loop turn. One comparison when nothing
    /// is due.
    pub fn poll(&mut self, now: Nanos, liveness: &Liveness, tx: &mut impl FnMut(&BfdTx)) {
        if now < self.earliest {
            return;
        }
        self.now = self.now.max(now);
        let mut earliest = Nanos::MAX;
        for slot in self.slots.iter_mut().flatten() {
            if slot.deadline <= now {
                if let Some(transition) = slot.session.poll(now, &mut self.rng, tx) {
                    on_transition(
                        slot,
                        transition,
                        now,
                        &mut self.guard_counts,
                        &mut self.events,
                        liveness,
                    );
                }
                if slot.release.release_at.is_some_and(|at| at <= now) {
                    try_release(
                        slot,
                        now,
                        &mut self.guard_counts,
                        &mut self.events,
                        liveness,
                    );
                }
                slot.deadline = slot.next_deadline();
            }
            earliest = earliest.min(slot.deadline);
        }
        self.earliest = earliest;
    }

    /// The earliest time [`Self::poll`] may have work; never later than the
    /// true next deadline (it may be earlier). `None` with no sessions due
    /// ever (for example all passive and silent).
    pub fn next_deadline(&self) -> Option<Nanos> {
        (self.earliest != Nanos::MAX).then_some(self.earliest)
    }

    pub fn drain_events(&mut self, out: &mut impl FnMut(BfdEvent)) {
        while let Some(event) = self.events.pop() {
            out(event);
        }
    }

    /// Every session, for `show bfd` and metrics.
    pub fn sessions(&self) -> impl Iterator<Item = SessionStatus> + '_ {
        let now = self.now;
        self.slots
            .iter()
            .flatten()
            .map(move |slot| status(slot, now))
    }

    /// One session's status.
    pub fn session(&self, key: &SessionKey) -> Option<SessionStatus> {
        let idx = *self.by_key.get(key)?;
        let slot = self.slots.get(idx)?.as_ref()?;
        Some(status(slot, self.now))
    }
}

fn status(slot: &Slot, now: Nanos) -> SessionStatus {
    let session = &slot.session;
    let dampening = slot.release.dampening.as_ref();
    SessionStatus {
        key: *session.key(),
        state: session.state(),
        remote_state: session.remote_state(),
        local_discriminator: session.local_discriminator(),
        remote_discriminator: session.remote_discriminator(),
        since: session.since(),
        negotiated_tx_us: session.negotiated_tx_us(),
        negotiated_rx_us: session.negotiated_rx_us(),
        detect_time_us: session.detection_time_ns() / 1_000,
        remote_detect_mult: session.remote_detect_mult(),
        local_diag: session.local_diag(),
        remote_diag: session.remote_diag(),
        counters: *session.counters(),
        flaps: session.flaps(),
        dampened: dampening.is_some_and(|d| d.suppressed_at(now)),
        penalty: dampening.map_or(0, |d| d.penalty(now)),
        guards_live: slot.release.released,
        poll_in_progress: session.poll_in_progress(),
        src_port: session.src_port(),
    }
}

fn source_port(offset: usize) -> u16 {
    SOURCE_PORT_FIRST.saturating_add(u16::try_from(offset).unwrap_or(0))
}

fn dedup(mut guards: Vec<NextHopId>) -> Vec<NextHopId> {
    guards.sort_unstable();
    guards.dedup();
    guards
}

/// Liveness of a guarded next hop is `released == guards`.
fn publish(count: &GuardCount, nh: NextHopId, liveness: &Liveness) {
    liveness.set(nh, count.live());
}

fn guard_attach(
    counts: &mut HashMap<NextHopId, GuardCount>,
    nh: NextHopId,
    released: bool,
    liveness: &Liveness,
) {
    let count = counts.entry(nh).or_default();
    count.guards += 1;
    count.released += u32::from(released);
    publish(count, nh, liveness);
}

fn guard_detach(
    counts: &mut HashMap<NextHopId, GuardCount>,
    nh: NextHopId,
    released: bool,
    liveness: &Liveness,
) {
    let Some(count) = counts.get_mut(&nh) else {
        return;
    };
    count.guards = count.guards.saturating_sub(1);
    count.released = count.released.saturating_sub(u32::from(released));
    if count.guards == 0 {
        // Unguarded now: the control plane owns the bit.
        counts.remove(&nh);
    } else {
        publish(count, nh, liveness);
    }
}

/// Records a state change: a session leaving Up withdraws its next hops at
/// once and counts a flap for dampening; one entering Up starts hold-down
/// (or releases at once). Queues the event.
fn on_transition(
    slot: &mut Slot,
    transition: Transition,
    now: Nanos,
    counts: &mut HashMap<NextHopId, GuardCount>,
    events: &mut EventQueue,
    liveness: &Liveness,
) {
    let Transition { from, to, diag } = transition;
    if from == State::Up && to != State::Up {
        // Dampening penalises failures, not the operator's AdminDown.
        if to == State::Down
            && let Some(dampening) = &mut slot.release.dampening
        {
            dampening.record_flap(now);
        }
        if slot.release.released {
            slot.release.released = false;
            for &nh in &slot.guards {
                if let Some(count) = counts.get_mut(&nh) {
                    count.released = count.released.saturating_sub(1);
                }
                liveness.set(nh, false);
            }
        }
        slot.release.release_at = None;
    }
    if to == State::Up {
        let mut at = now.saturating_add(slot.session.params().hold_down_ns);
        if let Some(reuse) = slot
            .release
            .dampening
            .as_ref()
            .and_then(|dampening| dampening.reuse_at(now))
        {
            at = at.max(reuse);
        }
        if at <= now {
            release(slot, counts, liveness);
        } else {
            slot.release.release_at = Some(at);
        }
    }
    events.push(BfdEvent {
        key: *slot.session.key(),
        from,
        to,
        diag,
        at: now,
        guards_live: slot.release.released,
    });
}

/// Hold-down or reuse time reached while Up: release unless dampening
/// still suppresses (then wait for the reuse time).
fn try_release(
    slot: &mut Slot,
    now: Nanos,
    counts: &mut HashMap<NextHopId, GuardCount>,
    events: &mut EventQueue,
    liveness: &Liveness,
) {
    slot.release.release_at = None;
    if slot.session.state() != State::Up || slot.release.released {
        return;
    }
    if let Some(dampening) = &mut slot.release.dampening
        && dampening.is_suppressed(now)
    {
        slot.release.release_at = dampening.reuse_at(now);
        return;
    }
    release(slot, counts, liveness);
    events.push(BfdEvent {
        key: *slot.session.key(),
        from: State::Up,
        to: State::Up,
        diag: slot.session.local_diag(),
        at: now,
        guards_live: true,
    });
}

fn release(slot: &mut Slot, counts: &mut HashMap<NextHopId, GuardCount>, liveness: &Liveness) {
    slot.release.released = true;
    for &nh in &slot.guards {
        if let Some(count) = counts.get_mut(&nh) {
            count.released = (count.released + 1).min(count.guards);
            publish(count, nh, liveness);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_and_commands_cross_threads() {
        fn send<T: Send>() {}
        send::<BfdEngine>();
        send::<BfdCommand>();
        send::<BfdEvent>();
        send::<SessionStatus>();
    }
}
