//! Deterministic, Internet-like route tables and destination sets for
//! tests and benchmarks: the prefix-length mix of the public BGP table and
//! its clustering (many prefixes inside the same allocations), from a seed.

use hashbrown::HashSet;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::lpm::LpmKey;

/// IPv4 prefix lengths, in parts per million of the table (the public
/// table's shape: /24 dominates, then /22, /23, /21, /20).
const V4_LENGTHS: &[(u8, u32)] = &[
    (8, 10),
    (9, 20),
    (10, 50),
    (11, 120),
    (12, 400),
    (13, 1_200),
    (14, 2_700),
    (15, 5_500),
    (16, 12_000),
    (17, 7_000),
    (18, 11_000),
    (19, 30_000),
    (20, 40_000),
    (21, 50_000),
    (22, 120_000),
    (23, 100_000),
    (24, 600_000),
    (25, 3_000),
    (26, 3_000),
    (27, 2_500),
    (28, 2_500),
    (29, 2_500),
    (30, 2_500),
    (31, 1_000),
    (32, 3_000),
];

/// IPv6 prefix lengths in parts per million: /48 ≈ 55 %, /32–/44 ≈ 40 %,
/// the rest /29–/31 and /49–/64.
const V6_LENGTHS: &[(u8, u32)] = &[
    (29, 15_000),
    (30, 3_000),
    (31, 2_000),
    (32, 200_000),
    (33, 10_000),
    (34, 10_000),
    (35, 8_000),
    (36, 30_000),
    (37, 7_000),
    (38, 10_000),
    (39, 8_000),
    (40, 60_000),
    (41, 7_000),
    (42, 10_000),
    (43, 5_000),
    (44, 35_000),
    (45, 1_500),
    (46, 3_000),
    (47, 2_500),
    (48, 550_000),
    (49, 500),
    (50, 500),
    (51, 500),
    (52, 1_000),
    (53, 500),
    (54, 500),
    (55, 500),
    (56, 10_000),
    (57, 500),
    (58, 500),
    (59, 500),
    (60, 1_500),
    (61, 500),
    (62, 500),
    (63, 500),
    (64, 4_000),
];

/// The regional registries' IPv6 blocks (prefix, length) that nearly all
/// of the real table sits in.
const V6_RIR_BLOCKS: &[(u128, u8)] = &[
    (0x2001 << 112, 16),
    (0x2400 << 112, 12),
    (0x2600 << 112, 12),
    (0x2800 << 112, 12),
    (0x2a00 << 112, 12),
    (0x2c00 << 112, 12),
];

/// `count` unique IPv4 prefixes (masked) with the public table's length
/// mix, clustered in a few thousand allocations of /12–/16. Avoids 0/8,
/// 10/8, 127/8 and 224/3.
///
/// Meant for up to a few million prefixes; far more would exhaust the
/// space the length mix can draw from and never finish.
pub fn internet_v4(count: usize, seed: u64) -> Vec<(u32, u8)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let allocations: Vec<(u32, u8)> = (0..(count / 128).clamp(64, 16_384))
        .map(|_| {
            let len = rng.random_range(12..=16);
            (random_public_v4(&mut rng).masked(len), len)
        })
        .collect();
    unique_prefixes(count, &mut rng, |rng| {
        let len = pick_length(rng, V4_LENGTHS);
        let (base, base_len) = allocations[skewed_index(rng, allocations.len())];
        let address = if len >= base_len {
            base.with_host(base_len, rng.random())
        } else {
            random_public_v4(rng)
        };
        (address.masked(len), len)
    })
}

/// `count` unique IPv6 prefixes (masked) inside 2000::/3 with the public
/// table's length mix, inside the registries' blocks, longer prefixes
/// clustered under /29 and /32 allocations.
pub fn internet_v6(count: usize, seed: u64) -> Vec<(u128, u8)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let allocations: Vec<(u128, u8)> = (0..(count / 8).clamp(64, 65_536))
        .map(|_| {
            let len = if rng.random_ratio(1, 5) { 29 } else { 32 };
            (random_registry_v6(&mut rng).masked(len), len)
        })
        .collect();
    unique_prefixes(count, &mut rng, |rng| {
        let len = pick_length(rng, V6_LENGTHS);
        let (base, base_len) = allocations[skewed_index(rng, allocations.len())];
        // Allocation-sized prefixes are allocations of their own.
        let address = if len > base_len {
            base.with_host(base_len, rng.random())
        } else {
            random_registry_v6(rng)
        };
        (address.masked(len), len)
    })
}

/// `n` addresses, each a random host inside a random prefix of `prefixes`
/// (traffic that hits the table). Empty if `prefixes` is.
pub fn destinations_from_table<K: LpmKey>(prefixes: &[(K, u8)], n: usize, seed: u64) -> Vec<K> {
    if prefixes.is_empty() {
        return Vec::new();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let (prefix, len) = prefixes[rng.random_range(0..prefixes.len())];
            prefix.with_host(len, K::from_u128_truncating(rng.random()))
        })
        .collect()
}

/// `n` uniformly random IPv4 addresses.
pub fn random_v4(n: usize, seed: u64) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random()).collect()
}

/// `n` uniformly random addresses in 2000::/3 (global unicast).
pub fn random_v6_global(n: usize, seed: u64) -> Vec<u128> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| (0x2000u128 << 112).with_host(3, rng.random()))
        .collect()
}

