//! `vrperf failover`: how long traffic is lost when the primary gateway
//! fails, with vrouterd on the server and — in the same run — with FRR
//! (bgpd + bfdd, the kernel forwarding) as the baseline.
//!
//! Topology: `router::lab::TwoGatewayLab` (lan — server — gw1/gw2, both
//! gateways holding the destination), built afresh for every trial. A
//! probe sends sequenced, timestamped UDP datagrams from lan to the
//! destination at `--rate`; receivers on gw1 and gw2 log what arrives
//! (see `probe`). Each trial applies one fault to gw1, holds it, undoes
//! it, and reports the outage two ways and the failback loss (see
//! `analysis`). BFD timers at or above FRR's 10 ms floor run against FRR's
//! bfdd on the gateways; faster ones against a vrouterd on each gateway.
//!
//! Trials interleave — for each round, fault and timers: vrouterd with
//! each FIB size, then FRR — so that a change of machine load hits both
//! sides alike.

pub mod analysis;
pub mod fault;
pub mod gateways;
pub mod probe;
pub mod report;
pub mod server;
pub mod timers;
pub mod trial;
pub mod vrouterd_api;

use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, ValueEnum};
use router::lab::frr_installed;

use fault::Fault;
use report::{FailoverReport, render, summarize};
use timers::Timers;
use trial::{SystemUnderTest, TrialOptions, TrialSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SystemChoice {
    Vrouterd,
    Frr,
}

#[derive(Debug, Args)]
pub struct FailoverArgs {
    /// BFD timers to measure, INTERVAL_MSxMULTIPLIER. Below 10 ms the
    /// gateways run vrouterd (FRR's bfdd refuses such intervals) and FRR
    /// is compared at its fastest measured timers.
    #[arg(long, value_delimiter = ',', default_value = "300x3,50x3,10x3,3x3,1x3")]
    pub timers: Vec<Timers>,
    /// Faults applied to gw1.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "link-down,bfd-stop,silent"
    )]
    pub faults: Vec<Fault>,
    /// FIB sizes of vrouterd on the server: 1 is the default route alone,
    /// more adds synthetic Internet-like routes through the same gateways
    /// (`vrouterd --bench-routes`).
    #[arg(long, value_delimiter = ',', default_value = "1,1000000")]
    pub routes: Vec<u64>,
    /// Systems on the server.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "vrouterd,frr"
    )]
    pub systems: Vec<SystemChoice>,
    /// Rounds; each measures every combination once.
    #[arg(long, default_value_t = 1)]
    pub rounds: u32,
    /// Probe datagrams per second (at least 1000): 4000 resolves an
    /// outage to a quarter of a millisecond.
    #[arg(long, default_value_t = 4_000)]
    pub rate: u32,
    /// vrouterd binary (default: next to this vrperf).
    #[arg(long)]
    pub vrouterd: Option<PathBuf>,
    /// Niceness of the whole run — routers, FRR, probe — which runs in a
    /// session (scheduler group) of its own (see `priority` and the
    /// README); 0 runs it as it was started.
    #[arg(long, default_value_t = -20, allow_hyphen_values = true)]
    pub nice: i32,
    /// Write each trial's raw logs (send and arrival times, fault and
    /// restore times) as JSON into this directory (the last round's
    /// trial of each kind).
    #[arg(long)]
    pub raw: Option<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// The trials of one round, in the order they run.
pub fn schedule(args: &FailoverArgs) -> Vec<TrialSpec> {
    let mut specs = Vec::new();
    for &fault in &args.faults {
        for &timers in &args.timers {
            if args.systems.contains(&SystemChoice::Vrouterd) {
                for &routes in &args.routes {
                    specs.push(TrialSpec {
                        system: SystemUnderTest::Vrouterd,
                        fault,
                        timers,
                        routes,
                    });
                }
            }
            if args.systems.contains(&SystemChoice::Frr) && timers.frr_can_run() {
                specs.push(TrialSpec {
                    system: SystemUnderTest::Frr,
                    fault,
                    timers,
                    routes: 1,
                });
            }
        }
    }
    specs
}

