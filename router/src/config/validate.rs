//! Checks that relate values to each other and to the machine, and the
//! resolution of defaults and references into the final [`Config`].
//!
//! Every check reports into the same [`Diagnostics`] and carries on, so a
//! file with five mistakes gets five errors in one run.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use super::diagnostics::Diagnostics;
use super::document::quoted_list;
use super::location::{Located, Location};
use super::model::{
    BindMode, Config, DEFAULT_DISTANCE, DEFAULT_MTU, DEFAULT_PROBE_DOWN_THRESHOLD,
    DEFAULT_PROBE_INTERVAL_MS, DEFAULT_PROBE_UP_THRESHOLD, IdlePolicy, MAX_TIER_MEMBERS,
    MIN_IPV6_MTU, NextHop, PortConfigModel, Probe, ProbeKind, RouteTarget, StaticRoute,
    SystemConfig, XdpMode,
};
use super::parsed::{
    ParsedConfig, ParsedNextHop, ParsedPort, ParsedProbe, ParsedRoute, ParsedSystem,
};
use super::suggestion::did_you_mean;

/// What validation needs to know about the machine the config is for.
/// Passed in rather than probed so that a config can be checked for
/// another machine and tests are deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationEnv {
    /// CPUs the router may use, numbered `0..cpu_count`.
    pub cpu_count: usize,
}

impl ValidationEnv {
    /// The machine this process runs on. The count is of the CPUs this
    /// process may run on (affinity, cgroup quota), which matches the CPU
    /// numbers only when the allowed set starts at 0 and has no holes.
    pub fn this_machine() -> Self {
        Self {
            cpu_count: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        }
    }
}

/// The validated config. Always built, with defaults where values were
/// missing or wrong, so that every check runs; it is only handed out if
/// `d` stays empty.
pub(super) fn validate(
    parsed: &ParsedConfig,
    env: &ValidationEnv,
    d: &mut Diagnostics<'_>,
) -> Config {
    let cpus = env.cpu_count.max(1);
    let before_system = d.count();
    let mut system = validate_system(&parsed.system, cpus, d);
    let cores_known = parsed.system.complete && d.count() == before_system;

    let ports = validate_ports(parsed, &system, cores_known, cpus, d);

    system.router_id = match &parsed.system.router_id {
        Some(id) => {
            if id.value.is_unspecified() {
                d.error(
                    &id.at,
                    "`router-id` cannot be 0.0.0.0",
                    Some("use one of the router's IPv4 addresses".into()),
                );
            }
            Some(id.value)
        }
        None => ports
            .iter()
            .flat_map(|p| &p.addresses)
            .filter_map(|a| match a.addr() {
                IpAddr::V4(v4) => Some(v4),
                IpAddr::V6(_) => None,
            })
            .max(),
    };

    let static_routes = validate_routes(parsed, &ports, d);
    let bfd_profiles = super::validate_bfd::profiles(&parsed.bfd_profiles, d);
    super::validate_bfd::next_hops(parsed, &static_routes, &ports, &bfd_profiles, d);

    Config {
        system,
        ports,
        static_routes,
        neighbor: parsed.neighbor,
        icmp: parsed.icmp,
        ecmp: parsed.ecmp,
        management: parsed.management.clone(),
        metrics: parsed.metrics,
        kernel_routes: parsed.kernel_routes,
        bfd_profiles,
    }
}

fn cpu_help(cpus: usize) -> String {
    if cpus == 1 {
        "this machine has 1 CPU, numbered 0".to_owned()
    } else {
        format!("this machine has {cpus} CPUs, numbered 0 to {}", cpus - 1)
    }
}

