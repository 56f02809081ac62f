//! Configuration transactions inside the daemon.
//!
//! API threads hand each `{"config": …}` request to the control-plane
//! thread as a [`ConfigJob`] ([`ConfigChannel`]) and wait for the answer;
//! the control-plane thread owns the [`CommitManager`] and applies commits
//! with a [`DaemonApplier`], between two turns of its event loop, so a
//! commit never races a protocol. What a commit may change live:
//! - `[[static-route]]`: the static protocol is reconfigured and compares
//!   old and new itself, so only added, removed or changed routes touch
//!   the RIB (and a probe whose check is unchanged keeps its verdict);
//! - `[kernel-routes]`: the kernel copy is started, retuned or stopped;
//! - `[[bfd-profile]]` and `bfd = …`: sessions are added, removed or
//!   retimed (a poll sequence: a running session does not flap);
//! - `[icmp]`, `[ecmp]`, `[neighbor]`: the dataplane is retuned between
//!   two loop turns (neighbor entries and flows stay; a new hash seed
//!   moves flows between ECMP members once).
//!
//! Everything else (ports, cores, dataplane knobs, management, metrics)
//! is refused with the reason: those take effect at a restart. A refused
//! commit changes nothing.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use controlplane::clock::MonotonicClock;
use controlplane::event_loop::{EventLoop, ProtocolHandle};
use controlplane::static_routing::StaticRouting;
use crossbeam_channel::{Sender, bounded};
use serde_json::Value;

use super::bfd_sessions::BfdSessions;
use super::kernel_mirror::KernelMirror;
use super::routing::Routing;
use super::static_config::static_routing_config;
use super::tuning_mailbox::{TuningMailbox, tuning};
use crate::config::{
    ApplyError, ApplyReport, CommitManager, Config, ConfigApplier, ConfigDiff, ConfigStore,
    ConfigUnit, Now, ValidationEnv,
};
use crate::mgmt::RouterState;
use crate::mgmt::api::{ApiError, ConfigRequest, ErrorCode};
use crate::mgmt::config_control::{ConfigControl, answer};

/// Sections a commit can change while the router runs.
const LIVE_SECTIONS: &[&str] = &[
    "static-route",
    "kernel-routes",
    "bfd-profile",
    "icmp",
    "ecmp",
    "neighbor",
];

/// The forwarder's knobs: retuned in the running dataplane.
const TUNING_SECTIONS: &[&str] = &["icmp", "ecmp", "neighbor"];

/// How long an API thread waits for the control plane to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// One request and where its answer goes.
pub struct ConfigJob {
    pub request: ConfigRequest,
    pub reply: Sender<Result<Value, ApiError>>,
}

/// The API side: sends requests to the control-plane thread.
pub struct ConfigChannel {
    jobs: Sender<ConfigJob>,
}

impl ConfigChannel {
    pub fn new(jobs: Sender<ConfigJob>) -> Self {
        ConfigChannel { jobs }
    }
}

impl ConfigControl for ConfigChannel {
    fn request(&self, request: ConfigRequest) -> Result<Value, ApiError> {
        let (reply, answer) = bounded(1);
        self.jobs.send(ConfigJob { request, reply }).map_err(|_| {
            ApiError::new(ErrorCode::Internal, "the control plane is shutting down")
        })?;
        answer.recv_timeout(ANSWER_TIMEOUT).map_err(|_| {
            ApiError::new(
                ErrorCode::Busy,
                "the control plane did not answer within 30 s; the request may still complete: check `vrctl config history`",
            )
        })?
    }
}

/// The control-plane side: the commit manager and what applying needs.
pub struct ConfigRunner {
    manager: CommitManager,
    origin: Instant,
    twins: Vec<String>,
    state: Option<Arc<RouterState>>,
    tuning: Option<Arc<TuningMailbox>>,
}

impl ConfigRunner {
    /// Opens the store and recovers from a stop inside a confirm window.
    /// The configuration to run is [`ConfigRunner::running`], which is the
    /// file's unless recovery put an earlier one back.
    pub fn start(
        config_path: &std::path::Path,
        state_dir: &std::path::Path,
        twins: Vec<String>,
    ) -> Result<Self, String> {
        let store = ConfigStore::open(config_path, state_dir).map_err(|e| e.to_string())?;
        let origin = Instant::now();
        let (manager, report) =
            CommitManager::start(store, ValidationEnv::this_machine(), now(origin))
                .map_err(|e| e.to_string())?;
        if !report.interrupted.is_empty() {
            tracing::warn!(
                commits = ?report.interrupted,
                "vrouterd stopped while commits awaited confirmation: they are rolled back"
            );
        }
        Ok(ConfigRunner {
            manager,
            origin,
            twins,
            state: None,
            tuning: None,
        })
    }

    pub fn running(&self) -> &Arc<Config> {
        self.manager.running()
    }

    pub fn set_router_state(&mut self, state: Arc<RouterState>) {
        self.state = Some(state);
    }

    pub fn set_tuning_mailbox(&mut self, tuning: Arc<TuningMailbox>) {
        self.tuning = Some(tuning);
    }

