//! The level-0 array of a trie: up to 16M entries (64 MiB) read at random,
//! one per lookup, so it lives on huge pages (see [`HugePageMemory`]).

use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::huge_page_memory::HugePageMemory;

/// A fixed-length, zero-initialised `[u32]`.
#[derive(Clone)]
pub struct DirectTable {
    memory: HugePageMemory,
}

impl DirectTable {
    /// `len` zeroed entries.
    pub fn zeroed(len: usize) -> Self {
        Self {
            memory: HugePageMemory::zeroed(len * size_of::<u32>()),
        }
    }

    /// Bytes this table holds.
    pub fn memory_bytes(&self) -> usize {
        self.memory.footprint()
    }
}

impl Deref for DirectTable {
    type Target = [u32];

    #[inline]
    fn deref(&self) -> &[u32] {
        // Page-aligned (or Box-allocated with u32 alignment checked by
        // bytemuck) and a multiple of 4 bytes long.
        bytemuck::cast_slice(&self.memory)
    }
}

impl DerefMut for DirectTable {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u32] {
        bytemuck::cast_slice_mut(&mut self.memory)
    }
}

impl PartialEq for DirectTable {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for DirectTable {}

impl fmt::Debug for DirectTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DirectTable({} entries)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_tables_behave_alike() {
        for len in [256usize, 1 << 20] {
            let mut t = DirectTable::zeroed(len);
            assert_eq!(t.len(), len);
            assert!(t.iter().all(|&e| e == 0));
            t[0] = 7;
            t[len - 1] = 9;
            let c = t.clone();
            assert_eq!(c, t);
            assert_eq!(c[len - 1], 9);
            let mut d = DirectTable::zeroed(len);
            d.clone_from(&t);
            assert_eq!(d, t);
        }
    }
}
