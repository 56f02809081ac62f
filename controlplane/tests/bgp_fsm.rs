//! The BGP FSM (RFC 4271 §8.2.2) with a fake clock: the transition table
//! itself, then every state and timer driven through the protocol with a
//! scripted peer, checking the exact bytes it puts on the wire.

mod bgp_harness;

use bgp_harness::*;
use controlplane::bgp::config::{CapabilityConfig, Family};
use controlplane::bgp::event::Reason;
use controlplane::bgp::fsm::{Event, EventKind, Flags, State, Step, transition};
use controlplane::bgp::packet::{
    AS_TRANS, Afi, AsPath, Capability, CeaseSubcode, DecodeContext, ErrorCode, FsmSubcode, Message,
    Notification, Open, Origin, PathAttributes, Safi, Update,
};
use controlplane::bgp::timer::TimerKind;
use controlplane::bgp::{BgpEvent, BgpNotification, ConnId, NeighborConfig};
use controlplane::protocol::Action;
use controlplane::route::RibUpdate;

// ---------------------------------------------------------------------------
// The table (fsm::transition)
// ---------------------------------------------------------------------------

fn every_event() -> Vec<Event> {
    let cease = Notification::cease(CeaseSubcode::AdministrativeShutdown);
    vec![
        Event::ManualStart,
        Event::ManualStop(cease.clone()),
        Event::AutomaticStart,
        Event::AutomaticStop(Notification::cease(CeaseSubcode::MaximumPrefixesReached)),
        Event::ConnectRetryTimerExpires,
        Event::HoldTimerExpires,
        Event::KeepaliveTimerExpires,
        Event::IdleHoldTimerExpires,
        Event::TcpCrAcked,
        Event::TcpConnectionConfirmed,
        Event::TcpConnectionFails,
        Event::BgpOpen,
        Event::BgpHeaderErr(Notification::connection_not_synchronized()),
        Event::BgpOpenMsgErr(Notification::bad_peer_as()),
        Event::OpenCollisionDump,
        Event::NotifMsgVerErr,
        Event::NotifMsg,
        Event::KeepAliveMsg,
        Event::UpdateMsg,
        Event::UpdateMsgErr(Notification::malformed_attribute_list()),
        Event::RouteRefreshMsg,
        Event::RouteRefreshMsgErr(Notification::route_refresh_invalid_length(&[0; 24])),
    ]
}

fn every_flags() -> Vec<Flags> {
    let mut all = Vec::new();
    for passive in [false, true] {
        for graceful_restart in [false, true] {
            all.push(Flags {
                passive,
                graceful_restart,
            });
        }
    }
    all
}

