//! The candidates of every prefix, and the covering-prefix walk recursive
//! resolution needs.

use std::net::IpAddr;
use std::sync::Arc;

use dataplane::fib::RouteTarget;
use hashbrown::HashMap;
use ipnet::IpNet;

use super::candidate::{Candidate, CandidateKey};
use super::nexthop_groups::InstallError;
use super::resolve::Evaluation;

/// Everything the RIB knows about one prefix.
#[derive(Debug, Default)]
pub(crate) struct Entry {
    /// In preference order.
    pub candidates: Vec<Candidate>,
    /// The selection as of the last commit.
    pub evaluation: Option<Arc<Evaluation>>,
    /// Waiting to be evaluated again: `evaluation` is stale.
    pub dirty: bool,
    /// What the FIB holds for the prefix.
    pub installed: Option<RouteTarget>,
    /// Why the selected route is not in the FIB, when it could not be.
    pub install_error: Option<InstallError>,
}

/// Prefix → entry, with per-length population so that finding the
/// prefixes covering an address probes only lengths in use.
#[derive(Debug)]
pub(crate) struct Table {
    entries: HashMap<IpNet, Entry>,
    /// Prefixes with at least one candidate, by length.
    v4_lengths: [u32; 33],
    v6_lengths: [u32; 129],
}

impl Default for Table {
    fn default() -> Self {
        Table {
            entries: HashMap::new(),
            v4_lengths: [0; 33],
            v6_lengths: [0; 129],
        }
    }
}

impl Table {
    pub fn entry(&self, prefix: &IpNet) -> Option<&Entry> {
        self.entries.get(prefix)
    }

    pub fn entry_mut(&mut self, prefix: &IpNet) -> Option<&mut Entry> {
        self.entries.get_mut(prefix)
    }

    pub fn candidates(&self, prefix: &IpNet) -> &[Candidate] {
        self.entries
            .get(prefix)
            .map_or(&[], |entry| entry.candidates.as_slice())
    }

    pub fn prefixes(&self) -> impl Iterator<Item = &IpNet> {
        self.entries.keys()
    }

    /// Adds or replaces the candidate with the same key. Returns the
    /// candidate it replaced, and whether anything changed.
    pub fn upsert(&mut self, prefix: IpNet, candidate: Candidate) -> (Option<Candidate>, bool) {
        let entry = self.entries.entry(prefix).or_default();
        let was_empty = entry.candidates.is_empty();
        let key = candidate.key();
        let old = match entry.candidates.iter().position(|c| c.key() == key) {
            Some(index) if entry.candidates[index] == candidate => {
                return (Some(candidate), false);
            }
            Some(index) => Some(entry.candidates.remove(index)),
            None => None,
        };
        let at = entry
            .candidates
            .partition_point(|c| c.preference(&candidate).is_lt());
        entry.candidates.insert(at, candidate);
        if was_empty {
            self.count(prefix, 1);
        }
        (old, true)
    }

    /// Removes the candidate with this key, if present.
    pub fn remove(&mut self, prefix: IpNet, key: CandidateKey) -> Option<Candidate> {
        let entry = self.entries.get_mut(&prefix)?;
        let index = entry.candidates.iter().position(|c| c.key() == key)?;
        let old = entry.candidates.remove(index);
        if entry.candidates.is_empty() {
            self.count(prefix, -1);
        }
        Some(old)
    }

    /// Forgets a prefix that has neither candidates nor a FIB route.
    pub fn drop_if_unused(&mut self, prefix: &IpNet) {
        if self
            .entries
            .get(prefix)
            .is_some_and(|e| e.candidates.is_empty() && e.installed.is_none())
        {
            self.entries.remove(prefix);
        }
    }

    /// Every prefix with candidates that contains `addr`, longest first.
    pub fn covering(&self, addr: IpAddr) -> impl Iterator<Item = IpNet> + '_ {
        let lengths: &[u32] = match addr {
            IpAddr::V4(_) => &self.v4_lengths,
            IpAddr::V6(_) => &self.v6_lengths,
        };
        lengths
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, count)| **count > 0)
            .filter_map(move |(len, _)| {
                let prefix = IpNet::new(addr, u8::try_from(len).ok()?).ok()?.trunc();
                let entry = self.entries.get(&prefix)?;
                (!entry.candidates.is_empty()).then_some(prefix)
            })
    }

    fn count(&mut self, prefix: IpNet, delta: i32) {
        let slot = match prefix {
            IpNet::V4(_) => self.v4_lengths.get_mut(usize::from(prefix.prefix_len())),
            IpNet::V6(_) => self.v6_lengths.get_mut(usize::from(prefix.prefix_len())),
        };
        if let Some(slot) = slot {
            *slot = slot.saturating_add_signed(delta);
        }
    }
}
