//! The configuration as written: every key read and type-checked, each
//! value with its location, nothing yet checked against anything else.
//! Values that failed to read are absent and their error is already
//! reported; validation works with what is left.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use ipnet::IpNet;

use super::diagnostics::Diagnostics;
use super::document::{Field, TableView};
use super::location::{Located, Location};
use super::model::{
    BfdAuthType, BindMode, DEFAULT_BFD_PROFILE, EcmpConfig, IcmpConfig, IdlePolicy,
    KernelRoutesConfig, MAX_BFD_INTERVAL_MS, MAX_ICMP_RATE, MAX_MTU, MAX_PROBE_INTERVAL_MS,
    MAX_REACHABLE_TIME_MS, MAX_RETRANS_TIME_MS, MAX_SOCKET_PATH_BYTES, MAX_TIERS, MAX_WEIGHT,
    MIN_BFD_INTERVAL_MS, MIN_MTU, MIN_PROBE_INTERVAL_MS, ManagementConfig, MetricsConfig,
    NeighborConfig, ProbeKind, XdpMode,
};
use super::suggestion::did_you_mean;

pub(super) struct ParsedConfig {
    /// The whole file, for problems that belong to no key.
    pub document: Location,
    pub system: ParsedSystem,
    pub ports: Vec<ParsedPort>,
    /// Every `[[port]]` there, with its keys, name and addresses read
    /// without error. Checks against the set of ports (is this interface a
    /// port, is this gateway on a connected subnet) are only made then: with
    /// a name or an address missing they would only echo its error.
    pub ports_complete: bool,
    pub routes: Vec<ParsedRoute>,
    pub neighbor: NeighborConfig,
    pub icmp: IcmpConfig,
    pub ecmp: EcmpConfig,
    pub management: ManagementConfig,
    pub metrics: MetricsConfig,
    pub kernel_routes: KernelRoutesConfig,
    pub bfd_profiles: Vec<ParsedBfdProfile>,
}

#[derive(Default)]
pub(super) struct ParsedSystem {
    pub router_id: Option<Located<Ipv4Addr>>,
    pub control_plane_core: Option<Located<usize>>,
    pub dataplane_cores: Option<Located<Vec<Located<usize>>>>,
    pub idle: Option<Located<IdlePolicy>>,
    /// `[system]` read without error.
    pub complete: bool,
}

pub(super) struct ParsedPort {
    /// No unknown key, and `name` and `addresses` read without error.
    pub identity_complete: bool,
    pub name: Option<Located<String>>,
    pub addresses: Vec<Located<IpNet>>,
    pub mtu: Option<Located<u16>>,
    pub xdp_mode: Option<XdpMode>,
    pub bind_mode: Option<BindMode>,
    pub queues: Option<Located<Vec<Located<u32>>>>,
    pub core: Option<Located<usize>>,
}

pub(super) struct ParsedRoute {
    pub at: Location,
    pub prefix: Option<Located<IpNet>>,
    pub distance: Option<Located<u8>>,
    pub blackhole: Option<Located<bool>>,
    pub reject: Option<Located<bool>>,
    /// Where `next-hop` is, if given.
    pub next_hops_at: Option<Location>,
    pub next_hops: Vec<ParsedNextHop>,
    /// Read without error: only then is a missing target worth reporting
    /// (it may be in a misspelt key or a wrongly typed flag).
    pub complete: bool,
}

pub(super) struct ParsedNextHop {
    pub at: Location,
    pub via: Option<Located<IpAddr>>,
    pub interface: Option<Located<String>>,
    /// 1..=`MAX_WEIGHT`.
    pub weight: Option<Located<u32>>,
    pub tier: Option<Located<u8>>,
    pub probe: Option<ParsedProbe>,
    /// The profile `bfd = …` names (`true` is `"default"`); `None` for
    /// `false` or no key.
    pub bfd: Option<Located<String>>,
}

