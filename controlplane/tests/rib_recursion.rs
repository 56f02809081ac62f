//! Recursive next-hop resolution: through connected subnets, through other
//! routes (iBGP next hops via the IGP), loops and depth limits, and
//! re-resolution when the covering route changes.

use std::net::IpAddr;

use controlplane::rib::{
    Candidate, CandidateStatus, Rib, RibConfig, RouteKind, SelectionRule, Unresolved,
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

fn via(gateway: &str) -> RouteNextHop {
    RouteNextHop {
        gateway: Some(ip(gateway)),
        port: None,
        weight: 1,
        tier: 0,
    }
}

fn route(prefix: &str, source: RouteSource, hops: Vec<RouteNextHop>) -> Route {
    Route {
        prefix: net(prefix),
        source,
        distance: source.default_distance(),
        metric: 0,
        next_hops: hops,
    }
}

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

fn one(port: PortId, gateway: &str) -> Vec<Vec<(PortId, Option<IpAddr>)>> {
    vec![vec![(port, Some(ip(gateway)))]]
}

fn status(rib: &Rib, prefix: &str) -> CandidateStatus {
    rib.explain(net(prefix)).unwrap().candidates[0]
        .status
        .clone()
}

#[test]
fn gateway_resolves_through_the_connected_subnet_v4_and_v6() {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib();
    rib.add_connected(1, net("192.0.2.2/24"));
    rib.add_connected(2, net("2001:db8:1::2/64"));
    rib.add(route(
        "0.0.0.0/0",
        RouteSource::Static,
        vec![via("192.0.2.1")],
    ));
    rib.add(route(
        "::/0",
        RouteSource::Static,
        vec![via("2001:db8:1::1")],
    ));
    rib.commit(&mut fib).unwrap();
    assert_eq!(members(&fib, "8.8.8.8"), one(1, "192.0.2.1"));
    assert_eq!(members(&fib, "2001:4860::8888"), one(2, "2001:db8:1::1"));
    let view = rib.explain(net("0.0.0.0/0")).unwrap();
    assert_eq!(
        view.resolved[0][0].id,
        rib.nexthop_id(1, Some(ip("192.0.2.1")))
    );
    assert!(view.resolved[0][0].id.is_some());
}

#[test]
fn ibgp_next_hop_resolves_through_the_igp_two_levels_deep() {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib();
    rib.add_connected(1, net("192.0.2.2/24"));
    // The IGP reaches the iBGP peer's loopback through a gateway, which
    // itself resolves through the connected subnet.
    rib.add(route(
        "10.255.0.1/32",
        RouteSource::Ospf,
        vec![via("192.0.2.1")],
    ));
    rib.add(route(
        "203.0.113.0/24",
        RouteSource::Ibgp,
        vec![via("10.255.0.1")],
    ));
    rib.add(route(
        "198.51.100.0/24",
        RouteSource::Ibgp,
        vec![via("203.0.113.7")],
    ));
    rib.commit(&mut fib).unwrap();
    assert_eq!(members(&fib, "203.0.113.9"), one(1, "192.0.2.1"));
    // Two levels of recursion: via an iBGP route, via OSPF, via connected.
    assert_eq!(members(&fib, "198.51.100.9"), one(1, "192.0.2.1"));
    // Same resolved next hops: one shared group.
    assert_eq!(
        fib.lookup(ip("203.0.113.9")).unwrap().1,
        fib.lookup(ip("198.51.100.9")).unwrap().1
    );
    assert_eq!(
        rib.group_count(),
        2,
        "the attached subnet's group and the shared one"
    );
}

#[test]
fn recursion_deeper_than_allowed_is_not_installed() {
    let mut rib = Rib::new(RibConfig {
        max_recursion: 1,
        ..RibConfig::default()
    });
    let mut fib = fib();
    rib.add_connected(1, net("192.0.2.2/24"));
    rib.add(route(
        "10.255.0.1/32",
        RouteSource::Ospf,
        vec![via("192.0.2.1")],
    ));
    rib.add(route(
        "203.0.113.0/24",
        RouteSource::Ibgp,
        vec![via("10.255.0.1")],
    ));
    rib.commit(&mut fib).unwrap();
    assert_eq!(members(&fib, "10.255.0.1"), one(1, "192.0.2.1"));
    assert_eq!(fib.lookup(ip("203.0.113.9")), None);
    assert_eq!(
        status(&rib, "203.0.113.0/24"),
        CandidateStatus::Unresolved(Unresolved::TooDeep {
            gateway: ip("192.0.2.1")
        })
    );
}

#[test]
fn resolution_loops_are_not_installed() {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib();
    rib.add(route(
        "10.1.0.0/16",
        RouteSource::Static,
        vec![via("10.2.0.1")],
    ));
    rib.add(route(
        "10.2.0.0/16",
        RouteSource::Static,
        vec![via("10.1.0.1")],
    ));
    // A gateway inside the route's own prefix resolves through itself.
    rib.add(route(
        "10.3.0.0/16",
        RouteSource::Static,
        vec![via("10.3.0.1")],
    ));
    rib.commit(&mut fib).unwrap();
    for probe in ["10.1.9.9", "10.2.9.9", "10.3.9.9"] {
        assert_eq!(fib.lookup(ip(probe)), None, "{probe}");
    }
    assert_eq!(
        status(&rib, "10.1.0.0/16"),
        CandidateStatus::Unresolved(Unresolved::Loop {
            gateway: ip("10.1.0.1"),
            via: net("10.1.0.0/16")
        })
    );
    assert_eq!(
        status(&rib, "10.3.0.0/16"),
        CandidateStatus::Unresolved(Unresolved::Loop {
            gateway: ip("10.3.0.1"),
            via: net("10.3.0.0/16")
        })
    );
    assert_eq!((rib.group_count(), rib.nexthop_count()), (0, 0));

    // Breaking the loop with a direct route to one gateway resolves both.
    rib.add_connected(1, net("192.0.2.2/24"));
    rib.add(route(
        "10.2.0.1/32",
        RouteSource::Static,
        vec![via("192.0.2.1")],
    ));
    rib.commit(&mut fib).unwrap();
    assert_eq!(members(&fib, "10.1.9.9"), one(1, "192.0.2.1"));
    assert_eq!(members(&fib, "10.2.9.9"), one(1, "192.0.2.1"));
    assert_eq!(fib.lookup(ip("10.3.9.9")), None);
}

#[test]
fn covering_route_changes_re_resolve_dependent_routes() {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib();
    rib.add_connected(1, net("192.0.2.2/24"));
    rib.add_connected(2, net("198.51.100.2/24"));
    rib.add(route(
        "10.9.0.0/16",
        RouteSource::Static,
        vec![via("192.0.2.1")],
    ));
    rib.add(route(
        "100.64.0.0/10",
        RouteSource::Ebgp,
        vec![via("10.9.0.1")],
    ));
    rib.commit(&mut fib).unwrap();
    assert_eq!(members(&fib, "100.64.1.1"), one(1, "192.0.2.1"));
    let before = fib.lookup(ip("100.64.1.1")).unwrap().1;

    // A more specific route to the gateway appears.
    rib.add(route(
        "10.9.0.0/24",
        RouteSource::Ospf,
        vec![via("198.51.100.1")],
    ));
    let report = rib.commit(&mut fib).unwrap();
    assert_eq!(members(&fib, "100.64.1.1"), one(2, "198.51.100.1"));
    assert_ne!(
        fib.lookup(ip("100.64.1.1")).unwrap().1,
        before,
        "moved to the /24's group"
    );
    assert!(report.evaluated >= 2);

    // And goes away again.
    rib.withdraw(net("10.9.0.0/24"), RouteSource::Ospf);
    rib.commit(&mut fib).unwrap();
    assert_eq!(members(&fib, "100.64.1.1"), one(1, "192.0.2.1"));

    // The connected subnet under it all disappears: nothing resolves.
    rib.remove_connected(1, net("192.0.2.2/24"));
    rib.commit(&mut fib).unwrap();
    assert_eq!(fib.lookup(ip("100.64.1.1")), None);
    assert_eq!(fib.lookup(ip("10.9.1.1")), None);
    assert_eq!(
        status(&rib, "100.64.0.0/10"),
        CandidateStatus::Unresolved(Unresolved::NoRoute {
            gateway: ip("192.0.2.1")
        })
    );

    // It comes back: everything is reinstalled.
    rib.add_connected(1, net("192.0.2.2/24"));
    rib.commit(&mut fib).unwrap();
    assert_eq!(members(&fib, "100.64.1.1"), one(1, "192.0.2.1"));
}

#[test]
fn unresolvable_best_candidate_falls_back_to_the_next() {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib();
    rib.add_connected(1, net("192.0.2.2/24"));
    let p = "172.20.0.0/16";
    rib.add(route(p, RouteSource::Static, vec![via("10.66.0.1")]));
    rib.add(route(p, RouteSource::Ospf, vec![via("192.0.2.1")]));
    rib.commit(&mut fib).unwrap();
    assert_eq!(members(&fib, "172.20.0.1"), one(1, "192.0.2.1"));
    let view = rib.explain(net(p)).unwrap();
    assert_eq!(view.selected_source, Some(RouteSource::Ospf));
    assert_eq!(view.decided_by, Some(SelectionRule::BetterUnresolved));
    assert_eq!(
        view.candidates[0].status,
        CandidateStatus::Unresolved(Unresolved::NoRoute {
            gateway: ip("10.66.0.1")
        })
    );
    // The static route's gateway becomes reachable: it takes over.
    rib.add_connected(2, net("10.66.0.2/24"));
    rib.commit(&mut fib).unwrap();
    assert_eq!(members(&fib, "172.20.0.1"), one(2, "10.66.0.1"));
}

#[test]
fn gateways_on_local_or_discarded_addresses_do_not_resolve() {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib();
    rib.add_connected(1, net("192.0.2.2/24"));
    rib.add_candidate(
        net("10.99.0.0/16"),
        Candidate {
            source: RouteSource::Static,
            instance: 0,
            distance: 1,
            metric: 0,
            kind: RouteKind::Blackhole,
        },
    );
    rib.add(route(
        "172.21.0.0/16",
        RouteSource::Static,
        vec![via("192.0.2.2")],
    ));
    rib.add(route(
        "172.22.0.0/16",
        RouteSource::Static,
        vec![via("10.99.0.1")],
    ));
    rib.commit(&mut fib).unwrap();
    assert_eq!(fib.lookup(ip("172.21.0.1")), None);
    assert_eq!(fib.lookup(ip("172.22.0.1")), None);
    assert_eq!(
        status(&rib, "172.21.0.0/16"),
        CandidateStatus::Unresolved(Unresolved::GatewayIsLocal {
            gateway: ip("192.0.2.2"),
            via: net("192.0.2.2/32")
        })
    );
    assert_eq!(
        status(&rib, "172.22.0.0/16"),
        CandidateStatus::Unresolved(Unresolved::GatewayDiscarded {
            gateway: ip("10.99.0.1"),
            via: net("10.99.0.0/16")
        })
    );
}

#[test]
fn partially_resolved_routes_install_what_resolves_and_tiers_compose() {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib();
    rib.add_connected(1, net("192.0.2.2/24"));
    rib.add_connected(2, net("198.51.100.2/24"));
    // The gateway's route has a primary and a backup.
    rib.add(route(
        "10.255.0.1/32",
        RouteSource::Static,
        vec![
            via("192.0.2.1"),
            RouteNextHop {
                tier: 1,
                ..via("198.51.100.1")
            },
        ],
    ));
    rib.add(route(
        "203.0.113.0/24",
        RouteSource::Ibgp,
        vec![via("10.255.0.1"), via("10.77.0.1")],
    ));
    rib.commit(&mut fib).unwrap();
    // 10.77.0.1 does not resolve; 10.255.0.1 brings its primary and backup.
    assert_eq!(
        members(&fib, "203.0.113.1"),
        vec![
            vec![(1, Some(ip("192.0.2.1")))],
            vec![(2, Some(ip("198.51.100.1")))]
        ]
    );
    assert_eq!(status(&rib, "203.0.113.0/24"), CandidateStatus::Selected);
}

#[test]
fn loops_through_a_covering_route_cut_only_the_looping_branch() {
    // 10.1/24 via 10.2.0.5 and 10.2/24 via 10.1.0.5, both gateways also
    // inside an attached 10/8. Each route's own resolution cuts at itself
    // and falls back to the attached subnet: the answer must not depend on
    // which prefix happens to be evaluated first.
    let build = |first: bool| {
        let mut rib = Rib::new(RibConfig::default());
        let mut fib = fib();
        let a = route("10.1.0.0/24", RouteSource::Static, vec![via("10.2.0.5")]);
        let b = route("10.2.0.0/24", RouteSource::Static, vec![via("10.1.0.5")]);
        rib.add_connected(1, net("10.0.0.1/8"));
        if first {
            rib.add(a);
            rib.commit(&mut fib).unwrap();
            rib.add(b);
        } else {
            rib.add(b);
            rib.commit(&mut fib).unwrap();
            rib.add(a);
        }
        rib.commit(&mut fib).unwrap();
        (members(&fib, "10.1.0.9"), members(&fib, "10.2.0.9"))
    };
    let forward = build(true);
    assert_eq!(forward, build(false));
    assert_eq!(forward.0, one(1, "10.2.0.5"));
    assert_eq!(forward.1, one(1, "10.1.0.5"));
}
