//! The BFD engine against a peer played by hand, on a fake clock: the
//! RFC 5880 §6.8.6 transition table, detection, timers and the Poll
//! Sequence (§6.5, §6.8.3), jitter (§6.8.7), roles, authentication (§6.7),
//! GTSM (RFC 5881 §5), demultiplexing (§6.3), and liveness (fast reroute,
//! hold-down, dampening).

mod bfd_support;

use std::net::{IpAddr, Ipv4Addr};

use bfd_support::*;
use dataplane::bfd::auth::{AuthError, AuthSequence, verify};
use dataplane::bfd::{
    AuthConfig, AuthKey, AuthType, BfdCommand, BfdCommandError, BfdEngine, BfdRepr,
    DampeningConfig, Diagnostic, DropReason, Nanos, RxVerdict, SessionKey, SessionParams, State,
};
use dataplane::fib::{Liveness, NextHopId};

fn fast() -> SessionParams {
    params(10_000, 10_000, 3)
}

/// A harness whose session is in `state` (AdminDown via configuration).
fn harness_in(state: State) -> Harness {
    match state {
        State::AdminDown => Harness::new(SessionParams {
            admin_down: true,
            ..fast()
        }),
        State::Down => Harness::new(fast()),
        State::Init => {
            let mut h = Harness::new(fast());
            assert_eq!(h.deliver(&peer_packet(State::Down, 0)), RxVerdict::Accepted);
            assert_eq!(h.state(), State::Init);
            h
        }
        State::Up => {
            let mut h = Harness::new(fast());
            h.bring_up(10_000, 10_000);
            h
        }
    }
}

#[test]
fn first_packet_is_down_with_slow_tx_and_no_your_discriminator() {
    let mut h = Harness::new(fast());
    h.poll();
    let first = h.last_sent().expect("Active role sends at once (§6.1)");
    assert_eq!(first.state, State::Down);
    assert_eq!(first.your_discriminator, 0);
    assert_eq!(first.my_discriminator, h.my_disc());
    assert_ne!(first.my_discriminator, 0);
    assert_eq!(
        first.desired_min_tx_us, 1_000_000,
        "§6.8.3: 1 s while not Up"
    );
    assert_eq!(first.required_min_rx_us, 10_000);
    assert_eq!(first.required_min_echo_rx_us, 0);
    assert!(!first.poll && !first.final_ && !first.demand && first.auth.is_none());
    let (_, tx) = h.sent[0];
    assert_eq!((tx.dst_port, tx.ttl, tx.port), (3784, 255, Some(PORT)));
    assert!((49152..=65535).contains(&tx.src_port));
    assert_eq!((tx.src, tx.dst), (LOCAL, PEER));
    assert!(
        !h.live(),
        "a guarded next hop stays down until Up (RFC 5882 §5)"
    );
}

/// Every row of the §6.8.6 table: (local, received) → (new state, diag).
#[test]
fn transition_table_of_6_8_6() {
    use State::*;
    let nsd = Diagnostic::NeighborSignaledSessionDown;
    let none = Diagnostic::NoDiagnostic;
    let rows: [(State, State, State, Option<Diagnostic>); 12] = [
        (Down, AdminDown, Down, None),
        (Down, Down, Init, Some(none)),
        (Down, Init, Up, Some(none)),
        (Down, Up, Down, None),
        (Init, AdminDown, Down, Some(nsd)),
        (Init, Down, Init, None),
        (Init, Init, Up, Some(none)),
        (Init, Up, Up, Some(none)),
        (Up, AdminDown, Down, Some(nsd)),
        (Up, Down, Down, Some(nsd)),
        (Up, Init, Up, None),
        (Up, Up, Up, None),
    ];
    for (from, received, to, diag) in rows {
        let mut h = harness_in(from);
        let was_live = h.live();
        let events_before = h.events.len();
        let packet = peer_packet(received, h.my_disc());
        assert_eq!(
            h.deliver(&packet),
            RxVerdict::Accepted,
            "{from} + {received}"
        );
        assert_eq!(h.state(), to, "{from} + {received}");
        let new_events = &h.events[events_before..];
        match diag {
            Some(diag) => {
                assert_eq!(new_events.len(), 1, "{from} + {received}");
                assert_eq!(
                    (new_events[0].from, new_events[0].to, new_events[0].diag),
                    (from, to, diag)
                );
                assert_eq!(h.status().local_diag, diag);
            }
            None => assert!(new_events.is_empty(), "{from} + {received}: {new_events:?}"),
        }
        // Liveness follows Up in the same call, before any poll.
        assert_eq!(h.live(), to == Up, "{from} + {received}");
        if from == Up && to != Up {
            assert!(was_live);
            assert!(!new_events[0].guards_live);
        }
        assert_eq!(h.status().remote_state, received);
        assert_eq!(h.status().remote_discriminator, PEER_DISC);
    }
}

#[test]
fn admin_down_session_discards_everything_but_learns_the_peer() {
    for received in [State::AdminDown, State::Down, State::Init, State::Up] {
        let mut h = harness_in(State::AdminDown);
        assert_eq!(
            h.deliver(&peer_packet(received, h.my_disc())),
            RxVerdict::Dropped(DropReason::LocalAdminDown)
        );
        assert_eq!(h.state(), State::AdminDown);
        assert_eq!(h.status().remote_state, received);
        assert!(h.events.is_empty());
    }
}

