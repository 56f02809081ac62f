//! Next hops: where a forwarded packet leaves and whom it is handed to.
//!
//! A next hop is referred to everywhere by its [`NextHopId`], a small dense
//! index. The index is what next-hop groups store, what the liveness bitmap
//! ([`super::liveness::Liveness`]) is keyed by, and what the BFD engine
//! clears when a session goes down, so failover never has to touch a route.

use std::fmt;
use std::net::IpAddr;

use crate::packet::MacAddr;
use crate::port::PortId;

/// Dense index of a next hop in the FIB's next-hop table and in the
/// liveness bitmap. The control plane allocates them and reuses freed ones,
/// keeping the numbers small so the bitmap stays small.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NextHopId(pub u32);

impl NextHopId {
    /// The id as an index into per-next-hop tables.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NextHopId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "nh{}", self.0)
    }
}

/// One way out of the router: a port and the neighbour on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextHop {
    /// The port the packet is sent out of.
    pub port: PortId,
    /// The neighbour the packet is handed to. `None` means the destination
    /// is attached to `port`: the packet's own destination is the neighbour.
    pub gateway: Option<IpAddr>,
    /// The neighbour's MAC address. `None` while it is unresolved; the
    /// dataplane then punts or drops instead of forwarding.
    pub mac: Option<MacAddr>,
}

impl NextHop {
    /// A next hop through `gateway` on `port`, not yet resolved.
    pub fn via(port: PortId, gateway: IpAddr) -> Self {
        NextHop {
            port,
            gateway: Some(gateway),
            mac: None,
        }
    }

    /// A directly attached subnet on `port`.
    pub fn attached(port: PortId) -> Self {
        NextHop {
            port,
            gateway: None,
            mac: None,
        }
    }

    /// Whether the neighbour's MAC address is known, so frames can be
    /// rewritten and sent without asking the control plane.
    pub fn is_resolved(&self) -> bool {
        self.mac.is_some()
    }

    /// The address to resolve for a packet to `destination`: the gateway,
    /// or the destination itself when the subnet is attached.
    pub fn neighbour_for(&self, destination: IpAddr) -> IpAddr {
        self.gateway.unwrap_or(destination)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn attached_next_hop_resolves_the_packets_destination() {
        let dst = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        let gw = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(NextHop::attached(3).neighbour_for(dst), dst);
        assert_eq!(NextHop::via(3, gw).neighbour_for(dst), gw);
        assert!(!NextHop::via(3, gw).is_resolved());
    }

    #[test]
    fn ids_order_and_display_by_number() {
        assert!(NextHopId(2) < NextHopId(10));
        assert_eq!(NextHopId(42).to_string(), "nh42");
        assert_eq!(NextHopId(42).index(), 42);
    }
}
