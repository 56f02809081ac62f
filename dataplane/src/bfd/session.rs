//! One BFD session: the RFC 5880 §6.8 state variables, the reception
//! procedure (§6.8.6), timer negotiation and manipulation with the Poll
//! Sequence (§6.5, §6.8.2–§6.8.4), and transmission (§6.8.7).
//!
//! Sans-IO: every method takes the time and returns what happened; packets
//! leave through a callback. The engine ([`super::engine`]) demultiplexes,
//! schedules and turns state changes into liveness.
//!
//! Asynchronous mode only. This implementation never asks for Demand mode
//! (the D bit is always sent clear) and runs no Echo function (Required Min
//! Echo RX Interval is always sent as zero, so peers never send us Echo
//! packets, §6.8.9). A peer's D bit is still honoured as §6.8.6/§6.8.7
//! require: while it is set and both ends are Up we stop periodic
//! transmission, and our own detection keeps working because the peer, not
//! being asked for Demand mode, keeps sending to us.

use std::fmt;
use std::net::IpAddr;

use rand::Rng;

use super::Nanos;
use super::auth::{self, AuthConfig, AuthConfigError, AuthError, AuthSequence};
use super::dampening::{DampeningConfig, DampeningConfigError};
use super::packet::{BfdPacket, BfdRepr};
use super::state::{Diagnostic, State};
use super::transmit::BfdTx;
use super::verdict::DropReason;
use super::{MULTIHOP_PORT, SINGLE_HOP_PORT};
use crate::port::PortId;

/// bfd.DesiredMinTxInterval while the session is not Up (§6.8.3).
pub const SLOW_TX_US: u32 = 1_000_000;
/// The shortest interval a session may be configured with.
pub const MIN_INTERVAL_US: u32 = 1_000;
/// Sent on every packet; single-hop receivers require it (RFC 5881 §5).
pub const TX_TTL: u8 = 255;
/// The default lowest TTL accepted on a multihop session.
pub const DEFAULT_MULTIHOP_MIN_TTL: u8 = 254;

const NANOS_PER_US: u64 = 1_000;

/// What identifies a session: the addresses, and for single-hop sessions
/// the dataplane port they are bound to (RFC 5881 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionKey {
    pub peer: IpAddr,
    pub local: IpAddr,
    /// Required for single-hop sessions; ignored for multihop ones.
    pub port: Option<PortId>,
    pub multihop: bool,
}

impl SessionKey {
    pub fn single_hop(port: PortId, local: IpAddr, peer: IpAddr) -> Self {
        SessionKey {
            peer,
            local,
            port: Some(port),
            multihop: false,
        }
    }

    pub fn multihop(local: IpAddr, peer: IpAddr) -> Self {
        SessionKey {
            peer,
            local,
            port: None,
            multihop: true,
        }
    }

    /// 3784 for single-hop (RFC 5881 §4), 4784 for multihop (RFC 5883 §5).
    pub fn udp_dst_port(&self) -> u16 {
        if self.multihop {
            MULTIHOP_PORT
        } else {
            SINGLE_HOP_PORT
        }
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.multihop, self.port) {
            (true, _) => write!(f, "{} -> {} multihop", self.local, self.peer),
            (false, Some(port)) => write!(f, "{} -> {} port {port}", self.local, self.peer),
            (false, None) => write!(f, "{} -> {} (no port)", self.local, self.peer),
        }
    }
}

/// A session's configuration. Intervals are in microseconds, as on the
/// wire.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionParams {
    /// bfd.DesiredMinTxInterval once Up (1 s is used until then, §6.8.3).
    pub desired_min_tx_us: u32,
    /// bfd.RequiredMinRxInterval; 0 asks the peer to send nothing (§6.8.18).
    pub required_min_rx_us: u32,
    /// bfd.DetectMult.
    pub detect_mult: u8,
    /// Passive role (§6.1): send nothing until the peer has been heard.
    pub passive: bool,
    /// Multihop only: the lowest TTL/hop limit accepted (GTSM-style, RFC
    /// 5082); single-hop sessions always require 255 (RFC 5881 §5).
    pub minimum_ttl: u8,
    pub auth: Option<AuthConfig>,
    /// How long the session must stay Up before its next hops are live
    /// again; 0 releases them at once.
    pub hold_down_ns: u64,
    /// Off (`None`) by default.
    pub dampening: Option<DampeningConfig>,
    /// Hold the session in AdminDown (§6.8.16).
    pub admin_down: bool,
}