#[test]
fn changed_contents_go_out_at_once_and_carry_the_peer_discriminator() {
    let mut h = Harness::new(fast());
    h.poll();
    let before = h.sent.len();
    h.now += 5 * MS; // well inside the 1 s interval
    h.deliver(&peer_packet(State::Down, 0));
    assert!(h.engine.next_deadline().unwrap() <= h.now);
    h.poll();
    assert_eq!(h.sent.len(), before + 1, "§6.8.7: SHOULD send on change");
    let init = h.last_sent().unwrap();
    assert_eq!(init.state, State::Init);
    assert_eq!(init.your_discriminator, PEER_DISC);
}

#[test]
fn detection_timeout_goes_down_with_diag_1_at_exactly_the_detection_time() {
    let mut h = harness_in(State::Up);
    let up_at = h.now;
    assert!(h.live());
    // Peer: Detect Mult 3 × max(our 10 ms RX, its 10 ms TX) = 30 ms.
    assert_eq!(h.status().detect_time_us, 30_000);
    h.poll_at(up_at + 30 * MS - 1);
    assert_eq!(h.state(), State::Up);
    assert!(h.live());
    let events = h.events.len();
    h.poll_at(up_at + 30 * MS);
    assert_eq!(h.state(), State::Down);
    assert!(!h.live(), "liveness cleared in the same poll");
    let event = h.events[events];
    assert_eq!(
        (
            event.from,
            event.to,
            event.diag,
            event.at,
            event.guards_live
        ),
        (
            State::Up,
            State::Down,
            Diagnostic::ControlDetectionTimeExpired,
            up_at + 30 * MS,
            false
        )
    );
    let status = h.status();
    assert_eq!(status.remote_discriminator, 0, "§6.8.1: zeroed");
    assert_eq!(status.flaps, 1);
    let down = h.last_sent().unwrap();
    assert_eq!(
        (down.state, down.diag, down.your_discriminator),
        (State::Down, Diagnostic::ControlDetectionTimeExpired, 0)
    );
    assert_eq!(down.desired_min_tx_us, 1_000_000, "back to slow");
}

#[test]
fn init_times_out_too_and_only_accepted_packets_restart_the_timer() {
    let mut h = harness_in(State::Init);
    let t0 = h.now;
    // Peer Down packets advertise 1 s: detection 3 s.
    h.poll_at(t0 + 2 * SEC);
    // A packet failing GTSM does not count as received (§6.8.4).
    assert!(matches!(
        h.deliver_bytes(&encode(&peer_packet(State::Down, h.my_disc())), 254),
        RxVerdict::Dropped(DropReason::Ttl { ttl: 254, min: 255 })
    ));
    h.poll_at(t0 + 3 * SEC);
    assert_eq!(h.state(), State::Down);
    assert_eq!(
        h.status().local_diag,
        Diagnostic::ControlDetectionTimeExpired
    );

    let mut h = harness_in(State::Init);
    h.poll_at(t0 + 2 * SEC);
    assert_eq!(
        h.deliver(&peer_packet(State::Down, h.my_disc())),
        RxVerdict::Accepted
    );
    h.poll_at(t0 + 5 * SEC - 1);
    assert_eq!(h.state(), State::Init);
    h.poll_at(t0 + 5 * SEC);
    assert_eq!(h.state(), State::Down);
}

#[test]
fn admin_down_then_up_again() {
    let mut h = harness_in(State::Up);
    let key = h.key;
    let events = h.events.len();
    h.engine
        .apply(
            BfdCommand::Modify {
                key,
                params: SessionParams {
                    admin_down: true,
                    ..fast()
                },
            },
            h.now,
            &h.liveness,
        )
        .unwrap();
    assert!(!h.live(), "cleared inside apply");
    assert_eq!(h.status().flaps, 0, "an operator's AdminDown is no flap");
    assert_eq!(h.state(), State::AdminDown);
    h.drain();
    let event = h.events[events];
    assert_eq!(
        (event.from, event.to, event.diag),
        (
            State::Up,
            State::AdminDown,
            Diagnostic::AdministrativelyDown
        )
    );
    h.poll();
    let sent = h.last_sent().unwrap();
    assert_eq!(
        (sent.state, sent.diag),
        (State::AdminDown, Diagnostic::AdministrativelyDown)
    );
    // §6.8.16: keeps telling the peer.
    let count = h.sent.len();
    h.run_until(h.now + 3 * SEC);
    assert!(h.sent.len() > count);

    h.engine
        .apply(
            BfdCommand::Modify {
                key,
                params: fast(),
            },
            h.now,
            &h.liveness,
        )
        .unwrap();
    assert_eq!(h.state(), State::Down);
    h.bring_up(10_000, 10_000);
    assert!(h.live());
}

#[test]
fn a_poll_is_answered_at_once_with_final_and_p_clear() {
    let mut h = harness_in(State::Up);
    assert!(
        h.status().poll_in_progress,
        "entering Up changed TX 1 s → 10 ms"
    );
    h.poll();
    assert!(h.last_sent().unwrap().poll);
    h.now += 2 * MS;
    let mut poll = h.peer(State::Up, 10_000, 10_000);
    poll.poll = true;
    let sent = h.sent.len();
    assert_eq!(h.deliver(&poll), RxVerdict::Accepted);
    assert!(h.engine.next_deadline().unwrap() <= h.now, "due now");
    h.poll();
    assert_eq!(h.sent.len(), sent + 1);
    let reply = h.last_sent().unwrap();
    assert!(reply.final_ && !reply.poll, "§6.5: never both");
    assert_eq!(h.sent.last().unwrap().0, h.now);
    // Our own poll goes on in the periodic packets.
    h.run_until(h.now + 10 * MS);
    assert!(h.last_sent().unwrap().poll);
}

