//! Building the ICMP and ICMPv6 error messages a router must send.
//!
//! The rules on *whether* to send one (RFC 1812 §4.3.2.7, RFC 4443 §2.4(e))
//! live here too, so every caller applies them the same way.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::packet::checksum;

/// An ICMPv4 error: type, code and the 32-bit "rest of header" field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmpv4Error {
    pub icmp_type: u8,
    pub code: u8,
    pub rest: u32,
}

/// An ICMPv6 error: type, code and the 32-bit field after the checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmpv6Error {
    pub icmp_type: u8,
    pub code: u8,
    pub rest: u32,
}

impl Icmpv4Error {
    /// Destination unreachable, network (RFC 792): no route.
    pub const NET_UNREACHABLE: Self = Self::new(3, 0, 0);
    /// Destination unreachable, host: a reject route, or no live next hop.
    pub const HOST_UNREACHABLE: Self = Self::new(3, 1, 0);
    /// Time exceeded in transit (RFC 1812 §5.3.1).
    pub const TTL_EXCEEDED: Self = Self::new(11, 0, 0);

    const fn new(icmp_type: u8, code: u8, rest: u32) -> Self {
        Self {
            icmp_type,
            code,
            rest,
        }
    }

    /// Fragmentation needed and DF set, with the next-hop MTU (RFC 1191 §4).
    pub fn frag_needed(mtu: u16) -> Self {
        Self::new(3, 4, u32::from(mtu))
    }
}

impl Icmpv6Error {
    /// Destination unreachable, no route (RFC 4443 §3.1 code 0).
    pub const NO_ROUTE: Self = Self::new(1, 0, 0);
    /// Destination unreachable, beyond scope of source address (code 2).
    pub const BEYOND_SCOPE: Self = Self::new(1, 2, 0);
    /// Destination unreachable, address unreachable (code 3).
    pub const ADDRESS_UNREACHABLE: Self = Self::new(1, 3, 0);
    /// Destination unreachable, reject route (code 6, RFC 4443 §3.1).
    pub const REJECT_ROUTE: Self = Self::new(1, 6, 0);
    /// Time exceeded, hop limit exceeded in transit (RFC 4443 §3.3).
    pub const HOP_LIMIT_EXCEEDED: Self = Self::new(3, 0, 0);

    const fn new(icmp_type: u8, code: u8, rest: u32) -> Self {
        Self {
            icmp_type,
            code,
            rest,
        }
    }

    /// Packet too big with the MTU of the next hop (RFC 4443 §3.2).
    pub fn packet_too_big(mtu: u16) -> Self {
        Self::new(2, 0, u32::from(mtu))
    }
}

/// An ICMPv4 error datagram is at most 576 bytes (RFC 1812 §4.3.2.3).
const ICMPV4_ERROR_MAX: usize = 576;
/// An ICMPv6 error must not exceed the minimum IPv6 MTU (RFC 4443 §2.4(c)).
const ICMPV6_ERROR_MAX: usize = 1280;

/// Whether RFC 1812 §4.3.2.7 allows an ICMP error about this IPv4 packet:
/// not about an ICMP error, a non-initial fragment, a link-layer or IP
/// broadcast/multicast, or a source that does not name one host.
pub fn may_send_icmpv4_error(ip: &[u8], l2_multicast: bool) -> bool {
    if l2_multicast || ip.len() < 20 {
        return false;
    }
    let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    if dst.is_multicast() || dst.is_broadcast() {
        return false;
    }
    if src.is_unspecified()
        || src.is_loopback()
        || src.is_multicast()
        || src.is_broadcast()
        || src.octets()[0] >= 240
        || src.octets()[0] == 0
    {
        return false;
    }
    let frag_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
    if frag_offset != 0 {
        return false;
    }
    if ip[9] == 1 {
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        // ICMP error types (RFC 1812 §4.3.2.7): unreachable, source
        // quench, redirect, time exceeded, parameter problem.
        match ip.get(ihl) {
            Some(3 | 4 | 5 | 11 | 12) | None => return false,
            Some(_) => {}
        }
    }
    true
}

