//! The routing information base.
//!
//! Every source (connected, static, OSPF, BGP) hands the RIB candidate
//! routes; per prefix the RIB selects the best by administrative distance
//! then metric (FRR's defaults: connected 0, static 1, eBGP 20, OSPF 110,
//! iBGP 200), merges equal candidates of one source into ECMP, resolves
//! gateways recursively through its own routes, and turns the result into
//! FIB changes: routes pointing to next-hop groups that identical routes
//! share, so a failing or moving gateway touches one group, not every
//! route through it.
//!
//! Changes are staged with the `add*`/`withdraw*`/`*_connected` calls and
//! applied at [`Rib::commit`], which re-evaluates only the prefixes that
//! can have changed and publishes the FIB once per batch.
//!
//! The RIB allocates next-hop ids but leaves their liveness (link state,
//! BFD) to the daemon: [`CommitReport::nexthops_added`] and
//! [`Rib::nexthops`] say which id is which (port, gateway).

mod candidate;
mod connected;
mod fib_sync;
mod nexthop_groups;
mod resolve;
mod selection;
mod table;
mod tracking;
mod view;

use std::net::IpAddr;

use dataplane::fib::NextHopId;
use dataplane::port::PortId;
use ipnet::IpNet;

pub use candidate::{Candidate, CandidateKey, RouteKind};
pub use fib_sync::{CommitReport, RibError};
pub use nexthop_groups::{InstallError, NextHopKey};
pub use resolve::{ResolvedMember, ResolvedTiers, Unresolved};
pub use selection::{CandidateStatus, SelectionRule};
pub use view::{CandidateView, ResolvedNextHopView, RibCounts, RibEntryView, SourceCounts};

use crate::route::{RibUpdate, Route, RouteSource};
use connected::ConnectedAddresses;
use nexthop_groups::GroupTable;
use table::Table;
use tracking::Tracking;

/// RIB behaviour knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RibConfig {
    /// Most next hops per tier of an installed route (ECMP width).
    pub max_paths: usize,
    /// Most nested levels of recursive resolution (1: a gateway may only
    /// resolve through a route that needs no resolution itself).
    pub max_recursion: u8,
}

impl Default for RibConfig {
    fn default() -> Self {
        // FRR's default build allows 64-way multipath.
        RibConfig {
            max_paths: 64,
            max_recursion: 8,
        }
    }
}

/// The RIB. One per router; driven from the control-plane thread.
#[derive(Debug, Default)]
pub struct Rib {
    config: RibConfig,
    table: Table,
    tracking: Tracking,
    groups: GroupTable,
    connected: ConnectedAddresses,
    /// Prefixes to re-evaluate at the next commit (each once: its entry
    /// is flagged dirty when it is added here).
    dirty: Vec<IpNet>,
    /// Prefixes whose route could not be installed, retried next commit.
    failed: Vec<IpNet>,
    counts: RibCounts,
}

impl Rib {
    pub fn new(config: RibConfig) -> Self {
        Rib {
            config,
            ..Rib::default()
        }
    }

    pub fn config(&self) -> RibConfig {
        self.config
    }

    /// Adds or replaces `route.source`'s candidate (instance 0) for
    /// `route.prefix`. Returns whether anything changed.
    pub fn add(&mut self, route: Route) -> bool {
        let (prefix, candidate) = Candidate::from_route(route);
        self.add_candidate(prefix, candidate)
    }

    /// Adds or replaces the candidate with `candidate.key()` for `prefix`.
    pub fn add_candidate(&mut self, prefix: IpNet, candidate: Candidate) -> bool {
        let prefix = prefix.trunc();
        let source = candidate.source;
        let (old, changed) = self.table.upsert(prefix, candidate);
        if changed {
            if let Some(old) = old {
                self.counts.candidates.remove(old.source);
            }
            self.counts.candidates.add(source);
            self.mark_dirty(prefix);
        }
        changed
    }

