//! The pool every node record lives in, with an exact-size allocator.
//!
//! The pool is an array of 64-bit cells, also read as twice as many
//! 32-bit words: a record starts on a cell (its vector) and continues with
//! words. Records are 2 to 33 cells and change size with every route that
//! adds or removes a leaf run or a child, so sizes are not rounded to classes
//! (a first version with power-of-two classes held 39 % more leaf memory
//! on a 1M-route table, and memory decides whether the table stays in
//! cache). Free space
//! is kept as extents, merged with their neighbours when freed and handed
//! out best-fit; a free extent at the end of the pool is cut off. All of
//! it sits in ordered sets, so the pool is a pure function of the calls
//! made on it and two copies fed the same operations stay identical.

use std::collections::{BTreeMap, BTreeSet};

use super::huge_vec::HugeVec;

/// Cell indices are `u32` and must leave the top bit of a trie entry free.
const MAX_CELLS: usize = 1 << 31;
/// Smallest growth of the pool, in cells.
const MIN_GROWTH: usize = 1 << 11;

#[derive(Clone, PartialEq, Eq)]
pub(super) struct RecordPool {
    cells: HugeVec<u64>,
    /// Cells at the start that belong to the caller.
    reserved: usize,
    /// Free extents: start → length.
    free_by_start: BTreeMap<u32, u32>,
    /// The same extents as (length, start), for best fit.
    free_by_len: BTreeSet<(u32, u32)>,
}

impl RecordPool {
    /// A pool whose first `reserved` cells (zeroed) are the caller's,
    /// never handed out by [`Self::alloc`].
    pub(super) fn new(reserved: usize) -> Self {
        let mut cells = HugeVec::new();
        cells.resize_zeroed(reserved);
        Self {
            cells,
            reserved,
            free_by_start: BTreeMap::new(),
            free_by_len: BTreeSet::new(),
        }
    }

    /// Every cell, free or not.
    #[inline(always)]
    pub(super) fn cells(&self) -> &[u64] {
        self.cells.as_slice()
    }

    #[inline]
    pub(super) fn cells_mut(&mut self) -> &mut [u64] {
        self.cells.as_mut_slice()
    }

    /// Every cell as two words (word `2c` and `2c + 1` are cell `c`).
    #[inline(always)]
    pub(super) fn words(&self) -> &[u32] {
        bytemuck::cast_slice(self.cells.as_slice())
    }

    #[inline]
    pub(super) fn words_mut(&mut self) -> &mut [u32] {
        bytemuck::cast_slice_mut(self.cells.as_mut_slice())
    }

    /// `len` (at least 1) contiguous cells; their contents are unspecified.
    ///
    /// # Panics
    ///
    /// When the pool would pass 2^31 cells (16 GiB: a table far beyond any
    /// routing table).
    pub(super) fn alloc(&mut self, len: usize) -> usize {
        let want = len as u32;
        if let Some(&(free_len, start)) = self.free_by_len.range((want, 0)..).next() {
            self.take(start, free_len);
            if free_len > want {
                self.put(start + want, free_len - want);
            }
            return start as usize;
        }
        let start = self.cells.len();
        assert!(start + len <= MAX_CELLS, "LPM record pool exhausted");
        self.grow(len);
        start
    }

    /// Adds `len` cells at the end.
    fn grow(&mut self, len: usize) {
        let start = self.cells.len();
        if start + len > self.cells.capacity() {
            // Grow by an eighth rather than doubling: the table is held
            // twice (one per left-right copy) and every growth is a copy.
            self.cells.reserve((start / 8).max(MIN_GROWTH).max(len));
        }
        self.cells.resize_zeroed(start + len);
    }

    /// Where the `old` cells at `start` continue as `new` cells: the same
    /// place when they shrink, or grow into free cells right after them
    /// (or at the end of the pool); else a new block, the old one freed.
    /// The first `min(old, new)` cells keep their contents only in place.
    pub(super) fn resize(&mut self, start: usize, old: usize, new: usize) -> usize {
        if new <= old {
            if new < old {
                self.free(start + new, old - new);
            }
            return start;
        }
        let end = start + old;
        let more = new - old;
        if let Some(&after) = self.free_by_start.get(&(end as u32))
            && after as usize >= more
        {
            self.take(end as u32, after);
            if after as usize > more {
                self.put((end + more) as u32, after - more as u32);
            }
            return start;
        }
        if end == self.cells.len() && end + more <= MAX_CELLS {
            self.grow(more);
            return start;
        }
        self.free(start, old);
        self.alloc(new)
    }

