//! A token bucket on the caller's clock (nanoseconds), so the dataplane
//! reads the time once per burst and tests drive it with a fake clock.

/// Allows `rate` events per second on average and bursts of `burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Tokens are kept in nano-tokens (tokens × 1e9) so refill is integer
    /// arithmetic without drift.
    nano_tokens: u64,
    capacity: u64,
    rate_per_sec: u64,
    last_ns: u64,
}

const NANOS: u64 = 1_000_000_000;

impl TokenBucket {
    /// A full bucket. `rate_per_sec == 0` allows nothing.
    pub fn new(rate_per_sec: u32, burst: u32, now_ns: u64) -> Self {
        let capacity = u64::from(burst.max(1)) * NANOS;
        Self {
            nano_tokens: if rate_per_sec == 0 { 0 } else { capacity },
            capacity,
            rate_per_sec: u64::from(rate_per_sec),
            last_ns: now_ns,
        }
    }

    /// Takes one token if there is one.
    #[inline]
    pub fn allow(&mut self, now_ns: u64) -> bool {
        let elapsed = now_ns.saturating_sub(self.last_ns);
        self.last_ns = self.last_ns.max(now_ns);
        self.nano_tokens = self
            .nano_tokens
            .saturating_add(elapsed.saturating_mul(self.rate_per_sec))
            .min(self.capacity);
        if self.nano_tokens >= NANOS {
            self.nano_tokens -= NANOS;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let mut b = TokenBucket::new(100, 10, 0);
        let allowed = (0..50).filter(|_| b.allow(0)).count();
        assert_eq!(allowed, 10, "a full bucket allows exactly the burst");
        // 100/s → one token every 10 ms.
        assert!(!b.allow(9_000_000));
        assert!(b.allow(10_000_000));
        assert!(!b.allow(10_000_000));
        // One second later the bucket is full again, not fuller.
        let allowed = (0..50).filter(|_| b.allow(2_000_000_000)).count();
        assert_eq!(allowed, 10);
    }

    #[test]
    fn clock_going_backwards_does_not_refill() {
        let mut b = TokenBucket::new(1, 1, 1_000_000_000);
        assert!(b.allow(1_000_000_000));
        assert!(!b.allow(0));
        assert!(!b.allow(1_500_000_000));
        assert!(b.allow(2_000_000_000));
    }

    #[test]
    fn zero_rate_allows_nothing() {
        let mut b = TokenBucket::new(0, 5, 0);
        assert!(!b.allow(0));
        assert!(!b.allow(u64::MAX));
    }
}
