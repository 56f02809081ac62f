//! What an ARP or NDP frame says about a neighbor, after the checks a
//! router must make before believing it.
//!
//! Frames come from both sides of a port: from the wire, and from the host
//! kernel through the port's TAP twin (which has the port's MAC, so an
//! Ethernet source equal to the port's MAC marks a frame as the kernel's).
//! Wire frames tell what a neighbor says of itself; the kernel's frames
//! tell what the kernel has already resolved. Either way only an address
//! that [`on_link`](super::on_link) accepts is reported, so nothing here
//! can make the table learn an off-subnet sender or the router's own
//! addresses.

use std::net::{IpAddr, Ipv6Addr};

use crate::packet::icmpv6::{Icmpv6Packet, Icmpv6Repr, Icmpv6Type, NdpOptionType};
use crate::packet::ipv6::{self, Ipv6Packet};
use crate::packet::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame, IpProtocol, MacAddr,
};
use crate::pipeline::PortConfig;

use super::on_link;

/// One fact about a neighbor, taken from one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    pub ip: IpAddr,
    /// None only for an advertisement without a link-layer address option.
    pub mac: Option<MacAddr>,
    pub kind: ObservationKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObservationKind {
    /// A neighbor stated its own MAC without confirming that our packets
    /// reach it: ARP request or gratuitous ARP, the source link-layer
    /// option of an NS, RS or RA (RFC 4861 §7.2.3, §6.2.6, Appendix C).
    /// `may_create` when the frame was meant for the router (RFC 826: "if
    /// I am the target", RFC 4861 §7.2.3: the NS targets our address);
    /// otherwise it only updates an entry we already have.
    Unsolicited {
        may_create: bool,
        is_router: Option<bool>,
    },
    /// A Neighbor Advertisement (RFC 4861 §7.2.5); an ARP reply sent to
    /// the router counts as solicited and overriding, and may create.
    Advertisement {
        solicited: bool,
        override_: bool,
        is_router: Option<bool>,
        may_create: bool,
    },
    /// The kernel sent a unicast ARP reply or NS/NA to this neighbor at
    /// this MAC: what the kernel has resolved.
    HostMapping,
}

/// Reads one Ethernet frame seen on `port` in either direction.
pub fn observe(port: &PortConfig, frame: &[u8]) -> Option<Observation> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let from_host = eth.src_addr() == port.mac;
    match eth.ethertype() {
        EtherType::Arp => observe_arp(port, &eth, from_host),
        EtherType::Ipv6 => observe_ndp(port, &eth, from_host),
        _ => None,
    }
}

/// A MAC a neighbor may have: unicast, not all-zero (RFC 1812 §3.3.2),
/// and not the port's own.
fn is_neighbor_mac(port: &PortConfig, mac: MacAddr) -> bool {
    mac.is_unicast() && mac != MacAddr::ZERO && mac != port.mac
}

fn observe_arp(
    port: &PortConfig,
    eth: &EthernetFrame<&[u8]>,
    from_host: bool,
) -> Option<Observation> {
    let arp = ArpRepr::parse(&ArpPacket::new_unchecked(eth.payload())).ok()?;
    if from_host {
        // The kernel's reply goes to the requester, named as the target.
        let ip = arp.target_protocol_addr;
        let mac = arp.target_hardware_addr;
        let to_that_mac = eth.dst_addr() == mac;
        return (arp.operation == ArpOperation::Reply
            && to_that_mac
            && is_neighbor_mac(port, mac)
            && on_link::is_neighbor_v4(port, ip))
        .then_some(Observation {
            ip: IpAddr::V4(ip),
            mac: Some(mac),
            kind: ObservationKind::HostMapping,
        });
    }
    let sender_ip = arp.sender_protocol_addr;
    let sender_mac = arp.sender_hardware_addr;
    // A sender of 0.0.0.0 is an address probe (RFC 5227 §2.1.1): it claims
    // nothing yet. `is_neighbor_v4` refuses it, along with off-subnet
    // senders, broadcast/multicast addresses and our own.
    if !is_neighbor_mac(port, sender_mac) || !on_link::is_neighbor_v4(port, sender_ip) {
        return None;
    }
    let for_us = on_link::is_own_v4(port, arp.target_protocol_addr);
    let kind = match arp.operation {
        ArpOperation::Reply if for_us && eth.dst_addr() == port.mac => {
            ObservationKind::Advertisement {
                solicited: true,
                override_: true,
                is_router: None,
                may_create: true,
            }
        }
        // Gratuitous ARP (sender = target) is never "for us", as the
        // sender cannot be our address: it updates, never creates.
        ArpOperation::Request | ArpOperation::Reply => ObservationKind::Unsolicited {
            may_create: for_us,
            is_router: None,
        },
        ArpOperation::Unknown(_) => return None,
    };
    Some(Observation {
        ip: IpAddr::V4(sender_ip),
        mac: Some(sender_mac),
        kind,
    })
}

