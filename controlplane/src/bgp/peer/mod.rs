//! One configured neighbor: its FSMs, timers, the session the OPENs
//! negotiated, and the routes it sent us.
//!
//! RFC 4271 §8.2.1.2 runs one FSM per TCP connection. A peer keeps a
//! *primary* FSM — the one that starts, connects and retries, and whose
//! state is the peer's — and, while two connections overlap (a collision,
//! §6.8), a *secondary* FSM for the second one. The secondary only ever
//! holds a live connection (OpenSent or OpenConfirm). After every event the
//! peer keeps the more advanced FSM primary and disposes of a secondary
//! that lost its connection, so one configured peering never has two
//! sessions.
//!
//! Outgoing connection attempts belong to the peer (`dialing`), not to an
//! FSM: if the neighbor's own connection arrives first, the attempt goes on,
//! because both speakers doing the same is exactly the collision case and
//! dropping it would kill the other side's chosen connection.

mod import;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::adj_rib_in::AdjRibIn;
use super::collision::{self, Keep, Speakers};
use super::config::NeighborConfig;
use super::event::{BgpNotification, ConnId, Reason, Transport};
use super::fsm::{self, Event, Flags, State, Step};
use super::jitter::Jitter;
use super::negotiation::{self, LocalSpeaker, Negotiated};
use super::origination;
use super::packet::{
    CeaseSubcode, DecodeContext, DecodedMessage, ErrorCode, Message, MessageError, Notification,
    OpenSubcode, RouteRefresh, Update, UpdateErrorAction, frame,
};
use super::timer::{
    IDLE_HOLD_FORGET, IDLE_HOLD_INITIAL, IDLE_HOLD_MAX, LARGE_HOLD_TIME, SECOND, Timer, TimerKind,
};
use crate::clock::Nanos;
use crate::protocol::Actions;

/// What a peer's handlers need from the instance.
pub(crate) struct Env<'a> {
    pub now: Nanos,
    pub local: &'a LocalSpeaker,
    pub networks: &'a [IpNet],
    pub out: &'a mut Actions<BgpNotification>,
}

/// One connection's FSM (RFC 4271 §8.2.1.2).
#[derive(Debug, Clone)]
pub struct Connection {
    /// Names the FSM in timer tokens; never reused within a peer.
    serial: u32,
    state: State,
    conn: Option<ConnId>,
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
    /// Bytes received but not yet a whole message.
    rx: Vec<u8>,
    ctx: DecodeContext,
    /// Set once the peer's OPEN passed the checks.
    session: Option<Negotiated>,
    connect_retry_at: Option<Nanos>,
    hold_at: Option<Nanos>,
    keepalive_at: Option<Nanos>,
}

impl Connection {
    fn new(serial: u32, state: State) -> Connection {
        Connection {
            serial,
            state,
            conn: None,
            local: None,
            remote: None,
            rx: Vec::new(),
            ctx: DecodeContext::default(),
            session: None,
            connect_retry_at: None,
            hold_at: None,
            keepalive_at: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn conn(&self) -> Option<ConnId> {
        self.conn
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local
    }

    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote
    }

    pub fn session(&self) -> Option<&Negotiated> {
        self.session.as_ref()
    }

    /// RFC 4724 §5: the session had graceful restart for some family.
    fn graceful_restart(&self) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| !s.graceful_restart_families().is_empty())
    }
}

/// Counters for `show bgp neighbors` and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStats {
    pub opens_in: u64,
    pub opens_out: u64,
    pub updates_in: u64,
    pub updates_out: u64,
    pub keepalives_in: u64,
    pub keepalives_out: u64,
    pub notifications_in: u64,
    pub notifications_out: u64,
    pub route_refresh_in: u64,
    /// Times the session reached Established.
    pub established: u64,
    /// Times an Established session went down.
    pub flaps: u64,
    /// Prefixes we announced (origination) over the current session.
    pub prefixes_advertised: u64,
}

/// Why a peer stays in Idle instead of restarting with the usual backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HoldDown {
    None,
    /// Torn down for too many prefixes: restart after this long, or never.
    MaxPrefix {
        restart: Option<Nanos>,
    },
}

/// Data a message event carries to the steps that use it.
// Lives on the stack for one message; boxing the UPDATE would add an
// allocation to the commonest message to shrink the rare ones.
#[allow(clippy::large_enum_variant)]
enum Payload {
    None,
    Update(Update, Option<UpdateErrorAction>),
    RouteRefresh(RouteRefresh),
    Notification(Notification),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Primary,
    Secondary,
}

