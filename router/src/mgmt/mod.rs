//! The management API: what `vrctl` talks to.
//!
//! - [`api`]: the versioned NDJSON request and reply types (`docs/api.md`);
//! - [`state`]: the running router as the API reads it, built by the daemon;
//! - [`neighbor_snapshot`]: the dataplane's neighbor table, copied out
//!   without ever making the dataplane wait;
//! - [`server`]: the Unix socket server;
//! - [`services`]: starting it and `/metrics` as the configuration says.

pub mod api;
pub mod neighbor_snapshot;
pub mod server;
pub mod services;
pub mod state;

pub use neighbor_snapshot::NeighborSnapshot;
pub use server::{ManagementServer, ServerError};
pub use state::{PortRuntime, RouterState};
