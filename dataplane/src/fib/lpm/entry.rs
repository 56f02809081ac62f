//! The 32-bit trie entry: either a leaf (the longest prefix matching this
//! slot: its length and value) or a link to a child group of 256 entries.
//!
//! ```text
//! leaf:   0 | value (23 bits) | depth (8 bits)     value 0 = no route
//! child:  1 | group index (31 bits)
//! ```
//!
//! Keeping the matched length (depth) in every leaf is what makes updates
//! local: an insert of length L overwrites exactly the leaves whose depth is
//! at most L, a removal exactly those whose depth is L, without knowing
//! which other prefixes exist.

pub(super) const CHILD: u32 = 1 << 31;

/// The largest route value a leaf holds.
pub(super) const MAX_VALUE: u32 = (1 << 23) - 1;

/// The largest group index a child link holds.
pub(super) const MAX_GROUP: usize = (CHILD - 1) as usize;

/// No route: depth 0, value 0.
pub(super) const NO_ROUTE: u32 = 0;

#[inline]
pub(super) const fn leaf(depth: u8, value: u32) -> u32 {
    (value << 8) | depth as u32
}

#[inline]
pub(super) const fn child(group: usize) -> u32 {
    CHILD | group as u32
}

#[inline]
pub(super) const fn is_child(entry: u32) -> bool {
    entry & CHILD != 0
}

#[inline]
pub(super) const fn group(entry: u32) -> usize {
    (entry & !CHILD) as usize
}

#[inline]
pub(super) const fn depth(leaf: u32) -> u8 {
    leaf as u8
}

#[inline]
pub(super) const fn value(leaf: u32) -> u32 {
    leaf >> 8
}