pub(super) struct ParsedBfdProfile {
    pub name: Option<Located<String>>,
    pub transmit_interval: Option<Located<u32>>,
    pub receive_interval: Option<Located<u32>>,
    pub detect_multiplier: Option<Located<u8>>,
    pub minimum_ttl: Option<Located<u8>>,
    pub passive_mode: Option<Located<bool>>,
    pub hold_down: Option<Located<u32>>,
    pub dampening: Option<Located<bool>>,
    pub authentication: Option<ParsedBfdAuth>,
}

pub(super) struct ParsedBfdAuth {
    pub kind: Option<Located<BfdAuthType>>,
    pub key_id: Option<Located<u8>>,
    pub key: Option<Located<String>>,
}

/// `probe = "icmp"` or `probe = { kind = …, target = …, … }`.
pub(super) struct ParsedProbe {
    pub at: Location,
    pub kind: Option<Located<ProbeKind>>,
    pub target: Option<Located<IpAddr>>,
    pub interval_ms: Option<Located<u32>>,
    pub timeout_ms: Option<Located<u32>>,
    pub up_threshold: Option<Located<u8>>,
    pub down_threshold: Option<Located<u8>>,
}

const DOCUMENT_KEYS: &[&str] = &[
    "system",
    "port",
    "static-route",
    "neighbor",
    "icmp",
    "ecmp",
    "management",
    "metrics",
    "kernel-routes",
    "bfd-profile",
];
const SYSTEM_KEYS: &[&str] = &["router-id", "control-plane-core", "dataplane-cores", "idle"];
const PORT_KEYS: &[&str] = &[
    "name",
    "addresses",
    "mtu",
    "xdp-mode",
    "bind-mode",
    "queues",
    "core",
];
const ROUTE_KEYS: &[&str] = &["prefix", "distance", "next-hop", "blackhole", "reject"];
const NEXT_HOP_KEYS: &[&str] = &["via", "interface", "weight", "tier", "probe", "bfd"];
const BFD_PROFILE_KEYS: &[&str] = &[
    "name",
    "transmit-interval",
    "receive-interval",
    "detect-multiplier",
    "minimum-ttl",
    "passive-mode",
    "hold-down",
    "dampening",
    "authentication",
];
const BFD_AUTH_KEYS: &[&str] = &["type", "key-id", "key"];
const PROBE_KEYS: &[&str] = &[
    "kind",
    "target",
    "interval-ms",
    "timeout-ms",
    "up-threshold",
    "down-threshold",
];
const KERNEL_ROUTES_KEYS: &[&str] = &["enabled", "table", "metric"];
const NEIGHBOR_KEYS: &[&str] = &["reachable-time-ms", "retrans-time-ms"];
const ICMP_KEYS: &[&str] = &["errors-per-second", "burst"];
const ECMP_KEYS: &[&str] = &["hash-seed", "symmetric"];
const MANAGEMENT_KEYS: &[&str] = &["socket", "state-dir"];
const METRICS_KEYS: &[&str] = &["listen"];

/// Core numbers are CPU indices; the bound only keeps them in `usize` on
/// every target, the real check is against the machine's CPU count.
const MAX_CORE: usize = u16::MAX as usize;

