//! One trial: a fresh two-gateway lab, the gateways' BFD speakers, the
//! router under test, the probe running; then gw1 fails, comes back, and
//! the probe's logs say what the traffic lived through.
//!
//! ```text
//!  probe start ─ warm-up (gw1 carries) ─ measured ─ FAULT ── hold ── RESTORE ─ back on gw1 ─ +settle ─ stop
//! ```
//! The hold lasts max(1 s, 2 × detection time + 0.5 s): long enough for
//! any system to detect and reroute. After the restore the probe runs
//! until gw1 carries traffic again and `SETTLE` longer, so a loss at the
//! switch back is seen.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use router::lab::{DESTINATION, TwoGatewayLab};
use serde::Serialize;

use super::analysis::{Arrivals, Outcome, Timeline, analyze};
use super::fault::{self, Fault};
use super::gateways::{GatewayPeer, Gateways, vrouterd_socket};
use super::probe::wall_ns;
use super::server::{Server, ServerKind};
use super::timers::Timers;
use crate::fwd::sleep_unless_interrupted;
use crate::netns_agent::NetnsAgent;

/// UDP port of the probe.
const PROBE_PORT: u16 = 9_100;
/// Longest wait for one agent answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// Time the probe runs, measured, before the fault.
const BEFORE_FAULT: Duration = Duration::from_millis(300);
/// Time the probe runs after traffic is back on gw1.
const SETTLE: Duration = Duration::from_millis(300);
/// Longest wait for traffic to come back to gw1 after the restore (BGP
/// reconnects, a gateway's vrouterd restarts).
const FAILBACK_WITHIN: Duration = Duration::from_secs(30);
/// Longest wait for the BFD sessions to come Up and the route to settle.
const READY_WITHIN: Duration = Duration::from_secs(30);
/// Upper bound of a trial's probe run, for the agents' own deadlines.
const AGENT_LIFETIME_S: u64 = 180;

/// The system a trial measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemUnderTest {
    /// vrouterd on the server.
    Vrouterd,
    /// FRR (bgpd + bfdd) and the kernel on the server: the baseline.
    Frr,
}

impl SystemUnderTest {
    pub fn name(self) -> &'static str {
        match self {
            SystemUnderTest::Vrouterd => "vrouterd",
            SystemUnderTest::Frr => "frr",
        }
    }
}

/// What one trial measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TrialSpec {
    pub system: SystemUnderTest,
    pub fault: Fault,
    pub timers: Timers,
    /// Routes in the server's FIB (vrouterd; FRR always has one).
    pub routes: u64,
}

impl TrialSpec {
    /// Who answers BFD on the gateways.
    pub fn gateway_peer(&self) -> GatewayPeer {
        match self.system {
            SystemUnderTest::Frr => GatewayPeer::FrrBgp,
            SystemUnderTest::Vrouterd if self.timers.frr_can_run() => GatewayPeer::FrrBfdd,
            SystemUnderTest::Vrouterd => GatewayPeer::Vrouterd,
        }
    }

    fn server_kind(&self) -> ServerKind {
        match self.system {
            SystemUnderTest::Vrouterd => ServerKind::Vrouterd {
                routes: self.routes,
            },
            SystemUnderTest::Frr => ServerKind::Frr,
        }
    }

    /// How long the fault is held.
    pub fn hold(&self) -> Duration {
        Duration::from_millis((2 * self.timers.detect_ms() + 500).max(1_000))
    }
}

/// Settings shared by every trial of a run.
#[derive(Debug, Clone)]
pub struct TrialOptions {
    pub vrouterd: PathBuf,
    /// Probe datagrams per second.
    pub rate: u32,
    pub interrupted: Arc<AtomicBool>,
    /// Where each trial's raw logs go (`--raw`), if anywhere.
    pub raw_dir: Option<PathBuf>,
}

