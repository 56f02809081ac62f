//! The settings of one AF_XDP port: modes, ring sizes, transmit budget,
//! and how long to wait for a busy queue.

use std::time::Duration;

use super::error::AfXdpError;
use super::mode::{BindMode, XdpAttachMode};
use super::socket::RingSizes;
use crate::port::MAX_BURST;

/// How to open an [`super::AfXdpPort`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfXdpConfig {
    pub attach_mode: XdpAttachMode,
    /// Ignored for a core's second and later ports: they share the UMEM
    /// of the first and so its mode (asking for another fails).
    pub bind_mode: BindMode,
    /// Ring sizes in descriptors, powers of two. The fill ring takes that
    /// many frames from the pool, so the pool needs more frames than the
    /// fill rings of all its ports together.
    pub rx_ring_size: u32,
    pub tx_ring_size: u32,
    pub fill_ring_size: u32,
    pub completion_ring_size: u32,
    /// Let the kernel say when it needs a syscall to make progress
    /// (`XDP_USE_NEED_WAKEUP`), saving syscalls with zero-copy drivers.
    pub need_wakeup: bool,
    /// Frames one transmit kick may send in copy mode
    /// (`XDP_MAX_TX_SKB_BUDGET`, used when the kernel has it). At least 64
    /// so that one kick per burst suffices; at most the tx ring size.
    pub tx_budget: u32,
    /// How long to retry a bind that fails with EBUSY (the queue's last
    /// socket closed moments ago).
    pub busy_timeout: Duration,
}

impl Default for AfXdpConfig {
    fn default() -> Self {
        Self {
            attach_mode: XdpAttachMode::Auto,
            bind_mode: BindMode::Auto,
            rx_ring_size: 2048,
            tx_ring_size: 2048,
            fill_ring_size: 2048,
            completion_ring_size: 2048,
            need_wakeup: true,
            tx_budget: MAX_BURST as u32,
            busy_timeout: Duration::from_millis(500),
        }
    }
}

impl AfXdpConfig {
    pub(super) fn check(&self) -> Result<RingSizes, AfXdpError> {
        let sizes = RingSizes {
            rx: self.rx_ring_size,
            tx: self.tx_ring_size,
            fill: self.fill_ring_size,
            completion: self.completion_ring_size,
        };
        for (name, size) in [
            ("rx", sizes.rx),
            ("tx", sizes.tx),
            ("fill", sizes.fill),
            ("completion", sizes.completion),
        ] {
            if !size.is_power_of_two() || !(MAX_BURST as u32..=1 << 16).contains(&size) {
                return Err(AfXdpError::BadConfig {
                    reason: format!(
                        "{name} ring size {size} must be a power of two between {MAX_BURST} and 65536"
                    ),
                });
            }
        }
        Ok(sizes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_sizes_are_checked() {
        let mut config = AfXdpConfig::default();
        assert!(config.check().is_ok());
        config.fill_ring_size = 1000;
        let err = config.check().unwrap_err();
        assert!(err.to_string().contains("fill ring size 1000"), "{err}");
        config.fill_ring_size = 16;
        assert!(config.check().is_err());
    }
}
