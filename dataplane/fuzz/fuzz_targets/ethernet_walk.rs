//! The whole receive-side parse: Ethernet → up to two VLAN tags → ARP /
//! IPv4 / IPv6 (+ extension headers) → ICMPv4 / ICMPv6 (NDP) / UDP / TCP.
//! Besides "never panics", checks that an incremental TTL decrement keeps
//! a valid IPv4 header checksum valid (RFC 1624).
#![no_main]

use dataplane::packet::arp::{ArpPacket, ArpRepr};
use dataplane::packet::ethernet::{EtherType, EthernetFrame, EthernetRepr};
use dataplane::packet::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use dataplane::packet::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use dataplane::packet::ipv4::{Ipv4Packet, Ipv4Repr};
use dataplane::packet::ipv6::{self, Ipv6Packet, Ipv6Repr};
use dataplane::packet::tcp::TcpPacket;
use dataplane::packet::udp::UdpPacket;
use dataplane::packet::vlan::{VlanRepr, VlanTag};
use dataplane::packet::{IpProtocol, ParseError, transport_ports};
use libfuzzer_sys::fuzz_target;

fn walk(bytes: &[u8]) -> Result<(), ParseError> {
    let frame = EthernetFrame::new_checked(bytes)?;
    let mut ethertype = EthernetRepr::parse(&frame)?.ethertype;
    let mut payload = frame.into_payload();
    for _ in 0..2 {
        if !matches!(ethertype, EtherType::Vlan | EtherType::QinQ) {
            break;
        }
        let tag = VlanTag::new_checked(payload)?;
        ethertype = VlanRepr::parse(&tag)?.ethertype;
        payload = tag.into_payload();
    }
    match ethertype {
        EtherType::Arp => {
            ArpRepr::parse(&ArpPacket::new_checked(payload)?)?;
        }
        EtherType::Ipv4 => {
            let packet = Ipv4Packet::new_checked(payload)?;
            // Go deeper even when the header checksum is wrong, so the
            // fuzzer need not solve it to reach the transport parsers.
            let _ = Ipv4Repr::parse(&packet);
            let (src, dst, protocol) = (packet.src_addr(), packet.dst_addr(), packet.protocol());
            for option in packet.options_iter() {
                option?;
            }
            let mut copy = payload.to_vec();
            let mut writable = Ipv4Packet::new_unchecked(&mut copy[..]);
            if writable.ttl() > 0 && writable.verify_checksum() {
                writable.decrement_ttl();
                assert!(
                    writable.verify_checksum(),
                    "decrement_ttl broke a valid checksum"
                );
            }
            let l4 = packet.into_payload();
            let _ = transport_ports(protocol, l4);
            if packet.is_fragment() && packet.frag_offset() != 0 {
                return Ok(());
            }
            match protocol {
                IpProtocol::Icmp => {
                    let icmp = Icmpv4Packet::new_checked(l4)?;
                    let _ = (icmp.is_error(), icmp.data());
                    Icmpv4Repr::parse(&icmp)?;
                }
                IpProtocol::Udp => {
                    let udp = UdpPacket::new_checked(l4)?;
                    let _ = udp.verify_checksum_v4(src, dst);
                }
                IpProtocol::Tcp => {
                    let tcp = TcpPacket::new_checked(l4)?;
                    let _ = (tcp.flags(), tcp.payload(), tcp.verify_checksum_v4(src, dst));
                }
                _ => {}
            }
        }
        EtherType::Ipv6 => {
            let packet = Ipv6Packet::new_checked(payload)?;
            let ip = Ipv6Repr::parse(&packet)?;
            let upper = packet.upper_layer()?;
            if !upper.has_header() {
                return Ok(());
            }
            let end = ipv6::HEADER_LEN + usize::from(ip.payload_len);
            let l4 = packet
                .into_inner()
                .get(upper.offset..end)
                .ok_or(ParseError::Truncated)?;
            let _ = transport_ports(upper.protocol, l4);
            match upper.protocol {
                IpProtocol::Icmpv6 => {
                    let icmp = Icmpv6Packet::new_checked(l4)?;
                    for option in icmp.ndp_options() {
                        option?;
                    }
                    let _ = (icmp.is_error(), icmp.target_addr(), icmp.mtu());
                    Icmpv6Repr::parse(&ip.src_addr, &ip.dst_addr, &icmp)?;
                }
                IpProtocol::Udp => {
                    let udp = UdpPacket::new_checked(l4)?;
                    let _ = udp.verify_checksum_v6(&ip.src_addr, &ip.dst_addr);
                }
                IpProtocol::Tcp => {
                    let tcp = TcpPacket::new_checked(l4)?;
                    let _ = tcp.verify_checksum_v6(&ip.src_addr, &ip.dst_addr);
                }
                _ => {}
            }
        }
        _ => {}
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = walk(data);
});
