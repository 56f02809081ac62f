//! Kernel route sync against the real kernel, in a namespace of its own.
//! Every check reads the kernel's tables through `ip route`, not through
//! our own netlink code, so an encoding bug cannot hide behind a matching
//! decoding bug.

mod host_netns;

use std::net::IpAddr;

use host_netns::{Netns, child_role, ip, skip_unless_root};
use ipnet::IpNet;
use router::host::{
    KernelNextHop, KernelRoute, KernelRouteChange, KernelRouteSync, KernelTarget, Netlink,
    VROUTER_RTPROT,
};

#[test]
fn reconcile_installs_ipv4_ipv6_and_ecmp_routes() {
    if skip_unless_root() {
        return;
    }
    Netns::new().run_child("install");
}

#[test]
fn routes_of_other_protocols_are_never_touched() {
    if skip_unless_root() {
        return;
    }
    Netns::new().run_child("foreign");
}

#[test]
fn changed_routes_are_replaced_and_apply_is_incremental() {
    if skip_unless_root() {
        return;
    }
    Netns::new().run_child("replace");
}

#[test]
fn flush_removes_every_route_of_ours_in_every_table() {
    if skip_unless_root() {
        return;
    }
    Netns::new().run_child("flush");
}

#[test]
fn a_refused_route_is_reported_and_the_others_go_in() {
    if skip_unless_root() {
        return;
    }
    Netns::new().run_child("refused");
}

#[test]
#[ignore = "runs only as the child of the other tests, inside their namespace"]
fn child() {
    let Some(role) = child_role() else {
        return;
    };
    match role.as_str() {
        "install" => child_install(),
        "foreign" => child_foreign(),
        "replace" => child_replace(),
        "flush" => child_flush(),
        "refused" => child_refused(),
        other => panic!("unknown child role {other}"),
    }
    println!("CHILD-OK");
}

// ------------------------------------------------------------- helpers

/// The link the routes point at (it stands for a twin): a veth whose peer
/// is up, so it has carrier, with one IPv4 and one IPv6 subnet.
fn make_link() -> u32 {
    ip(&["link", "add", "kra", "type", "veth", "peer", "name", "krb"]);
    ip(&["link", "set", "krb", "up"]);
    ip(&["link", "set", "kra", "up"]);
    ip(&["address", "add", "192.0.2.1/24", "dev", "kra"]);
    ip(&[
        "-6",
        "address",
        "add",
        "2001:db8:1::1/64",
        "dev",
        "kra",
        "nodad",
    ]);
    Netlink::open().unwrap().ifindex("kra").unwrap()
}

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

fn via(prefix: &str, hops: &[(&str, u8)], ifindex: u32) -> KernelRoute {
    KernelRoute::via(
        net(prefix),
        hops.iter()
            .map(|(gateway, weight)| KernelNextHop {
                gateway: Some(gateway.parse::<IpAddr>().unwrap()),
                ifindex,
                weight: *weight,
            })
            .collect(),
    )
}

/// `ip [-6] route show ARGS`, one string per route (continuation lines of
/// a multipath route joined to it), whitespace normalised.
fn routes(family: &str, args: &[&str]) -> Vec<String> {
    let mut command = vec![family, "route", "show"];
    command.extend_from_slice(args);
    let text = ip(&command);
    let mut routes: Vec<String> = Vec::new();
    for line in text.lines() {
        let words = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if words.is_empty() {
            continue;
        }
        match routes.last_mut() {
            Some(last) if line.starts_with(char::is_whitespace) => {
                last.push_str(" | ");
                last.push_str(&words);
            }
            _ => routes.push(words),
        }
    }
    routes
}

fn ours_v4() -> Vec<String> {
    routes("-4", &["proto", "201"])
}

fn ours_v6() -> Vec<String> {
    routes("-6", &["proto", "201"])
}

fn assert_has(routes: &[String], expected: &str) {
    assert!(
        routes.iter().any(|r| r == expected),
        "{expected:?} missing from {routes:#?}"
    );
}

// ------------------------------------------------------------- children

