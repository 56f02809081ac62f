//! The lock-free way between the control plane and the BFD engine that
//! runs on the dataplane core (DESIGN.md "BFD"; issue 5: "the control
//! plane creates/changes/deletes sessions through the lock-free channel
//! and receives state-change events").
//!
//! - **Commands** ([`BfdControl`] → engine): a bounded crossbeam channel;
//!   the control plane's `send` never blocks (a full channel hands the
//!   command back), the dataplane takes a handful per loop turn.
//! - **Events** (engine → control plane): each session state change goes
//!   out as [`DataplaneEvent::Bfd`] on the control plane's event channel,
//!   which never blocks either. While that channel is full the changes wait
//!   here and are retried every turn; none is lost, and while they wait a
//!   peer's changes are folded to what the control plane must still hear —
//!   a Down it has not seen, and the latest state.
//! - **Status** (engine → `vrctl show bfd`, `/metrics`): [`BfdSnapshot`], a
//!   copy of every session made about every [`SNAPSHOT_INTERVAL`] with a
//!   `try_lock`, so the dataplane never waits for a reader.
//!
//! Everything here runs on the dataplane thread, outside the per-packet
//! path: it may allocate a little (a refused command's log line, a grown
//! snapshot buffer) and logs each state change at info.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use controlplane::event_loop::{DataplaneEvent, DataplaneSender};
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use dataplane::bfd::{BfdCommand, BfdEvent, EngineCounters, SessionStatus};
use dataplane::pipeline::Forwarder;

use crate::mgmt::{BfdStatus, BfdStatusSource};

/// Commands applied per loop turn at most: a burst of configuration (a
/// commit creating hundreds of sessions) is spread over turns instead of
/// stalling forwarding for one long turn.
pub const COMMANDS_PER_TURN: usize = 16;

/// How often the dataplane copies its sessions into the [`BfdSnapshot`].
pub const SNAPSHOT_INTERVAL: Duration = Duration::from_millis(100);

/// The control plane's end: where session commands go.
#[derive(Debug, Clone)]
pub struct BfdControl {
    commands: Sender<BfdCommand>,
}

impl BfdControl {
    /// Queues `cmd` for the dataplane; never blocks. A full channel (or a
    /// dataplane that is gone) gives the command back, to retry later.
    // The command itself is the error: the caller keeps it to retry, and
    // boxing it would cost an allocation per command.
    #[allow(clippy::result_large_err)]
    pub fn send(&self, cmd: BfdCommand) -> Result<(), BfdCommand> {
        self.commands.try_send(cmd).map_err(|e| e.into_inner())
    }
}

/// What the dataplane side has done, for `/metrics` and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BfdChannelCounters {
    pub commands_applied: u64,
    /// Commands the engine refused (each logged at warn with the reason).
    pub commands_refused: u64,
    /// State changes handed to the control plane.
    pub events_sent: u64,
    /// Sends that found the control plane's channel full and were retried.
    pub events_deferred: u64,
    /// State changes folded into a later one while waiting (never a Down
    /// the control plane has not heard).
    pub events_folded: u64,
}

/// One state change for the control plane: `up` is whether the session
/// holds its guarded next hops live ([`BfdEvent::guards_live`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PeerChange {
    peer: IpAddr,
    up: bool,
}

/// The dataplane thread's end: drains commands into the core's engine,
/// forwards its events, publishes the snapshot. Owned by the dataplane
/// thread; see [`Self::service`].
#[derive(Debug)]
pub struct BfdDataplaneSide {
    commands: Receiver<BfdCommand>,
    events: DataplaneSender,
    /// Changes the control plane's channel had no room for, oldest first.
    /// Per peer at most `[down]`, `[up]` or `[down, up]` (see
    /// [`Self::wait`]), so it never holds more than two per peer.
    waiting: VecDeque<PeerChange>,
    snapshot: Arc<BfdSnapshot>,
    published_at: Option<u64>,
    counters: BfdChannelCounters,
}

