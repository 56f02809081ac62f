//! vrouterd's configuration: one TOML file (reference: `docs/config.md`).
//!
//! [`load`] / [`parse_str`] read it in three steps, each reporting into the
//! same list so that one run shows every problem: TOML syntax, then each key
//! and value on its own (`parsed.rs`), then the values against each other
//! and the machine (`validate.rs`). The result is a [`Config`] with every default filled in
//! and every reference resolved, or [`ConfigErrors`] printed like a
//! compiler's, each with file, line, column, key path and what to do.
//!
//! `vrouterd --check-config` and `vrctl config validate|diff|commit` share
//! this one model.

pub mod commit;
mod diagnostics;
pub mod diff;
mod document;
mod error;
mod load;
mod location;
mod model;
mod parsed;
pub mod store;
mod suggestion;
mod validate;
pub mod validate_bfd;

pub use commit::{
    ApplyError, ApplyReport, AutoRollback, CommitError, CommitKind, CommitManager, CommitOutcome,
    ConfigApplier, ConfirmOutcome, Now, PendingInfo, StartError, StartReport,
};
pub use diff::{Change, ChangeKind, ConfigDiff, ConfigUnit};
pub use error::{ConfigError, ConfigErrors};
pub use load::{load, parse_str};
pub use model::*;
pub use store::{
    CommitOrigin, CommitStatus, ConfigStore, DEFAULT_STATE_DIR, HistoryEntry, StoreError,
};
pub use validate::ValidationEnv;
