//! `[kernel-routes]`: the selected routes copied into the host's table
//! through the twins, so the host's own traffic follows the router.

use std::net::IpAddr;

use dataplane::port::PortId;
use ipnet::IpNet;

use super::routing::MirrorTarget;
use crate::config::KernelRoutesConfig;
use crate::host::{HostError, KernelNextHop, KernelRoute, KernelRouteSync, Netlink};

pub struct KernelMirror {
    nl: Netlink,
    sync: KernelRouteSync,
    /// The twin's ifindex of each port.
    ifindex: Vec<u32>,
    /// What was last handed to the kernel: an unchanged set costs no dump.
    last: Option<Vec<KernelRoute>>,
}

impl KernelMirror {
    /// Opens netlink, finds the twins and removes what a crashed run may
    /// have left in the kernel. `twins[i]` is port `i`'s twin.
    pub fn start(config: &KernelRoutesConfig, twins: &[String]) -> Result<Self, HostError> {
        let mut nl = Netlink::open()?;
        let ifindex = twins
            .iter()
            .map(|name| nl.ifindex(name))
            .collect::<Result<Vec<u32>, HostError>>()?;
        let mut sync = KernelRouteSync::new(config.table, config.metric);
        let leftovers = sync.flush(&mut nl)?;
        if leftovers.deleted > 0 {
            tracing::warn!(
                count = leftovers.deleted,
                "removed kernel routes an earlier run left behind"
            );
        }
        tracing::info!(
            table = config.table,
            metric = config.metric,
            "selected routes are copied into the kernel (route protocol 201)"
        );
        Ok(KernelMirror {
            nl,
            sync,
            ifindex,
            last: None,
        })
    }

    /// Makes the kernel hold exactly `selected` among our routes.
    pub fn reconcile(&mut self, selected: Vec<(IpNet, MirrorTarget)>) {
        let desired: Vec<KernelRoute> = selected
            .into_iter()
            .filter_map(|(prefix, target)| self.kernel_route(prefix, target))
            .collect();
        if self.last.as_ref() == Some(&desired) {
            return;
        }
        match self.sync.reconcile(&mut self.nl, &desired) {
            Ok(report) => {
                tracing::debug!(
                    added = report.added,
                    replaced = report.replaced,
                    deleted = report.deleted,
                    failed = report.failed.len(),
                    "kernel routes synced"
                );
                // A refused route is retried at the next change.
                if report.is_clean() {
                    self.last = Some(desired);
                } else {
                    self.last = None;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the kernel's routing table; kernel routes are stale until the next change");
                self.last = None;
            }
        }
    }

    /// Removes every route we installed.
    pub fn stop(mut self) {
        match self.sync.flush(&mut self.nl) {
            Ok(report) => tracing::info!(deleted = report.deleted, "kernel routes removed"),
            Err(e) => {
                tracing::warn!(error = %e, "removing our kernel routes failed; `ip route flush proto 201` removes them")
            }
        }
    }

    fn kernel_route(&self, prefix: IpNet, target: MirrorTarget) -> Option<KernelRoute> {
        Some(match target {
            MirrorTarget::Blackhole => KernelRoute::blackhole(prefix),
            MirrorTarget::Unreachable => KernelRoute::unreachable(prefix),
            MirrorTarget::Forward(hops) => {
                let hops: Vec<KernelNextHop> = hops
                    .into_iter()
                    .filter_map(|(port, gateway, weight)| self.next_hop(port, gateway, weight))
                    .collect();
                if hops.is_empty() {
                    return None;
                }
                KernelRoute::via(prefix, hops)
            }
        })
    }

    fn next_hop(
        &self,
        port: PortId,
        gateway: Option<IpAddr>,
        weight: u32,
    ) -> Option<KernelNextHop> {
        Some(KernelNextHop {
            gateway,
            ifindex: *self.ifindex.get(usize::from(port))?,
            // Ours go to 256, the kernel's (as `KernelNextHop` holds them)
            // to 255: the top weight loses 1/256 of its share.
            weight: u8::try_from(weight.clamp(1, 255)).unwrap_or(u8::MAX),
        })
    }
}