impl Default for SessionParams {
    /// FRR's bfdd defaults: 300 ms both ways, multiplier 3.
    fn default() -> Self {
        SessionParams {
            desired_min_tx_us: 300_000,
            required_min_rx_us: 300_000,
            detect_mult: 3,
            passive: false,
            minimum_ttl: DEFAULT_MULTIHOP_MIN_TTL,
            auth: None,
            hold_down_ns: 0,
            dampening: None,
            admin_down: false,
        }
    }
}

/// Why a [`SessionParams`] was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionParamsError {
    TxIntervalTooShort(u32),
    RxIntervalTooShort(u32),
    ZeroDetectMult,
    ZeroMinimumTtl,
    Auth(AuthConfigError),
    Dampening(DampeningConfigError),
}

impl fmt::Display for SessionParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionParamsError::TxIntervalTooShort(us) => write!(
                f,
                "desired-min-tx {us} µs is below the minimum of {MIN_INTERVAL_US} µs (1 ms)"
            ),
            SessionParamsError::RxIntervalTooShort(us) => write!(
                f,
                "required-min-rx {us} µs is below the minimum of {MIN_INTERVAL_US} µs (1 ms); \
                 use 0 to ask the peer not to send"
            ),
            SessionParamsError::ZeroDetectMult => {
                f.write_str("detect-multiplier must be 1 or more")
            }
            SessionParamsError::ZeroMinimumTtl => f.write_str("minimum-ttl must be 1 or more"),
            SessionParamsError::Auth(e) => e.fmt(f),
            SessionParamsError::Dampening(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SessionParamsError {}

impl SessionParams {
    pub fn validate(&self) -> Result<(), SessionParamsError> {
        if self.desired_min_tx_us < MIN_INTERVAL_US {
            return Err(SessionParamsError::TxIntervalTooShort(
                self.desired_min_tx_us,
            ));
        }
        if self.required_min_rx_us != 0 && self.required_min_rx_us < MIN_INTERVAL_US {
            return Err(SessionParamsError::RxIntervalTooShort(
                self.required_min_rx_us,
            ));
        }
        if self.detect_mult == 0 {
            return Err(SessionParamsError::ZeroDetectMult);
        }
        if self.minimum_ttl == 0 {
            return Err(SessionParamsError::ZeroMinimumTtl);
        }
        if let Some(auth) = &self.auth {
            auth.validate().map_err(SessionParamsError::Auth)?;
        }
        if let Some(dampening) = &self.dampening {
            dampening
                .validate()
                .map_err(SessionParamsError::Dampening)?;
        }
        Ok(())
    }
}

/// A change of bfd.SessionState.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: State,
    pub to: State,
    /// bfd.LocalDiag after the change.
    pub diag: Diagnostic,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionCounters {
    /// Packets accepted (§6.8.6 procedure completed).
    pub rx: u64,
    pub tx: u64,
    /// Packets demultiplexed to the session and discarded, for any reason.
    pub dropped: u64,
    pub auth_failures: u64,
    pub ttl_failures: u64,
}

/// A Poll Sequence (§6.5) and the timer values it is waiting to commit.
///
/// §6.8.3 allows a larger transmit interval or a smaller receive interval
/// only after the peer has acknowledged the change with a Final. Several
/// changes may be advertised while one poll is outstanding, and the Final
/// may answer any of the polls; so on Final we commit the smallest
/// transmit and largest receive value advertised during the poll (the ones
/// safe whichever packet the peer saw) and, if the latest values differ,
/// run one more poll after a packet with F clear (§6.8.3, choice 3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct PollSequence {
    active: bool,
    min_tx_us: u32,
    max_rx_us: u32,
    /// Another poll is needed once a packet without F has arrived.
    again_after_plain: bool,
}

