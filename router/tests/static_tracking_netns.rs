//! Static routes tracked by probes, and routes mirrored into the kernel,
//! on the two-gateway lab (`router::lab::TwoGatewayLab`): a LAN host
//! behind vrouterd, gw1 and gw2 both holding 203.0.113.10, replies via
//! gw2 marked by their TTL. Root only.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use controlplane::protocol::Action;
use controlplane::recorder::replay;
use controlplane::static_routing::{
    NextHopRef, StaticNotification, StaticRouting, StaticRoutingConfig,
};
use router::lab::{SERVER_PORTS, TTL_VIA_GW1, TTL_VIA_GW2, TwoGatewayLab};
use support::{Sh, skip_unless_root};

fn lab_with(config: &str) -> TwoGatewayLab {
    let mut lab = TwoGatewayLab::build().unwrap_or_else(|e| panic!("{e}"));
    start(&mut lab, config, &[]);
    lab
}

fn start(lab: &mut TwoGatewayLab, config: &str, extra: &[&str]) {
    let exe = Path::new(env!("CARGO_BIN_EXE_vrouterd"));
    if let Err(e) = lab.start_router_with(exe, config, "info,router=debug", extra) {
        panic!("{e}");
    }
}

fn log(lab: &TwoGatewayLab) -> String {
    lab.router
        .as_ref()
        .map(|r| r.log_text())
        .unwrap_or_default()
}

/// Pings until a reply comes back with `ttl` (which says the gateway),
/// for at most `within`; panics with the router's log otherwise.
fn wait_for_path(lab: &TwoGatewayLab, ttl: u8, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    let mut last = None;
    while Instant::now() < deadline {
        last = lab.probe_ttl().unwrap_or_else(|e| panic!("{e}"));
        if last == Some(ttl) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{what}: replies never came with TTL {ttl} (last: {last:?})\n--- vrouterd log ---\n{}",
        log(lab)
    );
}

#[test]
fn icmp_probe_moves_traffic_to_the_backup_when_the_gateway_goes_silent() {
    if skip_unless_root() {
        return;
    }
    let config = format!(
        r#"{SERVER_PORTS}
[[static-route]]
prefix = "0.0.0.0/0"
[[static-route.next-hop]]
via = "192.0.2.2"
tier = "primary"
probe = {{ kind = "icmp", interval-ms = 50, up-threshold = 2, down-threshold = 3 }}
[[static-route.next-hop]]
via = "198.51.100.2"
tier = "backup"
"#
    );
    let mut lab = TwoGatewayLab::build().unwrap_or_else(|e| panic!("{e}"));
    let record = std::env::temp_dir()
        .join(format!("vrouterd-{}", lab.server.name))
        .join("record.jsonl");
    start(&mut lab, &config, &["--record", record.to_str().unwrap()]);
    wait_for_path(&lab, TTL_VIA_GW1, Duration::from_secs(10), "at start");

    // gw1 stays up (link, ARP) but stops answering pings: only the probe
    // can tell.
    lab.gw1.run("sysctl -qw net.ipv4.icmp_echo_ignore_all=1");
    wait_for_path(
        &lab,
        TTL_VIA_GW2,
        Duration::from_secs(5),
        "after gw1 went silent",
    );
    assert!(
        log(&lab).contains("probe target is not answering"),
        "the probe's verdict is logged"
    );

    lab.gw1.run("sysctl -qw net.ipv4.icmp_echo_ignore_all=0");
    wait_for_path(
        &lab,
        TTL_VIA_GW1,
        Duration::from_secs(5),
        "after gw1 answered again",
    );

    // The recording replays, on a fresh protocol instance, to the same
    // story: gw1 healthy, unhealthy, healthy again.
    assert!(lab.router.as_mut().unwrap().stop());
    let file = std::fs::File::open(&record).expect("the recording was written");
    let mut fresh = StaticRouting::new("static", StaticRoutingConfig::default(), []);
    let actions = replay(std::io::BufReader::new(file), &mut fresh).expect("the recording replays");
    let gw1 = NextHopRef {
        port: 1,
        gateway: Some("192.0.2.2".parse().unwrap()),
    };
    let verdicts: Vec<bool> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Notify(StaticNotification::NextHopHealth { next_hop, live })
                if *next_hop == gw1 =>
            {
                Some(*live)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        verdicts,
        vec![false, true, false, true],
        "unknown at start, up, silent, back (replayed from {})",
        record.display()
    );
}

#[test]
fn arp_probe_failure_withdraws_the_route_and_the_floating_static_takes_over() {
    if skip_unless_root() {
        return;
    }
    // No backup tier: only a floating static route (distance 10) via gw2
    // can carry the traffic once gw1's route is withdrawn.
    let config = format!(
        r#"{SERVER_PORTS}
[[static-route]]
prefix = "0.0.0.0/0"
[[static-route.next-hop]]
via = "192.0.2.2"
probe = {{ kind = "arp", interval-ms = 50, up-threshold = 1, down-threshold = 3 }}

[[static-route]]
prefix = "0.0.0.0/0"
distance = 10
[[static-route.next-hop]]
via = "198.51.100.2"
"#
    );
    let lab = lab_with(&config);
    wait_for_path(&lab, TTL_VIA_GW1, Duration::from_secs(10), "at start");

    // arp_ignore 8: gw1 answers no ARP request at all, while its link
    // and its IP stack stay up.
    lab.gw1.run("sysctl -qw net.ipv4.conf.eth0.arp_ignore=8");
    wait_for_path(
        &lab,
        TTL_VIA_GW2,
        Duration::from_secs(5),
        "after gw1 stopped answering ARP",
    );

    lab.gw1.run("sysctl -qw net.ipv4.conf.eth0.arp_ignore=0");
    wait_for_path(
        &lab,
        TTL_VIA_GW1,
        Duration::from_secs(5),
        "after gw1 answered ARP again",
    );
}