    /// Returns the `len` cells at `start`.
    pub(super) fn free(&mut self, start: usize, len: usize) {
        let (mut start, mut len) = (start as u32, len as u32);
        if let Some((&before, &before_len)) = self.free_by_start.range(..start).next_back()
            && before + before_len == start
        {
            self.take(before, before_len);
            (start, len) = (before, before_len + len);
        }
        if let Some(&after_len) = self.free_by_start.get(&(start + len)) {
            self.take(start + len, after_len);
            len += after_len;
        }
        if (start + len) as usize == self.cells.len() {
            self.cells.resize_zeroed(start as usize);
        } else {
            self.put(start, len);
        }
    }

    /// Cells in allocated records.
    #[cfg(test)]
    pub(super) fn used(&self) -> usize {
        let free: usize = self.free_by_start.values().map(|&l| l as usize).sum();
        self.cells.len() - self.reserved - free
    }

    /// Bytes held: the cells' mapping, and the free sets (counted at four
    /// words per extent: two B-tree entries and their share of nodes).
    pub(super) fn memory_bytes(&self) -> usize {
        self.cells.footprint() + self.free_by_start.len() * 4 * size_of::<usize>()
    }

    fn take(&mut self, start: u32, len: u32) {
        self.free_by_start.remove(&start);
        self.free_by_len.remove(&(len, start));
    }

    fn put(&mut self, start: u32, len: u32) {
        self.free_by_start.insert(start, len);
        self.free_by_len.insert((len, start));
    }
}

impl std::fmt::Debug for RecordPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RecordPool({} cells, {} free extents)",
            self.cells.len(),
            self.free_by_start.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_fit_split_and_merge() {
        let mut pool = RecordPool::new(0);
        let a = pool.alloc(5);
        let b = pool.alloc(7);
        let c = pool.alloc(5);
        let d = pool.alloc(9);
        assert_eq!((a, b, c, d), (0, 5, 12, 17));
        pool.free(b, 7);
        pool.free(a, 5);
        // a and b merged into 12 cells at 0; the best fit for 6 is there.
        assert_eq!(pool.used(), 14);
        assert_eq!(pool.alloc(6), 0);
        assert_eq!(pool.alloc(6), 6);
        assert_eq!(pool.used(), 26);
        // The last extent is cut off, and the free one before it with it.
        pool.free(c, 5);
        pool.free(d, 9);
        assert_eq!(pool.cells().len(), 12);
        pool.free(0, 6);
        pool.free(6, 6);
        assert!(pool.cells().is_empty());
        assert!(pool.free_by_start.is_empty() && pool.free_by_len.is_empty());
    }

    #[test]
    fn resize_stays_in_place_when_it_can() {
        let mut pool = RecordPool::new(0);
        let a = pool.alloc(4);
        let b = pool.alloc(4);
        let c = pool.alloc(2);
        // Shrinking frees the tail; growing takes it back.
        assert_eq!(pool.resize(a, 4, 2), a);
        assert_eq!(pool.used(), 8);
        assert_eq!(pool.resize(a, 2, 3), a);
        assert_eq!(pool.used(), 9);
        // The last block grows at the end of the pool.
        assert_eq!(pool.resize(c, 2, 5), c);
        assert_eq!(pool.cells().len(), 13);
        // Blocked on both sides: moved, into the best fit.
        assert_eq!(pool.resize(b, 4, 6), 13);
        assert_eq!(pool.used(), 3 + 5 + 6);
        assert_eq!(pool.alloc(5), 3, "a's freed tail and b merged");
    }

    #[test]
    fn smallest_fitting_extent_wins_then_lowest_start() {
        let mut pool = RecordPool::new(3);
        assert_eq!(pool.cells().len(), 3);
        assert_eq!(pool.words().len(), 6);
        let blocks: Vec<usize> = [8, 1, 5, 1, 6, 1].iter().map(|&n| pool.alloc(n)).collect();
        pool.free(blocks[0], 8);
        pool.free(blocks[2], 5);
        pool.free(blocks[4], 6);
        assert_eq!(pool.alloc(5), blocks[2]);
        assert_eq!(pool.alloc(5), blocks[4], "6 fits better than 8");
        // What is left of the 6 (1 word) is too small for 3.
        assert_eq!(pool.alloc(3), blocks[0]);
    }
}
