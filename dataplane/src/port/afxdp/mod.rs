//! The AF_XDP backend: one socket per (interface, queue), receiving into
//! and transmitting from the dataplane core's [`FramePool`], which is
//! registered with the kernel as the socket's UMEM.
//!
//! Every port of a core shares that one UMEM (the first socket registers
//! it, later ones join with `XDP_SHARED_UMEM` and bring their own fill and
//! completion rings, which kernels since 5.10 allow across devices), so a
//! frame received on one port is transmitted on another by moving its
//! address from one ring to the other: no copy in userspace, and none at
//! all with zero-copy drivers.
//!
//! Frame ownership follows the rings: a chunk put on the fill ring or the
//! tx ring belongs to the kernel until it comes back on the rx ring or the
//! completion ring, when it is a [`Frame`] again or goes back to the pool.
//!
//! An XDP program on each interface (`xdp/redirect.c`, attached through a
//! BPF link so it leaves with the process) sends each frame to the socket
//! bound to the queue it arrived on, and frames of queues with no socket
//! to the kernel.
//!
//! # Pool lifetime
//!
//! The kernel writes received frames into the pool's memory for as long as
//! a socket lives: a port must be dropped before the [`FramePool`] it was
//! opened with, and only ever be given that pool (a burst with another
//! pool is refused, see [`AfXdpCounters::wrong_pool`]).

#![allow(unsafe_code)]

mod config;
mod error;
mod mode;
mod program;
mod rings;
mod socket;
mod umem;

use std::ffi::CString;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use config::AfXdpConfig;
pub use error::AfXdpError;
pub use mode::{BindMode, XdpAttachMode};
pub use socket::XdpStatistics;

use super::{Burst, Frame, FramePool, MAX_BURST, PortIo, TxOutcome};
use program::InterfaceProgram;
use socket::{RingSizes, SetupError, UmemSource, XskSocket};

/// What a port counted, besides what the kernel counts
/// ([`AfXdpPort::kernel_statistics`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AfXdpCounters {
    pub rx_frames: u64,
    pub tx_frames: u64,
    /// Frames dropped because the tx ring stayed full.
    pub tx_ring_full: u64,
    /// Frames refused for transmission: their handle does not describe a
    /// frame of the pool.
    pub tx_bad_frame: u64,
    /// Transmit kicks (`sendto`) made.
    pub tx_kicks: u64,
    /// Kicks that failed with something other than "busy, try again".
    pub kick_errors: u64,
    /// Refills that found the pool empty while the fill ring had room.
    pub fill_starved: u64,
    /// Bursts handed a pool other than the port's own, and refused.
    pub wrong_pool: u64,
}

/// Port ids for the UMEM registry.
static NEXT_PORT_ID: AtomicU64 = AtomicU64::new(1);

/// One queue of one interface, driven through an AF_XDP socket.
pub struct AfXdpPort {
    ifname: String,
    queue: u32,
    port_id: u64,
    /// Start and length of the pool region this socket uses as UMEM.
    region: (usize, usize),
    frame_size: u32,
    attach_mode: XdpAttachMode,
    bind_mode: BindMode,
    need_wakeup: bool,
    /// Descriptors were queued that no successful kick has sent yet.
    kick_owed: bool,
    counters: AfXdpCounters,
    /// `None` only while dropping.
    program: Option<Arc<Mutex<InterfaceProgram>>>,
    socket: XskSocket,
}