fn child_install() {
    let kra = make_link();
    let mut nl = Netlink::open().unwrap();
    let mut sync = KernelRouteSync::default();
    assert_eq!(
        (sync.table(), sync.metric(), VROUTER_RTPROT),
        (254, 20, 201)
    );
    let desired = vec![
        via("198.51.100.0/24", &[("192.0.2.2", 1)], kra),
        via("203.0.113.0/24", &[("192.0.2.2", 1), ("192.0.2.3", 2)], kra),
        via("2001:db8:100::/48", &[("2001:db8:1::2", 1)], kra),
        via(
            "2001:db8:200::/48",
            &[("2001:db8:1::2", 1), ("2001:db8:1::3", 2)],
            kra,
        ),
        KernelRoute::via(
            net("100.64.0.0/24"),
            vec![KernelNextHop {
                gateway: None,
                ifindex: kra,
                weight: 1,
            }],
        ),
        KernelRoute::blackhole(net("10.66.0.0/16")),
        KernelRoute::unreachable(net("2001:db8:dead::/48")),
    ];
    let report = sync.reconcile(&mut nl, &desired).expect("reconcile");
    assert!(report.is_clean(), "{:?}", report.failed);
    assert_eq!(report.added, 7);

    let v4 = ours_v4();
    assert_eq!(v4.len(), 4, "{v4:#?}");
    assert_has(&v4, "198.51.100.0/24 via 192.0.2.2 dev kra metric 20");
    assert_has(
        &v4,
        "203.0.113.0/24 metric 20 | nexthop via 192.0.2.2 dev kra weight 1 \
         | nexthop via 192.0.2.3 dev kra weight 2",
    );
    assert_has(&v4, "100.64.0.0/24 dev kra scope link metric 20");
    assert_has(&v4, "blackhole 10.66.0.0/16 metric 20");
    let v6 = ours_v6();
    assert_eq!(v6.len(), 3, "{v6:#?}");
    assert_has(
        &v6,
        "2001:db8:100::/48 via 2001:db8:1::2 dev kra metric 20 pref medium",
    );
    assert_has(
        &v6,
        "2001:db8:200::/48 metric 20 pref medium | nexthop via 2001:db8:1::2 dev kra weight 1 \
         | nexthop via 2001:db8:1::3 dev kra weight 2",
    );
    assert_has(
        &v6,
        "unreachable 2001:db8:dead::/48 dev lo metric 20 pref medium",
    );

    // The host's forwarding follows them.
    let got = ip(&["route", "get", "203.0.113.7"]);
    assert!(got.contains("dev kra"), "{got}");

    // A second reconcile with the same wish reads everything back as it is:
    // nothing sent, nothing changed.
    let report = sync.reconcile(&mut nl, &desired).expect("reconcile again");
    assert_eq!(
        (
            report.added,
            report.replaced,
            report.deleted,
            report.unchanged
        ),
        (0, 0, 0, 7),
        "{report:?}"
    );
    assert_eq!(ours_v4(), v4);
    assert_eq!(ours_v6(), v6);
    assert_eq!(sync.installed().count(), 7);
}

