//! The timer wheel against a naive reference (a `BTreeMap` ordered by
//! deadline): same timers fire, in the same order, never early and at most
//! one tick late, across random insert/cancel/advance sequences that reach
//! every level and the overflow list.

use std::collections::BTreeMap;

use controlplane::timer_wheel::{TimerId, TimerWheel};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Arm at `now + delta` (or `now - back`, already due).
    Insert {
        delta: u64,
    },
    InsertPast {
        back: u64,
    },
    /// Cancel the n-th id ever handed out (live, fired or cancelled).
    Cancel {
        nth: usize,
    },
    Advance {
        by: u64,
    },
}

/// Deltas spread over every magnitude so all six levels (64^k ticks) and
/// the overflow beyond 2^36 ticks are exercised.
fn magnitude() -> impl Strategy<Value = u64> {
    (0u32..44, any::<u64>()).prop_map(|(bits, raw)| if bits == 0 { 0 } else { raw >> (64 - bits) })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => magnitude().prop_map(|delta| Op::Insert { delta }),
        1 => (0u64..5_000).prop_map(|back| Op::InsertPast { back }),
        2 => any::<usize>().prop_map(|nth| Op::Cancel { nth }),
        3 => magnitude().prop_map(|by| Op::Advance { by }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn wheel_matches_btreemap_reference(
        tick in prop_oneof![Just(1u64), Just(7), Just(1_000), Just(1_000_000)],
        start in 0u64..1_000_000_000,
        ops in prop::collection::vec(op(), 1..300),
    ) {
        let mut wheel = TimerWheel::starting_at(tick, start);
        // (deadline, insertion seq) -> (id, payload, advance epoch it was
        // armed in): iteration order is the order timers must fire in.
        let mut reference: BTreeMap<(u64, u64), (TimerId, u64, u64)> = BTreeMap::new();
        let mut epoch = 0u64;
        let mut issued: Vec<(TimerId, (u64, u64))> = Vec::new();
        let mut now = start;
        let mut seq = 0u64;

        for op in ops {
            match op {
                Op::Insert { .. } | Op::InsertPast { .. } => {
                    let deadline = match op {
                        Op::Insert { delta } => now.saturating_add(delta),
                        Op::InsertPast { back } => now.saturating_sub(back),
                        _ => unreachable!(),
                    };
                    let payload = seq;
                    let id = wheel.insert(deadline, payload);
                    prop_assert_eq!(wheel.deadline(id), Some(deadline));
                    reference.insert((deadline, seq), (id, payload, epoch));
                    issued.push((id, (deadline, seq)));
                    seq += 1;
                }
                Op::Cancel { nth } => {
                    if issued.is_empty() { continue; }
                    let (id, key) = issued[nth % issued.len()];
                    let expected = reference.remove(&key).map(|(_, payload, _)| payload);
                    prop_assert_eq!(wheel.cancel(id), expected);
                }
                Op::Advance { by } => {
                    let before = now;
                    now = now.saturating_add(by);
                    let fired: Vec<(TimerId, u64)> = wheel.advance(now).collect();
                    // Due means the deadline's tick has been reached: a
                    // deadline d fires once now >= ceil(d / tick) * tick,
                    // i.e. d <= floor(now / tick) * tick.
                    let cutoff = now / tick * tick;
                    let still_armed = reference.split_off(&(cutoff + 1, 0));
                    let due = std::mem::replace(&mut reference, still_armed);
                    let expected: Vec<(TimerId, u64)> = due.values().map(|&(id, p, _)| (id, p)).collect();
                    prop_assert_eq!(&fired, &expected);
                    let previous_cutoff = before / tick * tick;
                    for (&(deadline, _), &(_, _, armed_in)) in &due {
                        prop_assert!(deadline <= now, "fired early: deadline {} now {}", deadline, now);
                        // At most one tick late: it was not already due at the
                        // previous advance, unless it was armed after that one.
                        prop_assert!(deadline > previous_cutoff || armed_in == epoch,
                            "deadline {} was due at the previous advance ({})", deadline, before);
                    }
                    epoch += 1;
                }
            }
            prop_assert_eq!(wheel.len(), reference.len());
            match (wheel.next_wakeup(), reference.keys().next()) {
                (None, None) => {}
                (Some(wake), Some(&(earliest, _))) => {
                    let earliest_tick_time = earliest.div_ceil(tick).saturating_mul(tick);
                    prop_assert!(wake <= earliest_tick_time.max(now / tick * tick),
                        "next_wakeup {} after earliest due time {}", wake, earliest_tick_time);
                }
                (wake, earliest) => prop_assert!(false, "next_wakeup {:?} but earliest {:?}", wake, earliest),
            }
        }
        // Everything left fires when time runs out, still in deadline order.
        let rest: Vec<(TimerId, u64)> = wheel.advance(u64::MAX).collect();
        let expected: Vec<(TimerId, u64)> = reference.values().map(|&(id, p, _)| (id, p)).collect();
        prop_assert_eq!(rest, expected);
        prop_assert!(wheel.is_empty());
    }
}
