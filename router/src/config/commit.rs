//! Configuration transactions: validate, diff, commit (optionally
//! confirmed), confirm, rollback, and the confirm timeout.
//!
//! [`CommitManager`] is sans-IO in time and threads: the caller passes the
//! clocks in ([`Now`]) and calls [`CommitManager::poll`] at
//! [`CommitManager::next_deadline`]; the only IO is the [`ConfigStore`]'s
//! files. Making a configuration run is the [`ConfigApplier`]'s job (the
//! daemon's), and it is all-or-nothing: the manager validates, diffs,
//! applies, and only when the applier succeeds saves the commit and makes
//! the candidate the running configuration. A refused or failed commit
//! leaves the running configuration, the file and the history as they
//! were.
//!
//! Confirmed commits follow Junos `commit confirmed`:
//! - `commit --confirm S` runs the candidate but does not rewrite the
//!   file; unless confirmed within S seconds the configuration from before
//!   it comes back by itself ([`CommitManager::poll`]).
//! - A second `commit --confirm` inside the window is allowed: it restarts
//!   the timer, and the timeout still goes back to the configuration from
//!   before the *first* unconfirmed commit.
//! - A plain `commit` inside the window confirms: its candidate becomes
//!   the saved configuration, and so does one with no changes (that is
//!   `confirm`).
//! - `rollback N` inside the window closes it: the unconfirmed commits are
//!   marked rolled back and the restored configuration is saved.
//! - If the daemon stops inside the window, the file still holds the
//!   configuration from before it, which is what the next start runs.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::diff::{ConfigDiff, ConfigUnit};
use super::error::ConfigErrors;
use super::load::parse_str;
use super::model::Config;
use super::store::{
    CommitOrigin, CommitStatus, ConfigStore, HistoryEntry, NewEntry, PendingMarker, StoreError,
};
use super::validate::ValidationEnv;

/// After a failed automatic rollback, how long until the next attempt.
pub const ROLLBACK_RETRY: Duration = Duration::from_secs(5);
/// The longest confirm window accepted.
pub const MAX_CONFIRM: Duration = Duration::from_secs(24 * 60 * 60);

/// The two clocks an operation needs: `monotonic` for deadlines (any fixed
/// origin, never jumps), `unix_secs` for the history's timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub monotonic: Duration,
    pub unix_secs: u64,
}

impl Now {
    pub fn new(monotonic: Duration, unix_secs: u64) -> Self {
        Self {
            monotonic,
            unix_secs,
        }
    }
}

/// Makes a configuration the running state: the daemon's side.
pub trait ConfigApplier {
    /// Makes `candidate` the running state. On Err the applier guarantees
    /// the running state is exactly as before the call (it stages, then
    /// swaps).
    fn apply(
        &mut self,
        running: &Config,
        candidate: &Config,
        diff: &ConfigDiff,
    ) -> Result<ApplyReport, ApplyError>;
}

/// What an apply did, for the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// The units restarted (usually the diff's units).
    pub restarted: Vec<ConfigUnit>,
    /// Anything worth saying: "port eth1 reattached in generic mode".
    pub notes: Vec<String>,
}

/// Why an apply failed; the running state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyError {
    /// What failed and why: "port eth3: no such interface".
    pub message: String,
    /// Where in the configuration, when one unit is to blame.
    pub unit: Option<ConfigUnit>,
    /// What to do about it.
    pub help: Option<String>,
}

impl ApplyError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            unit: None,
            help: None,
        }
    }

    pub fn at(mut self, unit: ConfigUnit) -> Self {
        self.unit = Some(unit);
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(unit) = &self.unit {
            write!(f, "{unit}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, " ({help})")?;
        }
        Ok(())
    }
}

