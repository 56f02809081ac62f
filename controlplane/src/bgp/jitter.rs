//! Timer jitter (RFC 4271 §10) from a seeded generator.
//!
//! RFC 4271 §10 asks for each ConnectRetryTimer and KeepaliveTimer value
//! to be scaled by a fresh random factor in 0.75..1.0 so that a speaker's
//! messages do not come in waves. The protocol core may not read an OS
//! source of randomness (replays must take the same decisions), so the
//! factor comes from SplitMix64 seeded from the configuration.

/// A deterministic stream of jitter factors.
#[derive(Debug, Clone)]
pub struct Jitter {
    state: u64,
}

impl Jitter {
    /// One stream per `(seed, stream)`: each peer gets its own, so adding a
    /// neighbor does not shift the jitter of the others.
    pub fn new(seed: u64, stream: u64) -> Jitter {
        let mut jitter = Jitter {
            state: seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F),
        };
        jitter.next_u64();
        jitter
    }

    /// SplitMix64 (Steele, Lea, Flood 2014): tiny, and every seed is fine.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `base` scaled by a factor uniform in (0.75, 1.0].
    pub fn apply(&mut self, base: u64) -> u64 {
        let fraction = u128::from(self.next_u64() >> 32); // 0 .. 2^32
        let cut = u128::from(base) * fraction / (4u128 << 32);
        // cut < base / 4, so this cannot underflow.
        base - cut as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_stay_within_three_quarters_and_one() {
        let mut jitter = Jitter::new(7, 1);
        let base = 30_000_000_000u64;
        let mut seen_low = false;
        let mut seen_high = false;
        for _ in 0..10_000 {
            let value = jitter.apply(base);
            assert!(value > base / 4 * 3 && value <= base, "{value}");
            seen_low |= value < base / 100 * 80;
            seen_high |= value > base / 100 * 95;
        }
        assert!(
            seen_low && seen_high,
            "factors do not spread over the range"
        );
    }

    #[test]
    fn same_seed_same_stream() {
        let mut a = Jitter::new(42, 3);
        let mut b = Jitter::new(42, 3);
        let mut c = Jitter::new(42, 4);
        let xs: Vec<u64> = (0..8).map(|_| a.apply(1_000_000)).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.apply(1_000_000)).collect();
        let zs: Vec<u64> = (0..8).map(|_| c.apply(1_000_000)).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }
}
