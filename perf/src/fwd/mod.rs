//! `vrperf fwd`: forwarding rate of vrouterd against the Linux kernel,
//! the raw AF_XDP forwarder (the I/O ceiling) and DPDK's testpmd, on
//! `gen —veth— rtr —veth— sink` (see `veth_lab`), rounds interleaved
//! (A B C D A B C D ...) so that every system sees the same machine load.
//!
//! gen sends minimum-size UDP frames over many flows with the kernel's
//! live-frames test run (`vrperf xdp-gen`, several Mpps on one core: not
//! the bottleneck); the sink counts and drops them in XDP
//! (`vrperf xdp-sink`). Each window: the generator starts, runs a
//! warm-up, then both counters, `/proc/stat` and the forwarding process's
//! thread times are read twice, `--duration` apart; then it stops.

pub mod report;
pub mod system;

use std::collections::BTreeMap;
use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

use crate::cpu_usage::{busiest_thread, core_use, read_cores, read_threads, ticks_per_second};
use crate::frame_template::Family;
use crate::netns_agent::NetnsAgent;
use crate::priority::KsoftirqdNice;
use crate::sink_counter::SinkCount;
use crate::veth_lab::{RTR_A_MAC, VethLab};
use report::{FwdReport, Measurement, render, summarize};
use system::{RunningSystem, System, SystemOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FamilyChoice {
    #[value(name = "4")]
    V4,
    #[value(name = "6")]
    V6,
    Both,
}

impl FamilyChoice {
    fn families(self) -> Vec<Family> {
        match self {
            FamilyChoice::V4 => vec![Family::V4],
            FamilyChoice::V6 => vec![Family::V6],
            FamilyChoice::Both => vec![Family::V4, Family::V6],
        }
    }
}

#[derive(Debug, Args)]
pub struct FwdArgs {
    /// Seconds measured per window (one system, one family, one round).
    #[arg(long, default_value_t = 5)]
    pub duration: u64,
    /// Rounds; each measures every system once per family.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// IP version(s) to send.
    #[arg(long, value_enum, default_value = "both")]
    pub family: FamilyChoice,
    /// Systems to measure, in round order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "kernel,vrouterd,raw-afxdp,dpdk"
    )]
    pub systems: Vec<System>,
    /// Seconds the generator runs before each window is measured.
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Distinct flows (UDP source port and destination address vary).
    #[arg(long, default_value_t = 4096)]
    pub flows: u32,
    /// Synthetic Internet-like IPv4 routes vrouterd loads (its
    /// `--bench-routes`); 0 for none.
    #[arg(long, default_value_t = 1_000_000)]
    pub bench_routes: u64,
    /// vrouterd binary (default: next to this vrperf).
    #[arg(long)]
    pub vrouterd: Option<PathBuf>,
    /// DPDK's testpmd binary.
    #[arg(long, default_value = "dpdk-testpmd")]
    pub testpmd: PathBuf,
    /// Core of the userspace forwarders' polling thread (and of the
    /// kernel's forwarding work, through RPS).
    #[arg(long, default_value_t = 1)]
    pub router_core: usize,
    /// Core of the generator (and of vrouterd's control plane).
    #[arg(long, default_value_t = 0)]
    pub gen_core: usize,
    /// Niceness of everything this run starts (generator, sink, routers),
    /// each in a session (scheduler group) of its own: on a machine busy
    /// with other work, the kernel's forwarding runs in softirq, ahead of
    /// every task, while userspace forwarders would share their core with
    /// whatever else runs there; -20 evens that out. 0 leaves priorities
    /// alone.
    #[arg(long, default_value_t = -20, allow_hyphen_values = true)]
    pub nice: i32,
    /// Leave the kernel's receive work on the core the frame arrived on
    /// (the generator's) instead of steering it to --router-core.
    #[arg(long)]
    pub no_kernel_rps: bool,
    /// Longest time a router may take to start (vrouterd loading its
    /// FIB), in seconds.
    #[arg(long, default_value_t = 300)]
    pub start_timeout: u64,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Time allowed for one agent answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// Generator rate no machine of ours reaches: the packet bound of a run.
const MAX_GEN_PPS: u64 = 20_000_000;
/// vrouterd's warm-up after it says it runs (ARP/ND for the sink, caches).
const VROUTERD_WARMUP: Duration = Duration::from_secs(1);