/// Why a transaction did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitError {
    /// The candidate does not validate; nothing was changed.
    Invalid(ConfigErrors),
    /// The applier refused; the running state is unchanged.
    Apply(ApplyError),
    /// `confirm` with no commit awaiting confirmation.
    NothingToConfirm,
    /// `rollback N` beyond the history.
    NoSuchCommit { steps: usize, available: usize },
    /// The confirm window asked for is out of range.
    BadConfirm(Duration),
    /// Saving failed. `reverted`: the running state was put back as it was
    /// (otherwise the change is live but not saved).
    Store { error: StoreError, reverted: bool },
}

impl std::fmt::Display for CommitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(errors) => write!(f, "{errors}"),
            Self::Apply(e) => write!(
                f,
                "applying the configuration failed: {e}; the running configuration is unchanged"
            ),
            Self::NothingToConfirm => f.write_str(
                "no commit awaits confirmation (commit with --confirm SECONDS to open a window)",
            ),
            Self::NoSuchCommit { steps, available } => match available {
                0 => write!(f, "rollback {steps}: the history is empty"),
                1 => write!(
                    f,
                    "rollback {steps}: the history holds only the running configuration (rollback 0)"
                ),
                n => write!(
                    f,
                    "rollback {steps}: the history holds {n} configurations, rollback 0 to {}; see `vrctl config history`",
                    n - 1
                ),
            },
            Self::BadConfirm(d) => write!(
                f,
                "a confirm window of {} s is out of range: give 1 to {} seconds",
                d.as_secs(),
                MAX_CONFIRM.as_secs()
            ),
            Self::Store { error, reverted } => {
                if *reverted {
                    write!(
                        f,
                        "saving the commit failed ({error}); the change was undone, the running configuration is unchanged"
                    )
                } else {
                    write!(
                        f,
                        "saving the commit failed ({error}) and undoing it failed too: the new configuration runs but is not saved; fix the cause and commit again"
                    )
                }
            }
        }
    }
}

impl std::error::Error for CommitError {}

/// Why the manager could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    Store(StoreError),
    /// The configuration to start with does not validate.
    Invalid(ConfigErrors),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Store(e) => write!(f, "{e}"),
            Self::Invalid(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// What [`CommitManager::start`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartReport {
    /// Commits that awaited confirmation when the daemon stopped, now
    /// rolled back.
    pub interrupted: Vec<u64>,
    /// The file was edited in place before an unconfirmed commit and has
    /// been put back.
    pub file_restored: bool,
    /// The history entry recorded for this start (the file differed from
    /// the last commit), if any.
    pub recorded: Option<u64>,
}

/// How a commit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitKind {
    /// The candidate runs now.
    Committed,
    /// The candidate is the running configuration already: nothing done.
    NoChanges,
    /// No changes, and the open confirm window was confirmed.
    Confirmed,
    /// No changes, and the open confirm window was restarted.
    ConfirmExtended,
}

/// A successful commit or rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutcome {
    pub kind: CommitKind,
    /// The history entry of the running configuration.
    pub id: Option<u64>,
    pub diff: ConfigDiff,
    pub report: ApplyReport,
    /// The open confirm window, if any, after this commit.
    pub pending: Option<PendingInfo>,
    /// Commits confirmed by this one.
    pub confirmed: Vec<u64>,
}

/// An open confirm window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingInfo {
    /// The unconfirmed commits, oldest first.
    pub commits: Vec<u64>,
    /// On the monotonic clock.
    pub deadline: Duration,
    /// The history entry the timeout goes back to.
    pub rollback_to: Option<u64>,
}

/// A successful `confirm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmOutcome {
    pub confirmed: Vec<u64>,
    /// The history entry of the running configuration.
    pub id: Option<u64>,
}

/// What [`CommitManager::poll`] did when a confirm window ran out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoRollback {
    /// The unconfirmed commits undone (or to be undone, if this failed).
    pub rolled_back: Vec<u64>,
    /// The history entry restored.
    pub restored: Option<u64>,
    /// The history entry recording the rollback.
    pub id: Option<u64>,
    pub diff: ConfigDiff,
    /// Err: the applier refused; the unconfirmed configuration still runs
    /// and the next attempt is at [`CommitManager::next_deadline`].
    pub result: Result<ApplyReport, ApplyError>,
    /// The rollback runs but could not be saved.
    pub store_error: Option<StoreError>,
}

