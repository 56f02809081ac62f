//! `vrouterd demo`: the two-gateway failover, shown.
//!
//! By default on real interfaces in network namespaces (root); with
//! `--in-memory`, the same picture through the pipeline on in-memory ports.

pub mod in_memory;
pub mod namespaces;

pub use in_memory::DemoOptions;
