//! The UDP/IP/Ethernet envelope of BFD Control packets on the dataplane
//! core: building the frame for a [`BfdTx`] and taking a received one
//! apart for [`BfdEngine::receive`](crate::bfd::BfdEngine::receive).
//!
//! Transmit follows RFC 5881 §4–§5 (single-hop: UDP 3784, source port
//! 49152–65535, TTL/hop limit 255) and RFC 5883 §5 (multihop: UDP 4784),
//! as the engine fills them in [`BfdTx`]. On top of that, like FRR's bfdd
//! and the kernels it runs on: DSCP CS6 (network control, RFC 4594 §3.1)
//! so queues along the path do not starve the session, DF set (a BFD
//! packet is never fragmented, and an atomic datagram needs no IP ID,
//! RFC 6864 §4.1), and the UDP checksum always filled (mandatory for IPv6,
//! RFC 8200 §8.1).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::bfd::BfdTx;
use crate::packet::ipv4::{self, Ipv4Packet, Ipv4Repr};
use crate::packet::ipv6::{self, Ipv6Packet, Ipv6Repr};
use crate::packet::udp::{self, UdpPacket, UdpRepr};
use crate::packet::{EtherType, EthernetFrame, EthernetRepr, IpProtocol, MacAddr, ethernet};

use super::classify::L3_OFFSET;

/// DSCP CS6 in the IPv4 TOS / IPv6 Traffic Class byte (ECN bits clear).
pub const BFD_TRAFFIC_CLASS: u8 = 0xc0;

/// Longest frame [`write_bfd_frame`] builds: IPv6 with the largest
/// authenticated control packet.
pub const MAX_BFD_FRAME: usize =
    ethernet::HEADER_LEN + ipv6::HEADER_LEN + udp::HEADER_LEN + crate::bfd::MAX_BFD_PACKET;

/// A received BFD datagram, as the engine wants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BfdDatagram<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL / hop limit as received: the engine's GTSM check needs it.
    pub ttl: u8,
    pub src_port: u16,
    pub dst_port: u16,
    /// The UDP payload: the BFD Control packet.
    pub payload: &'a [u8],
}

/// Why a frame classified as BFD was not handed to the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BfdFrameError {
    /// Not IPv4/IPv6 carrying UDP (classification said otherwise: a bug
    /// or a frame changed under us).
    NotUdp,
    /// A header or length field does not fit the frame.
    Truncated,
    /// A fragment: BFD Control packets are never fragmented, and the
    /// dataplane does not reassemble.
    Fragment,
    /// IPv4 header or UDP checksum wrong, or the UDP checksum missing
    /// over IPv6 (RFC 8200 §8.1).
    BadChecksum,
    /// To a multicast or broadcast address: BFD Control packets are
    /// unicast (RFC 5881 §6, RFC 5883 §4).
    NotUnicast,
}

/// Takes apart a frame (Ethernet header on) whose IP and UDP headers the
/// classifier already found to be a datagram to a BFD port. Checks what a
/// host's UDP layer would (length, checksum, fragments) so the engine sees
/// only whole, intact datagrams.
pub fn parse_bfd_frame(frame: &[u8]) -> Result<BfdDatagram<'_>, BfdFrameError> {
    let eth = EthernetFrame::new_checked(frame).map_err(|_| BfdFrameError::Truncated)?;
    let l3 = frame.get(L3_OFFSET..).ok_or(BfdFrameError::Truncated)?;
    match eth.ethertype() {
        EtherType::Ipv4 => parse_v4(l3),
        EtherType::Ipv6 => parse_v6(l3),
        _ => Err(BfdFrameError::NotUdp),
    }
}

fn parse_v4(l3: &[u8]) -> Result<BfdDatagram<'_>, BfdFrameError> {
    let ip = Ipv4Packet::new_checked(l3).map_err(|_| BfdFrameError::Truncated)?;
    if !ip.verify_checksum() {
        return Err(BfdFrameError::BadChecksum);
    }
    if ip.protocol() != IpProtocol::Udp {
        return Err(BfdFrameError::NotUdp);
    }
    if ip.is_fragment() {
        return Err(BfdFrameError::Fragment);
    }
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    if dst.is_multicast() || dst.is_broadcast() || dst.is_unspecified() {
        return Err(BfdFrameError::NotUnicast);
    }
    let udp = UdpPacket::new_checked(ip.into_payload()).map_err(|_| BfdFrameError::Truncated)?;
    // RFC 768: zero means the sender computed none; `verify` allows it.
    if !udp.verify_checksum_v4(src, dst) {
        return Err(BfdFrameError::BadChecksum);
    }
    Ok(BfdDatagram {
        src: IpAddr::V4(src),
        dst: IpAddr::V4(dst),
        ttl: ip.ttl(),
        src_port: udp.src_port(),
        dst_port: udp.dst_port(),
        payload: udp.into_payload(),
    })
}