pub struct Peer {
    index: u32,
    config: NeighborConfig,
    primary: Connection,
    secondary: Option<Connection>,
    next_serial: u32,
    next_attempt: u32,
    /// Our outgoing connection attempt in progress, if any.
    dialing: Option<ConnId>,
    connect_retry_counter: u32,
    /// IdleHoldTime for the next automatic restart.
    idle_hold: Nanos,
    idle_hold_at: Option<Nanos>,
    hold_down: HoldDown,
    established_at: Option<Nanos>,
    adj_rib_in: AdjRibIn,
    /// Whether the accepted routes are above `max_prefix` (warn once).
    over_limit: bool,
    graceful_restart_at: Option<Nanos>,
    stale_at: Option<Nanos>,
    jitter: Jitter,
    stats: PeerStats,
    last_reason: Option<Reason>,
}

impl Peer {
    pub(crate) fn new(index: u32, config: NeighborConfig, seed: u64) -> Peer {
        Peer {
            index,
            config,
            primary: Connection::new(1, State::Idle),
            secondary: None,
            next_serial: 2,
            next_attempt: 0,
            dialing: None,
            connect_retry_counter: 0,
            idle_hold: IDLE_HOLD_INITIAL,
            idle_hold_at: None,
            hold_down: HoldDown::None,
            established_at: None,
            adj_rib_in: AdjRibIn::new(),
            over_limit: false,
            graceful_restart_at: None,
            stale_at: None,
            jitter: Jitter::new(seed, u64::from(index)),
            stats: PeerStats::default(),
            last_reason: None,
        }
    }

    // ---- What others read ----

    pub fn address(&self) -> IpAddr {
        self.config.address
    }

    /// The instance number of this peer's RIB candidates.
    pub fn index(&self) -> u32 {
        self.index
    }

    pub fn config(&self) -> &NeighborConfig {
        &self.config
    }

    /// The peer's state: its primary FSM's.
    pub fn state(&self) -> State {
        self.primary.state
    }

    /// The connection carrying the session (or trying to).
    pub fn connection(&self) -> &Connection {
        &self.primary
    }

    /// A second connection being tracked for collision detection.
    pub fn colliding_connection(&self) -> Option<&Connection> {
        self.secondary.as_ref()
    }

    /// What the OPENs agreed, once the peer's OPEN is in.
    pub fn session(&self) -> Option<&Negotiated> {
        self.primary.session.as_ref()
    }

    pub fn adj_rib_in(&self) -> &AdjRibIn {
        &self.adj_rib_in
    }

    pub fn stats(&self) -> &PeerStats {
        &self.stats
    }

    pub fn connect_retry_counter(&self) -> u32 {
        self.connect_retry_counter
    }

    /// Why the peer last changed state.
    pub fn last_reason(&self) -> Option<&Reason> {
        self.last_reason.as_ref()
    }

    /// When the session came up, if it is Established.
    pub fn established_since(&self) -> Option<Nanos> {
        self.established_at
    }

    pub fn is_internal(&self, local: &LocalSpeaker) -> bool {
        self.config.remote_as == local.asn
    }

    /// The socket settings this neighbor needs.
    pub fn transport(&self, local: &LocalSpeaker) -> Transport {
        let ibgp = self.is_internal(local);
        let (ttl, min_ttl) = match self.config.ttl_security_hops {
            // RFC 5082 §3: send 255, accept 255 - hops + 1 and above.
            Some(hops) => (255, Some(255u8.saturating_sub(hops.saturating_sub(1)))),
            None if ibgp => (255, None),
            None => (self.config.ebgp_multihop.unwrap_or(1), None),
        };
        Transport {
            remote: SocketAddr::new(self.config.address, self.config.port),
            local: self.config.local_address,
            ttl,
            min_ttl,
            md5: self.config.md5_password.clone(),
        }
    }

    pub(crate) fn owns(&self, conn: ConnId) -> bool {
        self.dialing == Some(conn)
            || self.primary.conn == Some(conn)
            || self
                .secondary
                .as_ref()
                .is_some_and(|s| s.conn == Some(conn))
    }

    // ---- FSM plumbing ----

    fn slot(&self, serial: u32) -> Option<Slot> {
        if self.primary.serial == serial {
            Some(Slot::Primary)
        } else if self.secondary.as_ref().is_some_and(|s| s.serial == serial) {
            Some(Slot::Secondary)
        } else {
            None
        }
    }

    fn fsm(&self, serial: u32) -> Option<&Connection> {
        match self.slot(serial)? {
            Slot::Primary => Some(&self.primary),
            Slot::Secondary => self.secondary.as_ref(),
        }
    }

    fn fsm_mut(&mut self, serial: u32) -> Option<&mut Connection> {
        match self.slot(serial)? {
            Slot::Primary => Some(&mut self.primary),
            Slot::Secondary => self.secondary.as_mut(),
        }
    }

