//! The human form of each `show` answer: aligned tables, `show ip route`
//! style codes for routes. Pure functions of the API's reply types, so
//! the golden tests need no daemon.

use std::fmt::Write as _;
use std::time::Duration;

use router::mgmt::api::{
    BfdReply, BfdSession, CountersReply, FibReply, FibVerdict, InterfacesReply, NeighborsReply,
    NextHop, NexthopGroupsReply, Route, RouteSource, RoutesReply, Target,
};

use crate::table::Table;

/// The legend printed above route tables.
pub const ROUTE_CODES: &str = "Codes: C connected, S static, L local; > selected (in the FIB)\n";

/// `primary`, `backup`, then `tier N`.
pub fn tier_name(tier: u8) -> String {
    match tier {
        0 => "primary".into(),
        1 => "backup".into(),
        n => format!("tier {n}"),
    }
}

fn source_code(source: &RouteSource) -> &'static str {
    match source {
        RouteSource::Connected => "C",
        RouteSource::Static => "S",
        RouteSource::Local => "L",
        RouteSource::Unknown(_) => "?",
    }
}

fn live(live: Option<bool>) -> &'static str {
    match live {
        Some(true) => "up",
        Some(false) => "down",
        None => "-",
    }
}

fn via(nexthop: &NextHop) -> String {
    nexthop
        .via
        .map_or_else(|| "directly".to_owned(), |v| v.to_string())
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn age(ms: u64) -> String {
    let d = Duration::from_millis(ms);
    if d < Duration::from_secs(60) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

pub fn interfaces(reply: &InterfacesReply) -> String {
    let mut t = Table::new(&[
        "INTERFACE",
        "LINK",
        "MAC",
        "MTU",
        "ADDRESSES",
        "TWIN",
        "XDP",
        "BIND",
        "RX PACKETS",
        "TX PACKETS",
        "TX DROPPED",
    ])
    .right_aligned(&[3, 8, 9, 10]);
    for i in &reply.interfaces {
        let addresses: Vec<String> = i.addresses.iter().map(ToString::to_string).collect();
        t.row([
            i.name.clone(),
            i.link.to_string(),
            i.mac.clone(),
            i.mtu.to_string(),
            addresses.join(", "),
            i.twin.clone(),
            i.xdp_mode.clone(),
            i.bind_mode.clone(),
            i.counters.rx_packets.to_string(),
            i.counters.tx_packets.to_string(),
            i.counters.tx_dropped.to_string(),
        ]);
    }
    t.render()
}

/// One table row per next hop; the route's columns only on its first.
fn route_rows(t: &mut Table, route: &Route) {
    let code = format!(
        "{}{}",
        source_code(&route.source),
        if route.selected { ">" } else { " " }
    );
    let lead = [code, route.prefix.to_string(), route.distance.to_string()];
    let simple =
        |what: &str| -> Vec<String> { lead.iter().cloned().chain([what.to_owned()]).collect() };
    match &route.target {
        Target::Local => t.row(simple("local")),
        Target::Blackhole => t.row(simple("blackhole")),
        Target::Reject => t.row(simple("reject")),
        Target::Unknown => t.row(simple("?")),
        Target::Forward { nexthops, .. } if nexthops.is_empty() => t.row(simple("-")),
        Target::Forward { nexthops, .. } => {
            for (i, nh) in nexthops.iter().enumerate() {
                let first: Vec<String> = if i == 0 {
                    lead.to_vec()
                } else {
                    vec![String::new(); 3]
                };
                t.row(first.into_iter().chain([
                    via(nh),
                    nh.interface.clone(),
                    tier_name(nh.tier),
                    nh.weight.to_string(),
                    live(nh.live).to_owned(),
                ]));
            }
        }
    }
}

/// `show routes` and `show static`.
pub fn routes(reply: &RoutesReply) -> String {
    let mut t = Table::new(&[
        "",
        "PREFIX",
        "AD",
        "NEXT HOP",
        "INTERFACE",
        "TIER",
        "WEIGHT",
        "STATE",
    ])
    .right_aligned(&[2, 6]);
    for route in &reply.routes {
        route_rows(&mut t, route);
    }
    format!(
        "{ROUTE_CODES}\n{}\nFIB: {} IPv4 and {} IPv6 routes\n",
        t.render(),
        reply.fib_routes.ipv4,
        reply.fib_routes.ipv6
    )
}

/// `show fib ADDR`: the verdict, then why, then the group's tiers.
pub fn fib(reply: &FibReply) -> String {
    let f = &reply.flow;
    let mut out = String::new();
    let matched = match (&reply.matched, &reply.source) {
        (Some(p), Some(s)) => format!("{p} ({s})"),
        (Some(p), None) => p.to_string(),
        (None, _) => "nothing".into(),
    };
    let _ = writeln!(out, "{} -> {}", f.destination, reply.verdict);
    let _ = writeln!(
        out,
        "  flow      {} -> {}, protocol {}, ports {} -> {}, hash {:#010x}",
        f.source, f.destination, f.protocol, f.source_port, f.destination_port, f.hash
    );
    let _ = writeln!(out, "  matched   {matched}");
    if let Some(g) = reply.group {
        let _ = writeln!(out, "  group     {g}");
    }
    if let Some(nh) = &reply.chosen {
        let _ = writeln!(
            out,
            "  next hop  {} on {} ({}, id {})",
            via(nh),
            nh.interface,
            tier_name(nh.tier),
            nh.id.map_or_else(|| "-".into(), |i| i.to_string())
        );
    }
    if let Some(n) = &reply.neighbor {
        let _ = writeln!(
            out,
            "  neighbor  {} on {}: {}",
            n.address,
            n.interface,
            match (&n.state, &n.mac) {
                (Some(state), Some(mac)) => format!("{state} {mac}"),
                (Some(state), None) => state.clone(),
                (None, _) => "not in the table yet (the first packet resolves it)".into(),
            }
        );
    }
    let _ = writeln!(out, "  why       {}", why(reply));
    if !reply.tiers.is_empty() {
        let mut t = Table::new(&["", "TIER", "NEXT HOP", "INTERFACE", "WEIGHT", "STATE"])
            .right_aligned(&[4]);
        for tier in &reply.tiers {
            for nh in &tier.nexthops {
                let chosen = reply.chosen.as_ref().is_some_and(|c| c.id == nh.id);
                t.row([
                    if chosen { "*" } else { "" }.to_owned(),
                    tier_name(tier.tier),
                    via(nh),
                    nh.interface.clone(),
                    nh.weight.to_string(),
                    live(nh.live).to_owned(),
                ]);
            }
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    out
}

/// The reason for the verdict, in one sentence.
fn why(reply: &FibReply) -> String {
    let matched = reply
        .matched
        .map_or_else(|| "?".to_owned(), |p| p.to_string());
    match &reply.verdict {
        FibVerdict::NoRoute => "no route matches: dropped (no_route)".into(),
        FibVerdict::Local => {
            format!("{matched} is the router's own address: handed to the host through the twin")
        }
        FibVerdict::Blackhole => format!("{matched} is a blackhole route: dropped silently"),
        FibVerdict::Reject => {
            format!("{matched} is a reject route: dropped, ICMP destination unreachable sent back")
        }
        FibVerdict::NoLiveNexthop => format!(
            "every tier of group {} is down: dropped (no_live_nexthop)",
            reply.group.unwrap_or_default()
        ),
        FibVerdict::FibInconsistent => format!(
            "the FIB names group {} but does not hold it: dropped (fib_inconsistent)",
            reply.group.unwrap_or_default()
        ),
        FibVerdict::Forward => {
            let tier = reply.live_tier.unwrap_or(0);
            let fallback = if tier > 0 {
                let down: Vec<String> = (0..tier).map(tier_name).collect();
                format!("{} down, so ", down.join(" and "))
            } else {
                String::new()
            };
            let pick = match &reply.chosen {
                Some(nh) => format!("the flow hash picks {} on {}", via(nh), nh.interface),
                None => "?".into(),
            };
            format!(
                "longest match {matched}; {fallback}{} carries it; {pick}",
                tier_name(tier)
            )
        }
        FibVerdict::Unknown(v) => format!("verdict {v} (from a newer vrouterd)"),
    }
}

pub fn nexthop_groups(reply: &NexthopGroupsReply) -> String {
    let mut t = Table::new(&[
        "GROUP",
        "USED BY",
        "",
        "TIER",
        "NEXT HOP",
        "INTERFACE",
        "WEIGHT",
        "BUCKETS",
        "STATE",
    ])
    .right_aligned(&[0, 6, 7]);
    for g in &reply.groups {
        let prefixes: Vec<String> = g.prefixes.iter().map(ToString::to_string).collect();
        let mut first = true;
        for tier in &g.tiers {
            for nh in &tier.nexthops {
                let lead = if first {
                    [g.id.to_string(), prefixes.join(", ")]
                } else {
                    [String::new(), String::new()]
                };
                first = false;
                let in_use = g.live_tier == Some(tier.tier) && nh.live == Some(true);
                t.row(lead.into_iter().chain([
                    if in_use { "*" } else { "" }.to_owned(),
                    tier_name(tier.tier),
                    via(nh),
                    nh.interface.clone(),
                    nh.weight.to_string(),
                    nh.buckets.map_or_else(|| "-".into(), |b| b.to_string()),
                    live(nh.live).to_owned(),
                ]));
            }
        }
    }
    format!(
        "* carries traffic now (live member of the first live tier)\n\n{}",
        t.render()
    )
}

pub fn neighbors(reply: &NeighborsReply) -> String {
    let mut t =
        Table::new(&["INTERFACE", "ADDRESS", "MAC", "STATE", "ROUTER", "AGE"]).right_aligned(&[5]);
    for n in &reply.neighbors {
        t.row([
            n.interface.clone(),
            n.address.to_string(),
            n.mac.clone().unwrap_or_else(|| "-".into()),
            n.state.clone(),
            yes_no(n.router).to_owned(),
            age(n.age_ms),
        ]);
    }
    let note = match reply.snapshot_age_ms {
        Some(ms) => format!("(the dataplane's table as of {} ago)\n", age(ms)),
        None => "(the dataplane has not published its table yet)\n".to_owned(),
    };
    format!("{}{note}", t.render())
}

/// A BFD interval in µs, as ms the way FRR prints them.
fn interval(us: impl Into<u64>) -> String {
    let us = us.into();
    if us % 1000 == 0 {
        format!("{}ms", us / 1000)
    } else {
        format!("{:.3}ms", us as f64 / 1000.0)
    }
}

fn bfd_snapshot_note(reply: &BfdReply) -> String {
    match reply.snapshot_age_ms {
        Some(ms) => format!("(the dataplane's sessions as of {} ago)\n", age(ms)),
        None => "(the dataplane has not published its BFD sessions yet)\n".to_owned(),
    }
}

/// `show bfd` / `show bfd peers`: one line per session.
pub fn bfd_peers(reply: &BfdReply) -> String {
    let mut t = Table::new(&[
        "PEER",
        "LOCAL",
        "INTERFACE",
        "STATE",
        "FOR",
        "TX",
        "RX",
        "DETECT",
        "DIAG",
        "RX PKTS",
        "TX PKTS",
    ])
    .right_aligned(&[4, 5, 6, 7, 9, 10]);
    for s in &reply.sessions {
        t.row([
            s.peer.to_string(),
            s.local.to_string(),
            s.interface
                .clone()
                .unwrap_or_else(|| "(multihop)".to_owned()),
            s.state.clone(),
            age(s.for_ms),
            interval(s.tx_interval_us),
            interval(s.rx_interval_us),
            interval(s.detect_time_us),
            s.local_diag.clone(),
            s.rx_packets.to_string(),
            s.tx_packets.to_string(),
        ]);
    }
    if reply.sessions.is_empty() {
        return format!("no BFD sessions\n{}", bfd_snapshot_note(reply));
    }
    format!("{}{}", t.render(), bfd_snapshot_note(reply))
}

/// `show bfd peer ADDR`: everything about the peer's sessions.
pub fn bfd_detail(reply: &BfdReply) -> String {
    let mut out = String::new();
    if reply.sessions.is_empty() {
        out.push_str("no BFD session with that peer\n");
    }
    for s in &reply.sessions {
        bfd_session_detail(&mut out, s);
    }
    out.push_str(&bfd_snapshot_note(reply));
    out
}

fn bfd_session_detail(out: &mut String, s: &BfdSession) {
    let _ = writeln!(
        out,
        "peer {} local {}{}{}",
        s.peer,
        s.local,
        s.interface
            .as_ref()
            .map(|i| format!(" interface {i}"))
            .unwrap_or_default(),
        if s.multihop { " multihop" } else { "" }
    );
    let _ = writeln!(
        out,
        "  state {} for {}, remote state {}{}",
        s.state,
        age(s.for_ms),
        s.remote_state,
        if s.dampened { ", dampened" } else { "" }
    );
    let _ = writeln!(
        out,
        "  discriminators local {} remote {}, UDP source port {}",
        s.local_discriminator, s.remote_discriminator, s.udp_source_port
    );
    let _ = writeln!(
        out,
        "  timers: tx {}, rx {}, detect {} (peer multiplier {})",
        interval(s.tx_interval_us),
        interval(s.rx_interval_us),
        interval(s.detect_time_us),
        s.remote_detect_multiplier
    );
    let _ = writeln!(
        out,
        "  diagnostics: local {}, remote {}",
        s.local_diag, s.remote_diag
    );
    let _ = writeln!(
        out,
        "  packets: rx {} tx {} dropped {} (auth failures {}, TTL failures {}), flaps {}",
        s.rx_packets, s.tx_packets, s.dropped, s.auth_failures, s.ttl_failures, s.flaps
    );
    let _ = writeln!(
        out,
        "  guarded next hops: {}",
        if s.guards_live { "live" } else { "held down" }
    );
}

pub fn counters(reply: &CountersReply) -> String {
    let mut ports = Table::new(&[
        "PORT",
        "RX PACKETS",
        "RX BYTES",
        "TX PACKETS",
        "TX BYTES",
        "TX DROPPED",
    ])
    .right_aligned(&[1, 2, 3, 4, 5]);
    for p in &reply.ports {
        let c = &p.counters;
        ports.row([
            p.name.clone(),
            c.rx_packets.to_string(),
            c.rx_bytes.to_string(),
            c.tx_packets.to_string(),
            c.tx_bytes.to_string(),
            c.tx_dropped.to_string(),
        ]);
    }
    let mut totals = Table::new(&["DATAPLANE", "COUNT"]).right_aligned(&[1]);
    for (name, value) in [
        ("forwarded", reply.forwarded),
        ("icmp errors sent", reply.icmp_errors_sent),
        ("icmp errors rate-limited", reply.icmp_errors_rate_limited),
        ("fragments sent", reply.fragments_sent),
        ("queued for ARP/ND", reply.neighbor_queued),
        ("solicitations sent", reply.solicitations_sent),
        ("host twin drops", reply.host_twin_drops),
    ] {
        totals.row([name.to_owned(), value.to_string()]);
    }
    let nonzero = |title: &str, unit: &str, map: &std::collections::BTreeMap<String, u64>| {
        let mut t = Table::new(&[title, unit]).right_aligned(&[1]);
        for (name, value) in map.iter().filter(|(_, v)| **v > 0) {
            t.row([name.clone(), value.to_string()]);
        }
        if t.is_empty() {
            format!("{title}: none\n")
        } else {
            t.render()
        }
    };
    format!(
        "{}\n{}\n{}\n{}(drop reasons and punt classes at 0 are left out; --json lists them all)\n",
        ports.render(),
        totals.render(),
        nonzero("DROP REASON", "PACKETS", &reply.drops),
        nonzero("PUNT CLASS", "FRAMES", &reply.punts),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use router::mgmt::api::{
        FamilyCounts, Flow, Group, Interface, LinkState, NamedPortCounters, Neighbor, NeighborHint,
        PortCounters, Tier,
    };

    use super::*;

    /// Compares with `cli/golden/NAME.txt`; `UPDATE_GOLDEN=1` rewrites it.
    fn golden(name: &str, actual: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("golden/{name}.txt"));
        if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
            std::fs::write(&path, actual).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (create it with UPDATE_GOLDEN=1)", path.display()));
        assert!(
            actual == expected,
            "{name} differs from {}\n--- expected\n{expected}--- actual\n{actual}---",
            path.display()
        );
    }

    fn hop(id: u32, interface: &str, via: Option<&str>, tier: u8, up: bool) -> NextHop {
        NextHop {
            id: Some(id),
            interface: interface.into(),
            via: via.map(|v| v.parse().unwrap()),
            tier,
            weight: 1,
            live: Some(up),
            buckets: None,
        }
    }

    fn route(
        prefix: &str,
        source: RouteSource,
        distance: u8,
        selected: bool,
        target: Target,
    ) -> Route {
        Route {
            prefix: prefix.parse().unwrap(),
            source,
            distance,
            selected,
            target,
        }
    }

    /// The two-gateway server: LAN p1, uplinks up1 (primary) and up2
    /// (backup), gw1's link down.
    fn routes_reply() -> RoutesReply {
        let uplinks = Target::Forward {
            group: Some(3),
            nexthops: vec![
                hop(4, "up1", Some("192.0.2.2"), 0, false),
                hop(5, "up2", Some("198.51.100.2"), 1, true),
            ],
        };
        RoutesReply {
            routes: vec![
                route("0.0.0.0/0", RouteSource::Static, 1, true, uplinks),
                route(
                    "10.1.0.0/24",
                    RouteSource::Connected,
                    0,
                    true,
                    Target::Forward {
                        group: Some(0),
                        nexthops: vec![hop(1, "p1", None, 0, true)],
                    },
                ),
                route(
                    "10.1.0.0/24",
                    RouteSource::Static,
                    1,
                    false,
                    Target::Forward {
                        group: None,
                        nexthops: vec![NextHop {
                            id: None,
                            live: None,
                            ..hop(0, "up2", Some("198.51.100.2"), 0, true)
                        }],
                    },
                ),
                route("10.1.0.1/32", RouteSource::Local, 0, true, Target::Local),
                route(
                    "203.0.113.0/24",
                    RouteSource::Static,
                    1,
                    true,
                    Target::Blackhole,
                ),
            ],
            fib_routes: FamilyCounts { ipv4: 4, ipv6: 0 },
        }
    }

    #[test]
    fn routes_table() {
        golden("routes", &routes(&routes_reply()));
    }

    #[test]
    fn interfaces_table() {
        let reply = InterfacesReply {
            interfaces: vec![
                Interface {
                    name: "p1".into(),
                    twin: "vr-p1".into(),
                    mac: "02:00:00:00:01:01".into(),
                    mtu: 1500,
                    addresses: vec![
                        "10.1.0.1/24".parse().unwrap(),
                        "2001:db8:1::1/64".parse().unwrap(),
                    ],
                    link: LinkState::Up,
                    xdp_mode: "generic".into(),
                    bind_mode: "copy".into(),
                    queue: 0,
                    core: 1,
                    counters: PortCounters {
                        rx_packets: 1234,
                        rx_bytes: 99_000,
                        tx_packets: 7,
                        tx_bytes: 700,
                        tx_dropped: 0,
                    },
                },
                Interface {
                    name: "up1".into(),
                    twin: "vr-up1".into(),
                    mac: "02:00:00:00:02:01".into(),
                    mtu: 9000,
                    addresses: vec!["192.0.2.1/24".parse().unwrap()],
                    link: LinkState::Down,
                    xdp_mode: "native".into(),
                    bind_mode: "zero-copy".into(),
                    queue: 0,
                    core: 1,
                    counters: PortCounters::default(),
                },
            ],
        };
        golden("interfaces", &interfaces(&reply));
    }

    #[test]
    fn fib_explains_a_failover_to_the_backup_tier() {
        let reply = FibReply {
            flow: Flow {
                source: "10.1.0.2".parse().unwrap(),
                destination: "203.0.113.10".parse().unwrap(),
                protocol: 6,
                source_port: 40000,
                destination_port: 443,
                hash: 0x1234_abcd,
            },
            verdict: FibVerdict::Forward,
            matched: Some("0.0.0.0/0".parse().unwrap()),
            source: Some(RouteSource::Static),
            group: Some(3),
            tiers: vec![
                Tier {
                    tier: 0,
                    live: false,
                    nexthops: vec![hop(4, "up1", Some("192.0.2.2"), 0, false)],
                },
                Tier {
                    tier: 1,
                    live: true,
                    nexthops: vec![hop(5, "up2", Some("198.51.100.2"), 1, true)],
                },
            ],
            live_tier: Some(1),
            chosen: Some(hop(5, "up2", Some("198.51.100.2"), 1, true)),
            neighbor: Some(NeighborHint {
                interface: "up2".into(),
                address: "198.51.100.2".parse().unwrap(),
                mac: Some("02:00:00:00:03:02".into()),
                state: Some("REACHABLE".into()),
            }),
        };
        golden("fib_backup", &fib(&reply));
    }

    #[test]
    fn fib_without_a_route() {
        let reply = FibReply {
            flow: Flow {
                source: "0.0.0.0".parse().unwrap(),
                destination: "192.168.9.9".parse().unwrap(),
                protocol: 0,
                source_port: 0,
                destination_port: 0,
                hash: 7,
            },
            verdict: FibVerdict::NoRoute,
            matched: None,
            source: None,
            group: None,
            tiers: vec![],
            live_tier: None,
            chosen: None,
            neighbor: None,
        };
        golden("fib_no_route", &fib(&reply));
    }

    #[test]
    fn nexthop_groups_table() {
        let with_buckets = |mut n: NextHop, b: usize| {
            n.buckets = Some(b);
            n
        };
        let reply = NexthopGroupsReply {
            groups: vec![
                Group {
                    id: 0,
                    prefixes: vec!["10.1.0.0/24".parse().unwrap()],
                    live_tier: Some(0),
                    tiers: vec![Tier {
                        tier: 0,
                        live: true,
                        nexthops: vec![with_buckets(hop(1, "p1", None, 0, true), 4096)],
                    }],
                },
                Group {
                    id: 3,
                    prefixes: vec![
                        "0.0.0.0/0".parse().unwrap(),
                        "100.64.0.0/10".parse().unwrap(),
                    ],
                    live_tier: Some(1),
                    tiers: vec![
                        Tier {
                            tier: 0,
                            live: false,
                            nexthops: vec![with_buckets(
                                hop(4, "up1", Some("192.0.2.2"), 0, false),
                                4096,
                            )],
                        },
                        Tier {
                            tier: 1,
                            live: true,
                            nexthops: vec![
                                with_buckets(hop(5, "up2", Some("198.51.100.2"), 1, true), 2048),
                                with_buckets(hop(6, "up2", Some("198.51.100.3"), 1, true), 2048),
                            ],
                        },
                    ],
                },
            ],
        };
        golden("nexthop_groups", &nexthop_groups(&reply));
    }

    fn bfd_session(state: &str, tx_us: u32) -> BfdSession {
        BfdSession {
            peer: "192.0.2.2".parse().unwrap(),
            local: "192.0.2.1".parse().unwrap(),
            interface: Some("up1".into()),
            multihop: false,
            state: state.into(),
            remote_state: state.into(),
            local_discriminator: 7,
            remote_discriminator: 9,
            for_ms: 65_000,
            tx_interval_us: tx_us,
            rx_interval_us: 10_000,
            detect_time_us: 30_000,
            remote_detect_multiplier: 3,
            local_diag: "none".into(),
            remote_diag: "none".into(),
            rx_packets: 120,
            tx_packets: 121,
            dropped: 0,
            auth_failures: 0,
            ttl_failures: 0,
            flaps: 1,
            dampened: false,
            guards_live: true,
            udp_source_port: 49152,
        }
    }

    #[test]
    fn bfd_peers_table_and_detail() {
        let reply = BfdReply {
            sessions: vec![bfd_session("up", 3_500)],
            unmatched: Default::default(),
            snapshot_age_ms: Some(80),
        };
        let table = bfd_peers(&reply);
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].starts_with("PEER") && lines[0].contains("DETECT"),
            "{table}"
        );
        assert!(
            lines[1].contains("192.0.2.2") && lines[1].contains("up1"),
            "{table}"
        );
        assert!(
            lines[1].contains("3.500ms") && lines[1].contains("30ms"),
            "µs shown as ms: {table}"
        );
        assert!(lines[1].contains("1m05s"), "time in state: {table}");
        assert!(table.ends_with("(the dataplane's sessions as of 0.1s ago)\n"));
        let detail = bfd_detail(&reply);
        assert!(
            detail.contains("discriminators local 7 remote 9"),
            "{detail}"
        );
        assert!(detail.contains("guarded next hops: live"), "{detail}");
        let none = BfdReply {
            sessions: Vec::new(),
            unmatched: Default::default(),
            snapshot_age_ms: None,
        };
        assert!(bfd_peers(&none).starts_with("no BFD sessions"));
    }

    #[test]
    fn neighbors_table() {
        let reply = NeighborsReply {
            neighbors: vec![
                Neighbor {
                    interface: "p1".into(),
                    address: "10.1.0.2".parse().unwrap(),
                    mac: Some("02:00:00:00:00:02".into()),
                    state: "REACHABLE".into(),
                    router: false,
                    age_ms: 1_250,
                },
                Neighbor {
                    interface: "up1".into(),
                    address: "192.0.2.2".parse().unwrap(),
                    mac: None,
                    state: "INCOMPLETE".into(),
                    router: false,
                    age_ms: 125_000,
                },
                Neighbor {
                    interface: "up2".into(),
                    address: "fe80::1".parse().unwrap(),
                    mac: Some("02:00:00:00:03:02".into()),
                    state: "STALE".into(),
                    router: true,
                    age_ms: 30_000,
                },
            ],
            snapshot_age_ms: Some(120),
        };
        golden("neighbors", &neighbors(&reply));
    }

    #[test]
    fn counters_tables_leave_out_zeros() {
        let mut drops: BTreeMap<String, u64> =
            [("no_route", 3), ("ttl_expired", 0), ("blackhole", 12)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
        drops.insert("mtu_exceeded".into(), 0);
        let reply = CountersReply {
            ports: vec![NamedPortCounters {
                name: "p1".into(),
                counters: PortCounters {
                    rx_packets: 10,
                    rx_bytes: 980,
                    tx_packets: 9,
                    tx_bytes: 882,
                    tx_dropped: 1,
                },
            }],
            forwarded: 8,
            drops,
            punts: [("arp".to_owned(), 2u64), ("ospf".to_owned(), 0)]
                .into_iter()
                .collect(),
            icmp_errors_sent: 1,
            icmp_errors_rate_limited: 0,
            fragments_sent: 0,
            neighbor_queued: 2,
            solicitations_sent: 2,
            host_twin_drops: 0,
        };
        golden("counters", &counters(&reply));
    }

    #[test]
    fn tier_names() {
        assert_eq!(tier_name(0), "primary");
        assert_eq!(tier_name(1), "backup");
        assert_eq!(tier_name(2), "tier 2");
    }
}
