//! The benchmark's frames: minimum-size UDP over IPv4 (60 bytes, 64 on
//! the wire) or IPv6 (62 bytes, the smallest an IPv6 UDP frame can be),
//! to the discard port, one per flow.
//!
//! Flow `f` differs from the template (flow 0) in its UDP source port,
//! `0x8000 | (f & 0x7fff)`, and in its destination address, where the
//! bits of `dst_mask` (the low 32 bits for IPv6) become
//! `f × 2654435761 & dst_mask` (Knuth's multiplicative hash, to spread
//! flows over the FIB rather than walk it in order). The XDP generator
//! (`bpf/live_frames_gen.c`) patches the template the same way, with
//! incremental checksum updates; [`FrameTemplate::frame_for_flow`]
//! computes each frame from scratch, the reference the generator is
//! tested against.

use std::net::{Ipv4Addr, Ipv6Addr};

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const IPPROTO_UDP: u8 = 17;
/// RFC 863: what the sink counts.
pub const DISCARD_PORT: u16 = 9;
/// 64 bytes on the wire with the FCS.
pub const IPV4_FRAME_LEN: usize = 60;
pub const IPV6_FRAME_LEN: usize = 62;
const ETHERNET_HEADER: usize = 14;

/// Which IP version a run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn number(self) -> u8 {
        match self {
            Family::V4 => 4,
            Family::V6 => 6,
        }
    }

    pub fn from_number(n: u8) -> Option<Family> {
        match n {
            4 => Some(Family::V4),
            6 => Some(Family::V6),
            _ => None,
        }
    }
}

/// Addresses of one family's frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoints {
    V4 { src: Ipv4Addr, dst_base: Ipv4Addr },
    V6 { src: Ipv6Addr, dst_base: Ipv6Addr },
}

/// Everything that makes the frames of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameTemplate {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub endpoints: Endpoints,
    /// Bits of the destination (IPv4) or of its low 32 bits (IPv6) that
    /// vary per flow; they are cleared in the base address.
    pub dst_mask: u32,
    /// Distinct flows, 1 or more.
    pub flows: u32,
}

impl FrameTemplate {
    pub fn family(&self) -> Family {
        match self.endpoints {
            Endpoints::V4 { .. } => Family::V4,
            Endpoints::V6 { .. } => Family::V6,
        }
    }

    pub fn frame_len(&self) -> usize {
        match self.family() {
            Family::V4 => IPV4_FRAME_LEN,
            Family::V6 => IPV6_FRAME_LEN,
        }
    }

    /// The UDP source port and destination offset of flow `flow`.
    pub fn flow_fields(&self, flow: u32) -> (u16, u32) {
        let src_port = 0x8000 | (flow & 0x7fff) as u16;
        let offset = flow.wrapping_mul(2_654_435_761) & self.dst_mask;
        (src_port, offset)
    }