#[test]
fn kernel_routes_mirror_the_selected_routes_and_leave_at_shutdown() {
    if skip_unless_root() {
        return;
    }
    let config = format!(
        r#"{SERVER_PORTS}
[[static-route]]
prefix = "0.0.0.0/0"
[[static-route.next-hop]]
via = "192.0.2.2"
[[static-route.next-hop]]
via = "198.51.100.2"
tier = "backup"

[[static-route]]
prefix = "10.50.0.0/16"
[[static-route.next-hop]]
via = "192.0.2.2"
[[static-route.next-hop]]
via = "198.51.100.2"

[[static-route]]
prefix = "10.66.0.0/16"
blackhole = true

[kernel-routes]
enabled = true
metric = 77
"#
    );
    let mut lab = lab_with(&config);
    // A route of another program must survive everything below; a
    // blackhole, so it does not go away with the twins at shutdown.
    lab.server
        .run("ip route add blackhole 10.77.0.0/16 proto static");

    let ours = || lab.server.run("ip -4 route show proto 201");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ours().contains("10.66.0.0/16") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let table = ours();
    assert!(
        table.contains("default via 192.0.2.2 dev vr-up1") && table.contains("metric 77"),
        "the default route goes to the kernel with its primary tier only:\n{table}"
    );
    assert!(
        !table.contains("default via 198.51.100.2"),
        "the backup tier stays out of the kernel:\n{table}"
    );
    let ecmp = lab.server.run("ip -4 route show 10.50.0.0/16 proto 201");
    assert!(
        ecmp.contains("nexthop via 192.0.2.2 dev vr-up1")
            && ecmp.contains("nexthop via 198.51.100.2 dev vr-up2"),
        "two equal next hops become a multipath route:\n{ecmp}"
    );
    assert!(
        table.contains("blackhole 10.66.0.0/16"),
        "a blackhole route stays a blackhole:\n{table}"
    );
    assert!(
        !table.contains("192.0.2.0/24") && !table.contains("10.77.0.0"),
        "connected subnets and others' routes are not ours:\n{table}"
    );

    let router = lab.router.as_mut().expect("router started");
    assert!(router.stop(), "vrouterd stops cleanly on SIGTERM");
    // The blackhole needs no twin: only our removal takes it away.
    let after = lab.server.run("ip -4 route show proto 201");
    assert!(
        after.trim().is_empty(),
        "our routes leave with us:\n{after}"
    );
    let theirs = lab.server.run("ip -4 route show proto static");
    assert!(
        theirs.contains("10.77.0.0/16"),
        "the other program's route is untouched"
    );
}

#[test]
fn a_bfd_guarded_gateway_without_a_bfd_peer_carries_no_traffic() {
    if skip_unless_root() {
        return;
    }
    // gw1 runs no BFD: its session never comes Up, so the primary tier
    // stays dead and the backup (no BFD) carries everything.
    let dir_socket = |lab: &TwoGatewayLab| {
        std::env::temp_dir()
            .join(format!("vrouterd-{}", lab.server.name))
            .join("api.sock")
    };
    let mut lab = TwoGatewayLab::build().unwrap_or_else(|e| panic!("{e}"));
    let socket = dir_socket(&lab);
    let config = format!(
        r#"{SERVER_PORTS}
[management]
socket = "{}"

[[bfd-profile]]
name = "fast"
transmit-interval = 20
receive-interval = 20

[[static-route]]
prefix = "0.0.0.0/0"
[[static-route.next-hop]]
via = "192.0.2.2"
bfd = "fast"
[[static-route.next-hop]]
via = "198.51.100.2"
tier = "backup"
"#,
        socket.display()
    );
    start(&mut lab, &config, &[]);
    wait_for_path(
        &lab,
        TTL_VIA_GW2,
        Duration::from_secs(10),
        "with gw1 unproven",
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let bfd = loop {
        let bfd = support::vrctl_json(&socket, &["show", "bfd"]);
        let talked = bfd["sessions"][0]["tx_packets"].as_u64().unwrap_or(0) >= 1;
        if talked || Instant::now() > deadline {
            break bfd;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let sessions = bfd["sessions"].as_array().expect("a session list");
    assert_eq!(sessions.len(), 1, "{bfd}");
    assert_eq!(sessions[0]["peer"], "192.0.2.2");
    assert_eq!(sessions[0]["interface"], "up1");
    assert_eq!(sessions[0]["state"], "down");
    assert!(
        sessions[0]["tx_packets"].as_u64().unwrap_or(0) >= 1,
        "the session talks (once a second while not Up): {bfd}"
    );
    assert_eq!(sessions[0]["guards_live"], false);
}
