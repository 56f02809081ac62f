//! The Internet checksum and its RFC 1624 incremental update, checked
//! against a naive reference that shares no code with `packet::checksum`.

use std::net::{Ipv4Addr, Ipv6Addr};

use dataplane::packet::checksum::{
    fold, internet_checksum, pseudo_header_v4, pseudo_header_v6, sum, update16,
};
use proptest::prelude::*;

/// One's-complement sum of 16-bit big-endian words, one word at a time.
fn reference_sum(bytes: &[u8]) -> u16 {
    let mut acc: u32 = 0;
    for pair in bytes.chunks(2) {
        let word = u32::from(pair[0]) << 8 | u32::from(*pair.get(1).unwrap_or(&0));
        acc += word;
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

fn reference_checksum(bytes: &[u8]) -> u16 {
    !reference_sum(bytes)
}

#[test]
fn rfc1624_section4_example() {
    // RFC 1624 §4: m = 0x5555 → m' = 0x3285 in a header with HC = 0xDD2F;
    // the sum of the other words is 0xCD7A, so the new checksum is 0x0000.
    assert_eq!(update16(0xdd2f, 0x5555, 0x3285), 0x0000);
    // RFC 1141's HC' = HC + m + ~m' (RFC 1624 eqn. 2) gets -0 here, so
    // the assertion above tells eqn. 3 from a regression to it.
    let eqn2 = fold(0xdd2f + 0x5555 + u32::from(!0x3285u16));
    assert_eq!(eqn2, 0xffff, "RFC 1141's update yields -0");
    // And both agree with a full recomputation over {0xCD7A, m'}.
    assert_eq!(reference_checksum(&[0xcd, 0x7a, 0x32, 0x85]), 0x0000);
}

#[test]
fn odd_length_pads_the_last_byte_low() {
    assert_eq!(fold(sum(&[0x01])), 0x0100);
    assert_eq!(
        fold(sum(&[0xab, 0xcd, 0xef])),
        reference_sum(&[0xab, 0xcd, 0xef])
    );
    assert_eq!(fold(sum(&[])), 0);
}

#[test]
fn sum_of_a_large_buffer_does_not_overflow() {
    let big = vec![0xffu8; 256 * 1024 + 3];
    assert_eq!(fold(sum(&big)), reference_sum(&big));
    let ramp: Vec<u8> = (0..200_001u32).map(|i| (i * 7 + 3) as u8).collect();
    assert_eq!(fold(sum(&ramp)), reference_sum(&ramp));
}

#[test]
fn pseudo_headers_match_their_byte_layout() {
    let (s4, d4) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(198, 51, 100, 7));
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&s4.octets());
    bytes.extend_from_slice(&d4.octets());
    bytes.extend_from_slice(&[0, 17, 0x12, 0x34]);
    assert_eq!(
        fold(pseudo_header_v4(s4, d4, 17, 0x1234)),
        reference_sum(&bytes)
    );

    let s6: Ipv6Addr = "2001:db8::ffff:1".parse().unwrap();
    let d6: Ipv6Addr = "fe80::abcd:ef01".parse().unwrap();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&s6.octets());
    bytes.extend_from_slice(&d6.octets());
    bytes.extend_from_slice(&0x0001_2345u32.to_be_bytes());
    bytes.extend_from_slice(&[0, 0, 0, 58]);
    assert_eq!(
        fold(pseudo_header_v6(&s6, &d6, 58, 0x0001_2345)),
        reference_sum(&bytes)
    );
}

/// A 20-byte IPv4 header from arbitrary fields; version/IHL 0x45 makes
/// sure the header is never all zero, the precondition of RFC 1624 §3.
fn ipv4_header() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 18).prop_map(|rest| {
        let mut h = vec![0x45];
        h.extend_from_slice(&rest[..9]);
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(&rest[9..17]);
        let c = reference_checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h
    })
}

fn word(h: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([h[2 * i], h[2 * i + 1]])
}

proptest! {
    #[test]
    fn internet_checksum_matches_reference(data in prop::collection::vec(any::<u8>(), 0..2000)) {
        prop_assert_eq!(internet_checksum(&data), reference_checksum(&data));
    }

    #[test]
    fn partial_sums_combine(a in prop::collection::vec(any::<u8>(), 0..300), b in prop::collection::vec(any::<u8>(), 0..300)) {
        // Concatenation at an even boundary: sums add (RFC 1071 §2(C)).
        let mut a = a;
        if a.len() % 2 == 1 { a.pop(); }
        let joined: Vec<u8> = a.iter().chain(b.iter()).copied().collect();
        prop_assert_eq!(fold(sum(&a) + sum(&b)), fold(sum(&joined)));
    }

    /// Property (4): incremental == full recompute for random headers and
    /// random 16-bit word changes (any word but the checksum).
    #[test]
    fn update16_matches_full_recompute(header in ipv4_header(), index in 0usize..9, new_word in any::<u16>()) {
        let index = if index >= 5 { index + 1 } else { index }; // skip word 5, the checksum
        let mut changed = header.clone();
        changed[2 * index..2 * index + 2].copy_from_slice(&new_word.to_be_bytes());
        changed[10..12].fill(0);
        let full = reference_checksum(&changed);
        let incremental = update16(word(&header, 5), word(&header, index), new_word);
        prop_assert_eq!(incremental, full);
    }

    /// The RFC 1624 §3 corner: the change makes the correct checksum +0
    /// (0x0000); eqn. 3 must produce exactly that, not -0 (0xFFFF).
    #[test]
    fn update16_yields_plus_zero_when_full_recompute_does(header in ipv4_header(), index in 0usize..9) {
        let index = if index >= 5 { index + 1 } else { index };
        // Choose m' so the other words plus m' sum to 0xFFFF (-0).
        let mut others = header.clone();
        others[10..12].fill(0);
        others[2 * index..2 * index + 2].fill(0);
        let rest = reference_sum(&others);
        let new_word = if rest == 0xffff { 0xffff } else { !rest };
        let mut changed = others.clone();
        changed[2 * index..2 * index + 2].copy_from_slice(&new_word.to_be_bytes());
        prop_assert_eq!(reference_checksum(&changed), 0x0000);
        prop_assert_eq!(update16(word(&header, 5), word(&header, index), new_word), 0x0000);
    }

    /// Chained updates (as a NAT rewriting several words does) stay exact.
    #[test]
    fn chained_update16_matches_full_recompute(header in ipv4_header(), changes in prop::collection::vec((0usize..9, any::<u16>()), 1..8)) {
        let mut h = header.clone();
        let mut csum = word(&h, 5);
        for (index, new_word) in changes {
            let index = if index >= 5 { index + 1 } else { index };
            csum = update16(csum, word(&h, index), new_word);
            h[2 * index..2 * index + 2].copy_from_slice(&new_word.to_be_bytes());
        }
        h[10..12].fill(0);
        prop_assert_eq!(csum, reference_checksum(&h));
    }
}