    /// Flow `flow % flows`, every checksum computed from scratch.
    pub fn frame_for_flow(&self, flow: u32) -> Vec<u8> {
        let flow = flow % self.flows.max(1);
        let (src_port, offset) = self.flow_fields(flow);
        let mut f = vec![0u8; self.frame_len()];
        f[0..6].copy_from_slice(&self.dst_mac);
        f[6..12].copy_from_slice(&self.src_mac);
        match self.endpoints {
            Endpoints::V4 { src, dst_base } => {
                f[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
                let dst = u32::from(dst_base) & !self.dst_mask | offset;
                let ip_len = (IPV4_FRAME_LEN - ETHERNET_HEADER) as u16;
                let ip = &mut f[ETHERNET_HEADER..];
                ip[0] = 0x45;
                ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
                ip[8] = 64; // TTL
                ip[9] = IPPROTO_UDP;
                ip[12..16].copy_from_slice(&src.octets());
                ip[16..20].copy_from_slice(&dst.to_be_bytes());
                let checksum = internet_checksum(&[&ip[..20]]);
                ip[10..12].copy_from_slice(&checksum.to_be_bytes());
                let udp = &mut ip[20..];
                udp[0..2].copy_from_slice(&src_port.to_be_bytes());
                udp[2..4].copy_from_slice(&DISCARD_PORT.to_be_bytes());
                udp[4..6].copy_from_slice(&(ip_len - 20).to_be_bytes());
                // UDP checksum 0: none, which IPv4 allows (RFC 768).
            }
            Endpoints::V6 { src, dst_base } => {
                f[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
                let mut dst = dst_base.octets();
                let low = u32::from_be_bytes([dst[12], dst[13], dst[14], dst[15]]);
                dst[12..16].copy_from_slice(&(low & !self.dst_mask | offset).to_be_bytes());
                let udp_len = (IPV6_FRAME_LEN - ETHERNET_HEADER - 40) as u16;
                let ip = &mut f[ETHERNET_HEADER..];
                ip[0] = 0x60;
                ip[4..6].copy_from_slice(&udp_len.to_be_bytes());
                ip[6] = IPPROTO_UDP;
                ip[7] = 64; // hop limit
                ip[8..24].copy_from_slice(&src.octets());
                ip[24..40].copy_from_slice(&dst);
                let udp = &mut ip[40..];
                udp[0..2].copy_from_slice(&src_port.to_be_bytes());
                udp[2..4].copy_from_slice(&DISCARD_PORT.to_be_bytes());
                udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
                let checksum = udp_ipv6_checksum(&f[ETHERNET_HEADER..]);
                let at = ETHERNET_HEADER + 40 + 6;
                f[at..at + 2].copy_from_slice(&checksum.to_be_bytes());
            }
        }
        f
    }
}

/// The one's-complement sum of `parts` (RFC 1071), folded and inverted.
/// Odd-length parts are padded with a zero byte.
pub fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    for part in parts {
        for word in part.chunks(2) {
            let hi = word.first().copied().unwrap_or(0);
            let lo = word.get(1).copied().unwrap_or(0);
            sum += u64::from(u16::from_be_bytes([hi, lo]));
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The UDP checksum of an IPv6 packet (header + UDP datagram) with the
/// checksum field as it is: 0 when computing, the sent value when
/// verifying (a correct packet verifies to 0). Zero is sent as 0xffff
/// (RFC 8200 §8.1, RFC 768).
pub fn udp_ipv6_checksum(packet: &[u8]) -> u16 {
    let (Some(addresses), Some(udp)) = (packet.get(8..40), packet.get(40..)) else {
        return 0;
    };
    let length = (udp.len() as u32).to_be_bytes();
    let pseudo_tail = [0, 0, 0, IPPROTO_UDP];
    let checksum = internet_checksum(&[addresses, &length, &pseudo_tail, udp]);
    if checksum == 0 { 0xffff } else { checksum }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// What identifies a flow, read back from a frame.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    struct FiveTuple {
        src: [u8; 16],
        dst: [u8; 16],
        protocol: u8,
        src_port: u16,
        dst_port: u16,
    }

    /// The 5-tuple of an Ethernet + IPv4/IPv6 + UDP frame.
    fn five_tuple(frame: &[u8]) -> Option<FiveTuple> {
        let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
        let ip = frame.get(ETHERNET_HEADER..)?;
        let mut tuple = FiveTuple {
            src: [0; 16],
            dst: [0; 16],
            protocol: 0,
            src_port: 0,
            dst_port: 0,
        };
        let l4 = match ethertype {
            ETHERTYPE_IPV4 => {
                let ihl = usize::from(ip.first()? & 0x0f) * 4;
                tuple.protocol = *ip.get(9)?;
                tuple.src[..4].copy_from_slice(ip.get(12..16)?);
                tuple.dst[..4].copy_from_slice(ip.get(16..20)?);
                ip.get(ihl..)?
            }
            ETHERTYPE_IPV6 => {
                tuple.protocol = *ip.get(6)?;
                tuple.src.copy_from_slice(ip.get(8..24)?);
                tuple.dst.copy_from_slice(ip.get(24..40)?);
                ip.get(40..)?
            }
            _ => return None,
        };
        tuple.src_port = u16::from_be_bytes([*l4.first()?, *l4.get(1)?]);
        tuple.dst_port = u16::from_be_bytes([*l4.get(2)?, *l4.get(3)?]);
        Some(tuple)
    }

    fn v4() -> FrameTemplate {
        FrameTemplate {
            src_mac: [2, 0, 0, 0, 1, 1],
            dst_mac: [2, 0, 0, 0, 1, 0xfe],
            endpoints: Endpoints::V4 {
                src: Ipv4Addr::new(10, 1, 0, 1),
                dst_base: Ipv4Addr::new(16, 0, 0, 0),
            },
            dst_mask: 0x0fff_ffff,
            flows: 4096,
        }
    }

    fn v6() -> FrameTemplate {
        FrameTemplate {
            endpoints: Endpoints::V6 {
                src: "2001:db8:1::1".parse().unwrap(),
                dst_base: "2001:db8:ff00::".parse().unwrap(),
            },
            dst_mask: u32::MAX,
            ..v4()
        }
    }

    #[test]
    fn ipv4_frames_have_valid_header_checksums_and_lengths() {
        let t = v4();
        for flow in (0..70_000).step_by(7) {
            let f = t.frame_for_flow(flow);
            assert_eq!(f.len(), 60);
            // A correct header sums to all ones: its checksum over itself is 0.
            assert_eq!(internet_checksum(&[&f[14..34]]), 0, "flow {flow}");
            assert_eq!(u16::from_be_bytes([f[16], f[17]]), 46);
            assert_eq!(u16::from_be_bytes([f[38], f[39]]), 26);
            assert_eq!(f[22], 64);
            // Destinations stay inside 16.0.0.0/4, public unicast space.
            assert_eq!(f[30] & 0xf0, 16);
        }
    }

    #[test]
    fn ipv6_frames_have_valid_udp_checksums() {
        let t = v6();
        for flow in (0..70_000).step_by(7) {
            let f = t.frame_for_flow(flow);
            assert_eq!(f.len(), 62);
            let sent = u16::from_be_bytes([f[60], f[61]]);
            assert_ne!(sent, 0, "zero means no checksum, not allowed over IPv6");
            // Verifying over the packet with its checksum in place gives
            // 0 (mapped to 0xffff by the zero rule).
            assert_eq!(udp_ipv6_checksum(&f[14..]), 0xffff, "flow {flow}");
            assert_eq!(u16::from_be_bytes([f[18], f[19]]), 8);
            assert_eq!(&f[14 + 24..14 + 36], &t.frame_for_flow(0)[14 + 24..14 + 36]);
        }
    }

    #[test]
    fn flows_are_distinct_five_tuples_and_wrap_at_the_flow_count() {
        for t in [v4(), v6()] {
            let tuples: HashSet<FiveTuple> = (0..t.flows)
                .map(|flow| five_tuple(&t.frame_for_flow(flow)).unwrap())
                .collect();
            assert_eq!(tuples.len(), t.flows as usize);
            let destinations: HashSet<[u8; 16]> = tuples.iter().map(|t| t.dst).collect();
            assert!(
                destinations.len() > 4000,
                "{} destinations",
                destinations.len()
            );
            assert!(
                tuples
                    .iter()
                    .all(|x| x.dst_port == DISCARD_PORT && x.protocol == 17)
            );
            assert_eq!(t.frame_for_flow(t.flows + 5), t.frame_for_flow(5));
        }
    }

    #[test]
    fn one_flow_means_one_frame() {
        let t = FrameTemplate { flows: 1, ..v4() };
        assert_eq!(t.frame_for_flow(0), t.frame_for_flow(12345));
    }

    #[test]
    fn five_tuple_rejects_short_and_foreign_frames() {
        let f = v6().frame_for_flow(3);
        for len in 0..f.len() {
            if len < 58 {
                assert_eq!(five_tuple(&f[..len]), None, "len {len}");
            }
        }
        let mut arp = v4().frame_for_flow(0);
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert_eq!(five_tuple(&arp), None);
    }

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&[&bytes]), !0xddf2);
        // Split differently, the sum is the same.
        assert_eq!(internet_checksum(&[&bytes[..4], &bytes[4..]]), !0xddf2);
    }
}