/// One trial's result.
#[derive(Debug, Clone, Serialize)]
pub struct TrialRecord {
    pub round: u32,
    #[serde(flatten)]
    pub spec: TrialSpec,
    pub gateways: &'static str,
    pub rate_pps: u32,
    pub hold_ms: u64,
    /// Lab built → BFD Up and the route settled.
    pub setup_ms: u64,
    /// `None` when the trial failed (see `error`).
    pub outcome: Option<Outcome>,
    pub error: Option<String>,
}

/// Runs one trial; a failure is recorded, not propagated, so the other
/// trials of the run still count.
pub fn run(spec: TrialSpec, round: u32, options: &TrialOptions) -> TrialRecord {
    let started = Instant::now();
    let mut record = TrialRecord {
        round,
        spec,
        gateways: spec.gateway_peer().name(),
        rate_pps: options.rate,
        hold_ms: u64::try_from(spec.hold().as_millis()).unwrap_or(u64::MAX),
        setup_ms: 0,
        outcome: None,
        error: None,
    };
    match measure(spec, options, &mut record, started) {
        Ok(outcome) => record.outcome = Some(outcome),
        Err(e) => record.error = Some(e),
    }
    record
}

/// The processes of a trial, in drop order: agents, then the routers,
/// then the namespaces.
struct Running {
    receivers: Option<(NetnsAgent, NetnsAgent)>,
    sender: Option<NetnsAgent>,
    server: Option<Server>,
    gateways: Option<Gateways>,
    lab: TwoGatewayLab,
}