    fn serial_of(&self, conn: ConnId) -> Option<u32> {
        if self.primary.conn == Some(conn) {
            return Some(self.primary.serial);
        }
        self.secondary
            .as_ref()
            .filter(|s| s.conn == Some(conn))
            .map(|s| s.serial)
    }

    fn new_connection(&mut self, state: State) -> Connection {
        let serial = self.next_serial;
        self.next_serial = self.next_serial.wrapping_add(1).max(1);
        Connection::new(serial, state)
    }

    fn timer(&self, kind: TimerKind, serial: u32) -> u64 {
        Timer {
            peer: self.index,
            kind,
            fsm: serial,
        }
        .token()
    }

    /// Feeds `event` to the FSM `serial`, then whatever the steps raise,
    /// reporting every change of the peer's state.
    fn run(&mut self, env: &mut Env, serial: u32, event: Event, payload: Payload) {
        let mut queue = VecDeque::from([(serial, event, payload)]);
        while let Some((serial, event, mut payload)) = queue.pop_front() {
            let Some(slot) = self.slot(serial) else {
                continue;
            };
            let before = self.state();
            let Some(fsm) = self.fsm(serial) else {
                continue;
            };
            let from = fsm.state;
            let flags = Flags {
                passive: self.config.passive,
                graceful_restart: fsm.graceful_restart(),
            };
            let transition = fsm::transition(from, &event, flags);
            let mut reason = match &payload {
                Payload::Notification(n) => Reason::Received(n.clone()),
                _ => Reason::Event(event.kind()),
            };
            if slot == Slot::Primary
                && from == State::Established
                && transition.next != State::Established
            {
                self.session_down(env.now);
            }
            for step in transition.steps {
                if let Some(follow) =
                    self.step(env, serial, slot, from, step, &mut payload, &mut reason)
                {
                    queue.push_back((serial, follow, Payload::None));
                }
            }
            if let Some(fsm) = self.fsm_mut(serial) {
                fsm.state = transition.next;
            }
            self.normalize(env);
            let after = self.state();
            if before != after {
                tracing::info!(
                    peer = %self.config.address,
                    from = %before,
                    to = %after,
                    reason = %reason,
                    "BGP session state"
                );
                env.out.notify(BgpNotification::SessionState {
                    peer: self.config.address,
                    from: before,
                    to: after,
                    reason: reason.clone(),
                });
                self.last_reason = Some(reason);
            }
        }
    }

    /// Leaving Established: count the flap; a session that lasted forgets
    /// the earlier errors (the next automatic restart is quick again).
    fn session_down(&mut self, now: Nanos) {
        self.stats.flaps += 1;
        if let Some(since) = self.established_at.take()
            && now.saturating_sub(since) >= IDLE_HOLD_FORGET
        {
            self.idle_hold = IDLE_HOLD_INITIAL;
        }
        self.stats.prefixes_advertised = 0;
    }