/// Feeds the peer's packets every `every` while the engine runs to `until`,
/// keeping the session alive.
fn run_with_peer(h: &mut Harness, until: Nanos, every: Nanos, packet: &BfdRepr) {
    let mut next_peer = h.now + every;
    loop {
        let next_engine = h.engine.next_deadline().unwrap_or(Nanos::MAX);
        let next = next_engine.min(next_peer);
        if next > until {
            break;
        }
        if next_peer <= next_engine {
            h.now = next_peer;
            assert_eq!(h.deliver(packet), RxVerdict::Accepted);
            next_peer += every;
        } else {
            h.poll_at(next_engine);
        }
    }
    h.poll_at(until);
}

/// [`run_with_peer`] for `duration` from now.
fn run_with_peer_for(h: &mut Harness, duration: Nanos, every: Nanos, packet: &BfdRepr) {
    let until = h.now + duration;
    run_with_peer(h, until, every, packet);
}

fn gaps(sent: &[(Nanos, dataplane::bfd::BfdTx)]) -> Vec<Nanos> {
    sent.windows(2).map(|w| w[1].0 - w[0].0).collect()
}

fn modify(h: &mut Harness, params: SessionParams) {
    let key = h.key;
    h.engine
        .apply(BfdCommand::Modify { key, params }, h.now, &h.liveness)
        .unwrap();
}

#[test]
fn tx_increase_while_up_polls_and_switches_only_after_final() {
    let mut h = harness_in(State::Up);
    assert_eq!(
        h.deliver(&h.peer_final(10_000, 10_000)),
        RxVerdict::Accepted
    );
    assert!(!h.status().poll_in_progress);
    h.run_until(h.now); // flush the Up packet
    let peer = h.peer(State::Up, 10_000, 10_000);

    modify(&mut h, params(50_000, 10_000, 3));
    assert!(h.status().poll_in_progress);
    let start = h.sent.len();
    run_with_peer_for(&mut h, 100 * MS, 5 * MS, &peer);
    let polling = &h.sent[start..];
    assert!(polling.len() >= 10, "{}", polling.len());
    for (_, tx) in polling {
        let repr = decode(tx);
        assert!(repr.poll, "P on every periodic packet until Final");
        assert_eq!(
            repr.desired_min_tx_us, 50_000,
            "new value advertised at once"
        );
    }
    assert!(
        gaps(polling)
            .iter()
            .all(|&g| (7_500_000..=10 * MS).contains(&g)),
        "old 10 ms interval kept until Final (§6.8.3): {:?}",
        gaps(polling)
    );
    assert_eq!(h.status().negotiated_tx_us, 10_000);

    assert_eq!(
        h.deliver(&h.peer_final(10_000, 10_000)),
        RxVerdict::Accepted
    );
    assert!(!h.status().poll_in_progress);
    assert_eq!(h.status().negotiated_tx_us, 50_000);
    let after = h.sent.len();
    run_with_peer_for(&mut h, 500 * MS, 5 * MS, &peer);
    let slow = &h.sent[after - 1..];
    assert!(slow.len() >= 9);
    assert!(slow[1..].iter().all(|(_, tx)| !decode(tx).poll));
    assert!(
        gaps(slow)
            .iter()
            .all(|&g| (37_500_000..=50 * MS).contains(&g)),
        "{:?}",
        gaps(slow)
    );
    assert_eq!(h.state(), State::Up);
    assert_eq!(h.status().flaps, 0, "no flap");
    assert!(h.live());
}

#[test]
fn rx_decrease_while_up_keeps_the_old_detection_time_until_final() {
    let mut h = Harness::new(params(10_000, 100_000, 3));
    h.bring_up(10_000, 10_000);
    assert_eq!(
        h.deliver(&h.peer_final(10_000, 10_000)),
        RxVerdict::Accepted
    );
    assert_eq!(h.status().detect_time_us, 300_000);

    modify(&mut h, params(10_000, 20_000, 3));
    assert!(h.status().poll_in_progress);
    h.poll();
    let sent = h.last_sent().unwrap();
    assert!(sent.poll);
    assert_eq!(sent.required_min_rx_us, 20_000);
    assert_eq!(
        h.status().detect_time_us,
        300_000,
        "§6.8.3: old RX until Final"
    );
    // Silence of 200 ms is still within the old detection time.
    let t = h.now;
    h.poll_at(t + 200 * MS);
    assert_eq!(h.state(), State::Up);

    assert_eq!(
        h.deliver(&h.peer_final(10_000, 10_000)),
        RxVerdict::Accepted
    );
    assert_eq!(h.status().detect_time_us, 60_000);
    let t = h.now;
    h.poll_at(t + 60 * MS);
    assert_eq!(
        h.state(),
        State::Down,
        "new, shorter detection time in force"
    );
}

#[test]
fn rx_increase_and_tx_decrease_take_effect_at_once_but_still_poll() {
    let mut h = Harness::new(params(50_000, 20_000, 3));
    h.bring_up(10_000, 10_000);
    assert_eq!(
        h.deliver(&h.peer_final(10_000, 10_000)),
        RxVerdict::Accepted
    );
    assert_eq!(h.status().negotiated_tx_us, 50_000);
    modify(&mut h, params(10_000, 80_000, 3));
    let status = h.status();
    assert!(status.poll_in_progress, "§6.8.3: any change polls");
    assert_eq!(status.negotiated_tx_us, 10_000);
    assert_eq!(status.detect_time_us, 240_000);
}