pub fn run(args: &FailoverArgs) -> Result<(), Box<dyn Error>> {
    if args.rounds == 0 || args.rounds > 20 {
        return Err("--rounds must be 1..=20".into());
    }
    if !(1_000..=100_000).contains(&args.rate) {
        return Err("--rate must be 1000..=100000 datagrams per second".into());
    }
    if !(-20..=19).contains(&args.nice) {
        return Err("--nice must be -20..=19".into());
    }
    if args.routes.iter().any(|&r| r == 0 || r > 2_000_000) {
        return Err("--routes must be 1..=2000000".into());
    }
    if !router::lab::is_root() {
        return Err("vrperf failover needs root (network namespaces)".into());
    }
    if args.nice != 0 && std::env::var_os(IN_OWN_SESSION).is_none() {
        return run_in_own_session(args.nice);
    }
    if !frr_installed() {
        return Err("FRR is not installed (/usr/lib/frr/bfdd): apt-get install frr".into());
    }
    let vrouterd = match &args.vrouterd {
        Some(path) => path.clone(),
        None => std::env::current_exe()?
            .parent()
            .map(|dir| dir.join("vrouterd"))
            .ok_or("cannot locate vrouterd next to vrperf")?,
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))?;
    }
    let options = TrialOptions {
        vrouterd,
        rate: args.rate,
        interrupted: Arc::clone(&interrupted),
        raw_dir: args.raw.clone(),
    };
    if let Some(dir) = &args.raw {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let load_before = load_average();
    let specs = schedule(args);
    let mut trials = Vec::new();
    for round in 1..=args.rounds {
        for &spec in &specs {
            if interrupted.load(Ordering::Relaxed) {
                return Err("interrupted by a signal".into());
            }
            eprintln!(
                "vrperf failover: round {round}: {} {} {} routes {}",
                spec.system.name(),
                spec.fault.name(),
                spec.timers,
                spec.routes
            );
            let record = trial::run(spec, round, &options);
            match (&record.outcome, &record.error) {
                (Some(o), _) => eprintln!(
                    "vrperf failover:   outage {:.1} ms by count, {:.1} ms by timestamps; failback lost {}",
                    o.outage_ms_by_count, o.outage_ms_by_timestamps, o.failback_lost
                ),
                (None, Some(e)) => eprintln!("vrperf failover:   failed: {e}"),
                (None, None) => {}
            }
            trials.push(record);
        }
    }
    let report = FailoverReport {
        rate_pps: args.rate,
        rounds: args.rounds,
        load_before,
        load_after: load_average(),
        rows: summarize(&trials),
        trials,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(())
}

/// Set in the environment of the run [`run_in_own_session`] starts.
const IN_OWN_SESSION: &str = "VRPERF_FAILOVER_IN_OWN_SESSION";

/// Runs this same command again in a session of its own at niceness
/// `nice`, and waits for it; SIGINT/SIGTERM are passed on.
///
/// BFD at 10 ms and below on a two-core machine shared with builds: at
/// normal priority a speaker now and then is not scheduled for longer
/// than its detection time and declares its peer dead (measured: dozens
/// of false Downs a minute at 3 ms × 3, and the figures said how loaded
/// the machine was). The scheduler shares the CPU between sessions
/// (autogroups) whatever their tasks' niceness, so the whole run —
/// vrouterd, FRR, the probe, on both sides alike — goes into a session
/// whose group gets the niceness. (Real-time priority for the speakers
/// was tried: vrouterd's dataplane threads poll, and with the probe
/// flowing they starved everything else on the two cores.)
fn run_in_own_session(nice: i32) -> Result<(), Box<dyn Error>> {
    let exe = std::env::current_exe()?;
    let mut child = std::process::Command::new("setsid")
        .args(["nice", "-n", &nice.to_string()])
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env(IN_OWN_SESSION, "1")
        .spawn()
        .map_err(|e| format!("cannot start setsid (util-linux): {e}"))?;
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))?;
    }
    if let Err(e) = crate::priority::raise_session_group(child.id(), nice) {
        eprintln!("vrperf failover: running at normal priority: {e}");
    }
    let mut passed_on = false;
    loop {
        if let Some(status) = child.try_wait()? {
            return if status.success() {
                Ok(())
            } else {
                Err(format!("the run ended with {status}").into())
            };
        }
        if interrupted.load(Ordering::Relaxed) && !passed_on {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            passed_on = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
