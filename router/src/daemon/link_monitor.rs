//! Watches the ports' carrier. A change goes to the next-hop health (the
//! dataplane moves traffic off a dead link's next hops on the next packet)
//! and to the protocols as an interface event. BFD (its own issue) drives
//! the same liveness bits, faster and end to end.

use std::time::Duration;

use dataplane::port::PortId;

/// How often carrier is read: a sysfs read per port, cheap.
pub const POLL_INTERVAL: Duration = Duration::from_millis(5);

pub struct LinkMonitor {
    ports: Vec<String>,
    up: Vec<Option<bool>>,
}

impl LinkMonitor {
    /// `ports[i]` is dataplane port `i`.
    pub fn new(ports: Vec<String>) -> Self {
        let up = vec![None; ports.len()];
        Self { ports, up }
    }

    /// Reads every port's carrier; returns the ports whose state changed
    /// since the last poll (every port on the first), with the new state.
    pub fn poll(&mut self, carrier: impl Fn(&str) -> bool) -> Vec<(PortId, String, bool)> {
        let mut changed = Vec::new();
        for (i, name) in self.ports.iter().enumerate() {
            let Ok(port) = PortId::try_from(i) else {
                continue;
            };
            let now_up = carrier(name);
            if self.up[i] == Some(now_up) {
                continue;
            }
            self.up[i] = Some(now_up);
            changed.push((port, name.clone(), now_up));
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
    fn reports_every_port_first_then_only_changes() {
        let mut m = LinkMonitor::new(vec!["a".into(), "b".into()]);
        let state = RefCell::new(HashMap::from([("a", true), ("b", true)]));
        let read = |n: &str| state.borrow()[n];
        assert_eq!(
            m.poll(read),
            vec![(0, "a".to_string(), true), (1, "b".to_string(), true)]
        );
        assert!(m.poll(read).is_empty(), "nothing changed");
        state.borrow_mut().insert("b", false);
        assert_eq!(m.poll(read), vec![(1, "b".to_string(), false)]);
        state.borrow_mut().insert("b", true);
        assert_eq!(m.poll(read), vec![(1, "b".to_string(), true)]);
    }
}
