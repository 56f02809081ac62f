//! `vrctl show …` and `/metrics` against a real vrouterd between
//! namespaces (`h1 —veth— [vrouterd] —veth— h2`): each answer reflects the
//! configuration, and the counters reflect traffic. Root only; CI runs as
//! root.
//!
//! vrctl is the `cli` package's binary, found next to this test's
//! directory (`target/<profile>/vrctl`): `cargo test --workspace` and
//! `cargo test -p router -p cli` build it first. `VRCTL=/path/to/vrctl`
//! overrides.

mod mgmt_support;
mod support;

use std::time::{Duration, Instant};

use mgmt_support::{parse_exposition, sample};
use serde_json::Value;
use support::*;

const METRICS: &str = "127.0.0.1:9101";

fn ping_until_ok(ns: &Netns, target: &str, tries: u32) {
    for _ in 0..tries {
        if ns
            .try_sh(&format!("ping -c 1 -W 1 {target}"))
            .unwrap()
            .status
            .success()
        {
            return;
        }
    }
    panic!("no answer from {target} in {tries} tries");
}

/// Retries `check` for up to 5 s: the neighbor copy is refreshed every
/// 200 ms, so a just-learned neighbor takes a moment to show.
fn eventually(what: &str, mut check: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match check() {
            Ok(()) => return,
            Err(e) if Instant::now() >= deadline => panic!("{what}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn as_u64(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn vrctl_show_and_metrics_reflect_config_and_traffic() {
    if skip_unless_root() {
        return;
    }
    let lab = ThreeNodeLab::new();
    // VrouterdProcess puts its files (config, log) in this directory.
    let dir = std::env::temp_dir().join(format!("vrouterd-{}", lab.rtr.name));
    let socket = dir.join("api.sock");
    let extra = format!(
        r#"
[[static-route]]
prefix = "198.18.0.0/15"
[[static-route.next-hop]]
via = "10.2.0.2"
[[static-route.next-hop]]
via = "10.1.0.2"
tier = "backup"

[[static-route]]
prefix = "203.0.113.0/24"
blackhole = true

[management]
socket = "{}"

[metrics]
listen = "{METRICS}"
"#,
        socket.display()
    );
    let mut vr = Vrouterd::start(&lab.rtr, &ThreeNodeLab::config(1500, &extra));
    let meta = std::fs::metadata(&socket).expect("the socket exists once vrouterd runs");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o660
    );

    ping_until_ok(&lab.h1, "10.2.0.2", 10);
    let out = lab.h1.run("ping -c 20 -i 0.01 -W 1 10.2.0.2");
    assert!(out.contains(" 0% packet loss"), "{out}");

    // Interfaces: as configured, links up, traffic counted.
    let interfaces = vrctl_json(&socket, &["show", "interfaces"]);
    let list = interfaces["interfaces"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let p1 = &list[0];
    assert_eq!(p1["name"], "p1");
    assert_eq!(p1["twin"], "vr-p1");
    assert_eq!(p1["mtu"], 1500);
    assert_eq!(
        p1["addresses"],
        serde_json::json!(["10.1.0.1/24", "2001:db8:1::1/64"])
    );
    assert_eq!(p1["link"], "up");
    assert_eq!(
        p1["mac"].as_str().unwrap(),
        lab.rtr.run("cat /sys/class/net/p1/address").trim()
    );
    assert!(as_u64(&p1["counters"]["rx_packets"]) >= 20, "{p1}");
    assert!(
        as_u64(&list[1]["counters"]["tx_packets"]) >= 20,
        "{}",
        list[1]
    );

    // Routes: connected, local and static, each selected; the blackhole.
    let routes = vrctl_json(&socket, &["show", "routes"]);
    let find = |prefix: &str| {
        routes["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["prefix"] == prefix)
            .unwrap_or_else(|| panic!("no route {prefix} in {routes}"))
            .clone()
    };
    let connected = find("10.2.0.0/24");
    assert_eq!(
        (&connected["source"], &connected["selected"]),
        (&"connected".into(), &true.into())
    );
    assert_eq!(find("10.1.0.1/32")["target"]["kind"], "local");
    let fast = find("198.18.0.0/15");
    assert_eq!(fast["source"], "static");
    assert_eq!(fast["selected"], true);
    let hops = fast["target"]["nexthops"].as_array().unwrap();
    assert_eq!(hops.len(), 2);
    assert_eq!(
        (&hops[0]["via"], &hops[0]["interface"], &hops[0]["tier"]),
        (&"10.2.0.2".into(), &"p2".into(), &0.into())
    );
    assert_eq!(
        (&hops[1]["via"], &hops[1]["tier"]),
        (&"10.1.0.2".into(), &1.into())
    );
    assert_eq!(find("203.0.113.0/24")["target"]["kind"], "blackhole");
    let human = vrctl(&socket, &["show", "routes", "10.0.0.0/8"]);
    assert!(human.contains("C>  10.2.0.0/24"), "{human}");
    assert!(!human.contains("198.18.0.0/15"), "filtered out:\n{human}");

    // Static routes alone; next-hop groups with both tiers.
    let statics = vrctl_json(&socket, &["show", "static"]);
    assert_eq!(statics["routes"].as_array().unwrap().len(), 2);
    let groups = vrctl_json(&socket, &["show", "nexthop-groups"]);
    let fast_group = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| {
            g["prefixes"]
                .as_array()
                .unwrap()
                .contains(&"198.18.0.0/15".into())
        })
        .unwrap_or_else(|| panic!("{groups}"))
        .clone();
    assert_eq!(fast_group["tiers"].as_array().unwrap().len(), 2);
    assert_eq!(fast_group["live_tier"], 0);

    // Where 10.2.0.2 goes, and its neighbor as the dataplane learned it.
    let h2_mac = lab
        .h2
        .run("cat /sys/class/net/eth0/address")
        .trim()
        .to_owned();
    eventually("show fib 10.2.0.2 names h2's MAC", || {
        let fib = vrctl_json(&socket, &["show", "fib", "10.2.0.2"]);
        let ok = fib["verdict"] == "forward"
            && fib["matched"] == "10.2.0.0/24"
            && fib["source"] == "connected"
            && fib["chosen"]["interface"] == "p2"
            && fib["neighbor"]["mac"] == h2_mac.as_str();
        if ok { Ok(()) } else { Err(fib.to_string()) }
    });
    let human = vrctl(
        &socket,
        &[
            "show",
            "fib",
            "198.18.1.1",
            "--proto",
            "udp",
            "--sport",
            "1000",
            "--dport",
            "53",
        ],
    );
    assert!(human.starts_with("198.18.1.1 -> forward"), "{human}");
    assert!(
        human.contains("next hop  10.2.0.2 on p2 (primary"),
        "{human}"
    );
    eventually("show neighbors lists h2", || {
        let neighbors = vrctl_json(&socket, &["show", "neighbors"]);
        let found = neighbors["neighbors"].as_array().unwrap().iter().any(|n| {
            n["interface"] == "p2" && n["address"] == "10.2.0.2" && n["mac"] == h2_mac.as_str()
        });
        if found {
            Ok(())
        } else {
            Err(neighbors.to_string())
        }
    });

    // Counters: the pings were forwarded; every drop reason is named.
    let counters = vrctl_json(&socket, &["show", "counters"]);
    assert!(
        as_u64(&counters["forwarded"]) >= 40,
        "20 echoes and 20 replies: {counters}"
    );
    assert!(counters["drops"]["no_route"].is_u64());
    assert!(as_u64(&counters["punts"]["arp"]) >= 1, "{counters}");

    // The running config, in the file's syntax, reads back as the same.
    let shown = vrctl(&socket, &["show", "config"]);
    let env = router::config::ValidationEnv { cpu_count: 2 };
    let back = router::config::parse_str(&shown, "shown.toml", &env)
        .unwrap_or_else(|e| panic!("{e}\n{shown}"));
    let json = vrctl_json(&socket, &["show", "config"]);
    let running: router::config::Config = serde_json::from_value(json["config"].clone()).unwrap();
    assert_eq!(back, running);
    assert_eq!(running.static_routes.len(), 2);
    assert_eq!(running.management.socket, socket);
    for what in [
        "interfaces",
        "nexthop-groups",
        "neighbors",
        "counters",
        "static",
    ] {
        assert!(!vrctl(&socket, &["show", what]).is_empty());
    }

    // Three packets into the blackhole: drops charged to their ingress port.
    let _ = lab.h1.try_sh("ping -c 3 -i 0.01 -W 1 203.0.113.9");

    // /metrics, scraped with curl from inside the router's namespace, as
    // Prometheus would.
    let out = lab
        .rtr
        .try_sh(&format!(
            "curl -sS --fail --max-time 5 http://{METRICS}/metrics"
        ))
        .unwrap();
    let body = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        body.ends_with("# EOF\n"),
        "OpenMetrics text ends with # EOF"
    );
    let samples = parse_exposition(&body);
    assert!(sample(&samples, r#"vrouter_port_rx_packets_total{port="p1"}"#) >= 20.0);
    assert!(sample(&samples, r#"vrouter_port_tx_packets_total{port="p2"}"#) >= 20.0);
    assert!(sample(&samples, "vrouter_forwarded_packets_total") >= 40.0);
    assert_eq!(sample(&samples, r#"vrouter_port_up{port="p1"}"#), 1.0);
    for reason in ["no_route", "ttl_expired", "blackhole", "no_live_nexthop"] {
        sample(
            &samples,
            &format!(r#"vrouter_drops_total{{reason="{reason}"}}"#),
        );
    }
    assert_eq!(sample(&samples, r#"vrouter_routes{source="static"}"#), 2.0);
    assert!(
        sample(
            &samples,
            r#"vrouter_port_drops_total{port="p1",reason="blackhole"}"#
        ) >= 3.0
    );
    // Next-hop ids are the RIB's business: find them by their labels.
    let nexthop_up = |interface: &str, via: &str| {
        let labels = format!(r#",interface="{interface}",via="{via}"}}"#);
        samples
            .iter()
            .find(|(series, _)| {
                series.starts_with("vrouter_nexthop_up{") && series.ends_with(&labels)
            })
            .unwrap_or_else(|| panic!("no vrouter_nexthop_up for {interface} via {via}"))
            .1
    };
    assert_eq!(nexthop_up("p2", "10.2.0.2"), 1.0);
    assert_eq!(nexthop_up("p1", "10.1.0.2"), 1.0);

    assert!(vr.stop(), "clean exit on SIGTERM:\n{}", vr.log_text());
    assert!(!socket.exists(), "the socket is removed at stop");
}
