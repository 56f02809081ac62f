//! Connected routes from port addresses.
//!
//! An address `10.0.0.1/24` on port 3 gives two candidates: the attached
//! subnet `10.0.0.0/24` out of port 3 (destinations on it are their own
//! neighbours) and the host route `10.0.0.1/32` delivered locally. Both
//! are keyed by the port as instance, so one subnet on two ports is two
//! candidates (merged as ECMP), and a port with two addresses in one subnet
//! keeps the subnet until the last of them is removed.

use std::collections::BTreeSet;

use dataplane::port::PortId;
use ipnet::IpNet;

use super::candidate::{Candidate, RouteKind};
use crate::route::{RouteNextHop, RouteSource};

/// The addresses configured on each port (with their prefix length).
#[derive(Debug, Default)]
pub(crate) struct ConnectedAddresses {
    addresses: BTreeSet<(PortId, IpNet)>,
}

impl ConnectedAddresses {
    pub fn insert(&mut self, port: PortId, address: IpNet) -> bool {
        self.addresses.insert((port, address))
    }

    pub fn remove(&mut self, port: PortId, address: IpNet) -> bool {
        self.addresses.remove(&(port, address))
    }

    /// Whether some address of `port` still makes `subnet` attached.
    pub fn has_subnet(&self, port: PortId, subnet: IpNet) -> bool {
        self.on_port(port)
            .any(|a| has_subnet(a) && a.trunc() == subnet)
    }

    /// Whether `port` still has `host` (a full-length prefix) as an address.
    pub fn has_host(&self, port: PortId, host: IpNet) -> bool {
        self.on_port(port).any(|a| host_route(a) == Some(host))
    }

    fn on_port(&self, port: PortId) -> impl Iterator<Item = IpNet> + '_ {
        self.addresses
            .range((port, IpNet::V4(Default::default()))..)
            .take_while(move |(p, _)| *p == port)
            .map(|(_, a)| *a)
    }
}

/// Whether the address has a subnet beyond itself (a /32 or /128 address
/// is only a local host route).
pub(crate) fn has_subnet(address: IpNet) -> bool {
    address.prefix_len() < address.max_prefix_len()
}

/// The host route of an address (its full-length prefix).
pub(crate) fn host_route(address: IpNet) -> Option<IpNet> {
    IpNet::new(address.addr(), address.max_prefix_len()).ok()
}

/// The attached-subnet candidate of `port`.
pub(crate) fn subnet_candidate(port: PortId) -> Candidate {
    Candidate {
        source: RouteSource::Connected,
        instance: u32::from(port),
        distance: RouteSource::Connected.default_distance(),
        metric: 0,
        kind: RouteKind::Forward(vec![RouteNextHop {
            gateway: None,
            port: Some(port),
            weight: 1,
            tier: 0,
        }]),
    }
}

/// The local host-route candidate of an address on `port`.
pub(crate) fn local_candidate(port: PortId) -> Candidate {
    Candidate {
        source: RouteSource::Connected,
        instance: u32::from(port),
        distance: RouteSource::Connected.default_distance(),
        metric: 0,
        kind: RouteKind::Local,
    }
}
