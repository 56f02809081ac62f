//! The 5-tuple flow hash that picks an ECMP bucket.
//!
//! Requirements, in order: every packet of a flow hashes alike (so a flow
//! stays on one path and TCP sees no reordering, RFC 2992 §2.2); flows
//! spread evenly over the 32-bit output (the bucket table uses its top bits,
//! the failover probe its low bits, so every bit must be good); a few
//! nanoseconds per packet; and a per-router seed, so two routers in series
//! do not make identical choices (hash polarisation) and outsiders cannot
//! aim many flows at one path without knowing the seed.
//!
//! The mixer is the folded multiply of wyhash/foldhash: the 128-bit product
//! of two 64-bit lanes, high half xor low half. One multiply diffuses every
//! input bit over the middle of the product and the fold brings the middle
//! to both ends. A v4 tuple is two lanes plus one finishing multiply; a v6
//! tuple is five lanes in three multiplies plus the finish, the first two
//! independent so they overlap in the pipeline.
//!
//! With `symmetric`, a flow and its reply (addresses and ports swapped) hash
//! alike, so both directions take the same path through stateful middle
//! boxes behind the router. The endpoint (address, port) pairs are put in a
//! canonical order, which keeps the hash exact: no two different flows are
//! merged except a flow and its own reply.

/// Seedable 5-tuple hasher. Cheap to copy; build one per core at start-up.
#[derive(Clone, Copy, Debug)]
pub struct FlowHasher {
    keys: [u64; 6],
    symmetric: bool,
}

/// An odd constant with well-spread bits (from wyhash) for the finish.
const FINISH: u64 = 0xa076_1d64_78bd_642f;

impl FlowHasher {
    /// A hasher whose choices are a function of `seed`. Equal seeds give
    /// equal hashes on every core and across restarts.
    pub fn new(seed: u64, symmetric: bool) -> Self {
        // SplitMix64 stretches the seed into independent-looking lane keys;
        // nearby seeds (0, 1, 2…) still get unrelated keys.
        let mut state = seed;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        FlowHasher {
            keys: [next(), next(), next(), next(), next(), next()],
            symmetric,
        }
    }

    /// Whether a flow and its reply hash alike.
    pub fn is_symmetric(&self) -> bool {
        self.symmetric
    }

    /// Hashes an IPv4 5-tuple (addresses as host-order integers).
    #[inline]
    pub fn hash_v4(&self, src: u32, dst: u32, protocol: u8, src_port: u16, dst_port: u16) -> u32 {
        // Each endpoint packed as address:port in 48 bits, so ordering the
        // endpoints for symmetry is one min and one max (conditional moves:
        // which way a flow goes is a coin toss, a branch would mispredict).
        let source = (u64::from(src) << 16) | u64::from(src_port);
        let destination = (u64::from(dst) << 16) | u64::from(dst_port);
        let (first, second) = if self.symmetric {
            (source.min(destination), source.max(destination))
        } else {
            (source, destination)
        };
        let h = folded_multiply(
            first ^ self.keys[0],
            (second | (u64::from(protocol) << 48)) ^ self.keys[1],
        );
        self.finish(h)
    }

    /// Hashes an IPv6 5-tuple (addresses as host-order integers). The flow
    /// label is left out on purpose: RFC 6437 lets a source set it, but
    /// hosts that change it mid-flow exist, and a stable path matters more.
    #[inline]
    pub fn hash_v6(&self, src: u128, dst: u128, protocol: u8, src_port: u16, dst_port: u16) -> u32 {
        // Swap the endpoints by masks rather than by a branch, as in v4.
        let swap = self.symmetric & ((src, src_port) > (dst, dst_port));
        let address_swap = (src ^ dst) & 0u128.wrapping_sub(u128::from(swap));
        let port_swap = (src_port ^ dst_port) & 0u16.wrapping_sub(u16::from(swap));
        let (src, dst) = (src ^ address_swap, dst ^ address_swap);
        let (src_port, dst_port) = (src_port ^ port_swap, dst_port ^ port_swap);
        let [src_high, src_low] = split(src);
        let [dst_high, dst_low] = split(dst);
        let source = folded_multiply(src_high ^ self.keys[0], src_low ^ self.keys[1]);
        let destination = folded_multiply(dst_high ^ self.keys[2], dst_low ^ self.keys[3]);
        let h = folded_multiply(
            source ^ ports_lane(protocol, src_port, dst_port) ^ self.keys[4],
            destination ^ self.keys[5],
        );
        self.finish(h)
    }