fn validate_system(s: &ParsedSystem, cpus: usize, d: &mut Diagnostics<'_>) -> SystemConfig {
    let control_plane_core = s.control_plane_core.as_ref().map_or(0, |c| c.value);
    if let Some(c) = &s.control_plane_core
        && c.value >= cpus
    {
        d.error(
            &c.at,
            format!("control-plane core {} does not exist", c.value),
            Some(cpu_help(cpus)),
        );
    }

    let dataplane_cores = match &s.dataplane_cores {
        Some(list) => {
            check_dataplane_cores(list, control_plane_core, cpus, d);
            list.value.iter().map(|c| c.value).collect()
        }
        // The first core the control plane leaves free; with one CPU they
        // share it, and `idle` below defaults to giving it back.
        None => vec![(0..cpus).find(|&c| c != control_plane_core).unwrap_or(0)],
    };

    let shared = dataplane_cores.contains(&control_plane_core);
    let idle = match &s.idle {
        Some(idle) => {
            // With two or more CPUs sharing is refused above already.
            if idle.value == IdlePolicy::BusyPoll && shared && cpus == 1 {
                d.error(
                    &idle.at,
                    format!(
                        "a busy-polling dataplane on core {control_plane_core} would starve the control plane, which runs there too"
                    ),
                    Some("this machine has 1 CPU: set `idle = \"backoff\"`".into()),
                );
            }
            idle.value
        }
        None if shared => IdlePolicy::Backoff,
        None => IdlePolicy::BusyPoll,
    };

    SystemConfig {
        router_id: None,
        control_plane_core,
        dataplane_cores,
        idle,
    }
}

fn check_dataplane_cores(
    list: &Located<Vec<Located<usize>>>,
    control_plane_core: usize,
    cpus: usize,
    d: &mut Diagnostics<'_>,
) {
    if list.value.is_empty() {
        d.error(
            &list.at,
            "`dataplane-cores` is empty",
            Some("list at least one core, e.g. `dataplane-cores = [1]`".into()),
        );
    }
    for (i, core) in list.value.iter().enumerate() {
        if core.value >= cpus {
            d.error(
                &core.at,
                format!("dataplane core {} does not exist", core.value),
                Some(cpu_help(cpus)),
            );
        } else if list.value[..i].iter().any(|c| c.value == core.value) {
            d.error(
                &core.at,
                format!("core {} is listed twice in `dataplane-cores`", core.value),
                Some("remove one: each core runs one dataplane thread".into()),
            );
        } else if core.value == control_plane_core && cpus > 1 {
            d.error(
                &core.at,
                format!(
                    "core {} runs both the control plane and a dataplane thread",
                    core.value
                ),
                Some(
                    "a busy-polling dataplane starves the control plane: give `control-plane-core` a core of its own"
                        .into(),
                ),
            );
        }
    }
}

/// How messages name port `index`: its name, with its place too if the
/// name is missing or not unique.
fn port_label(ports: &[ParsedPort], index: usize) -> String {
    let name = ports.get(index).and_then(|p| p.name.as_ref());
    let same_name = |n: &Located<String>| {
        ports
            .iter()
            .filter(|p| p.name.as_ref().is_some_and(|o| o.value == n.value))
            .count()
    };
    match name {
        Some(name) if same_name(name) == 1 => name.value.clone(),
        Some(name) => format!("{} (port[{index}])", name.value),
        None => format!("port[{index}]"),
    }
}

/// Linux's rules for interface names (`dev_valid_name()`): 1 to 15 bytes
/// (IFNAMSIZ less the NUL), not `.` or `..`, no `/`, `:` or whitespace.
fn is_valid_interface_name(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace())
}

fn is_ipv6_link_local(addr: IpAddr) -> bool {
    matches!(addr, IpAddr::V6(v6) if v6.is_unicast_link_local())
}

