//! Byte-exact packet vectors: each hand-assembled message is decoded field
//! by field, and its repr (or the setters) re-encodes the same bytes.
//!
//! Checksums in the vectors were computed outside this crate and are
//! re-checked here by `reference_checksum`, a deliberately naive RFC 1071
//! sum that shares no code with `packet::checksum`.

use std::net::{Ipv4Addr, Ipv6Addr};

use dataplane::packet::arp::{ArpOperation, ArpPacket, ArpRepr};
use dataplane::packet::ethernet::{self, EtherType, EthernetFrame, EthernetRepr};
use dataplane::packet::icmpv4::{self, Icmpv4Packet, Icmpv4Repr, Icmpv4Type};
use dataplane::packet::icmpv6::{Icmpv6Packet, Icmpv6Repr, Icmpv6Type};
use dataplane::packet::ipv4::{Ipv4Option, Ipv4Packet, Ipv4Repr};
use dataplane::packet::ipv6::{Ipv6Packet, Ipv6Repr};
use dataplane::packet::tcp::TcpPacket;
use dataplane::packet::udp::{UdpPacket, UdpRepr};
use dataplane::packet::vlan::{VlanRepr, VlanTag};
use dataplane::packet::{IpProtocol, MacAddr, ParseError, transport_ports};

/// RFC 1071 checksum over the concatenation of `parts`, one 16-bit word
/// at a time, with the odd trailing byte padded.
fn reference_checksum(parts: &[&[u8]]) -> u16 {
    let bytes: Vec<u8> = parts.concat();
    let mut sum: u64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let hi = u64::from(bytes[i]);
        let lo = if i + 1 < bytes.len() {
            u64::from(bytes[i + 1])
        } else {
            0
        };
        sum += (hi << 8) | lo;
        i += 2;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn pseudo_v4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: u16) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&src.octets());
    v.extend_from_slice(&dst.octets());
    v.extend_from_slice(&[0, proto]);
    v.extend_from_slice(&len.to_be_bytes());
    v
}

fn pseudo_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, len: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&src.octets());
    v.extend_from_slice(&dst.octets());
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, next_header]);
    v
}

/// `bytes` with the 16-bit field at `at` zeroed, for recomputing a checksum.
fn zeroed_at(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v[at] = 0;
    v[at + 1] = 0;
    v
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const MAC_A: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
const MAC_B: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x02]);

// ---------------------------------------------------------------- Ethernet

#[test]
fn ethernet_header_decodes_and_encodes() {
    let bytes = hex("020000000002 020000000001 0800 deadbeef");
    let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
    assert_eq!(frame.dst_addr(), MAC_B);
    assert_eq!(frame.src_addr(), MAC_A);
    assert_eq!(frame.ethertype(), EtherType::Ipv4);
    assert_eq!(frame.payload(), &[0xde, 0xad, 0xbe, 0xef]);

    let repr = EthernetRepr::parse(&frame).unwrap();
    assert_eq!(
        repr,
        EthernetRepr {
            src_addr: MAC_A,
            dst_addr: MAC_B,
            ethertype: EtherType::Ipv4
        }
    );
    let mut out = vec![0u8; bytes.len()];
    let mut view = EthernetFrame::new_unchecked(&mut out[..]);
    repr.emit(&mut view);
    view.payload_mut()
        .copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(out, bytes);
    assert_eq!(repr.buffer_len(), ethernet::HEADER_LEN);
}

#[test]
fn ethertype_values_round_trip_and_keep_unknowns() {
    for (value, ty) in [
        (0x0800, EtherType::Ipv4),
        (0x0806, EtherType::Arp),
        (0x8100, EtherType::Vlan),
        (0x88a8, EtherType::QinQ),
        (0x86dd, EtherType::Ipv6),
        (0x88cc, EtherType::Unknown(0x88cc)),
    ] {
        assert_eq!(EtherType::from(value), ty);
        assert_eq!(u16::from(ty), value);
    }
}

#[test]
fn ethernet_shorter_than_header_is_truncated() {
    assert_eq!(
        EthernetFrame::new_checked(&[0u8; 13][..]).unwrap_err(),
        ParseError::Truncated
    );
}

// ---------------------------------------------------------------- VLAN