#[test]
fn negotiated_intervals_both_ways() {
    let mut h = Harness::new(params(10_000, 20_000, 3));
    let mut down = peer_packet(State::Down, 0);
    down.detect_mult = 4;
    h.deliver(&down);
    let mut up = h.peer(State::Up, 30_000, 5_000);
    up.detect_mult = 4;
    up.final_ = true;
    h.deliver(&up);
    let status = h.status();
    assert_eq!(status.state, State::Up);
    assert_eq!(
        status.negotiated_tx_us, 10_000,
        "max(our 10 ms TX, its 5 ms RX)"
    );
    assert_eq!(
        status.negotiated_rx_us, 30_000,
        "max(our 20 ms RX, its 30 ms TX)"
    );
    assert_eq!(status.detect_time_us, 120_000, "its multiplier 4 × 30 ms");

    // The peer slows us down…
    h.run_until(h.now + 20 * MS);
    up.final_ = false;
    up.required_min_rx_us = 50_000;
    h.deliver(&up);
    assert_eq!(h.status().negotiated_tx_us, 50_000);
    // …and speeds us up again, honoured from the last transmission
    // (§6.8.3), not after the 50 ms interval.
    let last_tx = h.sent.last().unwrap().0;
    up.required_min_rx_us = 5_000;
    h.now = last_tx + 15 * MS;
    h.deliver(&up);
    let count = h.sent.len();
    h.poll();
    assert_eq!(
        h.sent.len(),
        count + 1,
        "new interval already passed: send now"
    );
}

fn jitter_run(mult: u8) -> (Nanos, Nanos) {
    // Down, no peer: the interval is the 1 s slow rate.
    let mut h = Harness::new(params(10_000, 10_000, mult));
    h.run_until(h.now + 10_002 * SEC);
    assert!(h.sent.len() > 10_000, "{}", h.sent.len());
    let gaps = gaps(&h.sent);
    (*gaps.iter().min().unwrap(), *gaps.iter().max().unwrap())
}

#[test]
fn jitter_stays_within_75_to_100_percent() {
    let (min, max) = jitter_run(3);
    assert!(min >= 750 * MS && max <= SEC, "{min} {max}");
    // And it really is jittered across the whole band.
    assert!(min < 760 * MS && max > 990 * MS, "{min} {max}");
}

#[test]
fn jitter_with_detect_mult_1_stays_within_75_to_90_percent() {
    // §6.8.7: "no more than 90% … no less than 75%".
    let (min, max) = jitter_run(1);
    assert!(min >= 750 * MS && max <= 900 * MS, "{min} {max}");
    assert!(min < 760 * MS && max > 890 * MS, "{min} {max}");
}

#[test]
fn required_min_rx_zero_stops_periodic_tx_but_finals_still_go() {
    let mut h = harness_in(State::Up);
    h.run_until(h.now);
    let quiet = h.peer(State::Up, 10_000, 0);
    h.deliver(&quiet);
    let count = h.sent.len();
    run_with_peer_for(&mut h, SEC, 10 * MS, &quiet);
    assert_eq!(h.sent.len(), count, "§6.8.7: MUST NOT send periodically");
    assert_eq!(h.state(), State::Up);
    let mut poll = quiet.clone();
    poll.poll = true;
    h.deliver(&poll);
    h.poll();
    assert_eq!(h.sent.len(), count + 1);
    assert!(h.last_sent().unwrap().final_);
}

#[test]
fn passive_role_waits_for_the_peer_and_falls_silent_when_it_goes() {
    let mut h = Harness::new(SessionParams {
        passive: true,
        ..fast()
    });
    h.run_until(h.now + 5 * SEC);
    assert!(h.sent.is_empty(), "§6.1: Passive sends nothing first");
    h.deliver(&peer_packet(State::Down, 0));
    h.poll();
    let reply = h.last_sent().expect("answers once the peer is known");
    assert_eq!(
        (reply.state, reply.your_discriminator),
        (State::Init, PEER_DISC)
    );
    // Peer silent: after detection the remote discriminator is forgotten
    // and a Passive session stops again.
    h.run_until(h.now + 4 * SEC);
    assert_eq!(h.state(), State::Down);
    let count = h.sent.len();
    h.run_until(h.now + 5 * SEC);
    assert_eq!(h.sent.len(), count);
}

#[test]
fn peer_demand_mode_stops_our_periodic_packets_only_while_both_up() {
    let mut h = harness_in(State::Up);
    assert_eq!(
        h.deliver(&h.peer_final(10_000, 10_000)),
        RxVerdict::Accepted
    );
    h.run_until(h.now);
    let mut demand = h.peer(State::Up, 10_000, 10_000);
    demand.demand = true;
    h.deliver(&demand);
    let count = h.sent.len();
    run_with_peer_for(&mut h, 200 * MS, 10 * MS, &demand);
    assert_eq!(h.sent.len(), count);
    let plain = h.peer(State::Up, 10_000, 10_000);
    h.deliver(&plain);
    run_with_peer_for(&mut h, 100 * MS, 10 * MS, &plain);
    assert!(h.sent.len() >= count + 9);
    assert!(h.sent[count..].iter().all(|(_, tx)| !decode(tx).demand));
}