/// Draws from `draw` until `count` distinct prefixes came out, keeping the
/// order of first appearance.
fn unique_prefixes<K: LpmKey>(
    count: usize,
    rng: &mut ChaCha8Rng,
    mut draw: impl FnMut(&mut ChaCha8Rng) -> (K, u8),
) -> Vec<(K, u8)> {
    let mut seen = HashSet::with_capacity(count);
    let mut prefixes = Vec::with_capacity(count);
    while prefixes.len() < count {
        let prefix = draw(rng);
        if seen.insert(prefix) {
            prefixes.push(prefix);
        }
    }
    prefixes
}

fn pick_length(rng: &mut ChaCha8Rng, weights: &[(u8, u32)]) -> u8 {
    let total: u32 = weights.iter().map(|&(_, w)| w).sum();
    let mut ticket = rng.random_range(0..total);
    for &(len, weight) in weights {
        if ticket < weight {
            return len;
        }
        ticket -= weight;
    }
    weights.last().map_or(0, |&(len, _)| len)
}

/// An index in `0..len` biased towards the front (density ∝ 1/√i), so a
/// few allocations hold many prefixes, as large networks do.
fn skewed_index(rng: &mut ChaCha8Rng, len: usize) -> usize {
    let u: f64 = rng.random();
    ((u * u * len as f64) as usize).min(len - 1)
}

/// A random address whose first octet is publicly routed unicast.
fn random_public_v4(rng: &mut ChaCha8Rng) -> u32 {
    loop {
        let address: u32 = rng.random();
        if is_public_first_octet((address >> 24) as u8) {
            return address;
        }
    }
}

/// A random address in one of the registries' IPv6 blocks.
fn random_registry_v6(rng: &mut ChaCha8Rng) -> u128 {
    let (block, block_len) = V6_RIR_BLOCKS[rng.random_range(0..V6_RIR_BLOCKS.len())];
    block.with_host(block_len, rng.random())
}

/// Not "this network" 0/8, private 10/8, loopback 127/8, or multicast and
/// reserved 224/3 (RFC 6890 §2.2.2).
fn is_public_first_octet(octet: u8) -> bool {
    !matches!(octet, 0 | 10 | 127 | 224..=255)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(prefixes: &[(impl Copy, u8)], lengths: core::ops::RangeInclusive<u8>) -> f64 {
        let n = prefixes.iter().filter(|(_, l)| lengths.contains(l)).count();
        n as f64 / prefixes.len() as f64
    }

    #[test]
    fn v4_table_has_the_public_length_mix_and_avoids_reserved_space() {
        let table = internet_v4(50_000, 7);
        assert_eq!(table.len(), 50_000);
        let unique: HashSet<_> = table.iter().collect();
        assert_eq!(unique.len(), table.len());
        for &(prefix, len) in &table {
            assert!((8..=32).contains(&len));
            assert_eq!(
                prefix,
                prefix.masked(len),
                "host bits set in {prefix:#x}/{len}"
            );
            assert!(
                is_public_first_octet((prefix >> 24) as u8),
                "{prefix:#x}/{len}"
            );
        }
        let close = |got: f64, want: f64| (got - want).abs() < 0.015;
        assert!(close(share(&table, 24..=24), 0.60));
        assert!(close(share(&table, 23..=23), 0.10));
        assert!(close(share(&table, 22..=22), 0.12));
        assert!(close(share(&table, 16..=18), 0.03));
        assert!(close(share(&table, 25..=32), 0.02));
        assert!(close(share(&table, 8..=15), 0.01));
    }

    #[test]
    fn v4_table_is_clustered() {
        let table = internet_v4(50_000, 7);
        let slash16s: HashSet<u32> = table
            .iter()
            .filter(|&&(_, len)| len == 24)
            .map(|&(p, _)| p >> 16)
            .collect();
        let slash24s = table.iter().filter(|&&(_, len)| len == 24).count();
        // Uniformly spread, 30k /24s would land in ~25k distinct /16s.
        assert!(slash16s.len() * 4 < slash24s, "{} /16s", slash16s.len());
    }

    #[test]
    fn v6_table_is_global_unicast_with_the_public_length_mix() {
        let table = internet_v6(20_000, 3);
        let unique: HashSet<_> = table.iter().collect();
        assert_eq!(unique.len(), 20_000);
        for &(prefix, len) in &table {
            assert_eq!(prefix >> 125, 1, "outside 2000::/3: {prefix:#x}/{len}");
            assert_eq!(prefix, prefix.masked(len));
            assert!((29..=64).contains(&len));
        }
        let close = |got: f64, want: f64| (got - want).abs() < 0.02;
        assert!(close(share(&table, 48..=48), 0.55));
        assert!(close(share(&table, 32..=44), 0.40));
    }

    #[test]
    fn same_seed_same_table_other_seed_other_table() {
        assert_eq!(internet_v4(1_000, 1), internet_v4(1_000, 1));
        assert_ne!(internet_v4(1_000, 1), internet_v4(1_000, 2));
        assert_eq!(internet_v6(1_000, 1), internet_v6(1_000, 1));
        assert_ne!(internet_v6(1_000, 1), internet_v6(1_000, 2));
        assert_eq!(random_v4(10, 5), random_v4(10, 5));
        assert_ne!(random_v4(10, 5), random_v4(10, 6));
    }

    #[test]
    fn destinations_fall_inside_their_table() {
        let table = internet_v6(1_000, 9);
        let prefixes: HashSet<_> = table.iter().copied().collect();
        for address in destinations_from_table(&table, 1_000, 4) {
            assert!(
                (0..=128).any(|len| prefixes.contains(&(address.masked(len), len))),
                "{address:#x} outside the table"
            );
        }
        for address in random_v6_global(1_000, 4) {
            assert_eq!(address >> 125, 1);
        }
        assert!(destinations_from_table::<u32>(&[], 10, 1).is_empty());
    }
}
