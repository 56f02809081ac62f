//! The static routing protocol's view of the configuration: the file's
//! static routes with ports as dataplane port ids.

use controlplane::static_routing::{
    ProbeKind, ProbeSpec, StaticNextHop, StaticRouteConfig, StaticRoutingConfig, StaticTarget,
};
use dataplane::port::PortId;

use crate::config::{self, Config};

/// Port `i` of the config is dataplane port `i`.
pub fn port_id(config: &Config, name: &str) -> Option<PortId> {
    config
        .ports
        .iter()
        .position(|p| p.name == name)
        .and_then(|i| PortId::try_from(i).ok())
}

/// Validation guarantees every next hop's interface is a port; a next hop
/// that still names none (impossible for a validated config) is left out
/// rather than aimed at a wrong port.
pub fn static_routing_config(config: &Config) -> StaticRoutingConfig {
    let routes = config
        .static_routes
        .iter()
        .map(|route| StaticRouteConfig {
            prefix: route.prefix,
            distance: route.distance,
            target: match &route.target {
                config::RouteTarget::Blackhole => StaticTarget::Blackhole,
                config::RouteTarget::Reject => StaticTarget::Reject,
                config::RouteTarget::NextHops(hops) => StaticTarget::Forward(
                    hops.iter()
                        .filter_map(|hop| {
                            Some(StaticNextHop {
                                gateway: hop.via,
                                port: port_id(config, &hop.interface)?,
                                weight: hop.weight,
                                tier: hop.tier,
                                probe: hop.probe.map(|p| ProbeSpec {
                                    kind: match p.kind {
                                        config::ProbeKind::Icmp => ProbeKind::Icmp,
                                        config::ProbeKind::Arp => ProbeKind::Arp,
                                        config::ProbeKind::Nd => ProbeKind::Nd,
                                    },
                                    target: p.target,
                                    interval_ms: p.interval_ms,
                                    timeout_ms: p.timeout_ms,
                                    up_threshold: p.up_threshold,
                                    down_threshold: p.down_threshold,
                                }),
                                bfd: hop.bfd.is_some(),
                            })
                        })
                        .collect(),
                ),
            },
        })
        .collect();
    StaticRoutingConfig { routes }
}
