//! Time as the control plane sees it: nanoseconds on a monotonic line.
//!
//! Protocols never read a clock; the event loop reads one and hands `now`
//! in. Tests swap the real clock for a [`FakeClock`] they move by hand, so a
//! dead interval of 40 s takes no wall time and every run is the same.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Nanoseconds since an arbitrary, fixed origin. Never goes backwards.
pub type Nanos = u64;

/// A source of monotonic time.
pub trait Clock {
    fn now_ns(&self) -> Nanos;
}

/// The host's monotonic clock, counted from when this value was created so
/// that `u64` nanoseconds last ~584 years.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    pub fn new() -> Self {
        MonotonicClock {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now_ns(&self) -> Nanos {
        // Saturate rather than wrap: 584 years of uptime is not a case to panic on.
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A clock that only moves when told to. Clones share the same time, so a
/// test keeps one handle and gives another to the event loop.
#[derive(Debug, Clone, Default)]
pub struct FakeClock {
    now: Arc<AtomicU64>,
}

impl FakeClock {
    pub fn new(start: Nanos) -> Self {
        FakeClock {
            now: Arc::new(AtomicU64::new(start)),
        }
    }

    /// Moves time forward by `by` nanoseconds (saturating at the end of time).
    pub fn advance(&self, by: Nanos) {
        // fetch_update never fails here: the closure always returns Some.
        let _ = self
            .now
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(t.saturating_add(by))
            });
    }

    /// Moves time to `to`; a value in the past is ignored, keeping the clock
    /// monotonic as the [`Clock`] contract promises.
    pub fn set(&self, to: Nanos) {
        self.now.fetch_max(to, Ordering::AcqRel);
    }
}

impl Clock for FakeClock {
    fn now_ns(&self) -> Nanos {
        self.now.load(Ordering::Acquire)
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_ns(&self) -> Nanos {
        (**self).now_ns()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_clock_clones_share_time_and_never_go_back() {
        let clock = FakeClock::new(100);
        let seen_by_loop = clock.clone();
        clock.advance(50);
        assert_eq!(seen_by_loop.now_ns(), 150);
        clock.set(120);
        assert_eq!(
            seen_by_loop.now_ns(),
            150,
            "set() into the past must not move time back"
        );
        clock.set(1_000);
        assert_eq!(seen_by_loop.now_ns(), 1_000);
        clock.advance(u64::MAX);
        assert_eq!(seen_by_loop.now_ns(), u64::MAX);
    }

    #[test]
    fn monotonic_clock_does_not_decrease() {
        let clock = MonotonicClock::new();
        let a = clock.now_ns();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = clock.now_ns();
        assert!(
            b >= a + 1_000_000,
            "slept 2 ms but clock moved {} ns",
            b - a
        );
    }
}
