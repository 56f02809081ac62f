//! One dataplane core: its frame pool, the ports it polls and its
//! forwarder. [`DataplaneCore::poll`] is one turn of the run-to-completion
//! loop — receive a burst per port, process it fully, transmit — and
//! holds the FIB only while a burst is in flight, which is the quiescent
//! point the FIB writer waits for.

use crate::port::{Burst, FramePool, PortId, PortIo};

use super::forwarder::Forwarder;
use super::output::{BurstOutput, Punted};

/// What one [`DataplaneCore::poll`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollStats {
    pub received: u32,
    pub transmitted: u32,
}

/// A dataplane core: the state one pinned thread owns and loops over.
pub struct DataplaneCore<P: PortIo> {
    pub pool: FramePool,
    pub forwarder: Forwarder,
    /// `ports[i]` is the I/O of the forwarder's port `i`.
    pub ports: Vec<P>,
    pub output: BurstOutput,
    burst: Burst,
    /// When the last turn ran, to tell a stall from a busy loop.
    last_turn_ns: Option<u64>,
}

/// A gap between two turns longer than this is a stall, not work: a
/// turn takes microseconds, an idle backoff sleeps at most 200 µs.
const STALL_NS: u64 = 2_000_000;

impl<P: PortIo> DataplaneCore<P> {
    pub fn new(
        pool: FramePool,
        forwarder: Forwarder,
        ports: Vec<P>,
        tx_queue_len: usize,
        punt_queue_len: usize,
    ) -> Self {
        let output = BurstOutput::new(ports.len(), tx_queue_len, punt_queue_len);
        Self {
            pool,
            forwarder,
            ports,
            output,
            burst: Burst::new(),
            last_turn_ns: None,
        }
    }

    /// One turn of the loop. Punted frames stay in `self.output` for the
    /// caller to take with [`DataplaneCore::drain_punted`].
    pub fn poll(&mut self, now_ns: u64) -> PollStats {
        let mut stats = PollStats::default();
        // BFD timers first: a detection timeout that passed while the core
        // worked clears its next hops' liveness before this turn's bursts
        // are routed. Not after a stall (the thread was descheduled or
        // slept): the peer's packets may be waiting in the rx ring, and
        // expiring first would declare every session Down at once; then
        // the check after receiving decides, one burst later.
        let stalled = self
            .last_turn_ns
            .is_some_and(|last| now_ns.saturating_sub(last) > STALL_NS);
        self.last_turn_ns = Some(now_ns);
        if !stalled {
            self.forwarder
                .poll_bfd(now_ns, &mut self.pool, &mut self.output);
        }
        for (i, io) in self.ports.iter_mut().enumerate() {
            self.burst.clear();
            io.rx_burst(&mut self.pool, &mut self.burst);
            if self.burst.is_empty() {
                continue;
            }
            stats.received += self.burst.len() as u32;
            self.forwarder.process_burst(
                i as PortId,
                &mut self.burst,
                &mut self.pool,
                &mut self.output,
                now_ns,
            );
        }
        // Again after receiving: a Poll that just arrived is answered with
        // a Final in this turn's flush (RFC 5880 §6.5), not the next one.
        self.forwarder
            .poll_bfd(now_ns, &mut self.pool, &mut self.output);
        self.forwarder
            .poll_neighbors(now_ns, &mut self.pool, &mut self.output);
        stats.transmitted = self.flush();
        self.forwarder.expire_waiting(now_ns, &mut self.pool);
        stats
    }

    /// Transmits everything queued; returns the frames sent.
    pub fn flush(&mut self) -> u32 {
        let mut sent = 0;
        for (i, io) in self.ports.iter_mut().enumerate() {
            let port = i as PortId;
            if self.output.tx_queue(port).is_empty() {
                continue;
            }
            let outcome = self.output.flush_port(port, io, &mut self.pool);
            self.forwarder.record_tx(port, outcome);
            sent += outcome.sent;
        }
        sent
    }

    /// Hands each punted frame and its bytes to `sink`, then frees it.
    pub fn drain_punted(&mut self, mut sink: impl FnMut(&Punted, &[u8])) {
        for p in self.output.drain_punt() {
            sink(&p, self.pool.data(p.frame));
            self.pool.free(p.frame.addr);
        }
    }
}