#[test]
fn qinq_stack_decodes_and_encodes() {
    // Outer S-tag (802.1ad) PCP 3 VID 10, inner C-tag (802.1Q) PCP 5 DEI VID 100, then IPv6.
    let bytes = hex("ffffffffffff 020000000001 88a8 600a 8100 b064 86dd");
    let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
    assert_eq!(frame.ethertype(), EtherType::QinQ);
    let outer = VlanTag::new_checked(frame.payload()).unwrap();
    assert_eq!((outer.pcp(), outer.dei(), outer.vid()), (3, false, 10));
    assert_eq!(outer.ethertype(), EtherType::Vlan);
    let inner = VlanTag::new_checked(outer.payload()).unwrap();
    assert_eq!((inner.pcp(), inner.dei(), inner.vid()), (5, true, 100));
    assert_eq!(inner.ethertype(), EtherType::Ipv6);
    assert!(inner.payload().is_empty());

    let inner_repr = VlanRepr::parse(&inner).unwrap();
    assert_eq!(
        inner_repr,
        VlanRepr {
            pcp: 5,
            dei: true,
            vid: 100,
            ethertype: EtherType::Ipv6
        }
    );
    let mut out = [0u8; 4];
    inner_repr.emit(&mut VlanTag::new_unchecked(&mut out[..]));
    assert_eq!(&out[..], &bytes[18..22]);

    let mut tag = VlanTag::new_unchecked(&mut out[..]);
    tag.set_vid(4095);
    tag.set_pcp(7);
    tag.set_dei(false);
    assert_eq!(out, [0xef, 0xff, 0x86, 0xdd]);
}

// ---------------------------------------------------------------- ARP

#[test]
fn arp_request_decodes_and_encodes() {
    // who-has 192.168.1.1 tell 192.168.1.2, plus 18 bytes of Ethernet padding.
    let mut bytes = hex("0001 0800 06 04 0001 020000000001 c0a80102 000000000000 c0a80101");
    bytes.extend_from_slice(&[0; 18]);
    let packet = ArpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.operation(), ArpOperation::Request);
    assert_eq!(packet.sender_hardware_addr(), MAC_A);
    assert_eq!(packet.sender_protocol_addr(), Ipv4Addr::new(192, 168, 1, 2));
    assert_eq!(packet.target_hardware_addr(), MacAddr::ZERO);
    assert_eq!(packet.target_protocol_addr(), Ipv4Addr::new(192, 168, 1, 1));

    let repr = ArpRepr::parse(&packet).unwrap();
    assert_eq!(repr.buffer_len(), 28);
    let mut out = vec![0u8; 46];
    repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
    assert_eq!(out, bytes);
}

#[test]
fn arp_for_other_hardware_or_protocols_is_unsupported() {
    let good = hex("0001 0800 06 04 0002 020000000001 c0a80102 020000000002 c0a80101");
    for (at, value) in [(1, 6u8 /* IEEE 802 */), (2, 0x86), (4, 8), (5, 16)] {
        let mut bad = good.clone();
        bad[at] = value;
        assert_eq!(
            ArpPacket::new_checked(&bad[..]).unwrap_err(),
            ParseError::Unsupported,
            "byte {at}"
        );
        assert_eq!(
            ArpRepr::parse(&ArpPacket::new_unchecked(&bad[..])).unwrap_err(),
            ParseError::Unsupported
        );
    }
    assert_eq!(
        ArpPacket::new_checked(&good[..27]).unwrap_err(),
        ParseError::Truncated
    );
    assert_eq!(
        ArpPacket::new_unchecked(&good[..]).operation(),
        ArpOperation::Reply
    );
}

// ---------------------------------------------------------------- IPv4

/// The example header from RFC 791-style captures: UDP 192.168.0.1 → .199.
const IPV4_UDP_HEADER: &str = "4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7";

