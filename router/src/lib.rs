//! vrouterd: config, management API, thread wiring.