    /// Answers one request.
    pub fn handle(
        &mut self,
        job: ConfigJob,
        event_loop: &mut EventLoop<MonotonicClock>,
        statics: ProtocolHandle<StaticRouting>,
        routing: &RefCell<Routing>,
        bfd: &mut BfdSessions,
    ) {
        let mut applier = DaemonApplier {
            event_loop,
            statics,
            routing,
            bfd,
            twins: &self.twins,
            state: self.state.as_ref(),
            tuning: self.tuning.as_deref(),
        };
        let answer = answer(
            &mut self.manager,
            job.request,
            now(self.origin),
            &mut applier,
        );
        // The client may have given up waiting; the outcome is in the log
        // and the history either way.
        let _ = job.reply.send(answer);
    }

    /// Rolls back a confirmed commit whose window ran out.
    pub fn poll(
        &mut self,
        event_loop: &mut EventLoop<MonotonicClock>,
        statics: ProtocolHandle<StaticRouting>,
        routing: &RefCell<Routing>,
        bfd: &mut BfdSessions,
    ) {
        let now = now(self.origin);
        if self
            .manager
            .next_deadline()
            .is_none_or(|deadline| now.monotonic < deadline)
        {
            return;
        }
        let mut applier = DaemonApplier {
            event_loop,
            statics,
            routing,
            bfd,
            twins: &self.twins,
            state: self.state.as_ref(),
            tuning: self.tuning.as_deref(),
        };
        if let Some(rollback) = self.manager.poll(now, &mut applier) {
            match &rollback.result {
                Ok(_) => tracing::warn!(
                    commits = ?rollback.rolled_back,
                    restored = ?rollback.restored,
                    "confirm window ran out: the unconfirmed commits were rolled back"
                ),
                Err(e) => {
                    tracing::error!(error = %e, "confirm window ran out, but the rollback failed; retrying")
                }
            }
        }
    }
}

/// Applies a validated candidate to the running daemon, all or nothing:
/// everything that can fail is done (staged) before anything running is
/// touched.
pub struct DaemonApplier<'a> {
    event_loop: &'a mut EventLoop<MonotonicClock>,
    statics: ProtocolHandle<StaticRouting>,
    routing: &'a RefCell<Routing>,
    bfd: &'a mut BfdSessions,
    twins: &'a [String],
    state: Option<&'a Arc<RouterState>>,
    tuning: Option<&'a TuningMailbox>,
}

impl ConfigApplier for DaemonApplier<'_> {
    fn apply(
        &mut self,
        _running: &Config,
        candidate: &Config,
        diff: &ConfigDiff,
    ) -> Result<ApplyReport, ApplyError> {
        if let Some(unit) = diff
            .units()
            .iter()
            .find(|u| !LIVE_SECTIONS.contains(&u.section.as_str()))
        {
            return Err(ApplyError::new(format!(
                "changing [{}] is not possible while vrouterd runs; only {} change live",
                unit.section,
                LIVE_SECTIONS
                    .iter()
                    .map(|s| format!("[{s}]"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))
            .at(unit.clone())
            .help("commit the live changes alone; for the rest, edit the configuration file and restart vrouterd"));
        }

        // Staged: the kernel copy is the only part that can fail.
        let kernel_change = diff.touches("kernel-routes");
        let new_mirror = if kernel_change && candidate.kernel_routes.enabled {
            Some(
                KernelMirror::start(&candidate.kernel_routes, self.twins).map_err(|e| {
                    ApplyError::new(format!("cannot start the kernel route copy: {e}"))
                        .at(ConfigUnit::section("kernel-routes"))
                })?,
            )
        } else {
            None
        };

        // From here on nothing fails.
        let mut restarted = Vec::new();
        if kernel_change {
            let mut routing = self.routing.borrow_mut();
            if let Some(old) = routing.take_kernel_mirror() {
                old.stop();
            }
            routing.set_kernel_mirror(new_mirror);
            restarted.push(ConfigUnit::section("kernel-routes"));
        }
        if diff.touches("static-route") {
            self.event_loop
                .reconfigure(self.statics, static_routing_config(candidate));
            restarted.extend(
                diff.units()
                    .iter()
                    .filter(|u| u.section == "static-route")
                    .cloned(),
            );
        }
        if diff.touches("static-route") || diff.touches("bfd-profile") {
            // The control plane sends the session changes after the RIB
            // commit that follows, with the next hops' new ids.
            self.bfd.set_config(candidate);
            if diff.touches("bfd-profile") {
                restarted.push(ConfigUnit::section("bfd-profile"));
            }
        }
        if TUNING_SECTIONS.iter().any(|s| diff.touches(s)) {
            if let Some(mailbox) = self.tuning {
                mailbox.post(tuning(candidate));
            }
            restarted.extend(
                TUNING_SECTIONS
                    .iter()
                    .filter(|s| diff.touches(s))
                    .map(|s| ConfigUnit::section(s)),
            );
        }
        if let Some(state) = self.state {
            state.set_config(Arc::new(candidate.clone()));
        }
        Ok(ApplyReport {
            restarted,
            notes: Vec::new(),
        })
    }
}

/// The commit manager's clocks: monotonic from the runner's start, and
/// the wall clock for the history.
fn now(origin: Instant) -> Now {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Now::new(origin.elapsed(), unix)
}
