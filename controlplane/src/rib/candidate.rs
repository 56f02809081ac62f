//! A candidate route: one source's proposal for one prefix.
//!
//! The shared [`Route`] type carries forwarding next hops only; the RIB also
//! holds routes that discard (blackhole, reject) and the router's own
//! addresses, so a candidate wraps what a route does in a [`RouteKind`].

use std::cmp::Ordering;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::route::{Route, RouteNextHop, RouteSource};

/// What a route does with the packets it matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteKind {
    /// Forward through these next hops (tiers and weights as given).
    Forward(Vec<RouteNextHop>),
    /// Drop silently (a null route).
    Blackhole,
    /// Drop and answer ICMP unreachable.
    Reject,
    /// One of the router's own addresses: deliver to the host.
    Local,
}

impl RouteKind {
    pub fn is_forward(&self) -> bool {
        matches!(self, RouteKind::Forward(_))
    }
}

/// One candidate for a prefix.
///
/// `instance` tells apart several candidates of one source for the same
/// prefix: floating static routes (one per distance), one per BGP peer, one
/// per OSPF instance, one per port for connected subnets. Routes handed over
/// as the shared [`Route`] type use instance 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Candidate {
    pub source: RouteSource,
    pub instance: u32,
    pub distance: u8,
    pub metric: u32,
    pub kind: RouteKind,
}

/// Identifies a candidate within its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CandidateKey {
    pub source: RouteSource,
    pub instance: u32,
}

impl Candidate {
    /// The candidate a protocol's [`Route`] stands for, with its prefix
    /// (host bits cleared).
    pub fn from_route(route: Route) -> (IpNet, Candidate) {
        let candidate = Candidate {
            source: route.source,
            instance: 0,
            distance: route.distance,
            metric: route.metric,
            kind: RouteKind::Forward(route.next_hops),
        };
        (route.prefix.trunc(), candidate)
    }

    pub fn key(&self) -> CandidateKey {
        CandidateKey {
            source: self.source,
            instance: self.instance,
        }
    }

    /// Preference order: lower distance, then lower metric, then the source
    /// with the lower default distance (two sources configured to the same
    /// distance still need a deterministic winner), then lower instance.
    pub(crate) fn preference(&self, other: &Candidate) -> Ordering {
        (
            self.distance,
            self.metric,
            self.source.default_distance(),
            self.instance,
        )
            .cmp(&(
                other.distance,
                other.metric,
                other.source.default_distance(),
                other.instance,
            ))
    }

    /// Whether the next hops of both may be merged into one ECMP set: both
    /// forward, and neither is preferred on anything but the instance.
    pub(crate) fn ties_with(&self, other: &Candidate) -> bool {
        self.kind.is_forward()
            && other.kind.is_forward()
            && self.source == other.source
            && self.distance == other.distance
            && self.metric == other.metric
    }
}
