//! The BFD hot path allocates nothing: once sessions are Up, thousands of
//! `receive` and `poll` calls (1 ms timers, meticulous keyed SHA1, Polls
//! and Finals included) leave the allocator untouched. A counting
//! allocator sees the whole process, so this file holds one test — and
//! the test harness's own threads may still allocate now and then (seen
//! once on a loaded CI machine): the window is measured three times and
//! one must be clean. An allocation of the hot path would show in all
//! three, since the run is deterministic.

mod bfd_support;

use std::alloc::System;

use bfd_support::*;
use dataplane::bfd::{AuthConfig, AuthKey, AuthType, BfdCommand, SessionParams, State};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn receive_and_poll_never_allocate_in_steady_state() {
    let auth = AuthConfig::single(
        AuthType::MeticulousKeyedSha1,
        AuthKey::new(1, b"no-alloc").unwrap(),
    );
    let session = SessionParams {
        auth: Some(auth),
        ..params(1_000, 1_000, 3)
    };
    let mut link = BackToBack::new(session.clone(), session.clone());
    let start = link.now;
    assert!(link.run_until(start + 3 * SEC, |l| l.state_a() == State::Up
        && l.state_b() == State::Up));
    // Let the Poll Sequences that switch to the fast timers finish.
    link.run_until(link.now + 100 * MS, |_| false);
    // A timer change while Up: Polls and Finals are part of the run below.
    let now = link.now;
    link.a
        .apply(
            BfdCommand::Modify {
                key: link.key_a,
                params: SessionParams {
                    desired_min_tx_us: 2_000,
                    ..session
                },
            },
            now,
            &link.live_a,
        )
        .unwrap();
    let tx_before = link.a.session(&link.key_a).unwrap().counters.tx;

    let mut windows = Vec::new();
    for _ in 0..3 {
        let before = GLOBAL.stats();
        link.run_until(link.now + 2 * SEC / 3, |_| false);
        let after = GLOBAL.stats();
        windows.push((
            after.allocations - before.allocations,
            after.reallocations - before.reallocations,
            after.bytes_allocated - before.bytes_allocated,
        ));
    }

    let a = link.a.session(&link.key_a).unwrap();
    assert_eq!(a.state, State::Up);
    assert!(
        a.counters.tx - tx_before > 700,
        "{}",
        a.counters.tx - tx_before
    );
    assert!(!a.poll_in_progress, "the poll completed inside the window");
    assert!(
        windows.contains(&(0, 0, 0)),
        "the hot path allocated in every window: {windows:?}"
    );
}