struct Pending {
    commits: Vec<u64>,
    deadline: Duration,
    previous: Arc<Config>,
    previous_text: String,
    previous_id: Option<u64>,
}

/// The running configuration, its history, and the transactions on them.
pub struct CommitManager {
    env: ValidationEnv,
    store: ConfigStore,
    running: Arc<Config>,
    running_text: String,
    running_id: Option<u64>,
    pending: Option<Pending>,
}

impl CommitManager {
    /// Starts over `store`: recovers from a stop inside a confirm window
    /// ([`ConfigStore::recover`]), validates the configuration to run, and
    /// records it in the history if it is not the last commit (first
    /// start, a file edited by hand).
    pub fn start(
        mut store: ConfigStore,
        env: ValidationEnv,
        now: Now,
    ) -> Result<(Self, StartReport), StartError> {
        let recovery = store.recover().map_err(StartError::Store)?;
        let origin = store.config_file().display().to_string();
        let config = parse_str(&recovery.text, &origin, &env).map_err(StartError::Invalid)?;
        let latest = store
            .latest()
            .filter(|e| e.status == CommitStatus::Confirmed)
            .map(|e| (e.id, store.text(e.id)));
        let (running_id, recorded) = match latest {
            Some((id, Ok(text))) if text == recovery.text => (Some(id), None),
            _ => {
                let summary = if !recovery.interrupted.is_empty() {
                    format!(
                        "the daemon stopped before commit {} was confirmed: back to the configuration before it",
                        join_ids(&recovery.interrupted)
                    )
                } else {
                    match store.latest().map(|e| store.text(e.id)) {
                        Some(Ok(text)) => match parse_str(&text, "", &env) {
                            Ok(before) => format!(
                                "{} differs from the last commit: {}",
                                origin,
                                ConfigDiff::new(&before, &config).summary()
                            ),
                            Err(_) => format!("{origin} differs from the last commit"),
                        },
                        _ => format!("first start with {origin}"),
                    }
                };
                let id = store
                    .record(
                        &recovery.text,
                        NewEntry {
                            time: now.unix_secs,
                            comment: None,
                            origin: CommitOrigin::Startup,
                            status: CommitStatus::Confirmed,
                            summary,
                        },
                    )
                    .map_err(StartError::Store)?;
                (Some(id), Some(id))
            }
        };
        let manager = Self {
            env,
            store,
            running: Arc::new(config),
            running_text: recovery.text,
            running_id,
            pending: None,
        };
        let report = StartReport {
            interrupted: recovery.interrupted,
            file_restored: recovery.file_restored,
            recorded,
        };
        Ok((manager, report))
    }

    /// The running configuration.
    pub fn running(&self) -> &Arc<Config> {
        &self.running
    }

    pub fn running_text(&self) -> &str {
        &self.running_text
    }

    /// The history entry of the running configuration.
    pub fn running_id(&self) -> Option<u64> {
        self.running_id
    }

    pub fn store(&self) -> &ConfigStore {
        &self.store
    }

    pub fn env(&self) -> &ValidationEnv {
        &self.env
    }

    /// Parses and validates `text`; `origin` names it in errors.
    pub fn validate(&self, text: &str, origin: &str) -> Result<Config, ConfigErrors> {
        parse_str(text, origin, &self.env)
    }

    /// What committing `text` would change.
    pub fn diff(&self, text: &str, origin: &str) -> Result<ConfigDiff, ConfigErrors> {
        let candidate = self.validate(text, origin)?;
        Ok(ConfigDiff::new(&self.running, &candidate))
    }

    /// The open confirm window.
    pub fn pending(&self) -> Option<PendingInfo> {
        self.pending.as_ref().map(|p| PendingInfo {
            commits: p.commits.clone(),
            deadline: p.deadline,
            rollback_to: p.previous_id,
        })
    }

