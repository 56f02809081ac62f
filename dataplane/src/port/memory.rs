//! The in-memory backend: a port whose "wire" is a pair of queues, for
//! tests, benchmarks and the demo. It copies bytes in on receive and out on
//! transmit, as a copy-mode AF_XDP socket does, and honours the same
//! [`PortIo`] contract.

use std::collections::VecDeque;

use super::{Burst, FramePool, PortIo, TxOutcome};

/// A port backed by queues: tests push frames "from the wire" with
/// [`MemoryPort::inject`] and read what the router sent with
/// [`MemoryPort::take_sent`].
#[derive(Debug, Default)]
pub struct MemoryPort {
    incoming: VecDeque<Vec<u8>>,
    sent: Vec<Vec<u8>>,
    /// Most frames kept in `sent` before further ones count as dropped,
    /// like a full transmit ring.
    tx_capacity: usize,
    /// Frames that arrived but found no free buffer in the pool.
    pub rx_no_buffer: u64,
    /// Frames too long for a pool buffer.
    pub rx_oversize: u64,
}

impl MemoryPort {
    /// A port whose transmit side holds at most `tx_capacity` frames until
    /// they are taken.
    pub fn new(tx_capacity: usize) -> Self {
        Self {
            tx_capacity,
            ..Self::default()
        }
    }

    /// Puts a frame on the wire towards the router.
    pub fn inject(&mut self, frame: &[u8]) {
        self.incoming.push_back(frame.to_vec());
    }

    /// Frames waiting to be received.
    pub fn pending_rx(&self) -> usize {
        self.incoming.len()
    }

    /// Takes everything the router has transmitted so far.
    pub fn take_sent(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.sent)
    }
}

impl PortIo for MemoryPort {
    fn rx_burst(&mut self, pool: &mut FramePool, out: &mut Burst) {
        while !out.is_full() {
            let Some(bytes) = self.incoming.pop_front() else {
                break;
            };
            if bytes.len() > pool.max_len() as usize {
                self.rx_oversize += 1;
                continue;
            }
            match pool.alloc_copy(&bytes) {
                Some(frame) => out.push(frame),
                None => {
                    self.rx_no_buffer += 1;
                    // The frame stays on the wire: a NIC with no fill
                    // buffers drops it, and so do we.
                    break;
                }
            }
        }
    }

    fn tx_burst(&mut self, pool: &mut FramePool, frames: &mut Burst) -> TxOutcome {
        let mut outcome = TxOutcome::default();
        for frame in frames.drain(..) {
            if self.sent.len() < self.tx_capacity {
                self.sent.push(pool.data(frame).to_vec());
                outcome.sent += 1;
                outcome.sent_bytes += u64::from(frame.len);
            } else {
                outcome.dropped += 1;
            }
            pool.free(frame.addr);
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_pool() {
        let mut pool = FramePool::new(8, 2048).unwrap();
        let mut port = MemoryPort::new(16);
        port.inject(&[1, 2, 3, 4]);
        port.inject(&[5, 6]);
        let mut burst = Burst::new();
        port.rx_burst(&mut pool, &mut burst);
        assert_eq!(burst.len(), 2);
        assert_eq!(pool.available(), 6);
        let out = port.tx_burst(&mut pool, &mut burst);
        assert_eq!(
            out,
            TxOutcome {
                sent: 2,
                dropped: 0,
                sent_bytes: 6
            }
        );
        assert!(burst.is_empty());
        assert_eq!(pool.available(), 8);
        assert_eq!(port.take_sent(), vec![vec![1, 2, 3, 4], vec![5, 6]]);
    }

    #[test]
    fn full_tx_queue_drops_and_frees() {
        let mut pool = FramePool::new(4, 2048).unwrap();
        let mut port = MemoryPort::new(1);
        let mut burst = Burst::new();
        burst.push(pool.alloc_copy(&[1]).unwrap());
        burst.push(pool.alloc_copy(&[2]).unwrap());
        let out = port.tx_burst(&mut pool, &mut burst);
        assert_eq!(
            out,
            TxOutcome {
                sent: 1,
                dropped: 1,
                sent_bytes: 1
            }
        );
        assert_eq!(pool.available(), 4);
    }

    #[test]
    fn empty_pool_leaves_frames_on_the_wire() {
        let mut pool = FramePool::new(1, 2048).unwrap();
        let mut port = MemoryPort::new(4);
        port.inject(&[1]);
        port.inject(&[2]);
        let mut burst = Burst::new();
        port.rx_burst(&mut pool, &mut burst);
        assert_eq!(burst.len(), 1);
        assert_eq!(port.rx_no_buffer, 1);
    }
}