/// Creates the channel: `capacity` commands may wait for the dataplane.
/// `events` is the control plane's event channel
/// (`ControlPlane::dataplane_sender`).
pub fn bfd_channel(
    events: DataplaneSender,
    capacity: usize,
) -> (BfdControl, BfdDataplaneSide, Arc<BfdSnapshot>) {
    let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
    let snapshot = Arc::new(BfdSnapshot::default());
    let side = BfdDataplaneSide {
        commands: rx,
        events,
        waiting: VecDeque::with_capacity(64),
        snapshot: Arc::clone(&snapshot),
        published_at: None,
        counters: BfdChannelCounters::default(),
    };
    (BfdControl { commands: tx }, side, snapshot)
}

impl BfdDataplaneSide {
    /// One loop turn's BFD housekeeping, after `DataplaneCore::poll`:
    /// applies up to [`COMMANDS_PER_TURN`] commands, forwards the engine's
    /// state changes (and retries those still waiting), and publishes the
    /// snapshot when it is due. Returns the commands applied, as work done.
    pub fn service(&mut self, forwarder: &mut Forwarder, now_ns: u64) -> u32 {
        let mut applied = 0;
        for _ in 0..COMMANDS_PER_TURN {
            let cmd = match self.commands.try_recv() {
                Ok(cmd) => cmd,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            };
            applied += 1;
            match forwarder.apply_bfd(cmd, now_ns) {
                Ok(()) => self.counters.commands_applied += 1,
                Err(error) => {
                    self.counters.commands_refused += 1;
                    tracing::warn!(%error, "the dataplane refused a BFD command");
                }
            }
        }

        forwarder.drain_bfd_events(&mut |event| {
            log_change(&event);
            let change = PeerChange {
                peer: event.key.peer,
                up: event.guards_live,
            };
            if self.waiting.is_empty() {
                match self.events.send(to_dataplane_event(change)) {
                    Ok(()) => self.counters.events_sent += 1,
                    Err(_) => {
                        self.counters.events_deferred += 1;
                        self.wait(change);
                    }
                }
            } else {
                // Behind older changes still waiting: keep the order.
                self.wait(change);
            }
        });
        self.retry_waiting();

        let due = self
            .published_at
            .is_none_or(|at| now_ns.saturating_sub(at) >= SNAPSHOT_INTERVAL.as_nanos() as u64);
        // A reader holding the copy makes `publish` skip; retried next turn.
        if due
            && self.snapshot.publish(
                forwarder.bfd().sessions(),
                forwarder.bfd().counters(),
                self.counters,
                now_ns,
            )
        {
            self.published_at = Some(now_ns);
        }
        applied
    }

    /// Changes waiting for room in the control plane's channel.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    pub fn counters(&self) -> BfdChannelCounters {
        self.counters
    }

    /// Sends what waits, oldest first, until the channel is full again.
    fn retry_waiting(&mut self) {
        while let Some(&change) = self.waiting.front() {
            if self.events.send(to_dataplane_event(change)).is_err() {
                self.counters.events_deferred += 1;
                return;
            }
            self.waiting.pop_front();
            self.counters.events_sent += 1;
        }
    }

    /// Queues a change behind the others, folding it into what already
    /// waits for the same peer. RFC 5882 §3 has clients act on every Down,
    /// so a Down not yet delivered always stays; an Up may be dropped when
    /// a later change supersedes it. A peer thus has at most `[down]`,
    /// `[up]` or `[down, up]` waiting, whatever the flap rate.
    fn wait(&mut self, change: PeerChange) {
        let mut down_at = None;
        let mut up_at = None;
        for (i, waiting) in self.waiting.iter().enumerate() {
            if waiting.peer == change.peer {
                if waiting.up {
                    up_at = Some(i);
                } else {
                    down_at = Some(i);
                }
            }
        }
        match (change.up, down_at, up_at) {
            // Down after [down, up] or [down]: the waiting Down says it;
            // the Up in between is superseded.
            (false, Some(_), up_at) => {
                if let Some(i) = up_at {
                    self.waiting.remove(i);
                    self.counters.events_folded += 1;
                }
                self.counters.events_folded += 1;
            }
            // Down after [up]: the Up is superseded.
            (false, None, Some(i)) => {
                self.waiting.remove(i);
                self.counters.events_folded += 1;
                self.waiting.push_back(change);
            }
            // Up after [up] or [down, up]: nothing new.
            (true, _, Some(_)) => self.counters.events_folded += 1,
            (false, None, None) | (true, _, None) => self.waiting.push_back(change),
        }
    }
}

