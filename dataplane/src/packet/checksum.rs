//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! Partial sums are carried as `u32` values already folded below 2^17, so
//! callers may add a handful of them (pseudo-header + payload) without
//! overflow before the final [`fold`].

use std::net::{Ipv4Addr, Ipv6Addr};

/// One's-complement sum of `data` as big-endian 16-bit words; an odd final
/// byte is the high half of a zero-padded word (RFC 1071 §4.1).
#[inline]
pub fn sum(data: &[u8]) -> u32 {
    // Adding 32-bit big-endian words into a wide accumulator and folding at
    // the end gives the same one's-complement sum as 16-bit words (RFC 1071
    // §2(B), byte-order and word-size independence), at half the additions.
    let mut acc: u64 = 0;
    let (words, rest) = data.as_chunks::<4>();
    for word in words {
        acc += u64::from(u32::from_be_bytes(*word));
    }
    let (halves, last) = rest.as_chunks::<2>();
    for half in halves {
        acc += u64::from(u16::from_be_bytes(*half));
    }
    if let [byte] = last {
        acc += u64::from(*byte) << 8;
    }
    // Fold 64 → 32 → 16 bits; two rounds at each width absorb the carries.
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    let mut s = acc as u32;
    s = (s & 0xffff) + (s >> 16);
    s
}

/// Folds carries back in until the sum fits 16 bits.
#[inline]
pub fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The value to store in a checksum field that covers `data` (with the
/// checksum field itself zero).
pub fn internet_checksum(data: &[u8]) -> u16 {
    !fold(sum(data))
}

/// Partial sum of the IPv4 pseudo-header (RFC 768; RFC 793 §3.1).
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: u32) -> u32 {
    let [a, b, c, d] = src.octets();
    let [e, f, g, h] = dst.octets();
    let words = [
        u16::from_be_bytes([a, b]),
        u16::from_be_bytes([c, d]),
        u16::from_be_bytes([e, f]),
        u16::from_be_bytes([g, h]),
        u16::from(proto),
        (len >> 16) as u16,
        len as u16,
    ];
    words.iter().map(|w| u32::from(*w)).sum()
}

/// Partial sum of the IPv6 pseudo-header (RFC 8200 §8.1).
pub fn pseudo_header_v6(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, len: u32) -> u32 {
    let addrs: u32 = src
        .segments()
        .iter()
        .chain(dst.segments().iter())
        .map(|w| u32::from(*w))
        .sum();
    addrs + (len >> 16) + (len & 0xffff) + u32::from(next_header)
}

/// The checksum after one 16-bit word of the covered data changes from
/// `old_word` to `new_word`: RFC 1624 eqn. 3, `HC' = ~(~HC + ~m + m')`.
///
/// Unlike RFC 1141's `HC' = HC + m - m'`, this never produces -0 (0xFFFF)
/// where a full recomputation gives +0 (RFC 1624 §3), so routers that
/// compare checksums byte-for-byte stay in agreement with us.
#[inline]
pub fn update16(old_checksum: u16, old_word: u16, new_word: u16) -> u16 {
    let s = u32::from(!old_checksum) + u32::from(!old_word) + u32::from(new_word);
    !fold(s)
}
