//! A growable array on transparent huge pages, for the record pool.
//!
//! A 1M-route table spreads its lookups over about 10 MiB of records: with
//! 4 KiB pages that is 2,500 pages, more than the second-level TLB holds,
//! so a lookup would often walk the page table as well. [`HugePageMemory`]
//! maps whole 2 MiB pages; growing means a new mapping and a copy, which
//! happens a few dozen times while a table is built.

use std::fmt;

use bytemuck::Pod;

use crate::huge_page_memory::{HUGE_PAGE, HugePageMemory};

#[derive(Clone)]
pub(super) struct HugeVec<T> {
    memory: HugePageMemory,
    len: usize,
    /// Elements that may hold something other than zero: those in use
    /// once since the mapping was made. Beyond, the mapping is still as
    /// the kernel zeroed it, untouched (so an empty direct array costs
    /// address space, not memory).
    written: usize,
    element: core::marker::PhantomData<T>,
}

impl<T: Pod> HugeVec<T> {
    pub(super) fn new() -> Self {
        Self {
            memory: HugePageMemory::zeroed(0),
            len: 0,
            written: 0,
            element: core::marker::PhantomData,
        }
    }

    #[inline(always)]
    pub(super) fn as_slice(&self) -> &[T] {
        // The mapping is page-aligned and `len` elements long at most.
        &bytemuck::cast_slice(&self.memory)[..self.len]
    }

    #[inline(always)]
    pub(super) fn as_mut_slice(&mut self) -> &mut [T] {
        &mut bytemuck::cast_slice_mut(&mut self.memory)[..self.len]
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Elements that fit without a new mapping.
    pub(super) fn capacity(&self) -> usize {
        self.memory.len() / size_of::<T>()
    }

    /// Bytes mapped, including alignment slack.
    pub(super) fn footprint(&self) -> usize {
        self.memory.footprint()
    }

    /// Makes room for at least `additional` more elements: exactly that
    /// while the array is smaller than a huge page, then rounded up to
    /// whole huge pages (the last one is mapped anyway).
    pub(super) fn reserve(&mut self, additional: usize) {
        let wanted = self.len + additional;
        if wanted <= self.capacity() {
            return;
        }
        let mut bytes = wanted * size_of::<T>();
        if bytes >= HUGE_PAGE {
            bytes = bytes
                .next_multiple_of(HUGE_PAGE)
                .next_multiple_of(size_of::<T>());
        }
        let mut memory = HugePageMemory::zeroed(bytes);
        let used = self.len * size_of::<T>();
        memory[..used].copy_from_slice(&self.memory[..used]);
        self.memory = memory;
        self.written = self.len;
    }

    /// Grows to `len` zeroed elements, or cuts down to it.
    pub(super) fn resize_zeroed(&mut self, len: usize) {
        if len > self.len {
            self.reserve(len - self.len);
            let old = self.len;
            self.len = len;
            let stale = old..len.min(self.written).max(old);
            self.as_mut_slice()[stale].fill(T::zeroed());
            self.written = self.written.max(len);
        } else {
            self.len = len;
        }
    }
}

impl<T: Pod> PartialEq for HugeVec<T> {
    fn eq(&self, other: &Self) -> bool {
        bytemuck::cast_slice::<T, u8>(self.as_slice()) == bytemuck::cast_slice(other.as_slice())
    }
}

impl<T: Pod> Eq for HugeVec<T> {}

impl<T: Pod> fmt::Debug for HugeVec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HugeVec({} of {})", self.len, self.capacity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_keeps_contents_and_zeroes_new_elements() {
        let mut v = HugeVec::<[u64; 3]>::new();
        assert!(v.as_slice().is_empty());
        v.resize_zeroed(10);
        v.as_mut_slice()[9] = [1, 2, 3];
        v.reserve(200_000);
        assert!(v.capacity() >= 200_010);
        assert_eq!(v.as_slice()[9], [1, 2, 3]);
        v.resize_zeroed(5);
        v.resize_zeroed(10);
        assert_eq!(v.as_slice()[9], [0; 3], "stale elements are cleared");
        let c = v.clone();
        assert_eq!(c, v);
        v.as_mut_slice()[0][0] = 1;
        assert_ne!(c, v);
    }
}
