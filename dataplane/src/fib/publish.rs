//! Lock-free publication of the FIB to the dataplane cores.
//!
//! Left-right (the `left-right` crate): two copies of [`FibSnapshot`].
//! Readers (one [`FibReader`] per dataplane core) enter the current copy once
//! per burst — an epoch counter bump, no lock, no wait. The writer applies a
//! batch of [`FibOp`]s to the other copy, swaps the copies with one atomic
//! pointer store, waits until every reader has left the old copy (each
//! leaves at the end of its burst), and later replays the same batch onto
//! it. So a batch of N changes costs O(N) twice, never O(table), and a copy
//! (with any group it alone still holds) is only touched or freed once no
//! reader can see it.
//!
//! Chosen over `arc-swap` of a persistent trie because lookups stay plain
//! array walks with no reference counting per packet, and updates to a
//! multibit trie stay in place; the price is two copies of the tables.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use left_right::{ReadGuard, ReadHandle, ReadHandleFactory, WriteHandle};

use super::group::NextHopGroup;
use super::liveness::Liveness;
use super::nexthop::{NextHop, NextHopId};
use super::prefix_set::PrefixSet;
use super::snapshot::{FibOp, FibSnapshot};
use super::target::{GroupId, RouteTarget};

/// Sizing of a FIB.
#[derive(Clone, Copy, Debug)]
pub struct FibConfig {
    /// Bits resolved by the first IPv4 trie level (24 = DIR-24-8).
    pub v4_first_stride: u8,
    /// Bits resolved by the first IPv6 trie level.
    pub v6_first_stride: u8,
    /// Capacity of the next-hop table and its liveness bitmap.
    pub max_nexthops: u32,
}

impl Default for FibConfig {
    fn default() -> Self {
        Self {
            v4_first_stride: 24,
            v6_first_stride: 16,
            max_nexthops: 1 << 16,
        }
    }
}

/// Why a FIB change was refused. Nothing is applied when one is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FibError {
    /// A route points to a group that has not been set.
    UnknownGroup(GroupId),
    /// A group id beyond what a route can encode.
    GroupIdTooLarge(GroupId),
    /// A group refers to a next hop that has not been set.
    UnknownNextHop(NextHopId),
    /// A next-hop id beyond the configured capacity.
    NextHopIdTooLarge(NextHopId),
    /// The group is still used by this many routes.
    GroupInUse(GroupId, usize),
    /// The next hop is still a member of this many groups.
    NextHopInUse(NextHopId, usize),
}

impl std::fmt::Display for FibError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownGroup(g) => {
                write!(f, "next-hop group {} does not exist; set it first", g.0)
            }
            Self::GroupIdTooLarge(g) => write!(
                f,
                "next-hop group id {} is above the maximum {}",
                g.0,
                RouteTarget::MAX_GROUP
            ),
            Self::UnknownNextHop(n) => write!(f, "next hop {} does not exist; set it first", n.0),
            Self::NextHopIdTooLarge(n) => write!(
                f,
                "next-hop id {} is beyond the FIB's capacity (raise max_nexthops)",
                n.0
            ),
            Self::GroupInUse(g, n) => write!(
                f,
                "next-hop group {} is still used by {n} route(s); remove or repoint them first",
                g.0
            ),
            Self::NextHopInUse(h, n) => write!(
                f,
                "next hop {} is still a member of {n} group(s); update them first",
                h.0
            ),
        }
    }
}

impl std::error::Error for FibError {}

/// The single writer of a FIB (the control plane's FIB builder).
///
/// Changes are staged with the `set_*`/`remove_*` calls and become visible
/// to every reader atomically, as one batch, at [`FibWriter::publish`].
pub struct FibWriter {
    handle: WriteHandle<FibSnapshot, FibOp>,
    // The writer's own authoritative view, so that validation and the
    // covering-prefix computation never read a copy the readers use.
    v4: PrefixSet<u32>,
    v6: PrefixSet<u128>,
    groups: Vec<Option<Arc<NextHopGroup>>>,
    group_routes: Vec<usize>,
    nexthops: Vec<Option<NextHop>>,
    nexthop_groups: Vec<usize>,
    liveness: Arc<Liveness>,
    generation: u64,
    staged: usize,
}

/// Makes [`FibReader`]s; `Send + Sync`, so it can be handed to the threads
/// that start dataplane cores.
#[derive(Clone)]
pub struct FibReaderFactory {
    factory: ReadHandleFactory<FibSnapshot>,
    liveness: Arc<Liveness>,
}

/// A dataplane core's handle on the FIB. Not shared: each core has its own.
pub struct FibReader {
    handle: ReadHandle<FibSnapshot>,
    liveness: Arc<Liveness>,
}

