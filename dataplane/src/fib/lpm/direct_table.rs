//! The level-0 array of a trie: up to 16M entries (64 MiB) read at random,
//! one per lookup. Backed by transparent huge pages when it is large: with
//! 4 KiB pages nearly every lookup also misses the TLB, which measured
//! ~45% slower on this hardware (PLATFORM.md machines, 64 MiB of random
//! reads: 64M/s with 4 KiB pages, 93M/s with 2 MiB pages).

use std::fmt;
use std::ops::{Deref, DerefMut};

use memmap2::{Advice, MmapMut, MmapOptions};

const HUGE_PAGE: usize = 2 << 20;

/// A fixed-length, zero-initialised `[u32]`.
pub struct DirectTable {
    storage: Storage,
    len: usize,
}

enum Storage {
    Heap(Vec<u32>),
    /// An anonymous mapping over-allocated by one huge page so the table
    /// can start on a huge-page boundary; `offset` is that start in bytes.
    Mapped { map: MmapMut, offset: usize },
}

impl DirectTable {
    /// `len` zeroed entries.
    pub fn zeroed(len: usize) -> Self {
        let bytes = len * size_of::<u32>();
        if bytes >= HUGE_PAGE
            && let Some(storage) = Self::map_huge(bytes)
        {
            return Self { storage, len };
        }
        Self {
            storage: Storage::Heap(vec![0; len]),
            len,
        }
    }

    fn map_huge(bytes: usize) -> Option<Storage> {
        let map = MmapOptions::new().len(bytes + HUGE_PAGE).map_anon().ok()?;
        let misalign = map.as_ptr() as usize % HUGE_PAGE;
        let offset = if misalign == 0 { 0 } else { HUGE_PAGE - misalign };
        // Advice only: without THP the table still works, with 4 KiB pages.
        let _ = map.advise_range(Advice::HugePage, offset, bytes);
        Some(Storage::Mapped { map, offset })
    }

    /// Heap bytes (or mapped bytes) this table holds.
    pub fn memory_bytes(&self) -> usize {
        match &self.storage {
            Storage::Heap(v) => v.capacity() * size_of::<u32>(),
            Storage::Mapped { map, .. } => map.len(),
        }
    }
}

impl Deref for DirectTable {
    type Target = [u32];

    #[inline]
    fn deref(&self) -> &[u32] {
        match &self.storage {
            Storage::Heap(v) => v,
            Storage::Mapped { map, offset } => {
                let bytes = &map[*offset..*offset + self.len * size_of::<u32>()];
                bytemuck::cast_slice(bytes)
            }
        }
    }
}

impl DerefMut for DirectTable {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u32] {
        let len = self.len;
        match &mut self.storage {
            Storage::Heap(v) => v,
            Storage::Mapped { map, offset } => {
                let bytes = &mut map[*offset..*offset + len * size_of::<u32>()];
                bytemuck::cast_slice_mut(bytes)
            }
        }
    }
}

impl Clone for DirectTable {
    fn clone(&self) -> Self {
        let mut copy = Self::zeroed(self.len);
        copy.copy_from_slice(self);
        copy
    }

    fn clone_from(&mut self, source: &Self) {
        if self.len == source.len {
            self.copy_from_slice(source);
        } else {
            *self = source.clone();
        }
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
        write!(f, "DirectTable({} entries)", self.len)
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
            assert!(t.memory_bytes() >= len * 4);
        }
    }

    #[test]
    fn large_tables_are_huge_page_aligned() {
        let t = DirectTable::zeroed(1 << 22);
        if let Storage::Mapped { .. } = t.storage {
            assert_eq!(t.as_ptr() as usize % HUGE_PAGE, 0);
        }
    }
}