fn child_foreign() {
    let kra = make_link();
    // The operator's routes: one at the kernel's default metric, one at
    // exactly ours, for each family (IPv6's default metric is 1024).
    ip(&[
        "route",
        "add",
        "198.51.100.0/24",
        "via",
        "192.0.2.9",
        "proto",
        "static",
    ]);
    ip(&[
        "route",
        "add",
        "203.0.113.0/24",
        "via",
        "192.0.2.9",
        "proto",
        "static",
        "metric",
        "20",
    ]);
    ip(&[
        "-6",
        "route",
        "add",
        "2001:db8:100::/48",
        "via",
        "2001:db8:1::9",
        "proto",
        "static",
    ]);
    ip(&[
        "-6",
        "route",
        "add",
        "2001:db8:300::/48",
        "via",
        "2001:db8:1::9",
        "proto",
        "static",
        "metric",
        "20",
    ]);
    let statics_v4 = routes("-4", &["proto", "static"]);
    let statics_v6 = routes("-6", &["proto", "static"]);
    assert_eq!((statics_v4.len(), statics_v6.len()), (2, 2));
    let untouched = || {
        assert_eq!(routes("-4", &["proto", "static"]), statics_v4);
        assert_eq!(routes("-6", &["proto", "static"]), statics_v6);
    };

    let mut nl = Netlink::open().unwrap();
    let mut sync = KernelRouteSync::default();
    let desired = vec![
        via("198.51.100.0/24", &[("192.0.2.2", 1)], kra),
        via("203.0.113.0/24", &[("192.0.2.2", 1)], kra),
        via("2001:db8:100::/48", &[("2001:db8:1::2", 1)], kra),
        via("2001:db8:300::/48", &[("2001:db8:1::2", 1)], kra),
    ];
    let report = sync.reconcile(&mut nl, &desired).expect("reconcile");
    untouched();
    assert_eq!(report.added, 3, "{report:?}");
    // IPv6 cannot keep two routes with one prefix and metric apart: ours is
    // refused and said so, theirs stays as it was.
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].prefix, net("2001:db8:300::/48"));
    assert_eq!(report.failed[0].error.errno(), Some(libc::EEXIST));
    let v4 = ours_v4();
    assert_has(&v4, "198.51.100.0/24 via 192.0.2.2 dev kra metric 20");
    assert_has(&v4, "203.0.113.0/24 via 192.0.2.2 dev kra metric 20");
    assert_has(
        &ours_v6(),
        "2001:db8:100::/48 via 2001:db8:1::2 dev kra metric 20 pref medium",
    );

    // Changing ours beside theirs (same prefix and metric) must not
    // replace theirs: it is deleted and appended again.
    let changed = vec![
        via("198.51.100.0/24", &[("192.0.2.3", 1)], kra),
        via("203.0.113.0/24", &[("192.0.2.3", 1)], kra),
        via("2001:db8:100::/48", &[("2001:db8:1::3", 1)], kra),
    ];
    let report = sync
        .reconcile(&mut nl, &changed)
        .expect("reconcile changes");
    assert!(report.is_clean(), "{:?}", report.failed);
    assert_eq!(report.replaced, 3, "{report:?}");
    untouched();
    assert_has(&ours_v4(), "203.0.113.0/24 via 192.0.2.3 dev kra metric 20");
    assert_eq!(ours_v4().len(), 2, "{:#?}", ours_v4());

    // The same through apply.
    let report = sync.apply(
        &mut nl,
        &[KernelRouteChange::Upsert(via(
            "203.0.113.0/24",
            &[("192.0.2.4", 1)],
            kra,
        ))],
    );
    assert_eq!(report.replaced, 1, "{report:?}");
    untouched();
    assert_has(&ours_v4(), "203.0.113.0/24 via 192.0.2.4 dev kra metric 20");

    // Withdrawing everything leaves theirs.
    let report = sync.reconcile(&mut nl, &[]).expect("reconcile to nothing");
    assert_eq!(report.deleted, 3, "{report:?}");
    assert!(ours_v4().is_empty() && ours_v6().is_empty());
    untouched();

    // And so does a flush.
    sync.reconcile(&mut nl, &desired[..3]).expect("reinstall");
    let report = sync.flush(&mut nl).expect("flush");
    assert_eq!(report.deleted, 3, "{report:?}");
    assert!(ours_v4().is_empty() && ours_v6().is_empty());
    untouched();
}

