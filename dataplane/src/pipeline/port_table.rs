//! What the forwarding pipeline knows of each port: its MAC, MTU and the
//! router's addresses on it (the sources of ICMP errors sent out of it).

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

use crate::packet::MacAddr;

/// One port of the dataplane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// The interface name operators know it by.
    pub name: String,
    pub mac: MacAddr,
    /// Largest IP packet (header included) the link carries.
    pub mtu: u16,
    pub ipv4: Vec<Ipv4Net>,
    pub ipv6: Vec<Ipv6Net>,
}

impl PortConfig {
    /// The address ICMPv4 errors leaving this port come from
    /// (RFC 1812 §4.3.2.4: an address of the interface they are sent on).
    pub fn ipv4_source(&self) -> Option<Ipv4Addr> {
        self.ipv4.first().map(Ipv4Net::addr)
    }

    /// The address ICMPv6 errors leaving this port come from: a global
    /// address if the port has one, else its link-local one.
    pub fn ipv6_source(&self) -> Option<Ipv6Addr> {
        let is_link_local = |a: &Ipv6Addr| a.segments()[0] & 0xffc0 == 0xfe80;
        self.ipv6
            .iter()
            .map(Ipv6Net::addr)
            .find(|a| !is_link_local(a))
            .or_else(|| self.ipv6.first().map(Ipv6Net::addr))
    }
}
