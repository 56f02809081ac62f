//! Longest-prefix match for IPv4 and IPv6 (the "Basic Match" and "Longest
//! Match" rules of RFC 1812 §5.2.4.3): a multibit trie with leaf pushing,
//! DIR-24-8 generalised to any address width.
//!
//! Level 0 is a flat array indexed by the first `first_stride` bits of the
//! address (24 for classic DIR-24-8: 16M entries). Every deeper level is a
//! *group* of 256 entries resolving 8 more bits, allocated from one pool
//! (`groups`) with a free list. Each entry is one `u32` (see [`entry`]):
//! a leaf carrying the matched prefix length and the route value, or a link
//! to a child group. A lookup is one array read per level, stopping at the
//! first leaf: with a first stride of 24, one read for an IPv4 route up to
//! /24 and four for an IPv6 /48 (five with a first stride of 16).
//!
//! Updates cost what the prefix covers, never a scan of the table: the
//! depth kept in each leaf tells an insert which leaves it beats and a
//! removal which leaves were its own (see [`entry`]). A group remembers how
//! many prefixes live in or below it; when that drops to 0 it is uniform
//! again and folds back into one leaf of its parent, so memory comes back.
//! Which prefixes are stored at a level is kept in a bitmap per group (one
//! bit per prefix a group can hold: 2 + 4 + … + 256 = 510), so an insert
//! knows whether it replaces a route without asking the caller.
//!
//! Everything is deterministic (the free list is a stack), so two copies fed
//! the same operations stay identical, as left-right publication requires.
//!
//! [`Poptrie`] has the same contract in a compressed trie a tenth the size;
//! measured against this one it is slower for IPv4 and no faster for IPv6
//! on the target VMs, so the FIB keeps this trie (README.md "Why this LPM").

mod direct_table;
mod entry;
mod key;
mod poptrie;

pub use key::LpmKey;
pub use poptrie::{Poptrie, PoptrieKey};

use core::fmt;
use core::marker::PhantomData;

use arrayvec::ArrayVec;

use direct_table::DirectTable;

/// Bits resolved by each level below level 0.
const GROUP_STRIDE: u8 = 8;
const GROUP_SIZE: usize = 1 << GROUP_STRIDE;
/// Levels below level 0 at most: IPv6 with a first stride of 8.
const MAX_GROUP_DEPTH: usize = 15;

type Group = [u32; GROUP_SIZE];
/// One bit per prefix a group can hold, in heap order: bit `(1 << r) | p`
/// for a prefix `r` (1..=8) bits longer than the group's offset whose extra
/// bits are `p`.
type GroupPrefixes = [u64; 8];

/// Longest-prefix match table from prefixes of `K` to `u32` values
/// (1..=[`Self::MAX_VALUE`]; 0 means "no route").
///
/// The caller keeps the authoritative prefix list (a
/// [`PrefixSet`](super::prefix_set::PrefixSet)): a removal needs the
/// covering prefix, which only a full view of the routes knows.
#[derive(Clone, PartialEq, Eq)]
pub struct StrideLpm<K: LpmKey> {
    first_stride: u8,
    level0: DirectTable,
    /// Prefixes of length 0..=first_stride present, in heap order.
    level0_prefixes: Vec<u64>,
    groups: Vec<Group>,
    group_prefixes: Vec<GroupPrefixes>,
    /// Prefixes stored in each group or anywhere below it.
    group_routes: Vec<u32>,
    free_groups: Vec<u32>,
    key: PhantomData<K>,
}

/// Where an entry lives: level 0 or a group.
#[derive(Clone, Copy)]
enum Slot {
    Level0(usize),
    Group(usize, u8),
}

impl<K: LpmKey> StrideLpm<K> {
    /// The largest value a route can carry.
    pub const MAX_VALUE: u32 = entry::MAX_VALUE;