fn validate_ports(
    parsed: &ParsedConfig,
    system: &SystemConfig,
    cores_known: bool,
    cpus: usize,
    d: &mut Diagnostics<'_>,
) -> Vec<PortConfigModel> {
    if parsed.ports.is_empty() && parsed.ports_complete {
        d.error(
            &parsed.document,
            "no [[port]] defined",
            Some(
                "add a [[port]] section with the `name` of each interface the dataplane takes over, e.g. `name = \"eth0\"`"
                    .into(),
            ),
        );
    }

    let mut ports = Vec::with_capacity(parsed.ports.len());
    for (i, port) in parsed.ports.iter().enumerate() {
        let label = port_label(&parsed.ports, i);
        if let Some(name) = &port.name {
            if !is_valid_interface_name(&name.value) {
                d.error(
                    &name.at,
                    format!("\"{}\" is not a valid Linux interface name", name.value),
                    Some("use 1 to 15 characters without spaces, `/` or `:`".into()),
                );
            }
            let earlier = parsed.ports[..i]
                .iter()
                .position(|p| p.name.as_ref().is_some_and(|n| n.value == name.value));
            if let Some(j) = earlier {
                d.error(
                    &name.at,
                    format!("port name \"{}\" is already used by port[{j}]", name.value),
                    Some("each [[port]] must be a different interface".into()),
                );
            }
        }

        check_addresses(parsed, i, &label, d);

        let has_ipv6 = port
            .addresses
            .iter()
            .any(|a| matches!(a.value, IpNet::V6(_)));
        let mtu = port.mtu.as_ref().map_or(DEFAULT_MTU, |m| m.value);
        if let Some(m) = &port.mtu
            && has_ipv6
            && m.value < MIN_IPV6_MTU
        {
            d.error(
                &m.at,
                format!(
                    "port {label} has IPv6 addresses, which need an MTU of at least {MIN_IPV6_MTU}, not {}",
                    m.value
                ),
                Some(format!(
                    "raise `mtu` to {MIN_IPV6_MTU} or more (RFC 8200 §5), or remove the IPv6 addresses"
                )),
            );
        }

        let queues = match &port.queues {
            Some(list) => {
                if list.value.is_empty() {
                    d.error(
                        &list.at,
                        format!("port {label} has no queues"),
                        Some("list at least one, e.g. `queues = [0]`".into()),
                    );
                }
                for (k, q) in list.value.iter().enumerate() {
                    if list.value[..k].iter().any(|e| e.value == q.value) {
                        d.error(
                            &q.at,
                            format!("queue {} is listed twice on port {label}", q.value),
                            Some("remove one".into()),
                        );
                    }
                }
                list.value.iter().map(|q| q.value).collect()
            }
            None => vec![0],
        };

        let cores = &system.dataplane_cores;
        let core = match &port.core {
            Some(core) => {
                if core.value >= cpus {
                    d.error(
                        &core.at,
                        format!("core {} of port {label} does not exist", core.value),
                        Some(cpu_help(cpus)),
                    );
                } else if cores_known && !cores.contains(&core.value) {
                    let listed: Vec<String> = cores.iter().map(usize::to_string).collect();
                    d.error(
                        &core.at,
                        format!(
                            "port {label} is polled by core {}, which is not a dataplane core",
                            core.value
                        ),
                        Some(format!(
                            "add {} to `system.dataplane-cores` (now [{}]) or pick one of those",
                            core.value,
                            listed.join(", ")
                        )),
                    );
                }
                core.value
            }
            None => cores.get(i % cores.len().max(1)).copied().unwrap_or(0),
        };

        ports.push(PortConfigModel {
            name: port
                .name
                .as_ref()
                .map(|n| n.value.clone())
                .unwrap_or_default(),
            addresses: port.addresses.iter().map(|a| a.value).collect(),
            mtu,
            xdp_mode: port.xdp_mode.unwrap_or(XdpMode::Auto),
            bind_mode: port.bind_mode.unwrap_or(BindMode::Auto),
            queues,
            core,
        });
    }
    ports
}

