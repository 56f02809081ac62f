//! Next-hop ids and shared next-hop groups.
//!
//! A next hop (port, gateway) gets one [`NextHopId`] however many groups
//! use it: the dataplane's liveness bit, which BFD and link state drive, is
//! per id, so a gateway failure flips one bit. Routes whose resolved next
//! hops are identical share one [`GroupId`], so a change to how a gateway
//! is reached rewrites one group rather than every route through it. Both
//! are reference counted; ids freed in a batch are only reused by a later
//! batch, after the publish that stopped every reader from seeing them, and
//! the lowest free id is reused first to keep the liveness bitmap small.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use dataplane::fib::{
    FibError, FibWriter, GroupError, GroupId, Member, NextHop, NextHopGroup, NextHopId, RouteTarget,
};
use dataplane::port::PortId;
use hashbrown::HashMap;

use super::fib_sync::CommitReport;
use super::resolve::ResolvedTiers;

/// A next hop as the FIB knows it: the port, and the neighbour (`None`:
/// the destination itself, on an attached subnet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NextHopKey {
    pub port: PortId,
    pub gateway: Option<IpAddr>,
}

/// Why a route could not be installed although it was selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallError {
    /// Every next-hop id the FIB has room for is in use.
    NextHopTableFull { capacity: usize },
    /// Every group id a route can encode is in use.
    GroupTableFull,
    /// The dataplane refused the group.
    Group(GroupError),
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::NextHopTableFull { capacity } => write!(
                f,
                "all {capacity} next-hop ids are in use; raise the FIB's max_nexthops"
            ),
            InstallError::GroupTableFull => write!(
                f,
                "all {} next-hop group ids are in use",
                u64::from(RouteTarget::MAX_GROUP) + 1
            ),
            InstallError::Group(e) => write!(f, "{e}"),
        }
    }
}

/// A failed group or next-hop operation: either this route cannot be
/// installed, or the FIB refused what the RIB checked (out of sync).
#[derive(Debug)]
pub(crate) enum SyncError {
    Install(InstallError),
    Fib(FibError),
}

impl From<FibError> for SyncError {
    fn from(e: FibError) -> Self {
        SyncError::Fib(e)
    }
}

#[derive(Debug)]
struct NextHopSlot {
    key: NextHopKey,
    groups: usize,
}

/// Next-hop ids by (port, gateway), counted by the groups holding them.
#[derive(Debug, Default)]
pub(crate) struct NextHopTable {
    ids: HashMap<NextHopKey, NextHopId>,
    slots: Vec<Option<NextHopSlot>>,
    free: BTreeSet<u32>,
    released: Vec<NextHopId>,
}

impl NextHopTable {
    pub fn id(&self, key: &NextHopKey) -> Option<NextHopId> {
        self.ids.get(key).copied()
    }

