//! Next-hop tracking: which prefixes depend on which gateways.
//!
//! A prefix's evaluation can only change when its own candidates change or
//! when the candidates of a prefix containing one of the gateways in its
//! expansion change (a more specific route appears, the covering route is
//! withdrawn or re-resolved). So a change to prefix P re-evaluates exactly
//! the dependents of the tracked gateways inside P: found with one ordered
//! range query over the gateways, not a scan of the table.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hashbrown::HashSet;
use ipnet::IpNet;

#[derive(Debug, Default)]
pub(crate) struct Tracking {
    dependents: BTreeMap<IpAddr, HashSet<IpNet>>,
}

impl Tracking {
    /// `prefix` now depends on `new` instead of `old` (both sorted).
    pub fn update(&mut self, prefix: IpNet, old: &[IpAddr], new: &[IpAddr]) {
        if old == new {
            return;
        }
        for gateway in old {
            if new.binary_search(gateway).is_ok() {
                continue;
            }
            if let Some(set) = self.dependents.get_mut(gateway) {
                set.remove(&prefix);
                if set.is_empty() {
                    self.dependents.remove(gateway);
                }
            }
        }
        for gateway in new {
            if old.binary_search(gateway).is_err() {
                self.dependents.entry(*gateway).or_default().insert(prefix);
            }
        }
    }

    /// Every prefix depending on a gateway inside `changed`.
    pub fn dependents_within(&self, changed: IpNet) -> impl Iterator<Item = IpNet> + '_ {
        self.dependents
            .range(changed.network()..=changed.broadcast())
            .flat_map(|(_, prefixes)| prefixes.iter().copied())
    }

    /// Gateways tracked (for metrics and tests).
    pub fn gateway_count(&self) -> usize {
        self.dependents.len()
    }
}
