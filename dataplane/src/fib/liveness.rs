//! Per-next-hop liveness: one bit per [`NextHopId`], shared without locks.
//!
//! This is what makes failover independent of the number of prefixes
//! (prefix-independent fast reroute): routes point to next-hop groups, groups
//! name next hops, and a next hop's loss is one bit cleared here. The BFD
//! engine on a dataplane core and the control plane write bits at any time;
//! every dataplane core reads them per packet through
//! [`NextHopGroup::select`](super::group::NextHopGroup::select).
//!
//! Bits start **down**. A next hop guarded by BFD must not carry traffic
//! before its session has come up (RFC 5882 §5: when the remote system is
//! presumed BFD capable and the session is not Up, traffic is kept off the
//! path, as a static route would be withdrawn), so raising a bit is
//! always a decision of its owner: the BFD engine on session Up, or the
//! control plane, for unguarded next hops, as soon as it installs them.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::nexthop::NextHopId;

const BITS_PER_WORD: usize = u64::BITS as usize;

/// A fixed-capacity bitmap of next-hop liveness, shared (in an `Arc`)
/// between the control plane, the BFD engine and every dataplane core.
pub struct Liveness {
    words: Box<[AtomicU64]>,
    capacity: usize,
}

impl Liveness {
    /// A bitmap for ids `0..capacity`, every bit down (see the module docs
    /// for why down, not live).
    pub fn new(capacity: usize) -> Self {
        let words = capacity.div_ceil(BITS_PER_WORD);
        Liveness {
            words: (0..words).map(|_| AtomicU64::new(0)).collect(),
            capacity,
        }
    }

    /// The number of next-hop ids this bitmap covers.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether `id` is live. Ids outside the bitmap are never live.
    ///
    /// A relaxed load is enough: the bit publishes no other data (the next
    /// hop's port and MAC come with the FIB snapshot, which has its own
    /// synchronisation), so the only effect of reading a stale value is that
    /// one packet takes the path it would have taken a few nanoseconds
    /// earlier. Anything stronger would buy nothing and would cost a fence
    /// on weakly ordered CPUs.
    #[inline]
    pub fn is_live(&self, id: NextHopId) -> bool {
        let Some((word, mask)) = self.locate(id) else {
            return false;
        };
        word.load(Ordering::Relaxed) & mask != 0
    }

    /// Sets `id`'s bit and returns its previous value; ids outside the
    /// bitmap are ignored and reported as previously down.
    ///
    /// A read-modify-write (`fetch_or`/`fetch_and`), not load-then-store, so
    /// that concurrent writers of other bits in the same word (the BFD
    /// engines of several cores, the control plane) never undo each other.
    /// The ordering is Relaxed for the reason given on [`Self::is_live`];
    /// on x86 every atomic RMW is a full barrier anyway.
    pub fn set(&self, id: NextHopId, live: bool) -> bool {
        let Some((word, mask)) = self.locate(id) else {
            return false;
        };
        let previous = if live {
            word.fetch_or(mask, Ordering::Relaxed)
        } else {
            word.fetch_and(!mask, Ordering::Relaxed)
        };
        previous & mask != 0
    }

    /// The number of live next hops, for `show` and metrics. Not a
    /// snapshot: bits may flip while it counts.
    pub fn count_live(&self) -> usize {
        self.words
            .iter()
            .map(|w| w.load(Ordering::Relaxed).count_ones() as usize)
            .sum()
    }

    #[inline]
    fn locate(&self, id: NextHopId) -> Option<(&AtomicU64, u64)> {
        let index = id.index();
        if index >= self.capacity {
            return None;
        }
        let word = self.words.get(index / BITS_PER_WORD)?;
        Some((word, 1u64 << (index % BITS_PER_WORD)))
    }
}

impl fmt::Debug for Liveness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Liveness")
            .field("capacity", &self.capacity)
            .field("live", &self.count_live())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn bits_start_down_and_set_returns_the_previous_value() {
        let live = Liveness::new(100);
        assert_eq!(live.capacity(), 100);
        assert!((0..100).all(|i| !live.is_live(NextHopId(i))));
        assert!(!live.set(NextHopId(70), true));
        assert!(live.set(NextHopId(70), true));
        assert!(live.is_live(NextHopId(70)));
        assert!(!live.is_live(NextHopId(69)) && !live.is_live(NextHopId(71)));
        assert!(live.set(NextHopId(70), false));
        assert!(!live.set(NextHopId(70), false));
        assert!(!live.is_live(NextHopId(70)));
    }

    #[test]
    fn out_of_range_ids_are_never_live_and_never_panic() {
        // 100 bits occupy two words: ids 100..128 exist in memory but not
        // in the bitmap, and must behave like any other foreign id.
        let live = Liveness::new(100);
        for id in [100, 127, 128, 1_000_000, u32::MAX] {
            assert!(!live.set(NextHopId(id), true), "{id}");
            assert!(!live.is_live(NextHopId(id)), "{id}");
        }
        assert_eq!(live.count_live(), 0);
        let empty = Liveness::new(0);
        assert!(!empty.set(NextHopId(0), true));
        assert!(!empty.is_live(NextHopId(0)));
    }

    #[test]
    fn concurrent_setters_of_one_word_never_lose_updates() {
        // Four threads share every word (thread t owns bits t, t+4, t+8…)
        // and flip their own bits 100k times; a lost update would leave some
        // bit in the wrong final state.
        const THREADS: u32 = 4;
        const IDS: u32 = 128;
        const FLIPS: u32 = 100_000;
        let live = Arc::new(Liveness::new(IDS as usize));
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let live = Arc::clone(&live);
                std::thread::spawn(move || {
                    let mine: Vec<u32> = (t..IDS).step_by(THREADS as usize).collect();
                    for round in 0..FLIPS {
                        let id = mine[(round as usize) % mine.len()];
                        let on = live.is_live(NextHopId(id));
                        assert_eq!(live.set(NextHopId(id), !on), on);
                    }
                    // Thread t leaves bit i up iff i % 3 == t % 3.
                    for &id in &mine {
                        live.set(NextHopId(id), id % 3 == t % 3);
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        for id in 0..IDS {
            let t = id % THREADS;
            assert_eq!(live.is_live(NextHopId(id)), id % 3 == t % 3, "bit {id}");
        }
    }
}