impl AfXdpPort {
    /// Opens queue `queue` of interface `ifname` (in the caller's network
    /// namespace) as a port whose frames live in `pool`; attaches the XDP
    /// program to the interface unless another port of this process did.
    ///
    /// The port must be dropped before `pool` (see the module docs).
    pub fn open(
        ifname: &str,
        queue: u32,
        pool: &mut FramePool,
        config: &AfXdpConfig,
    ) -> Result<AfXdpPort, AfXdpError> {
        let sizes = config.check()?;
        let ifindex = interface_index(ifname)?;
        if queue >= program::MAX_QUEUES {
            return Err(AfXdpError::QueueOutOfRange {
                ifname: ifname.to_string(),
                queue,
                max: program::MAX_QUEUES,
            });
        }
        let program = program::attach(ifname, ifindex, config.attach_mode)?;
        let attach_mode = program::lock(&program).mode();

        // On failure the program goes through `release`, like a closing
        // port's, so a concurrent open of the interface sees it gone.
        let opened = (|| {
            let frame_size = pool.frame_size();
            let (addr, len) = pool.region_mut();
            let region = (addr as usize, len);
            let syscall_failed = |e: SetupError| AfXdpError::Syscall {
                ifname: ifname.to_string(),
                queue,
                step: e.step,
                source: e.source,
            };

            // Held until the socket is in the registry, so that the socket we
            // share a UMEM with cannot close under us.
            let mut registry = umem::lock();
            let shared = registry.shared(region.0, region.1);
            let (source, attempts, need_wakeup): (UmemSource, &[BindMode], bool) = match shared {
                Some(shared) => {
                    if config.bind_mode != BindMode::Auto && config.bind_mode != shared.mode {
                        return Err(AfXdpError::SharedUmemMode {
                            ifname: ifname.to_string(),
                            queue,
                            umem: shared.mode,
                            requested: config.bind_mode,
                        });
                    }
                    let mode: &[BindMode] = match shared.mode {
                        BindMode::ZeroCopy => &[BindMode::ZeroCopy],
                        _ => &[BindMode::Copy],
                    };
                    (
                        UmemSource::Share { fd: shared.fd },
                        mode,
                        shared.need_wakeup,
                    )
                }
                None => {
                    let attempts: &[BindMode] = match config.bind_mode {
                        BindMode::Auto => &[BindMode::ZeroCopy, BindMode::Copy],
                        BindMode::ZeroCopy => &[BindMode::ZeroCopy],
                        BindMode::Copy => &[BindMode::Copy],
                    };
                    let source = UmemSource::Register {
                        addr,
                        len,
                        frame_size,
                    };
                    (source, attempts, config.need_wakeup)
                }
            };

            let mut bound = None;
            for (i, &mode) in attempts.iter().enumerate() {
                let last = i + 1 == attempts.len();
                match bind_retrying_busy(ifindex, queue, source, sizes, mode, need_wakeup, config) {
                    Ok(socket) => {
                        bound = Some(socket);
                        break;
                    }
                    Err(BindFailure::Busy(waited)) => {
                        return Err(AfXdpError::Busy {
                            ifname: ifname.to_string(),
                            queue,
                            waited_ms: waited.as_millis() as u64,
                        });
                    }
                    Err(BindFailure::Setup(e))
                        if e.step == "bind"
                            && e.source.raw_os_error() == Some(libc::EOPNOTSUPP)
                            && mode == BindMode::ZeroCopy =>
                    {
                        if last {
                            return Err(AfXdpError::ZeroCopyUnsupported {
                                ifname: ifname.to_string(),
                                queue,
                            });
                        }
                    }
                    Err(BindFailure::Setup(e)) => return Err(syscall_failed(e)),
                }
            }
            let Some(socket) = bound else {
                return Err(AfXdpError::BadConfig {
                    reason: "no bind mode to try".to_string(),
                });
            };
            let bind_mode = socket.bound_mode().map_err(|source| AfXdpError::Syscall {
                ifname: ifname.to_string(),
                queue,
                step: "XDP_OPTIONS",
                source,
            })?;
            let budget = config.tx_budget.clamp(MAX_BURST as u32, sizes.tx);
            socket
                .set_tx_budget(budget)
                .map_err(|source| AfXdpError::Syscall {
                    ifname: ifname.to_string(),
                    queue,
                    step: "XDP_MAX_TX_SKB_BUDGET",
                    source,
                })?;

            let port_id = NEXT_PORT_ID.fetch_add(1, Ordering::Relaxed);
            let mut port = AfXdpPort {
                ifname: ifname.to_string(),
                queue,
                port_id,
                region,
                frame_size,
                attach_mode,
                bind_mode,
                need_wakeup,
                kick_owed: false,
                counters: AfXdpCounters::default(),
                program: None,
                socket,
            };
            registry.add(
                region.0,
                region.1,
                bind_mode,
                need_wakeup,
                port_id,
                port.socket.raw_fd(),
            );
            drop(registry);
            // Buffers first, then traffic.
            port.refill(pool);
            program::lock(&program).insert(queue, port.socket.raw_fd())?;
            Ok(port)
        })();
        match opened {
            Ok(mut port) => {
                port.program = Some(program);
                Ok(port)
            }
            Err(err) => {
                program::release(program);
                Err(err)
            }
        }
    }

    /// The XDP attach mode and the bind mode in use (never `Auto`), for
    /// the operator to see what the hardware gave.
    pub fn mode(&self) -> (XdpAttachMode, BindMode) {
        (self.attach_mode, self.bind_mode)
    }

    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    pub fn queue(&self) -> u32 {
        self.queue
    }

