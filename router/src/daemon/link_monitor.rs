//! Link state → next-hop liveness. A next hop whose port loses carrier is
//! marked down at once (the dataplane moves its traffic to the next live
//! member or tier on the next packet) and up again when carrier returns.
//! BFD (its own issue) will drive the same bits, faster and end to end.

use std::time::Duration;

use dataplane::fib::{Liveness, NextHopId};
use dataplane::port::PortId;

/// How often carrier is read: a sysfs read per port, cheap.
pub const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// Watches the ports' carrier and keeps next-hop liveness in step.
pub struct LinkMonitor {
    ports: Vec<String>,
    up: Vec<Option<bool>>,
    nexthops: Vec<(NextHopId, PortId)>,
}

impl LinkMonitor {
    pub fn new(ports: Vec<String>, nexthops: Vec<(NextHopId, PortId)>) -> Self {
        let up = vec![None; ports.len()];
        Self {
            ports,
            up,
            nexthops,
        }
    }

    /// Reads every port's carrier and applies changes to `liveness`.
    /// Returns the ports whose state changed, with the new state.
    pub fn poll(
        &mut self,
        liveness: &Liveness,
        carrier: impl Fn(&str) -> bool,
    ) -> Vec<(String, bool)> {
        let mut changed = Vec::new();
        for (i, name) in self.ports.iter().enumerate() {
            let now_up = carrier(name);
            if self.up[i] == Some(now_up) {
                continue;
            }
            self.up[i] = Some(now_up);
            for (nh, port) in &self.nexthops {
                if *port as usize == i {
                    liveness.set(*nh, now_up);
                }
            }
            changed.push((name.clone(), now_up));
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    #[test]
    fn carrier_changes_flip_only_that_ports_nexthops() {
        let liveness = Liveness::new(8);
        let mut m = LinkMonitor::new(
            vec!["a".into(), "b".into()],
            vec![(NextHopId(1), 0), (NextHopId(2), 1), (NextHopId(3), 1)],
        );
        let state = RefCell::new(HashMap::from([("a", true), ("b", true)]));
        let read = |n: &str| state.borrow()[n];
        assert_eq!(m.poll(&liveness, read).len(), 2, "first poll reports both");
        assert!(liveness.is_live(NextHopId(1)) && liveness.is_live(NextHopId(3)));
        assert!(m.poll(&liveness, read).is_empty(), "nothing changed");
        state.borrow_mut().insert("b", false);
        assert_eq!(m.poll(&liveness, read), vec![("b".to_string(), false)]);
        assert!(liveness.is_live(NextHopId(1)));
        assert!(!liveness.is_live(NextHopId(2)) && !liveness.is_live(NextHopId(3)));
        state.borrow_mut().insert("b", true);
        m.poll(&liveness, read);
        assert!(liveness.is_live(NextHopId(2)));
    }
}