#[test]
fn ipv4_header_decodes_and_encodes() {
    let mut bytes = hex(IPV4_UDP_HEADER);
    assert_eq!(reference_checksum(&[&zeroed_at(&bytes, 10)]), 0xb861);
    bytes.resize(0x73, 0xab);
    bytes.extend_from_slice(&[0, 0, 0]); // link-layer padding past total_len
    let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.version(), 4);
    assert_eq!(packet.header_len(), 20);
    assert_eq!(packet.dscp_ecn(), 0);
    assert_eq!(packet.total_len(), 0x73);
    assert_eq!(packet.ident(), 0);
    assert!(packet.dont_frag());
    assert!(!packet.more_frags());
    assert_eq!(packet.frag_offset(), 0);
    assert_eq!(packet.ttl(), 64);
    assert_eq!(packet.protocol(), IpProtocol::Udp);
    assert_eq!(packet.checksum(), 0xb861);
    assert_eq!(packet.src_addr(), Ipv4Addr::new(192, 168, 0, 1));
    assert_eq!(packet.dst_addr(), Ipv4Addr::new(192, 168, 0, 199));
    assert!(packet.options().is_empty());
    assert_eq!(packet.payload().len(), 0x73 - 20);
    assert!(packet.verify_checksum());

    let repr = Ipv4Repr::parse(&packet).unwrap();
    assert_eq!(
        repr,
        Ipv4Repr {
            src_addr: Ipv4Addr::new(192, 168, 0, 1),
            dst_addr: Ipv4Addr::new(192, 168, 0, 199),
            protocol: IpProtocol::Udp,
            ttl: 64,
            dscp_ecn: 0,
            ident: 0,
            dont_frag: true,
            payload_len: 0x73 - 20,
        }
    );
    let mut out = [0u8; 20];
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(&out[..], &bytes[..20]);
}

#[test]
fn ipv4_options_iterate_with_copied_flag() {
    // IHL 7: Router Alert (copied, RFC 2113), NOP, EOL, two padding bytes.
    let bytes = hex(
        "4700 0024 abcd 0000 4002 2404 0a00 0001 0a00 0002 9404 0000 0100 0000 1111 1111 2222 2222",
    );
    assert_eq!(reference_checksum(&[&zeroed_at(&bytes[..28], 10)]), 0x2404);
    let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
    assert!(packet.verify_checksum());
    assert_eq!(packet.header_len(), 28);
    assert_eq!(packet.payload(), &hex("1111 1111 2222 2222")[..]);
    let options: Vec<_> = packet.options_iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        options,
        [
            Ipv4Option {
                kind: 0x94,
                copied: true,
                data: &[0, 0]
            },
            Ipv4Option {
                kind: 0x01,
                copied: false,
                data: &[]
            },
        ]
    );
    let mut out = [0u8; 5];
    assert_eq!(options[0].emit(&mut out), Some(4));
    assert_eq!(options[1].emit(&mut out[4..]), Some(1));
    assert_eq!(&out[..], &bytes[20..25]);
    assert_eq!(options[0].emit(&mut [0u8; 3]), None);

    let repr = Ipv4Repr::parse(&packet).unwrap();
    assert_eq!(repr.payload_len, 8);
    assert_eq!(repr.protocol, IpProtocol::Igmp);
}

#[test]
fn ipv4_options_with_bad_lengths_are_errors() {
    for (options, why) in [
        (&[0x07u8][..], "type without length"),
        (&[0x07, 0x01, 0x00, 0x00][..], "length below 2"),
        (&[0x01, 0x07, 0x09, 0x00][..], "length past the area"),
    ] {
        let items: Vec<_> = dataplane::packet::Ipv4Options::new(options).collect();
        assert!(
            matches!(items.last(), Some(Err(ParseError::Malformed(_)))),
            "{why}: {items:?}"
        );
        // One error, then the iterator ends.
        assert_eq!(items.iter().filter(|i| i.is_err()).count(), 1, "{why}");
    }
    // Bytes after EOL are never looked at.
    assert_eq!(
        dataplane::packet::Ipv4Options::new(&[0x00, 0x07]).count(),
        0
    );
}

#[test]
fn ipv4_new_checked_rejects_each_bad_length() {
    let mut bytes = hex(IPV4_UDP_HEADER);
    bytes.resize(0x73, 0);
    let with = |at: usize, value: u8| {
        let mut b = bytes.clone();
        b[at] = value;
        Ipv4Packet::new_checked(b).err()
    };
    assert_eq!(with(0, 0x65), Some(ParseError::BadVersion));
    assert_eq!(with(0, 0x44), Some(ParseError::BadHeaderLen));
    // total_len below header_len, and past the buffer.
    let mut b = bytes.clone();
    b[2..4].copy_from_slice(&19u16.to_be_bytes());
    assert_eq!(
        Ipv4Packet::new_checked(&b[..]).unwrap_err(),
        ParseError::BadLength
    );
    b[2..4].copy_from_slice(&0x74u16.to_be_bytes());
    assert_eq!(
        Ipv4Packet::new_checked(&b[..]).unwrap_err(),
        ParseError::Truncated
    );
    // IHL 15 (60 bytes) in a 40-byte buffer.
    let mut b = bytes[..40].to_vec();
    b[0] = 0x4f;
    b[2..4].copy_from_slice(&40u16.to_be_bytes());
    assert_eq!(
        Ipv4Packet::new_checked(&b[..]).unwrap_err(),
        ParseError::Truncated
    );
    // A corrupted checksum is a repr error, not a view error.
    let mut b = bytes.clone();
    b[11] ^= 1;
    let view = Ipv4Packet::new_checked(&b[..]).unwrap();
    assert_eq!(Ipv4Repr::parse(&view).unwrap_err(), ParseError::BadChecksum);
}

