//! What the engine tells the control plane (over the dataplane event
//! channel): session state changes and liveness releases.

use std::collections::VecDeque;

use super::Nanos;
use super::session::SessionKey;
use super::state::{Diagnostic, State};

/// A session changed state, or (`from == to == Up`) its next hops were
/// released after hold-down or dampening.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BfdEvent {
    pub key: SessionKey,
    pub from: State,
    pub to: State,
    /// bfd.LocalDiag after the change.
    pub diag: Diagnostic,
    pub at: Nanos,
    /// Whether this session now holds its guarded next hops live (Up, past
    /// hold-down, not suppressed). A next hop guarded by several sessions
    /// is live only when all of them do.
    pub guards_live: bool,
}

/// A bounded queue preallocated once, so queueing on the dataplane core
/// never allocates. When the control plane falls that far behind, the
/// newest events are dropped and counted; the liveness bits, which are
/// what forwarding uses, are always current.
#[derive(Debug)]
pub(crate) struct EventQueue {
    events: VecDeque<BfdEvent>,
    capacity: usize,
    pub(crate) dropped: u64,
}

impl EventQueue {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        EventQueue {
            events: VecDeque::with_capacity(capacity),
            capacity,
            dropped: 0,
        }
    }

    pub(crate) fn push(&mut self, event: BfdEvent) {
        if self.events.len() < self.capacity {
            self.events.push_back(event);
        } else {
            self.dropped += 1;
        }
    }

    pub(crate) fn pop(&mut self) -> Option<BfdEvent> {
        self.events.pop_front()
    }
}
