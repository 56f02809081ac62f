//! The BGP finite state machine of RFC 4271 §8.2.2, as a pure table.
//!
//! [`transition`] maps (state, event) to the next state and the ordered
//! [`Step`]s §8.2.2 lists for it, with the RFC 4724 §5 changes for
//! graceful restart. It touches nothing: the peer (`peer.rs`) feeds it
//! events it derived from bytes, timers and TCP, then carries the steps out.
//! Keeping the table apart lets a test walk every (state, event) pair.
//!
//! Session attributes, as §8 names them:
//! - AllowAutomaticStart / AllowAutomaticStop: on. Every entry into Idle
//!   that is not a ManualStop carries [`Step::DampPeerOscillations`], which
//!   is how the daemon restarts the peer by itself: the IdleHoldTimer
//!   (exponential, see `timer.rs`) expiring is Event 13, acted on in Idle
//!   like an AutomaticStart (Events 6/7 "with DampPeerOscillations").
//! - PassiveTcpEstablishment: the operator's `passive`, meaning *never*
//!   connect (as in FRR and BIRD). Start goes to Active as with Events 4/5,
//!   but no ConnectRetryTimer runs there, because its expiry in Active
//!   would initiate a connection (§8.2.2 Active, Event 9).
//! - DelayOpen, SendNOTIFICATIONwithoutOPEN, CollisionDetectEstablishedState,
//!   TrackTcpState: off. Events 12, 15 and 20 therefore never occur.
//! - A second TCP connection (Events 16/17 in OpenSent and later) is
//!   "tracked" by the peer with an FSM of its own (§8.2.1.2); this table
//!   only says the tracking FSM stays where it is.
//!
//! Unexpected messages get the Finite State Machine Error subcodes of
//! RFC 6608 §3: one per state for messages, Unspecified for the rest.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::packet::{FsmSubcode, Notification};

/// The six states of RFC 4271 §8.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum State {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}

impl State {
    pub const ALL: [State; 6] = [
        State::Idle,
        State::Connect,
        State::Active,
        State::OpenSent,
        State::OpenConfirm,
        State::Established,
    ];

    /// How far towards Established: the peer keeps the most advanced of
    /// its connections. Connect and Active are equally far.
    pub fn progress(self) -> u8 {
        match self {
            State::Idle => 0,
            State::Connect | State::Active => 1,
            State::OpenSent => 2,
            State::OpenConfirm => 3,
            State::Established => 4,
        }
    }

    /// Whether a TCP connection belongs to the FSM in this state.
    pub fn has_connection(self) -> bool {
        self.progress() >= 2
    }