impl Drop for Running {
    fn drop(&mut self) {
        // The processes first (in field order, after this), then the
        // directories `VrouterdProcess` leaves behind (config, log,
        // socket): a failed trial's error already carries the logs' tail.
        self.receivers = None;
        self.sender = None;
        self.server = None;
        self.gateways = None;
        self.lab.router = None;
        for ns in [&self.lab.server, &self.lab.gw1, &self.lab.gw2] {
            if let Some(dir) = vrouterd_socket(&ns.name).parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

fn measure(
    spec: TrialSpec,
    options: &TrialOptions,
    record: &mut TrialRecord,
    started: Instant,
) -> Result<Outcome, String> {
    let mut t = Running {
        receivers: None,
        sender: None,
        server: None,
        gateways: None,
        lab: TwoGatewayLab::build().map_err(|e| e.to_string())?,
    };
    t.gateways = Some(Gateways::start(
        &t.lab,
        spec.gateway_peer(),
        spec.timers,
        &options.vrouterd,
    )?);
    let server = Server::start(
        &mut t.lab,
        spec.server_kind(),
        spec.timers,
        &options.vrouterd,
    )?;
    let ready = server.wait_ready(&t.lab, READY_WITHIN);
    t.server = Some(server);
    if let Err(e) = ready {
        let logs = t.gateways.as_ref().map(Gateways::logs).unwrap_or_default();
        return Err(format!("{e}\n{logs}"));
    }
    record.setup_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

    let run_id = (wall_ns() as u32) | 1;
    let receiver = |ns: &str| {
        NetnsAgent::spawn(
            "probe-recv",
            ns,
            0,
            &[
                "probe-recv",
                "--port",
                &PROBE_PORT.to_string(),
                "--run-id",
                &run_id.to_string(),
                "--max-seconds",
                &AGENT_LIFETIME_S.to_string(),
            ],
            ANSWER_WITHIN,
        )
    };
    t.receivers = Some((receiver(&t.lab.gw1.name)?, receiver(&t.lab.gw2.name)?));
    let max_packets = u64::from(options.rate) * AGENT_LIFETIME_S;
    t.sender = Some(NetnsAgent::spawn(
        "probe-send",
        &t.lab.lan.name,
        0,
        &[
            "probe-send",
            "--dst",
            DESTINATION,
            "--port",
            &PROBE_PORT.to_string(),
            "--rate",
            &options.rate.to_string(),
            "--run-id",
            &run_id.to_string(),
            "--max-packets",
            &max_packets.to_string(),
            "--max-seconds",
            &AGENT_LIFETIME_S.to_string(),
        ],
        ANSWER_WITHIN,
    )?);
    let result = drive(spec, options, &mut t);
    if let Err(e) = &result {
        let mut logs = t
            .server
            .as_ref()
            .map(|s| s.logs(&t.lab))
            .unwrap_or_default();
        logs.push_str(&t.gateways.as_ref().map(Gateways::logs).unwrap_or_default());
        return Err(format!("{e}\n{}", tail(&logs, 4_000)));
    }
    result
}

/// The probe run with the fault in the middle.
fn drive(spec: TrialSpec, options: &TrialOptions, t: &mut Running) -> Result<Outcome, String> {
    let interrupted = &options.interrupted;
    let sender = t.sender.as_mut().ok_or("no sender")?;
    let (gw1_rx, gw2_rx) = t.receivers.as_mut().ok_or("no receivers")?;
    let gateways = t.gateways.as_mut().ok_or("no gateways")?;
    sender.request("start", ANSWER_WITHIN)?;

    // Warm-up: until gw1 has carried 200 ms of the probe (ARP resolved,
    // caches warm).
    let warm = u64::from(options.rate / 5).max(1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(gw1_rx)? < warm {
        if Instant::now() > deadline {
            return Err(format!(
                "the probe did not reach gw1 within 10 s (gw2 got {})",
                count(gw2_rx)?
            ));
        }
        sleep_unless_interrupted(Duration::from_millis(20), interrupted)?;
    }
    let measure_from_ns = wall_ns();
    sleep_unless_interrupted(BEFORE_FAULT, interrupted)?;

    let fault_ns = wall_ns();
    fault::apply(spec.fault, &t.lab, gateways)?;
    sleep_unless_interrupted(spec.hold(), interrupted)?;

    let gw1_before = count(gw1_rx)?;
    let restore_ns = wall_ns();
    fault::restore(spec.fault, &t.lab, gateways)?;
    // Back on gw1: 100 ms of the probe through it.
    let back = gw1_before + u64::from(options.rate / 10).max(1);
    let deadline = Instant::now() + FAILBACK_WITHIN;
    while count(gw1_rx)? < back && Instant::now() < deadline {
        sleep_unless_interrupted(Duration::from_millis(20), interrupted)?;
    }
    sleep_unless_interrupted(SETTLE, interrupted)?;
    sender.request("stop", ANSWER_WITHIN)?;
    // Datagrams still in flight.
    sleep_unless_interrupted(Duration::from_millis(50), interrupted)?;

    let sent: Vec<u64> = parse_log(&sender.request("log", ANSWER_WITHIN)?, "send")?;
    let arrivals = Arrivals {
        gw1: parse_log(&gw1_rx.request("log", ANSWER_WITHIN)?, "gw1 receive")?,
        gw2: parse_log(&gw2_rx.request("log", ANSWER_WITHIN)?, "gw2 receive")?,
    };
    let timeline = Timeline {
        measure_from_ns,
        fault_ns,
        restore_ns,
    };
    if let Some(dir) = &options.raw_dir {
        let file = dir.join(format!(
            "{}-{}-{}-{}.json",
            spec.system.name(),
            spec.fault.name(),
            spec.timers,
            spec.routes
        ));
        let raw = serde_json::json!({
            "spec": spec,
            "timeline": timeline,
            "sent_ns": sent,
            "gw1": arrivals.gw1,
            "gw2": arrivals.gw2,
        });
        std::fs::write(&file, raw.to_string())
            .map_err(|e| format!("writing {}: {e}", file.display()))?;
    }
    Ok(analyze(
        &sent,
        &arrivals,
        timeline,
        1000.0 / f64::from(options.rate),
    ))
}

fn count(agent: &mut NetnsAgent) -> Result<u64, String> {
    let line = agent.request("count", ANSWER_WITHIN)?;
    line.strip_prefix("count ")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("the receiver said {line:?}"))
}

fn parse_log<T: serde::de::DeserializeOwned>(line: &str, what: &str) -> Result<T, String> {
    serde_json::from_str(line).map_err(|e| format!("the {what} log is not JSON ({e})"))
}

fn tail(text: &str, bytes: usize) -> &str {
    let mut start = text.len().saturating_sub(bytes);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}