fn child_replace() {
    let kra = make_link();
    let mut nl = Netlink::open().unwrap();
    let mut sync = KernelRouteSync::default();
    let before = vec![
        via("198.51.100.0/24", &[("192.0.2.2", 1)], kra),
        via("203.0.113.0/24", &[("192.0.2.2", 1), ("192.0.2.3", 1)], kra),
        via("192.0.2.128/25", &[("192.0.2.2", 1)], kra),
        via("2001:db8:100::/48", &[("2001:db8:1::2", 1)], kra),
        via("2001:db8:200::/48", &[("2001:db8:1::2", 1)], kra),
        via(
            "2001:db8:300::/48",
            &[("2001:db8:1::2", 1), ("2001:db8:1::3", 1)],
            kra,
        ),
    ];
    assert!(sync.reconcile(&mut nl, &before).unwrap().is_clean());
    // A leftover of ours with another metric (an earlier configuration).
    ip(&[
        "route",
        "add",
        "10.98.0.0/16",
        "via",
        "192.0.2.2",
        "proto",
        "201",
        "metric",
        "99",
    ]);

    let after = vec![
        // new gateway
        via("198.51.100.0/24", &[("192.0.2.3", 1)], kra),
        // new weights
        via("203.0.113.0/24", &[("192.0.2.2", 3), ("192.0.2.3", 1)], kra),
        // unicast → blackhole
        KernelRoute::blackhole(net("192.0.2.128/25")),
        // new gateway
        via("2001:db8:100::/48", &[("2001:db8:1::3", 1)], kra),
        // gateway → unreachable: IPv6 cannot replace across kinds in place
        KernelRoute::unreachable(net("2001:db8:200::/48")),
        // ECMP → single
        via("2001:db8:300::/48", &[("2001:db8:1::3", 1)], kra),
    ];
    let report = sync.reconcile(&mut nl, &after).unwrap();
    assert!(report.is_clean(), "{:?}", report.failed);
    assert_eq!(
        (
            report.added,
            report.replaced,
            report.deleted,
            report.unchanged
        ),
        (0, 6, 1, 0),
        "{report:?}"
    );
    let v4 = ours_v4();
    assert_eq!(v4.len(), 3, "{v4:#?}");
    assert_has(&v4, "198.51.100.0/24 via 192.0.2.3 dev kra metric 20");
    assert_has(
        &v4,
        "203.0.113.0/24 metric 20 | nexthop via 192.0.2.2 dev kra weight 3 \
         | nexthop via 192.0.2.3 dev kra weight 1",
    );
    assert_has(&v4, "blackhole 192.0.2.128/25 metric 20");
    let v6 = ours_v6();
    assert_eq!(v6.len(), 3, "one route per prefix: {v6:#?}");
    assert_has(
        &v6,
        "2001:db8:100::/48 via 2001:db8:1::3 dev kra metric 20 pref medium",
    );
    assert_has(
        &v6,
        "unreachable 2001:db8:200::/48 dev lo metric 20 pref medium",
    );
    assert_has(
        &v6,
        "2001:db8:300::/48 via 2001:db8:1::3 dev kra metric 20 pref medium",
    );

    // Incremental changes: add one, change one, remove one, and one that
    // is already as asked.
    let report = sync.apply(
        &mut nl,
        &[
            KernelRouteChange::Upsert(via("10.20.0.0/16", &[("192.0.2.4", 1)], kra)),
            KernelRouteChange::Upsert(via("198.51.100.0/24", &[("192.0.2.5", 1)], kra)),
            KernelRouteChange::Remove(net("2001:db8:300::/48")),
            KernelRouteChange::Upsert(KernelRoute::blackhole(net("192.0.2.128/25"))),
            KernelRouteChange::Remove(net("10.123.0.0/16")),
        ],
    );
    assert!(report.is_clean(), "{:?}", report.failed);
    assert_eq!(
        (
            report.added,
            report.replaced,
            report.deleted,
            report.unchanged
        ),
        (1, 1, 1, 1),
        "{report:?}"
    );
    let v4 = ours_v4();
    assert_has(&v4, "10.20.0.0/16 via 192.0.2.4 dev kra metric 20");
    assert_has(&v4, "198.51.100.0/24 via 192.0.2.5 dev kra metric 20");
    assert_eq!(v4.len(), 4, "{v4:#?}");
    assert_eq!(ours_v6().len(), 2, "{:#?}", ours_v6());

    // The kernel drops IPv4 routes through an interface that goes down;
    // reconcile puts them back.
    ip(&["link", "set", "kra", "down"]);
    assert!(ours_v4().iter().all(|r| r.starts_with("blackhole")));
    ip(&["link", "set", "kra", "up"]);
    // IPv6 addresses go with the link (keep_addr_on_down is 0): the twin
    // setup would put them back.
    ip(&[
        "-6",
        "address",
        "add",
        "2001:db8:1::1/64",
        "dev",
        "kra",
        "nodad",
    ]);
    let wanted: Vec<KernelRoute> = sync.installed().cloned().collect();
    let report = sync.reconcile(&mut nl, &wanted).unwrap();
    assert!(report.is_clean(), "{:?}", report.failed);
    assert!(report.added >= 3, "{report:?}");
    assert_eq!(ours_v4(), v4);
}