/// Checks the addresses of port `index` on their own and against the
/// ports before it, so each conflict is reported once, at its second half.
fn check_addresses(parsed: &ParsedConfig, index: usize, label: &str, d: &mut Diagnostics<'_>) {
    let Some(port) = parsed.ports.get(index) else {
        return;
    };
    for (k, address) in port.addresses.iter().enumerate() {
        let net = address.value;
        let addr = net.addr();
        if addr.is_unspecified() || addr.is_multicast() || addr.is_loopback() {
            d.error(
                &address.at,
                format!("{net} cannot be a port address"),
                Some("use a unicast address of the link's subnet".into()),
            );
            continue;
        }
        // RFC 3021 lets /31 (and /32) use both addresses; shorter
        // prefixes reserve the first and last.
        if let IpNet::V4(v4) = net
            && v4.prefix_len() < 31
        {
            let which = if v4.addr() == v4.network() {
                Some("network")
            } else if v4.addr() == v4.broadcast() {
                Some("broadcast")
            } else {
                None
            };
            if let Some(which) = which {
                d.error(
                    &address.at,
                    format!("{net} is the {which} address of its subnet"),
                    Some(format!(
                        "give the router a host address of {}, e.g. \"{}/{}\"",
                        v4.trunc(),
                        Ipv4Addr::from(u32::from(v4.network()).wrapping_add(1)),
                        v4.prefix_len()
                    )),
                );
                continue;
            }
        }
        if port.addresses[..k].iter().any(|a| a.value.addr() == addr) {
            d.error(
                &address.at,
                format!("address {addr} is given twice on port {label}"),
                Some("remove one".into()),
            );
            continue;
        }
        // Every link has its own fe80::/64: link-local subnets repeat by
        // design.
        if is_ipv6_link_local(addr) {
            continue;
        }
        let subnet = net.trunc();
        let clash = parsed.ports[..index]
            .iter()
            .enumerate()
            .find_map(|(j, other)| {
                other
                    .addresses
                    .iter()
                    .find(|o| {
                        let theirs = o.value.trunc();
                        theirs.contains(&subnet) || subnet.contains(&theirs)
                    })
                    .map(|o| (j, o))
            });
        if let Some((j, theirs)) = clash {
            d.error(
                &address.at,
                format!(
                    "{net} on port {label} overlaps {} on port {}",
                    theirs.value,
                    port_label(&parsed.ports, j)
                ),
                Some(
                    "a subnet can be connected to one port only: change one of the addresses or remove it"
                        .into(),
                ),
            );
        }
    }
}

fn tier_name(tier: u8) -> String {
    match tier {
        0 => "tier 0 (primary)".into(),
        1 => "tier 1 (backup)".into(),
        t => format!("tier {t}"),
    }
}

fn validate_routes(
    parsed: &ParsedConfig,
    ports: &[PortConfigModel],
    d: &mut Diagnostics<'_>,
) -> Vec<StaticRoute> {
    let mut routes: Vec<StaticRoute> = Vec::with_capacity(parsed.routes.len());
    let mut first_route: HashMap<(IpNet, u8), usize> = HashMap::new();
    for (i, route) in parsed.routes.iter().enumerate() {
        let prefix = route.prefix.as_ref().map(|p| {
            let trunc = p.value.trunc();
            if trunc != p.value {
                d.error(
                    &p.at,
                    format!("prefix {} has host bits set", p.value),
                    Some(format!("write \"{trunc}\"")),
                );
            }
            trunc
        });
        let distance = route
            .distance
            .as_ref()
            .map_or(DEFAULT_DISTANCE, |l| l.value);
        let label = prefix.map_or_else(
            || "static route".to_owned(),
            |p| format!("static route {p}"),
        );

        if let (Some(prefix), Some(at)) = (prefix, route.prefix.as_ref().map(|p| &p.at)) {
            // A map, not a scan of the routes before: a config may carry
            // thousands of static routes.
            if let Some(&j) = first_route.get(&(prefix, distance)) {
                d.error(
                    at,
                    format!(
                        "{label} with distance {distance} is already defined by static-route[{j}]"
                    ),
                    Some(
                        "merge the next hops into one route, or give one a different `distance` (a floating static route)"
                            .into(),
                    ),
                );
            } else {
                first_route.insert((prefix, distance), i);
            }
        }

        let target = route_target(route, &label, d);
        let target = match target {
            Some(target) => target,
            None => RouteTarget::NextHops(validate_next_hops(
                route,
                prefix,
                ports,
                parsed.ports_complete,
                d,
            )),
        };
        routes.push(StaticRoute {
            prefix: prefix.unwrap_or_default(),
            distance,
            target,
        });
    }
    routes
}

