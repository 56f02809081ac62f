//! The control-plane thread: one `mio` event loop with its timer wheel
//! driving the protocols (today: static routes with their probes), the
//! link monitor, configuration commits from the API, and one RIB commit per
//! turn into the lock-free FIB.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use controlplane::clock::MonotonicClock;
use controlplane::event_loop::{EventLoop, ProtocolHandle};
use controlplane::protocol::{Input, PortId};
use controlplane::static_routing::{StaticRouting, StaticRoutingConfig};
use crossbeam_channel::Receiver;
use dataplane::bfd::BfdCommand;

use super::bfd_sessions::BfdSessions;
use super::config_apply::{ConfigJob, ConfigRunner};
use super::link_monitor::{self, LinkMonitor};
use super::probe_io::ProbeIo;
use super::routing::Routing;
use super::static_config::static_routing_config;
use super::static_sink::StaticSink;
use super::{DaemonError, err};
use crate::config::Config;

/// Hands a BFD command to the dataplane; gives it back when the channel
/// is full (never blocks).
pub type BfdSend = Box<dyn FnMut(BfdCommand) -> Option<BfdCommand>>;

pub struct ControlPlane {
    event_loop: EventLoop<MonotonicClock>,
    bfd: BfdSessions,
    bfd_send: Option<BfdSend>,
    routing: Rc<RefCell<Routing>>,
    probes: Rc<RefCell<ProbeIo>>,
    statics: ProtocolHandle<StaticRouting>,
    links: LinkMonitor,
    config: ConfigRunner,
    jobs: Receiver<ConfigJob>,
}

impl ControlPlane {
    pub fn new(
        config: &Arc<Config>,
        routing: Routing,
        probes: ProbeIo,
        runner: ConfigRunner,
        jobs: Receiver<ConfigJob>,
        record: Option<&std::path::Path>,
    ) -> Result<Self, DaemonError> {
        let mut event_loop = EventLoop::new(MonotonicClock::new())
            .map_err(|e| err("creating the control-plane event loop", e))?;
        if let Some(path) = record {
            let file = std::fs::File::create(path)
                .map_err(|e| err(format!("--record {}", path.display()), e))?;
            event_loop.record_to(Box::new(std::io::BufWriter::new(file)));
            tracing::info!(file = %path.display(), "recording every protocol input (replay with controlplane::recorder::replay)");
        }
        let links = LinkMonitor::new(config.ports.iter().map(|p| p.name.clone()).collect());
        let down: Vec<PortId> = (0..config.ports.len())
            .filter_map(|i| PortId::try_from(i).ok())
            .filter(|p| !routing.link_up(*p))
            .collect();
        let routing = Rc::new(RefCell::new(routing));
        let probes = Rc::new(RefCell::new(probes));
        // Started empty, then given its configuration and the ports that
        // are down as inputs: a recording then holds everything the
        // protocol ever learnt, and replays from a fresh instance.
        let statics = event_loop.add_protocol(
            StaticRouting::new("static", StaticRoutingConfig::default(), []),
            Box::new(StaticSink {
                routing: Rc::clone(&routing),
                probes: Rc::clone(&probes),
            }),
        );
        event_loop
            .turn(Some(std::time::Duration::ZERO))
            .map_err(|e| err("control-plane event loop", e))?;
        event_loop.reconfigure(statics, static_routing_config(config));
        for port in down {
            event_loop.deliver(statics, Input::Interface { port, up: false });
        }
        let mut bfd = BfdSessions::default();
        bfd.set_config(config);
        Ok(ControlPlane {
            event_loop,
            bfd,
            bfd_send: None,
            routing,
            probes,
            statics,
            links,
            config: runner,
            jobs,
        })
    }

    /// Runs until `stop` is raised or `dataplane_alive` says the dataplane
    /// thread is gone.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        dataplane_alive: impl Fn() -> bool,
        carrier: impl Fn(&str) -> bool,
    ) -> Result<(), DaemonError> {
        while !stop.load(Ordering::Relaxed) && dataplane_alive() {
            self.event_loop
                .turn(Some(link_monitor::POLL_INTERVAL))
                .map_err(|e| err("control-plane event loop", e))?;
            for (port, name, up) in self.links.poll(&carrier) {
                tracing::info!(port = %name, up, "link state changed: next hops on it are now {}", if up { "live" } else { "down" });
                self.routing.borrow_mut().set_link(port, up);
                self.event_loop
                    .deliver(self.statics, Input::Interface { port, up });
            }
            while let Ok(job) = self.jobs.try_recv() {
                self.config.handle(
                    job,
                    &mut self.event_loop,
                    self.statics,
                    &self.routing,
                    &mut self.bfd,
                );
                // Each commit is published before the next is applied, so
                // a commit's answer means its routes are in the FIB.
                self.routing.borrow_mut().commit();
                self.sync_bfd();
            }
            self.config.poll(
                &mut self.event_loop,
                self.statics,
                &self.routing,
                &mut self.bfd,
            );
            ProbeIo::sync(&self.probes, &mut self.event_loop, self.statics);
            self.routing.borrow_mut().commit();
            self.sync_bfd();
        }
        // The protocols' goodbyes (NOTIFICATIONs, withdrawals to peers) go
        // out; their RIB withdrawals are not committed: the dataplane is
        // stopping, and removing a default route from a DIR-24 FIB is 16M
        // writes per copy for nothing.
        self.event_loop.shutdown();
        if let Some(kernel) = self.routing.borrow_mut().take_kernel_mirror() {
            kernel.stop();
        }
        Ok(())
    }

    /// One turn without waiting, then a commit: the protocols' first
    /// routes reach the FIB before the dataplane starts.
    pub fn prime(&mut self) -> Result<(), DaemonError> {
        self.event_loop
            .turn(Some(std::time::Duration::ZERO))
            .map_err(|e| err("control-plane event loop", e))?;
        ProbeIo::sync(&self.probes, &mut self.event_loop, self.statics);
        self.routing.borrow_mut().commit();
        self.sync_bfd();
        Ok(())
    }

    /// The event channel the dataplane reports BFD state changes on.
    pub fn dataplane_sender(&self) -> controlplane::event_loop::DataplaneSender {
        self.event_loop.dataplane_sender()
    }

    /// Where BFD commands go; the sessions are created at the next turn.
    pub fn set_bfd_sender(&mut self, send: BfdSend) {
        self.bfd_send = Some(send);
        self.sync_bfd();
    }

    /// Sends the BFD commands that take the dataplane to the sessions the
    /// configuration wants, guarding the RIB's current next-hop ids.
    fn sync_bfd(&mut self) {
        let Some(send) = self.bfd_send.as_mut() else {
            return;
        };
        let routing = self.routing.borrow();
        routing.with_rib(|rib| self.bfd.sync(rib, send));
    }

    pub fn set_router_state(&mut self, state: Arc<crate::mgmt::RouterState>) {
        self.config.set_router_state(state);
    }

    /// Where commits of `[icmp]`, `[ecmp]` and `[neighbor]` go.
    pub fn set_tuning_mailbox(&mut self, tuning: Arc<super::tuning_mailbox::TuningMailbox>) {
        self.config.set_tuning_mailbox(tuning);
    }
}
