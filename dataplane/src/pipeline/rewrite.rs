//! The per-packet rewrite of a forwarded frame, in one pass over fixed-size
//! header arrays (so the compiler checks bounds once): new MACs, TTL or hop
//! limit minus one, and for IPv4 the header checksum patched per RFC 1624.

use crate::packet::MacAddr;
use crate::packet::checksum;

/// Ethernet (14) + minimal IPv4 header (20).
const ETH_IPV4: usize = 34;
/// Ethernet (14) + IPv6 fixed header (40).
const ETH_IPV6: usize = 54;

/// Rewrites an untagged Ethernet/IPv4 frame for its next hop. The caller
/// has checked TTL > 1; returns false (nothing written) on a short frame.
#[inline(always)]
pub fn rewrite_ipv4(frame: &mut [u8], src: MacAddr, dst: MacAddr) -> bool {
    let Some(h) = frame.first_chunk_mut::<ETH_IPV4>() else {
        return false;
    };
    h[0..6].copy_from_slice(&dst.0);
    h[6..12].copy_from_slice(&src.0);
    // TTL and protocol share the 16-bit word at IP offset 8 (RFC 791).
    let ttl = h[22];
    let old = u16::from_be_bytes([ttl, h[23]]);
    let new = u16::from_be_bytes([ttl.wrapping_sub(1), h[23]]);
    let sum = u16::from_be_bytes([h[24], h[25]]);
    h[22] = ttl.wrapping_sub(1);
    h[24..26].copy_from_slice(&checksum::update16(sum, old, new).to_be_bytes());
    true
}

/// Rewrites an untagged Ethernet/IPv6 frame for its next hop (no header
/// checksum in IPv6). The caller has checked hop limit > 1.
#[inline(always)]
pub fn rewrite_ipv6(frame: &mut [u8], src: MacAddr, dst: MacAddr) -> bool {
    let Some(h) = frame.first_chunk_mut::<ETH_IPV6>() else {
        return false;
    };
    h[0..6].copy_from_slice(&dst.0);
    h[6..12].copy_from_slice(&src.0);
    h[21] = h[21].wrapping_sub(1);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_frame(ttl: u8) -> Vec<u8> {
        let mut f = vec![0u8; 60];
        f[12] = 0x08;
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&46u16.to_be_bytes());
        ip[8] = ttl;
        ip[9] = 17;
        ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
        ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
        let c = checksum::internet_checksum(ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f
    }

    #[test]
    fn ipv4_rewrite_matches_a_full_recomputation() {
        for ttl in [2u8, 3, 64, 128, 255] {
            let mut f = ipv4_frame(ttl);
            assert!(rewrite_ipv4(
                &mut f,
                MacAddr([2, 0, 0, 0, 0, 1]),
                MacAddr([2, 0, 0, 0, 0, 2])
            ));
            assert_eq!(&f[0..6], &[2, 0, 0, 0, 0, 2]);
            assert_eq!(&f[6..12], &[2, 0, 0, 0, 0, 1]);
            assert_eq!(f[22], ttl - 1);
            assert_eq!(checksum::internet_checksum(&f[14..34]), 0, "ttl {ttl}");
        }
    }

    #[test]
    fn short_frames_are_left_alone() {
        let mut f = vec![0u8; 33];
        assert!(!rewrite_ipv4(&mut f, MacAddr::ZERO, MacAddr::BROADCAST));
        assert!(f.iter().all(|&b| b == 0));
        let mut f = vec![0u8; 53];
        assert!(!rewrite_ipv6(&mut f, MacAddr::ZERO, MacAddr::BROADCAST));
    }

    #[test]
    fn ipv6_rewrite_decrements_hop_limit() {
        let mut f = vec![0u8; 54];
        f[21] = 64;
        assert!(rewrite_ipv6(
            &mut f,
            MacAddr([2, 0, 0, 0, 0, 1]),
            MacAddr([2, 0, 0, 0, 0, 2])
        ));
        assert_eq!(f[21], 63);
        assert_eq!(&f[0..6], &[2, 0, 0, 0, 0, 2]);
    }
}
