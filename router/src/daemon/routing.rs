//! The routing state the control-plane thread owns: RIB, FIB writer,
//! next-hop health and (optionally) the kernel's copy of the routes.
//!
//! Protocols reach it through their action sinks (route updates, health
//! verdicts); [`Routing::commit`] turns a turn's worth of changes into one
//! FIB publication. The RIB and FIB sit behind mutexes only so `vrctl show`
//! can read them from the API thread; this thread is their one writer and
//! always locks the RIB before the FIB, as the readers do.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use controlplane::rib::{Rib, RouteKind};
use controlplane::route::{RibUpdate, RouteSource};
use dataplane::fib::{FibWriter, Liveness, RouteTarget};
use dataplane::port::PortId;
use ipnet::IpNet;

use super::kernel_mirror::KernelMirror;
use super::nexthop_health::NextHopHealth;

pub struct Routing {
    rib: Arc<Mutex<Rib>>,
    fib: Arc<Mutex<FibWriter>>,
    liveness: Arc<Liveness>,
    health: NextHopHealth,
    kernel: Option<KernelMirror>,
}

/// Locks a mutex whose holder may have panicked: the RIB and FIB are
/// consistent between calls, so the data is still right to read.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Routing {
    pub fn new(
        rib: Arc<Mutex<Rib>>,
        fib: Arc<Mutex<FibWriter>>,
        down_ports: impl IntoIterator<Item = PortId>,
    ) -> Self {
        let liveness = Arc::clone(lock(&fib).liveness());
        Routing {
            rib,
            fib,
            liveness,
            health: NextHopHealth::new(down_ports),
            kernel: None,
        }
    }

    pub fn set_kernel_mirror(&mut self, kernel: Option<KernelMirror>) {
        self.kernel = kernel;
        self.sync_kernel();
    }

    pub fn take_kernel_mirror(&mut self) -> Option<KernelMirror> {
        self.kernel.take()
    }

    /// Runs `f` with the RIB locked.
    pub fn with_rib<T>(&self, f: impl FnOnce(&Rib) -> T) -> T {
        f(&lock(&self.rib))
    }

    pub fn apply(&mut self, update: RibUpdate) {
        lock(&self.rib).apply(update);
    }

    pub fn add_connected(&mut self, port: PortId, address: IpNet) {
        lock(&self.rib).add_connected(port, address);
    }

    pub fn set_link(&mut self, port: PortId, up: bool) {
        let rib = lock(&self.rib);
        self.health.set_link(port, up, &rib, &self.liveness);
    }

    pub fn link_up(&self, port: PortId) -> bool {
        self.health.link_up(port)
    }

    pub fn set_verdict(&mut self, port: PortId, gateway: Option<IpAddr>, live: Option<bool>) {
        let rib = lock(&self.rib);
        self.health
            .set_verdict(port, gateway, live, &rib, &self.liveness);
    }

    /// Publishes what changed since the last commit, if anything did.
    pub fn commit(&mut self) {
        let mut rib = lock(&self.rib);
        if rib.pending() == 0 {
            return;
        }
        let report = {
            let mut fib = lock(&self.fib);
            rib.commit(&mut fib)
        };
        match report {
            Ok(report) => {
                self.health.adopt(&report.nexthops_added, &self.liveness);
                for (prefix, why) in &report.not_installed {
                    tracing::warn!(%prefix, reason = %why, "route selected but not installed; retrying at the next change");
                }
                tracing::debug!(
                    evaluated = report.evaluated,
                    routes_set = report.routes_set,
                    routes_removed = report.routes_removed,
                    generation = report.generation,
                    "RIB committed"
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "the FIB refused a RIB commit; the FIB may lag the RIB until the next change");
            }
        }
        drop(rib);
        self.sync_kernel();
    }

    /// Brings the kernel's copy in line with the selected routes.
    fn sync_kernel(&mut self) {
        let Some(kernel) = self.kernel.as_mut() else {
            return;
        };
        let rib = lock(&self.rib);
        let selected = rib.routes().filter_map(|view| {
            let source = view.selected_source?;
            if source == RouteSource::Connected || view.pending {
                return None;
            }
            let kind = view
                .candidates
                .iter()
                .find(|c| c.candidate.source == source)
                .map(|c| c.candidate.kind.clone())?;
            Some(match (kind, view.installed) {
                (RouteKind::Local, _) => return None,
                (RouteKind::Blackhole, _) => (view.prefix, MirrorTarget::Blackhole),
                (RouteKind::Reject, _) => (view.prefix, MirrorTarget::Unreachable),
                (RouteKind::Forward(_), Some(RouteTarget::Group(_))) => (
                    view.prefix,
                    MirrorTarget::Forward(
                        // The kernel has no tiers: it gets the primary tier,
                        // which the dataplane uses while any of it lives.
                        view.resolved
                            .first()
                            .map(|tier| {
                                tier.iter()
                                    .map(|hop| (hop.port, hop.gateway, hop.weight))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    ),
                ),
                (RouteKind::Forward(_), _) => return None,
            })
        });
        kernel.reconcile(selected.collect());
    }
}

/// What one route looks like in the kernel's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MirrorTarget {
    /// (port, gateway, weight) of each next hop.
    Forward(Vec<(PortId, Option<IpAddr>, u32)>),
    Blackhole,
    Unreachable,
}
