//! A poptrie node (Asai & Ohara, "Poptrie: A Compressed Trie with
//! Population Count for Fast and Scalable Software IP Routing Table
//! Lookup", SIGCOMM 2015, §3): 6 bits of the address pick one of 64
//! slots, and a popcount of a 64-bit vector up to the slot finds what the
//! slot holds in a compact array.
//!
//! The paper's node has two vectors (child slots, and where runs of equal
//! leaves start) pointing into two arrays elsewhere. Here a node is one
//! record in the pool — a 64-bit cell for its vector, then one 32-bit word
//! per run of slots:
//!
//! ```text
//!   cell c: vector | word 0 | word 1 | …     bit i of vector: slot i
//!                    ^ word 2c + 2             starts a new word
//! ```
//!
//! A word is a trie entry: a leaf, or a link (with the child flag) to a
//! child node's cell. Consecutive slots holding the same leaf share a
//! word; a child slot always has its own. So a lookup step is one
//! popcount and one read, `2c + 1 + rank`, right after the vector it just
//! read (the leaf a lookup ends on is in the node's own cache lines, not
//! in a separate array), and whatever it reads is the next step's entry.
//! A node costs 8 bytes plus its words (rounded up to whole cells),
//! against 24 bytes plus leaves in the paper.

use super::super::entry::{self, NO_ROUTE};

/// Address bits a node resolves.
pub(super) const STRIDE: u8 = 6;
/// Slots of a node.
pub(super) const SLOTS: usize = 1 << STRIDE;

/// The vector of the node at cell `c`: bit i set when slot i starts a
/// new word. A corrupt `c` reads as an empty vector, never a panic.
#[inline(always)]
pub(super) fn vector(cells: &[u64], c: usize) -> u64 {
    cells.get(c).copied().unwrap_or(0)
}

/// Index (in the word view of the pool) of the word slot `slot` of the
/// node at cell `c` reads: rank 1 (slot 0's word) is word `2c + 2`. The
/// shift keeps bits 0..=slot; the sum wraps instead of overflowing on a
/// corrupt address, and the read that follows is bounds-checked.
#[inline(always)]
pub(super) const fn word(vector: u64, c: usize, slot: usize) -> usize {
    let rank = (vector << (63 - (slot & 63))).count_ones() as usize;
    (c << 1).wrapping_add(rank + 1)
}

/// Cells of the record of a node with this vector.
#[inline]
pub(super) const fn record_cells(vector: u64) -> usize {
    1 + (vector.count_ones() as usize).div_ceil(2)
}

/// A node spelled out for an update: what every slot holds, a link
/// (`entry::child(c)`) or a leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Expanded {
    pub(super) slots: [u32; SLOTS],
}

impl Expanded {
    /// A node all of whose slots are `leaf`.
    pub(super) const fn uniform(leaf: u32) -> Self {
        Self {
            slots: [leaf; SLOTS],
        }
    }

    /// The node at cell `c` of a pool seen as `cells` and as `words`.
    pub(super) fn read(cells: &[u64], words: &[u32], c: usize) -> Self {
        let vector = vector(cells, c);
        let mut slots = [NO_ROUTE; SLOTS];
        // Word by word, without a popcount per slot.
        let mut at = c << 1;
        for (slot, e) in slots.iter_mut().enumerate() {
            at += (vector >> slot & 1) as usize;
            *e = words.get(at + 1).copied().unwrap_or(NO_ROUTE);
        }
        Self { slots }
    }

    /// The node's record: its vector and words.
    pub(super) fn encode(&self) -> Record {
        let mut vector = 0u64;
        let mut words = arrayvec::ArrayVec::new();
        for (slot, &e) in self.slots.iter().enumerate() {
            if words.last() != Some(&e) || entry::is_child(e) {
                vector |= 1 << slot;
                words.push(e);
            }
        }
        Record { vector, words }
    }
}

/// A node as stored.
pub(super) struct Record {
    pub(super) vector: u64,
    pub(super) words: arrayvec::ArrayVec<u32, SLOTS>,
}

impl Record {
    /// Cells the record takes.
    pub(super) fn cells(&self) -> usize {
        record_cells(self.vector)
    }

    /// Leaves among the words.
    pub(super) fn leaf_count(&self) -> usize {
        self.words.iter().filter(|&&e| !entry::is_child(e)).count()
    }

    /// Writes the record into `block` (exactly [`Self::cells`] cells); an
    /// odd last word is padded with no route.
    pub(super) fn write(&self, block: &mut [u64]) {
        let Some((vector, rest)) = block.split_first_mut() else {
            return;
        };
        *vector = self.vector;
        let words: &mut [u32] = bytemuck::cast_slice_mut(rest);
        let (used, pad) = words.split_at_mut(self.words.len().min(words.len()));
        used.copy_from_slice(&self.words[..used.len()]);
        pad.fill(NO_ROUTE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_share_a_word_and_children_get_their_own() {
        let mut node = Expanded::uniform(entry::leaf(8, 1));
        node.slots[10..20].fill(entry::leaf(20, 2));
        node.slots[15] = entry::child(1000);
        node.slots[40] = entry::child(2000);
        node.slots[41] = entry::child(3000);
        node.slots[42] = entry::leaf(24, 3);
        let record = node.encode();
        // 0..10, 10..15, child 15, 16..20, 20..40, child 40, child 41,
        // 42, 43..64.
        assert_eq!(record.words.len(), 9);
        assert_eq!(record.leaf_count(), 6);
        assert_eq!(record.cells(), 1 + 5);

        let mut cells = vec![0u64; 3 + record.cells()];
        record.write(&mut cells[3..]);
        let words: &[u32] = bytemuck::cast_slice(&cells);
        let v = vector(&cells, 3);
        assert_eq!(v, record.vector);
        assert_eq!(word(v, 3, 0), 8);
        assert_eq!(words[word(v, 3, 0)], entry::leaf(8, 1));
        assert_eq!(words[word(v, 3, 15)], entry::child(1000));
        assert_eq!(words[word(v, 3, 41)], entry::child(3000));
        assert_eq!(words[word(v, 3, 16)], entry::leaf(20, 2));
        assert_eq!(words[word(v, 3, 63)], entry::leaf(8, 1));
        assert_eq!(words[word(v, 3, 63) + 1], NO_ROUTE, "padding");
        assert_eq!(Expanded::read(&cells, words, 3), node);
    }

    #[test]
    fn corrupt_addresses_read_as_empty() {
        let cells = [1u64, 7];
        assert_eq!(vector(&cells, 2), 0);
        assert_eq!(vector(&cells, usize::MAX), 0);
        assert_eq!(vector(&cells, 0), 1);
        assert_eq!(word(vector(&cells, 0), 0, 63), 2);
        assert_eq!(word(u64::MAX, usize::MAX, 63), 63, "wraps, no panic");
    }
}