// --- Authentication (§6.7) ---------------------------------------------

const ALL_AUTH: [AuthType; 5] = [
    AuthType::SimplePassword,
    AuthType::KeyedMd5,
    AuthType::MeticulousKeyedMd5,
    AuthType::KeyedSha1,
    AuthType::MeticulousKeyedSha1,
];

fn auth_config(auth_type: AuthType, key_id: u8, secret: &[u8]) -> AuthConfig {
    AuthConfig::single(auth_type, AuthKey::new(key_id, secret).unwrap())
}

fn signed(repr: &BfdRepr, config: &AuthConfig, seq: u32) -> Vec<u8> {
    let mut repr = repr.clone();
    repr.auth = config.tx_section(seq);
    encode(&repr)
}

fn auth_harness(auth_type: AuthType) -> (Harness, AuthConfig) {
    let config = auth_config(auth_type, 3, b"s3cret");
    let h = Harness::new(SessionParams {
        auth: Some(config.clone()),
        ..fast()
    });
    (h, config)
}

#[test]
fn authenticated_sessions_come_up_and_sign_what_they_send() {
    for auth_type in ALL_AUTH {
        let (mut h, config) = auth_harness(auth_type);
        let down = peer_packet(State::Down, 0);
        assert_eq!(
            h.deliver_bytes(&signed(&down, &config, 100), 255),
            RxVerdict::Accepted,
            "{auth_type}"
        );
        let up = h.peer(State::Up, 10_000, 10_000);
        assert_eq!(
            h.deliver_bytes(&signed(&up, &config, 101), 255),
            RxVerdict::Accepted
        );
        assert_eq!(h.state(), State::Up, "{auth_type}");
        h.run_until(h.now + 30 * MS);
        let mut seqs = Vec::new();
        for (_, tx) in &h.sent {
            let repr = decode(tx);
            let section = repr
                .auth
                .clone()
                .expect("A bit and section on every packet");
            assert_eq!(section.auth_type(), auth_type);
            // The peer (same config) accepts every packet we sent, in order.
            let mut peer_seq = AuthSequence::new(0);
            assert_eq!(
                verify(
                    &config,
                    &mut peer_seq,
                    tx.packet(),
                    &section,
                    repr.detect_mult
                ),
                Ok(()),
                "{auth_type}"
            );
            seqs.push(peer_seq.rcv);
        }
        if auth_type != AuthType::SimplePassword {
            assert!(
                seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
                "+1 per packet: {seqs:?}"
            );
        }
    }
}

#[test]
fn wrong_secret_wrong_key_id_and_missing_auth_are_refused() {
    for auth_type in ALL_AUTH {
        let (mut h, _) = auth_harness(auth_type);
        let down = peer_packet(State::Down, 0);
        let wrong_secret = auth_config(auth_type, 3, b"other");
        let expected = if auth_type == AuthType::SimplePassword {
            AuthError::BadPassword
        } else {
            AuthError::BadDigest
        };
        assert_eq!(
            h.deliver_bytes(&signed(&down, &wrong_secret, 1), 255),
            RxVerdict::Dropped(DropReason::Auth(expected)),
            "{auth_type}"
        );
        let wrong_id = auth_config(auth_type, 4, b"s3cret");
        assert_eq!(
            h.deliver_bytes(&signed(&down, &wrong_id, 1), 255),
            RxVerdict::Dropped(DropReason::Auth(AuthError::UnknownKeyId(4)))
        );
        assert_eq!(
            h.deliver(&down),
            RxVerdict::Dropped(DropReason::Auth(AuthError::MissingAuth))
        );
        let other_type = if auth_type == AuthType::KeyedSha1 {
            AuthType::KeyedMd5
        } else {
            AuthType::KeyedSha1
        };
        assert!(matches!(
            h.deliver_bytes(
                &signed(&down, &auth_config(other_type, 3, b"s3cret"), 1),
                255
            ),
            RxVerdict::Dropped(DropReason::Auth(AuthError::WrongType { .. }))
        ));
        let status = h.status();
        assert_eq!(status.state, State::Down, "nothing got through");
        assert_eq!(status.counters.auth_failures, 4);
        assert_eq!(status.counters.dropped, 4);
        assert_eq!(status.counters.rx, 0);
    }
    // And the converse: authentication on a session without it.
    let mut h = Harness::new(fast());
    let config = auth_config(AuthType::KeyedSha1, 1, b"k");
    assert_eq!(
        h.deliver_bytes(&signed(&peer_packet(State::Down, 0), &config, 1), 255),
        RxVerdict::Dropped(DropReason::Auth(AuthError::UnexpectedAuth))
    );
}

#[test]
fn every_configured_key_id_is_accepted_and_the_tx_key_signs() {
    // Key rollover: both keys accepted, the new one used to send.
    let config = AuthConfig {
        auth_type: AuthType::MeticulousKeyedSha1,
        keys: vec![
            AuthKey::new(1, b"old-key").unwrap(),
            AuthKey::new(2, b"new-key").unwrap(),
        ],
        tx_key_id: 2,
    };
    let mut h = Harness::new(SessionParams {
        auth: Some(config),
        ..fast()
    });
    let old = auth_config(AuthType::MeticulousKeyedSha1, 1, b"old-key");
    let new = auth_config(AuthType::MeticulousKeyedSha1, 2, b"new-key");
    let down = peer_packet(State::Down, 0);
    assert_eq!(
        h.deliver_bytes(&signed(&down, &old, 10), 255),
        RxVerdict::Accepted
    );
    assert_eq!(
        h.deliver_bytes(&signed(&down, &new, 11), 255),
        RxVerdict::Accepted
    );
    h.poll();
    let sent = h.last_sent().unwrap().auth.unwrap();
    assert_eq!(sent.key_id(), 2);
}