    pub fn name(self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The events of RFC 4271 §8.1 this speaker raises. Those carrying a
/// NOTIFICATION carry the one to send (for a stop, its Cease subcode; for
/// an error, the error found).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// Event 1 (or 4 when passive): an operator started the peer.
    ManualStart,
    /// Event 2: an operator stopped the peer (deconfigure, shutdown, clear).
    ManualStop(Notification),
    /// Event 3 (or 5 when passive).
    AutomaticStart,
    /// Event 8: the speaker stops the peer itself (maximum prefixes, BFD
    /// Down, a configuration change).
    AutomaticStop(Notification),
    /// Event 9.
    ConnectRetryTimerExpires,
    /// Event 10.
    HoldTimerExpires,
    /// Event 11.
    KeepaliveTimerExpires,
    /// Event 13.
    IdleHoldTimerExpires,
    /// Event 16: our outgoing connection is up.
    TcpCrAcked,
    /// Event 17: an incoming connection from the peer is up.
    TcpConnectionConfirmed,
    /// Event 18.
    TcpConnectionFails,
    /// Event 19: a valid OPEN (§6.2 checks and collision detection passed).
    BgpOpen,
    /// Event 21: the message header is wrong (§6.1).
    BgpHeaderErr(Notification),
    /// Event 22: the OPEN is wrong (§6.2).
    BgpOpenMsgErr(Notification),
    /// Event 23: collision detection (§6.8) picked this connection to close.
    OpenCollisionDump,
    /// Event 24: a NOTIFICATION with Unsupported Version Number.
    NotifMsgVerErr,
    /// Event 25: any other NOTIFICATION.
    NotifMsg,
    /// Event 26.
    KeepAliveMsg,
    /// Event 27.
    UpdateMsg,
    /// Event 28: an UPDATE error RFC 7606 does not let the session survive.
    UpdateMsgErr(Notification),
    /// A ROUTE-REFRESH (RFC 2918); not an RFC 4271 event, but a message,
    /// so unexpected before Established (RFC 6608).
    RouteRefreshMsg,
    /// A malformed ROUTE-REFRESH (RFC 7313 §5).
    RouteRefreshMsgErr(Notification),
}

/// An [`Event`] without its data, for logs, state-change reasons and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventKind {
    ManualStart,
    ManualStop,
    AutomaticStart,
    AutomaticStop,
    ConnectRetryTimerExpires,
    HoldTimerExpires,
    KeepaliveTimerExpires,
    IdleHoldTimerExpires,
    TcpCrAcked,
    TcpConnectionConfirmed,
    TcpConnectionFails,
    BgpOpen,
    BgpHeaderErr,
    BgpOpenMsgErr,
    OpenCollisionDump,
    NotifMsgVerErr,
    NotifMsg,
    KeepAliveMsg,
    UpdateMsg,
    UpdateMsgErr,
    RouteRefreshMsg,
    RouteRefreshMsgErr,
}

impl EventKind {
    /// The RFC 4271 §8.1 event number; `None` for ROUTE-REFRESH events.
    pub fn number(self) -> Option<u8> {
        Some(match self {
            EventKind::ManualStart => 1,
            EventKind::ManualStop => 2,
            EventKind::AutomaticStart => 3,
            EventKind::AutomaticStop => 8,
            EventKind::ConnectRetryTimerExpires => 9,
            EventKind::HoldTimerExpires => 10,
            EventKind::KeepaliveTimerExpires => 11,
            EventKind::IdleHoldTimerExpires => 13,
            EventKind::TcpCrAcked => 16,
            EventKind::TcpConnectionConfirmed => 17,
            EventKind::TcpConnectionFails => 18,
            EventKind::BgpOpen => 19,
            EventKind::BgpHeaderErr => 21,
            EventKind::BgpOpenMsgErr => 22,
            EventKind::OpenCollisionDump => 23,
            EventKind::NotifMsgVerErr => 24,
            EventKind::NotifMsg => 25,
            EventKind::KeepAliveMsg => 26,
            EventKind::UpdateMsg => 27,
            EventKind::UpdateMsgErr => 28,
            EventKind::RouteRefreshMsg | EventKind::RouteRefreshMsgErr => return None,
        })
    }

    /// Whether the event is a message received from the peer: unexpected
    /// ones get a per-state FSM error subcode (RFC 6608 §3).
    fn is_message(self) -> bool {
        matches!(
            self,
            EventKind::BgpOpen
                | EventKind::BgpOpenMsgErr
                | EventKind::NotifMsg
                | EventKind::NotifMsgVerErr
                | EventKind::KeepAliveMsg
                | EventKind::UpdateMsg
                | EventKind::UpdateMsgErr
                | EventKind::RouteRefreshMsg
                | EventKind::RouteRefreshMsgErr
        )
    }
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::ManualStart => EventKind::ManualStart,
            Event::ManualStop(_) => EventKind::ManualStop,
            Event::AutomaticStart => EventKind::AutomaticStart,
            Event::AutomaticStop(_) => EventKind::AutomaticStop,
            Event::ConnectRetryTimerExpires => EventKind::ConnectRetryTimerExpires,
            Event::HoldTimerExpires => EventKind::HoldTimerExpires,
            Event::KeepaliveTimerExpires => EventKind::KeepaliveTimerExpires,
            Event::IdleHoldTimerExpires => EventKind::IdleHoldTimerExpires,
            Event::TcpCrAcked => EventKind::TcpCrAcked,
            Event::TcpConnectionConfirmed => EventKind::TcpConnectionConfirmed,
            Event::TcpConnectionFails => EventKind::TcpConnectionFails,
            Event::BgpOpen => EventKind::BgpOpen,
            Event::BgpHeaderErr(_) => EventKind::BgpHeaderErr,
            Event::BgpOpenMsgErr(_) => EventKind::BgpOpenMsgErr,
            Event::OpenCollisionDump => EventKind::OpenCollisionDump,
            Event::NotifMsgVerErr => EventKind::NotifMsgVerErr,
            Event::NotifMsg => EventKind::NotifMsg,
            Event::KeepAliveMsg => EventKind::KeepAliveMsg,
            Event::UpdateMsg => EventKind::UpdateMsg,
            Event::UpdateMsgErr(_) => EventKind::UpdateMsgErr,
            Event::RouteRefreshMsg => EventKind::RouteRefreshMsg,
            Event::RouteRefreshMsgErr(_) => EventKind::RouteRefreshMsgErr,
        }
    }
}