fn to_dataplane_event(change: PeerChange) -> DataplaneEvent {
    DataplaneEvent::Bfd {
        peer: change.peer,
        up: change.up,
    }
}

fn log_change(event: &BfdEvent) {
    if event.from == event.to {
        // Up → Up: hold-down or dampening let go of the next hops.
        tracing::info!(
            session = %event.key,
            state = %event.to,
            "BFD session's guarded next hops are live again"
        );
    } else {
        tracing::info!(
            session = %event.key,
            from = %event.from,
            to = %event.to,
            diag = %event.diag,
            guards_live = event.guards_live,
            "BFD session changed state"
        );
    }
}

#[derive(Debug, Default)]
struct Published {
    sessions: Vec<SessionStatus>,
    counters: EngineCounters,
    channel: BfdChannelCounters,
    /// The dataplane clock (ns) when copied: `SessionStatus::since` is on
    /// the same clock.
    now_ns: u64,
    at: Option<Instant>,
}

/// The BFD sessions as of the dataplane's last publish (at most about
/// [`SNAPSHOT_INTERVAL`] old), for `vrctl show bfd` and `/metrics`.
#[derive(Debug, Default)]
pub struct BfdSnapshot {
    inner: Mutex<Published>,
}

/// A reader's copy of the snapshot.
#[derive(Debug, Clone, Default)]
pub struct BfdCopy {
    pub sessions: Vec<SessionStatus>,
    pub counters: EngineCounters,
    pub channel: BfdChannelCounters,
    /// The dataplane clock when the copy was made: a session's uptime is
    /// `now_ns - since` plus `age`.
    pub now_ns: u64,
    /// How long ago that was; `None` before the first publish.
    pub age: Option<Duration>,
}

impl BfdSnapshot {
    /// Every session as last published.
    pub fn sessions(&self) -> Vec<SessionStatus> {
        self.lock().sessions.clone()
    }

    /// The engine's drop counters as last published.
    pub fn counters(&self) -> EngineCounters {
        self.lock().counters
    }

