//! `[[bfd-profile]]` and the `bfd = …` of static next hops, checked
//! against each other and the ports.

use std::collections::HashMap;
use std::net::IpAddr;

use super::diagnostics::Diagnostics;
use super::model::{
    BfdAuthentication, BfdProfile, DEFAULT_BFD_PROFILE, PortConfigModel, RouteTarget, StaticRoute,
};
use super::parsed::{ParsedBfdProfile, ParsedConfig};
use super::suggestion::did_you_mean;

/// Profiles with their defaults filled in; every name unique.
pub(super) fn profiles(parsed: &[ParsedBfdProfile], d: &mut Diagnostics<'_>) -> Vec<BfdProfile> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(parsed.len());
    for (i, p) in parsed.iter().enumerate() {
        let Some(name) = &p.name else {
            continue;
        };
        if let Some(j) = seen.insert(name.value.clone(), i) {
            d.error(
                &name.at,
                format!(
                    "BFD profile \"{}\" is already defined by bfd-profile[{j}]",
                    name.value
                ),
                Some("give each profile its own name".into()),
            );
            continue;
        }
        let mut profile = BfdProfile::named(&name.value);
        if let Some(v) = &p.transmit_interval {
            profile.transmit_interval = v.value;
        }
        if let Some(v) = &p.receive_interval {
            profile.receive_interval = v.value;
        }
        if let Some(v) = &p.detect_multiplier {
            profile.detect_multiplier = v.value;
        }
        if let Some(v) = &p.minimum_ttl {
            profile.minimum_ttl = v.value;
        }
        if let Some(v) = &p.passive_mode {
            profile.passive_mode = v.value;
        }
        if let Some(v) = &p.hold_down {
            profile.hold_down = v.value;
        }
        if let Some(v) = &p.dampening {
            profile.dampening = v.value;
        }
        if let Some(a) = &p.authentication
            && let (Some(kind), Some(key)) = (&a.kind, &a.key)
        {
            let max = kind.value.max_key_len();
            let len = key.value.len();
            if len == 0 || len > max {
                d.error(
                    &key.at,
                    format!("BFD authentication key is {len} bytes long"),
                    Some(format!(
                        "this type carries a key of 1 to {max} bytes (RFC 5880 §4.2–4.4)"
                    )),
                );
            }
            profile.authentication = Some(BfdAuthentication {
                kind: kind.value,
                key_id: a.key_id.as_ref().map_or(1, |k| k.value),
                key: key.value.clone(),
            });
        }
        out.push(profile);
    }
    out
}

/// Every `bfd = …` names a profile, has a gateway to talk to, and a port
/// address to talk from.
pub(super) fn next_hops(
    parsed: &ParsedConfig,
    routes: &[StaticRoute],
    ports: &[PortConfigModel],
    profiles: &[BfdProfile],
    d: &mut Diagnostics<'_>,
) {
    for (route, parsed_route) in routes.iter().zip(&parsed.routes) {
        let RouteTarget::NextHops(hops) = &route.target else {
            continue;
        };
        for (hop, parsed_hop) in hops.iter().zip(&parsed_route.next_hops) {
            let Some(name) = &parsed_hop.bfd else {
                continue;
            };
            if name.value != DEFAULT_BFD_PROFILE && !profiles.iter().any(|p| p.name == name.value) {
                let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
                d.error(
                    &name.at,
                    format!("no BFD profile named \"{}\"", name.value),
                    Some(format!(
                        "define it with [[bfd-profile]] name = \"{}\", or write `bfd = true` for the defaults{}",
                        name.value,
                        did_you_mean(&name.value, names.iter().copied())
                    )),
                );
            }
            let Some(peer) = hop.via else {
                d.error(
                    &name.at,
                    "a BFD session needs the next hop's `via`: the address to talk to",
                    Some("add `via = \"<gateway address>\"`".into()),
                );
                continue;
            };
            let Some(port) = ports.iter().find(|p| p.name == hop.interface) else {
                continue;
            };
            if local_address(port, peer).is_none() {
                let what = if is_link_local(peer) {
                    "IPv6 link-local (fe80::/10)"
                } else if peer.is_ipv4() {
                    "IPv4"
                } else {
                    "IPv6"
                };
                d.error(
                    &name.at,
                    format!(
                        "port {} has no {what} address to run BFD with {peer} from",
                        port.name
                    ),
                    Some(format!("add one to port {}'s `addresses`", port.name)),
                );
            }
        }
    }
}

/// The address a BFD session to `peer` leaves `port` from: the port's
/// address on the peer's subnet, else any of its family (a link-local one
/// for a link-local peer).
pub fn local_address(port: &PortConfigModel, peer: IpAddr) -> Option<IpAddr> {
    let family = |a: &&ipnet::IpNet| {
        a.addr().is_ipv4() == peer.is_ipv4() && is_link_local(a.addr()) == is_link_local(peer)
    };
    port.addresses
        .iter()
        .filter(family)
        .find(|a| a.contains(&peer))
        .or_else(|| port.addresses.iter().find(family))
        .map(ipnet::IpNet::addr)
}

fn is_link_local(addr: IpAddr) -> bool {
    matches!(addr, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}
