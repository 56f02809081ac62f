//! The writer's authoritative table of routes: exactly which prefixes exist
//! and what each maps to. The LPM only holds the leaf-pushed result; this is
//! what answers "which route takes over when this one goes" (the covering
//! prefix a removal needs) and lists the routes.

use hashbrown::HashMap;

use super::lpm::LpmKey;

/// Prefix → value, one hash map per prefix length.
#[derive(Clone, Debug)]
pub struct PrefixSet<K: LpmKey> {
    /// Index = prefix length, 0..=K::BITS; keys are masked prefixes.
    by_len: Vec<HashMap<K, u32>>,
    /// Bit `len` set when `by_len[len]` is not empty, so covering-prefix
    /// searches skip the (usually many) empty lengths.
    non_empty: [u64; 3],
    len: usize,
}

impl<K: LpmKey> Default for PrefixSet<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: LpmKey> PrefixSet<K> {
    pub fn new() -> Self {
        Self {
            by_len: (0..=K::BITS).map(|_| HashMap::new()).collect(),
            non_empty: [0; 3],
            len: 0,
        }
    }

    /// Sets `prefix/len` to `value` (host bits ignored); returns the value
    /// it replaced.
    ///
    /// # Panics
    ///
    /// If `len > K::BITS` (programmer error: lengths are validated where
    /// routes enter).
    pub fn insert(&mut self, prefix: K, len: u8, value: u32) -> Option<u32> {
        assert!(len <= K::BITS, "prefix length {len} > {}", K::BITS);
        let old = self.by_len[usize::from(len)].insert(prefix.masked(len), value);
        if old.is_none() {
            self.len += 1;
            self.non_empty[usize::from(len / 64)] |= 1 << (len % 64);
        }
        old
    }

    /// Removes `prefix/len`; returns its value if it was present.
    pub fn remove(&mut self, prefix: K, len: u8) -> Option<u32> {
        let routes = self.by_len.get_mut(usize::from(len))?;
        let old = routes.remove(&prefix.masked(len))?;
        self.len -= 1;
        if routes.is_empty() {
            self.non_empty[usize::from(len / 64)] &= !(1 << (len % 64));
        }
        Some(old)
    }

    /// The value of exactly `prefix/len`.
    pub fn get(&self, prefix: K, len: u8) -> Option<u32> {
        self.by_len
            .get(usize::from(len))?
            .get(&prefix.masked(len))
            .copied()
    }

    /// The longest prefix strictly shorter than `len` that covers
    /// `prefix/len`, as (length, value).
    pub fn covering(&self, prefix: K, len: u8) -> Option<(u8, u32)> {
        let mut below = len.min(K::BITS.saturating_add(1));
        while let Some(shorter) = self.longest_non_empty_below(below) {
            if let Some(&value) = self.by_len[usize::from(shorter)].get(&prefix.masked(shorter)) {
                return Some((shorter, value));
            }
            below = shorter;
        }
        None
    }

    /// The longest prefix containing `address`, as (length, value): a
    /// simple, independent longest-prefix match (one hash probe per
    /// non-empty length) for checking the trie and for the control plane.
    pub fn longest_match(&self, address: K) -> Option<(u8, u32)> {
        if let Some(value) = self.get(address, K::BITS) {
            return Some((K::BITS, value));
        }
        self.covering(address, K::BITS)
    }

    /// The longest length below `below` with at least one prefix.
    fn longest_non_empty_below(&self, below: u8) -> Option<u8> {
        let mut word = usize::from(below / 64);
        let mut bits = match self.non_empty.get(word) {
            Some(&w) => w & ((1u64 << (below % 64)) - 1),
            None => {
                word = self.non_empty.len() - 1;
                self.non_empty[word]
            }
        };
        loop {
            if bits != 0 {
                return Some((word * 64 + 63 - bits.leading_zeros() as usize) as u8);
            }
            word = word.checked_sub(1)?;
            bits = self.non_empty[word];
        }
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every prefix as (prefix, length, value), shortest lengths first; the
    /// order within a length is unspecified.
    pub fn iter(&self) -> impl Iterator<Item = (K, u8, u32)> + '_ {
        self.by_len.iter().zip(0u8..).flat_map(|(routes, len)| {
            routes
                .iter()
                .map(move |(&prefix, &value)| (prefix, len, value))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covering_finds_the_longest_strictly_shorter_prefix() {
        let mut set = PrefixSet::<u32>::new();
        assert_eq!(set.covering(0x0A01_0203, 32), None);
        set.insert(0, 0, 1);
        set.insert(0x0A00_0000, 8, 2);
        set.insert(0x0A01_0000, 16, 3);
        set.insert(0x0A01_0200, 24, 4);
        assert_eq!(set.covering(0x0A01_0203, 32), Some((24, 4)));
        assert_eq!(set.covering(0x0A01_0200, 24), Some((16, 3)));
        assert_eq!(set.covering(0x0A02_0000, 16), Some((8, 2)));
        assert_eq!(set.covering(0x0B00_0000, 8), Some((0, 1)));
        assert_eq!(set.covering(0x0A00_0000, 8), Some((0, 1)));
        assert_eq!(set.covering(0, 0), None);
        assert_eq!(set.longest_match(0x0A01_0203), Some((24, 4)));
        set.insert(0x0A01_0203, 32, 5);
        assert_eq!(set.longest_match(0x0A01_0203), Some((32, 5)));
    }

    #[test]
    fn covering_crosses_bitmap_words_for_ipv6() {
        let mut set = PrefixSet::<u128>::new();
        let p: u128 = 0x2001_0db8 << 96;
        set.insert(p, 3, 1);
        set.insert(p, 65, 2);
        set.insert(p, 127, 3);
        assert_eq!(set.covering(p, 128), Some((127, 3)));
        assert_eq!(set.covering(p, 127), Some((65, 2)));
        assert_eq!(set.covering(p, 65), Some((3, 1)));
        assert_eq!(set.covering(p, 64), Some((3, 1)));
        assert_eq!(set.covering(p, 3), None);
        assert_eq!(set.covering(p | 1, 255), Some((127, 3)));
    }

    #[test]
    fn insert_remove_get_and_len() {
        let mut set = PrefixSet::<u32>::new();
        assert!(set.is_empty());
        assert_eq!(set.insert(0x0A01_0203, 24, 7), None);
        assert_eq!(set.insert(0x0A01_02FF, 24, 8), Some(7), "host bits ignored");
        assert_eq!(set.len(), 1);
        assert_eq!(set.get(0x0A01_0200, 24), Some(8));
        assert_eq!(set.get(0x0A01_0200, 25), None);
        assert_eq!(set.remove(0x0A01_0200, 25), None);
        assert_eq!(set.remove(0x0A01_0200, 99), None);
        assert_eq!(set.remove(0x0A01_0211, 24), Some(8));
        assert!(set.is_empty());
        assert_eq!(
            set.covering(0x0A01_0200, 32),
            None,
            "emptied length skipped"
        );
    }

    #[test]
    fn iter_lists_every_prefix_once() {
        let mut set = PrefixSet::<u32>::new();
        set.insert(0x0A00_0000, 8, 1);
        set.insert(0x0A01_0000, 16, 2);
        set.insert(0x0B01_0000, 16, 3);
        let mut all: Vec<_> = set.iter().collect();
        all.sort_unstable();
        assert_eq!(
            all,
            vec![
                (0x0A00_0000, 8, 1),
                (0x0A01_0000, 16, 2),
                (0x0B01_0000, 16, 3)
            ]
        );
    }
}