impl ParsedConfig {
    pub fn read(doc: &TableView<'_, '_>, d: &mut Diagnostics<'_>) -> Self {
        doc.check_keys(d, DOCUMENT_KEYS);

        let system = match doc.field("system").and_then(|f| f.table(d)) {
            Some(t) => read_system(&t, d),
            None => ParsedSystem {
                complete: doc.field("system").is_none(),
                ..ParsedSystem::default()
            },
        };

        let before_ports = d.count();
        let port_tables = doc
            .field("port")
            .and_then(|f| f.tables(d))
            .unwrap_or_default();
        let port_list_complete = d.count() == before_ports;
        let ports: Vec<ParsedPort> = port_tables.iter().map(|t| read_port(t, d)).collect();
        let ports_complete = port_list_complete && ports.iter().all(|p| p.identity_complete);

        let routes = doc
            .field("static-route")
            .and_then(|f| f.tables(d))
            .unwrap_or_default()
            .iter()
            .map(|t| read_route(t, d))
            .collect();

        let neighbor = doc
            .field("neighbor")
            .and_then(|f| f.table(d))
            .map(|t| read_neighbor(&t, d))
            .unwrap_or_default();
        let icmp = doc
            .field("icmp")
            .and_then(|f| f.table(d))
            .map(|t| read_icmp(&t, d))
            .unwrap_or_default();
        let ecmp = doc
            .field("ecmp")
            .and_then(|f| f.table(d))
            .map(|t| read_ecmp(&t, d))
            .unwrap_or_default();
        let management = doc
            .field("management")
            .and_then(|f| f.table(d))
            .map(|t| read_management(&t, d))
            .unwrap_or_default();
        let metrics = doc
            .field("metrics")
            .and_then(|f| f.table(d))
            .map(|t| read_metrics(&t, d))
            .unwrap_or_default();
        let bfd_profiles = doc
            .field("bfd-profile")
            .and_then(|f| f.tables(d))
            .unwrap_or_default()
            .iter()
            .map(|t| read_bfd_profile(t, d))
            .collect();
        let kernel_routes = doc
            .field("kernel-routes")
            .and_then(|f| f.table(d))
            .map(|t| read_kernel_routes(&t, d))
            .unwrap_or_default();

        Self {
            document: doc.at.clone(),
            system,
            ports,
            ports_complete,
            routes,
            neighbor,
            icmp,
            ecmp,
            management,
            metrics,
            kernel_routes,
            bfd_profiles,
        }
    }
}