fn observe_ndp(
    port: &PortConfig,
    eth: &EthernetFrame<&[u8]>,
    from_host: bool,
) -> Option<Observation> {
    let bytes = eth.payload();
    let ip = Ipv6Packet::new_checked(bytes).ok()?;
    // §6.1.1, §6.1.2, §7.1.1, §7.1.2: only a packet no router forwarded.
    if ip.hop_limit() != 255 {
        return None;
    }
    let upper = ip.upper_layer().ok()?;
    // RFC 6980 §5: ND messages in fragments are ignored.
    if upper.protocol != IpProtocol::Icmpv6 || upper.fragment.is_some() {
        return None;
    }
    let end = ipv6::HEADER_LEN.checked_add(usize::from(ip.payload_len()))?;
    let message = bytes.get(upper.offset..end)?;
    let icmp = Icmpv6Packet::new_checked(message).ok()?;
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    if from_host {
        return observe_host_ndp(port, eth, &icmp, &src, &dst);
    }
    match icmp.msg_type() {
        Icmpv6Type::NeighborSolicit | Icmpv6Type::NeighborAdvert => {
            observe_neighbor_msg(port, &icmp, &src, &dst)
        }
        Icmpv6Type::RouterSolicit | Icmpv6Type::RouterAdvert => {
            observe_router_msg(port, &icmp, &src, &dst)
        }
        _ => None,
    }
}

/// NS and NA, validated by `Icmpv6Repr::parse` (checksum, code, length,
/// target not multicast, option lengths, the DAD rules of §7.1.1 and the
/// multicast-solicited rule of §7.1.2).
fn observe_neighbor_msg(
    port: &PortConfig,
    icmp: &Icmpv6Packet<&[u8]>,
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
) -> Option<Observation> {
    match Icmpv6Repr::parse(src, dst, icmp).ok()? {
        Icmpv6Repr::NeighborSolicit(ns) => {
            // §7.2.3: a DAD probe (source ::) MUST NOT create or update;
            // `is_neighbor_v6` refuses :: along with off-link sources.
            let mac = ns.source_lladdr?;
            if !is_neighbor_mac(port, mac) || !on_link::is_neighbor_v6(port, *src) {
                return None;
            }
            Some(Observation {
                ip: IpAddr::V6(*src),
                mac: Some(mac),
                kind: ObservationKind::Unsolicited {
                    may_create: on_link::is_own_v6(port, ns.target),
                    is_router: None,
                },
            })
        }
        Icmpv6Repr::NeighborAdvert(na) => {
            // An advertisement for one of our own addresses is a duplicate
            // address, not a neighbor to learn.
            if !on_link::is_neighbor_v6(port, na.target) {
                return None;
            }
            if na
                .target_lladdr
                .is_some_and(|mac| !is_neighbor_mac(port, mac))
            {
                return None;
            }
            Some(Observation {
                ip: IpAddr::V6(na.target),
                mac: na.target_lladdr,
                kind: ObservationKind::Advertisement {
                    solicited: na.solicited,
                    override_: na.override_,
                    is_router: Some(na.router),
                    may_create: false,
                },
            })
        }
        _ => None,
    }
}