    pub fn counters(&self) -> AfXdpCounters {
        self.counters
    }

    /// What the kernel counted for this socket (drops for lack of fill
    /// buffers, full rx ring, invalid descriptors).
    pub fn kernel_statistics(&self) -> io::Result<XdpStatistics> {
        self.socket.statistics()
    }

    /// Closes the port and gives back to `pool` the frames its rings still
    /// hold (the fill ring's spare buffers, unread frames), which dropping
    /// the port would leave lost to the pool.
    pub fn close(mut self, pool: &mut FramePool) {
        if !self.owns(pool) {
            return;
        }
        self.unhook();
        // Unhooked, the socket gets no new frames; a receive that had
        // already chosen it completes within one NAPI poll, far shorter.
        std::thread::sleep(Duration::from_millis(10));
        let _ = self.socket.kick_tx();
        self.reclaim_completed(pool);
        while let Some(desc) = self.socket.rx.pop() {
            pool.free(desc.addr);
        }
        self.socket.rx.release();
        for addr in self.socket.fill.outstanding() {
            pool.free(addr);
        }
        if self.bind_mode == BindMode::Copy {
            // In copy mode only our own kicks consume the tx ring.
            for desc in self.socket.tx.outstanding() {
                pool.free(desc.addr);
            }
        }
    }

    fn owns(&self, pool: &mut FramePool) -> bool {
        let (addr, len) = pool.region_mut();
        (addr as usize, len) == self.region
    }

    /// Gives the kernel free frames to receive into.
    fn refill(&mut self, pool: &mut FramePool) {
        let free = self.socket.fill.free(MAX_BURST as u32);
        if free == 0 {
            return;
        }
        let mut pushed = 0;
        while pushed < free {
            let Some(chunk) = pool.alloc_chunk() else {
                self.counters.fill_starved += 1;
                break;
            };
            self.socket.fill.push(chunk);
            pushed += 1;
        }
        if pushed > 0 {
            self.socket.fill.submit();
        }
    }

    /// Returns transmitted frames to the pool.
    fn reclaim_completed(&mut self, pool: &mut FramePool) {
        let mut any = false;
        while let Some(addr) = self.socket.completion.pop() {
            pool.free(addr);
            any = true;
        }
        if any {
            self.socket.completion.release();
        }
    }

    fn kick_tx(&mut self) {
        self.counters.tx_kicks += 1;
        match self.socket.kick_tx() {
            Ok(()) => self.kick_owed = false,
            // The kernel sent what its budget allowed or the device queue
            // is full: what is left goes with the next kick.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EAGAIN | libc::EBUSY | libc::ENOBUFS)
                ) => {}
            Err(_) => {
                self.counters.kick_errors += 1;
                self.kick_owed = false;
            }
        }
    }

    /// A transmit handle must lie inside one chunk of the pool: the kernel
    /// would reject anything else and the chunk would never come back.
    fn is_pool_frame(&self, frame: Frame) -> bool {
        let offset_in_chunk = frame.addr & (self.frame_size as u64 - 1);
        frame.len > 0
            && frame.addr < self.region.1 as u64
            && offset_in_chunk + frame.len as u64 <= self.frame_size as u64
    }

    /// Takes the socket out of the XDP program's map and drops this
    /// port's share of the program (detaching it if it was the last).
    fn unhook(&mut self) {
        if let Some(program) = self.program.take() {
            program::lock(&program).remove(self.queue);
            program::release(program);
        }
    }
}

impl PortIo for AfXdpPort {
    fn rx_burst(&mut self, pool: &mut FramePool, out: &mut Burst) {
        if !self.owns(pool) {
            self.counters.wrong_pool += 1;
            return;
        }
        self.reclaim_completed(pool);
        self.refill(pool);
        let mut received = 0;
        while !out.is_full() {
            let Some(desc) = self.socket.rx.pop() else {
                break;
            };
            // The kernel puts data at chunk + XDP_PACKET_HEADROOM (256),
            // which is our HEADROOM: the frame is usable as is.
            out.push(Frame {
                addr: desc.addr,
                len: desc.len,
            });
            received += 1;
        }
        if received > 0 {
            self.socket.rx.release();
            self.counters.rx_frames += received;
        } else if self.need_wakeup
            && self.bind_mode == BindMode::ZeroCopy
            && self.socket.fill.needs_wakeup()
        {
            // A zero-copy driver ran out of buffers and waits to be told
            // there are new ones. (Copy mode has no driver to wake.)
            let _ = self.socket.kick_rx();
        }
    }