/// One session. Created and owned by the engine.
#[derive(Debug)]
pub struct Session {
    key: SessionKey,
    params: SessionParams,
    src_port: u16,

    // RFC 5880 §6.8.1 state variables.
    state: State,
    remote_state: State,
    local_discr: u32,
    remote_discr: u32,
    local_diag: Diagnostic,
    remote_diag: Diagnostic,
    remote_min_rx_us: u32,
    remote_desired_tx_us: u32,
    remote_detect_mult: u8,
    remote_demand: bool,
    auth_seq: AuthSequence,

    // Timers (§6.8.2–§6.8.4, §6.8.7).
    /// The intervals our last packets advertised.
    advertised_tx_us: u32,
    advertised_rx_us: u32,
    /// The intervals in force for our transmit rate and our detection time.
    committed_tx_us: u32,
    committed_rx_us: u32,
    poll: PollSequence,
    /// The negotiated transmit interval the schedule was computed with.
    tx_interval_us: u32,
    last_tx_at: Option<Nanos>,
    next_tx_at: Option<Nanos>,
    last_rx_at: Option<Nanos>,
    /// The detection time at the last accepted packet, kept after the
    /// remote state is forgotten for the 2× rule of bfd.AuthSeqKnown.
    last_detection_ns: u64,
    detect_deadline: Option<Nanos>,
    /// A Final is owed (§6.8.7: as soon as practicable).
    final_pending: bool,
    /// Contents changed since the last packet (§6.8.7: SHOULD send now).
    send_now: bool,

    since: Nanos,
    counters: SessionCounters,
    flaps: u64,
}

impl Session {
    /// A new session in Down (or AdminDown), with its unique nonzero local
    /// discriminator, UDP source port and a random bfd.XmitAuthSeq.
    pub fn new(
        key: SessionKey,
        params: SessionParams,
        local_discr: u32,
        src_port: u16,
        xmit_auth_seq: u32,
        now: Nanos,
    ) -> Self {
        let (state, local_diag) = if params.admin_down {
            (State::AdminDown, Diagnostic::AdministrativelyDown)
        } else {
            (State::Down, Diagnostic::NoDiagnostic)
        };
        let tx = params.desired_min_tx_us.max(SLOW_TX_US);
        let rx = params.required_min_rx_us;
        let mut session = Session {
            key,
            params,
            src_port,
            state,
            remote_state: State::Down,
            local_discr,
            remote_discr: 0,
            local_diag,
            remote_diag: Diagnostic::NoDiagnostic,
            remote_min_rx_us: 1,
            remote_desired_tx_us: 0,
            remote_detect_mult: 0,
            remote_demand: false,
            auth_seq: AuthSequence::new(xmit_auth_seq),
            advertised_tx_us: tx,
            advertised_rx_us: rx,
            committed_tx_us: tx,
            committed_rx_us: rx,
            poll: PollSequence::default(),
            tx_interval_us: tx,
            last_tx_at: None,
            next_tx_at: None,
            last_rx_at: None,
            last_detection_ns: 0,
            detect_deadline: None,
            final_pending: false,
            send_now: false,
            since: now,
            counters: SessionCounters::default(),
            flaps: 0,
        };
        if session.may_send_periodic() {
            // The Active role starts at once (§6.1).
            session.next_tx_at = Some(now);
        }
        session
    }

    pub fn key(&self) -> &SessionKey {
        &self.key
    }