/// `Blackhole` or `Reject` for a route that drops, `None` for one that
/// forwards, after checking the three are not mixed.
fn route_target(route: &ParsedRoute, label: &str, d: &mut Diagnostics<'_>) -> Option<RouteTarget> {
    let blackhole = route.blackhole.as_ref().filter(|b| b.value);
    let reject = route.reject.as_ref().filter(|r| r.value);
    if let (Some(_), Some(reject)) = (blackhole, reject) {
        d.error(
            &reject.at,
            format!("{label} cannot be both `blackhole` and `reject`"),
            Some(
                "keep one: `blackhole` drops silently, `reject` also answers ICMP unreachable"
                    .into(),
            ),
        );
    }
    let drop = blackhole
        .map(|b| ("blackhole", b))
        .or(reject.map(|r| ("reject", r)));
    match (drop, &route.next_hops_at) {
        (Some((kind, flag)), Some(next_hops_at)) => {
            d.error(
                next_hops_at,
                format!("{label} is `{kind}` and cannot have next hops"),
                Some(format!(
                    "remove either `{kind} = true` (line {}) or the [[static-route.next-hop]] sections",
                    flag_line(d, &flag.at)
                )),
            );
        }
        (None, None) if route.complete => {
            d.error(
                &route.at,
                format!("{label} has no next hop"),
                Some(
                    "add a [[static-route.next-hop]] with `via` or `interface`, or set `blackhole = true` or `reject = true`"
                        .into(),
                ),
            );
        }
        _ => {}
    }
    if blackhole.is_some() {
        Some(RouteTarget::Blackhole)
    } else if reject.is_some() {
        Some(RouteTarget::Reject)
    } else {
        None
    }
}

fn flag_line(d: &Diagnostics<'_>, at: &Location) -> usize {
    d.line_column(at).0
}

fn validate_next_hops(
    route: &ParsedRoute,
    prefix: Option<IpNet>,
    ports: &[PortConfigModel],
    ports_complete: bool,
    d: &mut Diagnostics<'_>,
) -> Vec<NextHop> {
    let next_hops: Vec<NextHop> = route
        .next_hops
        .iter()
        .map(|nh| resolve_next_hop(nh, prefix, ports, ports_complete, d))
        .collect();

    for (k, (nh, parsed)) in next_hops.iter().zip(&route.next_hops).enumerate() {
        if next_hops[..k]
            .iter()
            .any(|o| o.via == nh.via && o.interface == nh.interface)
        {
            let what = match nh.via {
                Some(via) => format!("next hop {via} on {}", nh.interface),
                None => format!("next hop {}", nh.interface),
            };
            d.error(
                &parsed.at,
                format!("{what} is listed twice in this route"),
                Some("remove one; to send it more traffic, raise its `weight`".into()),
            );
        }
    }

    check_tiers(route, &next_hops, d);
    next_hops
}

