//! Where committed configurations are kept, so that a restart comes back
//! with what was running and `rollback N` has something to go back to.
//!
//! - The daemon's configuration file (`vrouterd --config FILE`) is the
//!   confirmed running configuration: a commit rewrites it atomically
//!   (temporary file in the same directory, fsync, rename, fsync of the
//!   directory), so after a crash it holds either the old text or the new,
//!   never a mix.
//! - The state directory (default [`DEFAULT_STATE_DIR`]) holds
//!   `history/<id>.toml`, the text of each commit, and `history/index.jsonl`,
//!   one JSON line per commit ([`HistoryEntry`]), the last
//!   [`HISTORY_LIMIT`] kept.
//! - While a commit awaits confirmation, `pending-confirm.json` in the state
//!   directory names it and holds the text it replaced. The file is only
//!   rewritten at confirmation, so a daemon that dies inside the window
//!   starts again with the previous configuration; the marker makes that
//!   hold even if the file was edited in place before the commit
//!   ([`ConfigStore::recover`] puts the previous text back).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where history is kept unless the configuration says otherwise.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/vrouterd";
/// Commits kept in the history; older ones are deleted.
pub const HISTORY_LIMIT: usize = 50;

const HISTORY_DIR: &str = "history";
const INDEX_FILE: &str = "index.jsonl";
const PENDING_FILE: &str = "pending-confirm.json";
/// The state directory holds configurations: readable by root only.
const STATE_DIR_MODE: u32 = 0o700;

/// How a configuration came to be running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitOrigin {
    /// `vrctl config commit`.
    Commit,
    /// `vrctl config rollback N`.
    Rollback,
    /// A confirmed commit not confirmed in time: the configuration before it.
    ConfirmTimeout,
    /// The daemon started with a file that differs from the last commit
    /// (first start, an edit by hand, a crash inside a confirm window).
    Startup,
    /// Written by a newer daemon.
    #[serde(other)]
    Unknown,
}

/// Where a commit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitStatus {
    /// Running, awaiting `vrctl config confirm`.
    Pending,
    /// Was or is the running configuration, saved in the file.
    Confirmed,
    /// Ran unconfirmed, then was undone (timeout, rollback, or the daemon
    /// stopped inside the window).
    RolledBack,
    #[serde(other)]
    Unknown,
}

/// One line of the history index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Increasing with every commit, never reused.
    pub id: u64,
    /// Seconds since the Unix epoch.
    pub time: u64,
    pub comment: Option<String>,
    pub origin: CommitOrigin,
    pub status: CommitStatus,
    /// Length of the text in bytes.
    pub bytes: usize,
    /// What it changed, e.g. `1 added: static-route[10.9.0.0/16]`.
    pub summary: String,
}

/// What to record with a commit's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub time: u64,
    pub comment: Option<String>,
    pub origin: CommitOrigin,
    pub status: CommitStatus,
    pub summary: String,
}

/// The marker of a commit awaiting confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMarker {
    /// The unconfirmed commits, oldest first (a commit inside the window
    /// adds to it).
    pub commits: Vec<u64>,
    /// The history entry of the configuration before the first of them.
    pub previous_id: Option<u64>,
    /// Its text: what a restart inside the window runs.
    pub previous_text: String,
    /// When the window closes, seconds since the Unix epoch (for people;
    /// the daemon's own deadline is on its monotonic clock).
    pub deadline: u64,
}

/// What [`ConfigStore::recover`] found at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The configuration text to run.
    pub text: String,
    /// Commits that were awaiting confirmation when the daemon stopped:
    /// they are now rolled back.
    pub interrupted: Vec<u64>,
    /// The file was put back to the previous text (it had been edited in
    /// place before the unconfirmed commit).
    pub file_restored: bool,
}

