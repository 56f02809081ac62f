//! Stage 1 of the pipeline: parse and validate a frame's Ethernet and IP
//! headers and decide what kind of work it needs: punt, drop, or a route
//! lookup. Nothing here reads the FIB.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::fib::FlowHasher;
use crate::packet::ethernet::{EtherType, EthernetFrame};
use crate::packet::ip_protocol::IpProtocol;
use crate::packet::ipv4::Ipv4Packet;
use crate::packet::ipv6::Ipv6Packet;
use crate::packet::{MacAddr, transport_ports};

use super::counters::{DropReason, PuntClass};

/// Offset of the IP header: untagged Ethernet.
pub const L3_OFFSET: usize = 14;

/// What a frame needs after stage 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Drop(DropReason),
    Punt(PuntClass),
    /// Needs a route lookup for this destination.
    RouteV4 {
        dst: u32,
        facts: HeaderFacts,
    },
    RouteV6 {
        dst: u128,
        facts: HeaderFacts,
    },
}

/// What stage 3 needs from the IP header, read once in stage 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderFacts {
    /// ECMP hash of the flow.
    pub hash: u32,
    /// Length of the IP packet, header included.
    pub ip_len: u16,
    /// TTL (IPv4) or hop limit (IPv6) as received.
    pub ttl: u8,
    /// IPv4 DF; always set for IPv6, which routers never fragment.
    pub dont_frag: bool,
}

/// Classifies one frame received on a port whose MAC is `port_mac`.
#[inline]
pub fn classify(frame: &[u8], port_mac: MacAddr, hasher: &FlowHasher) -> Verdict {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return Verdict::Drop(DropReason::FrameTooShort);
    };
    let dst_mac = eth.dst_addr();
    let l2_group = dst_mac.is_multicast();
    if !l2_group && dst_mac != port_mac {
        return Verdict::Drop(DropReason::NotOurMac);
    }
    match eth.ethertype() {
        EtherType::Ipv4 => classify_v4(eth.payload(), l2_group, hasher),
        EtherType::Ipv6 => classify_v6(eth.payload(), l2_group, hasher),
        EtherType::Arp => Verdict::Punt(PuntClass::Arp),
        EtherType::Vlan | EtherType::QinQ => Verdict::Drop(DropReason::VlanNotConfigured),
        _ => Verdict::Punt(PuntClass::Other),
    }
}

#[inline(always)]
fn classify_v4(bytes: &[u8], l2_group: bool, hasher: &FlowHasher) -> Verdict {
    // The fixed header as an array: one bounds check, then plain loads.
    let Some(h) = bytes.first_chunk::<20>() else {
        return Verdict::Drop(DropReason::Ipv4HeaderInvalid);
    };
    if h[0] == 0x45 {
        // No options (nearly every packet): RFC 1812 §5.2.2's checks by
        // hand on the array, the same rules `Ipv4Packet::new_checked` applies.
        let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
        if total < 20 || total > bytes.len() {
            return Verdict::Drop(DropReason::Ipv4HeaderInvalid);
        }
        if !header_checksum_ok(h) {
            return Verdict::Drop(DropReason::Ipv4BadChecksum);
        }
    } else {
        let Ok(ip) = Ipv4Packet::new_checked(bytes) else {
            return Verdict::Drop(DropReason::Ipv4HeaderInvalid);
        };
        if !ip.verify_checksum() {
            return Verdict::Drop(DropReason::Ipv4BadChecksum);
        }
    }
    let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
    if dst.is_multicast() || dst.is_broadcast() {
        return Verdict::Punt(punt_class_v4(&Ipv4Packet::new_unchecked(bytes)));
    }
    // RFC 1812 §5.3.4: a unicast IP packet that came as a link-layer
    // broadcast or multicast is not forwarded.
    if l2_group {
        return Verdict::Drop(DropReason::NotOurMac);
    }
    if martian_v4_destination(dst) {
        return Verdict::Drop(DropReason::MartianDestination);
    }
    let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
    if martian_v4_source(src) {
        return Verdict::Drop(DropReason::MartianSource);
    }
    let protocol = h[9];
    let flags_offset = u16::from_be_bytes([h[6], h[7]]);
    let header_len = usize::from(h[0] & 0x0f) * 4;
    // TCP, UDP, SCTP: ports in the first four bytes; a non-first fragment
    // has none (RFC 791), so it hashes on addresses alone.
    let ports = match (flags_offset & 0x1fff, protocol) {
        (0, 6 | 17 | 132) => bytes.get(header_len..).and_then(<[u8]>::first_chunk::<4>),
        _ => None,
    };
    let (sport, dport) = ports.map_or((0, 0), |p| {
        (
            u16::from_be_bytes([p[0], p[1]]),
            u16::from_be_bytes([p[2], p[3]]),
        )
    });
    let dst = u32::from(dst);
    let hash = hasher.hash_v4(u32::from(src), dst, protocol, sport, dport);
    let facts = HeaderFacts {
        hash,
        ip_len: u16::from_be_bytes([h[2], h[3]]),
        ttl: h[8],
        dont_frag: flags_offset & 0x4000 != 0,
    };
    Verdict::RouteV4 { dst, facts }
}