/// RS and RA (validity per §6.1.1 and §6.1.2) carry the sender's source
/// link-layer address; Appendix C lets them create STALE entries.
fn observe_router_msg(
    port: &PortConfig,
    icmp: &Icmpv6Packet<&[u8]>,
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
) -> Option<Observation> {
    if icmp.code() != 0 || !icmp.verify_checksum(src, dst) {
        return None;
    }
    let is_ra = icmp.msg_type() == Icmpv6Type::RouterAdvert;
    // §6.1.2: an RA comes from a link-local address.
    if is_ra && !on_link::is_link_local_v6(*src) {
        return None;
    }
    let mac = source_lladdr(icmp)?;
    if !is_neighbor_mac(port, mac) || !on_link::is_neighbor_v6(port, *src) {
        return None;
    }
    Some(Observation {
        ip: IpAddr::V6(*src),
        mac: Some(mac),
        kind: ObservationKind::Unsolicited {
            may_create: true,
            is_router: is_ra.then_some(true),
        },
    })
}

/// The first source link-layer address option, if every option is well
/// formed (§4.6: a zero-length option voids the message).
fn source_lladdr(icmp: &Icmpv6Packet<&[u8]>) -> Option<MacAddr> {
    let mut found = None;
    for option in icmp.ndp_options() {
        let option = option.ok()?;
        if found.is_none() && option.option_type == NdpOptionType::SourceLinkLayerAddr {
            found = option.lladdr();
        }
    }
    found
}

/// A unicast NS (the kernel's own probe) or NA (its answer) names a
/// neighbor the kernel has resolved: the IPv6 destination at the Ethernet
/// destination.
fn observe_host_ndp(
    port: &PortConfig,
    eth: &EthernetFrame<&[u8]>,
    icmp: &Icmpv6Packet<&[u8]>,
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
) -> Option<Observation> {
    match Icmpv6Repr::parse(src, dst, icmp).ok()? {
        Icmpv6Repr::NeighborSolicit(_) | Icmpv6Repr::NeighborAdvert(_) => {}
        _ => return None,
    }
    let mac = eth.dst_addr();
    (is_neighbor_mac(port, mac) && on_link::is_neighbor_v6(port, *dst)).then_some(Observation {
        ip: IpAddr::V6(*dst),
        mac: Some(mac),
        kind: ObservationKind::HostMapping,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const H: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xaa]);

    fn port() -> PortConfig {
        PortConfig {
            name: "eth0".into(),
            mac: US,
            mtu: 1500,
            ipv4: vec!["10.0.0.1/24".parse().unwrap()],
            ipv6: vec![],
        }
    }

    fn arp(eth_dst: MacAddr, op: u16, spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&eth_dst.0);
        f.extend_from_slice(&H.0);
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4]);
        f.extend_from_slice(&op.to_be_bytes());
        f.extend_from_slice(&H.0);
        f.extend_from_slice(&spa);
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&tpa);
        f
    }

    fn kind(frame: &[u8]) -> Option<ObservationKind> {
        observe(&port(), frame).map(|o| o.kind)
    }

    #[test]
    fn arp_kinds() {
        let reply_to_us = ObservationKind::Advertisement {
            solicited: true,
            override_: true,
            is_router: None,
            may_create: true,
        };
        assert_eq!(
            kind(&arp(US, 2, [10, 0, 0, 9], [10, 0, 0, 1])),
            Some(reply_to_us)
        );
        // A reply for us but broadcast confirms nothing.
        assert_eq!(
            kind(&arp(MacAddr::BROADCAST, 2, [10, 0, 0, 9], [10, 0, 0, 1])),
            Some(ObservationKind::Unsolicited {
                may_create: true,
                is_router: None
            })
        );
        assert_eq!(
            kind(&arp(MacAddr::BROADCAST, 1, [10, 0, 0, 9], [10, 0, 0, 9])),
            Some(ObservationKind::Unsolicited {
                may_create: false,
                is_router: None
            }),
            "gratuitous"
        );
        assert_eq!(
            kind(&arp(MacAddr::BROADCAST, 1, [0, 0, 0, 0], [10, 0, 0, 9])),
            None
        );
        assert_eq!(
            kind(&arp(MacAddr::BROADCAST, 1, [10, 0, 1, 9], [10, 0, 0, 1])),
            None
        );
        // v6 frames on a port without IPv6 and short frames say nothing.
        assert_eq!(kind(&[0u8; 13]), None);
    }
}
