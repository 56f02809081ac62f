//! Whether each next hop may carry traffic, and the dataplane liveness bits
//! that say so.
//!
//! Two things decide: the port's link (carrier), which applies to every
//! next hop on the port whatever route uses it, and the verdicts of
//! protocols that check a next hop themselves (static routes' probes, later
//! BFD). A next hop is live when its link is up and no verdict says down.
//! The RIB allocates next-hop ids, so a next hop gets its bit when it
//! first appears ([`NextHopHealth::adopt`]) and keeps it in step after.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use controlplane::rib::{NextHopKey, Rib};
use dataplane::fib::{Liveness, NextHopId};
use dataplane::port::PortId;

#[derive(Debug, Default)]
pub struct NextHopHealth {
    links_down: BTreeSet<PortId>,
    /// Protocol verdicts by (port, gateway); absent means "no opinion".
    verdicts: BTreeMap<(PortId, Option<IpAddr>), bool>,
}

impl NextHopHealth {
    pub fn new(down_ports: impl IntoIterator<Item = PortId>) -> Self {
        NextHopHealth {
            links_down: down_ports.into_iter().collect(),
            verdicts: BTreeMap::new(),
        }
    }

    pub fn is_live(&self, port: PortId, gateway: Option<IpAddr>) -> bool {
        !self.links_down.contains(&port) && self.verdicts.get(&(port, gateway)) != Some(&false)
    }

    pub fn link_up(&self, port: PortId) -> bool {
        !self.links_down.contains(&port)
    }

    /// The port's carrier changed: every next hop on it follows at once.
    pub fn set_link(&mut self, port: PortId, up: bool, rib: &Rib, liveness: &Liveness) {
        let changed = if up {
            self.links_down.remove(&port)
        } else {
            self.links_down.insert(port)
        };
        if !changed {
            return;
        }
        for (id, key) in rib.nexthops() {
            if key.port == port {
                liveness.set(id, self.is_live(key.port, key.gateway));
            }
        }
    }

    /// A protocol's verdict on (port, gateway); `None` withdraws it.
    pub fn set_verdict(
        &mut self,
        port: PortId,
        gateway: Option<IpAddr>,
        live: Option<bool>,
        rib: &Rib,
        liveness: &Liveness,
    ) {
        match live {
            Some(live) => self.verdicts.insert((port, gateway), live),
            None => self.verdicts.remove(&(port, gateway)),
        };
        if let Some(id) = rib.nexthop_id(port, gateway) {
            liveness.set(id, self.is_live(port, gateway));
        }
    }

    /// Sets the bits of next hops a RIB commit just created.
    pub fn adopt(&self, added: &[(NextHopId, NextHopKey)], liveness: &Liveness) {
        for (id, key) in added {
            liveness.set(*id, self.is_live(key.port, key.gateway));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use controlplane::route::{Route, RouteNextHop, RouteSource};
    use dataplane::fib::{FibConfig, FibWriter};

    fn small_fib() -> FibWriter {
        FibWriter::new(FibConfig {
            v4_first_stride: 16,
            v6_first_stride: 16,
            max_nexthops: 64,
        })
        .0
    }

    fn via(gw: &str, port: PortId, tier: u8) -> RouteNextHop {
        RouteNextHop {
            gateway: Some(gw.parse().unwrap()),
            port: Some(port),
            weight: 1,
            tier,
        }
    }

    #[test]
    fn link_and_verdict_both_decide_and_new_next_hops_start_right() {
        let mut fib = small_fib();
        let mut rib = Rib::default();
        rib.add_connected(0, "10.0.0.1/24".parse().unwrap());
        rib.add_connected(1, "10.1.0.1/24".parse().unwrap());
        rib.add(Route {
            prefix: "0.0.0.0/0".parse().unwrap(),
            source: RouteSource::Static,
            distance: 1,
            metric: 0,
            next_hops: vec![via("10.0.0.254", 0, 0), via("10.1.0.254", 1, 1)],
        });
        let mut health = NextHopHealth::new([1]);
        let report = rib.commit(&mut fib).unwrap();
        let liveness = fib.liveness().clone();
        health.adopt(&report.nexthops_added, &liveness);
        let gw0 = rib
            .nexthop_id(0, Some("10.0.0.254".parse().unwrap()))
            .unwrap();
        let gw1 = rib
            .nexthop_id(1, Some("10.1.0.254".parse().unwrap()))
            .unwrap();
        assert!(liveness.is_live(gw0));
        assert!(!liveness.is_live(gw1), "port 1 started down");

        health.set_link(1, true, &rib, &liveness);
        assert!(liveness.is_live(gw1));
        health.set_verdict(
            0,
            Some("10.0.0.254".parse().unwrap()),
            Some(false),
            &rib,
            &liveness,
        );
        assert!(
            !liveness.is_live(gw0),
            "a down verdict wins over an up link"
        );
        health.set_link(0, false, &rib, &liveness);
        health.set_verdict(
            0,
            Some("10.0.0.254".parse().unwrap()),
            Some(true),
            &rib,
            &liveness,
        );
        assert!(
            !liveness.is_live(gw0),
            "an up verdict cannot revive a down link"
        );
        health.set_link(0, true, &rib, &liveness);
        assert!(liveness.is_live(gw0));
        assert!(
            liveness.is_live(gw1),
            "port 0's changes never touched port 1"
        );
    }
}
