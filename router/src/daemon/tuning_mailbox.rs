//! New forwarder knobs (`[icmp]`, `[ecmp]`, `[neighbor]`) from a commit,
//! handed to the dataplane thread. The dataplane looks at one atomic flag
//! per loop turn and takes the value only when it is set, so the loop
//! never waits on the control plane.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use dataplane::pipeline::ForwarderTuning;

use crate::config::Config;

#[derive(Debug, Default)]
pub struct TuningMailbox {
    pending: AtomicBool,
    value: Mutex<Option<ForwarderTuning>>,
}

impl TuningMailbox {
    /// Control plane: the forwarder should run with `tuning` from now on.
    pub fn post(&self, tuning: ForwarderTuning) {
        *self.value.lock().unwrap_or_else(PoisonError::into_inner) = Some(tuning);
        self.pending.store(true, Ordering::Release);
    }

    /// Dataplane: the newest posted value, if one came since the last
    /// take. A contended lock (the control plane posting right now) leaves
    /// it for the next turn.
    pub fn take(&self) -> Option<ForwarderTuning> {
        if !self.pending.load(Ordering::Acquire) {
            return None;
        }
        let mut value = self.value.try_lock().ok()?;
        self.pending.store(false, Ordering::Release);
        value.take()
    }
}

/// The knobs `config` sets.
pub fn tuning(config: &Config) -> ForwarderTuning {
    ForwarderTuning {
        icmp_errors_per_sec: config.icmp.errors_per_second,
        icmp_error_burst: config.icmp.burst,
        hash_seed: config.ecmp.hash_seed,
        symmetric_hash: config.ecmp.symmetric,
        neighbor_reachable_ns: u64::from(config.neighbor.reachable_time_ms) * 1_000_000,
        neighbor_retrans_ns: u64::from(config.neighbor.retrans_time_ms) * 1_000_000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_value_is_taken_once() {
        let mailbox = TuningMailbox::default();
        assert_eq!(mailbox.take(), None);
        let mut t = ForwarderTuning {
            icmp_errors_per_sec: 1,
            icmp_error_burst: 1,
            hash_seed: 1,
            symmetric_hash: false,
            neighbor_reachable_ns: 1,
            neighbor_retrans_ns: 1,
        };
        mailbox.post(t);
        t.hash_seed = 2;
        mailbox.post(t);
        assert_eq!(mailbox.take().map(|t| t.hash_seed), Some(2));
        assert_eq!(mailbox.take(), None, "taken once");
    }
}