    fn tx_burst(&mut self, pool: &mut FramePool, frames: &mut Burst) -> TxOutcome {
        let mut outcome = TxOutcome::default();
        if !self.owns(pool) {
            // Cannot be sent from another UMEM; the trait still wants the
            // frames back in the pool they came from.
            self.counters.wrong_pool += 1;
            let pool_bytes = u64::from(pool.frame_count()) * u64::from(pool.frame_size());
            for frame in frames.drain(..) {
                if frame.addr < pool_bytes {
                    pool.free(frame.addr);
                }
                outcome.dropped += 1;
            }
            return outcome;
        }
        self.reclaim_completed(pool);
        let wanted = frames.len() as u32;
        let mut room = self.socket.tx.free(wanted);
        if room < wanted && self.kick_owed {
            // Full of frames not yet sent: send them, then look again.
            self.kick_tx();
            self.reclaim_completed(pool);
            room = self.socket.tx.free(wanted);
        }
        for frame in frames.drain(..) {
            if !self.is_pool_frame(frame) {
                self.counters.tx_bad_frame += 1;
                outcome.dropped += 1;
                if frame.addr < self.region.1 as u64 {
                    pool.free(frame.addr);
                }
            } else if outcome.sent < room {
                self.socket.tx.push(libc::xdp_desc {
                    addr: frame.addr,
                    len: frame.len,
                    options: 0,
                });
                outcome.sent += 1;
                outcome.sent_bytes += u64::from(frame.len);
            } else {
                self.counters.tx_ring_full += 1;
                outcome.dropped += 1;
                pool.free(frame.addr);
            }
        }
        if outcome.sent > 0 {
            self.socket.tx.submit();
            self.kick_owed = true;
            self.counters.tx_frames += outcome.sent as u64;
        }
        if self.kick_owed {
            if !self.need_wakeup || self.socket.tx.needs_wakeup() {
                self.kick_tx();
            } else {
                // The driver is polling the ring on its own.
                self.kick_owed = false;
            }
        }
        outcome
    }
}

impl Drop for AfXdpPort {
    fn drop(&mut self) {
        self.unhook();
        // Out of the registry before the socket closes (when the fields
        // drop, right after this), so no new socket joins through it.
        umem::lock().remove(self.port_id);
    }
}

impl std::fmt::Debug for AfXdpPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AfXdpPort")
            .field("ifname", &self.ifname)
            .field("queue", &self.queue)
            .field("attach_mode", &self.attach_mode)
            .field("bind_mode", &self.bind_mode)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

fn interface_index(ifname: &str) -> Result<u32, AfXdpError> {
    let not_found = || AfXdpError::InterfaceNotFound {
        ifname: ifname.to_string(),
    };
    let name = CString::new(ifname).map_err(|_| not_found())?;
    // SAFETY: `name` is a valid NUL-terminated string for the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(not_found());
    }
    Ok(index)
}

enum BindFailure {
    Busy(Duration),
    Setup(SetupError),
}

/// Binds, retrying while the queue is still held by a socket that closed
/// moments ago (EBUSY for ~50 ms on the kernels we run). Each attempt
/// starts from a fresh socket: a failed bind leaves the old one unusable.
fn bind_retrying_busy(
    ifindex: u32,
    queue: u32,
    source: UmemSource,
    sizes: RingSizes,
    mode: BindMode,
    need_wakeup: bool,
    config: &AfXdpConfig,
) -> Result<XskSocket, BindFailure> {
    let start = Instant::now();
    loop {
        match XskSocket::bind(ifindex, queue, source, sizes, mode, need_wakeup) {
            Ok(socket) => return Ok(socket),
            Err(e) if e.step == "bind" && e.source.raw_os_error() == Some(libc::EBUSY) => {
                let waited = start.elapsed();
                if waited >= config.busy_timeout {
                    return Err(BindFailure::Busy(waited));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(BindFailure::Setup(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_can_move_to_its_core_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<AfXdpPort>();
    }

    #[test]
    fn unknown_interface_is_reported_before_anything_else() {
        let mut pool = FramePool::new(64, 2048).unwrap();
        let err = AfXdpPort::open("vr-nosuch0", 0, &mut pool, &AfXdpConfig::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "interface vr-nosuch0 not found (check the name and the network namespace)"
        );
        assert_eq!(pool.available(), 64);
    }
}