/// One thing §8.2.2 tells the local system to do, in the order listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// "initiates a TCP connection to the other BGP peer".
    InitiateConnect,
    /// "drops the TCP connection" (or the connection attempt).
    DropConnection,
    SendOpen,
    SendKeepalive,
    SendNotification(Notification),
    /// "(re)starts the ConnectRetryTimer with the initial value".
    StartConnectRetryTimer,
    /// "sets the ConnectRetryTimer to zero".
    StopConnectRetryTimer,
    /// "sets the HoldTimer to a large value" (4 minutes).
    SetHoldTimerLarge,
    /// On OPEN: KeepaliveTimer and HoldTimer to the negotiated values,
    /// neither when the negotiated hold time is zero.
    StartNegotiatedTimers,
    RestartHoldTimer,
    RestartKeepaliveTimer,
    /// "releases all BGP resources": hold and keepalive timers, buffers,
    /// what the OPEN negotiated.
    ReleaseResources,
    /// "deletes all routes associated with this connection".
    DeleteRoutes,
    /// RFC 4724 §5: "retains all routes associated with this connection"
    /// as stale.
    RetainRoutes,
    IncrementConnectRetryCounter,
    ResetConnectRetryCounter,
    /// "performs peer oscillation damping": here, arm the IdleHoldTimer
    /// that restarts the peer automatically.
    DampPeerOscillations,
    /// Entering Established: first UPDATEs, End-of-RIB, stale route checks.
    SessionUp,
    ProcessUpdate,
    ProcessRouteRefresh,
}

/// What the table needs to know besides state and event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// PassiveTcpEstablishment: never initiate a connection.
    pub passive: bool,
    /// Both sides sent the Graceful Restart capability and the peer's
    /// lists at least one address family (RFC 4724 §5).
    pub graceful_restart: bool,
}

/// The outcome of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub next: State,
    pub steps: Vec<Step>,
}

impl Transition {
    fn stay(state: State) -> Transition {
        Transition {
            next: state,
            steps: Vec::new(),
        }
    }

    fn to(next: State, steps: Vec<Step>) -> Transition {
        Transition { next, steps }
    }
}

/// The FSM error a state answers an unexpected event with (RFC 6608 §3).
fn fsm_error(state: State, event: EventKind) -> Notification {
    let subcode = match (state, event.is_message()) {
        (State::OpenSent, true) => FsmSubcode::UnexpectedInOpenSent,
        (State::OpenConfirm, true) => FsmSubcode::UnexpectedInOpenConfirm,
        (State::Established, true) => FsmSubcode::UnexpectedInEstablished,
        _ => FsmSubcode::Unspecified,
    };
    Notification::fsm_error(subcode)
}