fn resolve_next_hop(
    nh: &ParsedNextHop,
    prefix: Option<IpNet>,
    ports: &[PortConfigModel],
    ports_complete: bool,
    d: &mut Diagnostics<'_>,
) -> NextHop {
    if nh.via.is_none() && nh.interface.is_none() {
        d.error(
            &nh.at,
            "next hop has neither `via` nor `interface`",
            Some(
                "add `via = \"<gateway address>\"`, or `interface = \"<port>\"` for a destination attached to a port"
                    .into(),
            ),
        );
    }

    if let Some(via) = &nh.via {
        check_gateway(via, prefix, ports, d);
    }

    let interface = match (&nh.interface, &nh.via) {
        (Some(interface), _) => {
            if ports_complete && !ports.iter().any(|p| p.name == interface.value) {
                let mut names: Vec<&str> = Vec::with_capacity(ports.len());
                for port in ports {
                    if !names.contains(&port.name.as_str()) {
                        names.push(&port.name);
                    }
                }
                d.error(
                    &interface.at,
                    format!("next-hop interface \"{}\" is not a port", interface.value),
                    Some(format!(
                        "use the name of a [[port]]: {}{}",
                        quoted_list(&names, "\""),
                        did_you_mean(&interface.value, names.iter().copied())
                    )),
                );
            }
            interface.value.clone()
        }
        (None, Some(via)) => match connected_port(ports, via.value) {
            Some(port) => port.name.clone(),
            None if is_ipv6_link_local(via.value) => {
                d.error(
                    &via.at,
                    format!("link-local next hop {} needs an `interface`", via.value),
                    Some(
                        "a link-local address is unique only on its own link: add `interface = \"<port>\"`"
                            .into(),
                    ),
                );
                String::new()
            }
            None => {
                if ports_complete {
                    d.error(
                        &via.at,
                        format!("next hop {} is not on any connected subnet", via.value),
                        Some(format!(
                            "add `interface = \"<port>\"` or a port address covering {}",
                            via.value
                        )),
                    );
                }
                String::new()
            }
        },
        (None, None) => String::new(),
    };

    let probe = nh.probe.as_ref().and_then(|p| {
        validate_probe(
            p,
            nh.via.as_ref().map(|v| v.value),
            ports.iter().find(|port| port.name == interface),
            d,
        )
    });

    NextHop {
        via: nh.via.as_ref().map(|v| v.value),
        interface,
        weight: nh.weight.as_ref().map_or(1, |w| w.value),
        tier: nh.tier.as_ref().map_or(0, |t| t.value),
        probe,
        bfd: nh.bfd.as_ref().map(|b| b.value.clone()),
    }
}

/// Fills a probe's defaults and checks it can work: a target (the gateway
/// by default), a kind that fits its address family, a port address of
/// that family to send from, and a timeout within the interval.
fn validate_probe(
    p: &ParsedProbe,
    via: Option<IpAddr>,
    port: Option<&PortConfigModel>,
    d: &mut Diagnostics<'_>,
) -> Option<Probe> {
    let target = match (&p.target, via) {
        (Some(t), _) => t.value,
        (None, Some(via)) => via,
        (None, None) => {
            d.error(
                &p.at,
                "probe has no target: this next hop has no `via` to default to",
                Some("add `target = \"<address>\"` to the probe".into()),
            );
            return None;
        }
    };
    let kind = p.kind.as_ref().map_or(ProbeKind::Icmp, |k| k.value);
    let at = p.kind.as_ref().map_or(&p.at, |k| &k.at);
    match (kind, target) {
        (ProbeKind::Arp, IpAddr::V6(_)) => {
            d.error(
                at,
                format!("an ARP probe cannot ask for IPv6 address {target}"),
                Some("use `kind = \"nd\"` (neighbor solicitation) for IPv6".into()),
            );
            return None;
        }
        (ProbeKind::Nd, IpAddr::V4(_)) => {
            d.error(
                at,
                format!("an ND probe cannot ask for IPv4 address {target}"),
                Some("use `kind = \"arp\"` for IPv4".into()),
            );
            return None;
        }
        _ => {}
    }
    if let Some(port) = port
        && !port
            .addresses
            .iter()
            .any(|a| a.addr().is_ipv4() == target.is_ipv4())
    {
        d.error(
            &p.at,
            format!(
                "port {} has no {} address to send the probe to {target} from",
                port.name,
                if target.is_ipv4() { "IPv4" } else { "IPv6" }
            ),
            Some(format!(
                "add an address of that family to port {}",
                port.name
            )),
        );
    }
    let interval_ms = p
        .interval_ms
        .as_ref()
        .map_or(DEFAULT_PROBE_INTERVAL_MS, |l| l.value);
    let timeout_ms = match &p.timeout_ms {
        Some(t) if t.value > interval_ms => {
            d.error(
                &t.at,
                format!(
                    "probe `timeout-ms` ({}) is longer than its `interval-ms` ({interval_ms})",
                    t.value
                ),
                Some(
                    "a probe waits for one answer at a time: make the timeout at most the interval"
                        .into(),
                ),
            );
            interval_ms
        }
        Some(t) => t.value,
        None => interval_ms,
    };
    Some(Probe {
        kind,
        target,
        interval_ms,
        timeout_ms,
        up_threshold: p
            .up_threshold
            .as_ref()
            .map_or(DEFAULT_PROBE_UP_THRESHOLD, |l| l.value),
        down_threshold: p
            .down_threshold
            .as_ref()
            .map_or(DEFAULT_PROBE_DOWN_THRESHOLD, |l| l.value),
    })
}