/// A failure to read or write the store, naming the file and the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl StoreError {
    fn io(what: &str, path: &Path, e: &io::Error) -> Self {
        Self(format!("{what} {}: {e}", path.display()))
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// The configuration file and the history beside it.
#[derive(Debug)]
pub struct ConfigStore {
    config_file: PathBuf,
    state_dir: PathBuf,
    /// Oldest first.
    entries: Vec<HistoryEntry>,
}

impl ConfigStore {
    /// Opens (creating the directories if needed) the history in
    /// `state_dir` for the daemon's `config_file`. Unreadable index lines
    /// are skipped with a warning: a damaged history must not stop the
    /// router.
    pub fn open(
        config_file: impl Into<PathBuf>,
        state_dir: impl Into<PathBuf>,
    ) -> Result<Self, StoreError> {
        let config_file = config_file.into();
        let state_dir = state_dir.into();
        let history = state_dir.join(HISTORY_DIR);
        fs::create_dir_all(&history)
            .map_err(|e| StoreError::io("creating the history directory", &history, &e))?;
        // Configurations may hold secrets later (BGP passwords).
        let _ = fs::set_permissions(&state_dir, fs::Permissions::from_mode(STATE_DIR_MODE));
        let index = history.join(INDEX_FILE);
        let mut entries = Vec::new();
        match fs::read_to_string(&index) {
            Ok(text) => {
                for (n, line) in text.lines().enumerate() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    match serde_json::from_str::<HistoryEntry>(line) {
                        Ok(entry) => entries.push(entry),
                        Err(e) => tracing::warn!(
                            file = %index.display(),
                            line = n + 1,
                            error = %e,
                            "skipping an unreadable line of the commit history"
                        ),
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("reading", &index, &e)),
        }
        entries.sort_by_key(|e| e.id);
        entries.dedup_by_key(|e| e.id);
        Ok(Self {
            config_file,
            state_dir,
            entries,
        })
    }

    pub fn config_file(&self) -> &Path {
        &self.config_file
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The history, newest first: entry `n` is what `rollback n` restores.
    pub fn history(&self) -> impl Iterator<Item = &HistoryEntry> {
        self.entries.iter().rev()
    }

    pub fn latest(&self) -> Option<&HistoryEntry> {
        self.entries.last()
    }

    pub fn entry(&self, id: u64) -> Option<&HistoryEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    fn history_dir(&self) -> PathBuf {
        self.state_dir.join(HISTORY_DIR)
    }

    fn text_path(&self, id: u64) -> PathBuf {
        self.history_dir().join(format!("{id}.toml"))
    }

    fn pending_path(&self) -> PathBuf {
        self.state_dir.join(PENDING_FILE)
    }

    /// The text of commit `id`.
    pub fn text(&self, id: u64) -> Result<String, StoreError> {
        let path = self.text_path(id);
        fs::read_to_string(&path).map_err(|e| StoreError::io("reading", &path, &e))
    }

    /// The configuration file's text.
    pub fn read_config_file(&self) -> Result<String, StoreError> {
        fs::read_to_string(&self.config_file)
            .map_err(|e| StoreError::io("reading the configuration file", &self.config_file, &e))
    }

    /// Replaces the configuration file with `text`, atomically, keeping
    /// its permissions.
    pub fn write_config_file(&self, text: &str) -> Result<(), StoreError> {
        write_atomically(&self.config_file, text.as_bytes())
    }

    /// Keeps `text` as a new commit and returns its id; the oldest commits
    /// beyond [`HISTORY_LIMIT`] are deleted.
    pub fn record(&mut self, text: &str, entry: NewEntry) -> Result<u64, StoreError> {
        let id = self.entries.last().map_or(1, |e| e.id.saturating_add(1));
        write_atomically(&self.text_path(id), text.as_bytes())?;
        self.entries.push(HistoryEntry {
            id,
            time: entry.time,
            comment: entry.comment,
            origin: entry.origin,
            status: entry.status,
            bytes: text.len(),
            summary: entry.summary,
        });
        let excess = self.entries.len().saturating_sub(HISTORY_LIMIT);
        let dropped: Vec<HistoryEntry> = self.entries.drain(..excess).collect();
        if let Err(e) = self.write_index() {
            // Leave memory as the disk has it.
            self.entries.pop();
            let mut restored = dropped;
            restored.append(&mut self.entries);
            self.entries = restored;
            let _ = fs::remove_file(self.text_path(id));
            return Err(e);
        }
        for old in dropped {
            let _ = fs::remove_file(self.text_path(old.id));
        }
        Ok(id)
    }

    /// Sets the status of these commits (those still in the history).
    pub fn set_status(&mut self, ids: &[u64], status: CommitStatus) -> Result<(), StoreError> {
        let before = self.entries.clone();
        let mut touched = false;
        for entry in &mut self.entries {
            if ids.contains(&entry.id) && entry.status != status {
                entry.status = status;
                touched = true;
            }
        }
        if !touched {
            return Ok(());
        }
        self.write_index().inspect_err(|_| self.entries = before)
    }

    fn write_index(&self) -> Result<(), StoreError> {
        let mut text = String::new();
        for entry in &self.entries {
            let line = serde_json::to_string(entry)
                .map_err(|e| StoreError(format!("encoding history entry {}: {e}", entry.id)))?;
            text.push_str(&line);
            text.push('\n');
        }
        write_atomically(&self.history_dir().join(INDEX_FILE), text.as_bytes())
    }

    /// Records that a confirm window is open.
    pub fn write_pending(&self, marker: &PendingMarker) -> Result<(), StoreError> {
        let json = serde_json::to_vec(marker)
            .map_err(|e| StoreError(format!("encoding the confirm marker: {e}")))?;
        write_atomically(&self.pending_path(), &json)
    }

    /// The open confirm window's marker, if any.
    pub fn read_pending(&self) -> Result<Option<PendingMarker>, StoreError> {
        let path = self.pending_path();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError(format!("{} is unreadable: {e}", path.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("reading", &path, &e)),
        }
    }

    /// Closes the confirm window on disk.
    pub fn clear_pending(&self) -> Result<(), StoreError> {
        let path = self.pending_path();
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.state_dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io("removing", &path, &e)),
        }
    }

    /// At start: the configuration text to run. If the daemon stopped
    /// inside a confirm window, that is the configuration from before the
    /// window (written back to the file if the file holds something else),
    /// and the unconfirmed commits are marked rolled back. Otherwise it is
    /// the file.
    ///
    /// An unreadable marker (it is written atomically, so only damage
    /// makes one) is set aside as `pending-confirm.json.unreadable` and the
    /// file is run: the file is the confirmed configuration unless it was
    /// edited in place, and a router that does not start is worse.
    pub fn recover(&mut self) -> Result<Recovery, StoreError> {
        let marker = self.read_pending().unwrap_or_else(|e| {
            let path = self.pending_path();
            let aside = path.with_extension("json.unreadable");
            tracing::error!(error = %e, kept = %aside.display(), "ignoring the confirm marker: starting with the configuration file as it is");
            let _ = fs::rename(&path, &aside);
            None
        });
        let Some(marker) = marker else {
            // A window whose marker is gone was closed: its entries can
            // only be pending if the index update did not happen.
            let stale: Vec<u64> = self
                .entries
                .iter()
                .filter(|e| e.status == CommitStatus::Pending)
                .map(|e| e.id)
                .collect();
            self.set_status(&stale, CommitStatus::RolledBack)?;
            return Ok(Recovery {
                text: self.read_config_file()?,
                interrupted: Vec::new(),
                file_restored: false,
            });
        };
        let current = fs::read_to_string(&self.config_file).ok();
        let file_restored = current.as_deref() != Some(marker.previous_text.as_str());
        if file_restored {
            self.write_config_file(&marker.previous_text)?;
        }
        self.set_status(&marker.commits, CommitStatus::RolledBack)?;
        self.clear_pending()?;
        tracing::warn!(
            commits = ?marker.commits,
            file = %self.config_file.display(),
            "the daemon stopped while a commit awaited confirmation: starting with the configuration from before it"
        );
        Ok(Recovery {
            text: marker.previous_text,
            interrupted: marker.commits,
            file_restored,
        })
    }
}

/// Writes `bytes` to `path` so that a crash leaves the old content or the
/// new, whole: a temporary file in the same directory (same filesystem,
/// so the rename is atomic), flushed to disk, renamed over `path`, and the
/// directory flushed so the rename itself survives. The file keeps the
/// permissions of the one it replaces (0600 when new).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mode = fs::metadata(path).map_or(0o600, |m| m.permissions().mode() & 0o7777);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&temporary)
            .map_err(|e| StoreError::io("creating", &temporary, &e))?;
        // `mode` above is filtered by the umask.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .and_then(|()| file.write_all(bytes))
            .and_then(|()| file.sync_all())
            .map_err(|e| StoreError::io("writing", &temporary, &e))?;
        fs::rename(&temporary, path).map_err(|e| StoreError::io("replacing", path, &e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result?;
    sync_dir(&dir)
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("flushing the directory", dir, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vr-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entry(summary: &str) -> NewEntry {
        NewEntry {
            time: 1,
            comment: None,
            origin: CommitOrigin::Commit,
            status: CommitStatus::Confirmed,
            summary: summary.into(),
        }
    }

    #[test]
    fn atomic_writes_keep_the_mode_and_leave_no_temporary() {
        let dir = temp_dir("atomic");
        let file = dir.join("c.toml");
        fs::write(&file, "old").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&file, b"new").unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "new");
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_damaged_confirm_marker_does_not_stop_the_start() {
        let dir = temp_dir("marker");
        fs::write(dir.join("c.toml"), "confirmed").unwrap();
        let mut store = ConfigStore::open(dir.join("c.toml"), dir.join("state")).unwrap();
        let mut pending = entry("unconfirmed");
        pending.status = CommitStatus::Pending;
        let id = store.record("unconfirmed", pending).unwrap();
        fs::write(dir.join("state/pending-confirm.json"), "{\"commits\":[").unwrap();
        let recovery = store.recover().unwrap();
        assert_eq!(recovery.text, "confirmed");
        assert_eq!(store.entry(id).unwrap().status, CommitStatus::RolledBack);
        assert!(dir.join("state/pending-confirm.json.unreadable").exists());
        assert_eq!(store.read_pending(), Ok(None));
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn history_keeps_the_last_fifty_and_survives_a_bad_line() {
        let dir = temp_dir("limit");
        let mut store = ConfigStore::open(dir.join("c.toml"), dir.join("state")).unwrap();
        for i in 0..HISTORY_LIMIT + 3 {
            store
                .record(&format!("# {i}\n"), entry(&i.to_string()))
                .unwrap();
        }
        let ids: Vec<u64> = store.history().map(|e| e.id).collect();
        assert_eq!(ids.len(), HISTORY_LIMIT);
        assert_eq!(ids.first(), Some(&53));
        assert_eq!(ids.last(), Some(&4));
        assert!(store.text(3).is_err(), "pruned texts are deleted");
        assert_eq!(store.text(53).unwrap(), "# 52\n");

        let index = dir.join("state/history/index.jsonl");
        let mut text = fs::read_to_string(&index).unwrap();
        text.push_str("{not json\n");
        fs::write(&index, text).unwrap();
        let again = ConfigStore::open(dir.join("c.toml"), dir.join("state")).unwrap();
        assert_eq!(again.history().count(), HISTORY_LIMIT);
        let _ = fs::remove_dir_all(dir);
    }
}
