//! ECMP behaviour of next-hop groups, end to end: random 5-tuples through
//! the flow hash, the resilient bucket tables and the liveness bitmap, as
//! the forwarding loop uses them.
//!
//! Every check here is flow by flow over 100,000 flows: the promise of
//! resilient hashing is not that the shares come out right on average but
//! that no flow moves unless it has to (RFC 2992 §2.2 counts a path change
//! of a flow as disruption).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dataplane::fib::flow_hash::FlowHasher;
use dataplane::fib::group::{GroupError, Member, NextHopGroup, Selected};
use dataplane::fib::liveness::Liveness;
use dataplane::fib::nexthop::NextHopId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FLOWS: usize = 100_000;

/// Random 5-tuples, half IPv4 and half IPv6, hashed as the pipeline does.
fn flow_hashes(hasher: &FlowHasher, seed: u64) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..FLOWS)
        .map(|i| {
            let protocol = if rng.random() { 6 } else { 17 };
            let (sp, dp) = (rng.random(), rng.random());
            if i % 2 == 0 {
                hasher.hash_v4(rng.random(), rng.random(), protocol, sp, dp)
            } else {
                hasher.hash_v6(rng.random(), rng.random(), protocol, sp, dp)
            }
        })
        .collect()
}

fn hashes() -> Vec<u32> {
    flow_hashes(&FlowHasher::new(0x00c0_ffee, false), 1)
}

fn members(weights: &[u32], first_id: u32) -> Vec<Member> {
    (first_id..)
        .zip(weights)
        .map(|(id, &weight)| Member {
            nexthop: NextHopId(id),
            weight,
        })
        .collect()
}

fn live_all(ids: impl IntoIterator<Item = NextHopId>) -> Liveness {
    let live = Liveness::new(64);
    for id in ids {
        live.set(id, true);
    }
    live
}

fn choose(group: &NextHopGroup, live: &Liveness, hashes: &[u32]) -> Vec<Option<Selected>> {
    hashes.iter().map(|&h| group.select(h, live)).collect()
}

fn next_hops(group: &NextHopGroup, live: &Liveness, hashes: &[u32]) -> Vec<NextHopId> {
    choose(group, live, hashes)
        .into_iter()
        .map(|s| s.expect("a live next hop").nexthop)
        .collect()
}

fn count_on(choices: &[NextHopId], id: NextHopId) -> usize {
    choices.iter().filter(|&&c| c == id).count()
}

/// Asserts each member's share of `choices` is within ±5 % (relative) of
/// its weight's share.
fn assert_shares(choices: &[NextHopId], members: &[Member]) {
    let total_weight: u32 = members.iter().map(|m| m.weight).sum();
    for m in members {
        let expected = choices.len() as f64 * f64::from(m.weight) / f64::from(total_weight);
        let got = count_on(choices, m.nexthop) as f64;
        assert!(
            (got - expected).abs() <= 0.05 * expected,
            "{} (weight {} of {total_weight}) got {got} flows, expected {expected:.0} ±5%",
            m.nexthop,
            m.weight
        );
    }
}

#[test]
fn flows_split_in_proportion_to_weights() {
    let hashes = hashes();
    for weights in [
        &[1, 1][..],
        &[1, 1, 1],
        &[1; 8],
        &[1, 2],
        &[1, 2, 3],
        &[1, 2, 3, 4, 5, 6, 7, 8],
        &[100, 250, 10],
    ] {
        let tier = members(weights, 0);
        let group = NextHopGroup::new(std::slice::from_ref(&tier)).unwrap();
        let live = live_all(group.nexthops());
        assert_shares(&next_hops(&group, &live, &hashes), &tier);
    }
}

#[test]
fn a_down_member_moves_only_its_flows_and_gets_them_back() {
    let hashes = hashes();
    for weights in [&[1, 1, 1][..], &[1; 8], &[1, 2, 3, 4, 5, 6, 7, 8]] {
        let tier = members(weights, 0);
        let group = NextHopGroup::new(std::slice::from_ref(&tier)).unwrap();
        let live = live_all(group.nexthops());
        let before = next_hops(&group, &live, &hashes);
        let down = NextHopId(weights.len() as u32 - 1);

        assert!(live.set(down, false));
        let during = next_hops(&group, &live, &hashes);
        for (i, (&was, &now)) in before.iter().zip(&during).enumerate() {
            if was == down {
                assert_ne!(now, down, "flow {i} still on the down member");
            } else {
                assert_eq!(now, was, "flow {i} on live {was} moved to {now}");
            }
        }
        // The orphaned flows spread over every survivor in proportion to its
        // weight (±15 %: the smallest survivor's part is under 1000 flows).
        let orphans: Vec<NextHopId> = before
            .iter()
            .zip(&during)
            .filter(|(was, _)| **was == down)
            .map(|(_, now)| *now)
            .collect();
        let survivors: Vec<Member> = tier.iter().copied().filter(|m| m.nexthop != down).collect();
        let survivor_weight: u32 = survivors.iter().map(|m| m.weight).sum();
        for m in &survivors {
            let expected = orphans.len() as f64 * f64::from(m.weight) / f64::from(survivor_weight);
            let got = count_on(&orphans, m.nexthop) as f64;
            assert!(
                (got - expected).abs() <= 0.15 * expected,
                "{} took {got} of {} orphaned flows, expected about {expected:.0}",
                m.nexthop,
                orphans.len()
            );
        }

        assert!(!live.set(down, true));
        assert_eq!(
            next_hops(&group, &live, &hashes),
            before,
            "flows did not all return"
        );
    }
}

