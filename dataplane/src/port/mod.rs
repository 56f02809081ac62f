//! Packet I/O: the frame pool every backend receives into and transmits
//! from, and the [`PortIo`] trait the forwarding loop talks to.
//!
//! The model is AF_XDP's: one pool of fixed-size frames per dataplane core
//! (the UMEM), shared by every port that core owns, so forwarding from one
//! port to another moves a frame handle, never the bytes. The in-memory
//! backend ([`memory`]) follows the same rules, so what the tests and
//! benchmarks exercise is the code the AF_XDP backend runs.

pub mod afxdp;
pub mod frame_pool;
pub mod memory;

use arrayvec::ArrayVec;

pub use frame_pool::{Frame, FramePool};

/// Index of a port in the dataplane's port table.
pub type PortId = u16;

/// The most frames one receive or transmit call handles (VPP-style vector).
pub const MAX_BURST: usize = 64;

/// A vector of frames moving through one stage of the pipeline.
pub type Burst = ArrayVec<Frame, MAX_BURST>;

/// One receive/transmit queue pair of a port, as seen by a dataplane core.
///
/// Implementations never block and never allocate on these calls.
pub trait PortIo {
    /// Receives up to `out.remaining_capacity()` frames into buffers taken
    /// from `pool` and appends them to `out`.
    fn rx_burst(&mut self, pool: &mut FramePool, out: &mut Burst);

    /// Queues `frames` for transmission and empties the vector. Every frame
    /// handed in is consumed: it is sent (and returns to `pool` once the
    /// hardware is done with it) or, if the queue is full, freed to `pool`
    /// and counted in the returned [`TxOutcome::dropped`].
    fn tx_burst(&mut self, pool: &mut FramePool, frames: &mut Burst) -> TxOutcome;
}

/// What one [`PortIo::tx_burst`] call did with the frames it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxOutcome {
    pub sent: u32,
    pub dropped: u32,
    /// Bytes of the frames counted in `sent`.
    pub sent_bytes: u64,
}