    #[inline]
    fn finish(&self, h: u64) -> u32 {
        let h = folded_multiply(h ^ self.keys[2], FINISH);
        (h ^ (h >> 32)) as u32
    }
}

#[inline]
fn ports_lane(protocol: u8, src_port: u16, dst_port: u16) -> u64 {
    (u64::from(protocol) << 32) | (u64::from(src_port) << 16) | u64::from(dst_port)
}

#[inline]
fn split(address: u128) -> [u64; 2] {
    [(address >> 64) as u64, address as u64]
}

#[inline]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Flips one input bit at a time and checks every output bit flips with
    /// probability near ½ (the strict avalanche criterion). A mixer that
    /// leaves some input bit poorly mixed into some output bit (the usual
    /// failure of "xor the fields together") fails here.
    fn assert_avalanche(
        input_bits: usize,
        hash: impl Fn(&[u64; 5]) -> u32,
        random: impl Fn(&mut ChaCha8Rng) -> [u64; 5],
        flip: impl Fn(&mut [u64; 5], usize),
    ) {
        const SAMPLES: u32 = 1_000;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut flips = vec![[0u32; 32]; input_bits];
        for _ in 0..SAMPLES {
            let tuple = random(&mut rng);
            let base = hash(&tuple);
            for (bit, counts) in flips.iter_mut().enumerate() {
                let mut changed = tuple;
                flip(&mut changed, bit);
                let diff = base ^ hash(&changed);
                for (out, count) in counts.iter_mut().enumerate() {
                    *count += (diff >> out) & 1;
                }
            }
        }
        for (bit, counts) in flips.iter().enumerate() {
            for (out, &count) in counts.iter().enumerate() {
                let p = f64::from(count) / f64::from(SAMPLES);
                // σ ≈ 0.016 at 1000 samples: 0.4..0.6 is six sigmas.
                assert!(
                    (0.4..=0.6).contains(&p),
                    "input bit {bit} → output bit {out}: flip rate {p}"
                );
            }
        }
    }

    /// Lanes of the test tuple: src, dst (low 64 bits of each for v4),
    /// src high, dst high (v6 only), and protocol|sport|dport.
    fn flip_tuple_bit(tuple: &mut [u64; 5], bit: usize, address_bits: usize) {
        // Bit layout: src address, dst address, 8 protocol bits, 16+16 ports.
        let half = address_bits;
        if bit < 2 * half {
            let (lane_low, lane_high, b) = if bit < half {
                (0, 2, bit)
            } else {
                (1, 3, bit - half)
            };
            if b < 64 {
                tuple[lane_low] ^= 1 << b
            } else {
                tuple[lane_high] ^= 1 << (b - 64)
            }
        } else {
            tuple[4] ^= 1 << (bit - 2 * half);
        }
    }

    fn v4(h: &FlowHasher, t: &[u64; 5]) -> u32 {
        h.hash_v4(
            t[0] as u32,
            t[1] as u32,
            (t[4] >> 32) as u8,
            (t[4] >> 16) as u16,
            t[4] as u16,
        )
    }

    fn v6(h: &FlowHasher, t: &[u64; 5]) -> u32 {
        let src = (u128::from(t[2]) << 64) | u128::from(t[0]);
        let dst = (u128::from(t[3]) << 64) | u128::from(t[1]);
        h.hash_v6(
            src,
            dst,
            (t[4] >> 32) as u8,
            (t[4] >> 16) as u16,
            t[4] as u16,
        )
    }

    fn random_tuple(rng: &mut ChaCha8Rng, address_bits: u32) -> [u64; 5] {
        let mask = if address_bits >= 64 {
            u64::MAX
        } else {
            (1u64 << address_bits) - 1
        };
        [
            rng.random::<u64>() & mask,
            rng.random::<u64>() & mask,
            rng.random(),
            rng.random(),
            rng.random::<u64>() & 0xff_ffff_ffff,
        ]
    }

    #[test]
    fn v4_hash_avalanches() {
        let hasher = FlowHasher::new(0x5eed, false);
        assert_avalanche(
            32 + 32 + 40,
            |t| v4(&hasher, t),
            |rng| random_tuple(rng, 32),
            |t, bit| flip_tuple_bit(t, bit, 32),
        );
    }

    #[test]
    fn v6_hash_avalanches() {
        let hasher = FlowHasher::new(0x5eed, false);
        assert_avalanche(
            128 + 128 + 40,
            |t| v6(&hasher, t),
            |rng| random_tuple(rng, 64),
            |t, bit| flip_tuple_bit(t, bit, 128),
        );
    }

    #[test]
    fn asymmetric_hash_tells_a_flow_from_its_reply() {
        let hasher = FlowHasher::new(1, false);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut equal = 0;
        for _ in 0..10_000 {
            let (a, b, sp, dp) = (
                rng.random::<u32>(),
                rng.random::<u32>(),
                rng.random::<u16>(),
                rng.random::<u16>(),
            );
            equal += u32::from(hasher.hash_v4(a, b, 6, sp, dp) == hasher.hash_v4(b, a, 6, dp, sp));
            let (a6, b6) = (rng.random::<u128>(), rng.random::<u128>());
            equal +=
                u32::from(hasher.hash_v6(a6, b6, 17, sp, dp) == hasher.hash_v6(b6, a6, 17, dp, sp));
        }
        // A 32-bit hash collides by chance about once in 2^32 pairs.
        assert!(
            equal <= 1,
            "{equal} of 20000 replies hashed like their flow"
        );
    }

    #[test]
    fn symmetric_hash_keeps_flows_apart_that_share_endpoints() {
        // Canonical ordering must not merge (a:1 → b:2) with (a:2 → b:1).
        let hasher = FlowHasher::new(1, true);
        assert_ne!(
            hasher.hash_v4(10, 20, 6, 1, 2),
            hasher.hash_v4(10, 20, 6, 2, 1)
        );
        assert_ne!(
            hasher.hash_v6(10, 20, 6, 1, 2),
            hasher.hash_v6(10, 20, 6, 2, 1)
        );
        assert_ne!(
            hasher.hash_v4(10, 20, 6, 1, 2),
            hasher.hash_v4(10, 20, 17, 1, 2)
        );
        assert!(hasher.is_symmetric());
    }

    #[test]
    fn seeds_change_every_choice() {
        let a = FlowHasher::new(1, false);
        let b = FlowHasher::new(2, false);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut same_bucket = 0;
        for _ in 0..10_000 {
            let (s, d, sp, dp) = (
                rng.random::<u32>(),
                rng.random::<u32>(),
                rng.random::<u16>(),
                rng.random::<u16>(),
            );
            // Two members: the top bit decides. Independent seeds agree on
            // about half the flows; correlated ones on nearly all or none.
            same_bucket +=
                u32::from((a.hash_v4(s, d, 6, sp, dp) >> 31) == (b.hash_v4(s, d, 6, sp, dp) >> 31));
        }
        assert!(
            (4_700..=5_300).contains(&same_bucket),
            "{same_bucket} of 10000 flows on the same side under two seeds"
        );
    }

    proptest! {
        #[test]
        fn symmetric_hash_matches_the_reply(seed: u64, a: u32, b: u32, protocol: u8, sp: u16, dp: u16, a6: u128, b6: u128) {
            let hasher = FlowHasher::new(seed, true);
            prop_assert_eq!(hasher.hash_v4(a, b, protocol, sp, dp), hasher.hash_v4(b, a, protocol, dp, sp));
            prop_assert_eq!(hasher.hash_v6(a6, b6, protocol, sp, dp), hasher.hash_v6(b6, a6, protocol, dp, sp));
        }

        #[test]
        fn equal_seeds_hash_alike(seed: u64, a: u32, b: u32, protocol: u8, sp: u16, dp: u16) {
            prop_assert_eq!(FlowHasher::new(seed, false).hash_v4(a, b, protocol, sp, dp), FlowHasher::new(seed, false).hash_v4(a, b, protocol, sp, dp));
        }
    }
}
