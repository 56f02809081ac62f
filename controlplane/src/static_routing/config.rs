//! What the static routing protocol is told to do: the routes, already
//! validated and with every next hop's port resolved by the daemon's
//! config layer.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::protocol::PortId;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticRoutingConfig {
    pub routes: Vec<StaticRouteConfig>,
}

/// One configured route. `(prefix, distance)` names it: two routes to one
/// prefix must differ in distance (floating static routes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticRouteConfig {
    pub prefix: IpNet,
    pub distance: u8,
    pub target: StaticTarget,
}

impl StaticRouteConfig {
    pub fn key(&self) -> StaticRouteKey {
        StaticRouteKey {
            prefix: self.prefix.trunc(),
            distance: self.distance,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StaticRouteKey {
    pub prefix: IpNet,
    pub distance: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaticTarget {
    Forward(Vec<StaticNextHop>),
    Blackhole,
    Reject,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticNextHop {
    /// `None`: every destination is on the port's link.
    pub gateway: Option<IpAddr>,
    pub port: PortId,
    pub weight: u32,
    pub tier: u8,
    /// A reachability probe this next hop's health also depends on.
    pub probe: Option<ProbeSpec>,
    /// A BFD session to `gateway` guards this next hop: its health also
    /// needs that session Up (and released by the dataplane's hold-down).
    #[serde(default)]
    pub bfd: bool,
}

impl StaticNextHop {
    pub fn key(&self) -> NextHopRef {
        NextHopRef {
            port: self.port,
            gateway: self.gateway,
        }
    }
}

/// A next hop as the dataplane knows it: the port and the gateway. Health
/// is per `NextHopRef`, shared by every route through it, because the
/// dataplane has one liveness bit per (port, gateway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NextHopRef {
    pub port: PortId,
    pub gateway: Option<IpAddr>,
}

/// How a probe asks "are you there?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    /// ICMP echo (ICMPv6 echo for IPv6 targets).
    Icmp,
    /// ARP request (IPv4 targets).
    Arp,
    /// Neighbor solicitation (IPv6 targets).
    Nd,
}

/// A cloud-style health check: probe `target` every `interval_ms`, declare
/// it up after `up_threshold` answers in a row and down after
/// `down_threshold` misses in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProbeSpec {
    pub kind: ProbeKind,
    pub target: IpAddr,
    pub interval_ms: u32,
    pub timeout_ms: u32,
    pub up_threshold: u8,
    pub down_threshold: u8,
}
