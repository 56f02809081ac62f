//! The management API: what `vrctl` talks to.
//!
//! - [`api`]: the versioned NDJSON request and reply types (`docs/api.md`);
//! - [`config_control`]: configuration requests, served by whoever owns
//!   the commit manager;
//! - [`state`]: the running router as the API reads it, built by the daemon;
//! - [`neighbor_snapshot`]: the dataplane's neighbor table, copied out
//!   without ever making the dataplane wait;
//! - [`server`]: the Unix socket server;
//! - [`services`]: starting it and `/metrics` as the configuration says.

pub mod api;
pub mod config_control;
pub mod neighbor_snapshot;
pub mod server;
pub mod services;
pub mod state;

pub use config_control::ConfigControl;
pub use neighbor_snapshot::NeighborSnapshot;
pub use server::{ManagementServer, ServerError};
pub use state::{BfdStatus, BfdStatusSource, PortRuntime, RouterState};
