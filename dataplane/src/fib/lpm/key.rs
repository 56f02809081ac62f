//! The address types a longest-prefix-match table is keyed by.

use core::fmt::Debug;
use core::hash::Hash;

/// An address as an unsigned integer whose most significant bit is the
/// first bit of the address (IPv4 as `u32`, IPv6 as `u128`, both in host
/// order as `u32::from(Ipv4Addr)` / `u128::from(Ipv6Addr)` give them).
///
/// Every method is total: out-of-range lengths saturate instead of
/// panicking, so a bad length can never crash the dataplane.
pub trait LpmKey: Copy + Eq + Ord + Hash + Debug + Send + Sync + 'static {
    /// Address width in bits.
    const BITS: u8;

    /// The `len` bits (at most 32) that follow the first `offset` bits,
    /// right-aligned. Bits past the end of the address read as 0.
    fn bits(self, offset: u8, len: u8) -> u32;

    /// The 8 bits that follow the first `offset` bits, as an index. The
    /// lookup hot path: `offset + 8` must not exceed [`Self::BITS`] (the
    /// result is meaningless but harmless otherwise).
    fn byte_at(self, offset: u8) -> u8;

    /// The first `len` bits (at least 1, at most [`Self::BITS`]) as an
    /// index. The other half of the lookup hot path.
    fn top(self, len: u8) -> usize;

    /// The first `len` bits of `self`, the rest cleared.
    fn masked(self, len: u8) -> Self;

    /// The first `len` bits of `self`, the rest taken from `host`.
    fn with_host(self, len: u8, host: Self) -> Self;

    /// The low [`Self::BITS`] bits of `bits` (for building keys from random
    /// numbers generically).
    fn from_u128_truncating(bits: u128) -> Self;
}

impl LpmKey for u32 {
    const BITS: u8 = 32;

    #[inline]
    fn bits(self, offset: u8, len: u8) -> u32 {
        if len == 0 {
            return 0;
        }
        let aligned = self.checked_shl(u32::from(offset)).unwrap_or(0);
        aligned >> (32 - u32::from(len.min(32)))
    }

    #[inline]
    fn byte_at(self, offset: u8) -> u8 {
        self.wrapping_shr(u32::from(24u8.wrapping_sub(offset))) as u8
    }

    #[inline]
    fn top(self, len: u8) -> usize {
        self.wrapping_shr(u32::from(32u8.wrapping_sub(len))) as usize
    }

    #[inline]
    fn masked(self, len: u8) -> Self {
        self & netmask_u32(len)
    }

    #[inline]
    fn with_host(self, len: u8, host: Self) -> Self {
        let mask = netmask_u32(len);
        (self & mask) | (host & !mask)
    }

    #[inline]
    fn from_u128_truncating(bits: u128) -> Self {
        bits as u32
    }
}

impl LpmKey for u128 {
    const BITS: u8 = 128;

    #[inline]
    fn bits(self, offset: u8, len: u8) -> u32 {
        if len == 0 {
            return 0;
        }
        let aligned = self.checked_shl(u32::from(offset)).unwrap_or(0);
        (aligned >> (128 - u32::from(len.min(32)))) as u32
    }

    #[inline]
    fn byte_at(self, offset: u8) -> u8 {
        self.wrapping_shr(u32::from(120u8.wrapping_sub(offset))) as u8
    }

    #[inline]
    fn top(self, len: u8) -> usize {
        // Only the high half can hold the first level (at most 24 bits);
        // shifting one u64 is cheaper than a u128 shift.
        let high = (self >> 64) as u64;
        high.wrapping_shr(u32::from(64u8.wrapping_sub(len))) as usize
    }

    #[inline]
    fn masked(self, len: u8) -> Self {
        self & netmask_u128(len)
    }

    #[inline]
    fn with_host(self, len: u8, host: Self) -> Self {
        let mask = netmask_u128(len);
        (self & mask) | (host & !mask)
    }

    #[inline]
    fn from_u128_truncating(bits: u128) -> Self {
        bits
    }
}

#[inline]
fn netmask_u32(len: u8) -> u32 {
    u32::MAX
        .checked_shl(u32::from(32u8.saturating_sub(len)))
        .unwrap_or(0)
}

#[inline]
fn netmask_u128(len: u8) -> u128 {
    u128::MAX
        .checked_shl(u32::from(128u8.saturating_sub(len)))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_reads_from_the_most_significant_end() {
        let a: u32 = 0xC0A8_0180; // 192.168.1.128
        assert_eq!(a.bits(0, 8), 192);
        assert_eq!(a.bits(8, 8), 168);
        assert_eq!(a.bits(24, 1), 1);
        assert_eq!(a.bits(25, 7), 0);
        assert_eq!(a.bits(0, 0), 0);
        assert_eq!(a.bits(0, 32), a);
        assert_eq!(a.bits(32, 0), 0);
        assert_eq!(a.byte_at(16), 1);
        assert_eq!(a.top(24), 0xC0A801);

        let b: u128 = 0x2001_0db8_0000_0000_0000_0000_0000_00ff;
        assert_eq!(b.bits(0, 16), 0x2001);
        assert_eq!(b.bits(16, 16), 0x0db8);
        assert_eq!(b.bits(120, 8), 0xff);
        assert_eq!(b.byte_at(120), 0xff);
        assert_eq!(b.byte_at(8), 0x01);
        assert_eq!(b.top(16), 0x2001);
        assert_eq!(b.top(24), 0x20_010d);
    }

    #[test]
    fn masks_saturate_instead_of_panicking() {
        let a: u32 = 0xFFFF_FFFF;
        assert_eq!(a.masked(0), 0);
        assert_eq!(a.masked(1), 0x8000_0000);
        assert_eq!(a.masked(32), a);
        assert_eq!(a.masked(200), a);
        assert_eq!(0x0A00_0000u32.with_host(8, 0x1234_5678), 0x0A34_5678);

        let b: u128 = u128::MAX;
        assert_eq!(b.masked(0), 0);
        assert_eq!(b.masked(64), u128::MAX << 64);
        assert_eq!(b.masked(128), b);
        assert_eq!(b.masked(255), b);
        assert_eq!(0u128.with_host(127, 3), 1);
    }
}
