//! Once warm, the timer wheel arms, cancels, cascades and fires without
//! touching the allocator: protocols re-arm timers on every packet. A
//! counting allocator sees the whole process, so this file holds one test.

use std::alloc::System;

use controlplane::timer_wheel::{TimerId, TimerWheel};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const MS: u64 = 1_000_000;

/// A protocol-like workload: 1 000 neighbors whose timers (1 ms to 200 s,
/// so levels 0 to 3 all fill and cascade) are re-armed when they fire and
/// every 50 s regardless (cancel + insert), the clock moving ~1 s a round.
fn churn(
    wheel: &mut TimerWheel<usize>,
    ids: &mut [Option<TimerId>],
    now: &mut u64,
    rounds: usize,
) -> usize {
    const SPREAD: [u64; 4] = [MS, 2_000 * MS, 40_000 * MS, 200_000 * MS];
    let mut fired = 0;
    for round in 0..rounds {
        for (i, slot) in ids.iter_mut().enumerate() {
            if slot.is_none() || (i + round) % 50 == 0 {
                if let Some(id) = slot.take() {
                    wheel.cancel(id);
                }
                *slot = Some(wheel.insert(*now + SPREAD[i % 4] + i as u64 * 7 * MS, i));
            }
        }
        *now += 997 * MS;
        for (_, i) in wheel.advance(*now) {
            ids[i] = None;
            fired += 1;
        }
    }
    fired
}

#[test]
fn warm_wheel_does_not_allocate() {
    let mut wheel = TimerWheel::new(MS);
    let mut ids = vec![None; 1_000];
    let mut now = 0;
    // Warm-up grows the slab and the fired buffer to their working size.
    churn(&mut wheel, &mut ids, &mut now, 300);

    let before = GLOBAL.stats();
    let fired = churn(&mut wheel, &mut ids, &mut now, 300);
    let after = GLOBAL.stats();

    assert!(fired > 30_000, "workload fired only {fired} timers");
    assert_eq!(
        after.allocations - before.allocations,
        0,
        "allocations while warm"
    );
    assert_eq!(
        after.reallocations - before.reallocations,
        0,
        "reallocations while warm"
    );
}
