//! `vrouterd --config FILE`: takes over the configured ports, builds the
//! FIB, and runs the dataplane core and the control loop until SIGINT or
//! SIGTERM, then gives everything back (XDP detached, twins removed, the
//! ports' addresses restored).

pub mod bfd_channel;
mod bfd_sessions;
mod config_apply;
mod control_plane;
mod dataplane_thread;
pub mod fib_builder;
mod kernel_mirror;
pub mod link_monitor;
mod nexthop_health;
mod probe_io;
mod routing;
pub mod static_config;
mod static_sink;
mod tuning_mailbox;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use controlplane::rib::{Rib, RibConfig};
use dataplane::fib::{FibConfig, FibWriter};
use dataplane::neighbor::NeighborConfig;
use dataplane::pipeline::{DataplaneCore, Forwarder, ForwarderConfig, PortConfig};
use dataplane::port::FramePool;
use dataplane::port::PortId;
use dataplane::port::afxdp::{AfXdpConfig, AfXdpPort, BindMode, XdpAttachMode};

use crate::config::{self, Config};
use crate::host::{self, Netlink, PortTwin};
use crate::mgmt::{self, NeighborSnapshot, PortRuntime, RouterState};
use config_apply::{ConfigChannel, ConfigRunner};
use control_plane::ControlPlane;
use kernel_mirror::KernelMirror;
use probe_io::ProbeIo;
use routing::{Routing, lock};
use tuning_mailbox::TuningMailbox;

/// Prefix of the TAP twins' names (`vr-eth0`); leftovers with it from a
/// crashed run are removed at start.
pub const TWIN_PREFIX: &str = "vr-";

/// Frames per port in the pool: the fill ring's worth, rx/tx in flight
/// and the neighbor queue, with room to spare.
const FRAMES_PER_PORT: u32 = 4096;

/// Why the daemon stopped with an error.
#[derive(Debug)]
pub struct DaemonError(pub String);

impl std::fmt::Display for DaemonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DaemonError {}

fn err(context: impl std::fmt::Display, e: impl std::fmt::Display) -> DaemonError {
    DaemonError(format!("{context}: {e}"))
}

/// The twin's name for a port: `vr-` + the port name, cut to the kernel's
/// 15-byte limit.
pub fn twin_name(port: &str) -> String {
    let mut name = format!("{TWIN_PREFIX}{port}");
    name.truncate(15);
    name
}

/// Options that are not part of the configuration.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Synthetic Internet-like IPv4 routes added with the default route's
    /// target, to measure forwarding with a full-size FIB.
    pub bench_routes: usize,
    /// The configuration file: commits rewrite it (see `config::store`).
    pub config_path: std::path::PathBuf,
    /// Overrides `[management] state-dir`.
    pub state_dir: Option<std::path::PathBuf>,
    /// Records every protocol input to this file (JSON lines).
    pub record: Option<std::path::PathBuf>,
}