    /// Carries out one step of a transition.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        env: &mut Env,
        serial: u32,
        slot: Slot,
        from: State,
        step: Step,
        payload: &mut Payload,
        reason: &mut Reason,
    ) -> Option<Event> {
        let primary = slot == Slot::Primary;
        let now = env.now;
        match step {
            Step::InitiateConnect => {
                if primary {
                    self.initiate_connect(env);
                }
            }
            Step::DropConnection => {
                let fsm = self.fsm_mut(serial)?;
                if let Some(conn) = fsm.conn.take() {
                    env.out.notify(BgpNotification::Close {
                        peer: self.config.address,
                        conn,
                    });
                }
                if primary && from == State::Connect {
                    self.stop_dialing(env);
                }
            }
            Step::SendOpen => {
                let open = negotiation::local_open(env.local, &self.config);
                self.stats.opens_out += 1;
                self.send(env, serial, &Message::Open(open));
            }
            Step::SendKeepalive => {
                self.stats.keepalives_out += 1;
                self.send(env, serial, &Message::Keepalive);
            }
            Step::SendNotification(notification) => {
                tracing::warn!(
                    peer = %self.config.address,
                    notification = %notification,
                    "sending BGP NOTIFICATION"
                );
                self.stats.notifications_out += 1;
                self.send(env, serial, &Message::Notification(notification.clone()));
                *reason = Reason::Sent(notification);
            }
            Step::StartConnectRetryTimer => {
                let at = now.saturating_add(
                    self.jitter
                        .apply(u64::from(self.config.connect_retry) * SECOND),
                );
                let token = self.timer(TimerKind::ConnectRetry, serial);
                self.fsm_mut(serial)?.connect_retry_at = Some(at);
                env.out.arm_timer(token, at);
            }
            Step::StopConnectRetryTimer => {
                let token = self.timer(TimerKind::ConnectRetry, serial);
                if self.fsm_mut(serial)?.connect_retry_at.take().is_some() {
                    env.out.cancel_timer(token);
                }
            }
            Step::SetHoldTimerLarge => {
                let at = now.saturating_add(LARGE_HOLD_TIME);
                let token = self.timer(TimerKind::Hold, serial);
                self.fsm_mut(serial)?.hold_at = Some(at);
                env.out.arm_timer(token, at);
            }
            Step::StartNegotiatedTimers => {
                self.restart_hold_timer(env, serial);
                self.restart_keepalive_timer(env, serial);
            }
            Step::RestartHoldTimer => self.restart_hold_timer(env, serial),
            Step::RestartKeepaliveTimer => self.restart_keepalive_timer(env, serial),
            Step::ReleaseResources => {
                let hold = self.timer(TimerKind::Hold, serial);
                let keepalive = self.timer(TimerKind::Keepalive, serial);
                let fsm = self.fsm_mut(serial)?;
                let (had_hold, had_keepalive) = (
                    fsm.hold_at.take().is_some(),
                    fsm.keepalive_at.take().is_some(),
                );
                fsm.rx = Vec::new();
                fsm.session = None;
                fsm.ctx = DecodeContext::default();
                if had_hold {
                    env.out.cancel_timer(hold);
                }
                if had_keepalive {
                    env.out.cancel_timer(keepalive);
                }
            }
            Step::DeleteRoutes => {
                if primary {
                    self.withdraw_all(env);
                }
            }
            Step::RetainRoutes => {
                if primary {
                    self.retain_routes(env, serial);
                }
            }
            Step::IncrementConnectRetryCounter => {
                if primary {
                    self.connect_retry_counter = self.connect_retry_counter.saturating_add(1);
                }
            }
            Step::ResetConnectRetryCounter => {
                if primary {
                    self.connect_retry_counter = 0;
                }
            }
            Step::DampPeerOscillations => {
                if primary {
                    self.arm_idle_hold(env);
                }
            }
            Step::SessionUp => self.session_up(env, serial),
            Step::ProcessUpdate => {
                if let Payload::Update(update, action) = std::mem::replace(payload, Payload::None) {
                    return self.process_update(env, serial, update, action);
                }
            }
            Step::ProcessRouteRefresh => {
                if let Payload::RouteRefresh(refresh) = payload {
                    self.process_route_refresh(env, serial, *refresh);
                }
            }
        }
        None
    }

    /// Keeps the most advanced FSM primary and drops a secondary that no
    /// longer has a connection (RFC 4271 §8.2.1.2: "the FSM for the
    /// connection that is closed SHOULD be disposed").
    fn normalize(&mut self, env: &mut Env) {
        if let Some(secondary) = &mut self.secondary
            && secondary.state.progress() > self.primary.state.progress()
        {
            std::mem::swap(&mut self.primary, secondary);
        }
        if self
            .secondary
            .as_ref()
            .is_some_and(|s| !s.state.has_connection())
            && let Some(gone) = self.secondary.take()
        {
            self.dispose(env, gone);
        }
        if self.primary.state != State::Idle && self.idle_hold_at.take().is_some() {
            env.out.cancel_timer(self.timer(TimerKind::IdleHold, 0));
        }
        // Idle holds nothing; once Established a late connection of ours
        // could only collide with the session and be closed.
        if matches!(self.primary.state, State::Idle | State::Established) {
            self.stop_dialing(env);
        }
    }

    fn dispose(&mut self, env: &mut Env, gone: Connection) {
        for (kind, armed) in [
            (TimerKind::ConnectRetry, gone.connect_retry_at),
            (TimerKind::Hold, gone.hold_at),
            (TimerKind::Keepalive, gone.keepalive_at),
        ] {
            if armed.is_some() {
                env.out.cancel_timer(self.timer(kind, gone.serial));
            }
        }
        if let Some(conn) = gone.conn {
            env.out.notify(BgpNotification::Close {
                peer: self.config.address,
                conn,
            });
        }
    }

    fn initiate_connect(&mut self, env: &mut Env) {
        self.stop_dialing(env);
        self.next_attempt = self.next_attempt.wrapping_add(1);
        let conn = ConnId::Outbound((u64::from(self.index) << 32) | u64::from(self.next_attempt));
        self.dialing = Some(conn);
        env.out.notify(BgpNotification::Connect {
            peer: self.config.address,
            conn,
            transport: self.transport(env.local),
        });
    }

    fn stop_dialing(&mut self, env: &mut Env) {
        if let Some(conn) = self.dialing.take() {
            env.out.notify(BgpNotification::Close {
                peer: self.config.address,
                conn,
            });
        }
    }

    fn restart_hold_timer(&mut self, env: &mut Env, serial: u32) {
        let token = self.timer(TimerKind::Hold, serial);
        let Some(fsm) = self.fsm_mut(serial) else {
            return;
        };
        let hold = fsm.session.as_ref().map_or(0, Negotiated::hold_ns);
        if hold == 0 {
            if fsm.hold_at.take().is_some() {
                env.out.cancel_timer(token);
            }
            return;
        }
        let at = env.now.saturating_add(hold);
        fsm.hold_at = Some(at);
        env.out.arm_timer(token, at);
    }

    fn restart_keepalive_timer(&mut self, env: &mut Env, serial: u32) {
        let token = self.timer(TimerKind::Keepalive, serial);
        let Some(fsm) = self.fsm(serial) else {
            return;
        };
        let interval = fsm.session.as_ref().map_or(0, Negotiated::keepalive_ns);
        if interval == 0 {
            if let Some(fsm) = self.fsm_mut(serial)
                && fsm.keepalive_at.take().is_some()
            {
                env.out.cancel_timer(token);
            }
            return;
        }
        let at = env.now.saturating_add(self.jitter.apply(interval));
        if let Some(fsm) = self.fsm_mut(serial) {
            fsm.keepalive_at = Some(at);
        }
        env.out.arm_timer(token, at);
    }

    /// Arms the automatic restart out of Idle: exponential backoff
    /// (1 s doubling to 60 s) unless a maximum-prefix teardown says otherwise.
    fn arm_idle_hold(&mut self, env: &mut Env) {
        let delay = match self.hold_down {
            HoldDown::MaxPrefix { restart: None } => return,
            HoldDown::MaxPrefix {
                restart: Some(delay),
            } => delay,
            HoldDown::None => {
                let delay = self.idle_hold;
                self.idle_hold = (delay.saturating_mul(2)).min(IDLE_HOLD_MAX);
                delay
            }
        };
        let at = env.now.saturating_add(delay);
        self.idle_hold_at = Some(at);
        env.out.arm_timer(self.timer(TimerKind::IdleHold, 0), at);
    }

    fn send(&mut self, env: &mut Env, serial: u32, message: &Message) {
        let Some(fsm) = self.fsm(serial) else {
            return;
        };
        let Some(conn) = fsm.conn else {
            return;
        };
        match message.to_bytes(&fsm.ctx) {
            Ok(bytes) => env.out.notify(BgpNotification::Send {
                peer: self.config.address,
                conn,
                bytes,
            }),
            Err(error) => tracing::error!(
                peer = %self.config.address,
                %error,
                "BGP message not sent: cannot encode it"
            ),
        }
    }

    // ---- Inputs ----

    /// AutomaticStart (Event 3/5), or ManualStart (Event 1/4) for an operator's clear.
    pub(crate) fn start(&mut self, env: &mut Env, manual: bool) {
        self.hold_down = HoldDown::None;
        let event = if manual {
            Event::ManualStart
        } else {
            Event::AutomaticStart
        };
        self.run(env, self.primary.serial, event, Payload::None);
    }

    /// ManualStop (Event 2) on every connection, with `cease` as the
    /// NOTIFICATION for those that sent an OPEN. The peer stays in Idle.
    pub(crate) fn stop(&mut self, env: &mut Env, cease: &Notification) {
        if let Some(secondary) = self.secondary.as_ref().map(|s| s.serial) {
            self.run(
                env,
                secondary,
                Event::ManualStop(cease.clone()),
                Payload::None,
            );
        }
        self.run(
            env,
            self.primary.serial,
            Event::ManualStop(cease.clone()),
            Payload::None,
        );
        if self.idle_hold_at.take().is_some() {
            env.out.cancel_timer(self.timer(TimerKind::IdleHold, 0));
        }
    }

    /// Stops for good: no routes, no timers left behind.
    pub(crate) fn remove(&mut self, env: &mut Env, cease: &Notification) {
        self.stop(env, cease);
        self.withdraw_all(env);
        self.stop_dialing(env);
    }

    /// `clear bgp ADDR`.
    pub(crate) fn clear(&mut self, env: &mut Env) {
        self.stop(
            env,
            &Notification::administrative_reset("cleared by the operator"),
        );
        self.start(env, true);
    }

    pub(crate) fn on_connected(
        &mut self,
        env: &mut Env,
        conn: ConnId,
        local: SocketAddr,
        remote: SocketAddr,
    ) {
        if self.dialing != Some(conn) {
            self.close(env, conn);
            return;
        }
        self.dialing = None;
        let serial = match self.primary.state {
            State::Connect | State::Active => self.primary.serial,
            State::OpenSent | State::OpenConfirm if self.secondary.is_none() => {
                let secondary = self.new_connection(State::Connect);
                let serial = secondary.serial;
                self.secondary = Some(secondary);
                serial
            }
            _ => {
                self.close(env, conn);
                return;
            }
        };
        if let Some(fsm) = self.fsm_mut(serial) {
            fsm.conn = Some(conn);
            fsm.local = Some(local);
            fsm.remote = Some(remote);
        }
        self.run(env, serial, Event::TcpCrAcked, Payload::None);
    }

    pub(crate) fn on_connect_failed(&mut self, env: &mut Env, conn: ConnId) {
        if self.dialing != Some(conn) {
            return;
        }
        self.dialing = None;
        if self.primary.state == State::Connect {
            self.run(
                env,
                self.primary.serial,
                Event::TcpConnectionFails,
                Payload::None,
            );
        }
    }

    pub(crate) fn on_accepted(
        &mut self,
        env: &mut Env,
        conn: ConnId,
        local: SocketAddr,
        remote: SocketAddr,
    ) {
        let serial = match self.primary.state {
            // §8.2.2 Idle: "refuses all incoming BGP connections".
            State::Idle => {
                self.close(env, conn);
                return;
            }
            State::Connect | State::Active => self.primary.serial,
            // RFC 4724 §5: the peer restarted; the old session is gone.
            State::Established if self.primary.graceful_restart() => {
                let serial = self.primary.serial;
                self.run(env, serial, Event::TcpConnectionConfirmed, Payload::None);
                serial
            }
            _ if self.secondary.is_none() => {
                let secondary = self.new_connection(State::Active);
                let serial = secondary.serial;
                self.secondary = Some(secondary);
                serial
            }
            _ => {
                self.close(env, conn);
                return;
            }
        };
        if let Some(fsm) = self.fsm_mut(serial) {
            fsm.conn = Some(conn);
            fsm.local = Some(local);
            fsm.remote = Some(remote);
        }
        self.run(env, serial, Event::TcpConnectionConfirmed, Payload::None);
    }

    pub(crate) fn on_closed(&mut self, env: &mut Env, conn: ConnId) {
        if self.dialing == Some(conn) {
            self.on_connect_failed(env, conn);
            return;
        }
        let Some(serial) = self.serial_of(conn) else {
            return;
        };
        // Already closed: nothing for DropConnection to close.
        if let Some(fsm) = self.fsm_mut(serial) {
            fsm.conn = None;
        }
        self.run(env, serial, Event::TcpConnectionFails, Payload::None);
    }

    pub(crate) fn on_bfd_down(&mut self, env: &mut Env) {
        // RFC 5882 §4.3: BFD Down means the path to the peer failed; tear
        // the session down now rather than wait for the HoldTimer.
        if self.config.bfd && matches!(self.primary.state, State::OpenConfirm | State::Established)
        {
            self.run(
                env,
                self.primary.serial,
                Event::AutomaticStop(Notification::cease(CeaseSubcode::BfdDown)),
                Payload::None,
            );
        }
    }

    pub(crate) fn on_timer(&mut self, env: &mut Env, timer: Timer) {
        let now = env.now;
        let due = |at: &mut Option<Nanos>| match *at {
            Some(deadline) if deadline <= now => {
                *at = None;
                true
            }
            _ => false,
        };
        let event = match timer.kind {
            TimerKind::ConnectRetry | TimerKind::Hold | TimerKind::Keepalive => {
                let Some(fsm) = self.fsm_mut(timer.fsm) else {
                    return;
                };
                let (slot, event) = match timer.kind {
                    TimerKind::ConnectRetry => {
                        (&mut fsm.connect_retry_at, Event::ConnectRetryTimerExpires)
                    }
                    TimerKind::Hold => (&mut fsm.hold_at, Event::HoldTimerExpires),
                    _ => (&mut fsm.keepalive_at, Event::KeepaliveTimerExpires),
                };
                if !due(slot) {
                    return;
                }
                event
            }
            TimerKind::IdleHold => {
                if !due(&mut self.idle_hold_at) || self.primary.state != State::Idle {
                    return;
                }
                self.hold_down = HoldDown::None;
                let serial = self.primary.serial;
                self.run(env, serial, Event::IdleHoldTimerExpires, Payload::None);
                return;
            }
            TimerKind::GracefulRestart => {
                if due(&mut self.graceful_restart_at) {
                    // RFC 4724 §4.2: not back within its Restart Time.
                    self.flush_stale(env, |_| true);
                }
                return;
            }
            TimerKind::StaleRoutes => {
                if due(&mut self.stale_at) {
                    self.flush_stale(env, |_| true);
                }
                return;
            }
        };
        self.run(env, timer.fsm, event, Payload::None);
    }

    fn close(&self, env: &mut Env, conn: ConnId) {
        env.out.notify(BgpNotification::Close {
            peer: self.config.address,
            conn,
        });
    }

    /// Bytes from `conn`: cut into messages (RFC 4271 §6.1) and handled in
    /// order, each with the session parameters in force when it arrives.
    pub(crate) fn on_bytes(&mut self, env: &mut Env, conn: ConnId, data: &[u8]) {
        let Some(serial) = self.serial_of(conn) else {
            return;
        };
        let mut buffer = match self.fsm_mut(serial) {
            Some(fsm) => {
                fsm.rx.extend_from_slice(data);
                std::mem::take(&mut fsm.rx)
            }
            None => return,
        };
        let mut offset = 0;
        loop {
            let Some(fsm) = self.fsm(serial).filter(|f| f.conn == Some(conn)) else {
                return;
            };
            let ctx = fsm.ctx;
            let rest = buffer.get(offset..).unwrap_or_default();
            match frame(rest, ctx.max_message_len()) {
                Err(error) => {
                    tracing::warn!(peer = %self.config.address, %error, "BGP stream broken");
                    self.run(
                        env,
                        serial,
                        Event::BgpHeaderErr(error.notification()),
                        Payload::None,
                    );
                    return;
                }
                Ok(None) => break,
                Ok(Some(len)) => {
                    let Some(bytes) = rest.get(..len) else {
                        break;
                    };
                    let decoded = Message::decode(bytes, &ctx);
                    offset += len;
                    self.on_message(env, serial, decoded);
                }
            }
        }
        if let Some(fsm) = self.fsm_mut(serial)
            && fsm.conn == Some(conn)
        {
            buffer.drain(..offset.min(buffer.len()));
            fsm.rx = buffer;
        }
    }

    fn on_message(
        &mut self,
        env: &mut Env,
        serial: u32,
        decoded: Result<DecodedMessage, MessageError>,
    ) {
        let (event, payload) = match decoded {
            Err(error) => {
                tracing::warn!(peer = %self.config.address, %error, "bad BGP message");
                let notification = error.notification;
                let event = match notification.error {
                    ErrorCode::Open(_) => Event::BgpOpenMsgErr(notification),
                    ErrorCode::Update(_) => Event::UpdateMsgErr(notification),
                    ErrorCode::RouteRefresh(_) => Event::RouteRefreshMsgErr(notification),
                    _ => Event::BgpHeaderErr(notification),
                };
                (event, Payload::None)
            }
            Ok(DecodedMessage::Open(open)) => {
                self.stats.opens_in += 1;
                if self.fsm(serial).map(Connection::state) != Some(State::OpenSent) {
                    (Event::BgpOpen, Payload::None)
                } else {
                    match negotiation::negotiate(env.local, &self.config, &open) {
                        Err(error) => {
                            tracing::warn!(peer = %self.config.address, %error, "OPEN refused");
                            (Event::BgpOpenMsgErr(error.notification), Payload::None)
                        }
                        Ok(session) => {
                            self.open_received(env, serial, session);
                            return;
                        }
                    }
                }
            }
            Ok(DecodedMessage::Update { update, action }) => {
                self.stats.updates_in += 1;
                (Event::UpdateMsg, Payload::Update(update, action))
            }
            Ok(DecodedMessage::Notification(notification)) => {
                self.stats.notifications_in += 1;
                tracing::warn!(
                    peer = %self.config.address,
                    notification = %notification,
                    "received BGP NOTIFICATION"
                );
                let event = if notification.error
                    == ErrorCode::Open(OpenSubcode::UnsupportedVersionNumber)
                {
                    Event::NotifMsgVerErr
                } else {
                    Event::NotifMsg
                };
                (event, Payload::Notification(notification))
            }
            Ok(DecodedMessage::Keepalive) => {
                self.stats.keepalives_in += 1;
                (Event::KeepAliveMsg, Payload::None)
            }
            Ok(DecodedMessage::RouteRefresh(refresh)) => {
                self.stats.route_refresh_in += 1;
                (Event::RouteRefreshMsg, Payload::RouteRefresh(refresh))
            }
        };
        self.run(env, serial, event, payload);
    }

    /// A valid OPEN on the FSM `serial`: collision detection (RFC 4271
    /// §6.8) against the other connection, then Event 19.
    fn open_received(&mut self, env: &mut Env, serial: u32, session: Negotiated) {
        let other = match self.slot(serial) {
            Some(Slot::Primary) => self.secondary.as_ref(),
            Some(Slot::Secondary) => Some(&self.primary),
            None => None,
        }
        .filter(|o| matches!(o.state, State::OpenConfirm | State::Established))
        .map(|o| (o.serial, o.state, o.conn));
        let this_conn = self.fsm(serial).and_then(|f| f.conn);
        if let (Some((other_serial, other_state, Some(other_conn))), Some(this_conn)) =
            (other, this_conn)
        {
            // §6.8: a collision with an Established session closes the new one.
            let keep = if other_state == State::Established {
                Keep::Existing
            } else {
                collision::resolve(
                    Speakers {
                        local_id: env.local.router_id,
                        local_as: env.local.asn,
                        remote_id: session.remote_id,
                        remote_as: session.remote_as,
                    },
                    other_conn,
                    this_conn,
                )
            };
            tracing::info!(
                peer = %self.config.address,
                existing = %other_conn,
                new = %this_conn,
                keep = ?keep,
                "BGP connection collision"
            );
            match keep {
                Keep::Existing => {
                    self.run(env, serial, Event::OpenCollisionDump, Payload::None);
                    return;
                }
                Keep::New => self.run(env, other_serial, Event::OpenCollisionDump, Payload::None),
            }
        }
        if let Some(fsm) = self.fsm_mut(serial) {
            fsm.ctx = session.decode_context();
            fsm.session = Some(session);
        }
        self.run(env, serial, Event::BgpOpen, Payload::None);
    }

    // ---- Established ----

    fn session_up(&mut self, env: &mut Env, serial: u32) {
        self.established_at = Some(env.now);
        self.stats.established += 1;
        let Some(fsm) = self.fsm(serial) else {
            return;
        };
        let Some(session) = fsm.session.clone() else {
            return;
        };
        let local_addr = fsm.local.map(|a| a.ip());
        self.resume_after_restart(env, &session);
        // Our routes, then End-of-RIB for every family (RFC 4724 §4.2: also
        // when there is nothing to send).
        let mut updates = Vec::new();
        if let Some(local_addr) = local_addr {
            match origination::announce(env.local, &session, local_addr, env.networks) {
                Ok((announce, count)) => {
                    updates.extend(announce);
                    self.stats.prefixes_advertised = count as u64;
                }
                Err(error) => tracing::error!(
                    peer = %self.config.address,
                    %error,
                    "cannot encode our routes for this peer"
                ),
            }
        }
        updates.extend(origination::end_of_rib(&session));
        self.send_updates(env, serial, updates);
    }

    /// Sends UPDATEs on an Established session, restarting the
    /// KeepaliveTimer as §8.2.2 asks for every UPDATE sent.
    pub(crate) fn send_updates(&mut self, env: &mut Env, serial: u32, updates: Vec<Update>) {
        if updates.is_empty() {
            return;
        }
        let Some(fsm) = self.fsm(serial) else {
            return;
        };
        let (Some(conn), ctx) = (fsm.conn, fsm.ctx) else {
            return;
        };
        let mut bytes = Vec::new();
        for update in updates {
            match Message::Update(update).encode(&ctx, &mut bytes) {
                Ok(()) => self.stats.updates_out += 1,
                Err(error) => tracing::error!(
                    peer = %self.config.address,
                    %error,
                    "UPDATE not sent: cannot encode it"
                ),
            }
        }
        env.out.notify(BgpNotification::Send {
            peer: self.config.address,
            conn,
            bytes,
        });
        self.restart_keepalive_timer(env, serial);
    }

    /// The instance's `network` list changed: tell an Established peer.
    pub(crate) fn networks_changed(&mut self, env: &mut Env, added: &[IpNet], removed: &[IpNet]) {
        if self.primary.state != State::Established {
            return;
        }
        let serial = self.primary.serial;
        let (Some(session), Some(local)) = (
            self.primary.session.clone(),
            self.primary.local.map(|a| a.ip()),
        ) else {
            return;
        };
        let mut updates = origination::withdraw(&session, removed);
        if let Ok((announce, count)) = origination::announce(env.local, &session, local, added) {
            updates.extend(announce);
            self.stats.prefixes_advertised += count as u64;
        }
        self.send_updates(env, serial, updates);
    }

    /// Settings changed without a reset: they apply from now or from the
    /// next session (hold time, connect retry), and a passive toggle
    /// restarts a peer that has no session yet.
    pub(crate) fn update_config(&mut self, env: &mut Env, config: NeighborConfig) {
        let passive_changed = self.config.passive != config.passive;
        let limit_changed = self.config.max_prefix != config.max_prefix;
        self.config = config;
        if passive_changed && matches!(self.primary.state, State::Connect | State::Active) {
            self.stop(
                env,
                &Notification::cease(CeaseSubcode::OtherConfigurationChange),
            );
            self.start(env, false);
        }
        if limit_changed {
            self.recheck_max_prefix(env);
        }
    }

    pub(crate) fn set_config(&mut self, config: NeighborConfig) {
        self.config = config;
    }
}
