//! A route as protocols hand it to the RIB.
//!
//! This is the vocabulary shared by every route source (connected, static,
//! OSPF, BGP) and the RIB: a protocol emits `Action::Rib(RibUpdate)` carrying
//! these types, the RIB keeps one candidate per (prefix, source) and selects.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::rib::{Candidate, CandidateKey};

/// Who contributed a route. The RIB keeps one candidate per (prefix, source),
/// so a protocol replacing its own route never disturbs another source's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RouteSource {
    Connected,
    Static,
    Ospf,
    Ebgp,
    Ibgp,
}

impl RouteSource {
    /// The administrative distance operators expect from FRR/Cisco, used
    /// when configuration does not override it.
    pub fn default_distance(self) -> u8 {
        match self {
            RouteSource::Connected => 0,
            RouteSource::Static => 1,
            RouteSource::Ebgp => 20,
            RouteSource::Ospf => 110,
            RouteSource::Ibgp => 200,
        }
    }
}

/// One way to reach a prefix.
///
/// `gateway: None` means directly attached (deliver on `port`); `port: None`
/// means the gateway must be resolved recursively through the RIB.
/// `tier` orders primary (0) before backups (1, 2, …), matching the
/// dataplane's next-hop group tiers; `weight` splits traffic inside a tier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RouteNextHop {
    pub gateway: Option<IpAddr>,
    pub port: Option<u16>,
    pub weight: u32,
    pub tier: u8,
}

/// A candidate route for one prefix from one source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Route {
    pub prefix: IpNet,
    pub source: RouteSource,
    pub distance: u8,
    pub metric: u32,
    pub next_hops: Vec<RouteNextHop>,
}

/// What a protocol asks of the RIB.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RibUpdate {
    /// Install or replace this source's candidate for `route.prefix`.
    Add(Route),
    /// Remove this source's candidate for `prefix`, if any.
    Withdraw { prefix: IpNet, source: RouteSource },
    /// Install or replace one candidate of several a source keeps for one
    /// prefix (floating static routes: one per distance), or one that
    /// discards (blackhole, reject) rather than forwards.
    SetCandidate { prefix: IpNet, candidate: Candidate },
    /// Remove the candidate `key` for `prefix`, if any.
    RemoveCandidate { prefix: IpNet, key: CandidateKey },
}
