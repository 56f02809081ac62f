//! What the RIB shows operators (`vrctl show routes`) and metrics.

use std::fmt;
use std::net::IpAddr;

use dataplane::fib::{GroupId, NextHopId, RouteTarget};
use dataplane::port::PortId;
use ipnet::IpNet;

use super::Rib;
use super::candidate::Candidate;
use super::nexthop_groups::InstallError;
use super::resolve::Outcome;
use super::selection::{CandidateStatus, SelectionRule};
use crate::route::RouteSource;

/// One prefix: every candidate and where it stands, why the selected one
/// won, what it resolved to and what the FIB holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RibEntryView {
    pub prefix: IpNet,
    /// In preference order.
    pub candidates: Vec<CandidateView>,
    /// The rule that made the selected candidate win.
    pub decided_by: Option<SelectionRule>,
    pub selected_source: Option<RouteSource>,
    /// The selected route's next hops by tier, primary first.
    pub resolved: Vec<Vec<ResolvedNextHopView>>,
    /// What the FIB holds for the prefix.
    pub installed: Option<RouteTarget>,
    pub group: Option<GroupId>,
    pub install_error: Option<InstallError>,
    /// Changed since the last commit: statuses are not known yet.
    pub pending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateView {
    pub candidate: Candidate,
    pub status: CandidateStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedNextHopView {
    /// `None` while the route is not installed.
    pub id: Option<NextHopId>,
    pub port: PortId,
    pub gateway: Option<IpAddr>,
    pub weight: u32,
}

/// A count per route source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceCounts([usize; 5]);

impl SourceCounts {
    const SOURCES: [RouteSource; 5] = [
        RouteSource::Connected,
        RouteSource::Static,
        RouteSource::Ospf,
        RouteSource::Ebgp,
        RouteSource::Ibgp,
    ];

    pub fn get(&self, source: RouteSource) -> usize {
        self.0[Self::index(source)]
    }

    pub fn total(&self) -> usize {
        self.0.iter().sum()
    }

    pub fn iter(&self) -> impl Iterator<Item = (RouteSource, usize)> + '_ {
        Self::SOURCES.iter().map(|s| (*s, self.get(*s)))
    }

    pub(crate) fn add(&mut self, source: RouteSource) {
        let slot = &mut self.0[Self::index(source)];
        *slot = slot.saturating_add(1);
    }

    pub(crate) fn remove(&mut self, source: RouteSource) {
        let slot = &mut self.0[Self::index(source)];
        *slot = slot.saturating_sub(1);
    }

    fn index(source: RouteSource) -> usize {
        match source {
            RouteSource::Connected => 0,
            RouteSource::Static => 1,
            RouteSource::Ospf => 2,
            RouteSource::Ebgp => 3,
            RouteSource::Ibgp => 4,
        }
    }
}

/// Candidates held, and prefixes whose selected route is from each source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RibCounts {
    pub candidates: SourceCounts,
    pub selected: SourceCounts,
}

impl Rib {
    /// Everything about `prefix` (host bits ignored), as of the last commit
    /// for the selection; `None` if the RIB has no candidate for it and no
    /// route for it in the FIB.
    pub fn explain(&self, prefix: IpNet) -> Option<RibEntryView> {
        let prefix = prefix.trunc();
        let entry = self.table.entry(&prefix)?;
        let pending = entry.dirty;
        let evaluation = entry.evaluation.as_ref().filter(|_| !pending);
        let candidates = entry
            .candidates
            .iter()
            .enumerate()
            .map(|(index, candidate)| CandidateView {
                candidate: candidate.clone(),
                status: evaluation
                    .and_then(|e| e.statuses.get(index).cloned())
                    .unwrap_or(CandidateStatus::Pending),
            })
            .collect();
        let resolved = match evaluation.map(|e| &e.outcome) {
            Some(Outcome::Forward(tiers)) => tiers
                .iter()
                .map(|tier| {
                    tier.iter()
                        .map(|m| ResolvedNextHopView {
                            id: entry
                                .installed
                                .and_then(|_| self.groups.nexthops.id(&m.key)),
                            port: m.key.port,
                            gateway: m.key.gateway,
                            weight: m.weight,
                        })
                        .collect()
                })
                .collect(),
            _ => Vec::new(),
        };
        Some(RibEntryView {
            prefix,
            candidates,
            decided_by: evaluation.and_then(|e| e.decided_by),
            selected_source: evaluation.and_then(|e| e.winner_source),
            resolved,
            installed: entry.installed,
            group: match entry.installed {
                Some(RouteTarget::Group(g)) => Some(g),
                _ => None,
            },
            install_error: entry.install_error.clone(),
            pending,
        })
    }

    /// Every prefix the RIB holds, in address order, explained.
    pub fn routes(&self) -> impl Iterator<Item = RibEntryView> + '_ {
        let mut prefixes: Vec<IpNet> = self.table.prefixes().copied().collect();
        prefixes.sort_unstable();
        prefixes.into_iter().filter_map(|p| self.explain(p))
    }
}

impl fmt::Display for RibEntryView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.prefix)?;
        match (&self.installed, &self.decided_by) {
            (Some(target), Some(rule)) => writeln!(f, ": {target} ({rule})")?,
            (Some(target), None) => writeln!(f, ": {target}")?,
            (None, _) if self.pending => writeln!(f, ": pending")?,
            (None, _) => writeln!(f, ": not installed")?,
        }
        if let Some(e) = &self.install_error {
            writeln!(f, "  install failed: {e}")?;
        }
        for (tier, hops) in self.resolved.iter().enumerate() {
            for hop in hops {
                write!(f, "  tier {tier}: port {}", hop.port)?;
                if let Some(gateway) = hop.gateway {
                    write!(f, " via {gateway}")?;
                }
                if let Some(id) = hop.id {
                    write!(f, " ({id})")?;
                }
                writeln!(f, " weight {}", hop.weight)?;
            }
        }
        for view in &self.candidates {
            let c = &view.candidate;
            write!(
                f,
                "  {:?}[{}] distance {} metric {}: ",
                c.source, c.instance, c.distance, c.metric
            )?;
            match &view.status {
                CandidateStatus::Selected => writeln!(f, "selected")?,
                CandidateStatus::Lost(rule) => writeln!(f, "not selected ({rule})")?,
                CandidateStatus::Unresolved(why) => writeln!(f, "unresolved: {why}")?,
                CandidateStatus::Pending => writeln!(f, "pending")?,
            }
        }
        Ok(())
    }
}