#[test]
fn sequence_numbers_refuse_replays() {
    for auth_type in ALL_AUTH.into_iter().skip(1) {
        let meticulous = auth_type.is_meticulous();
        let (mut h, config) = auth_harness(auth_type);
        let down = peer_packet(State::Down, 0);
        let first = signed(&down, &config, 1000);
        assert_eq!(h.deliver_bytes(&first, 255), RxVerdict::Accepted);
        // The very same packet again: keyed accepts an equal number,
        // meticulous wants it strictly greater.
        let replay = h.deliver_bytes(&first, 255);
        if meticulous {
            assert_eq!(
                replay,
                RxVerdict::Dropped(DropReason::Auth(AuthError::SequenceOutOfWindow {
                    last: 1000,
                    got: 1000
                })),
                "{auth_type}"
            );
        } else {
            assert_eq!(replay, RxVerdict::Accepted, "{auth_type}");
        }
        // Older is always refused.
        assert!(matches!(
            h.deliver_bytes(&signed(&down, &config, 999), 255),
            RxVerdict::Dropped(DropReason::Auth(AuthError::SequenceOutOfWindow { .. }))
        ));
        // Window: up to 3 × Detect Mult (3) ahead.
        assert!(matches!(
            h.deliver_bytes(&signed(&down, &config, 1010), 255),
            RxVerdict::Dropped(DropReason::Auth(AuthError::SequenceOutOfWindow { .. }))
        ));
        assert_eq!(
            h.deliver_bytes(&signed(&down, &config, 1009), 255),
            RxVerdict::Accepted
        );
        // After two detection times of silence the number is relearnt
        // (§6.8.1), e.g. from a restarted peer.
        h.poll_at(h.now + 6 * SEC);
        assert_eq!(
            h.deliver_bytes(&signed(&down, &config, 5), 255),
            RxVerdict::Accepted,
            "{auth_type}"
        );
    }
}

// --- GTSM and demultiplexing ------------------------------------------

#[test]
fn single_hop_requires_ttl_255() {
    let mut h = Harness::new(fast());
    let bytes = encode(&peer_packet(State::Down, 0));
    for ttl in [0, 1, 64, 254] {
        assert_eq!(
            h.deliver_bytes(&bytes, ttl),
            RxVerdict::Dropped(DropReason::Ttl { ttl, min: 255 })
        );
    }
    let status = h.status();
    assert_eq!(
        (
            status.counters.ttl_failures,
            status.counters.dropped,
            status.state
        ),
        (4, 4, State::Down)
    );
    assert_eq!(h.deliver_bytes(&bytes, 255), RxVerdict::Accepted);
}

#[test]
fn multihop_requires_the_configured_minimum_ttl_and_demuxes_by_address_pair() {
    let key = SessionKey::multihop(LOCAL, PEER);
    let mut h = Harness::with_key(key, fast(), vec![GUARD]);
    h.poll();
    let (_, tx) = h.sent[0];
    assert_eq!((tx.dst_port, tx.ttl, tx.port), (4784, 255, None));
    let bytes = encode(&peer_packet(State::Down, 0));
    assert!(matches!(
        h.deliver_bytes(&bytes, 253),
        RxVerdict::Dropped(DropReason::Ttl { ttl: 253, min: 254 })
    ));
    assert_eq!(h.deliver_bytes(&bytes, 254), RxVerdict::Accepted);

    let mut h = Harness::with_key(
        key,
        SessionParams {
            minimum_ttl: 250,
            ..fast()
        },
        vec![],
    );
    assert_eq!(h.deliver_bytes(&bytes, 250), RxVerdict::Accepted);
    // A multihop packet from the same peer to another local address is
    // another session's.
    let verdict = h.engine.receive(
        h.now,
        PORT,
        PEER,
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99)),
        255,
        50_000,
        4784,
        &bytes,
        &h.liveness,
    );
    assert_eq!(verdict, RxVerdict::Dropped(DropReason::NoSession));
}

#[test]
fn single_hop_demux_by_port_and_source_then_by_discriminator() {
    let mut h = Harness::new(fast());
    let zero = encode(&peer_packet(State::Down, 0));
    let receive = |h: &mut Harness, port, src, dst_port, bytes: &[u8]| {
        h.engine.receive(
            h.now,
            port,
            src,
            LOCAL,
            255,
            50_000,
            dst_port,
            bytes,
            &h.liveness,
        )
    };
    let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 77));
    assert_eq!(
        receive(&mut h, PORT + 1, PEER, 3784, &zero),
        RxVerdict::Dropped(DropReason::NoSession)
    );
    assert_eq!(
        receive(&mut h, PORT, other, 3784, &zero),
        RxVerdict::Dropped(DropReason::NoSession)
    );
    assert_eq!(
        receive(&mut h, PORT, PEER, 3785, &zero),
        RxVerdict::Dropped(DropReason::NotBfdPort(3785))
    );
    assert_eq!(
        receive(&mut h, PORT, PEER, 4784, &zero),
        RxVerdict::Dropped(DropReason::NoSession)
    );
    // Once Your Discriminator is set it alone selects the session (§6.3):
    // another source or port still reaches it.
    let by_disc = encode(&peer_packet(State::Down, h.my_disc()));
    assert_eq!(
        receive(&mut h, PORT + 1, other, 3784, &by_disc),
        RxVerdict::Accepted
    );
    assert_eq!(
        receive(&mut h, PORT, PEER, 4784, &by_disc),
        RxVerdict::Dropped(DropReason::WrongEncapsulation)
    );
    assert_eq!(
        receive(
            &mut h,
            PORT,
            PEER,
            3784,
            &encode(&peer_packet(State::Down, 12345))
        ),
        RxVerdict::Dropped(DropReason::NoSession)
    );
    assert!(matches!(
        receive(&mut h, PORT, PEER, 3784, &[0x20, 0x40]),
        RxVerdict::Dropped(DropReason::Malformed(_))
    ));
    let counters = h.engine.counters();
    assert_eq!(
        (
            counters.no_session,
            counters.not_bfd_port,
            counters.malformed
        ),
        (4, 1, 1)
    );
}

