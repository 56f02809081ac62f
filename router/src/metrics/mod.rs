//! Prometheus metrics: `GET /metrics` in the OpenMetrics text format, on
//! the address `[metrics] listen` gives (off by default).
//!
//! [`collector`] reads the router's counters and tables at each scrape;
//! [`http`] is the small HTTP/1.1 responder that serves them.

pub mod collector;
pub mod http;

pub use collector::{RouterCollector, render};
pub use http::MetricsServer;