pub fn run(args: &FwdArgs) -> Result<(), Box<dyn Error>> {
    if args.duration == 0 || args.duration > 60 || args.rounds == 0 || args.rounds > 10 {
        return Err("--duration must be 1..=60 s and --rounds 1..=10".into());
    }
    if !(0.0..=10.0).contains(&args.warmup) {
        return Err("--warmup must be 0..=10 s".into());
    }
    if args.router_core == args.gen_core {
        return Err("--router-core and --gen-core must differ".into());
    }
    if !(-20..=19).contains(&args.nice) {
        return Err("--nice must be -20..=19".into());
    }
    let mut systems = args.systems.clone();
    systems.dedup();
    let families = args.family.families();
    let vrouterd = match &args.vrouterd {
        Some(path) => path.clone(),
        None => std::env::current_exe()?
            .parent()
            .map(|dir| dir.join("vrouterd"))
            .ok_or("cannot locate vrouterd next to vrperf")?,
    };
    // SIGINT/SIGTERM end the run at the next check, through the normal
    // error path: routers stopped, namespaces removed.
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))?;
    }
    let work_dir = std::env::temp_dir().join(format!("vrperf-fwd-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir)?;
    let options = SystemOptions {
        router_core: args.router_core,
        other_core: args.gen_core,
        kernel_rps: !args.no_kernel_rps,
        vrouterd,
        bench_routes: args.bench_routes,
        testpmd: args.testpmd.clone(),
        work_dir: work_dir.clone(),
        start_timeout: Duration::from_secs(args.start_timeout),
        nice: args.nice,
        interrupted,
    };
    let ksoftirqd = KsoftirqdNice::raise(args.nice)?;
    let result = measure_all(args, &systems, &families, &options);
    drop(ksoftirqd);
    let _ = std::fs::remove_dir_all(&work_dir);
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn measure_all(
    args: &FwdArgs,
    systems: &[System],
    families: &[Family],
    options: &SystemOptions,
) -> Result<FwdReport, Box<dyn Error>> {
    let load_before = load_average();
    let mut unavailable: BTreeMap<&'static str, String> = BTreeMap::new();
    for &system in systems {
        if let Some(reason) = system::unavailable(system, options) {
            eprintln!("vrperf fwd: {} not measured: {reason}", system.name());
            unavailable.insert(system.name(), reason);
        }
    }
    // Bounds for the agents, should this process die without ending them.
    let window = args.warmup + args.duration as f64 + 2.0;
    let per_round = systems.len() as f64
        * (families.len() as f64 * window + options.start_timeout.as_secs_f64() + 30.0);
    let max_seconds = (f64::from(args.rounds) * per_round + 60.0) as u64;
    let max_packets = MAX_GEN_PPS
        * (f64::from(args.rounds) * (systems.len() * families.len()) as f64 * window) as u64;

    let lab = VethLab::build()?;
    let sink = NetnsAgent::spawn(
        "sink",
        &lab.sink_ns,
        options.nice,
        &[
            "xdp-sink",
            "--iface",
            "s0",
            "--max-seconds",
            &max_seconds.to_string(),
        ],
        ANSWER_WITHIN,
    )?;
    let generator = NetnsAgent::spawn(
        "generator",
        &lab.gen_ns,
        options.nice,
        &[
            "xdp-gen",
            "--iface",
            "g0",
            "--dst-mac",
            RTR_A_MAC,
            "--core",
            &args.gen_core.to_string(),
            "--flows",
            &args.flows.to_string(),
            "--max-seconds",
            &max_seconds.to_string(),
            "--max-packets",
            &max_packets.to_string(),
        ],
        ANSWER_WITHIN,
    )?;
    let mut agents = TrafficAgents {
        generator,
        sink,
        ticks_per_second: ticks_per_second(),
    };
    let mut measurements = Vec::new();
    for round in 1..=args.rounds {
        for &system in systems {
            if unavailable.contains_key(system.name()) {
                continue;
            }
            eprintln!("vrperf fwd: round {round}: starting {}", system.name());
            let running = match system::start(system, &lab, options) {
                Ok(running) => running,
                Err(reason) => {
                    eprintln!("vrperf fwd: {} not measured: {reason}", system.name());
                    unavailable.insert(system.name(), reason);
                    lab.detach_leftover_xdp();
                    continue;
                }
            };
            if system == System::Vrouterd {
                let warm = sleep_unless_interrupted(VROUTERD_WARMUP, &options.interrupted);
                if let Err(e) = warm {
                    let _ = system::stop(running, &lab);
                    return Err(e.into());
                }
            }
            let mut windows = Vec::new();
            let mut failure = None;
            for &family in families {
                match measure_window(args, options, &running, round, family, &mut agents) {
                    Ok(m) => {
                        eprintln!(
                            "vrperf fwd: round {round}: {} IPv{}: {:.3} Mpps delivered, {:.3} Mpps offered",
                            system.name(),
                            family.number(),
                            m.sink_pps / 1e6,
                            m.gen_pps / 1e6
                        );
                        windows.push(m);
                    }
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            if let Err(e) = system::stop(running, &lab) {
                eprintln!("vrperf fwd: stopping {}: {e}", system.name());
            }
            if let Some(e) = failure {
                // The generator or sink failing is fatal, for every system.
                return Err(e.into());
            }
            measurements.extend(windows);
        }
    }
    let _ = agents.generator.finish();
    let _ = agents.sink.finish();
    drop(lab);

    let summaries: Vec<_> = families
        .iter()
        .map(|f| summarize(&measurements, f.number(), args.rounds))
        .collect();
    let of = |family: Family| {
        summaries
            .iter()
            .find(|s| s.family == family.number())
            .cloned()
    };
    Ok(FwdReport {
        duration_s: args.duration,
        warmup_s: args.warmup,
        rounds: args.rounds,
        flows: args.flows,
        bench_routes: args.bench_routes,
        router_core: args.router_core,
        gen_core: args.gen_core,
        kernel_rps: options.kernel_rps,
        nice: args.nice,
        generator: "XDP program run by BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES, XDP_TX out of g0",
        sink: "XDP program on s0 counting and dropping UDP to port 9",
        load_before,
        load_after: load_average(),
        headline: summaries.first().cloned(),
        ipv4: of(Family::V4),
        ipv6: of(Family::V6),
        unavailable,
        measurements,
    })
}

/// Sleeps `duration`, or less and fails if a signal asked to stop.
pub fn sleep_unless_interrupted(
    duration: Duration,
    interrupted: &AtomicBool,
) -> Result<(), String> {
    let deadline = Instant::now() + duration;
    loop {
        if interrupted.load(Ordering::Relaxed) {
            return Err("interrupted by a signal".to_string());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// The two ends of the traffic, in gen's and sink's namespaces.
struct TrafficAgents {
    generator: NetnsAgent,
    sink: NetnsAgent,
    ticks_per_second: f64,
}

/// Counters read at one instant.
struct Snapshot {
    at: Instant,
    sink: SinkCount,
    sent: u64,
    cores: Vec<crate::cpu_usage::CoreTicks>,
    threads: Vec<crate::cpu_usage::ThreadTicks>,
}

fn snapshot(agents: &mut TrafficAgents, pid: Option<u32>) -> Result<Snapshot, String> {
    let threads = match pid {
        Some(pid) => read_threads(pid)?,
        None => Vec::new(),
    };
    let cores = read_cores()?;
    let at = Instant::now();
    let sink_line = agents.sink.request("read", ANSWER_WITHIN)?;
    let sink =
        SinkCount::parse(&sink_line).ok_or_else(|| format!("the sink said {sink_line:?}"))?;
    let gen_line = agents.generator.request("read", ANSWER_WITHIN)?;
    let sent = gen_line
        .strip_prefix("sent ")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("the generator said {gen_line:?}"))?;
    Ok(Snapshot {
        at,
        sink,
        sent,
        cores,
        threads,
    })
}

fn measure_window(
    args: &FwdArgs,
    options: &SystemOptions,
    running: &RunningSystem,
    round: u32,
    family: Family,
    agents: &mut TrafficAgents,
) -> Result<Measurement, String> {
    agents
        .generator
        .request(&format!("start {}", family.number()), ANSWER_WITHIN)?;
    let measured = (|| {
        sleep_unless_interrupted(Duration::from_secs_f64(args.warmup), &options.interrupted)?;
        let before = snapshot(agents, running.pid())?;
        sleep_unless_interrupted(Duration::from_secs(args.duration), &options.interrupted)?;
        let after = snapshot(agents, running.pid())?;
        Ok::<_, String>((before, after))
    })();
    let stopped = agents.generator.request("stop", ANSWER_WITHIN);
    let (before, after) = measured?;
    stopped?;
    let seconds = after.at.duration_since(before.at).as_secs_f64();
    let received = match family {
        Family::V4 => after.sink.v4.saturating_sub(before.sink.v4),
        Family::V6 => after.sink.v6.saturating_sub(before.sink.v6),
    };
    let sent = after.sent.saturating_sub(before.sent);
    Ok(Measurement {
        round,
        system: running.system,
        family: family.number(),
        seconds,
        sink_packets: received,
        sink_pps: received as f64 / seconds,
        gen_packets: sent,
        gen_pps: sent as f64 / seconds,
        cpu: core_use(&before.cores, &after.cores),
        thread: busiest_thread(
            &before.threads,
            &after.threads,
            seconds,
            agents.ticks_per_second,
            received,
        ),
    })
}
