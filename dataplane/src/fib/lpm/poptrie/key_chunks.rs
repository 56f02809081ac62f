//! The 6-bit chunks a poptrie lookup reads from an address, one per node.

use super::super::LpmKey;

/// An [`LpmKey`] whose 6-bit chunks a lookup can take cheaply. Every
/// level of every lookup takes one, so the generic
/// [`LpmKey::bits`] (any width, any offset, saturating) is too slow here.
pub trait PoptrieKey: LpmKey {
    /// The 6 bits after the first `offset` (below [`LpmKey::BITS`]) as a
    /// slot index; bits past the end of the address read as 0.
    fn chunk(self, offset: u8) -> usize;
}

impl PoptrieKey for u32 {
    #[inline(always)]
    fn chunk(self, offset: u8) -> usize {
        // Widened so that a chunk running past bit 31 reads zeros.
        ((u64::from(self) << 32).wrapping_shl(u32::from(offset)) >> 58) as usize
    }
}

impl PoptrieKey for u128 {
    #[inline(always)]
    fn chunk(self, offset: u8) -> usize {
        let offset = u32::from(offset);
        if offset <= 58 {
            // The common case (prefixes up to /64): one 64-bit shift pair.
            (((self >> 64) as u64).wrapping_shl(offset) >> 58) as usize
        } else {
            (self.wrapping_shl(offset) >> 122) as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_agree_with_bits() {
        let v4 = [0u32, u32::MAX, 0xC0A8_0180, 0x8000_0001, 0x1234_5678];
        for key in v4 {
            for offset in 0..32 {
                assert_eq!(key.chunk(offset), key.bits(offset, 6) as usize);
            }
        }
        let v6 = [
            0u128,
            u128::MAX,
            0x2001_0db8_0000_0000_0000_0000_0000_00ff,
            1 << 64 | 1 << 63,
            0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
        ];
        for key in v6 {
            for offset in 0..128 {
                assert_eq!(key.chunk(offset), key.bits(offset, 6) as usize, "{offset}");
            }
        }
    }
}
