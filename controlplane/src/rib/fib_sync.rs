//! Turning re-evaluated prefixes into FIB changes.
//!
//! A commit evaluates the prefixes marked since the last one, compares each
//! result with what the FIB holds, and stages only the differences, in the
//! order the [`FibWriter`] validates: next hops, then groups, then routes,
//! then the groups and next hops nothing uses any more. One publish makes
//! the whole batch visible at once, so the cost is O(changed prefixes).
//!
//! When every route using a group moves to the same new next-hop set (the
//! route to their common gateway changed), the group itself is rewritten in
//! place: one group change instead of one route change per prefix, and the
//! dataplane keeps the flows of the next hops that stay.

use std::fmt;
use std::sync::Arc;

use dataplane::fib::{FibError, FibWriter, GroupId, NextHopId, RouteTarget};
use hashbrown::HashMap;
use ipnet::IpNet;

use super::Rib;
use super::nexthop_groups::{InstallError, NextHopKey, SyncError};
use super::resolve::{Batch, Outcome, ResolvedTiers, Resolver};

/// What a commit changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitReport {
    /// Prefixes re-evaluated.
    pub evaluated: usize,
    /// Routes added or repointed in the FIB.
    pub routes_set: usize,
    /// Routes removed from the FIB.
    pub routes_removed: usize,
    /// Groups created or rewritten.
    pub groups_set: usize,
    /// Of those, groups rewritten in place for every route using them.
    pub groups_rekeyed: usize,
    /// Groups removed.
    pub groups_removed: usize,
    /// Next hops created: the daemon sets their liveness (link, BFD).
    pub nexthops_added: Vec<(NextHopId, NextHopKey)>,
    /// Next hops removed (their liveness bit is cleared by the FIB).
    pub nexthops_removed: Vec<NextHopId>,
    /// Selected routes that could not be installed (retried next commit).
    pub not_installed: Vec<(IpNet, InstallError)>,
    /// The FIB generation published, if anything changed.
    pub generation: Option<u64>,
}

/// The FIB refused a change the RIB had checked: the RIB's view of the FIB
/// is wrong (something else edited it), and the batch is partly staged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RibError {
    Fib(FibError),
}

impl fmt::Display for RibError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RibError::Fib(e) => {
                write!(f, "FIB refused a RIB change (RIB and FIB out of sync): {e}")
            }
        }
    }
}

impl std::error::Error for RibError {}

impl From<FibError> for RibError {
    fn from(e: FibError) -> Self {
        RibError::Fib(e)
    }
}

/// What the FIB should hold for a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Desired {
    Nothing,
    Target(RouteTarget),
    Group(Arc<ResolvedTiers>),
}

impl Desired {
    fn of(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::NoRoute => Desired::Nothing,
            Outcome::Local => Desired::Target(RouteTarget::Local),
            Outcome::Blackhole => Desired::Target(RouteTarget::Blackhole),
            Outcome::Reject => Desired::Target(RouteTarget::Unreachable),
            Outcome::Forward(tiers) => Desired::Group(Arc::clone(tiers)),
        }
    }
}

struct Change {
    prefix: IpNet,
    old: Option<RouteTarget>,
    desired: Desired,
    done: bool,
}

impl Rib {
    /// Re-evaluates every prefix changed since the last commit, stages the
    /// FIB differences and publishes them (once, and only if something
    /// changed).
    pub fn commit(&mut self, fib: &mut FibWriter) -> Result<CommitReport, RibError> {
        let mut report = CommitReport::default();
        for prefix in std::mem::take(&mut self.failed) {
            if let Some(entry) = self.table.entry_mut(&prefix)
                && !entry.dirty
            {
                entry.dirty = true;
                self.dirty.push(prefix);
            }
        }
        let mut order = std::mem::take(&mut self.dirty);
        // Sorted, so that group and next-hop ids do not depend on hashing.
        order.sort_unstable();
        report.evaluated = order.len();

        // Each prefix's new value is stored as soon as it is known, so the
        // prefixes after it in the batch resolve through it directly.
        let mut batch = Batch::default();
        let mut changes = Vec::new();
        for &prefix in &order {
            let evaluation = Resolver::new(
                &self.table,
                &mut batch,
                self.config.max_paths,
                self.config.max_recursion,
            )
            .evaluate(prefix);
            let desired = Desired::of(&evaluation.outcome);
            let Some(entry) = self.table.entry_mut(&prefix) else {
                continue;
            };
            let old_gateways = entry.evaluation.as_ref().map_or(&[][..], |e| &e.gateways);
            self.tracking
                .update(prefix, old_gateways, &evaluation.gateways);
            if let Some(old) = entry.evaluation.as_ref().and_then(|e| e.winner_source) {
                self.counts.selected.remove(old);
            }
            if let Some(new) = evaluation.winner_source {
                self.counts.selected.add(new);
            }
            entry.evaluation = Some(evaluation);
            entry.dirty = false;
            let unchanged = match (&entry.installed, &desired) {
                (None, Desired::Nothing) => true,
                (Some(RouteTarget::Group(g)), Desired::Group(tiers)) => {
                    self.groups.tiers(*g).is_some_and(|t| t == tiers)
                }
                (Some(old), Desired::Target(new)) => old == new,
                _ => false,
            };
            if unchanged {
                entry.install_error = None;
            } else {
                changes.push(Change {
                    prefix,
                    old: entry.installed,
                    desired,
                    done: false,
                });
            }
        }
        drop(batch);

        self.rekey_groups(&mut changes, fib, &mut report)?;
        for change in changes.iter().filter(|c| !c.done) {
            self.install(change, fib, &mut report)?;
        }
        self.groups.finish(fib, &mut report)?;

        for prefix in &order {
            let unused = self
                .table
                .entry(prefix)
                .is_none_or(|e| e.candidates.is_empty() && e.installed.is_none());
            // An entry without candidates evaluates to no route and no
            // gateways: it is already tracked by nothing.
            if unused {
                self.table.drop_if_unused(prefix);
            }
        }
        if fib.staged() > 0 {
            report.generation = Some(fib.publish());
        }
        Ok(report)
    }

