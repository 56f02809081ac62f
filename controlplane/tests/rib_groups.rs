//! Shared next-hop groups and next-hop ids: sharing, in-place rewrites
//! when a gateway's route changes, freeing and reuse, capacity limits.

use std::net::IpAddr;

use controlplane::rib::{InstallError, Rib, RibConfig};
use controlplane::route::{Route, RouteNextHop, RouteSource};
use dataplane::fib::{FibConfig, FibWriter, GroupId, NextHopId, RouteTarget};
use ipnet::IpNet;

fn fib_with(max_nexthops: u32) -> FibWriter {
    FibWriter::new(FibConfig {
        v4_first_stride: 16,
        v6_first_stride: 16,
        max_nexthops,
    })
    .0
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn via(prefix: IpNet, source: RouteSource, gateway: &str) -> Route {
    Route {
        prefix,
        source,
        distance: source.default_distance(),
        metric: 0,
        next_hops: vec![RouteNextHop {
            gateway: Some(ip(gateway)),
            port: None,
            weight: 1,
            tier: 0,
        }],
    }
}

/// The thousand /24s 100.64.i.0 (i < 1000 spread over 100.64.0.0/14).
fn prefixes() -> impl Iterator<Item = IpNet> {
    (0u32..1000).map(|i| {
        let network = std::net::Ipv4Addr::from((100u32 << 24 | 64 << 16) + (i << 8));
        IpNet::new(network.into(), 24).unwrap()
    })
}

fn probe(prefix: IpNet) -> IpAddr {
    match prefix {
        IpNet::V4(n) => IpAddr::V4((u32::from(n.network()) + 1).into()),
        IpNet::V6(n) => IpAddr::V6((u128::from(n.network()) + 1).into()),
    }
}

fn group_of(fib: &FibWriter, addr: IpAddr) -> GroupId {
    match fib.lookup(addr) {
        Some((_, RouteTarget::Group(g))) => g,
        other => panic!("{addr}: {other:?}"),
    }
}

fn only_member(fib: &FibWriter, g: GroupId) -> (u16, Option<IpAddr>) {
    let group = fib.group(g).unwrap();
    let ids: Vec<NextHopId> = group.nexthops().collect();
    assert_eq!(ids.len(), 1);
    let hop = fib.nexthop(ids[0]).unwrap();
    (hop.port, hop.gateway)
}

#[test]
fn thousand_prefixes_via_one_gateway_share_one_group_and_one_nexthop() {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib_with(64);
    rib.add_connected(1, net("192.0.2.2/24"));
    for p in prefixes() {
        rib.add(via(p, RouteSource::Static, "192.0.2.1"));
    }
    let report = rib.commit(&mut fib).unwrap();
    assert_eq!(
        report.routes_set,
        1000 + 2,
        "1000 statics, the subnet, the local address"
    );
    assert_eq!(report.groups_set, 2);
    let shared = group_of(&fib, probe(net("100.64.0.0/24")));
    assert!(prefixes().all(|p| group_of(&fib, probe(p)) == shared));
    assert_eq!(only_member(&fib, shared), (1, Some(ip("192.0.2.1"))));
    // The attached subnet's group + the shared one; their two next hops.
    assert_eq!((rib.group_count(), rib.nexthop_count()), (2, 2));
    let gateway = rib.nexthop_id(1, Some(ip("192.0.2.1"))).unwrap();
    assert!(
        report.nexthops_added.iter().any(|(id, key)| *id == gateway
            && key.port == 1
            && key.gateway == Some(ip("192.0.2.1")))
    );
    assert_eq!(rib.nexthop(gateway).unwrap().gateway, Some(ip("192.0.2.1")));
    assert_eq!(rib.nexthops().count(), 2);
}

#[test]
fn moving_the_route_to_a_shared_gateway_rewrites_one_group_not_a_thousand_routes() {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib_with(64);
    rib.add_connected(1, net("192.0.2.2/24"));
    rib.add_connected(2, net("198.51.100.2/24"));
    let igp = net("10.9.0.0/16");
    rib.add(via(igp, RouteSource::Ospf, "192.0.2.1"));
    for p in prefixes() {
        rib.add(via(p, RouteSource::Ibgp, "10.9.0.1"));
    }
    rib.commit(&mut fib).unwrap();
    let shared = group_of(&fib, probe(net("100.64.0.0/24")));
    assert_eq!(only_member(&fib, shared), (1, Some(ip("192.0.2.1"))));
    let generation = fib.generation();

    // The IGP now reaches the BGP next hop another way.
    rib.add(via(igp, RouteSource::Ospf, "198.51.100.1"));
    let report = rib.commit(&mut fib).unwrap();
    assert_eq!(report.evaluated, 1001, "the IGP route and its dependents");
    assert_eq!(report.routes_set, 0, "no route rewritten");
    assert_eq!((report.groups_set, report.groups_rekeyed), (1, 1));
    assert_eq!(report.nexthops_added.len(), 1);
    assert_eq!(report.nexthops_removed.len(), 1);
    assert_eq!(report.generation, Some(generation + 1), "one publish");
    assert!(prefixes().all(|p| group_of(&fib, probe(p)) == shared));
    assert_eq!(only_member(&fib, shared), (2, Some(ip("198.51.100.1"))));
    assert_eq!(
        rib.explain(net("100.64.0.0/24")).unwrap().group,
        Some(shared)
    );
}

#[test]
fn a_group_shared_with_routes_that_stay_is_split_not_rewritten() {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib_with(64);
    rib.add_connected(1, net("192.0.2.2/24"));
    rib.add_connected(2, net("198.51.100.2/24"));
    let igp = net("10.9.0.0/16");
    rib.add(via(igp, RouteSource::Ospf, "192.0.2.1"));
    for (i, p) in prefixes().enumerate() {
        // Half recursive through the IGP, half straight to the gateway:
        // all resolve to (port 1, 192.0.2.1), one group.
        let gateway = if i % 2 == 0 { "10.9.0.1" } else { "192.0.2.1" };
        rib.add(via(p, RouteSource::Static, gateway));
    }
    rib.commit(&mut fib).unwrap();
    let shared = group_of(&fib, probe(net("100.64.0.0/24")));
    assert!(prefixes().all(|p| group_of(&fib, probe(p)) == shared));

    rib.add(via(igp, RouteSource::Ospf, "198.51.100.1"));
    let report = rib.commit(&mut fib).unwrap();
    assert_eq!(
        report.routes_set, 501,
        "the IGP route and the 500 through it"
    );
    assert_eq!((report.groups_set, report.groups_rekeyed), (1, 0));
    for (i, p) in prefixes().enumerate() {
        let g = group_of(&fib, probe(p));
        if i % 2 == 0 {
            assert_eq!(only_member(&fib, g), (2, Some(ip("198.51.100.1"))));
        } else {
            assert_eq!(g, shared);
        }
    }
}

#[test]
fn unused_groups_and_nexthops_are_freed_and_their_ids_reused() {
    let mut rib = Rib::new(RibConfig::default());
    let mut fib = fib_with(64);
    rib.add_connected(1, net("192.0.2.2/24"));
    rib.commit(&mut fib).unwrap();
    let p = net("10.40.0.0/16");
    let q = net("10.41.0.0/16");
    rib.add(via(p, RouteSource::Static, "192.0.2.1"));
    rib.add(via(q, RouteSource::Static, "192.0.2.1"));
    rib.commit(&mut fib).unwrap();
    let g = group_of(&fib, probe(p));
    let id = rib.nexthop_id(1, Some(ip("192.0.2.1"))).unwrap();

    rib.withdraw(p, RouteSource::Static);
    let report = rib.commit(&mut fib).unwrap();
    assert_eq!(
        (report.routes_removed, report.groups_removed),
        (1, 0),
        "q still uses it"
    );
    rib.withdraw(q, RouteSource::Static);
    let report = rib.commit(&mut fib).unwrap();
    assert_eq!(report.groups_removed, 1);
    assert_eq!(report.nexthops_removed, vec![id]);
    assert!(fib.group(g).is_none());
    assert!(fib.nexthop(id).is_none());
    assert_eq!(rib.nexthop_id(1, Some(ip("192.0.2.1"))), None);

    // A new gateway gets the freed ids back.
    rib.add(via(p, RouteSource::Static, "192.0.2.99"));
    let report = rib.commit(&mut fib).unwrap();
    assert_eq!(group_of(&fib, probe(p)), g);
    assert_eq!(report.nexthops_added.len(), 1);
    assert_eq!(report.nexthops_added[0].0, id);

    // Nothing changed: nothing evaluated, nothing published.
    let report = rib.commit(&mut fib).unwrap();
    assert_eq!((report.evaluated, report.generation), (0, None));
}

#[test]
fn routes_beyond_next_hop_capacity_are_reported_and_retried() {
    let mut rib = Rib::new(RibConfig::default());
    // Room for the attached next hop and one gateway.
    let mut fib = fib_with(2);
    rib.add_connected(1, net("192.0.2.2/24"));
    rib.commit(&mut fib).unwrap();
    let p = net("10.40.0.0/16");
    let q = net("10.41.0.0/16");
    rib.add(via(p, RouteSource::Static, "192.0.2.1"));
    rib.add(via(q, RouteSource::Static, "192.0.2.3"));
    let report = rib.commit(&mut fib).unwrap();
    assert_eq!(
        report.not_installed,
        vec![(q, InstallError::NextHopTableFull { capacity: 2 })]
    );
    assert_eq!(fib.lookup(probe(q)), None);
    let view = rib.explain(q).unwrap();
    assert_eq!(view.installed, None);
    assert!(view.install_error.is_some());

    rib.withdraw(p, RouteSource::Static);
    rib.commit(&mut fib).unwrap();
    // The failed route is retried by the next commit, when there is room.
    let report = rib.commit(&mut fib).unwrap();
    assert!(report.not_installed.is_empty());
    assert_eq!(
        only_member(&fib, group_of(&fib, probe(q))),
        (1, Some(ip("192.0.2.3")))
    );
    assert_eq!(rib.explain(q).unwrap().install_error, None);
}