    /// An empty table whose first level resolves `first_stride` bits.
    ///
    /// Level 0 holds `2^first_stride` entries of 4 bytes (64 MiB for 24),
    /// allocated here.
    ///
    /// # Panics
    ///
    /// If `first_stride` is not 8, 16 or 24 (the remaining bits must split
    /// into whole 8-bit levels, and beyond 24 level 0 gets too large) —
    /// a programmer error, never input-driven.
    pub fn new(first_stride: u8) -> Self {
        assert!(
            matches!(first_stride, 8 | 16 | 24) && first_stride < K::BITS,
            "first_stride must be 8, 16 or 24, got {first_stride}"
        );
        let level0_len = 1usize << first_stride;
        Self {
            first_stride,
            // NO_ROUTE is 0: a zeroed table is an empty one.
            level0: DirectTable::zeroed(level0_len),
            // Heap order over lengths 0..=first_stride needs 2 * level0_len bits.
            level0_prefixes: vec![0; (2 * level0_len).div_ceil(64)],
            groups: Vec::new(),
            group_prefixes: Vec::new(),
            group_routes: Vec::new(),
            free_groups: Vec::new(),
            key: PhantomData,
        }
    }

    /// Bits resolved by level 0.
    pub fn first_stride(&self) -> u8 {
        self.first_stride
    }

    /// The value of the longest prefix matching `key`, 0 if none.
    #[inline]
    pub fn lookup(&self, key: K) -> u32 {
        entry::value(self.lookup_leaf(key))
    }

    /// The length and value of the longest prefix matching `key`.
    pub fn lookup_with_len(&self, key: K) -> Option<(u8, u32)> {
        let leaf = self.lookup_leaf(key);
        match entry::value(leaf) {
            0 => None,
            value => Some((entry::depth(leaf), value)),
        }
    }

    #[inline(always)]
    fn lookup_leaf(&self, key: K) -> u32 {
        self.lookup_leaf_in(&self.level0, key)
    }

    /// `lookup_leaf` with level 0 already borrowed: a batch takes the
    /// slice once instead of once per key.
    #[inline(always)]
    fn lookup_leaf_in(&self, level0: &[u32], key: K) -> u32 {
        let mut entry = level0[key.top(self.first_stride)];
        let mut offset = self.first_stride;
        while entry::is_child(entry) {
            entry = self.groups[entry::group(entry)][usize::from(key.byte_at(offset))];
            offset = offset.wrapping_add(GROUP_STRIDE);
        }
        entry
    }

    /// [`Self::lookup`] for every key, written to `out`.
    ///
    /// Where a lookup may chase more than two reads below level 0 (IPv6),
    /// walks the whole batch one trie level at a time: every read of a pass
    /// is independent of the others, so the CPU keeps many cache misses in
    /// flight instead of following one key's chain of dependent reads while
    /// its reorder window runs full (measured: +50–70 % on a 200k IPv6
    /// table). Shallow tries (IPv4) end most lookups at level 0 or 1, where
    /// the plain loop already overlaps keys and the passes only add work
    /// (measured: 10–30 % slower), so they use [`Self::lookup`] per key.
    /// `out` holds the entries between passes.
    ///
    /// # Panics
    ///
    /// If `out` is shorter than `keys` (programmer error).
    pub fn lookup_batch(&self, keys: &[K], out: &mut [u32]) {
        assert!(
            out.len() >= keys.len(),
            "lookup_batch: out shorter than keys"
        );
        let out = &mut out[..keys.len()];
        let level0: &[u32] = &self.level0;
        if K::BITS - self.first_stride <= 2 * GROUP_STRIDE {
            for (value, &key) in out.iter_mut().zip(keys) {
                *value = entry::value(self.lookup_leaf_in(level0, key));
            }
            return;
        }
        let mut pending = false;
        for (entry, key) in out.iter_mut().zip(keys) {
            *entry = level0[key.top(self.first_stride)];
            pending |= entry::is_child(*entry);
        }
        let mut offset = self.first_stride;
        while pending {
            pending = false;
            for (entry, key) in out.iter_mut().zip(keys) {
                if entry::is_child(*entry) {
                    *entry = self.groups[entry::group(*entry)][usize::from(key.byte_at(offset))];
                    pending |= entry::is_child(*entry);
                }
            }
            offset = offset.wrapping_add(GROUP_STRIDE);
        }
        for entry in out.iter_mut() {
            *entry = entry::value(*entry);
        }
    }