fn parse_v6(l3: &[u8]) -> Result<BfdDatagram<'_>, BfdFrameError> {
    let ip = Ipv6Packet::new_checked(l3).map_err(|_| BfdFrameError::Truncated)?;
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    if dst.is_multicast() || dst.is_unspecified() {
        return Err(BfdFrameError::NotUnicast);
    }
    let upper = ip.upper_layer().map_err(|_| BfdFrameError::Truncated)?;
    if upper.fragment.is_some_and(|f| f.offset != 0 || f.more) {
        return Err(BfdFrameError::Fragment);
    }
    if upper.protocol != IpProtocol::Udp {
        return Err(BfdFrameError::NotUdp);
    }
    // The UDP datagram runs from the upper-layer header to the end of
    // the IPv6 payload (the frame may carry Ethernet padding beyond).
    let end = ipv6::HEADER_LEN.saturating_add(usize::from(ip.payload_len()));
    let bytes = l3.get(upper.offset..end).ok_or(BfdFrameError::Truncated)?;
    let udp = UdpPacket::new_checked(bytes).map_err(|_| BfdFrameError::Truncated)?;
    // RFC 8200 §8.1: a zero UDP checksum over IPv6 is discarded, which
    // `verify` does.
    if !udp.verify_checksum_v6(&src, &dst) {
        return Err(BfdFrameError::BadChecksum);
    }
    Ok(BfdDatagram {
        src: IpAddr::V6(src),
        dst: IpAddr::V6(dst),
        ttl: ip.hop_limit(),
        src_port: udp.src_port(),
        dst_port: udp.dst_port(),
        payload: udp.into_payload(),
    })
}

/// Writes the whole frame for `tx` into `buf` — Ethernet from `src_mac` to
/// `dst_mac`, IPv4 or IPv6, UDP, the control packet — and returns its
/// length. `None` if `buf` is too short or the addresses are of different
/// families (the engine never yields one; nothing is written then).
pub fn write_bfd_frame(
    tx: &BfdTx,
    src_mac: MacAddr,
    dst_mac: MacAddr,
    buf: &mut [u8],
) -> Option<usize> {
    let payload = tx.packet();
    let udp_len = udp::HEADER_LEN + payload.len();
    let (ethertype, ip_header_len) = match (tx.src, tx.dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => (EtherType::Ipv4, ipv4::HEADER_LEN),
        (IpAddr::V6(_), IpAddr::V6(_)) => (EtherType::Ipv6, ipv6::HEADER_LEN),
        _ => return None,
    };
    let frame_len = ethernet::HEADER_LEN + ip_header_len + udp_len;
    let frame = buf.get_mut(..frame_len)?;
    let (eth_header, l3) = frame.split_at_mut(ethernet::HEADER_LEN);
    EthernetRepr {
        src_addr: src_mac,
        dst_addr: dst_mac,
        ethertype,
    }
    .emit(&mut EthernetFrame::new_unchecked(eth_header));
    let (ip_header, datagram) = l3.split_at_mut(ip_header_len);
    let (udp_header, udp_payload) = datagram.split_at_mut(udp::HEADER_LEN);
    udp_payload.copy_from_slice(payload);
    UdpRepr {
        src_port: tx.src_port,
        dst_port: tx.dst_port,
        payload_len: u16::try_from(payload.len()).ok()?,
    }
    .emit(&mut UdpPacket::new_unchecked(&mut *udp_header));
    let mut udp = UdpPacket::new_unchecked(datagram);
    match (tx.src, tx.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            udp.fill_checksum_v4(src, dst);
            emit_ipv4(src, dst, tx.ttl, udp_len, ip_header);
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            udp.fill_checksum_v6(&src, &dst);
            emit_ipv6(src, dst, tx.ttl, udp_len, ip_header)?;
        }
        _ => return None,
    }
    Some(frame_len)
}

fn emit_ipv4(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, udp_len: usize, header: &mut [u8]) {
    Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol: IpProtocol::Udp,
        ttl,
        dscp_ecn: BFD_TRAFFIC_CLASS,
        ident: 0,
        dont_frag: true,
        payload_len: udp_len,
    }
    .emit(&mut Ipv4Packet::new_unchecked(header));
}

