//! RIB best-path selection: distance, metric, ECMP, tiers, withdraw/readd,
//! discard and local routes, IPv4 and IPv6 alike.

use std::net::IpAddr;

use controlplane::rib::{
    Candidate, CandidateKey, CandidateStatus, Rib, RibConfig, RouteKind, SelectionRule,
};
use controlplane::route::{Route, RouteNextHop, RouteSource};
use dataplane::fib::{FibConfig, FibWriter, RouteTarget};
use dataplane::port::PortId;
use ipnet::IpNet;

fn fib() -> FibWriter {
    FibWriter::new(FibConfig {
        v4_first_stride: 16,
        v6_first_stride: 16,
        max_nexthops: 1024,
    })
    .0
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn out(port: PortId, gateway: &str) -> RouteNextHop {
    RouteNextHop {
        gateway: Some(ip(gateway)),
        port: Some(port),
        weight: 1,
        tier: 0,
    }
}

fn candidate(
    source: RouteSource,
    instance: u32,
    distance: u8,
    metric: u32,
    hops: Vec<RouteNextHop>,
) -> Candidate {
    Candidate {
        source,
        instance,
        distance,
        metric,
        kind: RouteKind::Forward(hops),
    }
}

/// The (port, gateway) of every member of the group `addr` resolves to in
/// the FIB, by tier.
fn members(fib: &FibWriter, addr: &str) -> Vec<Vec<(PortId, Option<IpAddr>)>> {
    let Some((_, RouteTarget::Group(g))) = fib.lookup(ip(addr)) else {
        return Vec::new();
    };
    fib.group(g)
        .unwrap()
        .tiers()
        .map(|tier| {
            tier.iter()
                .map(|m| {
                    let hop = fib.nexthop(m.nexthop).unwrap();
                    (hop.port, hop.gateway)
                })
                .collect()
        })
        .collect()
}

fn target(fib: &FibWriter, addr: &str) -> Option<RouteTarget> {
    fib.lookup(ip(addr)).map(|(_, t)| t)
}

fn ports(fib: &FibWriter, addr: &str) -> Vec<PortId> {
    members(fib, addr)
        .first()
        .map(|tier| tier.iter().map(|(p, _)| *p).collect())
        .unwrap_or_default()
}

/// Every source for one prefix, each through its own port: withdrawing the
/// best one at a time walks down FRR's distance order.
fn distance_order(prefix: &str, own_address: &str, probe: &str, gw: &str) {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib();
    let sources = [
        (RouteSource::Static, 2),
        (RouteSource::Ebgp, 3),
        (RouteSource::Ospf, 4),
        (RouteSource::Ibgp, 5),
    ];
    // Added worst first, so insertion order cannot be what decides.
    for (source, port) in sources.iter().rev() {
        rib.add(Route {
            prefix: net(prefix),
            source: *source,
            distance: source.default_distance(),
            metric: 0,
            next_hops: vec![out(*port, gw)],
        });
    }
    rib.add_connected(1, net(own_address));
    rib.commit(&mut fib).unwrap();
    assert_eq!(ports(&fib, probe), vec![1]);
    let view = rib.explain(net(prefix)).unwrap();
    assert_eq!(view.selected_source, Some(RouteSource::Connected));
    assert_eq!(view.decided_by, Some(SelectionRule::Distance));
    assert!(
        view.candidates[1..]
            .iter()
            .all(|c| c.status == CandidateStatus::Lost(SelectionRule::Distance))
    );

    rib.remove_connected(1, net(own_address));
    rib.commit(&mut fib).unwrap();
    for (index, (source, port)) in sources.iter().enumerate() {
        assert_eq!(
            ports(&fib, probe),
            vec![*port],
            "{source:?} should be selected"
        );
        assert_eq!(
            rib.explain(net(prefix)).unwrap().selected_source,
            Some(*source)
        );
        rib.withdraw(net(prefix), *source);
        let report = rib.commit(&mut fib).unwrap();
        if index + 1 < sources.len() {
            // The one route's group is rewritten in place (it had no other
            // user), or the route repointed: one FIB change either way.
            assert_eq!(report.routes_set + report.groups_rekeyed, 1);
        }
    }
    assert_eq!(fib.lookup(ip(probe)), None, "last candidate gone: no route");
    assert!(rib.explain(net(prefix)).is_none());
    assert_eq!(rib.group_count(), 0);
    assert_eq!(rib.nexthop_count(), 0);
}

#[test]
fn connected_beats_static_beats_ebgp_beats_ospf_beats_ibgp_v4() {
    distance_order("10.1.0.0/16", "10.1.0.1/16", "10.1.2.3", "10.1.0.254");
}

#[test]
fn connected_beats_static_beats_ebgp_beats_ospf_beats_ibgp_v6() {
    distance_order(
        "2001:db8:1::/48",
        "2001:db8:1::1/48",
        "2001:db8:1:2::3",
        "2001:db8:1::fe",
    );
}

#[test]
fn metric_decides_between_equal_distances_and_distance_beats_metric() {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib();
    let p = net("172.16.0.0/12");
    rib.add_candidate(
        p,
        candidate(RouteSource::Ospf, 1, 110, 30, vec![out(1, "10.0.0.1")]),
    );
    rib.add_candidate(
        p,
        candidate(RouteSource::Ospf, 2, 110, 20, vec![out(2, "10.0.0.2")]),
    );
    rib.commit(&mut fib).unwrap();
    assert_eq!(ports(&fib, "172.16.1.1"), vec![2]);
    let view = rib.explain(p).unwrap();
    assert_eq!(view.decided_by, Some(SelectionRule::Metric));
    assert_eq!(view.candidates[1].candidate.instance, 1);
    assert_eq!(
        view.candidates[1].status,
        CandidateStatus::Lost(SelectionRule::Metric)
    );

    // A worse metric from a lower distance still wins.
    rib.add_candidate(
        p,
        candidate(RouteSource::Static, 0, 1, 1000, vec![out(3, "10.0.0.3")]),
    );
    rib.commit(&mut fib).unwrap();
    assert_eq!(ports(&fib, "172.16.1.1"), vec![3]);
    assert_eq!(
        rib.explain(p).unwrap().decided_by,
        Some(SelectionRule::Distance)
    );

    // Equal distance and metric from two sources: not merged, the source
    // with the lower default distance wins.
    let q = net("192.168.0.0/16");
    rib.add_candidate(
        q,
        candidate(RouteSource::Static, 0, 20, 0, vec![out(4, "10.0.0.4")]),
    );
    rib.add_candidate(
        q,
        candidate(RouteSource::Ebgp, 0, 20, 0, vec![out(5, "10.0.0.5")]),
    );
    rib.commit(&mut fib).unwrap();
    assert_eq!(ports(&fib, "192.168.1.1"), vec![4]);
    assert_eq!(
        rib.explain(q).unwrap().decided_by,
        Some(SelectionRule::SourcePreference)
    );
}

fn ecmp(max_paths: usize, prefix: &str, probe: &str, gws: [&str; 3]) -> Vec<PortId> {
    let mut rib = Rib::new(RibConfig {
        max_paths,
        ..RibConfig::default()
    });
    let mut fib = fib();
    let p = net(prefix);
    for (instance, gw) in gws.iter().enumerate() {
        let port = instance as PortId + 1;
        rib.add_candidate(
            p,
            candidate(
                RouteSource::Ebgp,
                instance as u32,
                20,
                5,
                vec![out(port, gw)],
            ),
        );
    }
    // Worse metric: not part of the ECMP set.
    rib.add_candidate(
        p,
        candidate(RouteSource::Ebgp, 9, 20, 6, vec![out(9, gws[0])]),
    );
    rib.commit(&mut fib).unwrap();
    let view = rib.explain(p).unwrap();
    let selected = view
        .candidates
        .iter()
        .filter(|c| c.status == CandidateStatus::Selected)
        .count();
    assert_eq!(selected, 3, "all three equal candidates are selected");
    assert_eq!(
        view.candidates[3].status,
        CandidateStatus::Lost(SelectionRule::Metric)
    );
    let mut got = ports(&fib, probe);
    got.sort_unstable();
    got
}

#[test]
fn equal_candidates_of_one_source_merge_into_ecmp() {
    let gws = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
    assert_eq!(ecmp(64, "198.18.0.0/15", "198.18.3.4", gws), vec![1, 2, 3]);
    let gws6 = ["fe80::1", "fe80::2", "fe80::3"];
    assert_eq!(
        ecmp(64, "2001:db8:9::/48", "2001:db8:9::9", gws6),
        vec![1, 2, 3]
    );
}

#[test]
fn ecmp_is_capped_by_max_paths_keeping_the_first_instances() {
    let gws = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
    assert_eq!(ecmp(2, "198.18.0.0/15", "198.18.3.4", gws), vec![1, 2]);
    assert_eq!(ecmp(1, "198.18.0.0/15", "198.18.3.4", gws), vec![1]);
}

#[test]
fn tiers_are_carried_into_the_group_and_merged_across_ecmp_candidates() {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib();
    let p = net("0.0.0.0/0");
    let hop = |port, gw, tier, weight| RouteNextHop {
        tier,
        weight,
        ..out(port, gw)
    };
    rib.add_candidate(
        p,
        candidate(
            RouteSource::Static,
            0,
            1,
            0,
            vec![hop(2, "198.51.100.1", 1, 1), hop(1, "192.0.2.1", 0, 3)],
        ),
    );
    rib.commit(&mut fib).unwrap();
    assert_eq!(
        members(&fib, "8.8.8.8"),
        vec![
            vec![(1, Some(ip("192.0.2.1")))],
            vec![(2, Some(ip("198.51.100.1")))]
        ]
    );
    let (_, RouteTarget::Group(g)) = fib.lookup(ip("8.8.8.8")).unwrap() else {
        panic!("not a group")
    };
    let weights: Vec<u32> = fib.group(g).unwrap().tiers().map(|t| t[0].weight).collect();
    assert_eq!(weights, vec![3, 1]);

    // A second equal static adds a primary and a backup of its own.
    rib.add_candidate(
        p,
        candidate(
            RouteSource::Static,
            1,
            1,
            0,
            vec![hop(3, "203.0.113.1", 0, 1), hop(4, "203.0.113.2", 1, 1)],
        ),
    );
    rib.commit(&mut fib).unwrap();
    let tiers = members(&fib, "8.8.8.8");
    assert_eq!(tiers.len(), 2);
    assert_eq!(
        tiers[0],
        vec![(1, Some(ip("192.0.2.1"))), (3, Some(ip("203.0.113.1")))]
    );
    assert_eq!(
        tiers[1],
        vec![(2, Some(ip("198.51.100.1"))), (4, Some(ip("203.0.113.2")))]
    );
}

#[test]
fn withdrawing_the_best_falls_back_and_readding_restores() {
    for (prefix, probe, gw) in [
        ("10.20.0.0/16", "10.20.1.1", "10.0.0.9"),
        ("2001:db8:20::/48", "2001:db8:20::1", "fe80::9"),
    ] {
        let mut rib = Rib::new(RibConfig::default());
        let mut fib = fib();
        let p = net(prefix);
        let stat = candidate(RouteSource::Static, 0, 1, 0, vec![out(1, gw)]);
        let ospf = candidate(RouteSource::Ospf, 0, 110, 10, vec![out(2, gw)]);
        rib.add_candidate(p, stat.clone());
        rib.add_candidate(p, ospf);
        rib.commit(&mut fib).unwrap();
        assert_eq!(ports(&fib, probe), vec![1]);

        assert!(rib.withdraw(p, RouteSource::Static));
        rib.commit(&mut fib).unwrap();
        assert_eq!(ports(&fib, probe), vec![2]);
        assert_eq!(
            rib.explain(p).unwrap().decided_by,
            Some(SelectionRule::OnlyCandidate)
        );
        // The static route's next hops are used by nothing else: freed.
        assert_eq!((rib.group_count(), rib.nexthop_count()), (1, 1));
        assert_eq!(rib.nexthop_id(1, Some(ip(gw))), None);

        assert!(rib.add_candidate(p, stat.clone()));
        assert!(
            !rib.add_candidate(p, stat),
            "same candidate again: no change"
        );
        rib.commit(&mut fib).unwrap();
        assert_eq!(ports(&fib, probe), vec![1]);

        rib.withdraw(p, RouteSource::Static);
        rib.withdraw(p, RouteSource::Ospf);
        assert!(!rib.withdraw(p, RouteSource::Ospf), "already gone");
        let report = rib.commit(&mut fib).unwrap();
        assert_eq!(report.routes_removed, 1);
        assert_eq!(fib.lookup(ip(probe)), None);
        assert_eq!(fib.route(p), None);
        assert_eq!((rib.group_count(), rib.nexthop_count()), (0, 0));
        assert_eq!(report.nexthops_removed.len(), 1);
    }
}

#[test]
fn discard_routes_and_own_addresses_become_special_targets() {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib();
    let special = |kind| Candidate {
        source: RouteSource::Static,
        instance: 0,
        distance: 1,
        metric: 0,
        kind,
    };
    rib.add_candidate(net("203.0.113.0/24"), special(RouteKind::Blackhole));
    rib.add_candidate(net("2001:db8:dead::/48"), special(RouteKind::Reject));
    rib.add_connected(1, net("10.0.0.1/24"));
    rib.add_connected(1, net("2001:db8:a::1/64"));
    rib.commit(&mut fib).unwrap();
    assert_eq!(target(&fib, "203.0.113.7"), Some(RouteTarget::Blackhole));
    assert_eq!(
        target(&fib, "2001:db8:dead::1"),
        Some(RouteTarget::Unreachable)
    );
    assert_eq!(target(&fib, "10.0.0.1"), Some(RouteTarget::Local));
    assert_eq!(target(&fib, "2001:db8:a::1"), Some(RouteTarget::Local));
    assert_eq!(members(&fib, "10.0.0.7"), vec![vec![(1, None)]]);
    assert_eq!(members(&fib, "2001:db8:a::7"), vec![vec![(1, None)]]);
    // IPv4 and IPv6 attached subnets of a port share its one next hop.
    assert_eq!(rib.nexthop_count(), 1);
    assert_eq!(rib.group_count(), 1);

    // A blackhole with a lower distance overrides forwarding, and is
    // withdrawn back to it.
    let p = net("10.0.0.0/24");
    rib.add_candidate(
        p,
        Candidate {
            distance: 0,
            instance: 7,
            ..special(RouteKind::Blackhole)
        },
    );
    rib.commit(&mut fib).unwrap();
    // Equal distance and metric, connected preferred over static.
    assert_eq!(
        rib.explain(p).unwrap().decided_by,
        Some(SelectionRule::SourcePreference)
    );
    assert_eq!(members(&fib, "10.0.0.7"), vec![vec![(1, None)]]);
    rib.remove_connected(1, net("10.0.0.1/24"));
    rib.commit(&mut fib).unwrap();
    assert_eq!(target(&fib, "10.0.0.7"), Some(RouteTarget::Blackhole));
    assert_eq!(target(&fib, "10.0.0.1"), Some(RouteTarget::Blackhole));
    rib.withdraw_candidate(
        p,
        CandidateKey {
            source: RouteSource::Static,
            instance: 7,
        },
    );
    rib.commit(&mut fib).unwrap();
    assert_eq!(target(&fib, "10.0.0.7"), None);
}

#[test]
fn connected_subnet_stays_while_another_address_of_the_port_gives_it() {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib();
    rib.add_connected(1, net("10.0.0.1/24"));
    rib.add_connected(1, net("10.0.0.2/24"));
    rib.add_connected(2, net("10.0.0.3/24"));
    rib.commit(&mut fib).unwrap();
    // One subnet on two ports: both attached, as ECMP.
    assert_eq!(ports(&fib, "10.0.0.9"), vec![1, 2]);
    rib.remove_connected(1, net("10.0.0.1/24"));
    rib.commit(&mut fib).unwrap();
    assert_eq!(ports(&fib, "10.0.0.9"), vec![1, 2]);
    assert_eq!(fib.lookup(ip("10.0.0.1")), fib.lookup(ip("10.0.0.9")));
    assert_eq!(fib.lookup(ip("10.0.0.2")).unwrap().1, RouteTarget::Local);
    rib.remove_connected(1, net("10.0.0.2/24"));
    rib.commit(&mut fib).unwrap();
    assert_eq!(ports(&fib, "10.0.0.9"), vec![2]);
    let counts = rib.counts();
    assert_eq!(counts.candidates.get(RouteSource::Connected), 2);
    assert_eq!(counts.selected.get(RouteSource::Connected), 2);
}

#[test]
fn counts_follow_candidates_and_selection_by_source() {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib();
    let p = net("10.50.0.0/16");
    rib.add_candidate(
        p,
        candidate(RouteSource::Static, 0, 1, 0, vec![out(1, "10.0.0.1")]),
    );
    rib.add_candidate(
        p,
        candidate(RouteSource::Ibgp, 0, 200, 0, vec![out(1, "10.0.0.1")]),
    );
    rib.add_candidate(
        net("10.51.0.0/16"),
        candidate(RouteSource::Ibgp, 0, 200, 0, vec![out(1, "10.0.0.1")]),
    );
    rib.commit(&mut fib).unwrap();
    let counts = rib.counts();
    assert_eq!(counts.candidates.get(RouteSource::Static), 1);
    assert_eq!(counts.candidates.get(RouteSource::Ibgp), 2);
    assert_eq!(counts.selected.get(RouteSource::Static), 1);
    assert_eq!(counts.selected.get(RouteSource::Ibgp), 1);
    rib.withdraw(p, RouteSource::Static);
    rib.commit(&mut fib).unwrap();
    let counts = rib.counts();
    assert_eq!(counts.selected.get(RouteSource::Static), 0);
    assert_eq!(counts.selected.get(RouteSource::Ibgp), 2);
    assert_eq!(counts.candidates.total(), 2);
    // Routes iterate in address order and explain as text.
    let prefixes: Vec<IpNet> = rib.routes().map(|v| v.prefix).collect();
    assert_eq!(prefixes, vec![net("10.50.0.0/16"), net("10.51.0.0/16")]);
    let text = rib.explain(p).unwrap().to_string();
    assert!(
        text.contains("Ibgp[0] distance 200 metric 0: selected"),
        "{text}"
    );
}