    /// Routes `prefix/len` to `value`, replacing the value of the same
    /// prefix if present. Host bits of `prefix` are ignored.
    ///
    /// # Panics
    ///
    /// If `len > K::BITS` or `value` is not in `1..=MAX_VALUE` (programmer
    /// error: the writer validates routes before they get here).
    pub fn insert(&mut self, prefix: K, len: u8, value: u32) {
        assert!(len <= K::BITS, "prefix length {len} > {}", K::BITS);
        assert!(
            (1..=Self::MAX_VALUE).contains(&value),
            "route value {value} outside 1..={}",
            Self::MAX_VALUE
        );
        let prefix = prefix.masked(len);
        let leaf = entry::leaf(len, value);
        if len <= self.first_stride {
            set_bit(
                &mut self.level0_prefixes,
                heap_index(prefix.bits(0, len), len),
            );
            let span = span(prefix.bits(0, self.first_stride), self.first_stride - len);
            for index in span {
                self.push_leaf(Slot::Level0(index), leaf);
            }
            return;
        }
        let is_new = !self.contains(prefix, len);
        let mut slot = Slot::Level0(prefix.top(self.first_stride));
        let mut offset = self.first_stride;
        let group = loop {
            let group = match self.get(slot) {
                e if entry::is_child(e) => entry::group(e),
                inherited => {
                    let group = self.alloc_group(inherited);
                    *self.get_mut(slot) = entry::child(group);
                    group
                }
            };
            if is_new {
                self.group_routes[group] += 1;
            }
            if len - offset <= GROUP_STRIDE {
                break group;
            }
            slot = Slot::Group(group, prefix.byte_at(offset));
            offset += GROUP_STRIDE;
        };
        let extra = len - offset;
        let bits = prefix.bits(offset, extra);
        set_bit(&mut self.group_prefixes[group], heap_index(bits, extra));
        for index in span(bits << (GROUP_STRIDE - extra), GROUP_STRIDE - extra) {
            self.push_leaf(Slot::Group(group, index as u8), leaf);
        }
    }

    /// Removes `prefix/len`; `covering` is the longest remaining prefix
    /// strictly shorter than `len` that covers it, as length and value
    /// (from [`PrefixSet::covering`](super::prefix_set::PrefixSet::covering)),
    /// which takes over the addresses the removed prefix held. Removing an
    /// absent prefix does nothing.
    ///
    /// A wrong `covering` makes lookups wrong, never panics.
    pub fn remove(&mut self, prefix: K, len: u8, covering: Option<(u8, u32)>) {
        if len > K::BITS {
            return;
        }
        let prefix = prefix.masked(len);
        let replacement = match covering {
            Some((covering_len, value))
                if covering_len < len && (1..=Self::MAX_VALUE).contains(&value) =>
            {
                entry::leaf(covering_len, value)
            }
            _ => entry::NO_ROUTE,
        };
        if len <= self.first_stride {
            let bit = heap_index(prefix.bits(0, len), len);
            if !test_bit(&self.level0_prefixes, bit) {
                return;
            }
            clear_bit(&mut self.level0_prefixes, bit);
            for index in span(prefix.bits(0, self.first_stride), self.first_stride - len) {
                self.pull_leaf(Slot::Level0(index), len, replacement);
            }
            return;
        }
        // The chain of groups down to the one holding the prefix, each with
        // the slot that links to it.
        let mut path = ArrayVec::<(Slot, usize), MAX_GROUP_DEPTH>::new();
        let mut slot = Slot::Level0(prefix.top(self.first_stride));
        let mut offset = self.first_stride;
        loop {
            let e = self.get(slot);
            if !entry::is_child(e) {
                return;
            }
            let group = entry::group(e);
            if path.try_push((slot, group)).is_err() {
                return;
            }
            if len - offset <= GROUP_STRIDE {
                break;
            }
            slot = Slot::Group(group, prefix.byte_at(offset));
            offset += GROUP_STRIDE;
        }
        let Some(&(_, group)) = path.last() else {
            return;
        };
        let extra = len - offset;
        let bits = prefix.bits(offset, extra);
        let bit = heap_index(bits, extra);
        if !test_bit(&self.group_prefixes[group], bit) {
            return;
        }
        clear_bit(&mut self.group_prefixes[group], bit);
        for index in span(bits << (GROUP_STRIDE - extra), GROUP_STRIDE - extra) {
            self.pull_leaf(Slot::Group(group, index as u8), len, replacement);
        }
        // Counts only fall to 0 from the bottom up, so collapsing in this
        // order folds every emptied group into its parent.
        for &(slot, group) in path.iter().rev() {
            self.group_routes[group] -= 1;
            if self.group_routes[group] == 0 {
                let uniform = self.groups[group][0];
                debug_assert!(
                    self.groups[group].iter().all(|&e| e == uniform),
                    "group without routes is not uniform (wrong covering passed to remove?)"
                );
                *self.get_mut(slot) = uniform;
                self.free_groups.push(group as u32);
            }
        }
    }

