//! vrouterd: the daemon that wires the dataplane and the host together —
//! the configuration model ([`config`]), the host side of each port
//! ([`host`]: TAP twins, netlink), the daemon itself ([`daemon`]: FIB from
//! config, threads, link monitoring, clean shutdown), the in-memory demo
//! ([`demo`]), the management API ([`mgmt`]) and Prometheus metrics
//! ([`metrics`]).

pub mod config;
pub mod daemon;
pub mod demo;
pub mod host;
pub mod lab;
pub mod metrics;
pub mod mgmt;