#[test]
fn several_down_members_leave_the_other_flows_alone() {
    let hashes = hashes();
    let tier = members(&[3, 1, 4, 1, 5, 9, 2, 6], 0);
    let group = NextHopGroup::new(&[tier]).unwrap();
    let live = live_all(group.nexthops());
    let before = next_hops(&group, &live, &hashes);
    // All but one down: only the survivor's own flows stay, all flows land on it.
    for down in [0u32, 2, 5, 6, 1, 3, 4] {
        live.set(NextHopId(down), false);
        let during = next_hops(&group, &live, &hashes);
        for (&was, &now) in before.iter().zip(&during) {
            assert!(live.is_live(now));
            if live.is_live(was) {
                assert_eq!(now, was);
            }
        }
    }
    assert!(
        next_hops(&group, &live, &hashes)
            .iter()
            .all(|&n| n == NextHopId(7))
    );
}

#[test]
fn removing_a_member_moves_only_its_flows() {
    let hashes = hashes();
    let old = members(&[1; 5], 0);
    let group = NextHopGroup::new(std::slice::from_ref(&old)).unwrap();
    let live = live_all(group.nexthops());
    let before = next_hops(&group, &live, &hashes);

    let removed = NextHopId(2);
    let new: Vec<Member> = old
        .iter()
        .copied()
        .filter(|m| m.nexthop != removed)
        .collect();
    let smaller = group.update(std::slice::from_ref(&new)).unwrap();
    let after = next_hops(&smaller, &live, &hashes);
    for (i, (&was, &now)) in before.iter().zip(&after).enumerate() {
        if was != removed {
            assert_eq!(now, was, "flow {i} moved though its member stayed");
        }
    }
    assert_eq!(count_on(&after, removed), 0);
    assert_shares(&after, &new);
}

#[test]
fn an_added_member_takes_its_share_and_nothing_else_moves() {
    let hashes = hashes();
    let old = members(&[1, 2, 3], 0);
    let group = NextHopGroup::new(std::slice::from_ref(&old)).unwrap();
    let added = Member {
        nexthop: NextHopId(9),
        weight: 2,
    };
    // The new member goes in the middle: position in the list is no identity.
    let new = vec![old[0], added, old[1], old[2]];
    let bigger = group.update(std::slice::from_ref(&new)).unwrap();
    let live = live_all(bigger.nexthops());
    let before = next_hops(&group, &live, &hashes);
    let after = next_hops(&bigger, &live, &hashes);
    for (i, (&was, &now)) in before.iter().zip(&after).enumerate() {
        if now != was {
            assert_eq!(
                now, added.nexthop,
                "flow {i} moved from {was} to an old member {now}"
            );
        }
    }
    assert_shares(&after, &new);
}

#[test]
fn a_weight_change_moves_about_the_minimum() {
    let hashes = hashes();
    let old = members(&[1, 1, 1, 1], 0);
    let new = members(&[4, 2, 1, 1], 0);
    let group = NextHopGroup::new(&[old]).unwrap();
    let reweighted = group.update(std::slice::from_ref(&new)).unwrap();
    let live = live_all(reweighted.nexthops());
    let before = next_hops(&group, &live, &hashes);
    let after = next_hops(&reweighted, &live, &hashes);
    let moved = before.iter().zip(&after).filter(|(a, b)| a != b).count() as f64 / FLOWS as f64;
    // Shares go from ¼ each to ½, ¼, ⅛, ⅛: the least that must move is what
    // the shrinking members lose, ⅛ + ⅛ = ¼ of all flows.
    let minimum = 0.25;
    assert!(
        (moved - minimum).abs() < 0.01,
        "moved {moved:.4} of flows, minimum {minimum}"
    );
    // And whatever moved went to the members that grew.
    for (&was, &now) in before.iter().zip(&after) {
        if was != now {
            assert_eq!(now, NextHopId(0));
        }
    }
    assert_shares(&after, &new);
}

