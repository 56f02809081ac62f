//! Two BFD engines wired back to back on a fake clock: they bring the
//! session up by themselves, negotiate, keep it up, and detect a cut at
//! exactly the detection time.

mod bfd_support;

use bfd_support::*;
use dataplane::bfd::{AuthConfig, AuthKey, AuthType, BfdCommand, Diagnostic, SessionParams, State};

fn fast() -> SessionParams {
    params(10_000, 10_000, 3)
}

fn both_up(link: &BackToBack) -> bool {
    link.state_a() == State::Up && link.state_b() == State::Up
}

#[test]
fn two_engines_come_up_within_three_intervals_and_stay_up() {
    let mut link = BackToBack::new(fast(), fast());
    let start = link.now;
    // Until Up, both send at the 1 s slow rate (§6.8.3).
    assert!(link.run_until(start + 3 * SEC, both_up), "not Up after 3 s");
    assert!(link.live_a.is_live(GUARD) && link.live_b.is_live(GUARD));
    let up_at = link.now;

    // Then the fast timers take over through a Poll Sequence, with no flap.
    link.run_until(up_at + 10 * SEC, |_| false);
    assert!(both_up(&link));
    for status in [
        link.a.session(&link.key_a).unwrap(),
        link.b.session(&link.key_b).unwrap(),
    ] {
        assert_eq!(status.flaps, 0);
        assert!(!status.poll_in_progress);
        assert_eq!(status.negotiated_tx_us, 10_000);
        assert_eq!(status.detect_time_us, 30_000);
        // ~10 s at 7.5–10 ms: between 1000 and 1334 packets.
        assert!(
            (1_000..=1_400).contains(&status.counters.tx),
            "{}",
            status.counters.tx
        );
        assert_eq!(status.counters.dropped, 0);
    }
    for events in [&link.events_a, &link.events_b] {
        assert!(events.iter().all(|e| e.to != State::Down));
        assert_eq!(events.last().unwrap().to, State::Up);
    }
}

#[test]
fn a_silent_peer_is_declared_down_at_exactly_the_detection_time() {
    let mut link = BackToBack::new(fast(), fast());
    let start = link.now;
    assert!(link.run_until(start + 3 * SEC, both_up));
    link.run_until(link.now + SEC, |_| false);

    // B stops sending (one-way failure).
    link.b_to_a_cut = true;
    let cut_at = link.now;
    assert!(link.run_until(cut_at + SEC, |l| l.state_a() == State::Down));
    let down = link
        .events_a
        .iter()
        .find(|e| e.to == State::Down)
        .copied()
        .unwrap();
    assert_eq!(down.diag, Diagnostic::ControlDetectionTimeExpired);
    assert_eq!(
        down.at,
        link.last_rx_a + 30 * MS,
        "3 × 10 ms after the last packet"
    );
    assert!(!link.live_a.is_live(GUARD));

    // A's Down reaches B, which follows with "neighbor signaled down".
    assert!(link.run_until(link.now + SEC, |l| l.state_b() == State::Down));
    let b_down = link.events_b.iter().find(|e| e.to == State::Down).unwrap();
    assert_eq!(b_down.diag, Diagnostic::NeighborSignaledSessionDown);
    assert!(!link.live_b.is_live(GUARD));

    // Repaired: the three-way handshake runs again.
    link.b_to_a_cut = false;
    let repaired = link.now;
    assert!(link.run_until(repaired + 3 * SEC, both_up));
    assert!(link.live_a.is_live(GUARD) && link.live_b.is_live(GUARD));
}

#[test]
fn meticulous_sha1_back_to_back_stays_up_without_auth_failures() {
    let auth = AuthConfig::single(
        AuthType::MeticulousKeyedSha1,
        AuthKey::new(9, b"back-to-back").unwrap(),
    );
    let with_auth = SessionParams {
        auth: Some(auth),
        ..fast()
    };
    let mut link = BackToBack::new(with_auth.clone(), with_auth);
    let start = link.now;
    assert!(link.run_until(start + 3 * SEC, both_up));
    link.run_until(link.now + 5 * SEC, |_| false);
    assert!(both_up(&link));
    let a = link.a.session(&link.key_a).unwrap();
    let b = link.b.session(&link.key_b).unwrap();
    assert_eq!((a.counters.auth_failures, b.counters.auth_failures), (0, 0));
    assert!(a.counters.rx > 400 && b.counters.rx > 400);
}

#[test]
fn mismatched_keys_never_come_up() {
    let key = |secret: &[u8]| SessionParams {
        auth: Some(AuthConfig::single(
            AuthType::KeyedMd5,
            AuthKey::new(1, secret).unwrap(),
        )),
        ..fast()
    };
    let mut link = BackToBack::new(key(b"one"), key(b"two"));
    let start = link.now;
    assert!(
        !link.run_until(start + 5 * SEC, |l| l.state_a() != State::Down
            || l.state_b() != State::Down)
    );
    assert!(link.a.session(&link.key_a).unwrap().counters.auth_failures >= 4);
}

#[test]
fn each_direction_runs_at_the_slower_sides_rate() {
    // A would send every 10 ms but B can take only one per 50 ms; B would
    // send every 40 ms and A accepts that.
    let mut link = BackToBack::new(params(10_000, 10_000, 3), params(40_000, 50_000, 5));
    let start = link.now;
    assert!(link.run_until(start + 3 * SEC, both_up));
    link.run_until(link.now + SEC, |_| false);
    let a = link.a.session(&link.key_a).unwrap();
    let b = link.b.session(&link.key_b).unwrap();
    assert_eq!((a.negotiated_tx_us, b.negotiated_tx_us), (50_000, 40_000));
    // A detects with B's multiplier over B's rate, and vice versa.
    assert_eq!(a.detect_time_us, 5 * 40_000);
    assert_eq!(b.detect_time_us, 3 * 50_000);
    assert_eq!((a.flaps, b.flaps), (0, 0));
}

#[test]
fn admin_down_takes_the_peer_down_with_diag_3() {
    let mut link = BackToBack::new(fast(), fast());
    let start = link.now;
    assert!(link.run_until(start + 3 * SEC, both_up));
    let now = link.now;
    link.a
        .apply(
            BfdCommand::Modify {
                key: link.key_a,
                params: SessionParams {
                    admin_down: true,
                    ..fast()
                },
            },
            now,
            &link.live_a,
        )
        .unwrap();
    assert!(!link.live_a.is_live(GUARD));
    assert!(link.run_until(now + SEC, |l| l.state_b() == State::Down));
    let b = link.b.session(&link.key_b).unwrap();
    assert_eq!(b.local_diag, Diagnostic::NeighborSignaledSessionDown);
    assert_eq!(b.remote_diag, Diagnostic::AdministrativelyDown);
    assert_eq!(b.remote_state, State::AdminDown);
    // B stays Down (not Init) while A is AdminDown.
    link.run_until(link.now + 3 * SEC, |_| false);
    assert_eq!(link.state_b(), State::Down);
}