// --- The session table -------------------------------------------------

fn peer_n(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 1, 0, n))
}

#[test]
fn discriminators_and_source_ports_are_unique_and_in_range() {
    let liveness = Liveness::new(8);
    let mut engine = BfdEngine::new(9, 300);
    for n in 0..250u8 {
        let key = SessionKey::single_hop(u16::from(n % 4), LOCAL, peer_n(n));
        engine
            .apply(
                BfdCommand::Add {
                    key,
                    params: fast(),
                    guards: vec![],
                },
                0,
                &liveness,
            )
            .unwrap();
    }
    let sessions: Vec<_> = engine.sessions().collect();
    let mut discs: Vec<u32> = sessions.iter().map(|s| s.local_discriminator).collect();
    let mut ports: Vec<u16> = sessions.iter().map(|s| s.src_port).collect();
    assert!(discs.iter().all(|&d| d != 0));
    assert!(ports.iter().all(|p| (49152..=65535).contains(p)));
    discs.sort_unstable();
    discs.dedup();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!((discs.len(), ports.len()), (250, 250));
}

#[test]
fn commands_refuse_bad_input_with_the_reason() {
    let liveness = Liveness::new(8);
    let mut engine = BfdEngine::new(1, 2);
    let add = |key, params| BfdCommand::Add {
        key,
        params,
        guards: vec![],
    };
    let key = SessionKey::single_hop(1, LOCAL, PEER);
    assert_eq!(
        engine.apply(add(key, params(999, 1_000, 3)), 0, &liveness),
        Err(BfdCommandError::InvalidParams {
            key,
            error: dataplane::bfd::session::SessionParamsError::TxIntervalTooShort(999)
        })
    );
    // 1 ms is the floor and is accepted.
    assert_eq!(
        engine.apply(add(key, params(1_000, 1_000, 1)), 0, &liveness),
        Ok(())
    );
    assert_eq!(
        engine.apply(add(key, fast()), 0, &liveness),
        Err(BfdCommandError::Exists(key))
    );
    let same_demux = SessionKey::single_hop(1, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3)), PEER);
    assert_eq!(
        engine.apply(add(same_demux, fast()), 0, &liveness),
        Err(BfdCommandError::DemuxConflict {
            key: same_demux,
            existing: key
        })
    );
    let no_port = SessionKey {
        port: None,
        ..SessionKey::single_hop(1, LOCAL, peer_n(1))
    };
    assert_eq!(
        engine.apply(add(no_port, fast()), 0, &liveness),
        Err(BfdCommandError::SingleHopWithoutPort(no_port))
    );
    engine
        .apply(add(SessionKey::multihop(LOCAL, PEER), fast()), 0, &liveness)
        .unwrap();
    let third = SessionKey::multihop(LOCAL, peer_n(3));
    assert_eq!(
        engine.apply(add(third, fast()), 0, &liveness),
        Err(BfdCommandError::TableFull { max_sessions: 2 })
    );
    let message = engine
        .apply(add(third, params(10_000, 500, 3)), 0, &liveness)
        .unwrap_err()
        .to_string();
    assert!(message.contains("required-min-rx 500"), "{message}");
    assert_eq!(
        engine.apply(BfdCommand::Remove { key: third }, 0, &liveness),
        Err(BfdCommandError::NoSuchSession(third))
    );
    engine
        .apply(BfdCommand::Remove { key }, 0, &liveness)
        .unwrap();
    assert_eq!(engine.len(), 1);
    engine.apply(add(third, fast()), 0, &liveness).unwrap();
}

// --- Liveness ----------------------------------------------------------

#[test]
fn adding_a_guard_takes_its_next_hop_down_until_up() {
    let liveness = Liveness::new(16);
    liveness.set(NextHopId(3), true);
    let mut engine = BfdEngine::new(1, 4);
    engine
        .apply(
            BfdCommand::Add {
                key: key(),
                params: fast(),
                guards: vec![NextHopId(3)],
            },
            0,
            &liveness,
        )
        .unwrap();
    assert!(!liveness.is_live(NextHopId(3)));
}