#[test]
fn transition_table_rows_follow_rfc4271_8_2_2() {
    use Step::*;
    let active = Flags::default();
    let passive = Flags {
        passive: true,
        ..Flags::default()
    };
    let gr = Flags {
        graceful_restart: true,
        ..Flags::default()
    };
    let stop = Notification::cease(CeaseSubcode::PeerDeconfigured);
    let hold = Notification::hold_timer_expired();
    let rows: Vec<(State, Event, Flags, State, Vec<Step>)> = vec![
        // Idle, Events 1/3 and 4/5.
        (
            State::Idle,
            Event::AutomaticStart,
            active,
            State::Connect,
            vec![
                ResetConnectRetryCounter,
                StartConnectRetryTimer,
                InitiateConnect,
            ],
        ),
        (
            State::Idle,
            Event::ManualStart,
            passive,
            State::Active,
            vec![ResetConnectRetryCounter],
        ),
        (
            State::Idle,
            Event::IdleHoldTimerExpires,
            active,
            State::Connect,
            vec![
                ResetConnectRetryCounter,
                StartConnectRetryTimer,
                InitiateConnect,
            ],
        ),
        (
            State::Idle,
            Event::ManualStop(stop.clone()),
            active,
            State::Idle,
            vec![],
        ),
        (
            State::Idle,
            Event::TcpConnectionConfirmed,
            active,
            State::Idle,
            vec![],
        ),
        // Connect.
        (
            State::Connect,
            Event::ConnectRetryTimerExpires,
            active,
            State::Connect,
            vec![DropConnection, StartConnectRetryTimer, InitiateConnect],
        ),
        (
            State::Connect,
            Event::TcpCrAcked,
            active,
            State::OpenSent,
            vec![StopConnectRetryTimer, SendOpen, SetHoldTimerLarge],
        ),
        (
            State::Connect,
            Event::TcpConnectionFails,
            active,
            State::Idle,
            vec![
                StopConnectRetryTimer,
                DropConnection,
                ReleaseResources,
                DampPeerOscillations,
            ],
        ),
        (
            State::Connect,
            Event::ManualStop(stop.clone()),
            active,
            State::Idle,
            vec![
                DropConnection,
                ReleaseResources,
                ResetConnectRetryCounter,
                StopConnectRetryTimer,
            ],
        ),
        // Active.
        (
            State::Active,
            Event::ConnectRetryTimerExpires,
            active,
            State::Connect,
            vec![StartConnectRetryTimer, InitiateConnect],
        ),
        (
            State::Active,
            Event::ConnectRetryTimerExpires,
            passive,
            State::Active,
            vec![],
        ),
        (
            State::Active,
            Event::TcpConnectionConfirmed,
            passive,
            State::OpenSent,
            vec![StopConnectRetryTimer, SendOpen, SetHoldTimerLarge],
        ),
        // OpenSent.
        (
            State::OpenSent,
            Event::BgpOpen,
            active,
            State::OpenConfirm,
            vec![StopConnectRetryTimer, SendKeepalive, StartNegotiatedTimers],
        ),
        (
            State::OpenSent,
            Event::TcpConnectionFails,
            active,
            State::Active,
            vec![DropConnection, ReleaseResources, StartConnectRetryTimer],
        ),
        (
            State::OpenSent,
            Event::HoldTimerExpires,
            active,
            State::Idle,
            vec![
                SendNotification(hold.clone()),
                StopConnectRetryTimer,
                ReleaseResources,
                DropConnection,
                IncrementConnectRetryCounter,
                DampPeerOscillations,
            ],
        ),
        (
            State::OpenSent,
            Event::NotifMsgVerErr,
            active,
            State::Idle,
            vec![
                StopConnectRetryTimer,
                ReleaseResources,
                DropConnection,
                DampPeerOscillations,
            ],
        ),
        (
            State::OpenSent,
            Event::TcpConnectionConfirmed,
            active,
            State::OpenSent,
            vec![],
        ),
        // OpenConfirm.
        (
            State::OpenConfirm,
            Event::KeepAliveMsg,
            active,
            State::Established,
            vec![RestartHoldTimer, SessionUp],
        ),
        (
            State::OpenConfirm,
            Event::KeepaliveTimerExpires,
            active,
            State::OpenConfirm,
            vec![SendKeepalive, RestartKeepaliveTimer],
        ),
        (
            State::OpenConfirm,
            Event::NotifMsg,
            active,
            State::Idle,
            vec![
                StopConnectRetryTimer,
                ReleaseResources,
                DropConnection,
                IncrementConnectRetryCounter,
                DampPeerOscillations,
            ],
        ),
        (
            State::OpenConfirm,
            Event::OpenCollisionDump,
            active,
            State::Idle,
            vec![
                SendNotification(Notification::cease(
                    CeaseSubcode::ConnectionCollisionResolution,
                )),
                StopConnectRetryTimer,
                ReleaseResources,
                DropConnection,
                IncrementConnectRetryCounter,
                DampPeerOscillations,
            ],
        ),
        // Established.
        (
            State::Established,
            Event::UpdateMsg,
            active,
            State::Established,
            vec![ProcessUpdate, RestartHoldTimer],
        ),
        (
            State::Established,
            Event::KeepAliveMsg,
            active,
            State::Established,
            vec![RestartHoldTimer],
        ),
        (
            State::Established,
            Event::KeepaliveTimerExpires,
            active,
            State::Established,
            vec![SendKeepalive, RestartKeepaliveTimer],
        ),
        (
            State::Established,
            Event::ManualStop(stop.clone()),
            active,
            State::Idle,
            vec![
                SendNotification(stop.clone()),
                StopConnectRetryTimer,
                DeleteRoutes,
                ReleaseResources,
                DropConnection,
                ResetConnectRetryCounter,
            ],
        ),
        (
            State::Established,
            Event::TcpConnectionFails,
            active,
            State::Idle,
            vec![
                StopConnectRetryTimer,
                DeleteRoutes,
                ReleaseResources,
                DropConnection,
                IncrementConnectRetryCounter,
                DampPeerOscillations,
            ],
        ),
        // RFC 4724 §5.
        (
            State::Established,
            Event::TcpConnectionFails,
            gr,
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
        (
            State::Established,
            Event::TcpConnectionConfirmed,
            gr,
            State::Connect,
            vec![
                RetainRoutes,
                ReleaseResources,
                DropConnection,
                ResetConnectRetryCounter,
                StartConnectRetryTimer,
            ],
        ),
        (
            State::Established,
            Event::TcpConnectionConfirmed,
            active,
            State::Established,
            vec![],
        ),
    ];
    for (state, event, flags, next, steps) in rows {
        let got = transition(state, &event, flags);
        assert_eq!(
            (got.next, &got.steps),
            (next, &steps),
            "{state} + {:?} ({flags:?})",
            event.kind()
        );
    }
}

/// Properties every cell of the table must have, checked over all
/// (state, event, flags).
#[test]
fn every_cell_of_the_table_keeps_the_rfc_invariants() {
    for state in State::ALL {
        for event in every_event() {
            for flags in every_flags() {
                let t = transition(state, &event, flags);
                let what = format!("{state} + {:?} ({flags:?}) -> {}", event.kind(), t.next);
                let kind = event.kind();
                let sent: Vec<&Notification> = t
                    .steps
                    .iter()
                    .filter_map(|s| match s {
                        Step::SendNotification(n) => Some(n),
                        _ => None,
                    })
                    .collect();
                // Start events only act in Idle.
                if matches!(kind, EventKind::ManualStart | EventKind::AutomaticStart)
                    && state != State::Idle
                {
                    assert_eq!(t.next, state, "{what}");
                    assert!(t.steps.is_empty(), "{what}");
                }
                // Idle is left only by a start.
                if state == State::Idle && t.next != State::Idle {
                    assert!(
                        matches!(
                            kind,
                            EventKind::ManualStart
                                | EventKind::AutomaticStart
                                | EventKind::IdleHoldTimerExpires
                        ),
                        "{what}"
                    );
                }
                // A passive peer never connects.
                if flags.passive {
                    assert!(!t.steps.contains(&Step::InitiateConnect), "{what}");
                }
                // Entering Idle from elsewhere restarts automatically,
                // except after a ManualStop.
                if t.next == State::Idle && state != State::Idle {
                    assert_eq!(
                        t.steps.contains(&Step::DampPeerOscillations),
                        kind != EventKind::ManualStop,
                        "{what}"
                    );
                    assert!(t.steps.contains(&Step::ReleaseResources), "{what}");
                    // Active holds no connection to drop (§8.2.2 Active, Event 18).
                    if !(state == State::Active && kind == EventKind::TcpConnectionFails) {
                        assert!(t.steps.contains(&Step::DropConnection), "{what}");
                    }
                }
                // After an OPEN went out, closing says why — unless the peer
                // closed (NOTIFICATION, TCP failure) or graceful restart.
                let opened = state.progress() >= State::OpenSent.progress();
                let closing = opened && t.steps.contains(&Step::DropConnection);
                let peer_ended = matches!(
                    kind,
                    EventKind::NotifMsgVerErr | EventKind::TcpConnectionFails
                ) || (kind == EventKind::NotifMsg && state != State::OpenSent)
                    || t.steps.contains(&Step::RetainRoutes);
                if closing {
                    assert_eq!(sent.len(), usize::from(!peer_ended), "{what}");
                } else {
                    assert!(sent.is_empty(), "{what}");
                }
                // The NOTIFICATION goes out before the connection is dropped.
                if let (Some(n), Some(d)) = (
                    t.steps
                        .iter()
                        .position(|s| matches!(s, Step::SendNotification(_))),
                    t.steps.iter().position(|s| *s == Step::DropConnection),
                ) {
                    assert!(n < d, "{what}");
                }
                // Leaving Established always settles the routes.
                if state == State::Established && t.next != State::Established {
                    let retained = t.steps.contains(&Step::RetainRoutes);
                    assert!(t.steps.contains(&Step::DeleteRoutes) != retained, "{what}");
                    assert_eq!(
                        retained,
                        flags.graceful_restart
                            && matches!(
                                kind,
                                EventKind::TcpConnectionFails
                                    | EventKind::TcpConnectionConfirmed
                                    | EventKind::TcpCrAcked
                            ),
                        "{what}"
                    );
                }
                // What entering each state must do.
                if t.next != state {
                    match t.next {
                        State::OpenSent => {
                            assert!(t.steps.contains(&Step::SendOpen), "{what}");
                            assert!(t.steps.contains(&Step::SetHoldTimerLarge), "{what}");
                        }
                        State::OpenConfirm => {
                            assert!(t.steps.contains(&Step::SendKeepalive), "{what}");
                            assert!(t.steps.contains(&Step::StartNegotiatedTimers), "{what}");
                        }
                        State::Established => {
                            assert!(t.steps.contains(&Step::SessionUp), "{what}")
                        }
                        _ => {}
                    }
                }
                // RFC 6608: the subcode names the state for unexpected messages.
                for n in &sent {
                    if let ErrorCode::Fsm(subcode) = n.error {
                        let expected = match (
                            state,
                            kind.number().is_some_and(|e| e >= 19)
                                || matches!(
                                    kind,
                                    EventKind::RouteRefreshMsg | EventKind::RouteRefreshMsgErr
                                ),
                        ) {
                            (State::OpenSent, true) => FsmSubcode::UnexpectedInOpenSent,
                            (State::OpenConfirm, true) => FsmSubcode::UnexpectedInOpenConfirm,
                            (State::Established, true) => FsmSubcode::UnexpectedInEstablished,
                            _ => FsmSubcode::Unspecified,
                        };
                        assert_eq!(subcode, expected, "{what}");
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Through the protocol
// ---------------------------------------------------------------------------

fn index() -> u32 {
    1
}

fn default_started() -> (Harness, Acts) {
    Harness::started(config(vec![neighbor()]))
}

#[test]
fn active_open_goes_idle_connect_opensent_openconfirm_established() {
    let (mut h, actions) = default_started();
    assert_eq!(transitions(&actions), vec![(State::Idle, State::Connect)]);
    let transport = notified(&actions)
        .into_iter()
        .find_map(|n| match n {
            BgpNotification::Connect { transport, .. } => Some(transport),
            _ => None,
        })
        .unwrap();
    assert_eq!(transport.remote, sock("192.0.2.2:179"));
    assert_eq!(transport.ttl, 1, "single-hop eBGP sends with TTL 1");
    // ConnectRetryTimer: 120 s with jitter 0.75..1.0 (RFC 4271 §10).
    let retry = h.timer(index(), TimerKind::ConnectRetry).unwrap();
    assert!(retry > 90 * SECOND && retry <= 120 * SECOND, "{retry}");

    let (conn, actions) = h.connected(peer());
    assert_eq!(
        transitions(&actions),
        vec![(State::Connect, State::OpenSent)]
    );
    assert_eq!(h.timer(index(), TimerKind::ConnectRetry), None);
    assert_eq!(h.timer(index(), TimerKind::Hold), Some(240 * SECOND));
    let sent_open = match sent(&actions).as_slice() {
        [(c, Message::Open(open))] if *c == conn => open.clone(),
        other => panic!("expected our OPEN, got {other:?}"),
    };
    assert_eq!(sent_open.my_as, 65000);
    assert_eq!(sent_open.hold_time, 90);
    assert_eq!(sent_open.bgp_id, local_id());
    assert_eq!(sent_open.four_octet_as(), Some(65000));
    assert_eq!(
        sent_open.multiprotocol().collect::<Vec<_>>(),
        vec![(Afi::Ipv4, Safi::Unicast)]
    );
    for code in [2, 6, 64, 70] {
        assert!(sent_open.has_capability(code), "capability {code} missing");
    }
    let gr = sent_open.graceful_restart().unwrap();
    assert!(gr.families.is_empty(), "helper only: no family preserved");
    assert!(!gr.restart_state);

    h.advance(5 * SECOND);
    let actions = h.message(
        conn,
        &Message::Open(default_open()),
        &DecodeContext::default(),
    );
    assert_eq!(
        transitions(&actions),
        vec![(State::OpenSent, State::OpenConfirm)]
    );
    assert_eq!(keepalives(&actions), 1);
    assert_eq!(h.timer(index(), TimerKind::Hold), Some(95 * SECOND));
    let keepalive = h.timer(index(), TimerKind::Keepalive).unwrap();
    assert!(keepalive > 5 * SECOND + 22_500_000_000 && keepalive <= 35 * SECOND);

    let actions = h.message(conn, &Message::Keepalive, &DecodeContext::default());
    assert_eq!(
        transitions(&actions),
        vec![(State::OpenConfirm, State::Established)]
    );
    // Nothing to announce: End-of-RIB for IPv4 unicast (RFC 4724 §2) is an
    // UPDATE with both lengths zero.
    let raw = sent_bytes(&actions);
    assert_eq!(raw.len(), 1);
    assert_eq!(hex(&raw[0].1), format!("{MARKER}00170200000000"));
    let session = h.bgp.peer(peer()).unwrap().session().unwrap();
    assert_eq!(session.families, vec![Family::Ipv4Unicast]);
    assert_eq!(session.hold_time, 90);
}

#[test]
fn passive_peer_waits_in_active_and_never_connects() {
    let mut n = neighbor();
    n.passive = true;
    let (mut h, actions) = Harness::started(config(vec![n]));
    assert_eq!(transitions(&actions), vec![(State::Idle, State::Active)]);
    assert!(connects(&actions).is_empty());
    assert_eq!(h.timer(index(), TimerKind::ConnectRetry), None);
    let later = h.advance(3600 * SECOND);
    assert!(connects(&later).is_empty() && later.is_empty());

    let conn = ConnId::Inbound(9);
    let actions = h.event(BgpEvent::Accepted {
        conn,
        local: sock("192.0.2.1:179"),
        remote: sock("192.0.2.2:40000"),
    });
    assert_eq!(
        transitions(&actions),
        vec![(State::Active, State::OpenSent)]
    );
    assert!(matches!(sent(&actions)[0], (c, Message::Open(_)) if c == conn));
    // The connection fails before OPEN: back to Active, still not connecting.
    let actions = h.event(BgpEvent::Closed { conn });
    assert_eq!(
        transitions(&actions),
        vec![(State::OpenSent, State::Active)]
    );
    assert!(connects(&h.advance(600 * SECOND)).is_empty());
}

#[test]
fn unknown_and_idle_connections_are_refused() {
    let mut n = neighbor();
    n.passive = true;
    let (mut h, _) = Harness::started(config(vec![n]));
    let stranger = ConnId::Inbound(1);
    let actions = h.event(BgpEvent::Accepted {
        conn: stranger,
        local: sock("192.0.2.1:179"),
        remote: sock("198.51.100.7:40000"),
    });
    assert_eq!(closes(&actions), vec![stranger]);
    assert_eq!(h.state(peer()), State::Active);
    // A known peer in Idle is refused too (RFC 4271 §8.2.2 Idle).
    let mut h = Harness::new(config(vec![neighbor()]));
    h.start();
    let (conn, _) = h.connected(peer());
    h.bytes(conn, vec![0; 19]); // not synchronised: Idle
    assert_eq!(h.state(peer()), State::Idle);
    let late = ConnId::Inbound(2);
    let actions = h.event(BgpEvent::Accepted {
        conn: late,
        local: sock("192.0.2.1:179"),
        remote: sock("[::ffff:192.0.2.2]:40000"),
    });
    assert_eq!(closes(&actions), vec![late]);
}

#[test]
fn connect_retry_expiry_retries_and_failures_back_off_exponentially() {
    let (mut h, actions) = default_started();
    let first = connects(&actions)[0].1;
    let retry_at = h.timer(index(), TimerKind::ConnectRetry).unwrap();
    let actions = h.advance_to(retry_at);
    // Connect + Event 9: drop the attempt, start a new one, stay in Connect.
    assert_eq!(closes(&actions), vec![first]);
    let second = connects(&actions)[0].1;
    assert_ne!(first, second);
    assert_eq!(h.state(peer()), State::Connect);
    assert!(transitions(&actions).is_empty());
    let next_retry = h.timer(index(), TimerKind::ConnectRetry).unwrap();
    assert!(next_retry > retry_at + 90 * SECOND && next_retry <= retry_at + 120 * SECOND);

    // Each failure goes to Idle and restarts after 1, 2, 4, … 60 s.
    let mut expected_wait = SECOND;
    for _ in 0..9 {
        let conn = h.dialing(peer()).unwrap();
        let actions = h.event(BgpEvent::ConnectFailed { conn });
        assert_eq!(transitions(&actions), vec![(State::Connect, State::Idle)]);
        assert_eq!(h.timer(index(), TimerKind::ConnectRetry), None);
        let restart = h.timer(index(), TimerKind::IdleHold).unwrap();
        assert_eq!(restart - h.now, expected_wait);
        let actions = h.advance_to(restart);
        assert_eq!(transitions(&actions), vec![(State::Idle, State::Connect)]);
        assert_eq!(connects(&actions).len(), 1);
        expected_wait = (expected_wait * 2).min(60 * SECOND);
    }
}

fn notification_hex(code: u8, subcode: u8, data: &str) -> String {
    let len = 21 + data.len() / 2;
    format!("{MARKER}{len:04x}03{code:02x}{subcode:02x}{data}")
}

fn learn_one_route(h: &mut Harness, conn: ConnId) {
    let update = Update {
        attrs: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence([PEER_AS])),
            next_hop: Some("192.0.2.2".parse().unwrap()),
            ..PathAttributes::default()
        },
        nlri: vec!["10.1.0.0/16".parse().unwrap()],
        ..Update::default()
    };
    let actions = h.message(conn, &Message::Update(update), &session_ctx());
    assert_eq!(rib(&actions).len(), 1, "{actions:#?}");
}

#[test]
fn hold_timer_expiry_in_opensent_openconfirm_and_established() {
    let hold_expired = notification_hex(4, 0, "");

    // OpenSent: the large hold time of 4 minutes.
    let (mut h, _) = default_started();
    let (conn, _) = h.connected(peer());
    let actions = h.advance(240 * SECOND);
    assert_eq!(transitions(&actions), vec![(State::OpenSent, State::Idle)]);
    assert_eq!(
        notification_bytes(&actions),
        vec![hex_to_bytes(&hold_expired)]
    );
    assert_eq!(closes(&actions), vec![conn]);
    assert_eq!(h.bgp.peer(peer()).unwrap().connect_retry_counter(), 1);

    // OpenConfirm: the negotiated 90 s; our keepalives go out meanwhile.
    let (mut h, _) = default_started();
    let (conn, _) = h.connected(peer());
    h.message(
        conn,
        &Message::Open(default_open()),
        &DecodeContext::default(),
    );
    let actions = h.advance(89 * SECOND);
    assert!(keepalives(&actions) >= 2);
    assert_eq!(h.state(peer()), State::OpenConfirm);
    let actions = h.advance(SECOND);
    assert_eq!(
        transitions(&actions),
        vec![(State::OpenConfirm, State::Idle)]
    );
    assert_eq!(
        notification_bytes(&actions),
        vec![hex_to_bytes(&hold_expired)]
    );

    // Established: routes go with the session.
    let (mut h, _) = default_started();
    let (conn, _) = h.establish(peer(), &default_open());
    learn_one_route(&mut h, conn);
    h.advance(60 * SECOND);
    let actions = h.message(conn, &Message::Keepalive, &session_ctx());
    assert!(
        actions
            .iter()
            .all(|a| !matches!(a, Action::Notify(BgpNotification::Send { .. })))
    );
    let actions = h.advance(89 * SECOND);
    assert_eq!(
        h.state(peer()),
        State::Established,
        "KEEPALIVE restarted the HoldTimer"
    );
    assert!(notification_bytes(&actions).is_empty());
    let actions = h.advance(SECOND);
    assert_eq!(
        transitions(&actions),
        vec![(State::Established, State::Idle)]
    );
    assert_eq!(
        notification_bytes(&actions),
        vec![hex_to_bytes(&hold_expired)]
    );
    assert!(matches!(
        rib(&actions).as_slice(),
        [RibUpdate::RemoveCandidate { .. }]
    ));
    let reason = h.bgp.peer(peer()).unwrap().last_reason().cloned();
    assert_eq!(
        reason,
        Some(Reason::Sent(Notification::hold_timer_expired()))
    );
}

fn hex_to_bytes(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn keepalives_follow_a_third_of_the_negotiated_hold_time_with_jitter() {
    let (mut h, _) = default_started();
    // Theirs 30, ours 90: min is 30, keepalives every 7.5..10 s.
    let (conn, _) = h.establish(peer(), &peer_open(PEER_AS, 30, [192, 0, 2, 2]));
    assert_eq!(h.bgp.peer(peer()).unwrap().session().unwrap().hold_time, 30);
    let mut last_sent = h.now;
    let mut peer_keepalive_due = h.now + 10 * SECOND;
    let mut gaps = Vec::new();
    while h.now < 600 * SECOND {
        let due = h.timer(index(), TimerKind::Keepalive).unwrap();
        if peer_keepalive_due < due {
            h.advance_to(peer_keepalive_due);
            h.message(conn, &Message::Keepalive, &session_ctx());
            peer_keepalive_due += 10 * SECOND;
            continue;
        }
        let actions = h.advance_to(due);
        assert_eq!(keepalives(&actions), 1, "at {}", h.now);
        gaps.push(due - last_sent);
        last_sent = due;
    }
    assert!(gaps.len() >= 60);
    for gap in &gaps {
        assert!(*gap > 7_500_000_000 && *gap <= 10 * SECOND, "gap {gap}");
    }
    assert!(
        gaps.iter().any(|g| *g != gaps[0]),
        "jitter varies the interval"
    );
    assert_eq!(h.state(peer()), State::Established);

    // Hold time 0 on either side: no HoldTimer, no keepalives, ever.
    let (mut h, _) = default_started();
    h.establish(peer(), &peer_open(PEER_AS, 0, [192, 0, 2, 2]));
    assert_eq!(h.timer(index(), TimerKind::Hold), None);
    assert_eq!(h.timer(index(), TimerKind::Keepalive), None);
    let actions = h.advance(3600 * SECOND);
    assert!(sent(&actions).is_empty());
    assert_eq!(h.state(peer()), State::Established);
}

#[test]
fn notification_received_in_each_state() {
    let cease = Message::Notification(Notification::cease(CeaseSubcode::AdministrativeReset));

    // OpenSent: Event 25 is among "any other event": FSM error back.
    let (mut h, _) = default_started();
    let (conn, _) = h.connected(peer());
    let actions = h.message(conn, &cease, &DecodeContext::default());
    assert_eq!(transitions(&actions), vec![(State::OpenSent, State::Idle)]);
    assert_eq!(
        notification_bytes(&actions),
        vec![hex_to_bytes(&notification_hex(5, 1, ""))]
    );

    // OpenConfirm: Idle, nothing sent, counted.
    let (mut h, _) = default_started();
    let (conn, _) = h.connected(peer());
    h.message(
        conn,
        &Message::Open(default_open()),
        &DecodeContext::default(),
    );
    let actions = h.message(conn, &cease, &session_ctx());
    assert_eq!(
        transitions(&actions),
        vec![(State::OpenConfirm, State::Idle)]
    );
    assert!(notification_bytes(&actions).is_empty());
    assert_eq!(closes(&actions), vec![conn]);
    assert_eq!(h.bgp.peer(peer()).unwrap().connect_retry_counter(), 1);
    assert!(matches!(
        h.bgp.peer(peer()).unwrap().last_reason(),
        Some(Reason::Received(n)) if n.error == ErrorCode::Cease(CeaseSubcode::AdministrativeReset)
    ));

    // Established: Idle, routes withdrawn, nothing sent.
    let (mut h, _) = default_started();
    let (conn, _) = h.establish(peer(), &default_open());
    learn_one_route(&mut h, conn);
    let actions = h.message(conn, &cease, &session_ctx());
    assert_eq!(
        transitions(&actions),
        vec![(State::Established, State::Idle)]
    );
    assert!(notification_bytes(&actions).is_empty());
    assert_eq!(rib(&actions).len(), 1);
    assert!(
        h.timer(index(), TimerKind::IdleHold).is_some(),
        "restarts by itself"
    );

    // Version error (Event 24): Idle without counting.
    let (mut h, _) = default_started();
    let (conn, _) = h.connected(peer());
    let actions = h.message(
        conn,
        &Message::Notification(Notification::unsupported_version()),
        &DecodeContext::default(),
    );
    assert_eq!(transitions(&actions), vec![(State::OpenSent, State::Idle)]);
    assert!(notification_bytes(&actions).is_empty());
    assert_eq!(h.bgp.peer(peer()).unwrap().connect_retry_counter(), 0);
}

#[test]
fn unexpected_messages_get_the_rfc6608_subcode_of_the_state() {
    let update = Message::Update(Update::default());
    let refresh = Message::RouteRefresh(controlplane::bgp::packet::RouteRefresh::new(
        Afi::Ipv4,
        Safi::Unicast,
    ));
    // OpenSent: KEEPALIVE, UPDATE, ROUTE-REFRESH → 5/1.
    for message in [Message::Keepalive, update.clone(), refresh.clone()] {
        let (mut h, _) = default_started();
        let (conn, _) = h.connected(peer());
        let actions = h.message(conn, &message, &DecodeContext::default());
        assert_eq!(
            notification_bytes(&actions),
            vec![hex_to_bytes(&notification_hex(5, 1, ""))],
            "{message:?}"
        );
        assert_eq!(h.state(peer()), State::Idle);
    }
    // OpenConfirm: OPEN again, UPDATE, ROUTE-REFRESH → 5/2.
    for message in [Message::Open(default_open()), update.clone(), refresh] {
        let (mut h, _) = default_started();
        let (conn, _) = h.connected(peer());
        h.message(
            conn,
            &Message::Open(default_open()),
            &DecodeContext::default(),
        );
        let actions = h.message(conn, &message, &session_ctx());
        assert_eq!(
            notification_bytes(&actions),
            vec![hex_to_bytes(&notification_hex(5, 2, ""))],
            "{message:?}"
        );
    }
    // Established: an OPEN → 5/3.
    let (mut h, _) = default_started();
    let (conn, _) = h.establish(peer(), &default_open());
    let actions = h.message(conn, &Message::Open(default_open()), &session_ctx());
    assert_eq!(
        notification_bytes(&actions),
        vec![hex_to_bytes(&notification_hex(5, 3, ""))]
    );
    assert_eq!(
        transitions(&actions),
        vec![(State::Established, State::Idle)]
    );
}

#[test]
fn broken_headers_get_message_header_errors() {
    let cases: Vec<(Vec<u8>, String)> = vec![
        // Marker not all ones: Connection Not Synchronized.
        (vec![0u8; 19], notification_hex(1, 1, "")),
        // KEEPALIVE of 20 octets: Bad Message Length with the length.
        (
            hex_to_bytes(&format!("{MARKER}00140400")),
            notification_hex(1, 2, "0014"),
        ),
        // Type 9: Bad Message Type with the type.
        (
            hex_to_bytes(&format!("{MARKER}001309")),
            notification_hex(1, 3, "09"),
        ),
    ];
    for (bytes, expected) in cases {
        let (mut h, _) = default_started();
        let (conn, _) = h.establish(peer(), &default_open());
        let actions = h.bytes(conn, bytes.clone());
        assert_eq!(
            notification_bytes(&actions),
            vec![hex_to_bytes(&expected)],
            "{}",
            hex(&bytes)
        );
        assert_eq!(h.state(peer()), State::Idle);
    }
}

/// The OPEN of the default neighbor as bytes, patched by `edit`.
fn open_bytes(open: &Open, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = Message::Open(open.clone())
        .to_bytes(&DecodeContext::default())
        .unwrap();
    edit(&mut bytes);
    bytes
}

fn refused_with(neighbor: NeighborConfig, open_wire: Vec<u8>) -> (Harness, Acts) {
    let (mut h, _) = Harness::started(config(vec![neighbor]));
    let (conn, _) = h.connected(peer());
    let actions = h.bytes(conn, open_wire);
    (h, actions)
}

#[test]
fn bad_opens_are_answered_with_the_exact_notification() {
    let cases: Vec<(&str, NeighborConfig, Vec<u8>, String)> = vec![
        (
            "version 3: Unsupported Version Number, data = 4 as 2 octets",
            neighbor(),
            open_bytes(&default_open(), |b| b[19] = 3),
            notification_hex(2, 1, "0004"),
        ),
        (
            "AS 65002 where 65001 is configured",
            neighbor(),
            open_bytes(&peer_open(65002, 90, [192, 0, 2, 2]), |_| {}),
            notification_hex(2, 2, ""),
        ),
        (
            "My AS disagrees with the four-octet capability",
            neighbor(),
            open_bytes(&default_open(), |b| {
                b[20..22].copy_from_slice(&AS_TRANS.to_be_bytes())
            }),
            notification_hex(2, 2, ""),
        ),
        (
            "a four-octet AS neighbor without the capability shows only AS_TRANS",
            NeighborConfig::new(peer(), 4_200_000_001),
            open_bytes(
                &Open::new(
                    4_200_000_001,
                    90,
                    [192, 0, 2, 2].into(),
                    vec![Capability::Multiprotocol {
                        afi: Afi::Ipv4,
                        safi: Safi::Unicast,
                    }],
                ),
                |_| {},
            ),
            notification_hex(2, 2, ""),
        ),
        (
            "BGP identifier 0",
            neighbor(),
            open_bytes(&default_open(), |b| b[24..28].copy_from_slice(&[0; 4])),
            notification_hex(2, 3, ""),
        ),
        (
            "our own identifier from an internal peer (RFC 6286 §2.2)",
            NeighborConfig::new(peer(), LOCAL_AS),
            open_bytes(&peer_open(LOCAL_AS, 90, local_id().octets()), |_| {}),
            notification_hex(2, 3, ""),
        ),
        (
            "hold time 2",
            neighbor(),
            open_bytes(&peer_open(PEER_AS, 2, [192, 0, 2, 2]), |_| {}),
            notification_hex(2, 6, ""),
        ),
        (
            "no address family in common: we want IPv6 unicast",
            NeighborConfig {
                families: vec![Family::Ipv6Unicast],
                ..neighbor()
            },
            open_bytes(
                &Open::new(
                    PEER_AS,
                    90,
                    [192, 0, 2, 2].into(),
                    vec![Capability::Multiprotocol {
                        afi: Afi::Ipv4,
                        safi: Safi::Unicast,
                    }],
                ),
                |_| {},
            ),
            notification_hex(2, 7, "010400020001"),
        ),
    ];
    for (what, neighbor, wire, expected) in cases {
        let (h, actions) = refused_with(neighbor, wire);
        assert_eq!(
            notification_bytes(&actions)
                .iter()
                .map(|b| hex(b))
                .collect::<Vec<_>>(),
            vec![expected],
            "{what}"
        );
        assert_eq!(
            transitions(&actions),
            vec![(State::OpenSent, State::Idle)],
            "{what}"
        );
        assert_eq!(closes(&actions).len(), 1, "{what}");
        assert!(h.timer(index(), TimerKind::IdleHold).is_some(), "{what}");
    }

    // An external peer may share our identifier (RFC 6286 §2.2).
    let (h, actions) = refused_with(
        neighbor(),
        open_bytes(&peer_open(PEER_AS, 90, local_id().octets()), |_| {}),
    );
    assert!(notification_bytes(&actions).is_empty());
    assert_eq!(h.state(peer()), State::OpenConfirm);
}

#[test]
fn capabilities_negotiate_to_what_both_sides_offer() {
    let both = NeighborConfig {
        families: vec![Family::Ipv4Unicast, Family::Ipv6Unicast],
        ..neighbor()
    };
    // Everything on both sides.
    let (mut h, _) = Harness::started(config(vec![both.clone()]));
    h.establish(peer(), &default_open());
    let s = h.bgp.peer(peer()).unwrap().session().unwrap().clone();
    assert_eq!(s.families, vec![Family::Ipv4Unicast, Family::Ipv6Unicast]);
    assert!(s.four_octet_as && s.extended_messages && s.route_refresh && s.enhanced_route_refresh);
    assert!(s.graceful_restart.is_some() && !s.ibgp);

    // A bare peer: no capabilities at all means IPv4 unicast only, two-octet
    // ASes, 4096-octet messages.
    let bare = Open::new(PEER_AS, 90, [192, 0, 2, 2].into(), Vec::new());
    let (mut h, _) = Harness::started(config(vec![both.clone()]));
    let (conn, _) = h.establish(peer(), &bare);
    let s = h.bgp.peer(peer()).unwrap().session().unwrap().clone();
    assert_eq!(s.families, vec![Family::Ipv4Unicast]);
    assert!(!s.four_octet_as && !s.extended_messages && !s.route_refresh);
    assert!(s.graceful_restart.is_none());
    // Its UPDATEs are read with two-octet AS numbers.
    let two_octet = DecodeContext::default();
    let update = Update {
        attrs: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence([PEER_AS, 64999])),
            next_hop: Some("192.0.2.2".parse().unwrap()),
            ..PathAttributes::default()
        },
        nlri: vec!["10.9.0.0/16".parse().unwrap()],
        ..Update::default()
    };
    let actions = h.message(conn, &Message::Update(update.clone()), &two_octet);
    assert_eq!(rib(&actions).len(), 1, "{actions:#?}");
    let stored = h
        .bgp
        .peer(peer())
        .unwrap()
        .adj_rib_in()
        .get(&"10.9.0.0/16".parse().unwrap())
        .unwrap()
        .attrs
        .as_path
        .clone();
    assert_eq!(stored, Some(AsPath::from_sequence([PEER_AS, 64999])));
    // A 4097-octet message is too long without extended messages.
    let big = big_update(1100);
    assert!(big.len() > 4096);
    let actions = h.bytes(conn, big);
    assert_eq!(notifications(&actions)[0].error.code(), 1);
    assert_eq!(notifications(&actions)[0].error.subcode(), 2);

    // With extended messages, it is a normal UPDATE.
    let (mut h, _) = Harness::started(config(vec![both.clone()]));
    let (conn, _) = h.establish(peer(), &default_open());
    let actions = h.bytes(conn, big_update(1100));
    assert_eq!(rib(&actions).len(), 1100);
    assert_eq!(h.state(peer()), State::Established);

    // We turn things off: the peer's offer does not matter.
    let off = NeighborConfig {
        capabilities: CapabilityConfig {
            four_octet_as: false,
            route_refresh: false,
            enhanced_route_refresh: false,
            extended_message: false,
            graceful_restart: None,
        },
        families: vec![Family::Ipv6Unicast],
        ..neighbor()
    };
    let (mut h, _) = Harness::started(config(vec![off]));
    let (_, actions) = h.connected(peer());
    let ours = match &sent_with(&actions, &DecodeContext::default())[0].1 {
        Message::Open(open) => open.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        ours.capabilities,
        vec![Capability::Multiprotocol {
            afi: Afi::Ipv6,
            safi: Safi::Unicast
        }]
    );
    h.establish_after_connect(&default_open());
    let s = h.bgp.peer(peer()).unwrap().session().unwrap().clone();
    assert_eq!(s.families, vec![Family::Ipv6Unicast]);
    assert!(!s.four_octet_as && !s.extended_messages && !s.route_refresh);
    assert!(!s.enhanced_route_refresh && s.graceful_restart.is_none());
}

/// An UPDATE with `count` /24 prefixes, four-octet AS_PATH, as raw bytes.
fn big_update(count: usize) -> Vec<u8> {
    let update = Update {
        attrs: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence([PEER_AS])),
            next_hop: Some("192.0.2.2".parse().unwrap()),
            ..PathAttributes::default()
        },
        nlri: (0..count)
            .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap())
            .collect(),
        ..Update::default()
    };
    let ctx = DecodeContext {
        extended_messages: true,
        four_octet_as: true,
        ibgp: false,
    };
    Message::Update(update).to_bytes(&ctx).unwrap()
}

trait EstablishAfterConnect {
    fn establish_after_connect(&mut self, open: &Open);
}

impl EstablishAfterConnect for Harness {
    /// For a harness already in OpenSent on its outbound connection.
    fn establish_after_connect(&mut self, open: &Open) {
        let conn = self.bgp.peer(peer()).unwrap().connection().conn().unwrap();
        self.message(
            conn,
            &Message::Open(open.clone()),
            &DecodeContext::default(),
        );
        self.message(conn, &Message::Keepalive, &DecodeContext::default());
        assert_eq!(self.state(peer()), State::Established);
    }
}

/// Both sides connect at once; the OPENs come in `open_order`.
fn collide(peer_id: [u8; 4], outbound_open_first: bool) -> (Harness, ConnId, ConnId, Acts) {
    let (mut h, _) = default_started();
    let outbound = h.dialing(peer()).unwrap();
    let inbound = ConnId::Inbound(77);
    let mut all = h.event(BgpEvent::Accepted {
        conn: inbound,
        local: sock("192.0.2.1:179"),
        remote: sock("192.0.2.2:41000"),
    });
    assert_eq!(h.state(peer()), State::OpenSent);
    let (conn, actions) = h.connected(peer());
    assert_eq!(conn, outbound);
    all.extend(actions);
    // Each connection got our OPEN.
    let opens: Vec<ConnId> = sent_with(&all, &DecodeContext::default())
        .into_iter()
        .filter(|(_, m)| matches!(m, Message::Open(_)))
        .map(|(c, _)| c)
        .collect();
    assert_eq!(opens, vec![inbound, outbound]);
    let open = Message::Open(peer_open(PEER_AS, 90, peer_id));
    let order = if outbound_open_first {
        [outbound, inbound]
    } else {
        [inbound, outbound]
    };
    for conn in order {
        all.extend(h.message(conn, &open, &DecodeContext::default()));
    }
    (h, outbound, inbound, all)
}

#[test]
fn collision_keeps_the_connection_opened_by_the_higher_identifier() {
    let cease = hex_to_bytes(&notification_hex(6, 7, ""));
    for outbound_first in [false, true] {
        // Ours (10.0.0.1) is higher than 9.0.0.1: our outbound connection stays.
        let (mut h, outbound, inbound, actions) = collide([9, 0, 0, 1], outbound_first);
        let ceases: Vec<ConnId> = sent_bytes(&actions)
            .into_iter()
            .filter(|(_, b)| *b == cease)
            .map(|(c, _)| c)
            .collect();
        assert_eq!(ceases, vec![inbound], "outbound first: {outbound_first}");
        assert!(closes(&actions).contains(&inbound));
        assert_eq!(h.state(peer()), State::OpenConfirm);
        h.message(outbound, &Message::Keepalive, &session_ctx());
        assert_eq!(h.state(peer()), State::Established);
        let p = h.bgp.peer(peer()).unwrap();
        assert_eq!(p.connection().conn(), Some(outbound));
        assert!(p.colliding_connection().is_none());

        // Theirs (192.0.2.2) is higher: the connection they opened stays.
        let (mut h, outbound, inbound, actions) = collide([192, 0, 2, 2], outbound_first);
        let ceases: Vec<ConnId> = sent_bytes(&actions)
            .into_iter()
            .filter(|(_, b)| *b == cease)
            .map(|(c, _)| c)
            .collect();
        assert_eq!(ceases, vec![outbound], "outbound first: {outbound_first}");
        h.message(inbound, &Message::Keepalive, &session_ctx());
        assert_eq!(h.state(peer()), State::Established);
        assert_eq!(
            h.bgp.peer(peer()).unwrap().connection().conn(),
            Some(inbound)
        );
    }
}

#[test]
fn a_second_connection_to_an_established_session_is_closed_unless_graceful_restart() {
    // Without graceful restart: the new connection is tracked until its
    // OPEN, then closed with Cease / Connection Collision Resolution.
    let no_gr = Open::new(
        PEER_AS,
        90,
        [192, 0, 2, 2].into(),
        vec![Capability::FourOctetAs { asn: PEER_AS }],
    );
    let (mut h, _) = default_started();
    let (established, _) = h.establish(peer(), &no_gr);
    learn_one_route(&mut h, established);
    let second = ConnId::Inbound(5);
    let actions = h.event(BgpEvent::Accepted {
        conn: second,
        local: sock("192.0.2.1:179"),
        remote: sock("192.0.2.2:42000"),
    });
    assert!(matches!(sent(&actions)[0], (c, Message::Open(_)) if c == second));
    let actions = h.message(
        second,
        &Message::Open(no_gr.clone()),
        &DecodeContext::default(),
    );
    assert_eq!(
        sent_bytes(&actions),
        vec![(second, hex_to_bytes(&notification_hex(6, 7, "")))]
    );
    assert_eq!(closes(&actions), vec![second]);
    assert!(rib(&actions).is_empty() && transitions(&actions).is_empty());
    assert_eq!(
        h.bgp.peer(peer()).unwrap().connection().conn(),
        Some(established)
    );

    // With graceful restart (RFC 4724 §4.2/§5): the peer restarted; close
    // the old connection without NOTIFICATION, keep its routes stale, and
    // run the new one.
    let (mut h, _) = default_started();
    let (old, _) = h.establish(peer(), &default_open());
    learn_one_route(&mut h, old);
    let new = ConnId::Inbound(6);
    let actions = h.event(BgpEvent::Accepted {
        conn: new,
        local: sock("192.0.2.1:179"),
        remote: sock("192.0.2.2:42001"),
    });
    assert!(notification_bytes(&actions).is_empty());
    assert_eq!(closes(&actions), vec![old]);
    assert!(rib(&actions).is_empty(), "routes are kept");
    assert_eq!(
        transitions(&actions),
        vec![
            (State::Established, State::Connect),
            (State::Connect, State::OpenSent)
        ]
    );
    let p = h.bgp.peer(peer()).unwrap();
    assert_eq!(p.adj_rib_in().stale_count(), 1);
    assert_eq!(p.connection().conn(), Some(new));
}