/// Runs the router until `stop` is raised (the signal handlers raise it).
pub fn run(
    config: &Config,
    options: &RunOptions,
    stop: Arc<AtomicBool>,
) -> Result<(), DaemonError> {
    // The commit history decides what runs: after a stop inside a confirm
    // window it is the configuration from before the unconfirmed commits.
    let state_dir = options
        .state_dir
        .clone()
        .unwrap_or_else(|| config.management.state_dir.clone());
    let twin_names: Vec<String> = config.ports.iter().map(|p| twin_name(&p.name)).collect();
    let runner =
        ConfigRunner::start(&options.config_path, &state_dir, twin_names).map_err(|e| {
            err(
                format!("configuration history in {}", state_dir.display()),
                e,
            )
        })?;
    let running = Arc::clone(runner.running());
    let config: &Config = &running;
    if config.system.dataplane_cores.len() > 1 {
        return Err(DaemonError(format!(
            "dataplane-cores = {:?}: more than one dataplane core is not supported yet; \
             list one core",
            config.system.dataplane_cores
        )));
    }
    if let Some(port) = config.ports.iter().find(|p| p.queues.len() > 1) {
        return Err(DaemonError(format!(
            "port {}: queues = {:?}: one queue per port is supported for now; \
             list one queue (and steer the NIC's traffic to it with ethtool -L/-X)",
            port.name, port.queues
        )));
    }
    let mut nl = Netlink::open().map_err(|e| err("opening netlink", e))?;
    match host::remove_stale_twins(&mut nl, TWIN_PREFIX) {
        Ok(removed) if !removed.is_empty() => {
            tracing::warn!(
                ?removed,
                "removed host twins left by an earlier run that did not stop cleanly"
            );
        }
        Ok(_) => {}
        Err(e) => return Err(err("looking for stale host twins", e)),
    }

    // Host side first: the twins take the addresses off the real ports.
    let mut twins: Vec<PortTwin> = Vec::new();
    let result = run_with_twins(config, options, runner, &stop, &mut nl, &mut twins);
    for twin in twins.drain(..) {
        let name = twin.port_name.clone();
        if let Err(e) = twin.teardown(&mut nl) {
            tracing::warn!(port = %name, error = %e, "restoring the port failed");
        }
    }
    result
}