/// The port whose connected subnet covers `addr`, the most specific if
/// several do. IPv6 link-local subnets repeat on every link, so they never
/// decide.
fn connected_port(ports: &[PortConfigModel], addr: IpAddr) -> Option<&PortConfigModel> {
    if is_ipv6_link_local(addr) {
        return None;
    }
    ports
        .iter()
        .flat_map(|p| p.addresses.iter().map(move |a| (p, a)))
        .filter(|(_, a)| a.contains(&addr))
        .max_by_key(|(_, a)| a.prefix_len())
        .map(|(p, _)| p)
}

fn check_gateway(
    via: &Located<IpAddr>,
    prefix: Option<IpNet>,
    ports: &[PortConfigModel],
    d: &mut Diagnostics<'_>,
) {
    let addr = via.value;
    if let Some(prefix) = prefix
        && prefix.addr().is_ipv4() != addr.is_ipv4()
    {
        let (route, gateway) = if prefix.addr().is_ipv4() {
            ("IPv4", "IPv6")
        } else {
            ("IPv6", "IPv4")
        };
        d.error(
            &via.at,
            format!("{route} route {prefix} cannot use {gateway} next hop {addr}"),
            Some(format!("give the route an {route} gateway")),
        );
        return;
    }
    let broadcast = matches!(addr, IpAddr::V4(v4) if v4.is_broadcast());
    if addr.is_unspecified() || addr.is_multicast() || addr.is_loopback() || broadcast {
        d.error(
            &via.at,
            format!("{addr} cannot be a gateway"),
            Some("`via` is the unicast address of the neighboring router".into()),
        );
        return;
    }
    let own = ports
        .iter()
        .find(|p| p.addresses.iter().any(|a| a.addr() == addr));
    if let Some(port) = own {
        d.error(
            &via.at,
            format!(
                "next hop {addr} is this router's own address on port {}",
                port.name
            ),
            Some("`via` is the neighboring router's address, not this one's".into()),
        );
    }
}

/// Tiers must be used from 0 up without a hole: a backup with no primary
/// is almost always a typo, and the dataplane's groups have no empty tiers.
fn check_tiers(route: &ParsedRoute, next_hops: &[NextHop], d: &mut Diagnostics<'_>) {
    let Some(highest) = next_hops.iter().map(|nh| nh.tier).max() else {
        return;
    };
    let missing = (0..highest).find(|&t| !next_hops.iter().any(|nh| nh.tier == t));
    if let Some(missing) = missing {
        // Point at the first next hop of the lowest tier above the hole.
        let above = next_hops
            .iter()
            .map(|nh| nh.tier)
            .filter(|&t| t > missing)
            .min()
            .unwrap_or(highest);
        let culprit = next_hops
            .iter()
            .zip(&route.next_hops)
            .find(|(nh, _)| nh.tier == above)
            .and_then(|(_, parsed)| parsed.tier.as_ref());
        if let Some(tier) = culprit {
            let fix = if missing == 0 {
                "`tier = \"primary\"`".to_owned()
            } else {
                format!("`tier = {missing}`")
            };
            d.error(
                &tier.at,
                format!(
                    "next hop is in {}, but the route has no next hop in {}",
                    tier_name(above),
                    tier_name(missing)
                ),
                Some(format!(
                    "tiers are tried in order and cannot skip one: add a next hop with {fix}, or move this one up"
                )),
            );
        }
    }
    for tier in 0..=highest {
        let members = next_hops.iter().filter(|nh| nh.tier == tier).count();
        if members > MAX_TIER_MEMBERS {
            d.error(
                &route.at,
                format!(
                    "{} has {members} next hops, more than {MAX_TIER_MEMBERS}",
                    tier_name(tier)
                ),
                Some("split the traffic over fewer next hops".into()),
            );
        }
    }
}
