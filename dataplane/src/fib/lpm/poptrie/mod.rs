//! Longest-prefix match in a table small enough to stay in cache: poptrie
//! (Asai & Ohara, SIGCOMM 2015), for the "Basic Match" and "Longest Match"
//! rules of RFC 1812 §5.2.4.3.
//!
//! The first `direct_bits` bits of an address index a flat array ("direct
//! pointing", §3.4), whose entry is either a leaf or a link to a node.
//! Below it every node resolves 6 bits through a 64-bit vector and a
//! popcount (see [`node`]): a node costs 8 bytes and a word per run of
//! equal slots instead of 64 entries, so a 1M-route IPv4 table takes a
//! tenth of a multibit trie's memory.
//!
//! Leaves are the same 32-bit entries as [`super::StrideLpm`]'s (matched
//! length and value, see [`super::entry`]): leaf pushing with the length
//! kept in every leaf keeps updates local — an insert of length L rewrites
//! the leaves of depth at most L in its span, a removal those of depth L.
//! The node holding the prefix and the nodes under its span are
//! re-encoded (each a record of at most 33 cells), nothing else. Where the
//! paper rebuilds a subtree and swaps a pointer, this updates the copy in
//! place: left-right publication guarantees no reader is in the copy being
//! written.
//!
//! A node exists only while a prefix longer than its offset lives at or
//! below it, which it can tell from its leaves alone: once it has no
//! children and one leaf no longer than its offset, it folds back into its
//! parent.
//!
//! Every allocation goes through a deterministic pool (see
//! [`record_pool`]), so two copies fed the same operations stay identical.

mod huge_vec;
mod key_chunks;
mod node;
mod record_pool;

use core::fmt;
use core::marker::PhantomData;
use core::ops::Range;

use arrayvec::ArrayVec;

use super::entry::{self, NO_ROUTE};
pub use key_chunks::PoptrieKey;
use node::{Expanded, SLOTS, STRIDE, record_cells, vector, word};
use record_pool::RecordPool;

/// Keys looked up together by [`Poptrie::lookup_batch`]: a receive burst.
const BATCH: usize = 64;

/// Nodes on the way from the direct array to the deepest prefix: IPv6
/// with 1 direct bit, 127 bits of 6.
const MAX_DEPTH: usize = 22;

/// Longest-prefix match table from prefixes of `K` to `u32` values
/// (1..=[`Self::MAX_VALUE`]; 0 means "no route"), with the same contract
/// as [`super::StrideLpm`]: the caller keeps the authoritative prefix list
/// (a [`PrefixSet`](crate::fib::prefix_set::PrefixSet)) and passes the
/// covering prefix on removal.
#[derive(Clone, PartialEq, Eq)]
pub struct Poptrie<K: PoptrieKey> {
    direct_bits: u8,
    /// The direct array (the first `2^direct_bits` words: a leaf, or a
    /// link to a node), then every node's record. One pool, so the direct
    /// array sits on huge pages too and a lookup indexes a single slice.
    records: RecordPool,
    nodes: usize,
    leaves: usize,
    key: PhantomData<K>,
}

impl<K: PoptrieKey> Poptrie<K> {
    /// The largest value a route can carry.
    pub const MAX_VALUE: u32 = entry::MAX_VALUE;

    /// An empty table whose direct array resolves the first `direct_bits`
    /// bits (`2^direct_bits` entries of 4 bytes, allocated here). The paper
    /// measures 16 and 18 as the sweet spots for IPv4.
    ///
    /// # Panics
    ///
    /// If `direct_bits` is not in `1..=24` and below the address width —
    /// a programmer error, never input-driven.
    pub fn new(direct_bits: u8) -> Self {
        assert!(
            (1..=24).contains(&direct_bits) && direct_bits < K::BITS,
            "direct_bits must be in 1..=24, got {direct_bits}"
        );
        Self {
            direct_bits,
            // NO_ROUTE is 0: zeroed words are an empty direct array.
            records: RecordPool::new(1 << (direct_bits - 1)),
            nodes: 0,
            leaves: 0,
            key: PhantomData,
        }
    }