/// RFC 4271 §8.2.2 for one event.
pub fn transition(state: State, event: &Event, flags: Flags) -> Transition {
    use Step::*;
    let kind = event.kind();
    let damp_to_idle = |mut steps: Vec<Step>| {
        steps.push(DampPeerOscillations);
        Transition::to(State::Idle, steps)
    };
    match state {
        State::Idle => match event {
            // Events 1, 3-5; and 13, our automatic start after damping.
            Event::ManualStart | Event::AutomaticStart | Event::IdleHoldTimerExpires => {
                if flags.passive {
                    Transition::to(State::Active, vec![ResetConnectRetryCounter])
                } else {
                    Transition::to(
                        State::Connect,
                        vec![
                            ResetConnectRetryCounter,
                            StartConnectRetryTimer,
                            InitiateConnect,
                        ],
                    )
                }
            }
            // "Any other event ... does not cause change in the state."
            // A connection offered in Idle is refused by the peer.
            _ => Transition::stay(State::Idle),
        },

        State::Connect | State::Active => {
            let waiting = state;
            match event {
                Event::ManualStart | Event::AutomaticStart => Transition::stay(waiting),
                Event::ManualStop(_) => Transition::to(
                    State::Idle,
                    vec![
                        DropConnection,
                        ReleaseResources,
                        ResetConnectRetryCounter,
                        StopConnectRetryTimer,
                    ],
                ),
                Event::ConnectRetryTimerExpires if flags.passive => Transition::stay(waiting),
                Event::ConnectRetryTimerExpires => {
                    let mut steps = Vec::new();
                    if state == State::Connect {
                        steps.push(DropConnection);
                    }
                    steps.extend([StartConnectRetryTimer, InitiateConnect]);
                    Transition::to(State::Connect, steps)
                }
                Event::TcpCrAcked | Event::TcpConnectionConfirmed => Transition::to(
                    State::OpenSent,
                    vec![StopConnectRetryTimer, SendOpen, SetHoldTimerLarge],
                ),
                // Connect: no DelayOpenTimer, so straight to Idle without
                // counting; Active counts the failure.
                Event::TcpConnectionFails if state == State::Connect => damp_to_idle(vec![
                    StopConnectRetryTimer,
                    DropConnection,
                    ReleaseResources,
                ]),
                Event::TcpConnectionFails => damp_to_idle(vec![
                    StopConnectRetryTimer,
                    ReleaseResources,
                    IncrementConnectRetryCounter,
                ]),
                // Events 8, 10-11, 13, 19, 21-28: no OPEN was sent, so no
                // NOTIFICATION either (SendNOTIFICATIONwithoutOPEN is off).
                _ => damp_to_idle(vec![
                    StopConnectRetryTimer,
                    ReleaseResources,
                    DropConnection,
                    IncrementConnectRetryCounter,
                ]),
            }
        }

        State::OpenSent | State::OpenConfirm | State::Established => {
            opened(state, event, kind, flags)
        }
    }
}

