//! One session as `show bfd` and metrics see it.

use super::Nanos;
use super::session::{SessionCounters, SessionKey};
use super::state::{Diagnostic, State};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionStatus {
    pub key: SessionKey,
    pub state: State,
    pub remote_state: State,
    pub local_discriminator: u32,
    pub remote_discriminator: u32,
    /// When the state last changed (uptime is `now - since` while Up).
    pub since: Nanos,
    /// Our transmit interval.
    pub negotiated_tx_us: u32,
    /// The peer's transmit interval as we expect it.
    pub negotiated_rx_us: u32,
    pub detect_time_us: u64,
    pub remote_detect_mult: u8,
    pub local_diag: Diagnostic,
    pub remote_diag: Diagnostic,
    pub counters: SessionCounters,
    pub flaps: u64,
    /// Liveness held back by dampening.
    pub dampened: bool,
    pub penalty: u32,
    /// Whether this session holds its guarded next hops live.
    pub guards_live: bool,
    pub poll_in_progress: bool,
    pub src_port: u16,
}