    /// Bits resolved by the direct array.
    pub fn direct_bits(&self) -> u8 {
        self.direct_bits
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
        let mut e = self.direct_entry(key);
        let (cells, words) = (self.records.cells(), self.records.words());
        let mut offset = self.direct_bits;
        while entry::is_child(e) {
            if offset >= K::BITS {
                return NO_ROUTE;
            }
            e = step(cells, words, e, key, offset);
            offset += STRIDE;
        }
        e
    }

    #[inline(always)]
    fn direct_entry(&self, key: K) -> u32 {
        // `top` is below 2^direct_bits, within the direct array.
        self.records
            .words()
            .get(key.top(self.direct_bits))
            .copied()
            .unwrap_or(NO_ROUTE)
    }

    /// [`Self::lookup`] for every key, written to `out`.
    ///
    /// Walks up to 64 keys one trie level at a time, over a list of the
    /// keys still inside the trie: every read of a pass is independent of
    /// the others, so the CPU keeps many cache misses in flight, and the
    /// pass has no branch that depends on the data (how deep a key goes
    /// varies from key to key, and a mispredicted branch would throw the
    /// overlapped reads away).
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
        for (keys, out) in keys.chunks(BATCH).zip(out.chunks_mut(BATCH)) {
            self.lookup_burst(keys, out);
        }
    }

    #[inline(always)]
    fn lookup_burst(&self, keys: &[K], out: &mut [u32]) {
        let (cells, words) = (self.records.cells(), self.records.words());
        let n = keys.len().min(BATCH);
        // Per key, by index (masked, so always in bounds): the key and its
        // entry so far.
        let mut batch = [K::from_u128_truncating(0); BATCH];
        let mut entries = [NO_ROUTE; BATCH];
        // The keys still inside the trie, listed anew each pass into the
        // other list: compacting in place would make each pass's reads of
        // the list wait on its writes, which wait on the trie reads.
        let (mut inside, mut next) = (&mut [0u8; BATCH], &mut [0u8; BATCH]);
        // Per listed key of a pass: its vector shifted to the slots up to
        // its own, then that popcount.
        let mut ranks = [0u64; BATCH];
        let mut pending = 0;
        for (i, &key) in keys[..n].iter().enumerate() {
            let e = words
                .get(key.top(self.direct_bits))
                .copied()
                .unwrap_or(NO_ROUTE);
            batch[i] = key;
            entries[i] = e;
            inside[pending % BATCH] = i as u8;
            pending += usize::from(entry::is_child(e));
        }
        let mut offset = self.direct_bits;
        while pending > 0 && offset < K::BITS {
            let listed = pending.min(BATCH);
            // Three sweeps rather than one: each is a short loop whose
            // reads are independent, and the middle one (the popcounts)
            // vectorises where the CPU has no popcount instruction.
            for j in 0..listed {
                let i = usize::from(inside[j]) % BATCH;
                let c = entry::group(entries[i]);
                ranks[j] = vector(cells, c) << (63 - batch[i].chunk(offset));
            }
            for rank in &mut ranks[..listed] {
                *rank = u64::from(rank.count_ones());
            }
            let mut still = 0;
            for j in 0..listed {
                let i = usize::from(inside[j]) % BATCH;
                let at = (entry::group(entries[i]) << 1) + 1 + ranks[j] as usize;
                let e = words.get(at).copied().unwrap_or(NO_ROUTE);
                entries[i] = e;
                next[still % BATCH] = i as u8;
                still += usize::from(entry::is_child(e));
            }
            core::mem::swap(&mut inside, &mut next);
            pending = still;
            offset += STRIDE;
        }
        for (value, &e) in out.iter_mut().zip(&entries) {
            // A link left over (only from a corrupt trie) is no route.
            *value = if entry::is_child(e) {
                NO_ROUTE
            } else {
                entry::value(e)
            };
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
        let s = self.direct_bits;
        if len <= s {
            for index in span(prefix.bits(0, s), s - len) {
                self.push(index, leaf);
            }
            return;
        }
        let mut link = prefix.top(s);
        if !entry::is_child(self.link_entry(link)) {
            let root = self.new_node(self.link_entry(link));
            self.set_link(link, entry::child(root));
        }
        let mut offset = s;
        while len - offset > STRIDE {
            let slot = prefix.bits(offset, STRIDE) as usize;
            let mut r = self.target(link);
            let mut slot_word = word(self.vector(r), r, slot);
            if !entry::is_child(self.link_entry(slot_word)) {
                let mut node = self.read_node(r);
                let child = self.new_node(node.slots[slot]);
                node.slots[slot] = entry::child(child);
                r = self.store(link, r, &node);
                slot_word = word(self.vector(r), r, slot);
            }
            link = slot_word;
            offset += STRIDE;
        }
        let extra = len - offset;
        let first = prefix.bits(offset, extra) << (STRIDE - extra);
        self.rewrite(link, span(first, STRIDE - extra), &|e| pushed(e, leaf));
    }

    /// Removes `prefix/len`; `covering` is the longest remaining prefix
    /// strictly shorter than `len` that covers it, as length and value
    /// (from [`PrefixSet::covering`](crate::fib::prefix_set::PrefixSet::covering)),
    /// which takes over the addresses the removed prefix held. Removing an
    /// absent prefix does nothing: the leaves of length `len` in its span
    /// can only be its own.
    ///
    /// A wrong `covering` makes lookups wrong (and may keep nodes that
    /// could fold), never panics.
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
            _ => NO_ROUTE,
        };
        let s = self.direct_bits;
        if len <= s {
            for index in span(prefix.bits(0, s), s - len) {
                self.pull(index, len, replacement);
            }
            return;
        }
        // The links down to the node holding the prefix, each with the
        // offset its node starts at. Nothing moves until the folding below.
        let mut path = ArrayVec::<(usize, u8), MAX_DEPTH>::new();
        let mut link = prefix.top(s);
        let mut offset = s;
        loop {
            if !entry::is_child(self.link_entry(link)) || path.try_push((link, offset)).is_err() {
                return;
            }
            if len - offset <= STRIDE {
                break;
            }
            let r = self.target(link);
            let slot = prefix.bits(offset, STRIDE) as usize;
            link = word(self.vector(r), r, slot);
            offset += STRIDE;
        }
        let extra = len - offset;
        let first = prefix.bits(offset, extra) << (STRIDE - extra);
        self.rewrite(link, span(first, STRIDE - extra), &|e| {
            pulled(e, len, replacement)
        });
        // Only the nodes on this path can have lost their last prefix, and
        // a parent keeps its own once a child stays: fold bottom-up. A fold
        // rewrites the parent, which updates the parent's own link (in the
        // grandparent, not yet rewritten), so each link is still valid
        // when its turn comes.
        for level in (0..path.len()).rev() {
            let (link, offset) = path[level];
            let r = self.target(link);
            let Some(leaf) = self.foldable(r, offset) else {
                break;
            };
            self.free_node(r);
            match level.checked_sub(1).map(|up| path[up]) {
                None => self.set_link(link, leaf),
                Some((parent_link, parent_offset)) => {
                    let parent = self.target(parent_link);
                    let mut node = self.read_node(parent);
                    node.slots[prefix.bits(parent_offset, STRIDE) as usize] = leaf;
                    self.store(parent_link, parent, &node);
                }
            }
        }
    }

    /// Bytes held (allocated capacity, not just what is in use).
    pub fn memory_bytes(&self) -> usize {
        self.records.memory_bytes()
    }

    /// Nodes in use.
    pub fn node_count(&self) -> usize {
        self.nodes
    }

    /// Leaves stored (one per run of equal slots in a node).
    pub fn leaf_count(&self) -> usize {
        self.leaves
    }

    /// Gives `leaf` every leaf at or below `link` it beats: those whose
    /// prefix is no longer than its own.
    fn push(&mut self, link: usize, leaf: u32) {
        self.rewrite(link, 0..SLOTS, &|e| pushed(e, leaf));
    }

    /// Replaces every leaf at or below `link` that came from a prefix of
    /// length `len` (the one being removed) with `replacement`.
    fn pull(&mut self, link: usize, len: u8, replacement: u32) {
        self.rewrite(link, 0..SLOTS, &|e| pulled(e, len, replacement));
    }

    /// Applies `change` to every leaf at or below `link` — to the leaf it
    /// holds, or to the leaves in `slots` of the node it leads to and to
    /// every leaf under the children in those slots.
    fn rewrite(&mut self, link: usize, slots: Range<usize>, change: &impl Fn(u32) -> u32) {
        let e = self.link_entry(link);
        if !entry::is_child(e) {
            let new = change(e);
            if new != e {
                self.set_link(link, new);
            }
            return;
        }
        let r = entry::group(e);
        let mut node = self.read_node(r);
        // Children first: they may move, which rewrites their links in
        // this node's record but never moves this one.
        let v = self.vector(r);
        let mut children = false;
        for slot in slots.clone() {
            if entry::is_child(node.slots[slot]) {
                self.rewrite(word(v, r, slot), 0..SLOTS, change);
                children = true;
            }
        }
        if children {
            node = self.read_node(r);
        }
        let mut changed = false;
        for slot in &mut node.slots[slots] {
            if !entry::is_child(*slot) {
                let new = change(*slot);
                changed |= new != *slot;
                *slot = new;
            }
        }
        if changed {
            self.store(link, r, &node);
        }
    }

    /// The leaf a node at `r` starting at `offset` folds into, if it holds
    /// no prefix any more: one word, a leaf inherited from above.
    fn foldable(&self, r: usize, offset: u8) -> Option<u32> {
        if self.vector(r) != 1 {
            return None;
        }
        let leaf = self.link_entry(word(1, r, 0));
        (!entry::is_child(leaf) && entry::depth(leaf) <= offset).then_some(leaf)
    }

    /// The vector of the node at cell `c`.
    fn vector(&self, c: usize) -> u64 {
        vector(self.records.cells(), c)
    }

    fn read_node(&self, c: usize) -> Expanded {
        Expanded::read(self.records.cells(), self.records.words(), c)
    }

    /// What the word `link` (a direct entry or a word of a node) holds:
    /// a leaf, or a link to a node.
    fn link_entry(&self, link: usize) -> u32 {
        self.records.words()[link]
    }

    /// The node `link` leads to (it must lead to one).
    fn target(&self, link: usize) -> usize {
        entry::group(self.link_entry(link))
    }

    fn set_link(&mut self, link: usize, e: u32) {
        self.records.words_mut()[link] = e;
    }

    /// Stores `node` as the node at `r` that `link` leads to: in place
    /// when it shrinks or the cells after it are free, else in a new block
    /// (the old one freed first, so it can be reused), with `link` updated.
    /// Returns the node's address.
    fn store(&mut self, link: usize, r: usize, node: &Expanded) -> usize {
        let old_vector = self.vector(r);
        let old_len = record_cells(old_vector);
        let old_words = old_vector.count_ones() as usize;
        let old_leaves = self.records.words()[2 * r + 2..2 * r + 2 + old_words]
            .iter()
            .filter(|&&e| !entry::is_child(e))
            .count();
        let record = node.encode();
        self.leaves = self.leaves + record.leaf_count() - old_leaves;
        let new_r = self.records.resize(r, old_len, record.cells());
        record.write(&mut self.records.cells_mut()[new_r..new_r + record.cells()]);
        if new_r != r {
            self.set_link(link, entry::child(new_r));
        }
        new_r
    }

    /// A node all of whose slots are `leaf`; returns its address.
    fn new_node(&mut self, leaf: u32) -> usize {
        let record = Expanded::uniform(leaf).encode();
        let r = self.records.alloc(record.cells());
        record.write(&mut self.records.cells_mut()[r..r + record.cells()]);
        self.nodes += 1;
        self.leaves += 1;
        r
    }

    /// Frees the record of a node that folds (one leaf word).
    fn free_node(&mut self, r: usize) {
        self.records.free(r, record_cells(1));
        self.nodes -= 1;
        self.leaves -= 1;
    }
}