#[test]
fn ipv4_decrement_ttl_matches_a_full_recomputation() {
    let mut bytes = hex(IPV4_UDP_HEADER);
    let mut packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
    assert_eq!(packet.decrement_ttl(), 63);
    assert_eq!(packet.ttl(), 63);
    let expected = reference_checksum(&[&zeroed_at(packet.as_ref(), 10)]);
    assert_eq!(packet.checksum(), expected);
    assert!(packet.verify_checksum());

    let mut zero = hex(IPV4_UDP_HEADER);
    zero[8] = 0;
    let before = zero.clone();
    assert_eq!(Ipv4Packet::new_unchecked(&mut zero[..]).decrement_ttl(), 0);
    assert_eq!(zero, before, "TTL 0 is left for the forwarder to answer");
}

#[test]
fn ipv4_fragment_fields_encode() {
    let mut bytes = hex(IPV4_UDP_HEADER);
    let mut packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
    packet.set_dont_frag(false);
    packet.set_more_frags(true);
    packet.set_frag_offset(1480);
    packet.set_ident(0xbeef);
    packet.set_total_len(1500);
    packet.fill_checksum();
    assert_eq!(&bytes[2..8], &[0x05, 0xdc, 0xbe, 0xef, 0x20, 0xb9]);
    assert_eq!(
        u16::from_be_bytes([bytes[10], bytes[11]]),
        reference_checksum(&[&zeroed_at(&bytes, 10)])
    );
    let packet = Ipv4Packet::new_unchecked(&bytes[..]);
    assert_eq!(
        (
            packet.more_frags(),
            packet.dont_frag(),
            packet.frag_offset()
        ),
        (true, false, 1480)
    );
    assert!(packet.is_fragment());
}

// ---------------------------------------------------------------- IPv6

#[test]
fn ipv6_header_decodes_and_encodes() {
    // TC 0xb8 (EF), flow label 0x12345, UDP, hop limit 255, 4-byte payload.
    let bytes = hex(
        "6b81 2345 0004 11ff 2001 0db8 0000 0000 0000 0000 0000 0001 \
         2001 0db8 0000 0000 0000 0000 0000 0002 cafe f00d",
    );
    let packet = Ipv6Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.traffic_class(), 0xb8);
    assert_eq!(packet.flow_label(), 0x12345);
    assert_eq!(packet.payload_len(), 4);
    assert_eq!(packet.next_header(), IpProtocol::Udp);
    assert_eq!(packet.hop_limit(), 255);
    assert_eq!(
        packet.src_addr(),
        "2001:db8::1".parse::<Ipv6Addr>().unwrap()
    );
    assert_eq!(
        packet.dst_addr(),
        "2001:db8::2".parse::<Ipv6Addr>().unwrap()
    );
    assert_eq!(packet.payload(), &[0xca, 0xfe, 0xf0, 0x0d]);

    let repr = Ipv6Repr::parse(&packet).unwrap();
    let mut out = [0u8; 40];
    repr.emit(&mut Ipv6Packet::new_unchecked(&mut out[..]));
    assert_eq!(&out[..], &bytes[..40]);

    let mut bad = bytes.clone();
    bad[0] = 0x4b;
    assert_eq!(
        Ipv6Packet::new_checked(&bad[..]).unwrap_err(),
        ParseError::BadVersion
    );
    assert_eq!(
        Ipv6Packet::new_checked(&bytes[..43]).unwrap_err(),
        ParseError::Truncated
    );
}

// ---------------------------------------------------------------- ICMPv4

