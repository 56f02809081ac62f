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

use hashbrown::{HashMap, HashSet};
use ipnet::IpNet;

#[derive(Debug, Default)]
pub(crate) struct Tracking {
    dependents: BTreeMap<IpAddr, HashSet<IpNet>>,
    gateways_of: HashMap<IpNet, Vec<IpAddr>>,
}

impl Tracking {
    /// Replaces what `prefix` depends on with `gateways`.
    pub fn set(&mut self, prefix: IpNet, gateways: &[IpAddr]) {
        let old = self.gateways_of.remove(&prefix).unwrap_or_default();
        if old.as_slice() == gateways {
            if !old.is_empty() {
                self.gateways_of.insert(prefix, old);
            }
            return;
        }
        for gateway in &old {
            if let Some(set) = self.dependents.get_mut(gateway) {
                set.remove(&prefix);
                if set.is_empty() {
                    self.dependents.remove(gateway);
                }
            }
        }
        for gateway in gateways {
            self.dependents.entry(*gateway).or_default().insert(prefix);
        }
        if !gateways.is_empty() {
            self.gateways_of.insert(prefix, gateways.to_vec());
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
