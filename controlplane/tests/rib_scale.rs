//! Scale figures (ignored by default; run in release):
//! `cargo test --release -p controlplane --test rib_scale -- --ignored --nocapture`
//!
//! A full table of /24s learned over iBGP through one next hop that the IGP
//! resolves: time to install it, and time for the IGP to move that next
//! hop (which must rewrite one group, not every route).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use controlplane::rib::{Rib, RibConfig};
use controlplane::route::{Route, RouteNextHop, RouteSource};
use dataplane::fib::{FibConfig, FibWriter};
use ipnet::IpNet;

fn via(prefix: IpNet, source: RouteSource, gateway: &str) -> Route {
    Route {
        prefix,
        source,
        distance: source.default_distance(),
        metric: 0,
        next_hops: vec![RouteNextHop {
            gateway: Some(gateway.parse().unwrap()),
            port: None,
            weight: 1,
            tier: 0,
        }],
    }
}

#[test]
#[ignore = "scale figures; run in release with --ignored --nocapture"]
fn million_ibgp_routes_through_one_igp_next_hop() {
    const ROUTES: u32 = 1_000_000;
    let (mut fib, _readers) = FibWriter::new(FibConfig::default());
    let mut rib = Rib::new(RibConfig::default());
    rib.add_connected(1, "192.0.2.2/24".parse().unwrap());
    rib.add_connected(2, "198.51.100.2/24".parse().unwrap());
    let igp: IpNet = "10.9.0.0/16".parse().unwrap();
    rib.add(via(igp, RouteSource::Ospf, "192.0.2.1"));
    rib.commit(&mut fib).unwrap();

    let start = Instant::now();
    for i in 0..ROUTES {
        // 11.0.0.0/24 onwards, one /24 each.
        let network = Ipv4Addr::from((11u32 << 24) + (i << 8));
        let prefix = IpNet::new(IpAddr::V4(network), 24).unwrap();
        rib.add(via(prefix, RouteSource::Ibgp, "10.9.0.1"));
    }
    let staged = start.elapsed();
    let report = rib.commit(&mut fib).unwrap();
    let installed = start.elapsed();
    assert_eq!(report.routes_set, ROUTES as usize);
    println!(
        "add {ROUTES} routes: {staged:?}; add + commit (evaluate, install, publish): {installed:?}"
    );

    let start = Instant::now();
    rib.add(via(igp, RouteSource::Ospf, "198.51.100.1"));
    let report = rib.commit(&mut fib).unwrap();
    let moved = start.elapsed();
    assert_eq!(report.routes_set, 0);
    assert_eq!(report.groups_rekeyed, 1);
    println!(
        "IGP moves the next hop: {moved:?} ({} prefixes re-evaluated, {} group rewritten, {} routes rewritten)",
        report.evaluated, report.groups_set, report.routes_set
    );

    let start = Instant::now();
    rib.add(via(
        "10.9.0.0/24".parse().unwrap(),
        RouteSource::Ospf,
        "192.0.2.1",
    ));
    let report = rib.commit(&mut fib).unwrap();
    println!(
        "a more specific IGP route appears: {:?} ({} re-evaluated, {} groups set)",
        start.elapsed(),
        report.evaluated,
        report.groups_set
    );
}