/// The FIB version a reader sees for as long as it holds this guard. Hold
/// it for one burst, not longer: the writer's publish waits for it.
pub type FibGuard<'a> = ReadGuard<'a, FibSnapshot>;

impl FibReaderFactory {
    pub fn reader(&self) -> FibReader {
        FibReader {
            handle: self.factory.handle(),
            liveness: Arc::clone(&self.liveness),
        }
    }
}

impl FibReader {
    /// Enters the current FIB version; `None` once the writer is gone.
    #[inline]
    pub fn enter(&self) -> Option<FibGuard<'_>> {
        self.handle.enter()
    }

    /// The next-hop liveness bits, shared with the writer and BFD.
    #[inline]
    pub fn liveness(&self) -> &Arc<Liveness> {
        &self.liveness
    }
}

impl FibWriter {
    /// An empty FIB and a factory for its readers.
    pub fn new(config: FibConfig) -> (FibWriter, FibReaderFactory) {
        let empty = FibSnapshot::new(config.v4_first_stride, config.v6_first_stride);
        let (mut handle, reader) = left_right::new_from_empty(empty);
        // Publish the empty table at once so readers never see "no FIB".
        handle.publish();
        let liveness = Arc::new(Liveness::new(config.max_nexthops as usize));
        let factory = FibReaderFactory {
            factory: reader.factory(),
            liveness: Arc::clone(&liveness),
        };
        let writer = FibWriter {
            handle,
            v4: PrefixSet::new(),
            v6: PrefixSet::new(),
            groups: Vec::new(),
            group_routes: Vec::new(),
            nexthops: Vec::new(),
            nexthop_groups: Vec::new(),
            liveness,
            generation: 0,
            staged: 0,
        };
        (writer, factory)
    }

    /// The liveness bits of every next hop. Setting a bit needs no publish.
    pub fn liveness(&self) -> &Arc<Liveness> {
        &self.liveness
    }

    /// Sets (adds or replaces) a next hop. Its liveness bit is left as is.
    pub fn set_nexthop(&mut self, id: NextHopId, nexthop: NextHop) -> Result<(), FibError> {
        if id.0 as usize >= self.liveness.capacity() {
            return Err(FibError::NextHopIdTooLarge(id));
        }
        grow_to(&mut self.nexthops, id.0 as usize);
        grow_counts(&mut self.nexthop_groups, id.0 as usize);
        self.nexthops[id.0 as usize] = Some(nexthop);
        self.stage(FibOp::SetNextHop {
            id,
            nexthop: Some(nexthop),
        });
        Ok(())
    }

    /// Removes a next hop no group uses any more, and marks it down.
    pub fn remove_nexthop(&mut self, id: NextHopId) -> Result<Option<NextHop>, FibError> {
        let i = id.0 as usize;
        let users = self.nexthop_groups.get(i).copied().unwrap_or(0);
        if users > 0 {
            return Err(FibError::NextHopInUse(id, users));
        }
        let old = self.nexthops.get_mut(i).and_then(Option::take);
        if old.is_some() {
            self.liveness.set(id, false);
            self.stage(FibOp::SetNextHop { id, nexthop: None });
        }
        Ok(old)
    }

    pub fn nexthop(&self, id: NextHopId) -> Option<&NextHop> {
        self.nexthops.get(id.0 as usize)?.as_ref()
    }

    /// Sets (adds or replaces) a next-hop group. Every member must exist.
    pub fn set_group(&mut self, id: GroupId, group: NextHopGroup) -> Result<(), FibError> {
        if id.0 > RouteTarget::MAX_GROUP {
            return Err(FibError::GroupIdTooLarge(id));
        }
        if let Some(missing) = group.nexthops().find(|n| self.nexthop(*n).is_none()) {
            return Err(FibError::UnknownNextHop(missing));
        }
        let i = id.0 as usize;
        grow_to(&mut self.groups, i);
        grow_counts(&mut self.group_routes, i);
        let group = Arc::new(group);
        if let Some(old) = self.groups[i].replace(Arc::clone(&group)) {
            for n in old.nexthops() {
                self.nexthop_groups[n.0 as usize] -= 1;
            }
        }
        for n in group.nexthops() {
            self.nexthop_groups[n.0 as usize] += 1;
        }
        self.stage(FibOp::SetGroup {
            id,
            group: Some(group),
        });
        Ok(())
    }

    /// Removes a group no route uses any more.
    pub fn remove_group(&mut self, id: GroupId) -> Result<(), FibError> {
        let i = id.0 as usize;
        let users = self.group_routes.get(i).copied().unwrap_or(0);
        if users > 0 {
            return Err(FibError::GroupInUse(id, users));
        }
        if let Some(old) = self.groups.get_mut(i).and_then(Option::take) {
            for n in old.nexthops() {
                self.nexthop_groups[n.0 as usize] -= 1;
            }
            self.stage(FibOp::SetGroup { id, group: None });
        }
        Ok(())
    }