/// OpenSent, OpenConfirm and Established: an OPEN was sent, so leaving for
/// Idle goes with a NOTIFICATION unless the peer ended the session itself.
fn opened(state: State, event: &Event, kind: EventKind, flags: Flags) -> Transition {
    use Step::*;
    let established = state == State::Established;
    // "sends NOTIFICATION, sets the ConnectRetryTimer to zero, (deletes all
    // routes,) releases all BGP resources, drops the TCP connection,
    // increments the ConnectRetryCounter, damps, goes to Idle".
    let error_to_idle = |notification: Option<Notification>| {
        let mut steps = Vec::with_capacity(7);
        if let Some(notification) = notification {
            steps.push(SendNotification(notification));
        }
        steps.push(StopConnectRetryTimer);
        if established {
            steps.push(DeleteRoutes);
        }
        steps.extend([
            ReleaseResources,
            DropConnection,
            IncrementConnectRetryCounter,
            DampPeerOscillations,
        ]);
        Transition::to(State::Idle, steps)
    };
    match event {
        Event::ManualStart | Event::AutomaticStart => Transition::stay(state),
        Event::ManualStop(cease) => {
            let mut steps = vec![SendNotification(cease.clone()), StopConnectRetryTimer];
            if established {
                steps.push(DeleteRoutes);
            }
            steps.extend([ReleaseResources, DropConnection, ResetConnectRetryCounter]);
            Transition::to(State::Idle, steps)
        }
        Event::AutomaticStop(cease) => error_to_idle(Some(cease.clone())),
        Event::HoldTimerExpires => error_to_idle(Some(Notification::hold_timer_expired())),
        Event::KeepaliveTimerExpires if state != State::OpenSent => {
            Transition::to(state, vec![SendKeepalive, RestartKeepaliveTimer])
        }
        // RFC 4724 §5: with graceful restart, a new connection while
        // Established means the peer restarted and our side missed it.
        Event::TcpCrAcked | Event::TcpConnectionConfirmed
            if established && flags.graceful_restart =>
        {
            Transition::to(
                State::Connect,
                vec![
                    RetainRoutes,
                    ReleaseResources,
                    DropConnection,
                    ResetConnectRetryCounter,
                    StartConnectRetryTimer,
                ],
            )
        }
        // A second connection: the peer tracks it with an FSM of its own.
        Event::TcpCrAcked | Event::TcpConnectionConfirmed => Transition::stay(state),
        Event::TcpConnectionFails if state == State::OpenSent => {
            let mut steps = vec![DropConnection, ReleaseResources];
            if !flags.passive {
                steps.push(StartConnectRetryTimer);
            }
            Transition::to(State::Active, steps)
        }
        Event::TcpConnectionFails if established && flags.graceful_restart => Transition::to(
            State::Idle,
            vec![
                StopConnectRetryTimer,
                RetainRoutes,
                ReleaseResources,
                DropConnection,
                IncrementConnectRetryCounter,
                DampPeerOscillations,
            ],
        ),
        Event::TcpConnectionFails | Event::NotifMsg if state != State::OpenSent => {
            error_to_idle(None)
        }
        // Event 24: the peer does not speak version 4. No counting (§8.2.2),
        // but the automatic restart still damps.
        Event::NotifMsgVerErr => {
            let mut steps = vec![StopConnectRetryTimer];
            if established {
                steps.push(DeleteRoutes);
            }
            steps.extend([ReleaseResources, DropConnection, DampPeerOscillations]);
            Transition::to(State::Idle, steps)
        }
        Event::BgpOpen if state == State::OpenSent => Transition::to(
            State::OpenConfirm,
            vec![StopConnectRetryTimer, SendKeepalive, StartNegotiatedTimers],
        ),
        // §6.1: a broken header is answered with its own error in any state.
        Event::BgpHeaderErr(notification) => error_to_idle(Some(notification.clone())),
        // §6.2 errors while an OPEN is expected; in Established an OPEN of
        // any shape is unexpected (RFC 6608).
        Event::BgpOpenMsgErr(notification) if !established => {
            error_to_idle(Some(notification.clone()))
        }
        Event::OpenCollisionDump => error_to_idle(Some(Notification::cease(
            super::packet::CeaseSubcode::ConnectionCollisionResolution,
        ))),
        Event::KeepAliveMsg if state == State::OpenConfirm => {
            Transition::to(State::Established, vec![RestartHoldTimer, SessionUp])
        }
        Event::KeepAliveMsg if established => Transition::to(state, vec![RestartHoldTimer]),
        Event::UpdateMsg if established => {
            Transition::to(state, vec![ProcessUpdate, RestartHoldTimer])
        }
        Event::UpdateMsgErr(notification) | Event::RouteRefreshMsgErr(notification)
            if established =>
        {
            error_to_idle(Some(notification.clone()))
        }
        Event::RouteRefreshMsg if established => Transition::to(state, vec![ProcessRouteRefresh]),
        // Everything else is out of place here: RFC 4271 sends a Finite
        // State Machine Error — also for a NOTIFICATION in OpenSent, which
        // §8.2.2 lists among "any other event" (Event 25).
        _ => error_to_idle(Some(fsm_error(state, kind))),
    }
}