    /// Heap bytes held (allocated capacity, not just what is in use).
    pub fn memory_bytes(&self) -> usize {
        use core::mem::size_of;
        self.level0.memory_bytes()
            + self.level0_prefixes.capacity() * size_of::<u64>()
            + self.groups.capacity() * size_of::<Group>()
            + self.group_prefixes.capacity() * size_of::<GroupPrefixes>()
            + self.group_routes.capacity() * size_of::<u32>()
            + self.free_groups.capacity() * size_of::<u32>()
    }

    /// Child groups in use.
    pub fn group_count(&self) -> usize {
        self.groups.len() - self.free_groups.len()
    }

    /// Whether exactly `prefix/len` (already masked) is stored.
    fn contains(&self, prefix: K, len: u8) -> bool {
        if len <= self.first_stride {
            return test_bit(&self.level0_prefixes, heap_index(prefix.bits(0, len), len));
        }
        let mut e = self.level0[prefix.top(self.first_stride)];
        let mut offset = self.first_stride;
        loop {
            if !entry::is_child(e) {
                return false;
            }
            let group = entry::group(e);
            if len - offset <= GROUP_STRIDE {
                let extra = len - offset;
                let bit = heap_index(prefix.bits(offset, extra), extra);
                return test_bit(&self.group_prefixes[group], bit);
            }
            e = self.groups[group][usize::from(prefix.byte_at(offset))];
            offset += GROUP_STRIDE;
        }
    }

    /// Gives `leaf` every leaf at or below `slot` it beats: those whose
    /// prefix is no longer than its own.
    fn push_leaf(&mut self, slot: Slot, leaf: u32) {
        let e = self.get(slot);
        if entry::is_child(e) {
            let group = entry::group(e);
            for index in 0..=u8::MAX {
                self.push_leaf(Slot::Group(group, index), leaf);
            }
        } else if entry::depth(e) <= entry::depth(leaf) {
            *self.get_mut(slot) = leaf;
        }
    }

    /// Replaces every leaf at or below `slot` that came from a prefix of
    /// length `len` (the one being removed) with `replacement`.
    fn pull_leaf(&mut self, slot: Slot, len: u8, replacement: u32) {
        let e = self.get(slot);
        if entry::is_child(e) {
            let group = entry::group(e);
            for index in 0..=u8::MAX {
                self.pull_leaf(Slot::Group(group, index), len, replacement);
            }
        } else if entry::depth(e) == len && entry::value(e) != 0 {
            *self.get_mut(slot) = replacement;
        }
    }

    /// A group with every entry set to `fill` (the leaf it replaces).
    fn alloc_group(&mut self, fill: u32) -> usize {
        if let Some(group) = self.free_groups.pop() {
            let group = group as usize;
            self.groups[group] = [fill; GROUP_SIZE];
            return group;
        }
        let group = self.groups.len();
        assert!(group <= entry::MAX_GROUP, "LPM group pool exhausted");
        if self.groups.len() == self.groups.capacity() {
            // Grow by an eighth rather than doubling: the pool reaches
            // hundreds of MiB for a full IPv6 table, held twice (one per
            // left-right copy), and large reallocations are remaps, not copies.
            let more = (self.groups.len() / 8).max(64);
            self.groups.reserve_exact(more);
            self.group_prefixes.reserve_exact(more);
            self.group_routes.reserve_exact(more);
        }
        self.groups.push([fill; GROUP_SIZE]);
        self.group_prefixes.push([0; 8]);
        self.group_routes.push(0);
        group
    }

    #[inline]
    fn get(&self, slot: Slot) -> u32 {
        match slot {
            Slot::Level0(index) => self.level0[index],
            Slot::Group(group, index) => self.groups[group][usize::from(index)],
        }
    }

