//! Neighbor Discovery vectors and validation (RFC 4861 §4.3, §4.4, §4.6,
//! §7.1.1, §7.1.2). Checksums were computed outside this crate and are
//! re-checked by a naive reference sum.

use std::net::Ipv6Addr;

use dataplane::packet::icmpv6::{
    Icmpv6Packet, Icmpv6Repr, NdpNeighborAdvert, NdpNeighborSolicit, NdpOptionType, NdpOptions,
};
use dataplane::packet::{MacAddr, ParseError};

fn reference_checksum(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&src.octets());
    bytes.extend_from_slice(&dst.octets());
    bytes.extend_from_slice(&(message.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&[0, 0, 0, 58]);
    bytes.extend_from_slice(message);
    bytes[40 + 2] = 0;
    bytes[40 + 3] = 0;
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|w| u32::from(w[0]) << 8 | u32::from(*w.get(1).unwrap_or(&0)))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn addr(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const TARGET: &str = "2001 0db8 0000 0000 0000 0000 0000 0002";
const MAC_1: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
const MAC_2: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x02]);

/// Parses, checks the repr, and re-emits byte for byte.
fn round_trip(src: Ipv6Addr, dst: Ipv6Addr, bytes: &[u8], expected: Icmpv6Repr<'_>) {
    let packet = Icmpv6Packet::new_checked(bytes).unwrap();
    let repr = Icmpv6Repr::parse(&src, &dst, &packet).unwrap();
    assert_eq!(repr, expected);
    assert_eq!(repr.buffer_len(), bytes.len());
    let mut out = vec![0xaau8; bytes.len()];
    repr.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, bytes);
}

#[test]
fn neighbor_solicit_with_source_lladdr() {
    let (src, dst) = (addr("fe80::1"), addr("ff02::1:ff00:2"));
    let bytes = hex(&format!("8700 4b5f 0000 0000 {TARGET} 0101 0200 0000 0001"));
    assert_eq!(reference_checksum(src, dst, &bytes), 0x4b5f);
    let expected = NdpNeighborSolicit {
        target: addr("2001:db8::2"),
        source_lladdr: Some(MAC_1),
    };
    round_trip(src, dst, &bytes, Icmpv6Repr::NeighborSolicit(expected));
}

#[test]
fn neighbor_solicit_for_dad_without_options() {
    let (src, dst) = (Ipv6Addr::UNSPECIFIED, addr("ff02::1:ff00:2"));
    let bytes = hex(&format!("8700 4ceb 0000 0000 {TARGET}"));
    assert_eq!(reference_checksum(src, dst, &bytes), 0x4ceb);
    let expected = NdpNeighborSolicit {
        target: addr("2001:db8::2"),
        source_lladdr: None,
    };
    round_trip(src, dst, &bytes, Icmpv6Repr::NeighborSolicit(expected));
}

#[test]
fn neighbor_advert_with_target_lladdr() {
    let (src, dst) = (addr("fe80::2"), addr("fe80::1"));
    let bytes = hex(&format!("8800 68e1 e000 0000 {TARGET} 0201 0200 0000 0002"));
    assert_eq!(reference_checksum(src, dst, &bytes), 0x68e1);
    let packet = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
    assert!(packet.router_flag() && packet.solicited_flag() && packet.override_flag());
    let expected = NdpNeighborAdvert {
        router: true,
        solicited: true,
        override_: true,
        target: addr("2001:db8::2"),
        target_lladdr: Some(MAC_2),
    };
    round_trip(src, dst, &bytes, Icmpv6Repr::NeighborAdvert(expected));
}

#[test]
fn unsolicited_neighbor_advert_without_options() {
    let (src, dst) = (addr("fe80::2"), addr("ff02::1"));
    let bytes = hex(&format!("8800 2c6b 2000 0000 {TARGET}"));
    assert_eq!(reference_checksum(src, dst, &bytes), 0x2c6b);
    let expected = NdpNeighborAdvert {
        router: false,
        solicited: false,
        override_: true,
        target: addr("2001:db8::2"),
        target_lladdr: None,
    };
    round_trip(src, dst, &bytes, Icmpv6Repr::NeighborAdvert(expected));
}

/// Builds an NS with `options` after the target and a correct checksum.
fn solicit_with_options(src: Ipv6Addr, dst: Ipv6Addr, options: &str) -> Vec<u8> {
    let mut bytes = hex(&format!("8700 0000 0000 0000 {TARGET} {options}"));
    let csum = reference_checksum(src, dst, &bytes);
    bytes[2..4].copy_from_slice(&csum.to_be_bytes());
    bytes
}