/// One level of a lookup: the word `key` selects in the node `e` links to
/// at `offset` — the link to a child, or a leaf. A corrupt address reads
/// as "no route", never a panic.
#[inline(always)]
fn step<K: PoptrieKey>(cells: &[u64], words: &[u32], e: u32, key: K, offset: u8) -> u32 {
    let c = entry::group(e);
    words
        .get(word(vector(cells, c), c, key.chunk(offset)))
        .copied()
        .unwrap_or(NO_ROUTE)
}

/// A leaf after `leaf` is inserted over it: `leaf` if its prefix is no
/// shorter.
#[inline]
fn pushed(e: u32, leaf: u32) -> u32 {
    if entry::depth(e) <= entry::depth(leaf) {
        leaf
    } else {
        e
    }
}

/// A leaf after the prefix of length `len` is removed: `replacement` if it
/// was that prefix's.
#[inline]
fn pulled(e: u32, len: u8, replacement: u32) -> u32 {
    if entry::depth(e) == len && entry::value(e) != 0 {
        replacement
    } else {
        e
    }
}

/// The entries a prefix covers at a level: starting at `first` (the
/// prefix's bits at this level, padded with zeros), `2^free_bits` of them.
#[inline]
fn span(first: u32, free_bits: u8) -> Range<usize> {
    let first = first as usize;
    first..first + (1usize << free_bits)
}

