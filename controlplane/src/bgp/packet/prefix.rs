//! NLRI prefix encoding: a length octet in bits, then just enough octets
//! to hold that many bits (RFC 4271 §4.3, RFC 4760 §5).

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

use super::reader::Reader;

/// Why a run of prefixes is syntactically incorrect (RFC 7606 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrefixError {
    /// Length octet above 32 (IPv4) or 128 (IPv6).
    TooLong { bits: u8 },
    /// The last prefix's octets run past the field.
    Truncated,
}

/// Octets a prefix of `bits` takes on the wire, length octet included.
pub(crate) fn wire_len(bits: u8) -> usize {
    1 + usize::from(bits).div_ceil(8)
}

pub(crate) fn decode_ipv4(field: &[u8]) -> Result<Vec<Ipv4Net>, PrefixError> {
    let mut reader = Reader::new(field);
    // Each prefix takes at least one octet; a /24 takes four.
    let mut prefixes = Vec::with_capacity(field.len() / 4);
    while let Some(bits) = reader.u8() {
        if bits > 32 {
            return Err(PrefixError::TooLong { bits });
        }
        let octets = reader
            .take(usize::from(bits).div_ceil(8))
            .ok_or(PrefixError::Truncated)?;
        let mut addr = [0u8; 4];
        addr[..octets.len()].copy_from_slice(octets);
        // Trailing bits beyond the length are irrelevant (RFC 4271 §4.3).
        let net = Ipv4Net::new(Ipv4Addr::from(addr), bits)
            .map_err(|_| PrefixError::TooLong { bits })?
            .trunc();
        prefixes.push(net);
    }
    Ok(prefixes)
}

pub(crate) fn decode_ipv6(field: &[u8]) -> Result<Vec<Ipv6Net>, PrefixError> {
    let mut reader = Reader::new(field);
    let mut prefixes = Vec::with_capacity(field.len() / 8);
    while let Some(bits) = reader.u8() {
        if bits > 128 {
            return Err(PrefixError::TooLong { bits });
        }
        let octets = reader
            .take(usize::from(bits).div_ceil(8))
            .ok_or(PrefixError::Truncated)?;
        let mut addr = [0u8; 16];
        addr[..octets.len()].copy_from_slice(octets);
        let net = Ipv6Net::new(Ipv6Addr::from(addr), bits)
            .map_err(|_| PrefixError::TooLong { bits })?
            .trunc();
        prefixes.push(net);
    }
    Ok(prefixes)
}

pub(crate) fn encode_ipv4(prefix: &Ipv4Net, out: &mut Vec<u8>) {
    let bits = prefix.prefix_len();
    let octets = prefix.trunc().addr().octets();
    out.push(bits);
    out.extend_from_slice(&octets[..usize::from(bits).div_ceil(8)]);
}

pub(crate) fn encode_ipv6(prefix: &Ipv6Net, out: &mut Vec<u8>) {
    let bits = prefix.prefix_len();
    let octets = prefix.trunc().addr().octets();
    out.push(bits);
    out.extend_from_slice(&octets[..usize::from(bits).div_ceil(8)]);
}