/// Whether RFC 4443 §2.4(e) allows an ICMPv6 error about this packet.
/// `icmpv6_type` is the type of the packet's ICMPv6 message, if it is one.
pub fn may_send_icmpv6_error(
    ip: &[u8],
    l2_multicast: bool,
    icmpv6_type: Option<u8>,
    error: &Icmpv6Error,
) -> bool {
    if ip.len() < 40 {
        return false;
    }
    // (e.1) no error about an error or a redirect.
    if matches!(icmpv6_type, Some(t) if t < 128 || t == 137) {
        return false;
    }
    let src = ipv6_at(ip, 8);
    let dst = ipv6_at(ip, 24);
    // (e.6) the source must identify a single node.
    if src.is_unspecified() || src.is_multicast() {
        return false;
    }
    // (e.2, e.3) not to multicast, except Packet Too Big (and parameter
    // problem code 2, which a router does not send here).
    if (dst.is_multicast() || l2_multicast) && error.icmp_type != 2 {
        return false;
    }
    true
}

fn ipv6_at(ip: &[u8], at: usize) -> Ipv6Addr {
    let mut a = [0u8; 16];
    if let Some(s) = ip.get(at..at + 16) {
        a.copy_from_slice(s);
    }
    Ipv6Addr::from(a)
}

/// Writes an IPv4 packet carrying `error` about `original` (the offending
/// packet from its IP header on) into `buf`. Returns the packet's length,
/// or `None` if `buf` cannot hold even the minimum message.
pub fn write_icmpv4_error(
    buf: &mut [u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    error: &Icmpv4Error,
    original: &[u8],
) -> Option<usize> {
    let quote = original
        .len()
        .min(ICMPV4_ERROR_MAX - 28)
        .min(buf.len().checked_sub(28)?);
    let total = 28 + quote;
    let packet = buf.get_mut(..total)?;
    packet[0] = 0x45;
    // Precedence "internetwork control", as RFC 1812 §4.3.2.5 suggests for
    // errors (and as Linux sends them).
    packet[1] = 0xc0;
    packet[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    packet[4..8].copy_from_slice(&[0, 0, 0, 0]);
    packet[8] = 64;
    packet[9] = 1;
    packet[10..12].copy_from_slice(&[0, 0]);
    packet[12..16].copy_from_slice(&src.octets());
    packet[16..20].copy_from_slice(&dst.octets());
    let ip_csum = checksum::internet_checksum(&packet[..20]);
    packet[10..12].copy_from_slice(&ip_csum.to_be_bytes());
    packet[20] = error.icmp_type;
    packet[21] = error.code;
    packet[22..24].copy_from_slice(&[0, 0]);
    packet[24..28].copy_from_slice(&error.rest.to_be_bytes());
    packet[28..].copy_from_slice(&original[..quote]);
    let icmp_csum = checksum::internet_checksum(&packet[20..]);
    packet[22..24].copy_from_slice(&icmp_csum.to_be_bytes());
    Some(total)
}

/// Writes an IPv6 packet carrying `error` about `original` into `buf`.
pub fn write_icmpv6_error(
    buf: &mut [u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    error: &Icmpv6Error,
    original: &[u8],
) -> Option<usize> {
    let quote = original
        .len()
        .min(ICMPV6_ERROR_MAX - 48)
        .min(buf.len().checked_sub(48)?);
    let total = 48 + quote;
    let packet = buf.get_mut(..total)?;
    let payload_len = (8 + quote) as u16;
    packet[0..4].copy_from_slice(&[0x60, 0, 0, 0]);
    packet[4..6].copy_from_slice(&payload_len.to_be_bytes());
    packet[6] = 58;
    packet[7] = 64;
    packet[8..24].copy_from_slice(&src.octets());
    packet[24..40].copy_from_slice(&dst.octets());
    packet[40] = error.icmp_type;
    packet[41] = error.code;
    packet[42..44].copy_from_slice(&[0, 0]);
    packet[44..48].copy_from_slice(&error.rest.to_be_bytes());
    packet[48..].copy_from_slice(&original[..quote]);
    let sum = checksum::pseudo_header_v6(&src, &dst, 58, u32::from(payload_len))
        + checksum::sum(&packet[40..]);
    let csum = !checksum::fold(sum);
    packet[42..44].copy_from_slice(&csum.to_be_bytes());
    Some(total)
}