fn classify_v6(bytes: &[u8], l2_group: bool, hasher: &FlowHasher) -> Verdict {
    let Ok(ip) = Ipv6Packet::new_checked(bytes) else {
        return Verdict::Drop(DropReason::Ipv6HeaderInvalid);
    };
    let dst = ip.dst_addr();
    let src = ip.src_addr();
    if src.is_multicast() || src.is_loopback() {
        return Verdict::Drop(DropReason::MartianSource);
    }
    if dst.is_multicast() || is_link_local(&dst) {
        return Verdict::Punt(punt_class_v6(&ip, bytes));
    }
    if l2_group {
        return Verdict::Drop(DropReason::NotOurMac);
    }
    if dst.is_unspecified() || dst.is_loopback() {
        return Verdict::Drop(DropReason::MartianDestination);
    }
    let (protocol, sport, dport) = v6_flow(&ip, bytes);
    let dst = u128::from(dst);
    let hash = hasher.hash_v6(u128::from(src), dst, protocol, sport, dport);
    let facts = HeaderFacts {
        hash,
        ip_len: ip.payload_len().saturating_add(40),
        ttl: ip.hop_limit(),
        dont_frag: true,
    };
    Verdict::RouteV6 { dst, facts }
}

/// RFC 1071 over an option-less header: ten 16-bit words, added as five
/// 32-bit ones (RFC 1071 §2(B)), valid when they fold to 0xffff.
#[inline(always)]
fn header_checksum_ok(h: &[u8; 20]) -> bool {
    let word = |i: usize| u64::from(u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]));
    let mut sum = word(0) + word(4) + word(8) + word(12) + word(16);
    sum = (sum & 0xffff_ffff) + (sum >> 32);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum == 0xffff
}

/// Protocol and ports for hashing; the common case (TCP/UDP right after
/// the fixed header) without walking extension headers.
#[inline]
fn v6_flow(ip: &Ipv6Packet<&[u8]>, bytes: &[u8]) -> (u8, u16, u16) {
    let next = ip.next_header();
    if matches!(next, IpProtocol::Tcp | IpProtocol::Udp) {
        let (s, d) = transport_ports(next, ip.payload()).unwrap_or((0, 0));
        return (next.into(), s, d);
    }
    match ip.upper_layer() {
        Ok(ul) if ul.fragment.is_none_or(|f| f.offset == 0) => {
            let l4 = bytes.get(ul.offset..).unwrap_or(&[]);
            let (s, d) = transport_ports(ul.protocol, l4).unwrap_or((0, 0));
            (ul.protocol.into(), s, d)
        }
        Ok(ul) => (ul.protocol.into(), 0, 0),
        Err(_) => (next.into(), 0, 0),
    }
}

pub fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// RFC 1812 §5.3.7: never forward to 0/8, 127/8 or class E (240/4, other
/// than the limited broadcast handled before).
pub fn martian_v4_destination(a: Ipv4Addr) -> bool {
    let first = a.octets()[0];
    first == 0 || first == 127 || first >= 240
}

/// RFC 1812 §5.3.7: 0/8, 127/8, class D and E sources are invalid.
pub fn martian_v4_source(a: Ipv4Addr) -> bool {
    let first = a.octets()[0];
    first == 0 || first == 127 || first >= 224
}

/// Which control-plane queue a packet for the router itself belongs to.
pub fn punt_class_v4<T: AsRef<[u8]>>(ip: &Ipv4Packet<T>) -> PuntClass {
    match ip.protocol() {
        IpProtocol::Ospf => PuntClass::Ospf,
        IpProtocol::Vrrp => PuntClass::Vrrp,
        IpProtocol::Udp if is_bfd_port(ip.payload()) => PuntClass::Bfd,
        _ if ip.dst_addr().is_multicast() || ip.dst_addr().is_broadcast() => PuntClass::LinkLocal,
        _ => PuntClass::Local,
    }
}

/// Which control-plane queue an IPv6 packet for the router belongs to.
/// `bytes` is the packet from its IPv6 header on.
pub fn punt_class_v6(ip: &Ipv6Packet<&[u8]>, bytes: &[u8]) -> PuntClass {
    let (protocol, l4) = match ip.upper_layer() {
        Ok(ul) if ul.fragment.is_none_or(|f| f.offset == 0) => {
            (ul.protocol, bytes.get(ul.offset..).unwrap_or(&[]))
        }
        _ => (ip.next_header(), &[][..]),
    };
    match protocol {
        // RS, RA, NS, NA, redirect (RFC 4861 §4).
        IpProtocol::Icmpv6 if matches!(l4.first(), Some(133..=137)) => PuntClass::NeighborDiscovery,
        IpProtocol::Ospf => PuntClass::Ospf,
        IpProtocol::Vrrp => PuntClass::Vrrp,
        IpProtocol::Udp if is_bfd_port(l4) => PuntClass::Bfd,
        _ if ip.dst_addr().is_multicast() || is_link_local(&ip.dst_addr()) => PuntClass::LinkLocal,
        _ => PuntClass::Local,
    }
}

/// BFD control (3784, RFC 5881), multihop (4784, RFC 5883) or echo (3785).
fn is_bfd_port(udp: &[u8]) -> bool {
    matches!(
        transport_ports(IpProtocol::Udp, udp),
        Some((_, 3784 | 3785 | 4784))
    )
}