fn run_with_twins(
    config: &Config,
    options: &RunOptions,
    runner: ConfigRunner,
    stop: &Arc<AtomicBool>,
    nl: &mut Netlink,
    twins: &mut Vec<PortTwin>,
) -> Result<(), DaemonError> {
    for port in &config.ports {
        let twin = PortTwin::setup(
            nl,
            &port.name,
            &twin_name(&port.name),
            u32::from(port.mtu),
            &port.addresses,
        )
        .map_err(|e| err(format!("port {}: setting up its host twin", port.name), e))?;
        tracing::info!(port = %port.name, twin = %twin.tap.name(), mac = %twin.port_mac(), "host twin ready");
        twins.push(twin);
    }

    let (fib, readers) = FibWriter::new(FibConfig::default());
    let fib = Arc::new(Mutex::new(fib));
    let rib = Arc::new(Mutex::new(Rib::new(RibConfig::default())));
    let down_ports: Vec<PortId> = config
        .ports
        .iter()
        .enumerate()
        .filter(|(_, p)| !host::carrier(&p.name).unwrap_or(false))
        .filter_map(|(i, _)| PortId::try_from(i).ok())
        .collect();
    let mut routing = Routing::new(Arc::clone(&rib), Arc::clone(&fib), down_ports);
    for (i, port) in config.ports.iter().enumerate() {
        let id = PortId::try_from(i).map_err(|e| err("too many ports", e))?;
        for address in &port.addresses {
            routing.add_connected(id, *address);
        }
    }
    if config.kernel_routes.enabled {
        routing.set_kernel_mirror(Some(
            KernelMirror::start(
                &config.kernel_routes,
                &twins
                    .iter()
                    .map(|t| t.tap.name().to_owned())
                    .collect::<Vec<_>>(),
            )
            .map_err(|e| err("[kernel-routes]", e))?,
        ));
    }

    let frames = FRAMES_PER_PORT * config.ports.len() as u32;
    let mut pool = FramePool::new(frames, 2048).map_err(|e| err("allocating the frame pool", e))?;
    let mut ports = Vec::new();
    let mut runtimes = Vec::new();
    for (port, twin) in config.ports.iter().zip(twins.iter()) {
        let afxdp = AfXdpConfig {
            attach_mode: match port.xdp_mode {
                config::XdpMode::Auto => XdpAttachMode::Auto,
                config::XdpMode::Native => XdpAttachMode::Native,
                config::XdpMode::Generic => XdpAttachMode::Generic,
            },
            bind_mode: match port.bind_mode {
                config::BindMode::Auto => BindMode::Auto,
                config::BindMode::ZeroCopy => BindMode::ZeroCopy,
                config::BindMode::Copy => BindMode::Copy,
            },
            ..AfXdpConfig::default()
        };
        let queue = port.queues.first().copied().unwrap_or(0);
        let p = AfXdpPort::open(&port.name, queue, &mut pool, &afxdp)
            .map_err(|e| err(format!("port {}", port.name), e))?;
        let (attach, bind) = p.mode();
        tracing::info!(port = %port.name, queue, xdp = %attach, bind = %bind, "AF_XDP port open");
        runtimes.push(PortRuntime {
            twin: twin.tap.name().to_owned(),
            mac: twin.port_mac(),
            xdp_mode: attach.to_string(),
            bind_mode: bind.to_string(),
        });
        ports.push(p);
    }

    let port_configs: Vec<PortConfig> = config
        .ports
        .iter()
        .zip(twins.iter())
        .map(|(p, twin)| PortConfig {
            name: p.name.clone(),
            mac: twin.port_mac(),
            mtu: p.mtu,
            ipv4: p
                .addresses
                .iter()
                .filter_map(|a| match a {
                    ipnet::IpNet::V4(n) => Some(*n),
                    ipnet::IpNet::V6(_) => None,
                })
                .collect(),
            ipv6: p
                .addresses
                .iter()
                .filter_map(|a| match a {
                    ipnet::IpNet::V6(n) => Some(*n),
                    ipnet::IpNet::V4(_) => None,
                })
                .collect(),
        })
        .collect();
    let forwarder_config = ForwarderConfig {
        icmp_errors_per_sec: config.icmp.errors_per_second,
        icmp_error_burst: config.icmp.burst,
        hash_seed: config.ecmp.hash_seed,
        symmetric_hash: config.ecmp.symmetric,
        neighbor: NeighborConfig {
            reachable_ns: u64::from(config.neighbor.reachable_time_ms) * 1_000_000,
            retrans_ns: u64::from(config.neighbor.retrans_time_ms) * 1_000_000,
            ..NeighborConfig::default()
        },
        // Discriminators and jitter must differ between routers and runs
        // (RFC 5880 §6.8.1: discriminators unique and hard to guess).
        bfd_seed: std::hash::BuildHasher::hash_one(
            &std::collections::hash_map::RandomState::new(),
            std::process::id(),
        ),
        bfd_max_sessions: 1024,
        ..ForwarderConfig::default()
    };
    let forwarder = Forwarder::new(readers.reader(), port_configs, &forwarder_config, 0);
    let counters = Arc::clone(forwarder.counters());
    let mut core = DataplaneCore::new(pool, forwarder, ports, 1024, 1024);

    let dataplane_core = config.system.dataplane_cores.first().copied().unwrap_or(0);
    let control_core = config.system.control_plane_core;
    let taps: Vec<&host::TapDevice> = twins.iter().map(|t| &t.tap).collect();
    let host_drops = Arc::new(AtomicU64::new(0));
    let dp_stop = Arc::new(AtomicBool::new(false));
    let config_arc = Arc::new(config.clone());
    let (jobs_tx, jobs_rx) = crossbeam_channel::bounded(16);
    let twin_names: Vec<String> = twins.iter().map(|t| t.tap.name().to_owned()).collect();
    let probes = ProbeIo::new(config, &twin_names);
    let mut control = ControlPlane::new(
        &config_arc,
        routing,
        probes,
        runner,
        jobs_rx,
        options.record.as_deref(),
    )?;
    // One turn before any packet flows: the static routes reach the FIB.
    control.prime()?;
    if options.bench_routes > 0 {
        add_bench_routes(&mut lock(&fib), options.bench_routes)?;
    }
    {
        let rib = lock(&rib);
        tracing::info!(
            routes = rib.counts().selected.total(),
            nexthops = rib.nexthop_count(),
            groups = rib.group_count(),
            "FIB published"
        );
    }

    let neighbors = Arc::new(NeighborSnapshot::new());
    let (bfd_control, mut bfd_side, bfd_snapshot) =
        bfd_channel::bfd_channel(control.dataplane_sender(), 1024);
    let state = Arc::new(RouterState {
        config: std::sync::RwLock::new(Arc::clone(&config_arc)),
        ports: runtimes,
        fib: Arc::clone(&fib),
        counters: Arc::clone(&counters),
        host_drops: Arc::clone(&host_drops),
        neighbors: Arc::clone(&neighbors),
        carrier: Box::new(|name| host::carrier(name).ok()),
        rib: Some(Arc::clone(&rib)),
        bfd: Some(Arc::clone(&bfd_snapshot) as Arc<dyn mgmt::BfdStatusSource>),
        config_control: Some(Arc::new(ConfigChannel::new(jobs_tx))),
    });
    let tuning = Arc::new(TuningMailbox::default());
    control.set_router_state(Arc::clone(&state));
    control.set_tuning_mailbox(Arc::clone(&tuning));
    control.set_bfd_sender(Box::new(move |cmd| bfd_control.send(cmd).err()));
    // The API and metrics threads inherit this thread's core: pin first,
    // so they run beside the control plane, never on the dataplane's core.
    pin("control plane", control_core);
    let services = mgmt::services::start(config, &state).map_err(DaemonError)?;

    std::thread::scope(|scope| {
        let dp_stop_ref = &dp_stop;
        let core_ref = &mut core;
        let taps_ref = &taps;
        let shared = dataplane_thread::Shared {
            host_drops: &host_drops,
            neighbors: &neighbors,
            tuning: &tuning,
        };
        let bfd_ref = &mut bfd_side;
        let idle = config.system.idle;
        let handle = std::thread::Builder::new()
            .name("vr-dataplane".into())
            .spawn_scoped(scope, move || {
                pin("dataplane", dataplane_core);
                dataplane_thread::run(core_ref, taps_ref, idle, dp_stop_ref, &shared, bfd_ref);
            })
            .map_err(|e| err("starting the dataplane thread", e))?;
        tracing::info!(dataplane_core, control_core, "vrouterd running");

        let result = control.run(
            stop,
            || !handle.is_finished(),
            |n| host::carrier(n).unwrap_or(false),
        );
        if let Err(e) = &result {
            tracing::error!(error = %e, "the control plane stopped");
        }
        dp_stop.store(true, Ordering::Relaxed);
        handle
            .join()
            .map_err(|_| DaemonError("the dataplane thread panicked".into()))
    })?;
    drop(services);
    tracing::info!(
        forwarded = counters.forwarded.get(),
        drops = counters.total_drops(),
        "stopping: detaching XDP and restoring the ports"
    );
    let DataplaneCore {
        mut pool, ports, ..
    } = core;
    for p in ports {
        p.close(&mut pool);
    }
    drop(fib);
    Ok(())
}