/// Reads every element of an array with `element`, keeping those that read.
fn list<T>(
    field: &Field<'_, '_>,
    d: &mut Diagnostics<'_>,
    help: &str,
    element: impl Fn(&Field<'_, '_>, &mut Diagnostics<'_>) -> Option<Located<T>>,
) -> Option<Located<Vec<Located<T>>>> {
    let items = field.array(d, help)?;
    Some(Located {
        value: items.iter().filter_map(|f| element(f, d)).collect(),
        at: field.at.clone(),
    })
}

fn read_system(t: &TableView<'_, '_>, d: &mut Diagnostics<'_>) -> ParsedSystem {
    let before = d.count();
    t.check_keys(d, SYSTEM_KEYS);
    let router_id = t.field("router-id").and_then(|f| {
        f.parsed(
            d,
            "an IPv4 address",
            "write an IPv4 address, e.g. `router-id = \"192.0.2.1\"`",
        )
    });
    let control_plane_core = t
        .field("control-plane-core")
        .and_then(|f| f.integer(d, 0..=MAX_CORE));
    let dataplane_cores = t.field("dataplane-cores").and_then(|f| {
        list(
            &f,
            d,
            "list CPU numbers, e.g. `dataplane-cores = [1, 2]`",
            |e, d| e.integer(d, 0..=MAX_CORE),
        )
    });
    let idle = t.field("idle").and_then(|f| {
        f.keyword(
            d,
            &[
                ("busy-poll", IdlePolicy::BusyPoll),
                ("backoff", IdlePolicy::Backoff),
            ],
        )
    });
    ParsedSystem {
        router_id,
        control_plane_core,
        dataplane_cores,
        idle,
        complete: d.count() == before,
    }
}

fn read_port(t: &TableView<'_, '_>, d: &mut Diagnostics<'_>) -> ParsedPort {
    let before = d.count();
    t.check_keys(d, PORT_KEYS);
    let name = t.field("name").and_then(|f| f.string(d));
    if t.field("name").is_none() {
        t.missing(
            d,
            "[[port]]",
            "name",
            "add the Linux interface it takes over, e.g. `name = \"eth0\"`",
        );
    }
    let addresses = t
        .field("addresses")
        .and_then(|f| {
            list(
                &f,
                d,
                "list addresses, e.g. `addresses = [\"10.0.0.1/24\"]`",
                |e, d| {
                    e.parsed(
                        d,
                        "an address with a prefix length",
                        "write the router's address on the link and the subnet's length, e.g. \"10.0.0.1/24\" or \"2001:db8::1/64\"",
                    )
                },
            )
        })
        .map(|l| l.value)
        .unwrap_or_default();
    let identity_complete = d.count() == before;
    let mtu = t.field("mtu").and_then(|f| f.integer(d, MIN_MTU..=MAX_MTU));
    let xdp_mode = t.field("xdp-mode").and_then(|f| {
        f.keyword(
            d,
            &[
                ("auto", XdpMode::Auto),
                ("native", XdpMode::Native),
                ("generic", XdpMode::Generic),
            ],
        )
    });
    let bind_mode = t.field("bind-mode").and_then(|f| {
        f.keyword(
            d,
            &[
                ("auto", BindMode::Auto),
                ("zero-copy", BindMode::ZeroCopy),
                ("copy", BindMode::Copy),
            ],
        )
    });
    let queues = t.field("queues").and_then(|f| {
        list(
            &f,
            d,
            "list queue numbers, e.g. `queues = [0, 1]`",
            |e, d| e.integer(d, 0..=u32::MAX),
        )
    });
    let core = t.field("core").and_then(|f| f.integer(d, 0..=MAX_CORE));
    ParsedPort {
        identity_complete,
        name,
        addresses,
        mtu,
        xdp_mode: xdp_mode.map(|l| l.value),
        bind_mode: bind_mode.map(|l| l.value),
        queues,
        core,
    }
}

fn read_route(t: &TableView<'_, '_>, d: &mut Diagnostics<'_>) -> ParsedRoute {
    let before = d.count();
    t.check_keys(d, ROUTE_KEYS);
    let prefix = t.field("prefix").and_then(|f| {
        f.parsed(
            d,
            "a prefix",
            "write a network and its length, e.g. \"10.0.0.0/8\", \"0.0.0.0/0\" or \"2001:db8::/32\"",
        )
    });
    if t.field("prefix").is_none() {
        t.missing(
            d,
            "[[static-route]]",
            "prefix",
            "add the destination, e.g. `prefix = \"0.0.0.0/0\"`",
        );
    }
    let distance = t.field("distance").and_then(|f| f.integer(d, 1..=u8::MAX));
    let blackhole = t.field("blackhole").and_then(|f| f.boolean(d));
    let reject = t.field("reject").and_then(|f| f.boolean(d));
    let next_hop_field = t.field("next-hop");
    let next_hops = next_hop_field
        .as_ref()
        .and_then(|f| f.tables(d))
        .unwrap_or_default()
        .iter()
        .map(|t| read_next_hop(t, d))
        .collect();
    ParsedRoute {
        at: t.at.clone(),
        prefix,
        distance,
        blackhole,
        reject,
        next_hops_at: next_hop_field.map(|f| f.at),
        next_hops,
        complete: d.count() == before,
    }
}

fn read_next_hop(t: &TableView<'_, '_>, d: &mut Diagnostics<'_>) -> ParsedNextHop {
    t.check_keys(d, NEXT_HOP_KEYS);
    let via = t.field("via").and_then(|f| {
        f.parsed(
            d,
            "an IP address",
            "write the gateway's address, e.g. \"192.0.2.254\" or \"fe80::1\"",
        )
    });
    let interface = t.field("interface").and_then(|f| f.string(d));
    let weight = t.field("weight").and_then(|f| {
        if f.as_integer() == Some(0) {
            d.error(
                &f.at,
                "next-hop weight is 0",
                Some(format!(
                    "weights go from 1 to {MAX_WEIGHT}; to stop using a next hop, remove it"
                )),
            );
            None
        } else {
            f.integer(d, 1..=MAX_WEIGHT)
        }
    });
    let tier = t.field("tier").and_then(|f| read_tier(&f, d));
    let probe = t.field("probe").and_then(|f| read_probe(&f, d));
    let bfd = t.field("bfd").and_then(|f| {
        if f.is_string() {
            return f.string(d);
        }
        let on = f.boolean(d)?;
        on.value.then(|| Located {
            value: DEFAULT_BFD_PROFILE.to_owned(),
            at: on.at,
        })
    });
    ParsedNextHop {
        at: t.at.clone(),
        via,
        interface,
        weight,
        tier,
        probe,
        bfd,
    }
}

const BFD_AUTH_TYPES: [(&str, BfdAuthType); 5] = [
    ("simple-password", BfdAuthType::SimplePassword),
    ("keyed-md5", BfdAuthType::KeyedMd5),
    ("meticulous-keyed-md5", BfdAuthType::MeticulousKeyedMd5),
    ("keyed-sha1", BfdAuthType::KeyedSha1),
    ("meticulous-keyed-sha1", BfdAuthType::MeticulousKeyedSha1),
];

fn read_bfd_profile(t: &TableView<'_, '_>, d: &mut Diagnostics<'_>) -> ParsedBfdProfile {
    t.check_keys(d, BFD_PROFILE_KEYS);
    if t.field("name").is_none() {
        t.missing(
            d,
            "[[bfd-profile]]",
            "name",
            "add `name = \"<profile>\"`; next hops refer to it with `bfd = \"<profile>\"`",
        );
    }
    let interval = |key: &str, d: &mut Diagnostics<'_>| {
        t.field(key)
            .and_then(|f| f.integer(d, MIN_BFD_INTERVAL_MS..=MAX_BFD_INTERVAL_MS))
    };
    let transmit_interval = interval("transmit-interval", d);
    let receive_interval = interval("receive-interval", d);
    ParsedBfdProfile {
        name: t.field("name").and_then(|f| f.string(d)),
        transmit_interval,
        receive_interval,
        // RFC 5880 allows 1; FRR's range starts at 2, so a single lost
        // packet is not a failure. 1 is accepted, for the fastest drills.
        detect_multiplier: t
            .field("detect-multiplier")
            .and_then(|f| f.integer(d, 1..=u8::MAX)),
        minimum_ttl: t.field("minimum-ttl").and_then(|f| f.integer(d, 1..=u8::MAX)),
        passive_mode: t.field("passive-mode").and_then(|f| f.boolean(d)),
        hold_down: t
            .field("hold-down")
            .and_then(|f| f.integer(d, 0..=3_600_000)),
        dampening: t.field("dampening").and_then(|f| f.boolean(d)),
        authentication: t.field("authentication").and_then(|f| {
            let a = f.table(d)?;
            a.check_keys(d, BFD_AUTH_KEYS);
            if a.field("type").is_none() {
                a.missing(
                    d,
                    "authentication",
                    "type",
                    "add `type = \"meticulous-keyed-sha1\"` (or keyed-sha1, keyed-md5, meticulous-keyed-md5, simple-password)",
                );
            }
            if a.field("key").is_none() {
                a.missing(d, "authentication", "key", "add `key = \"<shared secret>\"`");
            }
            Some(ParsedBfdAuth {
                kind: a.field("type").and_then(|f| f.keyword(d, &BFD_AUTH_TYPES)),
                key_id: a.field("key-id").and_then(|f| f.integer(d, 0..=u8::MAX)),
                key: a.field("key").and_then(|f| f.string(d)),
            })
        }),
    }
}

