//! Where one burst's results go: a transmit queue per port and a queue to
//! the host side / control plane. Both are preallocated and bounded; a full
//! queue is a counted drop, never an allocation.

use arrayvec::ArrayVec;

use super::counters::PuntClass;
use crate::port::{Burst, Frame, FramePool, PortId, PortIo, TxOutcome};

/// A frame for the host (TAP twin) or a control-plane protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Punted {
    pub frame: Frame,
    /// The port it arrived on.
    pub port: PortId,
    pub class: PuntClass,
}

/// The frames one or more bursts produced, waiting to be sent.
pub struct BurstOutput {
    tx: Vec<Vec<Frame>>,
    tx_capacity: usize,
    punt: Vec<Punted>,
    punt_capacity: usize,
}

impl BurstOutput {
    pub fn new(ports: usize, tx_capacity: usize, punt_capacity: usize) -> Self {
        Self {
            tx: (0..ports)
                .map(|_| Vec::with_capacity(tx_capacity))
                .collect(),
            tx_capacity,
            punt: Vec::with_capacity(punt_capacity),
            punt_capacity,
        }
    }

    /// Queues `frame` on `port`; gives it back if the port is unknown or
    /// its queue is full.
    #[inline]
    pub fn push_tx(&mut self, port: PortId, frame: Frame) -> Result<(), TxRefused> {
        let Some(queue) = self.tx.get_mut(port as usize) else {
            return Err(TxRefused::NoSuchPort);
        };
        if queue.len() >= self.tx_capacity {
            return Err(TxRefused::Full);
        }
        queue.push(frame);
        Ok(())
    }

    /// Queues a frame for the host side; `false` if the queue is full.
    #[inline]
    pub fn push_punt(&mut self, punted: Punted) -> bool {
        if self.punt.len() >= self.punt_capacity {
            return false;
        }
        self.punt.push(punted);
        true
    }

    /// Frames queued for `port`.
    pub fn tx_queue(&self, port: PortId) -> &[Frame] {
        self.tx.get(port as usize).map_or(&[], Vec::as_slice)
    }

    /// Takes the frames queued for `port`.
    pub fn drain_tx(&mut self, port: PortId) -> impl Iterator<Item = Frame> + '_ {
        self.tx
            .get_mut(port as usize)
            .into_iter()
            .flat_map(|q| q.drain(..))
    }

    /// Takes everything queued for the host side.
    pub fn drain_punt(&mut self) -> std::vec::Drain<'_, Punted> {
        self.punt.drain(..)
    }

    /// Hands every queued frame of `port` to its I/O in bursts of
    /// [`crate::port::MAX_BURST`].
    pub fn flush_port<P: PortIo + ?Sized>(
        &mut self,
        port: PortId,
        io: &mut P,
        pool: &mut FramePool,
    ) -> TxOutcome {
        let mut total = TxOutcome::default();
        let Some(queue) = self.tx.get_mut(port as usize) else {
            return total;
        };
        let mut burst = Burst::new();
        for chunk in queue.chunks(crate::port::MAX_BURST) {
            burst.clear();
            let _ = burst.try_extend_from_slice(chunk);
            let out = io.tx_burst(pool, &mut burst);
            total.sent += out.sent;
            total.dropped += out.dropped;
            total.sent_bytes += out.sent_bytes;
        }
        queue.clear();
        total
    }
}

/// Why a frame could not be queued for transmission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxRefused {
    NoSuchPort,
    Full,
}

/// Scratch space for at most one burst's worth of something.
pub type BurstVec<T> = ArrayVec<T, { crate::port::MAX_BURST }>;
