//! Turns the validated configuration into FIB contents: connected subnets
//! (attached next hops, resolved per destination by the dataplane's
//! neighbor table), the router's own addresses (punted to the host), and
//! static routes (next-hop groups with primary/backup tiers).
//!
//! Until the RIB lands (control-plane issue) there is one source per
//! prefix: a connected subnet wins over a static route for the same
//! prefix, as administrative distance 0 beats 1.

use std::collections::BTreeMap;
use std::net::IpAddr;

use dataplane::fib::{
    FibError, FibWriter, GroupId, Member, NextHop, NextHopGroup, NextHopId, RouteTarget,
};
use dataplane::port::PortId;
use ipnet::IpNet;

use crate::config::{self, Config};

/// What was installed, for the link monitor and for operators.
#[derive(Debug, Default)]
pub struct FibPlan {
    /// Every next hop and the port it leaves by: its liveness follows
    /// that port's link state.
    pub nexthops: Vec<(NextHopId, PortId)>,
    /// Routes installed, by source.
    pub connected: usize,
    pub local: usize,
    pub static_routes: usize,
}

/// Why the configuration could not be turned into a FIB.
#[derive(Debug)]
pub struct FibBuildError(pub String);

impl std::fmt::Display for FibBuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FibBuildError {}

fn fib_err(what: &str, e: FibError) -> FibBuildError {
    FibBuildError(format!("{what}: {e}"))
}

/// Allocates ids as next hops and groups are first seen.
#[derive(Default)]
struct Ids {
    nexthops: BTreeMap<(PortId, Option<IpAddr>), NextHopId>,
    groups: BTreeMap<Vec<Vec<(NextHopId, u32)>>, GroupId>,
}

/// Installs everything `config` describes into `fib` and publishes it.
/// `port_index` maps a port name to its dataplane port id.
pub fn build(
    fib: &mut FibWriter,
    config: &Config,
    port_index: &dyn Fn(&str) -> Option<PortId>,
) -> Result<FibPlan, FibBuildError> {
    let mut ids = Ids::default();
    let mut plan = FibPlan::default();
    let mut installed: BTreeMap<IpNet, &'static str> = BTreeMap::new();

    for port in &config.ports {
        let pid = port_index(&port.name)
            .ok_or_else(|| FibBuildError(format!("port {} has no dataplane port", port.name)))?;
        for addr in &port.addresses {
            // The subnet: reached through an attached next hop.
            let subnet = addr.trunc();
            let group = group_for(fib, &mut ids, &mut plan, &[vec![(pid, None, 1)]])?;
            fib.set_route(subnet, RouteTarget::Group(group))
                .map_err(|e| fib_err(&format!("connected route {subnet} on {}", port.name), e))?;
            installed.insert(subnet, "connected");
            plan.connected += 1;
            // The router's own address: for the host.
            let host = IpNet::new(addr.addr(), addr.max_prefix_len())
                .map_err(|e| FibBuildError(e.to_string()))?;
            fib.set_route(host, RouteTarget::Local)
                .map_err(|e| fib_err(&format!("local address {host}"), e))?;
            installed.insert(host, "local");
            plan.local += 1;
        }
    }

    for route in &config.static_routes {
        if let Some(source) = installed.get(&route.prefix) {
            tracing::warn!(
                prefix = %route.prefix,
                "static route ignored: a {source} route for the same prefix has a lower distance"
            );
            continue;
        }
        let target = match &route.target {
            config::RouteTarget::Blackhole => RouteTarget::Blackhole,
            config::RouteTarget::Reject => RouteTarget::Unreachable,
            config::RouteTarget::NextHops(hops) => {
                let mut tiers: BTreeMap<u8, Vec<(PortId, Option<IpAddr>, u32)>> = BTreeMap::new();
                for hop in hops {
                    let pid = port_index(&hop.interface).ok_or_else(|| {
                        FibBuildError(format!(
                            "static route {}: interface {} has no dataplane port",
                            route.prefix, hop.interface
                        ))
                    })?;
                    tiers
                        .entry(hop.tier)
                        .or_default()
                        .push((pid, hop.via, hop.weight));
                }
                let tiers: Vec<_> = tiers.into_values().collect();
                RouteTarget::Group(group_for(fib, &mut ids, &mut plan, &tiers)?)
            }
        };
        fib.set_route(route.prefix, target)
            .map_err(|e| fib_err(&format!("static route {}", route.prefix), e))?;
        installed.insert(route.prefix, "static");
        plan.static_routes += 1;
    }
    fib.publish();
    Ok(plan)
}