const PROBE_KINDS: [(&str, ProbeKind); 3] = [
    ("icmp", ProbeKind::Icmp),
    ("arp", ProbeKind::Arp),
    ("nd", ProbeKind::Nd),
];

fn read_probe(f: &Field<'_, '_>, d: &mut Diagnostics<'_>) -> Option<ParsedProbe> {
    if f.is_string() {
        let kind = f.keyword(d, &PROBE_KINDS)?;
        return Some(ParsedProbe {
            at: f.at.clone(),
            kind: Some(kind),
            target: None,
            interval_ms: None,
            timeout_ms: None,
            up_threshold: None,
            down_threshold: None,
        });
    }
    let t = f.table(d)?;
    t.check_keys(d, PROBE_KEYS);
    Some(ParsedProbe {
        at: t.at.clone(),
        kind: t.field("kind").and_then(|f| f.keyword(d, &PROBE_KINDS)),
        target: t.field("target").and_then(|f| {
            f.parsed(
                d,
                "an IP address",
                "write the address to probe, e.g. \"192.0.2.254\"",
            )
        }),
        interval_ms: t
            .field("interval-ms")
            .and_then(|f| f.integer(d, MIN_PROBE_INTERVAL_MS..=MAX_PROBE_INTERVAL_MS)),
        timeout_ms: t
            .field("timeout-ms")
            .and_then(|f| f.integer(d, 1..=MAX_PROBE_INTERVAL_MS)),
        up_threshold: t
            .field("up-threshold")
            .and_then(|f| f.integer(d, 1..=u8::MAX)),
        down_threshold: t
            .field("down-threshold")
            .and_then(|f| f.integer(d, 1..=u8::MAX)),
    })
}