#[test]
fn hold_down_delays_liveness_after_up() {
    let mut h = Harness::new(SessionParams {
        hold_down_ns: 500 * MS,
        ..params(1_000_000, 1_000_000, 3)
    });
    h.bring_up(1_000_000, 1_000_000);
    let up_at = h.now;
    assert!(!h.live());
    let up_event = h.events.last().unwrap();
    assert_eq!((up_event.to, up_event.guards_live), (State::Up, false));
    h.poll_at(up_at + 500 * MS - 1);
    assert!(!h.live());
    h.poll_at(up_at + 500 * MS);
    assert!(h.live());
    let release = h.events.last().unwrap();
    assert_eq!(
        (release.from, release.to, release.guards_live, release.at),
        (State::Up, State::Up, true, up_at + 500 * MS)
    );
    // Down during hold-down cancels the release.
    let mut h = Harness::new(SessionParams {
        hold_down_ns: 500 * MS,
        ..params(1_000_000, 1_000_000, 3)
    });
    h.bring_up(1_000_000, 1_000_000);
    h.now += 100 * MS;
    h.deliver(&h.peer(State::Down, 1_000_000, 1_000_000));
    h.poll_at(h.now + SEC);
    assert!(!h.live());
}

#[test]
fn a_next_hop_guarded_twice_is_live_only_while_both_sessions_are() {
    let shared = NextHopId(5);
    let liveness = Liveness::new(16);
    let mut engine = BfdEngine::new(5, 4);
    let keys = [
        SessionKey::single_hop(PORT, LOCAL, peer_n(1)),
        SessionKey::single_hop(PORT, LOCAL, peer_n(2)),
    ];
    for (i, key) in keys.iter().enumerate() {
        let guards = vec![shared, NextHopId(10 + i as u32)];
        engine
            .apply(
                BfdCommand::Add {
                    key: *key,
                    params: fast(),
                    guards,
                },
                0,
                &liveness,
            )
            .unwrap();
    }
    let send = |engine: &mut BfdEngine, n: u8, state: State, your: u32| {
        let mut repr = peer_packet(state, your);
        repr.my_discriminator = 100 + u32::from(n);
        engine.receive(
            0,
            PORT,
            peer_n(n),
            LOCAL,
            255,
            50_000,
            3784,
            &encode(&repr),
            &liveness,
        )
    };
    let disc = |engine: &BfdEngine, i: usize| engine.session(&keys[i]).unwrap().local_discriminator;
    send(&mut engine, 1, State::Down, 0);
    let d0 = disc(&engine, 0);
    send(&mut engine, 1, State::Up, d0);
    assert!(liveness.is_live(NextHopId(10)));
    assert!(!liveness.is_live(shared), "second guard still down");
    send(&mut engine, 2, State::Down, 0);
    let d1 = disc(&engine, 1);
    send(&mut engine, 2, State::Up, d1);
    assert!(liveness.is_live(shared));
    send(&mut engine, 2, State::Down, d1);
    assert!(!liveness.is_live(shared) && !liveness.is_live(NextHopId(11)));
    assert!(liveness.is_live(NextHopId(10)));
    // Removing the down guard leaves the other, Up one in charge.
    engine
        .apply(BfdCommand::Remove { key: keys[1] }, 0, &liveness)
        .unwrap();
    assert!(liveness.is_live(shared));
    // SetGuards moves a released session's liveness to the new next hop.
    engine
        .apply(
            BfdCommand::SetGuards {
                key: keys[0],
                guards: vec![NextHopId(12)],
            },
            0,
            &liveness,
        )
        .unwrap();
    assert!(liveness.is_live(NextHopId(12)));
    send(&mut engine, 1, State::Down, d0);
    assert!(!liveness.is_live(NextHopId(12)));
    assert!(
        liveness.is_live(shared),
        "unguarded next hops are the control plane's"
    );
}

#[test]
fn dampening_holds_a_flapping_session_back_until_the_penalty_decays() {
    let dampening = DampeningConfig {
        half_life_ns: 10 * SEC,
        penalty_per_flap: 1000,
        suppress_threshold: 2000,
        reuse_threshold: 500,
        max_suppress_ns: 60 * SEC,
    };
    let mut h = Harness::new(SessionParams {
        dampening: Some(dampening),
        ..params(1_000_000, 1_000_000, 3)
    });
    // First flap: penalty 1000, not suppressed; Up is live at once.
    h.bring_up(1_000_000, 1_000_000);
    assert!(h.live());
    h.deliver(&h.peer(State::Down, 1_000_000, 1_000_000));
    assert!(!h.live());
    h.bring_up(1_000_000, 1_000_000);
    assert!(h.live(), "one flap is not enough");
    // Second flap at the same instant: 2000, suppressed.
    h.deliver(&h.peer(State::Down, 1_000_000, 1_000_000));
    let flap_at = h.now;
    h.bring_up(1_000_000, 1_000_000);
    assert!(!h.live(), "suppressed");
    let status = h.status();
    assert!(status.dampened);
    assert_eq!(status.penalty, 2000);
    assert!(!h.events.last().unwrap().guards_live);
    // 2000 → 500 takes two half-lives; keep the session Up meanwhile.
    let up = h.peer(State::Up, 1_000_000, 1_000_000);
    run_with_peer(&mut h, flap_at + 19 * SEC, SEC, &up);
    assert!(!h.live());
    run_with_peer(&mut h, flap_at + 21 * SEC, SEC, &up);
    assert!(h.live(), "reused after the penalty decayed");
    assert!(!h.status().dampened);
    let release = h.events.last().unwrap();
    assert_eq!(
        (release.from, release.to, release.guards_live),
        (State::Up, State::Up, true)
    );
    assert!(
        release.at.abs_diff(flap_at + 20 * SEC) <= 10,
        "{}",
        release.at
    );
}
