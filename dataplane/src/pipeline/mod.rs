//! The run-to-completion forwarding pipeline of a dataplane core.

pub mod bfd_frame;
mod bfd_io;
pub mod classify;
pub mod core_loop;
pub mod counters;
pub mod forwarder;
pub mod fragment;
pub mod icmp_error;
mod icmp_reply;
pub mod neighbor_wait;
pub mod output;
pub mod port_table;
pub mod rate_limit;
pub mod rewrite;

pub use core_loop::DataplaneCore;
pub use counters::{CoreCounters, DropReason, PuntClass};
pub use forwarder::{Forwarder, ForwarderConfig, ForwarderTuning, PuntLimit};
pub use output::{BurstOutput, Punted};
pub use port_table::PortConfig;