#[test]
fn icmpv4_echo_request_decodes_and_encodes() {
    let bytes = hex("0800 2104 1234 0001 61626364");
    assert_eq!(reference_checksum(&[&zeroed_at(&bytes, 2)]), 0x2104);
    let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.msg_type(), Icmpv4Type::EchoRequest);
    assert!(!packet.is_error());
    assert!(packet.verify_checksum());
    let repr = Icmpv4Repr::parse(&packet).unwrap();
    assert_eq!(
        repr,
        Icmpv4Repr::EchoRequest {
            ident: 0x1234,
            seq_no: 1,
            data: b"abcd"
        }
    );
    let mut out = vec![0xffu8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, bytes);

    let mut bad = bytes.clone();
    bad[9] ^= 0x40;
    assert_eq!(
        Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(&bad[..])).unwrap_err(),
        ParseError::BadChecksum
    );
}

/// The quoted invoking datagram: the IPv4 UDP header plus 8 bytes of UDP.
const QUOTED_V4: &str = "45000073000040004011b861c0a80001c0a800c7d43100350060abcd";

#[test]
fn icmpv4_frag_needed_decodes_and_encodes() {
    let bytes = hex(&format!("0304 76ef 0000 0578 {QUOTED_V4}"));
    assert_eq!(reference_checksum(&[&zeroed_at(&bytes, 2)]), 0x76ef);
    let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
    assert!(packet.is_error());
    assert_eq!(packet.code(), icmpv4::dst_unreachable_code::FRAG_NEEDED);
    assert_eq!(packet.next_hop_mtu(), 1400);
    let repr = Icmpv4Repr::parse(&packet).unwrap();
    assert_eq!(
        repr,
        Icmpv4Repr::DstUnreachable {
            code: 4,
            next_hop_mtu: 1400,
            data: &hex(QUOTED_V4)
        }
    );
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, bytes);
}

#[test]
fn icmpv4_time_exceeded_decodes_and_encodes() {
    let bytes = hex(&format!("0b00 746b 0000 0000 {QUOTED_V4}"));
    assert_eq!(reference_checksum(&[&zeroed_at(&bytes, 2)]), 0x746b);
    let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
    let repr = Icmpv4Repr::parse(&packet).unwrap();
    let quoted = hex(QUOTED_V4);
    assert_eq!(
        repr,
        Icmpv4Repr::TimeExceeded {
            code: icmpv4::time_exceeded_code::TTL,
            data: &quoted
        }
    );
    let mut out = vec![0xeeu8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, bytes);
}

#[test]
fn icmpv4_error_types_and_codes_match_rfc_792() {
    for (value, error) in [
        (0u8, false),
        (3, true),
        (4, true),
        (5, true),
        (8, false),
        (11, true),
        (12, true),
        (13, false),
    ] {
        assert_eq!(Icmpv4Type::from(value).is_error(), error, "type {value}");
        assert_eq!(u8::from(Icmpv4Type::from(value)), value);
    }
    use icmpv4::dst_unreachable_code as c;
    assert_eq!(
        [
            c::NET,
            c::HOST,
            c::PROTOCOL,
            c::PORT,
            c::FRAG_NEEDED,
            c::ADMIN_PROHIBITED
        ],
        [0, 1, 2, 3, 4, 13]
    );
    assert_eq!(
        [
            icmpv4::time_exceeded_code::TTL,
            icmpv4::time_exceeded_code::REASSEMBLY
        ],
        [0, 1]
    );
}

// ---------------------------------------------------------------- ICMPv6

#[test]
fn icmpv6_echo_request_decodes_and_encodes() {
    let src: Ipv6Addr = "fe80::1".parse().unwrap();
    let dst: Ipv6Addr = "fe80::2".parse().unwrap();
    let bytes = hex("8000 619a 4242 0007 70696e67");
    let pseudo = pseudo_v6(src, dst, 58, bytes.len() as u32);
    assert_eq!(
        reference_checksum(&[&pseudo, &zeroed_at(&bytes, 2)]),
        0x619a
    );
    let packet = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
    assert!(packet.verify_checksum(&src, &dst));
    assert!(!packet.verify_checksum(&dst, &src.to_bits().wrapping_add(1).into()));
    let repr = Icmpv6Repr::parse(&src, &dst, &packet).unwrap();
    assert_eq!(
        repr,
        Icmpv6Repr::EchoRequest {
            ident: 0x4242,
            seq_no: 7,
            data: b"ping"
        }
    );
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, bytes);
}

