//! `show config` for people: the running configuration written back in
//! the file's own syntax (`docs/config.md`), every default spelled out,
//! so it can be read like the file and loaded as one.

use std::fmt::Write as _;

use router::config::{BfdAuthType, BindMode, Config, IdlePolicy, ProbeKind, RouteTarget, XdpMode};

/// A TOML basic string: JSON's string escapes are a subset of TOML's.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn list<T: ToString>(items: &[T], quote: bool) -> String {
    let items: Vec<String> = items
        .iter()
        .map(|i| {
            let s = i.to_string();
            if quote { quoted(&s) } else { s }
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// The configuration as a TOML document.
pub fn render(config: &Config) -> String {
    let mut out = String::new();
    let s = &config.system;
    let _ = writeln!(out, "[system]");
    if let Some(id) = s.router_id {
        let _ = writeln!(out, "router-id = {}", quoted(&id.to_string()));
    }
    let _ = writeln!(out, "control-plane-core = {}", s.control_plane_core);
    let _ = writeln!(out, "dataplane-cores = {}", list(&s.dataplane_cores, false));
    let idle = match s.idle {
        IdlePolicy::BusyPoll => "busy-poll",
        IdlePolicy::Backoff => "backoff",
    };
    let _ = writeln!(out, "idle = {}", quoted(idle));

    for port in &config.ports {
        let _ = writeln!(out, "\n[[port]]");
        let _ = writeln!(out, "name = {}", quoted(&port.name));
        let _ = writeln!(out, "addresses = {}", list(&port.addresses, true));
        let _ = writeln!(out, "mtu = {}", port.mtu);
        let xdp = match port.xdp_mode {
            XdpMode::Auto => "auto",
            XdpMode::Native => "native",
            XdpMode::Generic => "generic",
        };
        let bind = match port.bind_mode {
            BindMode::Auto => "auto",
            BindMode::ZeroCopy => "zero-copy",
            BindMode::Copy => "copy",
        };
        let _ = writeln!(out, "xdp-mode = {}", quoted(xdp));
        let _ = writeln!(out, "bind-mode = {}", quoted(bind));
        let _ = writeln!(out, "queues = {}", list(&port.queues, false));
        let _ = writeln!(out, "core = {}", port.core);
    }

    for route in &config.static_routes {
        let _ = writeln!(out, "\n[[static-route]]");
        let _ = writeln!(out, "prefix = {}", quoted(&route.prefix.to_string()));
        let _ = writeln!(out, "distance = {}", route.distance);
        match &route.target {
            RouteTarget::Blackhole => {
                let _ = writeln!(out, "blackhole = true");
            }
            RouteTarget::Reject => {
                let _ = writeln!(out, "reject = true");
            }
            RouteTarget::NextHops(hops) => {
                for hop in hops {
                    let _ = writeln!(out, "[[static-route.next-hop]]");
                    if let Some(via) = hop.via {
                        let _ = writeln!(out, "via = {}", quoted(&via.to_string()));
                    }
                    let _ = writeln!(out, "interface = {}", quoted(&hop.interface));
                    let _ = writeln!(out, "weight = {}", hop.weight);
                    let _ = writeln!(out, "tier = {}", hop.tier);
                    if let Some(p) = &hop.probe {
                        let kind = match p.kind {
                            ProbeKind::Icmp => "icmp",
                            ProbeKind::Arp => "arp",
                            ProbeKind::Nd => "nd",
                        };
                        let _ = writeln!(
                            out,
                            "probe = {{ kind = {}, target = {}, interval-ms = {}, timeout-ms = {}, up-threshold = {}, down-threshold = {} }}",
                            quoted(kind),
                            quoted(&p.target.to_string()),
                            p.interval_ms,
                            p.timeout_ms,
                            p.up_threshold,
                            p.down_threshold
                        );
                    }
                    if let Some(profile) = &hop.bfd {
                        let _ = writeln!(out, "bfd = {}", quoted(profile));
                    }
                }
            }
        }
    }

    let n = &config.neighbor;
    let _ = writeln!(out, "\n[neighbor]");
    let _ = writeln!(out, "reachable-time-ms = {}", n.reachable_time_ms);
    let _ = writeln!(out, "retrans-time-ms = {}", n.retrans_time_ms);
    let _ = writeln!(out, "\n[icmp]");
    let _ = writeln!(out, "errors-per-second = {}", config.icmp.errors_per_second);
    let _ = writeln!(out, "burst = {}", config.icmp.burst);
    let _ = writeln!(out, "\n[ecmp]");
    let _ = writeln!(out, "hash-seed = {}", config.ecmp.hash_seed);
    let _ = writeln!(out, "symmetric = {}", config.ecmp.symmetric);
    let _ = writeln!(out, "\n[management]");
    let _ = writeln!(
        out,
        "socket = {}",
        quoted(&config.management.socket.to_string_lossy())
    );
    let _ = writeln!(
        out,
        "state-dir = {}",
        quoted(&config.management.state_dir.to_string_lossy())
    );
    let _ = writeln!(out, "\n[metrics]");
    match config.metrics.listen {
        Some(listen) => {
            let _ = writeln!(out, "listen = {}", quoted(&listen.to_string()));
        }
        None => {
            let _ = writeln!(out, "# listen: not set, no metrics served");
        }
    }
    for p in &config.bfd_profiles {
        let _ = writeln!(out, "\n[[bfd-profile]]");
        let _ = writeln!(out, "name = {}", quoted(&p.name));
        let _ = writeln!(out, "transmit-interval = {}", p.transmit_interval);
        let _ = writeln!(out, "receive-interval = {}", p.receive_interval);
        let _ = writeln!(out, "detect-multiplier = {}", p.detect_multiplier);
        let _ = writeln!(out, "minimum-ttl = {}", p.minimum_ttl);
        let _ = writeln!(out, "passive-mode = {}", p.passive_mode);
        let _ = writeln!(out, "hold-down = {}", p.hold_down);
        let _ = writeln!(out, "dampening = {}", p.dampening);
        if let Some(a) = &p.authentication {
            let kind = match a.kind {
                BfdAuthType::SimplePassword => "simple-password",
                BfdAuthType::KeyedMd5 => "keyed-md5",
                BfdAuthType::MeticulousKeyedMd5 => "meticulous-keyed-md5",
                BfdAuthType::KeyedSha1 => "keyed-sha1",
                BfdAuthType::MeticulousKeyedSha1 => "meticulous-keyed-sha1",
            };
            let _ = writeln!(
                out,
                "authentication = {{ type = {}, key-id = {}, key = {} }}",
                quoted(kind),
                a.key_id,
                quoted(&a.key)
            );
        }
    }
    let k = &config.kernel_routes;
    let _ = writeln!(out, "\n[kernel-routes]");
    let _ = writeln!(out, "enabled = {}", k.enabled);
    let _ = writeln!(out, "table = {}", k.table);
    let _ = writeln!(out, "metric = {}", k.metric);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use router::config::{ValidationEnv, parse_str};

    const ENV: ValidationEnv = ValidationEnv { cpu_count: 4 };

    fn round_trip(text: &str) {
        let config = parse_str(text, "in.toml", &ENV).unwrap();
        let shown = render(&config);
        let again = parse_str(&shown, "shown.toml", &ENV)
            .unwrap_or_else(|e| panic!("show config is not a valid file:\n{e}\n{shown}"));
        assert_eq!(again, config, "{shown}");
    }

    #[test]
    fn the_full_golden_config_reads_back_identical() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../router/tests/config/valid_full.toml");
        round_trip(&std::fs::read_to_string(path).unwrap());
    }

    #[test]
    fn a_minimal_config_reads_back_identical() {
        round_trip("[[port]]\nname = \"eth0\"\n");
    }

    #[test]
    fn names_with_quotes_are_escaped() {
        assert_eq!(quoted("a\"b\\c"), r#""a\"b\\c""#);
    }
}