    #[inline]
    fn get_mut(&mut self, slot: Slot) -> &mut u32 {
        match slot {
            Slot::Level0(index) => &mut self.level0[index],
            Slot::Group(group, index) => &mut self.groups[group][usize::from(index)],
        }
    }
}

impl<K: LpmKey> fmt::Debug for StrideLpm<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StrideLpm")
            .field("bits", &K::BITS)
            .field("first_stride", &self.first_stride)
            .field("groups", &self.group_count())
            .field("memory_bytes", &self.memory_bytes())
            .finish()
    }
}

/// Bit of prefix `bits` of length `len` in a heap-ordered prefix bitmap.
#[inline]
fn heap_index(bits: u32, len: u8) -> usize {
    (1usize << len) | bits as usize
}

/// The entries a prefix covers at a level: starting at `first` (the
/// prefix's bits at this level, padded with zeros), `2^free_bits` of them.
#[inline]
fn span(first: u32, free_bits: u8) -> core::ops::Range<usize> {
    let first = first as usize;
    first..first + (1usize << free_bits)
}

#[inline]
fn test_bit(bitmap: &[u64], bit: usize) -> bool {
    bitmap[bit / 64] & (1 << (bit % 64)) != 0
}

#[inline]
fn set_bit(bitmap: &mut [u64], bit: usize) {
    bitmap[bit / 64] |= 1 << (bit % 64);
}