#[test]
fn icmpv6_packet_too_big_decodes_and_encodes() {
    let src: Ipv6Addr = "2001:db8::ff".parse().unwrap();
    let dst: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let bytes = hex("0200 01fb 0000 0500 6000 0000 0008 3a40");
    let pseudo = pseudo_v6(src, dst, 58, bytes.len() as u32);
    assert_eq!(
        reference_checksum(&[&pseudo, &zeroed_at(&bytes, 2)]),
        0x01fb
    );
    let packet = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.msg_type(), Icmpv6Type::PacketTooBig);
    assert!(packet.is_error());
    assert_eq!(packet.mtu(), 1280);
    let repr = Icmpv6Repr::parse(&src, &dst, &packet).unwrap();
    assert_eq!(
        repr,
        Icmpv6Repr::PacketTooBig {
            mtu: 1280,
            data: &bytes[8..]
        }
    );
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, bytes);
}

#[test]
fn icmpv6_types_below_128_are_errors() {
    for value in 0..=255u8 {
        assert_eq!(Icmpv6Type::from(value).is_error(), value < 128);
        assert_eq!(u8::from(Icmpv6Type::from(value)), value);
    }
}

// ---------------------------------------------------------------- UDP

#[test]
fn udp_over_ipv4_decodes_and_encodes() {
    let src = Ipv4Addr::new(10, 0, 0, 1);
    let dst = Ipv4Addr::new(10, 0, 0, 2);
    let bytes = hex("14e9 0035 000d 92e1 68656c6c6f");
    let pseudo = pseudo_v4(src, dst, 17, 13);
    assert_eq!(
        reference_checksum(&[&pseudo, &zeroed_at(&bytes, 6)]),
        0x92e1
    );
    let mut padded = bytes.clone();
    padded.push(0); // trailing byte beyond the length field
    let packet = UdpPacket::new_checked(&padded[..]).unwrap();
    assert_eq!(
        (packet.src_port(), packet.dst_port(), packet.len()),
        (5353, 53, 13)
    );
    assert_eq!(packet.payload(), b"hello");
    assert!(packet.verify_checksum_v4(src, dst));
    assert!(!packet.verify_checksum_v4(dst, Ipv4Addr::new(10, 0, 0, 3)));

    let repr = UdpRepr::parse(&packet).unwrap();
    assert_eq!(
        repr,
        UdpRepr {
            src_port: 5353,
            dst_port: 53,
            payload_len: 5
        }
    );
    let mut out = vec![0u8; 13];
    let mut view = UdpPacket::new_unchecked(&mut out[..]);
    repr.emit(&mut view);
    view.payload_mut().copy_from_slice(b"hello");
    view.fill_checksum_v4(src, dst);
    assert_eq!(out, bytes);

    // Zero means "no checksum" over IPv4, but is invalid over IPv6.
    let mut none = bytes.clone();
    none[6..8].fill(0);
    let view = UdpPacket::new_checked(&none[..]).unwrap();
    assert!(view.verify_checksum_v4(src, dst));
    assert!(!view.verify_checksum_v6(&Ipv6Addr::LOCALHOST, &Ipv6Addr::LOCALHOST));
}

#[test]
fn udp_over_ipv6_decodes_and_encodes() {
    let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let dst: Ipv6Addr = "2001:db8::2".parse().unwrap();
    let bytes = hex("12b0 0ec8 000c bc61 62666421");
    let pseudo = pseudo_v6(src, dst, 17, 12);
    assert_eq!(
        reference_checksum(&[&pseudo, &zeroed_at(&bytes, 6)]),
        0xbc61
    );
    let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
    assert!(packet.verify_checksum_v6(&src, &dst));
    let mut out = bytes.clone();
    out[6..8].fill(0);
    UdpPacket::new_unchecked(&mut out[..]).fill_checksum_v6(&src, &dst);
    assert_eq!(out, bytes);
}

#[test]
fn udp_computed_zero_checksum_is_sent_as_all_ones() {
    // Pick a payload word that makes the one's-complement sum 0xFFFF.
    let src = Ipv4Addr::new(10, 0, 0, 1);
    let dst = Ipv4Addr::new(10, 0, 0, 2);
    let mut bytes = hex("0001 0002 000a 0000 0000");
    let pseudo = pseudo_v4(src, dst, 17, 10);
    let partial = !reference_checksum(&[&pseudo, &bytes]);
    let filler = !partial; // sum + filler = 0xFFFF
    bytes[8..10].copy_from_slice(&filler.to_be_bytes());
    assert_eq!(reference_checksum(&[&pseudo, &bytes]), 0);
    let mut view = UdpPacket::new_unchecked(&mut bytes[..]);
    view.fill_checksum_v4(src, dst);
    assert_eq!(view.checksum(), 0xffff);
    assert!(view.verify_checksum_v4(src, dst));
}