impl<K: PoptrieKey> fmt::Debug for Poptrie<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Poptrie")
            .field("bits", &K::BITS)
            .field("direct_bits", &self.direct_bits)
            .field("nodes", &self.nodes)
            .field("leaves", &self.leaves)
            .field("memory_bytes", &self.memory_bytes())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: u8, b: u8, c: u8, d: u8) -> u32 {
        u32::from_be_bytes([a, b, c, d])
    }

    #[test]
    fn longest_match_wins_and_removal_restores_the_covering_route() {
        for bits in [8, 16, 18, 24] {
            let mut lpm = Poptrie::<u32>::new(bits);
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
    fn a_node_folds_when_its_last_prefix_goes() {
        let mut lpm = Poptrie::<u32>::new(16);
        lpm.insert(v4(10, 1, 0, 0), 16, 3);
        lpm.insert(v4(10, 1, 2, 3), 32, 1);
        // 16..22, 22..28, 28..34: three nodes, each in its own block.
        assert_eq!(lpm.node_count(), 3);
        lpm.insert(v4(10, 1, 2, 99), 32, 2);
        assert_eq!(lpm.lookup_with_len(v4(10, 1, 2, 99)), Some((32, 2)));
        lpm.remove(v4(10, 1, 2, 3), 32, Some((16, 3)));
        assert_eq!(lpm.lookup_with_len(v4(10, 1, 2, 3)), Some((16, 3)));
        lpm.remove(v4(10, 1, 2, 99), 32, Some((16, 3)));
        assert_eq!(lpm.node_count(), 0);
        assert_eq!(lpm.leaf_count(), 0);
        assert_eq!(lpm.lookup_with_len(v4(10, 1, 2, 99)), Some((16, 3)));
    }

    #[test]
    fn sibling_prefixes_with_equal_leaves_keep_their_node() {
        // Two /19s with the same value fill a node at 18 with one run of
        // depth 19: not foldable, the leaves are its own.
        let mut lpm = Poptrie::<u32>::new(18);
        lpm.insert(v4(10, 0, 0, 0), 19, 5);
        lpm.insert(v4(10, 0, 32, 0), 19, 5);
        lpm.insert(v4(10, 0, 0, 0), 30, 6);
        lpm.remove(v4(10, 0, 0, 0), 30, Some((19, 5)));
        assert_eq!(lpm.lookup_with_len(v4(10, 0, 40, 1)), Some((19, 5)));
        assert_eq!(lpm.lookup_with_len(v4(10, 0, 0, 1)), Some((19, 5)));
        assert_eq!(lpm.node_count(), 1);
        assert_eq!(lpm.leaf_count(), 1, "one run for all 64 slots");
        lpm.remove(v4(10, 0, 0, 0), 19, None);
        lpm.remove(v4(10, 0, 32, 0), 19, None);
        assert_eq!((lpm.node_count(), lpm.leaf_count()), (0, 0));
    }

    #[test]
    fn full_length_routes() {
        for bits in [1, 16, 24] {
            let mut lpm = Poptrie::<u128>::new(bits);
            lpm.insert(u128::MAX, 128, 1);
            lpm.insert(1, 128, 2);
            assert_eq!(lpm.lookup_with_len(u128::MAX), Some((128, 1)));
            assert_eq!(lpm.lookup_with_len(1), Some((128, 2)));
            assert_eq!(lpm.lookup(0), 0);
            assert_eq!(lpm.lookup(u128::MAX - 1), 0);
            lpm.remove(u128::MAX, 128, None);
            lpm.remove(1, 128, None);
            assert_eq!(lpm.node_count(), 0);
        }
    }

    #[test]
    fn batch_matches_single_lookups() {
        let mut lpm = Poptrie::<u32>::new(16);
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
    #[should_panic(expected = "direct_bits")]
    fn direct_array_wider_than_24_bits_is_refused() {
        let _ = Poptrie::<u32>::new(25);
    }
}