    pub fn key(&self, id: NextHopId) -> Option<NextHopKey> {
        Some(self.slots.get(id.index())?.as_ref()?.key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (NextHopId, NextHopKey)> + '_ {
        self.slots
            .iter()
            .zip(0u32..)
            .filter_map(|(slot, id)| Some((NextHopId(id), slot.as_ref()?.key)))
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    fn acquire(
        &mut self,
        key: NextHopKey,
        fib: &mut FibWriter,
        report: &mut CommitReport,
    ) -> Result<NextHopId, SyncError> {
        if let Some(id) = self.ids.get(&key)
            && let Some(Some(slot)) = self.slots.get_mut(id.index())
        {
            slot.groups += 1;
            return Ok(*id);
        }
        let capacity = fib.liveness().capacity();
        let next = self
            .free
            .first()
            .copied()
            .unwrap_or(u32::try_from(self.slots.len()).unwrap_or(u32::MAX));
        if next as usize >= capacity {
            return Err(SyncError::Install(InstallError::NextHopTableFull {
                capacity,
            }));
        }
        let id = NextHopId(next);
        fib.set_nexthop(
            id,
            NextHop {
                port: key.port,
                gateway: key.gateway,
                mac: None,
            },
        )?;
        self.free.remove(&next);
        if self.slots.len() <= id.index() {
            self.slots.resize_with(id.index() + 1, || None);
        }
        self.slots[id.index()] = Some(NextHopSlot { key, groups: 1 });
        self.ids.insert(key, id);
        report.nexthops_added.push((id, key));
        Ok(id)
    }

    fn release(&mut self, id: NextHopId) {
        if let Some(Some(slot)) = self.slots.get_mut(id.index()) {
            slot.groups = slot.groups.saturating_sub(1);
            if slot.groups == 0 {
                self.released.push(id);
            }
        }
    }

    /// Removes the next hops no group holds any more.
    fn finish(&mut self, fib: &mut FibWriter, report: &mut CommitReport) -> Result<(), FibError> {
        for id in std::mem::take(&mut self.released) {
            let unused = matches!(self.slots.get(id.index()), Some(Some(s)) if s.groups == 0);
            if !unused {
                continue;
            }
            fib.remove_nexthop(id)?;
            if let Some(slot) = self.slots.get_mut(id.index()).and_then(Option::take) {
                self.ids.remove(&slot.key);
            }
            self.free.insert(id.0);
            report.nexthops_removed.push(id);
        }
        Ok(())
    }
}

#[derive(Debug)]
struct GroupSlot {
    tiers: Arc<ResolvedTiers>,
    nexthops: Vec<NextHopId>,
    routes: usize,
}

/// Group ids by resolved next-hop set, counted by the routes using them.
#[derive(Debug, Default)]
pub(crate) struct GroupTable {
    ids: HashMap<Arc<ResolvedTiers>, GroupId>,
    slots: Vec<Option<GroupSlot>>,
    free: BTreeSet<u32>,
    released: Vec<GroupId>,
    pub nexthops: NextHopTable,
}

impl GroupTable {
    pub fn id(&self, tiers: &ResolvedTiers) -> Option<GroupId> {
        self.ids.get(tiers).copied()
    }

    pub fn tiers(&self, id: GroupId) -> Option<&Arc<ResolvedTiers>> {
        Some(&self.slot(id)?.tiers)
    }

    /// Routes using the group.
    pub fn routes(&self, id: GroupId) -> usize {
        self.slot(id).map_or(0, |s| s.routes)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    fn slot(&self, id: GroupId) -> Option<&GroupSlot> {
        self.slots.get(id.0 as usize)?.as_ref()
    }

    /// The group for `tiers`, created (with its next hops) on first use.
    pub fn acquire(
        &mut self,
        tiers: &Arc<ResolvedTiers>,
        fib: &mut FibWriter,
        report: &mut CommitReport,
    ) -> Result<GroupId, SyncError> {
        if let Some(id) = self.ids.get(tiers.as_ref())
            && let Some(Some(slot)) = self.slots.get_mut(id.0 as usize)
        {
            slot.routes += 1;
            return Ok(*id);
        }
        let next = self
            .free
            .first()
            .copied()
            .unwrap_or(u32::try_from(self.slots.len()).unwrap_or(u32::MAX));
        if next > RouteTarget::MAX_GROUP {
            return Err(SyncError::Install(InstallError::GroupTableFull));
        }
        let id = GroupId(next);
        let (members, nexthops) = self.members(tiers, fib, report)?;
        let group = match NextHopGroup::new(&members) {
            Ok(group) => group,
            Err(e) => {
                nexthops.iter().for_each(|n| self.nexthops.release(*n));
                return Err(SyncError::Install(InstallError::Group(e)));
            }
        };
        fib.set_group(id, group)?;
        self.free.remove(&next);
        if self.slots.len() <= id.0 as usize {
            self.slots.resize_with(id.0 as usize + 1, || None);
        }
        self.slots[id.0 as usize] = Some(GroupSlot {
            tiers: Arc::clone(tiers),
            nexthops,
            routes: 1,
        });
        self.ids.insert(Arc::clone(tiers), id);
        report.groups_set += 1;
        Ok(id)
    }

    /// One route less uses the group.
    pub fn release(&mut self, id: GroupId) {
        if let Some(Some(slot)) = self.slots.get_mut(id.0 as usize) {
            slot.routes = slot.routes.saturating_sub(1);
            if slot.routes == 0 {
                self.released.push(id);
            }
        }
    }

    /// Gives group `id` the next hops `tiers` in place, so the routes using
    /// it follow without being rewritten. The dataplane keeps the bucket
    /// assignment of the next hops that stay ([`NextHopGroup::update`]).
    pub fn rekey(
        &mut self,
        id: GroupId,
        tiers: &Arc<ResolvedTiers>,
        fib: &mut FibWriter,
        report: &mut CommitReport,
    ) -> Result<(), SyncError> {
        let (members, nexthops) = self.members(tiers, fib, report)?;
        let updated = match fib.group(id) {
            Some(old) => old.update(&members),
            None => NextHopGroup::new(&members),
        };
        let group = match updated {
            Ok(group) => group,
            Err(e) => {
                nexthops.iter().for_each(|n| self.nexthops.release(*n));
                return Err(SyncError::Install(InstallError::Group(e)));
            }
        };
        fib.set_group(id, group)?;
        report.groups_set += 1;
        let Some(Some(slot)) = self.slots.get_mut(id.0 as usize) else {
            return Ok(());
        };
        let old_tiers = std::mem::replace(&mut slot.tiers, Arc::clone(tiers));
        let old_nexthops = std::mem::replace(&mut slot.nexthops, nexthops);
        self.ids.remove(old_tiers.as_ref());
        self.ids.insert(Arc::clone(tiers), id);
        old_nexthops.iter().for_each(|n| self.nexthops.release(*n));
        Ok(())
    }

    /// The dataplane members for `tiers`, acquiring their next hops.
    fn members(
        &mut self,
        tiers: &ResolvedTiers,
        fib: &mut FibWriter,
        report: &mut CommitReport,
    ) -> Result<(Vec<Vec<Member>>, Vec<NextHopId>), SyncError> {
        let mut acquired = Vec::new();
        let mut members = Vec::with_capacity(tiers.len());
        for tier in tiers {
            let mut row = Vec::with_capacity(tier.len());
            for member in tier {
                match self.nexthops.acquire(member.key, fib, report) {
                    Ok(nexthop) => {
                        acquired.push(nexthop);
                        row.push(Member {
                            nexthop,
                            weight: member.weight,
                        });
                    }
                    Err(e) => {
                        acquired.iter().for_each(|n| self.nexthops.release(*n));
                        return Err(e);
                    }
                }
            }
            members.push(row);
        }
        Ok((members, acquired))
    }

    /// Removes the groups no route uses any more, then their unused next
    /// hops. Call after every route change of the batch is staged.
    pub fn finish(
        &mut self,
        fib: &mut FibWriter,
        report: &mut CommitReport,
    ) -> Result<(), FibError> {
        for id in std::mem::take(&mut self.released) {
            let unused = matches!(self.slots.get(id.0 as usize), Some(Some(s)) if s.routes == 0);
            if !unused {
                continue;
            }
            fib.remove_group(id)?;
            if let Some(slot) = self.slots.get_mut(id.0 as usize).and_then(Option::take) {
                self.ids.remove(slot.tiers.as_ref());
                slot.nexthops.iter().for_each(|n| self.nexthops.release(*n));
            }
            self.free.insert(id.0);
            report.groups_removed += 1;
        }
        self.nexthops.finish(fib, report)
    }
}
