//! One copy of the FIB as the dataplane reads it, and the operations that
//! change it. Two copies exist (see [`super::publish`]); every operation is
//! applied to each in turn, so applying one must be deterministic and cost
//! only what the change itself touches.

use std::sync::Arc;

use left_right::Absorb;

use super::group::NextHopGroup;
use super::lpm::StrideLpm;
use super::nexthop::{NextHop, NextHopId};
use super::target::{GroupId, RouteTarget};

/// The tables one dataplane lookup walks: LPM → group → next hop.
#[derive(Clone)]
pub struct FibSnapshot {
    pub(super) v4: StrideLpm<u32>,
    pub(super) v6: StrideLpm<u128>,
    /// Groups are immutable once built and shared by both copies; replacing
    /// one swaps the `Arc`, and the old group is freed when neither copy
    /// (and so no reader) holds it any more.
    pub(super) groups: Vec<Option<Arc<NextHopGroup>>>,
    pub(super) nexthops: Vec<Option<NextHop>>,
    /// Number of batches published into this copy; lets readers and tests
    /// tell which version they see.
    pub(super) generation: u64,
}

/// One change to the FIB. Built by [`super::publish::FibWriter`], which
/// computes everything that needs the writer's global view (such as the
/// covering prefix of a removed route) so that applying an op is local.
pub enum FibOp {
    SetV4 {
        prefix: u32,
        len: u8,
        value: u32,
    },
    RemoveV4 {
        prefix: u32,
        len: u8,
        covering: Option<(u8, u32)>,
    },
    SetV6 {
        prefix: u128,
        len: u8,
        value: u32,
    },
    RemoveV6 {
        prefix: u128,
        len: u8,
        covering: Option<(u8, u32)>,
    },
    SetGroup {
        id: GroupId,
        group: Option<Arc<NextHopGroup>>,
    },
    SetNextHop {
        id: NextHopId,
        nexthop: Option<NextHop>,
    },
    Generation(u64),
}

impl FibSnapshot {
    pub(super) fn new(v4_first_stride: u8, v6_first_stride: u8) -> Self {
        Self {
            v4: StrideLpm::new(v4_first_stride),
            v6: StrideLpm::new(v6_first_stride),
            groups: Vec::new(),
            nexthops: Vec::new(),
            generation: 0,
        }
    }

    /// The route target for an IPv4 destination, `None` if no route.
    #[inline]
    pub fn lookup_v4(&self, dst: u32) -> Option<RouteTarget> {
        RouteTarget::decode(self.v4.lookup(dst))
    }

    /// The route target for an IPv6 destination, `None` if no route.
    #[inline]
    pub fn lookup_v6(&self, dst: u128) -> Option<RouteTarget> {
        RouteTarget::decode(self.v6.lookup(dst))
    }

    /// Raw LPM values for a batch of IPv4 destinations (0 = no route):
    /// lets the pipeline overlap the cache misses of a whole burst.
    #[inline]
    pub fn lookup_v4_batch(&self, dst: &[u32], out: &mut [u32]) {
        self.v4.lookup_batch(dst, out);
    }

    /// Raw LPM values for a batch of IPv6 destinations (0 = no route).
    #[inline]
    pub fn lookup_v6_batch(&self, dst: &[u128], out: &mut [u32]) {
        self.v6.lookup_batch(dst, out);
    }

    /// The matched prefix length and target, for `show fib ADDR`.
    pub fn lookup_v4_with_len(&self, dst: u32) -> Option<(u8, RouteTarget)> {
        let (len, value) = self.v4.lookup_with_len(dst)?;
        Some((len, RouteTarget::decode(value)?))
    }

    /// The matched prefix length and target, for `show fib ADDR`.
    pub fn lookup_v6_with_len(&self, dst: u128) -> Option<(u8, RouteTarget)> {
        let (len, value) = self.v6.lookup_with_len(dst)?;
        Some((len, RouteTarget::decode(value)?))
    }

    #[inline]
    pub fn group(&self, id: GroupId) -> Option<&NextHopGroup> {
        self.groups.get(id.0 as usize)?.as_deref()
    }

    #[inline]
    pub fn nexthop(&self, id: NextHopId) -> Option<&NextHop> {
        self.nexthops.get(id.0 as usize)?.as_ref()
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Heap bytes held by this copy's LPM tables (groups and next hops are
    /// small and shared).
    pub fn memory_bytes(&self) -> usize {
        self.v4.memory_bytes() + self.v6.memory_bytes()
    }

    fn apply(&mut self, op: &FibOp) {
        match *op {
            FibOp::SetV4 { prefix, len, value } => self.v4.insert(prefix, len, value),
            FibOp::RemoveV4 {
                prefix,
                len,
                covering,
            } => self.v4.remove(prefix, len, covering),
            FibOp::SetV6 { prefix, len, value } => self.v6.insert(prefix, len, value),
            FibOp::RemoveV6 {
                prefix,
                len,
                covering,
            } => self.v6.remove(prefix, len, covering),
            FibOp::SetGroup { id, ref group } => {
                set_slot(&mut self.groups, id.0 as usize, group.clone());
            }
            FibOp::SetNextHop { id, nexthop } => {
                set_slot(&mut self.nexthops, id.0 as usize, nexthop);
            }
            FibOp::Generation(g) => self.generation = g,
        }
    }
}

/// Stores `value` at `index`, growing the table as needed and shrinking it
/// when its tail empties, so ids freed by the writer do not pin memory.
fn set_slot<T>(table: &mut Vec<Option<T>>, index: usize, value: Option<T>) {
    if index >= table.len() {
        if value.is_none() {
            return;
        }
        table.resize_with(index + 1, || None);
    }
    table[index] = value;
    while matches!(table.last(), Some(None)) {
        table.pop();
    }
}

impl Absorb<FibOp> for FibSnapshot {
    fn absorb_first(&mut self, op: &mut FibOp, _other: &Self) {
        self.apply(op);
    }

    fn absorb_second(&mut self, op: FibOp, _other: &Self) {
        self.apply(&op);
    }

    fn sync_with(&mut self, first: &Self) {
        self.clone_from(first);
    }
}