    /// Everything at once, consistent with itself, with the clock to age it.
    pub fn read(&self) -> BfdCopy {
        let guard = self.lock();
        BfdCopy {
            sessions: guard.sessions.clone(),
            counters: guard.counters,
            channel: guard.channel,
            now_ns: guard.now_ns,
            age: guard.at.map(|at| at.elapsed()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Published> {
        // A reader that panicked while cloning left the data whole.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the copy unless a reader holds it right now; returns
    /// whether it did. Never blocks. The buffer is reused, so once it has
    /// grown to the session count publishing allocates nothing.
    fn publish(
        &self,
        sessions: impl Iterator<Item = SessionStatus>,
        counters: EngineCounters,
        channel: BfdChannelCounters,
        now_ns: u64,
    ) -> bool {
        let mut guard = match self.inner.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return false,
        };
        guard.sessions.clear();
        guard.sessions.extend(sessions);
        guard.counters = counters;
        guard.channel = channel;
        guard.now_ns = now_ns;
        guard.at = Some(Instant::now());
        true
    }
}

/// What `show bfd` and `/metrics` read (`RouterState::bfd`).
impl BfdStatusSource for BfdSnapshot {
    fn status(&self) -> Option<BfdStatus> {
        let copy = self.read();
        Some(BfdStatus {
            age: copy.age?,
            sessions: copy.sessions,
            counters: copy.counters,
            taken_at: copy.now_ns,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::net::Ipv4Addr;
    use std::rc::Rc;

    use controlplane::clock::{FakeClock, Nanos};
    use controlplane::event_loop::{ActionSink, EventLoop, EventLoopOptions};
    use controlplane::protocol::{Actions, Input, PortId, Protocol};
    use controlplane::route::RibUpdate;
    use dataplane::bfd::{SessionKey, SessionParams};
    use dataplane::fib::{FibConfig, FibWriter};
    use dataplane::packet::MacAddr;
    use dataplane::pipeline::{ForwarderConfig, PortConfig};
    use proptest::prelude::*;

    use super::*;

    const MS: u64 = 1_000_000;

    /// What the control plane's protocols heard: (peer, up).
    type Heard = Rc<RefCell<Vec<(IpAddr, bool)>>>;

    /// A protocol that only listens to BFD events.
    struct Listener {
        heard: Heard,
    }

    impl Protocol for Listener {
        type Config = ();
        type Event = ();
        type Notification = ();

        fn name(&self) -> &str {
            "bfd-listener"
        }
        fn start(&mut self, _: Nanos, _: &mut Actions<()>) {}
        fn handle(&mut self, _: Nanos, input: Input<()>, _: &mut Actions<()>) {
            if let Input::Bfd { peer, up } = input {
                self.heard.borrow_mut().push((peer, up));
            }
        }
        fn reconfigure(&mut self, _: Nanos, _: &(), _: &mut Actions<()>) {}
        fn shutdown(&mut self, _: Nanos, _: &mut Actions<()>) {}
    }

    struct Nowhere;

    impl ActionSink<()> for Nowhere {
        fn send(&mut self, _: PortId, _: Vec<u8>) {}
        fn rib(&mut self, _: RibUpdate) {}
        fn notify(&mut self, _: ()) {}
    }

    /// A control-plane loop whose event channel holds `queue` events, and
    /// what its protocols heard.
    fn control_plane(queue: usize) -> (EventLoop<FakeClock>, Heard) {
        let options = EventLoopOptions {
            dataplane_queue: queue,
            ..EventLoopOptions::default()
        };
        let mut event_loop = EventLoop::with_options(FakeClock::new(0), options).unwrap();
        let heard = Rc::new(RefCell::new(Vec::new()));
        event_loop.add_protocol(
            Listener {
                heard: Rc::clone(&heard),
            },
            Box::new(Nowhere),
        );
        event_loop.turn(Some(Duration::ZERO)).unwrap();
        (event_loop, heard)
    }

    fn forwarder() -> (FibWriter, Forwarder) {
        let (fib, readers) = FibWriter::new(FibConfig {
            v4_first_stride: 16,
            v6_first_stride: 16,
            max_nexthops: 64,
        });
        let ports = vec![PortConfig {
            name: "eth0".into(),
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            mtu: 1500,
            ipv4: vec!["10.0.0.1/24".parse().unwrap()],
            ipv6: Vec::new(),
        }];
        let config = ForwarderConfig {
            bfd_max_sessions: 32,
            ..ForwarderConfig::default()
        };
        let forwarder = Forwarder::new(readers.reader(), ports, &config, 0);
        (fib, forwarder)
    }

    fn key(peer: u8) -> SessionKey {
        SessionKey::single_hop(
            0,
            Ipv4Addr::new(10, 0, 0, 1).into(),
            Ipv4Addr::new(10, 0, 0, peer).into(),
        )
    }

    fn add(peer: u8) -> BfdCommand {
        BfdCommand::Add {
            key: key(peer),
            params: SessionParams::default(),
            guards: Vec::new(),
        }
    }

    fn admin_down(peer: u8, down: bool) -> BfdCommand {
        BfdCommand::Modify {
            key: key(peer),
            params: SessionParams {
                admin_down: down,
                ..SessionParams::default()
            },
        }
    }

    #[test]
    fn commands_reach_the_engine_a_few_per_turn_and_refusals_are_counted() {
        let (event_loop, _) = control_plane(16);
        let (_fib, mut forwarder) = forwarder();
        let (control, mut side, snapshot) = bfd_channel(event_loop.dataplane_sender(), 32);
        for peer in 2..22 {
            control.send(add(peer)).unwrap();
        }
        control.send(add(2)).unwrap();
        assert_eq!(side.service(&mut forwarder, MS), COMMANDS_PER_TURN as u32);
        assert_eq!(forwarder.bfd().len(), COMMANDS_PER_TURN);
        assert_eq!(side.service(&mut forwarder, 2 * MS), 5);
        assert_eq!(forwarder.bfd().len(), 20);
        let counters = side.counters();
        assert_eq!(
            (counters.commands_applied, counters.commands_refused),
            (20, 1),
            "the second Add of one session is refused"
        );
        assert_eq!(
            snapshot.sessions().len(),
            COMMANDS_PER_TURN,
            "published on the first turn"
        );
    }

    #[test]
    fn a_full_command_channel_hands_the_command_back() {
        let (event_loop, _) = control_plane(16);
        let (control, _side, _) = bfd_channel(event_loop.dataplane_sender(), 2);
        control.send(add(2)).unwrap();
        control.send(add(3)).unwrap();
        assert_eq!(control.send(add(4)), Err(add(4)));
    }

    #[test]
    fn a_full_event_channel_defers_changes_and_loses_none() {
        let (mut event_loop, heard) = control_plane(1);
        let (_fib, mut forwarder) = forwarder();
        let (control, mut side, _) = bfd_channel(event_loop.dataplane_sender(), 32);
        control.send(add(2)).unwrap();
        control.send(admin_down(2, true)).unwrap();
        side.service(&mut forwarder, MS);
        assert_eq!(side.counters().events_sent, 1, "Down -> AdminDown");
        // The control plane is busy: the channel (one slot) is full.
        control.send(admin_down(2, false)).unwrap();
        control.send(add(3)).unwrap();
        control.send(admin_down(3, true)).unwrap();
        side.service(&mut forwarder, 2 * MS);
        assert_eq!(side.waiting(), 2, "one change per peer waits");
        assert!(side.counters().events_deferred >= 1);
        side.service(&mut forwarder, 3 * MS);
        assert_eq!(side.waiting(), 2, "still full: retried, kept");

        // The control plane drains its channel; the waiting changes follow
        // in order, one slot at a time.
        for turn in 0..4 {
            event_loop.turn(Some(Duration::ZERO)).unwrap();
            side.service(&mut forwarder, (4 + turn) * MS);
        }
        event_loop.turn(Some(Duration::ZERO)).unwrap();
        let peer = |p: u8| IpAddr::V4(Ipv4Addr::new(10, 0, 0, p));
        assert_eq!(
            *heard.borrow(),
            vec![(peer(2), false), (peer(2), false), (peer(3), false)]
        );
        assert_eq!(side.waiting(), 0);
        assert_eq!(side.counters().events_sent, 3);
    }

    #[test]
    fn the_snapshot_never_makes_the_dataplane_wait() {
        let (event_loop, _) = control_plane(16);
        let (_fib, mut forwarder) = forwarder();
        let (control, mut side, snapshot) = bfd_channel(event_loop.dataplane_sender(), 8);
        assert!(snapshot.status().is_none(), "nothing published yet");
        control.send(add(2)).unwrap();
        let held = snapshot.inner.lock().unwrap();
        side.service(&mut forwarder, MS);
        drop(held);
        assert!(
            snapshot.status().is_none(),
            "skipped while a reader held it"
        );
        side.service(&mut forwarder, 2 * MS);
        let status = snapshot.status().expect("published on the next turn");
        assert_eq!((status.sessions.len(), status.taken_at), (1, 2 * MS));
        // Not again before the interval is over, then again.
        control.send(add(3)).unwrap();
        side.service(&mut forwarder, 50 * MS);
        assert_eq!(snapshot.read().now_ns, 2 * MS);
        side.service(&mut forwarder, 102 * MS);
        let copy = snapshot.read();
        assert_eq!((copy.sessions.len(), copy.now_ns), (2, 102 * MS));
        assert_eq!(copy.channel.commands_applied, 2);
    }

    fn peer_ip(i: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, i))
    }

    proptest! {
        /// Whatever a stalled control plane makes wait: per peer at most
        /// [down], [up] or [down, up]; the last waiting state is the
        /// latest; a Down that happened is never folded away.
        #[test]
        fn waiting_changes_fold_without_losing_a_down(
            changes in proptest::collection::vec((0u8..4, any::<bool>()), 0..64),
        ) {
            let (event_loop, _) = control_plane(1);
            let (_control, mut side, _) = bfd_channel(event_loop.dataplane_sender(), 1);
            for &(peer, up) in &changes {
                side.wait(PeerChange { peer: peer_ip(peer), up });
            }
            for peer in 0..4u8 {
                let mine: Vec<bool> = changes.iter().filter(|c| c.0 == peer).map(|c| c.1).collect();
                let waiting: Vec<bool> = side
                    .waiting
                    .iter()
                    .filter(|c| c.peer == peer_ip(peer))
                    .map(|c| c.up)
                    .collect();
                let shape_ok = matches!(waiting.as_slice(), [] | [_] | [false, true]);
                prop_assert!(shape_ok, "{:?}", waiting);
                prop_assert_eq!(waiting.last(), mine.last());
                prop_assert_eq!(waiting.contains(&false), mine.contains(&false));
            }
        }
    }
}