fn emit_ipv6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    udp_len: usize,
    header: &mut [u8],
) -> Option<()> {
    Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Udp,
        payload_len: u16::try_from(udp_len).ok()?,
        hop_limit,
        traffic_class: BFD_TRAFFIC_CLASS,
        flow_label: 0,
    }
    .emit(&mut Ipv6Packet::new_unchecked(header));
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bfd::SessionKey;

    const SRC_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const DST_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);

    fn tx(src: IpAddr, dst: IpAddr, multihop: bool) -> BfdTx {
        let key = if multihop {
            SessionKey::multihop(src, dst)
        } else {
            SessionKey::single_hop(0, src, dst)
        };
        BfdTx {
            key,
            port: key.port,
            src,
            dst,
            src_port: 49_200,
            dst_port: key.udp_dst_port(),
            ttl: 255,
            len: 24,
            payload: std::array::from_fn(|i| i as u8),
        }
    }

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn built_frames_parse_back_for_both_families() {
        for (src, dst) in [
            (v4("192.0.2.1"), v4("192.0.2.2")),
            (v4("2001:db8::1"), v4("2001:db8::2")),
            (v4("fe80::1"), v4("fe80::2")),
        ] {
            for multihop in [false, true] {
                let tx = tx(src, dst, multihop);
                let mut buf = [0u8; MAX_BFD_FRAME];
                let len = write_bfd_frame(&tx, SRC_MAC, DST_MAC, &mut buf).unwrap();
                let d = parse_bfd_frame(&buf[..len]).unwrap();
                assert_eq!((d.src, d.dst, d.ttl), (src, dst, 255));
                assert_eq!((d.src_port, d.dst_port), (49_200, tx.dst_port));
                assert_eq!(d.payload, tx.packet());
                assert_eq!(&buf[0..6], &DST_MAC.octets());
                assert_eq!(&buf[6..12], &SRC_MAC.octets());
            }
        }
    }

    #[test]
    fn ipv4_header_is_cs6_with_df() {
        let tx = tx(v4("192.0.2.1"), v4("198.51.100.7"), true);
        let mut buf = [0u8; MAX_BFD_FRAME];
        let len = write_bfd_frame(&tx, SRC_MAC, DST_MAC, &mut buf).unwrap();
        assert_eq!(len, 14 + 20 + 8 + 24);
        let ip = Ipv4Packet::new_checked(&buf[14..len]).unwrap();
        assert_eq!(ip.dscp_ecn(), 0xc0);
        assert!(ip.dont_frag() && !ip.more_frags());
        assert!(ip.verify_checksum());
        assert_eq!(ip.ttl(), 255);
    }

    #[test]
    fn mixed_families_and_short_buffers_are_refused() {
        let tx = tx(v4("192.0.2.1"), v4("2001:db8::2"), false);
        let mut buf = [0u8; MAX_BFD_FRAME];
        assert_eq!(write_bfd_frame(&tx, SRC_MAC, DST_MAC, &mut buf), None);
        let tx = self::tx(v4("192.0.2.1"), v4("192.0.2.2"), false);
        assert_eq!(write_bfd_frame(&tx, SRC_MAC, DST_MAC, &mut buf[..60]), None);
    }

    #[test]
    fn damaged_datagrams_are_refused() {
        let tx = tx(v4("2001:db8::1"), v4("2001:db8::2"), false);
        let mut buf = [0u8; MAX_BFD_FRAME];
        let len = write_bfd_frame(&tx, SRC_MAC, DST_MAC, &mut buf).unwrap();
        let mut bad = buf[..len].to_vec();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(parse_bfd_frame(&bad), Err(BfdFrameError::BadChecksum));
        let mut zero = buf[..len].to_vec();
        zero[14 + 40 + 6..14 + 40 + 8].fill(0);
        assert_eq!(
            parse_bfd_frame(&zero),
            Err(BfdFrameError::BadChecksum),
            "RFC 8200 §8.1: no zero checksum over IPv6"
        );
        for cut in 0..len {
            assert!(parse_bfd_frame(&buf[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn ipv4_without_udp_checksum_is_accepted() {
        let tx = tx(v4("192.0.2.1"), v4("192.0.2.2"), false);
        let mut buf = [0u8; MAX_BFD_FRAME];
        let len = write_bfd_frame(&tx, SRC_MAC, DST_MAC, &mut buf).unwrap();
        buf[14 + 20 + 6..14 + 20 + 8].fill(0);
        assert!(parse_bfd_frame(&buf[..len]).is_ok(), "RFC 768: zero = none");
        buf[14 + 16] = 224;
        assert_eq!(
            parse_bfd_frame(&buf[..len]),
            Err(BfdFrameError::BadChecksum),
            "the IPv4 header checksum no longer holds"
        );
        Ipv4Packet::new_unchecked(&mut buf[14..len]).fill_checksum();
        assert_eq!(parse_bfd_frame(&buf[..len]), Err(BfdFrameError::NotUnicast));
    }
}