#[test]
fn udp_length_field_is_validated() {
    let mut bytes = hex("14e9 0035 0007 0000 00");
    assert_eq!(
        UdpPacket::new_checked(&bytes[..]).unwrap_err(),
        ParseError::BadLength
    );
    bytes[5] = 10;
    assert_eq!(
        UdpPacket::new_checked(&bytes[..]).unwrap_err(),
        ParseError::Truncated
    );
    assert_eq!(
        UdpPacket::new_checked(&bytes[..7]).unwrap_err(),
        ParseError::Truncated
    );
}

// ---------------------------------------------------------------- TCP

#[test]
fn tcp_syn_decodes_and_checksums() {
    let src = Ipv4Addr::new(10, 0, 0, 1);
    let dst = Ipv4Addr::new(10, 0, 0, 2);
    // 40000 → 179 (BGP), SYN, data offset 6 with an MSS option of 1460.
    let bytes = hex("9c40 00b3 0102 0304 0000 0000 6002 7210 711a 0000 0204 05b4");
    let pseudo = pseudo_v4(src, dst, 6, 24);
    assert_eq!(
        reference_checksum(&[&pseudo, &zeroed_at(&bytes, 16)]),
        0x711a
    );
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!((packet.src_port(), packet.dst_port()), (40000, 179));
    assert_eq!((packet.seq_number(), packet.ack_number()), (0x0102_0304, 0));
    assert_eq!(packet.header_len(), 24);
    assert!(
        packet.syn()
            && !packet.ack()
            && !packet.fin()
            && !packet.rst()
            && !packet.psh()
            && !packet.urg()
    );
    assert_eq!(packet.window_len(), 29200);
    assert_eq!(packet.checksum(), 0x711a);
    assert_eq!(packet.options(), &[2, 4, 5, 0xb4]);
    assert!(packet.payload().is_empty());
    assert!(packet.verify_checksum_v4(src, dst));
    let mut out = zeroed_at(&bytes, 16);
    TcpPacket::new_unchecked(&mut out[..]).fill_checksum_v4(src, dst);
    assert_eq!(out, bytes);

    let mut bad = bytes.clone();
    bad[12] = 0x40;
    assert_eq!(
        TcpPacket::new_checked(&bad[..]).unwrap_err(),
        ParseError::BadHeaderLen
    );
    bad[12] = 0x70;
    assert_eq!(
        TcpPacket::new_checked(&bad[..]).unwrap_err(),
        ParseError::Truncated
    );
}

// ---------------------------------------------------------------- ports

#[test]
fn transport_ports_reads_tcp_udp_sctp_only() {
    let l4 = hex("9c40 00b3 ffff");
    assert_eq!(transport_ports(IpProtocol::Tcp, &l4), Some((40000, 179)));
    assert_eq!(transport_ports(IpProtocol::Udp, &l4), Some((40000, 179)));
    assert_eq!(transport_ports(IpProtocol::Sctp, &l4), Some((40000, 179)));
    assert_eq!(transport_ports(IpProtocol::Icmp, &l4), None);
    assert_eq!(transport_ports(IpProtocol::Unknown(33), &l4), None);
    assert_eq!(transport_ports(IpProtocol::Udp, &l4[..3]), None);
}

#[test]
fn ip_protocol_numbers_match_iana() {
    use IpProtocol::*;
    let table = [
        (0, HopByHop),
        (1, Icmp),
        (2, Igmp),
        (6, Tcp),
        (17, Udp),
        (43, Ipv6Route),
        (44, Ipv6Frag),
        (47, Gre),
        (50, Esp),
        (51, Ah),
        (58, Icmpv6),
        (59, Ipv6NoNxt),
        (60, Ipv6Opts),
        (89, Ospf),
        (112, Vrrp),
        (132, Sctp),
        (253, Unknown(253)),
    ];
    for (value, protocol) in table {
        assert_eq!(IpProtocol::from(value), protocol);
        assert_eq!(u8::from(protocol), value);
    }
}

// ---------------------------------------------------------------- more ICMP

