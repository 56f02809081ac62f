//! Packets held while their next hop's MAC is being resolved (ARP/ND).
//!
//! Bounded in packets and in time, like the kernel's `unres_qlen`: a
//! gateway that never answers costs a few buffers for a few seconds, not
//! memory without end. The oldest packets leave first.

use std::collections::VecDeque;
use std::net::IpAddr;

use crate::port::{Frame, PortId};

/// One packet waiting for `target`'s MAC on `port`. Its Ethernet header
/// is already written except the destination address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub frame: Frame,
    pub port: PortId,
    pub target: IpAddr,
    pub since_ns: u64,
}

/// A bounded FIFO of [`Waiting`] packets.
#[derive(Debug)]
pub struct NeighborWaitQueue {
    entries: VecDeque<Waiting>,
    capacity: usize,
    max_wait_ns: u64,
}

impl NeighborWaitQueue {
    pub fn new(capacity: usize, max_wait_ns: u64) -> Self {
        Self {
            entries: VecDeque::with_capacity(capacity),
            capacity,
            max_wait_ns,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Holds a packet; hands it back when the queue is full.
    pub fn push(&mut self, waiting: Waiting) -> Result<(), Waiting> {
        if self.entries.len() >= self.capacity {
            return Err(waiting);
        }
        self.entries.push_back(waiting);
        Ok(())
    }

    /// Distinct (port, target) pairs that have packets waiting, oldest
    /// first: what the neighbor engine should be resolving.
    pub fn targets(&self) -> Vec<(PortId, IpAddr)> {
        let mut out: Vec<(PortId, IpAddr)> = Vec::new();
        for w in &self.entries {
            if !out.contains(&(w.port, w.target)) {
                out.push((w.port, w.target));
            }
        }
        out
    }

    /// Removes and yields every packet waiting for (`port`, `target`).
    pub fn take_for(&mut self, port: PortId, target: IpAddr, out: &mut Vec<Waiting>) {
        let mut i = 0;
        while i < self.entries.len() {
            if self.entries[i].port == port && self.entries[i].target == target {
                if let Some(w) = self.entries.remove(i) {
                    out.push(w);
                }
            } else {
                i += 1;
            }
        }
    }

    /// Removes and yields the packets that have waited too long.
    pub fn expire(&mut self, now_ns: u64, out: &mut Vec<Waiting>) {
        while let Some(front) = self.entries.front() {
            if now_ns.saturating_sub(front.since_ns) < self.max_wait_ns {
                break;
            }
            if let Some(w) = self.entries.pop_front() {
                out.push(w);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn w(addr: u64, target: [u8; 4], since_ns: u64) -> Waiting {
        Waiting {
            frame: Frame { addr, len: 60 },
            port: 1,
            target: IpAddr::V4(Ipv4Addr::from(target)),
            since_ns,
        }
    }

    #[test]
    fn bounded_and_fifo() {
        let mut q = NeighborWaitQueue::new(2, 1_000);
        assert!(q.push(w(0, [10, 0, 0, 1], 0)).is_ok());
        assert!(q.push(w(1, [10, 0, 0, 2], 0)).is_ok());
        assert_eq!(q.push(w(2, [10, 0, 0, 1], 0)), Err(w(2, [10, 0, 0, 1], 0)));
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn take_for_takes_only_that_target() {
        let mut q = NeighborWaitQueue::new(8, 1_000);
        q.push(w(0, [10, 0, 0, 1], 0)).unwrap();
        q.push(w(1, [10, 0, 0, 2], 0)).unwrap();
        q.push(w(2, [10, 0, 0, 1], 0)).unwrap();
        let mut out = Vec::new();
        q.take_for(1, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), &mut out);
        assert_eq!(
            out.iter().map(|w| w.frame.addr).collect::<Vec<_>>(),
            vec![0, 2]
        );
        assert_eq!(q.len(), 1);
        assert_eq!(
            q.targets(),
            vec![(1, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)))]
        );
    }

    #[test]
    fn expire_drops_only_old() {
        let mut q = NeighborWaitQueue::new(8, 1_000);
        q.push(w(0, [10, 0, 0, 1], 0)).unwrap();
        q.push(w(1, [10, 0, 0, 1], 500)).unwrap();
        let mut out = Vec::new();
        q.expire(999, &mut out);
        assert!(out.is_empty());
        q.expire(1_000, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(q.len(), 1);
    }
}