    /// When [`poll`](Self::poll) has work: the end of the confirm window.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.pending.as_ref().map(|p| p.deadline)
    }

    /// The history, newest first: entry `n` is what `rollback n` restores
    /// (entry 0 is the running configuration).
    pub fn history(&self) -> Vec<HistoryEntry> {
        self.store.history().cloned().collect()
    }

    /// Validates `text`, applies it, and saves it; with `confirm`, opens
    /// (or restarts) a confirm window instead of saving it to the file.
    pub fn commit(
        &mut self,
        text: &str,
        origin: &str,
        confirm: Option<Duration>,
        comment: Option<&str>,
        now: Now,
        applier: &mut dyn ConfigApplier,
    ) -> Result<CommitOutcome, CommitError> {
        if let Some(d) = confirm
            && (d.is_zero() || d > MAX_CONFIRM)
        {
            return Err(CommitError::BadConfirm(d));
        }
        let candidate = self.validate(text, origin).map_err(CommitError::Invalid)?;
        self.transact(
            text,
            candidate,
            CommitOrigin::Commit,
            confirm,
            comment,
            now,
            applier,
        )
    }

    /// Confirms the open window: the running configuration is saved.
    pub fn confirm(&mut self, _now: Now) -> Result<ConfirmOutcome, CommitError> {
        let Some(pending) = self.pending.take() else {
            return Err(CommitError::NothingToConfirm);
        };
        if let Err(error) = self.save_confirmed(&pending.commits) {
            self.pending = Some(pending);
            return Err(CommitError::Store {
                error,
                reverted: true,
            });
        }
        tracing::info!(commits = ?pending.commits, "configuration confirmed");
        Ok(ConfirmOutcome {
            confirmed: pending.commits,
            id: self.running_id,
        })
    }

    /// Makes history entry `steps` (0 = the running configuration, 1 = the
    /// one before, as Junos `rollback 1`) the running configuration, as a
    /// new commit.
    pub fn rollback(
        &mut self,
        steps: usize,
        comment: Option<&str>,
        now: Now,
        applier: &mut dyn ConfigApplier,
    ) -> Result<CommitOutcome, CommitError> {
        let available = self.store.history().count();
        let Some(entry) = self.store.history().nth(steps).cloned() else {
            return Err(CommitError::NoSuchCommit { steps, available });
        };
        let text = self
            .store
            .text(entry.id)
            .map_err(|error| CommitError::Store {
                error,
                reverted: true,
            })?;
        let origin = format!("rollback {steps} (commit {})", entry.id);
        let candidate = self
            .validate(&text, &origin)
            .map_err(CommitError::Invalid)?;
        let default_comment = format!("rollback {steps} to commit {}", entry.id);
        let comment = comment.unwrap_or(&default_comment);
        self.transact(
            &text,
            candidate,
            CommitOrigin::Rollback,
            None,
            Some(comment),
            now,
            applier,
        )
    }

    /// At or after [`next_deadline`](Self::next_deadline): an unconfirmed
    /// window that ran out is rolled back to the configuration from before
    /// it. `None` when there is nothing to do yet.
    pub fn poll(&mut self, now: Now, applier: &mut dyn ConfigApplier) -> Option<AutoRollback> {
        let pending = self.pending.as_mut()?;
        if now.monotonic < pending.deadline {
            return None;
        }
        let diff = ConfigDiff::new(&self.running, &pending.previous);
        let report = match applier.apply(&self.running, &pending.previous, &diff) {
            Ok(report) => report,
            Err(e) => {
                pending.deadline = now.monotonic + ROLLBACK_RETRY;
                tracing::error!(error = %e, commits = ?pending.commits, "the confirm window ran out but rolling back failed; retrying");
                return Some(AutoRollback {
                    rolled_back: pending.commits.clone(),
                    restored: pending.previous_id,
                    id: None,
                    diff,
                    result: Err(e),
                    store_error: None,
                });
            }
        };
        let pending = self.pending.take()?;
        self.running = Arc::clone(&pending.previous);
        self.running_text = pending.previous_text.clone();
        let summary = format!(
            "commit {} not confirmed in time: back to {}",
            join_ids(&pending.commits),
            pending.previous_id.map_or_else(
                || "the previous configuration".to_owned(),
                |id| format!("commit {id}")
            )
        );
        let saved = (|| {
            self.store.write_config_file(&pending.previous_text)?;
            let id = self.store.record(
                &pending.previous_text,
                NewEntry {
                    time: now.unix_secs,
                    comment: None,
                    origin: CommitOrigin::ConfirmTimeout,
                    status: CommitStatus::Confirmed,
                    summary,
                },
            )?;
            self.store
                .set_status(&pending.commits, CommitStatus::RolledBack)?;
            self.store.clear_pending()?;
            Ok::<_, StoreError>(id)
        })();
        let (id, store_error) = match saved {
            Ok(id) => (Some(id), None),
            Err(e) => (None, Some(e)),
        };
        self.running_id = id.or(pending.previous_id);
        tracing::warn!(commits = ?pending.commits, restored = ?pending.previous_id, "confirm window ran out: configuration rolled back");
        Some(AutoRollback {
            rolled_back: pending.commits,
            restored: pending.previous_id,
            id,
            diff,
            result: Ok(report),
            store_error,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn transact(
        &mut self,
        text: &str,
        candidate: Config,
        origin: CommitOrigin,
        confirm: Option<Duration>,
        comment: Option<&str>,
        now: Now,
        applier: &mut dyn ConfigApplier,
    ) -> Result<CommitOutcome, CommitError> {
        let diff = ConfigDiff::new(&self.running, &candidate);
        if diff.is_empty() {
            return self.no_changes(origin, confirm, now, diff);
        }
        let report = applier
            .apply(&self.running, &candidate, &diff)
            .map_err(CommitError::Apply)?;
        let candidate = Arc::new(candidate);
        match self.save(text, origin, confirm, comment, now, &diff) {
            Ok((id, confirmed)) => {
                self.running = candidate;
                self.running_text = text.to_owned();
                self.running_id = Some(id);
                tracing::info!(id, summary = %diff.summary(), confirm_seconds = confirm.map(|d| d.as_secs()), "configuration committed");
                Ok(CommitOutcome {
                    kind: CommitKind::Committed,
                    id: Some(id),
                    diff,
                    report,
                    pending: self.pending(),
                    confirmed,
                })
            }
            Err(error) => {
                let back = ConfigDiff::new(&candidate, &self.running);
                let reverted = applier.apply(&candidate, &self.running, &back).is_ok();
                if !reverted {
                    // Say what runs, even though it is not saved.
                    self.running = candidate;
                    self.running_text = text.to_owned();
                    self.running_id = None;
                }
                tracing::error!(%error, reverted, "saving a commit failed");
                Err(CommitError::Store { error, reverted })
            }
        }
    }

    /// A candidate equal to the running configuration.
    fn no_changes(
        &mut self,
        origin: CommitOrigin,
        confirm: Option<Duration>,
        now: Now,
        diff: ConfigDiff,
    ) -> Result<CommitOutcome, CommitError> {
        let mut outcome = CommitOutcome {
            kind: CommitKind::NoChanges,
            id: self.running_id,
            diff,
            report: ApplyReport::default(),
            pending: None,
            confirmed: Vec::new(),
        };
        // A rollback to what runs changes nothing, not even the window.
        if origin == CommitOrigin::Commit && self.pending.is_some() {
            match confirm {
                None => {
                    outcome.confirmed = self.confirm(now)?.confirmed;
                    outcome.kind = CommitKind::Confirmed;
                }
                Some(d) => {
                    let marker = self.pending.as_ref().map(|p| PendingMarker {
                        commits: p.commits.clone(),
                        previous_id: p.previous_id,
                        previous_text: p.previous_text.clone(),
                        deadline: now.unix_secs.saturating_add(d.as_secs()),
                    });
                    if let Some(marker) = marker {
                        self.store
                            .write_pending(&marker)
                            .map_err(|error| CommitError::Store {
                                error,
                                reverted: true,
                            })?;
                    }
                    if let Some(p) = self.pending.as_mut() {
                        p.deadline = now.monotonic + d;
                    }
                    outcome.kind = CommitKind::ConfirmExtended;
                }
            }
        }
        outcome.pending = self.pending();
        Ok(outcome)
    }

    /// Saves an applied commit: its history entry, then either the confirm
    /// marker (confirmed commit) or the file (plain commit, which also
    /// confirms an open window; a rollback closes it). Returns the new id
    /// and the commits this confirmed. On error the store is as before.
    fn save(
        &mut self,
        text: &str,
        origin: CommitOrigin,
        confirm: Option<Duration>,
        comment: Option<&str>,
        now: Now,
        diff: &ConfigDiff,
    ) -> Result<(u64, Vec<u64>), StoreError> {
        let status = if confirm.is_some() {
            CommitStatus::Pending
        } else {
            CommitStatus::Confirmed
        };
        let id = self.store.record(
            text,
            NewEntry {
                time: now.unix_secs,
                comment: comment.map(str::to_owned),
                origin,
                status,
                summary: diff.summary(),
            },
        )?;
        let undo = |store: &mut ConfigStore, e: StoreError| {
            let _ = store.set_status(&[id], CommitStatus::RolledBack);
            e
        };
        if let Some(d) = confirm {
            let (mut commits, previous, previous_text, previous_id) = match self.pending.take() {
                Some(p) => (p.commits, p.previous, p.previous_text, p.previous_id),
                None => (
                    Vec::new(),
                    Arc::clone(&self.running),
                    self.running_text.clone(),
                    self.running_id,
                ),
            };
            commits.push(id);
            let marker = PendingMarker {
                commits: commits.clone(),
                previous_id,
                previous_text: previous_text.clone(),
                deadline: now.unix_secs.saturating_add(d.as_secs()),
            };
            let written = self.store.write_pending(&marker);
            let before_this: Vec<u64> = commits[..commits.len() - 1].to_vec();
            self.pending = Some(Pending {
                commits,
                deadline: now.monotonic + d,
                previous,
                previous_text,
                previous_id,
            });
            if let Err(e) = written {
                // Back to the window as it was (or none).
                if before_this.is_empty() {
                    self.pending = None;
                } else if let Some(p) = self.pending.as_mut() {
                    p.commits = before_this;
                }
                return Err(undo(&mut self.store, e));
            }
            return Ok((id, Vec::new()));
        }
        if let Err(e) = self.store.write_config_file(text) {
            return Err(undo(&mut self.store, e));
        }
        let Some(pending) = self.pending.take() else {
            return Ok((id, Vec::new()));
        };
        let status = if origin == CommitOrigin::Commit {
            CommitStatus::Confirmed
        } else {
            CommitStatus::RolledBack
        };
        // The file is saved: from here on a failure only leaves a stale
        // status or marker, which the next start sorts out.
        if let Err(e) = self
            .store
            .set_status(&pending.commits, status)
            .and_then(|()| self.store.clear_pending())
        {
            tracing::warn!(error = %e, "closing the confirm window on disk failed");
        }
        let confirmed = if status == CommitStatus::Confirmed {
            pending.commits
        } else {
            Vec::new()
        };
        Ok((id, confirmed))
    }

    /// Saves the running configuration as confirmed and closes the window.
    fn save_confirmed(&mut self, commits: &[u64]) -> Result<(), StoreError> {
        self.store.write_config_file(&self.running_text)?;
        self.store.set_status(commits, CommitStatus::Confirmed)?;
        self.store.clear_pending()
    }
}

fn join_ids(ids: &[u64]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