#[test]
fn tiers_fail_over_in_order_and_fail_back() {
    let hashes = hashes();
    let primary = members(&[1, 1], 0);
    let backup = members(&[1, 1, 1], 10);
    let group = NextHopGroup::new(&[primary.clone(), backup]).unwrap();
    let live = live_all(group.nexthops());
    let on_tier = |tier: u8| {
        choose(&group, &live, &hashes)
            .iter()
            .all(|s| s.is_some_and(|s| s.tier == tier))
    };

    assert!(on_tier(0));
    let initial = next_hops(&group, &live, &hashes);
    // One primary member down: its flows stay in the primary tier.
    live.set(NextHopId(0), false);
    assert!(choose(&group, &live, &hashes).iter().all(|s| *s
        == Some(Selected {
            tier: 0,
            nexthop: NextHopId(1)
        })));
    // The whole primary down: the backup carries everything, spread over it.
    live.set(NextHopId(1), false);
    assert!(on_tier(1));
    let on_backup = next_hops(&group, &live, &hashes);
    for id in 10..13 {
        assert!(
            count_on(&on_backup, NextHopId(id)) > FLOWS / 4,
            "backup {id} underused"
        );
    }
    // One primary member back: everything returns to the primary tier.
    live.set(NextHopId(1), true);
    assert!(choose(&group, &live, &hashes).iter().all(|s| *s
        == Some(Selected {
            tier: 0,
            nexthop: NextHopId(1)
        })));
    live.set(NextHopId(0), true);
    assert_eq!(next_hops(&group, &live, &hashes), initial);
    // Everything down: no next hop.
    for id in group.nexthops().collect::<Vec<_>>() {
        live.set(id, false);
    }
    assert!(choose(&group, &live, &hashes).iter().all(Option::is_none));
}

#[test]
fn symmetric_hashing_sends_replies_the_same_way() {
    let group = NextHopGroup::new(&[members(&[1; 8], 0)]).unwrap();
    let live = live_all(group.nexthops());
    let symmetric = FlowHasher::new(42, true);
    let asymmetric = FlowHasher::new(42, false);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut asymmetric_same = 0;
    for _ in 0..10_000 {
        let (a, b, sp, dp): (u32, u32, u16, u16) =
            (rng.random(), rng.random(), rng.random(), rng.random());
        let (a6, b6): (u128, u128) = (rng.random(), rng.random());
        let out = group.select(symmetric.hash_v4(a, b, 6, sp, dp), &live);
        assert_eq!(out, group.select(symmetric.hash_v4(b, a, 6, dp, sp), &live));
        let out6 = group.select(symmetric.hash_v6(a6, b6, 17, sp, dp), &live);
        assert_eq!(
            out6,
            group.select(symmetric.hash_v6(b6, a6, 17, dp, sp), &live)
        );
        asymmetric_same += usize::from(
            group.select(asymmetric.hash_v4(a, b, 6, sp, dp), &live)
                == group.select(asymmetric.hash_v4(b, a, 6, dp, sp), &live),
        );
    }
    // Without symmetry a reply lands on the same one of 8 members by chance.
    assert!(
        (1_000..1_500).contains(&asymmetric_same),
        "{asymmetric_same} of 10000 replies on the same member"
    );
}

#[test]
fn different_seeds_spread_flows_differently() {
    let group = NextHopGroup::new(&[members(&[1; 4], 0)]).unwrap();
    let live = live_all(group.nexthops());
    let a = next_hops(&group, &live, &flow_hashes(&FlowHasher::new(1, false), 9));
    let b = next_hops(&group, &live, &flow_hashes(&FlowHasher::new(2, false), 9));
    let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
    // Independent choices agree a quarter of the time.
    assert!(
        (23_000..27_000).contains(&same),
        "{same} of {FLOWS} flows on the same member under two seeds"
    );
}

#[test]
fn flows_on_live_members_hold_still_while_another_member_flaps() {
    // A BFD engine on another core flaps one member as fast as it can while
    // this core forwards: no flow of a steady member may move, ever.
    let hashes = flow_hashes(&FlowHasher::new(3, false), 3);
    let group = NextHopGroup::new(&[members(&[1; 4], 0)]).unwrap();
    let live = Arc::new(live_all(group.nexthops()));
    let before = next_hops(&group, &live, &hashes);
    let flapping = NextHopId(2);
    let stop = Arc::new(AtomicBool::new(false));
    let flapper = {
        let (live, stop) = (Arc::clone(&live), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut flaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                live.set(flapping, flaps % 2 == 1);
                flaps += 1;
            }
            flaps
        })
    };
    for _ in 0..5 {
        for (&hash, &was) in hashes.iter().zip(&before) {
            let now = group
                .select(hash, &live)
                .expect("three members stay live")
                .nexthop;
            if was != flapping {
                assert_eq!(now, was);
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    assert!(flapper.join().unwrap() > 0);
}

#[test]
fn group_errors_reach_the_caller() {
    assert_eq!(NextHopGroup::new(&[]).unwrap_err(), GroupError::NoTiers);
    assert_eq!(
        NextHopGroup::new(&[members(&[1], 0), vec![]]).unwrap_err(),
        GroupError::EmptyTier(1)
    );
    assert_eq!(
        NextHopGroup::new(&[members(&[1, 0], 0)]).unwrap_err(),
        GroupError::ZeroWeight(NextHopId(1))
    );
    assert_eq!(
        NextHopGroup::new(&[members(&[1, 1], 0), members(&[1], 1)]).unwrap_err(),
        GroupError::DuplicateMember(NextHopId(1))
    );
    assert_eq!(
        NextHopGroup::new(&[members(&[1; 257], 0)]).unwrap_err(),
        GroupError::TooManyMembers(0)
    );
}
