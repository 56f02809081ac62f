//! The dataplane's neighbor table as last published, for `show neighbors`
//! and `show fib`.
//!
//! The table belongs to the dataplane thread and is read nowhere else. The
//! thread copies its entries here every [`PUBLISH_INTERVAL`] with a
//! `try_lock`: if a reader holds the lock that instant, the dataplane skips
//! the copy and tries on its next round, so it never waits. The buffer is
//! reused, so after the first copies publishing allocates nothing. Readers
//! hold the lock only to clone the list.

use std::sync::{Mutex, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use dataplane::neighbor::NeighborEntryView;

/// How often the dataplane thread publishes: stale by at most this much
/// (plus one loop) for operators, and a copy of a few hundred entries five
/// times a second costs the dataplane nothing measurable.
pub const PUBLISH_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
struct Published {
    entries: Vec<NeighborEntryView>,
    /// The dataplane clock (ns) when copied: `updated_ns` of the entries
    /// is on the same clock.
    now_ns: u64,
    at: Option<Instant>,
}

/// A published copy of the neighbor table.
#[derive(Debug, Default)]
pub struct NeighborSnapshot {
    inner: Mutex<Published>,
}

/// What a reader gets: the entries and how to age them.
#[derive(Debug, Clone, Default)]
pub struct NeighborCopy {
    pub entries: Vec<NeighborEntryView>,
    /// The dataplane clock when the copy was made.
    pub now_ns: u64,
    /// How long ago that was; `None` before the first copy.
    pub age: Option<Duration>,
}

impl NeighborSnapshot {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the copy with `entries` unless a reader holds it right now.
    /// Returns whether it did. Never blocks.
    pub fn publish(&self, entries: impl Iterator<Item = NeighborEntryView>, now_ns: u64) -> bool {
        let mut guard = match self.inner.try_lock() {
            Ok(guard) => guard,
            // A reader panicked while cloning: the data is still whole.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return false,
        };
        guard.entries.clear();
        guard.entries.extend(entries);
        guard.now_ns = now_ns;
        guard.at = Some(Instant::now());
        true
    }

    /// The last published copy.
    pub fn read(&self) -> NeighborCopy {
        let guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        NeighborCopy {
            entries: guard.entries.clone(),
            now_ns: guard.now_ns,
            age: guard.at.map(|at| at.elapsed()),
        }
    }
}

impl NeighborCopy {
    /// An entry's age now: its age when copied plus the copy's age.
    pub fn age_of(&self, entry: &NeighborEntryView) -> Duration {
        Duration::from_nanos(entry.age_ns(self.now_ns)) + self.age.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataplane::neighbor::NeighborState;

    fn entry(ip: &str, updated_ns: u64) -> NeighborEntryView {
        NeighborEntryView {
            port: 0,
            ip: ip.parse().unwrap(),
            mac: None,
            state: NeighborState::Incomplete,
            is_router: false,
            updated_ns,
        }
    }

    #[test]
    fn publish_replaces_the_copy_and_ages_entries() {
        let board = NeighborSnapshot::new();
        assert!(board.read().age.is_none(), "nothing published yet");
        assert!(board.publish([entry("10.0.0.2", 1_000)].into_iter(), 5_000));
        assert!(board.publish([entry("10.0.0.3", 2_000_000)].into_iter(), 3_000_000));
        let copy = board.read();
        assert_eq!(
            copy.entries.len(),
            1,
            "the second publish replaced the first"
        );
        assert_eq!(copy.entries[0].ip.to_string(), "10.0.0.3");
        assert!(copy.age_of(&copy.entries[0]) >= Duration::from_millis(1));
    }

    #[test]
    fn publish_skips_instead_of_waiting_for_a_reader() {
        let board = NeighborSnapshot::new();
        let held = board.inner.lock().unwrap();
        assert!(!board.publish([entry("10.0.0.2", 0)].into_iter(), 1));
        drop(held);
        assert!(board.publish([entry("10.0.0.2", 0)].into_iter(), 1));
    }
}