/// Decodes `bytes` to `expected` and re-emits it byte for byte.
fn icmpv4_round_trip(bytes: &[u8], expected: Icmpv4Repr<'_>) {
    let packet = Icmpv4Packet::new_checked(bytes).unwrap();
    assert!(packet.verify_checksum());
    let repr = Icmpv4Repr::parse(&packet).unwrap();
    assert_eq!(repr, expected);
    let mut out = vec![0x77u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, bytes);
}

#[test]
fn icmpv4_echo_reply_redirect_and_param_problem() {
    let quoted = hex(QUOTED_V4);

    let bytes = hex("0000 2904 1234 0001 61626364");
    assert_eq!(reference_checksum(&[&zeroed_at(&bytes, 2)]), 0x2904);
    icmpv4_round_trip(
        &bytes,
        Icmpv4Repr::EchoReply {
            ident: 0x1234,
            seq_no: 1,
            data: b"abcd",
        },
    );

    let bytes = hex(&format!("0501 b8c3 c0a8 00fe {QUOTED_V4}"));
    assert_eq!(reference_checksum(&[&zeroed_at(&bytes, 2)]), 0xb8c3);
    icmpv4_round_trip(
        &bytes,
        Icmpv4Repr::Redirect {
            code: 1,
            gateway: Ipv4Addr::new(192, 168, 0, 254),
            data: &quoted,
        },
    );

    let bytes = hex(&format!("0c00 5f6b 1400 0000 {QUOTED_V4}"));
    assert_eq!(reference_checksum(&[&zeroed_at(&bytes, 2)]), 0x5f6b);
    icmpv4_round_trip(
        &bytes,
        Icmpv4Repr::ParamProblem {
            code: 0,
            pointer: 20,
            data: &quoted,
        },
    );
}

/// An IPv6/UDP header quoted by an ICMPv6 error (2001:db8::1 → ::2, port 53).
const QUOTED_V6: &str = "600000000008114020010db800000000000000000000000120010db8000000000000000000000002d43100350008abcd";

#[test]
fn icmpv6_dst_unreachable_and_time_exceeded() {
    let quoted = hex(QUOTED_V6);
    let dst: Ipv6Addr = "2001:db8::1".parse().unwrap();
    for (src, bytes, csum, expected) in [
        (
            "2001:db8::2",
            hex(&format!("0104 561a 0000 0000 {QUOTED_V6}")),
            0x561a,
            Icmpv6Repr::DstUnreachable {
                code: 4,
                data: &quoted,
            },
        ),
        (
            "2001:db8::fe",
            hex(&format!("0300 5322 0000 0000 {QUOTED_V6}")),
            0x5322,
            Icmpv6Repr::TimeExceeded {
                code: 0,
                data: &quoted,
            },
        ),
    ] {
        let src: Ipv6Addr = src.parse().unwrap();
        let pseudo = pseudo_v6(src, dst, 58, bytes.len() as u32);
        assert_eq!(reference_checksum(&[&pseudo, &zeroed_at(&bytes, 2)]), csum);
        let packet = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
        assert!(packet.is_error());
        let repr = Icmpv6Repr::parse(&src, &dst, &packet).unwrap();
        assert_eq!(repr, expected);
        let mut out = vec![0x55u8; repr.buffer_len()];
        repr.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, bytes);
        // A wrong pseudo-header address is a checksum failure.
        assert_eq!(
            Icmpv6Repr::parse(&dst, &dst, &packet).unwrap_err(),
            ParseError::BadChecksum
        );
    }
}

#[test]
fn tcp_syn_encodes_from_setters() {
    use dataplane::packet::TcpFlags;
    let src = Ipv4Addr::new(10, 0, 0, 1);
    let dst = Ipv4Addr::new(10, 0, 0, 2);
    let bytes = hex("9c40 00b3 0102 0304 0000 0000 6002 7210 711a 0000 0204 05b4");
    let mut out = vec![0u8; 24];
    let mut t = TcpPacket::new_unchecked(&mut out[..]);
    t.set_src_port(40000);
    t.set_dst_port(179);
    t.set_seq_number(0x0102_0304);
    t.set_ack_number(0);
    t.set_header_len(24);
    t.set_flags(TcpFlags(TcpFlags::SYN));
    t.set_window_len(29200);
    t.set_urgent_at(0);
    out[20..24].copy_from_slice(&[2, 4, 5, 0xb4]);
    TcpPacket::new_unchecked(&mut out[..]).fill_checksum_v4(src, dst);
    assert_eq!(out, bytes);
}