/// Fills the FIB with `count` synthetic routes sharing the default route's
/// target (its next-hop group), as a full table learned from one upstream
/// would.
fn add_bench_routes(fib: &mut FibWriter, count: usize) -> Result<(), DaemonError> {
    let default: ipnet::IpNet = "0.0.0.0/0".parse().map_err(|e| err("default route", e))?;
    let Some(target) = fib.route(default) else {
        return Err(DaemonError(
            "--bench-routes needs a static route for 0.0.0.0/0: the synthetic routes use its next hops"
                .into(),
        ));
    };
    let started = std::time::Instant::now();
    for (prefix, len) in dataplane::fib::synthetic::internet_v4(count, 1) {
        let net = ipnet::IpNet::new(std::net::IpAddr::V4(prefix.into()), len)
            .map_err(|e| err("synthetic route", e))?;
        if fib.route(net).is_none() {
            fib.set_route(net, target)
                .map_err(|e| err("synthetic route", e))?;
        }
    }
    fib.publish();
    tracing::info!(
        count,
        ms = started.elapsed().as_millis() as u64,
        "synthetic benchmark routes loaded"
    );
    Ok(())
}

fn pin(what: &str, core: usize) {
    let ok = core_affinity::set_for_current(core_affinity::CoreId { id: core });
    if ok {
        tracing::info!(core, "{what} thread pinned");
    } else {
        tracing::warn!(core, "could not pin the {what} thread; running unpinned");
    }
}