fn child_flush() {
    let kra = make_link();
    let mut nl = Netlink::open().unwrap();
    ip(&[
        "route",
        "add",
        "198.51.100.0/24",
        "via",
        "192.0.2.9",
        "proto",
        "static",
    ]);
    let mut main = KernelRouteSync::default();
    let mut other = KernelRouteSync::new(1000, 30);
    let routes_v4 = [via("198.51.100.0/24", &[("192.0.2.2", 1)], kra)];
    let routes_v6 = [
        via("2001:db8:100::/48", &[("2001:db8:1::2", 1)], kra),
        KernelRoute::blackhole(net("2001:db8:bad::/48")),
    ];
    assert!(main.reconcile(&mut nl, &routes_v4).unwrap().is_clean());
    assert!(other.reconcile(&mut nl, &routes_v6).unwrap().is_clean());
    // A leftover of a crashed run with another metric.
    ip(&[
        "route",
        "add",
        "10.99.0.0/16",
        "via",
        "192.0.2.2",
        "proto",
        "201",
        "metric",
        "7",
    ]);
    assert_eq!(
        routes("-6", &["table", "1000", "proto", "201"]).len(),
        2,
        "table 1000 got ours"
    );
    assert_eq!(routes("-4", &["table", "all", "proto", "201"]).len(), 2);

    let report = main.flush(&mut nl).expect("flush");
    assert!(report.is_clean(), "{:?}", report.failed);
    assert_eq!(report.deleted, 4, "{report:?}");
    assert!(routes("-4", &["table", "all", "proto", "201"]).is_empty());
    assert!(routes("-6", &["table", "all", "proto", "201"]).is_empty());
    assert_eq!(main.installed().count(), 0);
    assert_eq!(
        routes("-4", &["proto", "static"]),
        vec!["198.51.100.0/24 via 192.0.2.9 dev kra".to_string()]
    );
    // Nothing left: a second flush is a no-op.
    assert_eq!(main.flush(&mut nl).unwrap().deleted, 0);
}

fn child_refused() {
    let kra = make_link();
    let mut nl = Netlink::open().unwrap();
    let mut sync = KernelRouteSync::default();
    let desired = vec![
        via("198.51.100.0/24", &[("192.0.2.2", 1)], kra),
        // No connected subnet holds these gateways.
        via("203.0.113.0/24", &[("10.200.0.1", 1)], kra),
        via("2001:db8:9::/48", &[("2001:db8:77::1", 1)], kra),
        // An interface that does not exist.
        via("10.40.0.0/16", &[("192.0.2.2", 1)], 999_999),
        via("2001:db8:100::/48", &[("2001:db8:1::2", 1)], kra),
    ];
    let report = sync.reconcile(&mut nl, &desired).expect("reconcile");
    assert_eq!(report.added, 2, "{report:?}");
    let mut refused: Vec<IpNet> = report.failed.iter().map(|f| f.prefix).collect();
    refused.sort();
    assert_eq!(
        refused,
        vec![
            net("10.40.0.0/16"),
            net("203.0.113.0/24"),
            net("2001:db8:9::/48")
        ]
    );
    for failure in &report.failed {
        let text = failure.to_string();
        assert!(
            text.contains(&failure.prefix.to_string()) && text.contains("table 254"),
            "the error names the route: {text}"
        );
        assert!(failure.error.errno().is_some(), "{text}");
    }
    assert_eq!(
        ours_v4(),
        vec!["198.51.100.0/24 via 192.0.2.2 dev kra metric 20".to_string()]
    );
    assert_eq!(
        ours_v6(),
        vec!["2001:db8:100::/48 via 2001:db8:1::2 dev kra metric 20 pref medium".to_string()]
    );
    // Only what went in is recorded.
    let installed: Vec<IpNet> = sync.installed().map(|r| r.prefix).collect();
    assert_eq!(
        installed,
        vec![net("198.51.100.0/24"), net("2001:db8:100::/48")]
    );
    assert!(matches!(
        sync.installed().next().map(|r| &r.target),
        Some(KernelTarget::NextHops(_))
    ));
}