/// `"primary"`, `"backup"` or the tier's number.
fn read_tier(f: &Field<'_, '_>, d: &mut Diagnostics<'_>) -> Option<Located<u8>> {
    // MAX_TIERS is a small constant (16); the fallback never applies.
    let last = u8::try_from(MAX_TIERS.saturating_sub(1)).unwrap_or(u8::MAX);
    if !f.is_string() {
        return f.integer(d, 0..=last);
    }
    let name = f.string(d)?;
    let tier = match name.value.as_str() {
        "primary" => 0,
        "backup" => 1,
        other => {
            d.error(
                &name.at,
                format!("`tier` cannot be \"{other}\""),
                Some(format!(
                    "write \"primary\", \"backup\" or a tier number from 0 to {last}{}",
                    did_you_mean(other, ["primary", "backup"])
                )),
            );
            return None;
        }
    };
    Some(Located {
        value: tier,
        at: name.at,
    })
}

fn read_neighbor(t: &TableView<'_, '_>, d: &mut Diagnostics<'_>) -> NeighborConfig {
    t.check_keys(d, NEIGHBOR_KEYS);
    let default = NeighborConfig::default();
    NeighborConfig {
        reachable_time_ms: t
            .field("reachable-time-ms")
            .and_then(|f| f.integer(d, 1..=MAX_REACHABLE_TIME_MS))
            .map_or(default.reachable_time_ms, |l| l.value),
        retrans_time_ms: t
            .field("retrans-time-ms")
            .and_then(|f| f.integer(d, 1..=MAX_RETRANS_TIME_MS))
            .map_or(default.retrans_time_ms, |l| l.value),
    }
}

fn read_icmp(t: &TableView<'_, '_>, d: &mut Diagnostics<'_>) -> IcmpConfig {
    t.check_keys(d, ICMP_KEYS);
    let default = IcmpConfig::default();
    IcmpConfig {
        errors_per_second: t
            .field("errors-per-second")
            .and_then(|f| f.integer(d, 0..=MAX_ICMP_RATE))
            .map_or(default.errors_per_second, |l| l.value),
        burst: t
            .field("burst")
            .and_then(|f| f.integer(d, 1..=MAX_ICMP_RATE))
            .map_or(default.burst, |l| l.value),
    }
}

