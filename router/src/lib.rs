//! vrouterd: the daemon that wires the dataplane and the control plane
//! together. For now it carries the in-memory demo of the pipeline; the
//! config model, management API and thread wiring follow (see DESIGN.md).

pub mod config;
pub mod demo;
