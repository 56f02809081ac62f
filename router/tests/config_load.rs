//! The configuration API: the model a valid file turns into (defaults and
//! resolved references included), how errors expose their parts, loading
//! from disk, and the machine-dependent core rules.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use router::config::{
    BfdAuthType, BfdAuthentication, BfdProfile, BindMode, Config, EcmpConfig, IcmpConfig,
    IdlePolicy, KernelRoutesConfig, ManagementConfig, MetricsConfig, NeighborConfig, NextHop,
    PortConfigModel, Probe, ProbeKind, RouteTarget, StaticRoute, SystemConfig, ValidationEnv,
    XdpMode, load, parse_str,
};

const FOUR_CPUS: ValidationEnv = ValidationEnv { cpu_count: 4 };

fn golden(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/config")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ok(text: &str, env: &ValidationEnv) -> Config {
    parse_str(text, "test.toml", env).unwrap_or_else(|e| panic!("expected a valid config:\n{e}"))
}

fn net(s: &str) -> ipnet::IpNet {
    s.parse().expect("test prefix")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn next_hop(via: Option<&str>, interface: &str, weight: u32, tier: u8) -> NextHop {
    NextHop {
        via: via.map(ip),
        interface: interface.into(),
        weight,
        tier,
        probe: None,
        bfd: None,
    }
}

fn with_bfd(mut nh: NextHop, profile: &str) -> NextHop {
    nh.bfd = Some(profile.into());
    nh
}

fn probed(mut nh: NextHop, probe: Probe) -> NextHop {
    nh.probe = Some(probe);
    nh
}

#[test]
fn full_example_becomes_the_expected_model() {
    let config = ok(&golden("valid_full.toml"), &FOUR_CPUS);
    let expected = Config {
        system: SystemConfig {
            router_id: Some(Ipv4Addr::new(192, 0, 2, 1)),
            control_plane_core: 0,
            dataplane_cores: vec![1, 2],
            idle: IdlePolicy::Backoff,
        },
        ports: vec![
            PortConfigModel {
                name: "eth0".into(),
                addresses: vec![net("10.0.0.1/24"), net("2001:db8::1/64")],
                mtu: 9000,
                xdp_mode: XdpMode::Native,
                bind_mode: BindMode::ZeroCopy,
                queues: vec![0, 1],
                core: 2,
            },
            // No `core`: ports are dealt over dataplane-cores by position.
            PortConfigModel {
                name: "eth1".into(),
                addresses: vec![net("192.0.2.1/24"), net("fe80::1/64")],
                mtu: 1500,
                xdp_mode: XdpMode::Auto,
                bind_mode: BindMode::Auto,
                queues: vec![0],
                core: 2,
            },
            PortConfigModel {
                name: "eth2".into(),
                addresses: vec![net("198.51.100.1/24")],
                mtu: 1500,
                xdp_mode: XdpMode::Generic,
                bind_mode: BindMode::Copy,
                queues: vec![0],
                core: 1,
            },
        ],
        static_routes: vec![
            StaticRoute {
                prefix: net("0.0.0.0/0"),
                distance: 1,
                // Interfaces resolved from the connected subnets.
                target: RouteTarget::NextHops(vec![
                    // A probe by its kind alone: target = the gateway,
                    // every timer its default.
                    probed(
                        with_bfd(next_hop(Some("192.0.2.254"), "eth1", 1, 0), "fast"),
                        Probe {
                            kind: ProbeKind::Icmp,
                            target: ip("192.0.2.254"),
                            interval_ms: 1000,
                            timeout_ms: 1000,
                            up_threshold: 2,
                            down_threshold: 3,
                        },
                    ),
                    probed(
                        with_bfd(next_hop(Some("198.51.100.254"), "eth2", 3, 1), "default"),
                        Probe {
                            kind: ProbeKind::Arp,
                            target: ip("198.51.100.254"),
                            interval_ms: 200,
                            timeout_ms: 150,
                            up_threshold: 1,
                            down_threshold: 4,
                        },
                    ),
                    next_hop(Some("198.51.100.253"), "eth2", 1, 1),
                ]),
            },
            StaticRoute {
                prefix: net("2001:db8:100::/48"),
                distance: 20,
                target: RouteTarget::NextHops(vec![probed(
                    next_hop(Some("fe80::2"), "eth1", 1, 0),
                    Probe {
                        kind: ProbeKind::Nd,
                        target: ip("fe80::3"),
                        interval_ms: 1000,
                        timeout_ms: 1000,
                        up_threshold: 2,
                        down_threshold: 3,
                    },
                )]),
            },
            StaticRoute {
                prefix: net("172.16.0.0/12"),
                distance: 1,
                target: RouteTarget::NextHops(vec![next_hop(None, "eth0", 1, 0)]),
            },
            StaticRoute {
                prefix: net("203.0.113.0/24"),
                distance: 1,
                target: RouteTarget::Blackhole,
            },
            StaticRoute {
                prefix: net("100.64.0.0/10"),
                distance: 1,
                target: RouteTarget::Reject,
            },
        ],
        neighbor: NeighborConfig {
            reachable_time_ms: 15_000,
            retrans_time_ms: 500,
        },
        icmp: IcmpConfig {
            errors_per_second: 200,
            burst: 20,
        },
        ecmp: EcmpConfig {
            hash_seed: 0x5eed,
            symmetric: true,
        },
        management: ManagementConfig {
            socket: "/run/vrouter/api.sock".into(),
            state_dir: "/var/lib/vrouter".into(),
        },
        metrics: MetricsConfig {
            listen: Some("127.0.0.1:9101".parse().expect("test address")),
        },
        kernel_routes: KernelRoutesConfig {
            enabled: true,
            table: 100,
            metric: 50,
        },
        bfd_profiles: vec![BfdProfile {
            name: "fast".into(),
            transmit_interval: 10,
            receive_interval: 20,
            detect_multiplier: 4,
            minimum_ttl: 254,
            passive_mode: true,
            hold_down: 500,
            dampening: true,
            authentication: Some(BfdAuthentication {
                kind: BfdAuthType::MeticulousKeyedSha1,
                key_id: 7,
                key: "s3cret".into(),
            }),
        }],
    };
    assert_eq!(config, expected);
}

#[test]
fn a_port_name_alone_gets_every_default() {
    let config = ok(&golden("minimal.toml"), &FOUR_CPUS);
    assert_eq!(
        config.system,
        SystemConfig {
            router_id: None,
            control_plane_core: 0,
            dataplane_cores: vec![1],
            idle: IdlePolicy::BusyPoll,
        }
    );
    assert_eq!(
        config.ports,
        vec![PortConfigModel {
            name: "eth0".into(),
            addresses: vec![],
            mtu: 1500,
            xdp_mode: XdpMode::Auto,
            bind_mode: BindMode::Auto,
            queues: vec![0],
            core: 1,
        }]
    );
    assert!(config.static_routes.is_empty());
    // RFC 4861 §10 REACHABLE_TIME and RETRANS_TIMER.
    assert_eq!(
        config.neighbor,
        NeighborConfig {
            reachable_time_ms: 30_000,
            retrans_time_ms: 1_000
        }
    );
    assert_eq!(
        config.icmp,
        IcmpConfig {
            errors_per_second: 1000,
            burst: 100
        }
    );
    assert_eq!(
        config.ecmp,
        EcmpConfig {
            hash_seed: 0,
            symmetric: false
        }
    );
    // The API is always on, at the path vrctl tries first; metrics are off.
    assert_eq!(
        config.management.socket,
        std::path::PathBuf::from("/run/vrouterd.sock")
    );
    assert_eq!(config.metrics.listen, None);
}

#[test]
fn router_id_defaults_to_the_highest_ipv4_address() {
    let text = r#"
        [[port]]
        name = "eth0"
        addresses = ["10.0.0.1/24", "2001:db8::1/64"]
        [[port]]
        name = "eth1"
        addresses = ["192.0.2.7/24", "10.9.0.1/16"]
    "#;
    let config = ok(text, &FOUR_CPUS);
    assert_eq!(config.system.router_id, Some(Ipv4Addr::new(192, 0, 2, 7)));
}

#[test]
fn default_dataplane_core_avoids_the_control_plane_core() {
    let text = "[system]\ncontrol-plane-core = 1\n[[port]]\nname = \"eth0\"\n";
    let config = ok(text, &FOUR_CPUS);
    assert_eq!(config.system.dataplane_cores, vec![0]);
    assert_eq!(config.ports[0].core, 0);
}

#[test]
fn on_one_cpu_the_dataplane_shares_it_and_backs_off_when_idle() {
    let one = ValidationEnv { cpu_count: 1 };
    let config = ok("[[port]]\nname = \"eth0\"\n", &one);
    assert_eq!(config.system.control_plane_core, 0);
    assert_eq!(config.system.dataplane_cores, vec![0]);
    assert_eq!(config.system.idle, IdlePolicy::Backoff);

    let busy = "[system]\nidle = \"busy-poll\"\n[[port]]\nname = \"eth0\"\n";
    let errors = parse_str(busy, "test.toml", &one).expect_err("busy-poll on the only CPU");
    let [e] = errors.errors() else {
        panic!("expected one error:\n{errors}");
    };
    assert_eq!((e.line, e.column, e.path.as_str()), (2, 8, "system.idle"));
    assert!(e.help.as_deref().unwrap_or("").contains("backoff"), "{e:?}");

    // The same file is fine where the dataplane has a core of its own.
    assert_eq!(ok(busy, &FOUR_CPUS).system.idle, IdlePolicy::BusyPoll);
}

#[test]
fn core_numbers_are_checked_against_the_given_cpu_count() {
    let text = "[system]\ndataplane-cores = [3]\n[[port]]\nname = \"eth0\"\n";
    assert!(parse_str(text, "t", &FOUR_CPUS).is_ok());
    let errors = parse_str(text, "t", &ValidationEnv { cpu_count: 3 }).expect_err("core 3 of 3");
    assert_eq!(errors.errors().len(), 1, "{errors}");
    assert_eq!(errors.errors()[0].path, "system.dataplane-cores[0]");
}

#[test]
fn an_error_exposes_line_column_path_message_and_help() {
    let errors = parse_str(
        &golden("next_hop_not_connected.toml"),
        "/etc/vrouter/vrouter.toml",
        &FOUR_CPUS,
    )
    .expect_err("gateway off every subnet");
    let e = &errors.errors()[0];
    assert_eq!(e.line, 14);
    assert_eq!(e.column, 7);
    assert_eq!(e.path, "static-route[0].next-hop[0].via");
    assert_eq!(
        e.message,
        "next hop 10.9.9.9 is not on any connected subnet"
    );
    assert_eq!(
        e.help.as_deref(),
        Some("add `interface = \"<port>\"` or a port address covering 10.9.9.9")
    );
    assert!(errors.to_string().starts_with(
        "error: next hop 10.9.9.9 is not on any connected subnet\n  --> /etc/vrouter/vrouter.toml:14:7  (static-route[0].next-hop[0].via)\n  = help: add `interface = \"<port>\"` or a port address covering 10.9.9.9\n"
    ));
}

#[test]
fn a_toml_syntax_error_reports_its_line_and_column() {
    let text = "[[port]]\nname = \"eth0\"\nmtu = 15 00\n";
    let errors = parse_str(text, "t", &FOUR_CPUS).expect_err("bad syntax");
    let e = &errors.errors()[0];
    assert_eq!(e.line, 3, "{errors}");
    assert!(e.column > 1, "{errors}");
    assert!(e.message.starts_with("invalid TOML"), "{errors}");
}

#[test]
fn an_empty_file_says_no_port_is_defined() {
    for text in ["", "\n\n", "# nothing yet\n", "[system]\n"] {
        let errors = parse_str(text, "t", &FOUR_CPUS).expect_err("no port");
        let [e] = errors.errors() else {
            panic!("expected one error for {text:?}:\n{errors}");
        };
        assert_eq!(e.message, "no [[port]] defined");
        assert_eq!((e.line, e.column), (1, 1));
    }
}

#[test]
fn windows_line_endings_read_the_same() {
    let unix = golden("next_hop_not_connected.toml");
    let windows = unix.replace('\n', "\r\n");
    let a = parse_str(&unix, "t", &FOUR_CPUS).expect_err("invalid");
    let b = parse_str(&windows, "t", &FOUR_CPUS).expect_err("invalid");
    assert_eq!(a, b);
    assert_eq!(
        ok(&golden("valid_full.toml").replace('\n', "\r\n"), &FOUR_CPUS),
        ok(&golden("valid_full.toml"), &FOUR_CPUS)
    );
}

#[test]
fn load_reads_the_file_and_names_it_in_errors() {
    let dir = std::env::temp_dir().join(format!("vrouter-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("good.toml");
    let bad = dir.join("bad.toml");
    std::fs::write(&good, golden("valid_full.toml")).expect("write");
    std::fs::write(&bad, "[[port]]\nname = \"eth0\"\nmtu = 1\n").expect("write");

    let loaded = load(&good, &FOUR_CPUS).expect("valid file");
    assert_eq!(loaded, ok(&golden("valid_full.toml"), &FOUR_CPUS));

    let errors = load(&bad, &FOUR_CPUS).expect_err("mtu 1");
    assert_eq!(errors.origin(), bad.display().to_string());
    assert!(
        errors
            .to_string()
            .contains(&format!("--> {}:3:7  (port[0].mtu)", bad.display())),
        "{errors}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_missing_file_is_one_error_without_a_position() {
    let path = Path::new("/nonexistent/vrouter.toml");
    let errors = load(path, &FOUR_CPUS).expect_err("no such file");
    let [e] = errors.errors() else {
        panic!("expected one error:\n{errors}");
    };
    assert_eq!((e.line, e.column), (0, 0));
    assert!(
        e.message.starts_with("cannot read the configuration file"),
        "{e:?}"
    );
    assert!(
        errors
            .to_string()
            .contains("--> /nonexistent/vrouter.toml\n"),
        "{errors}"
    );
}

#[test]
fn config_serializes_with_the_file_key_names_and_round_trips() {
    let config = ok(&golden("valid_full.toml"), &FOUR_CPUS);
    let json = serde_json::to_value(&config).expect("serialize");
    assert_eq!(json["system"]["router-id"], "192.0.2.1");
    assert_eq!(json["port"][0]["xdp-mode"], "native");
    assert_eq!(json["port"][0]["bind-mode"], "zero-copy");
    assert_eq!(json["static-route"][3]["target"], "blackhole");
    let back: Config = serde_json::from_value(json).expect("deserialize");
    assert_eq!(back, config);

    // `==` is what `vrctl config diff` will build on: one changed value
    // makes two configs differ.
    let mut changed = config.clone();
    changed.ports[1].mtu = 1400;
    assert_ne!(changed, config);
}

/// The reference's full example must stay a valid config.
#[test]
fn the_full_example_in_docs_config_md_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/config.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let section = doc
        .split("## Full example")
        .nth(1)
        .expect("docs/config.md has a \"Full example\" section");
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a toml block in it");
    let config = ok(example, &ValidationEnv { cpu_count: 4 });
    assert_eq!(config.ports.len(), 2);
    assert_eq!(config.static_routes.len(), 3);
}