#[test]
fn option_length_zero_is_rejected() {
    let (src, dst) = (addr("fe80::1"), addr("ff02::1:ff00:2"));
    // RFC 4861 §4.6: "Nodes MUST silently discard an ND packet that
    // contains an option with length zero." — even after a good option.
    for options in [
        "0100 0200 0000 0001",
        "0101 0200 0000 0001 0e00 0000 0000 0000",
    ] {
        let bytes = solicit_with_options(src, dst, options);
        let packet = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
        assert!(packet.verify_checksum(&src, &dst));
        assert_eq!(
            Icmpv6Repr::parse(&src, &dst, &packet).unwrap_err(),
            ParseError::Malformed("NDP option length 0"),
            "{options}"
        );
    }
}

#[test]
fn option_running_past_the_message_is_rejected() {
    let (src, dst) = (addr("fe80::1"), addr("ff02::1:ff00:2"));
    for options in ["0102 0200 0000 0001", "01"] {
        let bytes = solicit_with_options(src, dst, options);
        let packet = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            Icmpv6Repr::parse(&src, &dst, &packet).unwrap_err(),
            ParseError::Truncated,
            "{options}"
        );
    }
}

#[test]
fn unknown_options_are_skipped_and_first_lladdr_wins() {
    let (src, dst) = (addr("fe80::1"), addr("ff02::1:ff00:2"));
    // Nonce option (type 14, RFC 3971) of 8 bytes, then two SLLA options.
    let bytes = solicit_with_options(
        src,
        dst,
        "0e01 0102 0304 0506 0101 0200 0000 0001 0101 0200 0000 0002",
    );
    let packet = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
    let types: Vec<_> = packet
        .ndp_options()
        .map(|o| o.unwrap().option_type)
        .collect();
    assert_eq!(
        types,
        [
            NdpOptionType::Unknown(14),
            NdpOptionType::SourceLinkLayerAddr,
            NdpOptionType::SourceLinkLayerAddr
        ]
    );
    let repr = Icmpv6Repr::parse(&src, &dst, &packet).unwrap();
    assert_eq!(
        repr,
        Icmpv6Repr::NeighborSolicit(NdpNeighborSolicit {
            target: addr("2001:db8::2"),
            source_lladdr: Some(MAC_1)
        })
    );
}

#[test]
fn options_iterator_yields_one_error_then_stops() {
    let bytes = hex("0101 0200 0000 0001 0500 0000");
    let items: Vec<_> = NdpOptions::new(&bytes).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].unwrap().lladdr(), Some(MAC_1));
    assert!(items[1].is_err());
}

#[test]
fn dad_probe_with_source_lladdr_is_rejected() {
    // RFC 4861 §7.1.1: from ::, there is no source link-layer address option.
    let (src, dst) = (Ipv6Addr::UNSPECIFIED, addr("ff02::1:ff00:2"));
    let bytes = solicit_with_options(src, dst, "0101 0200 0000 0001");
    let packet = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
    assert!(matches!(
        Icmpv6Repr::parse(&src, &dst, &packet),
        Err(ParseError::Malformed(_))
    ));
    // And a DAD probe must go to a solicited-node group.
    let dst = addr("ff02::1");
    let bytes = solicit_with_options(src, dst, "");
    let packet = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
    assert!(matches!(
        Icmpv6Repr::parse(&src, &dst, &packet),
        Err(ParseError::Malformed(_))
    ));
}

#[test]
fn multicast_target_nonzero_code_and_solicited_multicast_na_are_rejected() {
    let (src, dst) = (addr("fe80::1"), addr("ff02::1:ff00:2"));
    let fix = |mut bytes: Vec<u8>, src: Ipv6Addr, dst: Ipv6Addr| {
        bytes[2..4].fill(0);
        let c = reference_checksum(src, dst, &bytes);
        bytes[2..4].copy_from_slice(&c.to_be_bytes());
        bytes
    };
    let mut multicast_target = solicit_with_options(src, dst, "");
    multicast_target[8] = 0xff;
    let mut nonzero_code = solicit_with_options(src, dst, "");
    nonzero_code[1] = 1;
    for bytes in [fix(multicast_target, src, dst), fix(nonzero_code, src, dst)] {
        let packet = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
        assert!(matches!(
            Icmpv6Repr::parse(&src, &dst, &packet),
            Err(ParseError::Malformed(_))
        ));
    }
    // §7.1.2: an NA to a multicast address must not have S set.
    let (src, dst) = (addr("fe80::2"), addr("ff02::1"));
    let bytes = fix(hex(&format!("8800 0000 6000 0000 {TARGET}")), src, dst);
    let packet = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
    assert!(matches!(
        Icmpv6Repr::parse(&src, &dst, &packet),
        Err(ParseError::Malformed(_))
    ));
}

#[test]
fn neighbor_messages_shorter_than_24_bytes_are_truncated() {
    let bytes = hex(&format!("8700 0000 0000 0000 {TARGET}"));
    for len in [4, 8, 23] {
        assert_eq!(
            Icmpv6Packet::new_checked(&bytes[..len]).unwrap_err(),
            ParseError::Truncated
        );
    }
}