#[inline]
fn clear_bit(bitmap: &mut [u64], bit: usize) {
    bitmap[bit / 64] &= !(1 << (bit % 64));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: u8, b: u8, c: u8, d: u8) -> u32 {
        u32::from_be_bytes([a, b, c, d])
    }

    #[test]
    fn longest_match_wins_and_removal_restores_the_covering_route() {
        for stride in [8, 16, 24] {
            let mut lpm = StrideLpm::<u32>::new(stride);
            lpm.insert(0, 0, 1);
            lpm.insert(v4(10, 0, 0, 0), 8, 2);
            lpm.insert(v4(10, 1, 0, 0), 16, 3);
            lpm.insert(v4(10, 1, 2, 0), 24, 4);
            lpm.insert(v4(10, 1, 2, 128), 25, 5);
            lpm.insert(v4(10, 1, 2, 129), 32, 6);

            assert_eq!(lpm.lookup_with_len(v4(11, 0, 0, 0)), Some((0, 1)));
            assert_eq!(lpm.lookup_with_len(v4(10, 9, 0, 0)), Some((8, 2)));
            assert_eq!(lpm.lookup_with_len(v4(10, 1, 9, 0)), Some((16, 3)));
            assert_eq!(lpm.lookup_with_len(v4(10, 1, 2, 1)), Some((24, 4)));
            assert_eq!(lpm.lookup_with_len(v4(10, 1, 2, 200)), Some((25, 5)));
            assert_eq!(lpm.lookup_with_len(v4(10, 1, 2, 129)), Some((32, 6)));

            lpm.remove(v4(10, 1, 2, 128), 25, Some((24, 4)));
            assert_eq!(lpm.lookup_with_len(v4(10, 1, 2, 200)), Some((24, 4)));
            assert_eq!(lpm.lookup_with_len(v4(10, 1, 2, 129)), Some((32, 6)));

            lpm.remove(v4(10, 1, 0, 0), 16, Some((8, 2)));
            assert_eq!(lpm.lookup_with_len(v4(10, 1, 9, 0)), Some((8, 2)));
            assert_eq!(lpm.lookup_with_len(v4(10, 1, 2, 1)), Some((24, 4)));

            lpm.remove(0, 0, None);
            assert_eq!(lpm.lookup(v4(11, 0, 0, 0)), 0);
            assert_eq!(lpm.lookup_with_len(v4(11, 0, 0, 0)), None);
        }
    }

    #[test]
    fn insert_replaces_and_ignores_host_bits() {
        let mut lpm = StrideLpm::<u32>::new(16);
        lpm.insert(v4(10, 1, 2, 3), 24, 7);
        lpm.insert(v4(10, 1, 2, 99), 24, 8);
        assert_eq!(lpm.lookup_with_len(v4(10, 1, 2, 0)), Some((24, 8)));
        assert_eq!(lpm.group_count(), 1);
        // One removal empties it: the replacement did not count twice.
        lpm.remove(v4(10, 1, 2, 0), 24, None);
        assert_eq!(lpm.group_count(), 0);
        assert_eq!(lpm.lookup(v4(10, 1, 2, 0)), 0);
    }

    #[test]
    fn shorter_insert_does_not_override_longer_routes_below_it() {
        let mut lpm = StrideLpm::<u128>::new(16);
        let p48: u128 = 0x2001_0db8_0001 << 80;
        lpm.insert(p48, 48, 9);
        lpm.insert(p48, 32, 3);
        assert_eq!(lpm.lookup_with_len(p48 | 5), Some((48, 9)));
        assert_eq!(lpm.lookup_with_len(p48 ^ (1 << 90)), Some((32, 3)));
        lpm.remove(p48, 48, Some((32, 3)));
        assert_eq!(lpm.lookup_with_len(p48 | 5), Some((32, 3)));
        assert_eq!(
            lpm.group_count(),
            2,
            "only the /32's groups (bits 16..32) remain"
        );
        lpm.remove(p48, 32, None);
        assert_eq!(lpm.group_count(), 0);
    }

    #[test]
    fn removing_an_absent_prefix_changes_nothing() {
        let mut lpm = StrideLpm::<u32>::new(8);
        lpm.insert(v4(10, 0, 0, 0), 8, 1);
        lpm.insert(v4(10, 1, 0, 0), 24, 2);
        let before = lpm.clone();
        lpm.remove(v4(10, 1, 0, 0), 25, None);
        lpm.remove(v4(10, 2, 0, 0), 24, None);
        lpm.remove(v4(11, 0, 0, 0), 8, None);
        lpm.remove(v4(10, 0, 0, 0), 200, None);
        assert!(lpm == before);
    }

    #[test]
    fn full_length_routes_at_every_stride() {
        for stride in [8, 16, 24] {
            let mut lpm = StrideLpm::<u128>::new(stride);
            lpm.insert(u128::MAX, 128, 1);
            lpm.insert(1, 128, 2);
            assert_eq!(lpm.lookup_with_len(u128::MAX), Some((128, 1)));
            assert_eq!(lpm.lookup_with_len(1), Some((128, 2)));
            assert_eq!(lpm.lookup(0), 0);
            assert_eq!(lpm.lookup(u128::MAX - 1), 0);
            lpm.remove(u128::MAX, 128, None);
            lpm.remove(1, 128, None);
            assert_eq!(lpm.group_count(), 0);
        }
    }

    #[test]
    fn groups_are_reused_after_collapse() {
        let mut lpm = StrideLpm::<u32>::new(16);
        lpm.insert(v4(10, 1, 2, 3), 32, 1);
        assert_eq!(lpm.group_count(), 2);
        lpm.remove(v4(10, 1, 2, 3), 32, None);
        assert_eq!(lpm.group_count(), 0);
        let bytes = lpm.memory_bytes();
        lpm.insert(v4(20, 1, 2, 3), 32, 1);
        assert_eq!(lpm.group_count(), 2);
        assert_eq!(
            lpm.memory_bytes(),
            bytes,
            "freed groups reused, nothing grew"
        );
    }

    #[test]
    fn batch_matches_single_lookups() {
        let mut lpm = StrideLpm::<u32>::new(16);
        lpm.insert(v4(10, 0, 0, 0), 8, 1);
        lpm.insert(v4(10, 1, 2, 0), 24, 2);
        lpm.insert(v4(10, 1, 2, 3), 32, 3);
        let keys: Vec<u32> = (0..100u32).map(|i| v4(10, 1, 2, 0) + i - 50).collect();
        let mut out = vec![0; keys.len()];
        lpm.lookup_batch(&keys, &mut out);
        let single: Vec<u32> = keys.iter().map(|&k| lpm.lookup(k)).collect();
        assert_eq!(out, single);
        assert!(out.contains(&1) && out.contains(&2) && out.contains(&3));
    }

    #[test]
    #[should_panic(expected = "first_stride")]
    fn odd_first_stride_is_refused() {
        let _ = StrideLpm::<u32>::new(20);
    }
}