fn read_ecmp(t: &TableView<'_, '_>, d: &mut Diagnostics<'_>) -> EcmpConfig {
    t.check_keys(d, ECMP_KEYS);
    let default = EcmpConfig::default();
    EcmpConfig {
        hash_seed: t
            .field("hash-seed")
            .and_then(|f| f.integer(d, 0..=u64::MAX))
            .map_or(default.hash_seed, |l| l.value),
        symmetric: t
            .field("symmetric")
            .and_then(|f| f.boolean(d))
            .map_or(default.symmetric, |l| l.value),
    }
}

fn read_management(t: &TableView<'_, '_>, d: &mut Diagnostics<'_>) -> ManagementConfig {
    t.check_keys(d, MANAGEMENT_KEYS);
    let socket = t.field("socket").and_then(|f| f.string(d)).and_then(|s| {
        let path = PathBuf::from(&s.value);
        if !path.is_absolute() {
            // The daemon and vrctl run from different directories: a
            // relative path would name two different files.
            d.error(
                &s.at,
                format!("`socket` is a relative path: \"{}\"", s.value),
                Some("write an absolute path, e.g. \"/run/vrouterd.sock\"".into()),
            );
            return None;
        }
        if s.value.len() > MAX_SOCKET_PATH_BYTES {
            d.error(
                &s.at,
                format!(
                    "`socket` is {} bytes long, more than a Unix socket path can hold",
                    s.value.len()
                ),
                Some(format!(
                    "use a path of at most {MAX_SOCKET_PATH_BYTES} bytes, e.g. \"/run/vrouterd.sock\""
                )),
            );
            return None;
        }
        Some(path)
    });
    let state_dir = t
        .field("state-dir")
        .and_then(|f| f.string(d))
        .and_then(|s| {
            if !std::path::Path::new(&s.value).is_absolute() {
                d.error(
                    &s.at,
                    format!("`state-dir` is a relative path: \"{}\"", s.value),
                    Some("write an absolute path, e.g. \"/var/lib/vrouterd\"".into()),
                );
                return None;
            }
            Some(PathBuf::from(&s.value))
        });
    let default = ManagementConfig::default();
    ManagementConfig {
        socket: socket.unwrap_or(default.socket),
        state_dir: state_dir.unwrap_or(default.state_dir),
    }
}

fn read_kernel_routes(t: &TableView<'_, '_>, d: &mut Diagnostics<'_>) -> KernelRoutesConfig {
    t.check_keys(d, KERNEL_ROUTES_KEYS);
    let default = KernelRoutesConfig::default();
    KernelRoutesConfig {
        enabled: t
            .field("enabled")
            .and_then(|f| f.boolean(d))
            .map_or(default.enabled, |l| l.value),
        // 0 is RT_TABLE_UNSPEC and 253..=255 are the kernel's default,
        // main and local tables; main (254) is the only one of those that
        // makes sense, and it is the default.
        table: t
            .field("table")
            .and_then(|f| f.integer(d, 1..=u32::MAX))
            .map_or(default.table, |l| l.value),
        metric: t
            .field("metric")
            .and_then(|f| f.integer(d, 0..=u32::MAX))
            .map_or(default.metric, |l| l.value),
    }
}

fn read_metrics(t: &TableView<'_, '_>, d: &mut Diagnostics<'_>) -> MetricsConfig {
    t.check_keys(d, METRICS_KEYS);
    let listen = t.field("listen").and_then(|f| {
        let addr: Located<SocketAddr> = f.parsed(
            d,
            "an address and port",
            "write an IP address and a port, e.g. \"127.0.0.1:9101\" or \"[::1]:9101\"",
        )?;
        if addr.value.port() == 0 {
            d.error(
                &addr.at,
                "`listen` has port 0",
                Some("give a fixed port, so Prometheus knows where to scrape, e.g. 9101".into()),
            );
            return None;
        }
        Some(addr.value)
    });
    MetricsConfig { listen }
}