    /// Rewrites in place each group whose routes all move to one next-hop
    /// set no group has yet, and marks those changes done.
    fn rekey_groups(
        &mut self,
        changes: &mut [Change],
        fib: &mut FibWriter,
        report: &mut CommitReport,
    ) -> Result<(), RibError> {
        // Old group → the changes leaving it, and their common new set
        // (`None` once two of them disagree or one is not a group).
        let mut leaving: HashMap<GroupId, (Vec<usize>, Option<Arc<ResolvedTiers>>)> =
            HashMap::new();
        for (index, change) in changes.iter().enumerate() {
            let Some(RouteTarget::Group(g)) = change.old else {
                continue;
            };
            let new = match &change.desired {
                Desired::Group(tiers) => Some(tiers),
                _ => None,
            };
            match leaving.entry(g) {
                hashbrown::hash_map::Entry::Vacant(slot) => {
                    slot.insert((vec![index], new.cloned()));
                }
                hashbrown::hash_map::Entry::Occupied(mut slot) => {
                    let (indices, common) = slot.get_mut();
                    indices.push(index);
                    if common.as_ref() != new {
                        *common = None;
                    }
                }
            }
        }
        let mut candidates: Vec<(GroupId, Vec<usize>, Arc<ResolvedTiers>)> = leaving
            .into_iter()
            .filter_map(|(g, (indices, common))| Some((g, indices, common?)))
            .collect();
        candidates.sort_unstable_by_key(|(g, _, _)| *g);
        for (group, indices, tiers) in candidates {
            if indices.len() != self.groups.routes(group) || self.groups.id(&tiers).is_some() {
                continue;
            }
            match self.groups.rekey(group, &tiers, fib, report) {
                Ok(()) => {
                    report.groups_rekeyed += 1;
                    for index in indices {
                        if let Some(change) = changes.get_mut(index) {
                            change.done = true;
                            if let Some(entry) = self.table.entry_mut(&change.prefix) {
                                entry.install_error = None;
                            }
                        }
                    }
                }
                // Left to the per-route path, which reports it.
                Err(SyncError::Install(_)) => {}
                Err(SyncError::Fib(e)) => return Err(RibError::Fib(e)),
            }
        }
        Ok(())
    }

    /// Stages one prefix's change.
    fn install(
        &mut self,
        change: &Change,
        fib: &mut FibWriter,
        report: &mut CommitReport,
    ) -> Result<(), RibError> {
        let mut error = None;
        let target = match &change.desired {
            Desired::Nothing => None,
            Desired::Target(target) => Some(*target),
            Desired::Group(tiers) => match self.groups.acquire(tiers, fib, report) {
                Ok(g) => Some(RouteTarget::Group(g)),
                Err(SyncError::Install(e)) => {
                    error = Some(e);
                    None
                }
                Err(SyncError::Fib(e)) => return Err(RibError::Fib(e)),
            },
        };
        match target {
            Some(target) => {
                fib.set_route(change.prefix, target)?;
                report.routes_set += 1;
            }
            None if change.old.is_some() => {
                fib.remove_route(change.prefix);
                report.routes_removed += 1;
            }
            None => {}
        }
        if let Some(RouteTarget::Group(g)) = change.old {
            self.groups.release(g);
        }
        if let Some(e) = &error {
            tracing::warn!(prefix = %change.prefix, error = %e, "selected route not installed");
            report.not_installed.push((change.prefix, e.clone()));
            self.failed.push(change.prefix);
        }
        if let Some(entry) = self.table.entry_mut(&change.prefix) {
            entry.installed = target;
            entry.install_error = error;
        }
        Ok(())
    }
}
