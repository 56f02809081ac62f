//! Adj-RIB-In (RFC 4271 §3.2): the routes one peer advertised to us.
//!
//! One map holds every route as received ("pre-policy") with the verdict of
//! the import checks; the accepted ones are the "post-policy" view that
//! reaches the RIB. Inbound route maps will turn into verdicts here, which
//! is what lets a policy change re-run on what is stored (soft
//! reconfiguration) instead of resetting the session. Attributes are shared
//! by every prefix of one UPDATE.
//!
//! A route may be *stale*: kept from a session that is gone while the peer
//! restarts (RFC 4724 §4.2) or while it re-sends everything after an
//! enhanced route refresh (RFC 7313 §4). A fresh advertisement clears it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;

use super::config::Family;
use super::packet::PathAttributes;

/// Why an import check refused a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// Our AS is in the AS_PATH (RFC 4271 §9.1.2).
    AsPathLoop,
    /// The NEXT_HOP is our own address on the session (RFC 4271 §6.3).
    NextHopIsLocal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteIn {
    pub attrs: Arc<PathAttributes>,
    /// NEXT_HOP, or the MP_REACH_NLRI next hop.
    pub next_hop: IpAddr,
    /// `None`: accepted.
    pub rejected: Option<Rejection>,
    pub stale: bool,
}

impl RouteIn {
    pub fn is_accepted(&self) -> bool {
        self.rejected.is_none()
    }
}

#[derive(Debug, Clone, Default)]
pub struct AdjRibIn {
    routes: BTreeMap<IpNet, RouteIn>,
    accepted: usize,
}

impl AdjRibIn {
    pub fn new() -> AdjRibIn {
        AdjRibIn::default()
    }

    /// Stores or replaces the route for `prefix` (RFC 4271 §9: a new
    /// route with the same NLRI implicitly withdraws the old one) and
    /// returns the one it replaced.
    pub fn insert(&mut self, prefix: IpNet, route: RouteIn) -> Option<RouteIn> {
        let accepted = route.is_accepted();
        let old = self.routes.insert(prefix, route);
        self.count(old.as_ref(), accepted);
        old
    }

    pub fn remove(&mut self, prefix: &IpNet) -> Option<RouteIn> {
        let old = self.routes.remove(prefix);
        self.count(old.as_ref(), false);
        old
    }

    fn count(&mut self, old: Option<&RouteIn>, added_accepted: bool) {
        if old.is_some_and(RouteIn::is_accepted) {
            self.accepted -= 1;
        }
        if added_accepted {
            self.accepted += 1;
        }
    }

    pub fn get(&self, prefix: &IpNet) -> Option<&RouteIn> {
        self.routes.get(prefix)
    }

    /// Every route received, in prefix order.
    pub fn pre_policy(&self) -> impl Iterator<Item = (&IpNet, &RouteIn)> + '_ {
        self.routes.iter()
    }

    /// The accepted routes, in prefix order.
    pub fn post_policy(&self) -> impl Iterator<Item = (&IpNet, &RouteIn)> + '_ {
        self.routes.iter().filter(|(_, r)| r.is_accepted())
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    pub fn accepted_count(&self) -> usize {
        self.accepted
    }

    pub fn stale_count(&self) -> usize {
        self.routes.values().filter(|r| r.stale).count()
    }

    /// Marks the routes of `families` stale; returns how many.
    pub fn mark_stale(&mut self, families: &[Family]) -> usize {
        let mut marked = 0;
        for (prefix, route) in &mut self.routes {
            if families.contains(&Family::of(prefix)) {
                route.stale = true;
                marked += 1;
            }
        }
        marked
    }

    /// Removes the stale routes of the families `which` selects, returning
    /// them in prefix order.
    pub fn take_stale(&mut self, which: impl Fn(Family) -> bool) -> Vec<(IpNet, RouteIn)> {
        self.take(|prefix, route| route.stale && which(Family::of(prefix)))
    }

    /// Removes the routes of the families `which` selects.
    pub fn take_family(&mut self, which: impl Fn(Family) -> bool) -> Vec<(IpNet, RouteIn)> {
        self.take(|prefix, _| which(Family::of(prefix)))
    }

    /// Empties the table, returning what it held in prefix order.
    pub fn take_all(&mut self) -> Vec<(IpNet, RouteIn)> {
        self.accepted = 0;
        std::mem::take(&mut self.routes).into_iter().collect()
    }

    fn take(&mut self, select: impl Fn(&IpNet, &RouteIn) -> bool) -> Vec<(IpNet, RouteIn)> {
        let chosen: Vec<IpNet> = self
            .routes
            .iter()
            .filter(|(prefix, route)| select(prefix, route))
            .map(|(prefix, _)| *prefix)
            .collect();
        chosen
            .into_iter()
            .filter_map(|prefix| self.remove(&prefix).map(|route| (prefix, route)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(rejected: Option<Rejection>) -> RouteIn {
        RouteIn {
            attrs: Arc::new(PathAttributes::default()),
            next_hop: "192.0.2.1".parse().unwrap(),
            rejected,
            stale: false,
        }
    }

    #[test]
    fn accepted_count_follows_inserts_replacements_and_removals() {
        let mut rib = AdjRibIn::new();
        let a: IpNet = "10.0.0.0/8".parse().unwrap();
        let b: IpNet = "2001:db8::/32".parse().unwrap();
        rib.insert(a, route(None));
        rib.insert(b, route(Some(Rejection::AsPathLoop)));
        assert_eq!((rib.len(), rib.accepted_count()), (2, 1));
        rib.insert(a, route(Some(Rejection::NextHopIsLocal)));
        assert_eq!(rib.accepted_count(), 0);
        rib.insert(b, route(None));
        assert_eq!(rib.accepted_count(), 1);
        assert_eq!(rib.post_policy().count(), 1);
        rib.remove(&b);
        assert_eq!((rib.len(), rib.accepted_count()), (1, 0));
    }

    #[test]
    fn stale_routes_are_taken_per_family() {
        let mut rib = AdjRibIn::new();
        let v4: IpNet = "10.0.0.0/8".parse().unwrap();
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        rib.insert(v4, route(None));
        rib.insert(v6, route(None));
        assert_eq!(
            rib.mark_stale(&[Family::Ipv4Unicast, Family::Ipv6Unicast]),
            2
        );
        rib.insert(v6, route(None)); // refreshed: no longer stale
        let taken = rib.take_stale(|_| true);
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].0, v4);
        assert_eq!((rib.len(), rib.accepted_count()), (1, 1));
    }
}