    pub fn params(&self) -> &SessionParams {
        &self.params
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn remote_state(&self) -> State {
        self.remote_state
    }

    pub fn local_discriminator(&self) -> u32 {
        self.local_discr
    }

    pub fn remote_discriminator(&self) -> u32 {
        self.remote_discr
    }

    pub fn local_diag(&self) -> Diagnostic {
        self.local_diag
    }

    pub fn remote_diag(&self) -> Diagnostic {
        self.remote_diag
    }

    pub fn remote_detect_mult(&self) -> u8 {
        self.remote_detect_mult
    }

    pub fn src_port(&self) -> u16 {
        self.src_port
    }

    /// When the state last changed.
    pub fn since(&self) -> Nanos {
        self.since
    }

    pub fn counters(&self) -> &SessionCounters {
        &self.counters
    }

    /// Times the session went from Up to Down (local AdminDown excluded).
    pub fn flaps(&self) -> u64 {
        self.flaps
    }

    /// Counts a packet discarded by the engine after demultiplexing.
    pub(crate) fn count_drop(&mut self) {
        self.counters.dropped += 1;
    }

    pub fn poll_in_progress(&self) -> bool {
        self.poll.active
    }

    /// The intervals our packets currently advertise (Desired Min TX,
    /// Required Min RX).
    pub fn advertised_intervals_us(&self) -> (u32, u32) {
        (self.advertised_tx_us, self.advertised_rx_us)
    }

    /// bfd.DesiredMinTxInterval as §6.8.3 wants it: at least 1 s unless Up.
    fn desired_tx_us(&self) -> u32 {
        if self.state == State::Up {
            self.params.desired_min_tx_us
        } else {
            self.params.desired_min_tx_us.max(SLOW_TX_US)
        }
    }

    /// Our transmit interval: the greater of bfd.DesiredMinTxInterval (as
    /// committed) and bfd.RemoteMinRxInterval (§6.8.2, §6.8.7).
    pub fn negotiated_tx_us(&self) -> u32 {
        self.committed_tx_us.max(self.remote_min_rx_us)
    }

    /// The peer's transmit interval: the greater of our
    /// bfd.RequiredMinRxInterval (as committed) and its last Desired Min
    /// TX (§6.8.4).
    pub fn negotiated_rx_us(&self) -> u32 {
        self.committed_rx_us.max(self.remote_desired_tx_us)
    }

    /// Asynchronous-mode Detection Time (§6.8.4): the peer's Detect Mult
    /// times the peer's transmit interval; 0 before anything was heard.
    pub fn detection_time_ns(&self) -> u64 {
        u64::from(self.remote_detect_mult) * u64::from(self.negotiated_rx_us()) * NANOS_PER_US
    }

    /// §6.8.7: no periodic packets in the Passive role before the peer's
    /// discriminator is known, none when the peer asked for none
    /// (bfd.RemoteMinRxInterval zero), none while Demand mode is active on
    /// the peer.
    fn may_send_periodic(&self) -> bool {
        let passive_waiting = self.params.passive && self.remote_discr == 0;
        let remote_demand_active =
            self.remote_demand && self.state == State::Up && self.remote_state == State::Up;
        !passive_waiting && self.remote_min_rx_us != 0 && !remote_demand_active
    }

    /// The earliest time [`Self::poll`] has something to do.
    pub fn next_deadline(&self) -> Option<Nanos> {
        if self.final_pending || (self.send_now && self.may_send_periodic()) {
            return Some(0);
        }
        match (self.next_tx_at, self.detect_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn set_state(&mut self, to: State, diag: Diagnostic, now: Nanos) -> Transition {
        let from = self.state;
        self.state = to;
        self.local_diag = diag;
        self.since = now;
        self.send_now = true;
        // Our own AdminDown is an operator's act, not a flap.
        if from == State::Up && to == State::Down {
            self.flaps += 1;
        }
        self.timers_changed();
        Transition { from, to, diag }
    }

    /// Applies §6.8.3 after bfd.DesiredMinTxInterval or
    /// bfd.RequiredMinRxInterval may have changed (configuration, or the 1 s
    /// rule on entering or leaving Up).
    fn timers_changed(&mut self) {
        let tx = self.desired_tx_us();
        let rx = self.params.required_min_rx_us;
        let changed = tx != self.advertised_tx_us || rx != self.advertised_rx_us;
        self.advertised_tx_us = tx;
        self.advertised_rx_us = rx;
        if self.state != State::Up {
            // The deferrals apply only while Up; otherwise changes take
            // effect immediately and there is nothing to poll for.
            self.committed_tx_us = tx;
            self.committed_rx_us = rx;
            self.poll = PollSequence::default();
            return;
        }
        // A shorter transmit or a longer receive interval is safe at once;
        // the opposite waits for the Final.
        if tx <= self.committed_tx_us {
            self.committed_tx_us = tx;
        }
        if rx >= self.committed_rx_us {
            self.committed_rx_us = rx;
        }
        if changed {
            if self.poll.active {
                self.poll.min_tx_us = self.poll.min_tx_us.min(tx);
                self.poll.max_rx_us = self.poll.max_rx_us.max(rx);
            } else if !self.poll.again_after_plain {
                self.start_poll();
            }
        }
    }

    fn start_poll(&mut self) {
        self.poll = PollSequence {
            active: true,
            min_tx_us: self.advertised_tx_us,
            max_rx_us: self.advertised_rx_us,
            again_after_plain: false,
        };
    }

    fn finish_poll(&mut self) {
        self.committed_tx_us = self.poll.min_tx_us;
        self.committed_rx_us = self.poll.max_rx_us;
        self.poll.active = false;
        self.poll.again_after_plain = self.committed_tx_us != self.advertised_tx_us
            || self.committed_rx_us != self.advertised_rx_us;
    }

    /// The reception procedure of §6.8.6 for a packet already demultiplexed
    /// to this session and parsed ([`BfdRepr::parse`] did the
    /// session-independent checks). `packet` is the control packet's Length
    /// bytes, for digest verification; `ttl` the received IP TTL/hop limit.
    pub fn receive(
        &mut self,
        now: Nanos,
        ttl: u8,
        packet: &[u8],
        repr: &BfdRepr,
        rng: &mut impl Rng,
    ) -> Result<Option<Transition>, DropReason> {
        if let Err(reason) = self.accept(now, ttl, packet, repr) {
            self.counters.dropped += 1;
            match reason {
                DropReason::Ttl { .. } => self.counters.ttl_failures += 1,
                DropReason::Auth(_) => self.counters.auth_failures += 1,
                _ => {}
            }
            return Err(reason);
        }

        self.remote_discr = repr.my_discriminator;
        self.remote_state = repr.state;
        self.remote_demand = repr.demand;
        self.remote_min_rx_us = repr.required_min_rx_us;
        self.remote_desired_tx_us = repr.desired_min_tx_us;
        self.remote_detect_mult = repr.detect_mult;
        self.remote_diag = repr.diag;
        // Required Min Echo RX Interval is ignored: we send no Echo packets.

        if self.poll.active && repr.final_ {
            self.finish_poll();
        } else if self.poll.again_after_plain && !repr.final_ && self.state == State::Up {
            self.start_poll();
        }

        self.last_rx_at = Some(now);
        self.last_detection_ns = self.detection_time_ns();

        if self.state == State::AdminDown {
            // "Discard the packet" — after the variables above were updated.
            self.counters.dropped += 1;
            self.retime(now, rng);
            return Err(DropReason::LocalAdminDown);
        }

        let next = match (self.state, repr.state) {
            (State::Down, State::AdminDown) => None,
            (_, State::AdminDown) => Some((State::Down, Diagnostic::NeighborSignaledSessionDown)),
            (State::Down, State::Down) => Some((State::Init, self.local_diag)),
            (State::Down, State::Init) | (State::Init, State::Init | State::Up) => {
                // The reason for the last change was the failure; Up clears it.
                Some((State::Up, Diagnostic::NoDiagnostic))
            }
            (State::Up, State::Down) => {
                Some((State::Down, Diagnostic::NeighborSignaledSessionDown))
            }
            _ => None,
        };
        let transition = next.map(|(to, diag)| self.set_state(to, diag, now));

        if repr.poll {
            self.final_pending = true;
        }
        self.counters.rx += 1;
        self.retime(now, rng);
        Ok(transition)
    }

    /// The checks between demultiplexing and the variable updates: GTSM
    /// (RFC 5881 §5, RFC 5883), the A bit against bfd.AuthType (§6.8.6) and
    /// §6.7 authentication.
    fn accept(
        &mut self,
        now: Nanos,
        ttl: u8,
        packet: &[u8],
        repr: &BfdRepr,
    ) -> Result<(), DropReason> {
        let min_ttl = if self.key.multihop {
            self.params.minimum_ttl
        } else {
            TX_TTL
        };
        if ttl < min_ttl {
            return Err(DropReason::Ttl { ttl, min: min_ttl });
        }
        match (&repr.auth, &self.params.auth) {
            (None, None) => Ok(()),
            (Some(_), None) => Err(DropReason::Auth(AuthError::UnexpectedAuth)),
            (None, Some(_)) => Err(DropReason::Auth(AuthError::MissingAuth)),
            (Some(section), Some(config)) => {
                // §6.8.1: forget bfd.RcvAuthSeq after two Detection Times of
                // silence, so a restarted peer can resynchronise.
                if let Some(last) = self.last_rx_at
                    && now.saturating_sub(last) >= self.last_detection_ns.saturating_mul(2)
                {
                    self.auth_seq.rcv_known = false;
                }
                auth::verify(
                    config,
                    &mut self.auth_seq,
                    packet,
                    section,
                    repr.detect_mult,
                )
                .map_err(DropReason::Auth)
            }
        }
    }

    /// Recomputes the detection deadline and the transmit schedule after
    /// anything they depend on changed.
    fn retime(&mut self, now: Nanos, rng: &mut impl Rng) {
        self.detect_deadline = match self.last_rx_at {
            Some(at) if self.remote_detect_mult != 0 => {
                Some(at.saturating_add(self.detection_time_ns()))
            }
            _ => None,
        };
        let interval = self.negotiated_tx_us();
        if !self.may_send_periodic() {
            self.next_tx_at = None;
            self.tx_interval_us = interval;
            return;
        }
        if self.next_tx_at.is_none() || interval != self.tx_interval_us {
            self.tx_interval_us = interval;
            // §6.8.3: a shorter interval is honoured at once, counted from
            // the last transmission; a longer one pushes the next packet out.
            self.next_tx_at = Some(match self.last_tx_at {
                Some(at) => at.saturating_add(self.jittered_ns(interval, rng)).max(now),
                None => now,
            });
        }
    }

    /// §6.8.7: each interval reduced by a random 0–25 %; with
    /// bfd.DetectMult 1 by 10–25 % (75–90 % of the interval), so the peer's
    /// one-packet Detection Time cannot expire before the next packet.
    fn jittered_ns(&self, interval_us: u32, rng: &mut impl Rng) -> u64 {
        let interval = u64::from(interval_us) * NANOS_PER_US;
        let min_reduction_ppm = if self.params.detect_mult == 1 {
            100_000
        } else {
            0
        };
        let reduction_ppm = rng.random_range(min_reduction_ppm..=250_000u64);
        interval - interval * reduction_ppm / 1_000_000
    }

    /// Detection-time expiry and due transmissions at `now`.
    pub fn poll(
        &mut self,
        now: Nanos,
        rng: &mut impl Rng,
        tx: &mut impl FnMut(&BfdTx),
    ) -> Option<Transition> {
        let mut transition = None;
        if self.detect_deadline.is_some_and(|at| at <= now) {
            transition = self.expire_detection(now);
            self.retime(now, rng);
        }

        let mut periodic_due = self.may_send_periodic()
            && (self.send_now || self.next_tx_at.is_some_and(|at| at <= now));
        if self.final_pending {
            // §6.5: the Final goes out at once, with P clear. When no poll of
            // ours is running it also serves as the periodic packet.
            self.final_pending = false;
            self.send_now = false;
            self.transmit(now, false, true, tx);
            if !self.poll.active && periodic_due {
                self.next_tx_at =
                    Some(now.saturating_add(self.jittered_ns(self.tx_interval_us, rng)));
                periodic_due = false;
            }
        }
        if periodic_due && (self.send_now || self.next_tx_at.is_some_and(|at| at <= now)) {
            self.transmit(now, self.poll.active, false, tx);
            self.next_tx_at = Some(now.saturating_add(self.jittered_ns(self.tx_interval_us, rng)));
        }
        self.send_now = false;
        transition
    }

    /// The Detection Time passed without an accepted packet.
    fn expire_detection(&mut self, now: Nanos) -> Option<Transition> {
        self.detect_deadline = None;
        let transition = matches!(self.state, State::Init | State::Up)
            .then(|| self.set_state(State::Down, Diagnostic::ControlDetectionTimeExpired, now));
        // §6.8.1: bfd.RemoteDiscr MUST be zeroed; §6.8.18: the peer's
        // Required Min RX no longer binds us once it has been silent this
        // long.
        self.remote_discr = 0;
        self.remote_state = State::Down;
        self.remote_min_rx_us = 1;
        self.remote_desired_tx_us = 0;
        self.remote_detect_mult = 0;
        self.remote_demand = false;
        self.remote_diag = Diagnostic::NoDiagnostic;
        transition
    }

    /// Builds, signs and hands out one packet (§6.8.7 contents).
    fn transmit(&mut self, now: Nanos, poll: bool, final_: bool, tx: &mut impl FnMut(&BfdTx)) {
        let auth = self
            .params
            .auth
            .as_ref()
            .and_then(|config| config.tx_section(self.auth_seq.next_xmit()));
        let repr = BfdRepr {
            diag: self.local_diag,
            state: self.state,
            poll,
            final_,
            // We share fate with the control plane: one process (§4.1 C bit).
            control_plane_independent: false,
            demand: false,
            detect_mult: self.params.detect_mult,
            my_discriminator: self.local_discr,
            your_discriminator: self.remote_discr,
            desired_min_tx_us: self.advertised_tx_us,
            required_min_rx_us: self.advertised_rx_us,
            required_min_echo_rx_us: 0,
            auth,
        };
        let mut out = BfdTx::new(&self.key, self.src_port);
        out.len = repr.buffer_len().min(out.payload.len());
        let packet = &mut out.payload[..out.len];
        repr.emit(&mut BfdPacket::new_unchecked(&mut *packet));
        auth::seal(packet);
        tx(&out);
        self.counters.tx += 1;
        self.last_tx_at = Some(now);
    }

    /// Takes new parameters (`apply(Modify)`); returns the transition when
    /// `admin_down` changed. Intervals follow §6.8.3 (Poll Sequence while
    /// Up), the multiplier §6.8.12 (just sent), authentication changes
    /// resynchronise the receive sequence number.
    pub fn reconfigure(
        &mut self,
        params: SessionParams,
        now: Nanos,
        rng: &mut impl Rng,
    ) -> Option<Transition> {
        let auth_changed = params.auth != self.params.auth;
        let admin_changed = params.admin_down != self.params.admin_down;
        self.params = params;
        if auth_changed {
            self.auth_seq.rcv_known = false;
        }
        let transition = if admin_changed {
            // §6.8.16.
            Some(if self.params.admin_down {
                self.set_state(State::AdminDown, Diagnostic::AdministrativelyDown, now)
            } else {
                self.set_state(State::Down, Diagnostic::NoDiagnostic, now)
            })
        } else {
            self.timers_changed();
            None
        };
        self.retime(now, rng);
        transition
    }
}
