//! Where the static protocol's actions land: route updates into the RIB,
//! next-hop health into the dataplane's liveness bits (at once), probe
//! requests onto their sockets.

use std::cell::RefCell;
use std::rc::Rc;

use controlplane::event_loop::ActionSink;
use controlplane::protocol::{Action, PortId};
use controlplane::route::RibUpdate;
use controlplane::static_routing::StaticNotification;

use super::probe_io::ProbeIo;
use super::routing::Routing;

/// What the static protocol's actions act on.
pub struct StaticSink {
    pub routing: Rc<RefCell<Routing>>,
    pub probes: Rc<RefCell<ProbeIo>>,
}

impl ActionSink<StaticNotification> for StaticSink {
    fn send(&mut self, port: PortId, _bytes: Vec<u8>) {
        tracing::warn!(
            port,
            "the static protocol asked to send a packet; it has none to send"
        );
    }

    fn rib(&mut self, update: RibUpdate) {
        self.routing.borrow_mut().apply(update);
    }

    fn notify(&mut self, notification: StaticNotification) {
        match notification {
            StaticNotification::NextHopHealth { next_hop, live } => {
                tracing::info!(
                    port = next_hop.port,
                    gateway = ?next_hop.gateway,
                    live,
                    "static next hop is now {}",
                    if live { "healthy" } else { "unhealthy" }
                );
                self.routing
                    .borrow_mut()
                    .set_verdict(next_hop.port, next_hop.gateway, Some(live));
            }
            StaticNotification::SendProbe {
                probe,
                port,
                kind,
                target,
                seq,
            } => self
                .probes
                .borrow_mut()
                .send(probe, port, kind, target, seq),
            StaticNotification::ProbeState {
                probe,
                port,
                target,
                up,
            } => tracing::info!(
                probe,
                port,
                %target,
                "probe target is {}",
                if up { "answering" } else { "not answering" }
            ),
        }
    }

    fn observe(&mut self, _now: u64, action: &Action<StaticNotification>) {
        // A probe's timer is cancelled exactly when the protocol stops the
        // probe: its socket goes with it.
        if let Action::CancelTimer { token } = action {
            self.probes.borrow_mut().close(*token);
        }
    }
}