/// The group for these tiers of (port, gateway, weight), creating next
/// hops and the group the first time a combination is seen, so routes
/// with the same next hops share one group (a gateway's failure then
/// touches one group, not every route).
fn group_for(
    fib: &mut FibWriter,
    ids: &mut Ids,
    plan: &mut FibPlan,
    tiers: &[Vec<(PortId, Option<IpAddr>, u32)>],
) -> Result<GroupId, FibBuildError> {
    let mut key = Vec::with_capacity(tiers.len());
    for tier in tiers {
        let mut members = Vec::with_capacity(tier.len());
        for &(port, gateway, weight) in tier {
            let next_id = NextHopId(ids.nexthops.len() as u32 + 1);
            let id = match ids.nexthops.get(&(port, gateway)) {
                Some(id) => *id,
                None => {
                    fib.set_nexthop(
                        next_id,
                        NextHop {
                            port,
                            gateway,
                            mac: None,
                        },
                    )
                    .map_err(|e| fib_err("next hop", e))?;
                    ids.nexthops.insert((port, gateway), next_id);
                    plan.nexthops.push((next_id, port));
                    next_id
                }
            };
            members.push((id, weight));
        }
        key.push(members);
    }
    if let Some(g) = ids.groups.get(&key) {
        return Ok(*g);
    }
    let group = NextHopGroup::new(
        &key.iter()
            .map(|t| {
                t.iter()
                    .map(|&(nexthop, weight)| Member { nexthop, weight })
                    .collect()
            })
            .collect::<Vec<Vec<Member>>>(),
    )
    .map_err(|e| FibBuildError(format!("next-hop group: {e}")))?;
    let id = GroupId(ids.groups.len() as u32);
    fib.set_group(id, group)
        .map_err(|e| fib_err("next-hop group", e))?;
    ids.groups.insert(key, id);
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ValidationEnv, parse_str};
    use dataplane::fib::FibConfig;

    const CONFIG: &str = r#"
[[port]]
name = "lan0"
addresses = ["10.0.0.1/24", "2001:db8:a::1/64"]

[[port]]
name = "up1"
addresses = ["192.0.2.2/24"]

[[port]]
name = "up2"
addresses = ["198.51.100.2/24"]

[[static-route]]
prefix = "0.0.0.0/0"
[[static-route.next-hop]]
via = "192.0.2.1"
tier = "primary"
[[static-route.next-hop]]
via = "198.51.100.1"
tier = "backup"

[[static-route]]
prefix = "100.64.0.0/10"
[[static-route.next-hop]]
via = "192.0.2.1"
tier = "primary"
[[static-route.next-hop]]
via = "198.51.100.1"
tier = "backup"

[[static-route]]
prefix = "203.0.113.0/24"
blackhole = true
"#;

    #[test]
    fn config_becomes_routes_groups_and_shared_nexthops() {
        let config = parse_str(CONFIG, "test.toml", &ValidationEnv { cpu_count: 4 }).unwrap();
        let (mut fib, _readers) = FibWriter::new(FibConfig {
            v4_first_stride: 16,
            v6_first_stride: 16,
            max_nexthops: 64,
        });
        let names = ["lan0", "up1", "up2"];
        let plan = build(&mut fib, &config, &|n| {
            names.iter().position(|x| *x == n).map(|i| i as PortId)
        })
        .unwrap();
        assert_eq!(plan.connected, 4);
        assert_eq!(plan.local, 4);
        assert_eq!(plan.static_routes, 3);
        // One attached next hop per port (shared by its IPv4 and IPv6
        // subnets: the destination itself is the neighbor) + 2 gateways,
        // each created once however many routes use it.
        assert_eq!(plan.nexthops.len(), 5);
        let lookup = |a: &str| fib.lookup(a.parse().unwrap());
        assert_eq!(lookup("10.0.0.1"), Some((32, RouteTarget::Local)));
        assert_eq!(lookup("203.0.113.9"), Some((24, RouteTarget::Blackhole)));
        // Both static routes share the primary/backup group.
        let (_, default) = lookup("8.8.8.8").unwrap();
        let (_, cgnat) = lookup("100.64.1.1").unwrap();
        assert_eq!(default, cgnat);
        let RouteTarget::Group(g) = default else {
            panic!("{default:?}")
        };
        let tiers: Vec<Vec<NextHopId>> = fib
            .group(g)
            .unwrap()
            .tiers()
            .map(|t| t.iter().map(|m| m.nexthop).collect())
            .collect();
        assert_eq!(tiers.len(), 2, "primary and backup tiers");
        let gw = |id: NextHopId| fib.nexthop(id).unwrap().gateway.unwrap().to_string();
        assert_eq!(gw(tiers[0][0]), "192.0.2.1");
        assert_eq!(gw(tiers[1][0]), "198.51.100.1");
    }
}