    pub fn group(&self, id: GroupId) -> Option<&Arc<NextHopGroup>> {
        self.groups.get(id.0 as usize)?.as_ref()
    }

    /// Adds or replaces the route for `prefix` (host bits are ignored).
    pub fn set_route(&mut self, prefix: IpNet, target: RouteTarget) -> Result<(), FibError> {
        if let RouteTarget::Group(g) = target {
            if self.group(g).is_none() {
                return Err(FibError::UnknownGroup(g));
            }
            self.group_routes[g.0 as usize] += 1;
        }
        let value = target.encode();
        let old = match prefix.trunc() {
            IpNet::V4(net) => {
                let (p, len) = (u32::from(net.network()), net.prefix_len());
                let old = self.v4.insert(p, len, value);
                self.stage(FibOp::SetV4 {
                    prefix: p,
                    len,
                    value,
                });
                old
            }
            IpNet::V6(net) => {
                let (p, len) = (u128::from(net.network()), net.prefix_len());
                let old = self.v6.insert(p, len, value);
                self.stage(FibOp::SetV6 {
                    prefix: p,
                    len,
                    value,
                });
                old
            }
        };
        self.release_target(old);
        Ok(())
    }

    /// Removes the route for exactly `prefix`; returns what it pointed to.
    pub fn remove_route(&mut self, prefix: IpNet) -> Option<RouteTarget> {
        let old = match prefix.trunc() {
            IpNet::V4(net) => {
                let (p, len) = (u32::from(net.network()), net.prefix_len());
                let old = self.v4.remove(p, len)?;
                let covering = self.v4.covering(p, len);
                self.stage(FibOp::RemoveV4 {
                    prefix: p,
                    len,
                    covering,
                });
                old
            }
            IpNet::V6(net) => {
                let (p, len) = (u128::from(net.network()), net.prefix_len());
                let old = self.v6.remove(p, len)?;
                let covering = self.v6.covering(p, len);
                self.stage(FibOp::RemoveV6 {
                    prefix: p,
                    len,
                    covering,
                });
                old
            }
        };
        self.release_target(Some(old));
        RouteTarget::decode(old)
    }

    /// The route for exactly `prefix`, as the writer has it staged.
    pub fn route(&self, prefix: IpNet) -> Option<RouteTarget> {
        let value = match prefix.trunc() {
            IpNet::V4(n) => self.v4.get(u32::from(n.network()), n.prefix_len()),
            IpNet::V6(n) => self.v6.get(u128::from(n.network()), n.prefix_len()),
        }?;
        RouteTarget::decode(value)
    }

    /// Routes in the writer's view: (IPv4 count, IPv6 count).
    pub fn route_counts(&self) -> (usize, usize) {
        (self.v4.len(), self.v6.len())
    }

    /// Changes staged since the last publish.
    pub fn staged(&self) -> usize {
        self.staged
    }

    /// Makes every staged change visible to readers, atomically. Returns the
    /// new generation. Waits (without blocking readers) until no reader is
    /// still in the copy that is about to be updated.
    pub fn publish(&mut self) -> u64 {
        self.generation += 1;
        self.handle.append(FibOp::Generation(self.generation));
        self.handle.publish();
        self.staged = 0;
        self.generation
    }

    /// The generation the last publish made visible.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Resolves `addr` the way a dataplane core would right now, for tools
    /// (`show fib ADDR`): matched prefix length and target.
    pub fn lookup(&self, addr: IpAddr) -> Option<(u8, RouteTarget)> {
        let snapshot = self.handle.enter()?;
        match addr {
            IpAddr::V4(a) => snapshot.lookup_v4_with_len(u32::from(a)),
            IpAddr::V6(a) => snapshot.lookup_v6_with_len(u128::from(a)),
        }
    }

    fn stage(&mut self, op: FibOp) {
        self.staged += 1;
        self.handle.append(op);
    }

    fn release_target(&mut self, old: Option<u32>) {
        if let Some(RouteTarget::Group(g)) = old.and_then(RouteTarget::decode) {
            self.group_routes[g.0 as usize] -= 1;
        }
    }
}

fn grow_to<T>(table: &mut Vec<Option<T>>, index: usize) {
    if index >= table.len() {
        table.resize_with(index + 1, || None);
    }
}

fn grow_counts(counts: &mut Vec<usize>, index: usize) {
    if index >= counts.len() {
        counts.resize(index + 1, 0);
    }
}
