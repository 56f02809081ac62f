//! Which addresses may be a neighbor on a port: the only addresses the
//! table ever learns, so a sender on the link cannot fill it with
//! arbitrary entries, nor claim one of the router's own addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::pipeline::PortConfig;

/// Whether `ip` can be a neighbor reached through `port`.
pub fn is_neighbor(port: &PortConfig, ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_neighbor_v4(port, ip),
        IpAddr::V6(ip) => is_neighbor_v6(port, ip),
    }
}

/// A unicast address inside one of the port's IPv4 subnets, other than
/// the router's own and, on subnets with a host part, other than the
/// network and directed-broadcast addresses (RFC 1812 §4.2.3.1; /31
/// links have neither, RFC 3021).
pub fn is_neighbor_v4(port: &PortConfig, ip: Ipv4Addr) -> bool {
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() {
        return false;
    }
    if is_own_v4(port, ip) {
        return false;
    }
    port.ipv4.iter().any(|net| {
        net.contains(&ip)
            && (net.prefix_len() > 30 || (ip != net.network() && ip != net.broadcast()))
    })
}

/// A unicast address that is link-local (fe80::/10) or inside one of the
/// port's IPv6 prefixes, other than the router's own and the prefixes'
/// Subnet-Router anycast addresses (RFC 4291 §2.6.1). Link-local
/// neighbors count only on ports that run IPv6 at all.
pub fn is_neighbor_v6(port: &PortConfig, ip: Ipv6Addr) -> bool {
    if ip.is_unspecified() || ip.is_multicast() || ip.is_loopback() || port.ipv6.is_empty() {
        return false;
    }
    if is_own_v6(port, ip) {
        return false;
    }
    is_link_local_v6(ip)
        || port
            .ipv6
            .iter()
            .any(|net| net.contains(&ip) && (net.prefix_len() > 126 || ip != net.network()))
}

/// Whether `ip` is one of the router's addresses on `port`.
pub fn is_own(port: &PortConfig, ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_own_v4(port, ip),
        IpAddr::V6(ip) => is_own_v6(port, ip),
    }
}

pub fn is_own_v4(port: &PortConfig, ip: Ipv4Addr) -> bool {
    port.ipv4.iter().any(|net| net.addr() == ip)
}

pub fn is_own_v6(port: &PortConfig, ip: Ipv6Addr) -> bool {
    port.ipv6.iter().any(|net| net.addr() == ip)
}

/// fe80::/10 (RFC 4291 §2.5.6).
pub fn is_link_local_v6(ip: Ipv6Addr) -> bool {
    ip.segments()[0] & 0xffc0 == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::MacAddr;

    fn port() -> PortConfig {
        PortConfig {
            name: "eth0".into(),
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            mtu: 1500,
            ipv4: vec![
                "10.0.0.1/24".parse().unwrap(),
                "192.0.2.0/31".parse().unwrap(),
            ],
            ipv6: vec!["2001:db8:a::1/64".parse().unwrap()],
        }
    }

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn v4_hosts_of_the_subnets_only() {
        let p = port();
        assert!(is_neighbor_v4(&p, v4("10.0.0.2")));
        assert!(is_neighbor_v4(&p, v4("10.0.0.254")));
        assert!(!is_neighbor_v4(&p, v4("10.0.0.1")), "our own address");
        assert!(!is_neighbor_v4(&p, v4("10.0.0.0")), "network address");
        assert!(!is_neighbor_v4(&p, v4("10.0.0.255")), "directed broadcast");
        assert!(!is_neighbor_v4(&p, v4("10.0.1.2")), "off-subnet");
        assert!(!is_neighbor_v4(&p, v4("0.0.0.0")));
        assert!(!is_neighbor_v4(&p, v4("224.0.0.5")));
        assert!(!is_neighbor_v4(&p, v4("255.255.255.255")));
        // RFC 3021: on a /31 the other address is the peer, even if it is
        // the "network" address of the pair.
        assert!(is_neighbor_v4(&p, v4("192.0.2.1")));
        assert!(!is_neighbor_v4(&p, v4("192.0.2.0")), "our own /31 address");
    }

    #[test]
    fn v6_prefix_and_link_local() {
        let p = port();
        assert!(is_neighbor_v6(&p, v6("2001:db8:a::2")));
        assert!(is_neighbor_v6(&p, v6("fe80::1234")));
        assert!(!is_neighbor_v6(&p, v6("2001:db8:a::1")), "our own address");
        assert!(
            !is_neighbor_v6(&p, v6("2001:db8:a::")),
            "subnet-router anycast"
        );
        assert!(!is_neighbor_v6(&p, v6("2001:db8:b::2")), "off-link");
        assert!(!is_neighbor_v6(&p, v6("ff02::1")));
        assert!(!is_neighbor_v6(&p, v6("::")));
        assert!(!is_neighbor_v6(&p, v6("::1")));
        let v4_only = PortConfig {
            ipv6: vec![],
            ..port()
        };
        assert!(!is_neighbor_v6(&v4_only, v6("fe80::1234")));
    }
}