    /// Withdraws `source`'s candidate (instance 0) for `prefix`.
    pub fn withdraw(&mut self, prefix: IpNet, source: RouteSource) -> bool {
        self.withdraw_candidate(
            prefix,
            CandidateKey {
                source,
                instance: 0,
            },
        )
    }

    /// Withdraws the candidate with `key` for `prefix`, if there is one.
    pub fn withdraw_candidate(&mut self, prefix: IpNet, key: CandidateKey) -> bool {
        let prefix = prefix.trunc();
        let Some(old) = self.table.remove(prefix, key) else {
            return false;
        };
        self.counts.candidates.remove(old.source);
        self.mark_dirty(prefix);
        true
    }

    /// Applies a protocol's update (instance 0 of its source).
    pub fn apply(&mut self, update: RibUpdate) -> bool {
        match update {
            RibUpdate::Add(route) => self.add(route),
            RibUpdate::Withdraw { prefix, source } => self.withdraw(prefix, source),
            RibUpdate::SetCandidate { prefix, candidate } => self.add_candidate(prefix, candidate),
            RibUpdate::RemoveCandidate { prefix, key } => self.withdraw_candidate(prefix, key),
        }
    }

    /// `address` (with its prefix length) was configured on `port`: its
    /// subnet becomes attached there, and the address itself local.
    pub fn add_connected(&mut self, port: PortId, address: IpNet) -> bool {
        if !self.connected.insert(port, address) {
            return false;
        }
        if connected::has_subnet(address) {
            self.add_candidate(address.trunc(), connected::subnet_candidate(port));
        }
        if let Some(host) = connected::host_route(address) {
            self.add_candidate(host, connected::local_candidate(port));
        }
        true
    }

    /// `address` was removed from `port`. The subnet and host routes stay
    /// while another address of the port still gives them.
    pub fn remove_connected(&mut self, port: PortId, address: IpNet) -> bool {
        if !self.connected.remove(port, address) {
            return false;
        }
        let key = CandidateKey {
            source: RouteSource::Connected,
            instance: u32::from(port),
        };
        let subnet = address.trunc();
        if connected::has_subnet(address) && !self.connected.has_subnet(port, subnet) {
            self.withdraw_candidate(subnet, key);
        }
        if let Some(host) = connected::host_route(address)
            && !self.connected.has_host(port, host)
        {
            self.withdraw_candidate(host, key);
        }
        true
    }

    /// Prefixes waiting for the next commit.
    pub fn pending(&self) -> usize {
        self.dirty.len()
    }

    /// Candidates and selected routes by source (selected as of the last
    /// commit).
    pub fn counts(&self) -> RibCounts {
        self.counts
    }

    /// The next-hop id of (port, gateway), when a group uses it.
    pub fn nexthop_id(&self, port: PortId, gateway: Option<IpAddr>) -> Option<NextHopId> {
        self.groups.nexthops.id(&NextHopKey { port, gateway })
    }

    /// What a next-hop id stands for.
    pub fn nexthop(&self, id: NextHopId) -> Option<NextHopKey> {
        self.groups.nexthops.key(id)
    }

    /// Every next-hop id in use, by id.
    pub fn nexthops(&self) -> impl Iterator<Item = (NextHopId, NextHopKey)> + '_ {
        self.groups.nexthops.iter()
    }

    /// Next-hop ids in use.
    pub fn nexthop_count(&self) -> usize {
        self.groups.nexthops.len()
    }

    /// Next-hop groups in use.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Gateways whose resolution is tracked.
    pub fn tracked_gateways(&self) -> usize {
        self.tracking.gateway_count()
    }

    /// Marks `prefix` and every prefix whose resolution went through a
    /// gateway inside it for re-evaluation.
    fn mark_dirty(&mut self, prefix: IpNet) {
        let dependents: Vec<IpNet> = self.tracking.dependents_within(prefix).collect();
        for p in std::iter::once(prefix).chain(dependents) {
            if let Some(entry) = self.table.entry_mut(&p)
                && !entry.dirty
            {
                entry.dirty = true;
                self.dirty.push(p);
            }
        }
    }
}
