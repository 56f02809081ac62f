//! One AF_XDP socket: created, given its rings, bound to an (interface,
//! queue), and kicked. Failures come back as the step that failed plus the
//! OS error, for [`super::AfXdpPort::open`] to word.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::mode::BindMode;
use super::rings::{ConsumerRing, ProducerRing};

/// `XDP_MAX_TX_SKB_BUDGET` (kernel 6.17+): frames one `sendto` may send in
/// copy mode; the default (32) halves what a 64-frame burst gets per kick.
/// Not in libc yet.
const XDP_MAX_TX_SKB_BUDGET: libc::c_int = 9;

/// Ring sizes in descriptors, each a power of two.
#[derive(Debug, Clone, Copy)]
pub(super) struct RingSizes {
    pub rx: u32,
    pub tx: u32,
    pub fill: u32,
    pub completion: u32,
}

/// Where the socket's UMEM comes from.
#[derive(Debug, Clone, Copy)]
pub(super) enum UmemSource {
    /// Register this region (page aligned) as a new UMEM.
    Register {
        addr: *mut u8,
        len: usize,
        frame_size: u32,
    },
    /// Use the UMEM of this bound socket (`XDP_SHARED_UMEM`); the bind mode
    /// and need_wakeup then come from that socket.
    Share { fd: RawFd },
}

/// A failed step of the socket set-up.
#[derive(Debug)]
pub(super) struct SetupError {
    pub step: &'static str,
    pub source: io::Error,
}

fn step_err(step: &'static str) -> impl FnOnce(io::Error) -> SetupError {
    move |source| SetupError { step, source }
}

/// What the kernel counted for this socket (`XDP_STATISTICS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XdpStatistics {
    /// Received frames dropped for other reasons.
    pub rx_dropped: u64,
    pub rx_invalid_descs: u64,
    pub tx_invalid_descs: u64,
    /// Received frames dropped because the rx ring was full.
    pub rx_ring_full: u64,
    /// Times a frame arrived with the fill ring empty.
    pub rx_fill_ring_empty_descs: u64,
    pub tx_ring_empty_descs: u64,
}

pub(super) struct XskSocket {
    pub fill: ProducerRing<u64>,
    pub completion: ConsumerRing<u64>,
    pub rx: ConsumerRing<libc::xdp_desc>,
    pub tx: ProducerRing<libc::xdp_desc>,
    fd: OwnedFd,
}

impl XskSocket {
    /// Creates the socket, sets up its UMEM and rings, and binds it to
    /// `ifindex`/`queue` with `mode` (`Copy` or `ZeroCopy`; ignored when
    /// sharing a UMEM).
    pub(super) fn bind(
        ifindex: u32,
        queue: u32,
        umem: UmemSource,
        sizes: RingSizes,
        mode: BindMode,
        need_wakeup: bool,
    ) -> Result<Self, SetupError> {
        // SAFETY: plain socket(2) call; the result is checked below.
        let raw = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(step_err("socket(AF_XDP)")(io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        if let UmemSource::Register {
            addr,
            len,
            frame_size,
        } = umem
        {
            let reg = libc::xdp_umem_reg {
                addr: addr as u64,
                len: len as u64,
                chunk_size: frame_size,
                // The kernel always leaves XDP_PACKET_HEADROOM (256 bytes,
                // our `HEADROOM`) in front of received data; no extra.
                headroom: 0,
                flags: 0,
                tx_metadata_len: 0,
            };
            set_option(&fd, libc::XDP_UMEM_REG, &reg).map_err(step_err("XDP_UMEM_REG"))?;
        }
        // Since 5.10 every socket has its own fill and completion rings,
        // also when it shares a UMEM on another device or queue.
        set_option(&fd, libc::XDP_UMEM_FILL_RING, &sizes.fill)
            .map_err(step_err("fill ring setup"))?;
        set_option(&fd, libc::XDP_UMEM_COMPLETION_RING, &sizes.completion)
            .map_err(step_err("completion ring setup"))?;
        set_option(&fd, libc::XDP_RX_RING, &sizes.rx).map_err(step_err("rx ring setup"))?;
        set_option(&fd, libc::XDP_TX_RING, &sizes.tx).map_err(step_err("tx ring setup"))?;

        let offsets: libc::xdp_mmap_offsets =
            get_option(&fd, libc::XDP_MMAP_OFFSETS).map_err(step_err("XDP_MMAP_OFFSETS"))?;
        let fill = ProducerRing::map(
            fd.as_fd(),
            &offsets.fr,
            sizes.fill,
            libc::XDP_UMEM_PGOFF_FILL_RING as libc::off_t,
        )
        .map_err(step_err("mmap of the fill ring"))?;
        let completion = ConsumerRing::map(
            fd.as_fd(),
            &offsets.cr,
            sizes.completion,
            libc::XDP_UMEM_PGOFF_COMPLETION_RING as libc::off_t,
        )
        .map_err(step_err("mmap of the completion ring"))?;
        let rx = ConsumerRing::map(fd.as_fd(), &offsets.rx, sizes.rx, libc::XDP_PGOFF_RX_RING)
            .map_err(step_err("mmap of the rx ring"))?;
        let tx = ProducerRing::map(fd.as_fd(), &offsets.tx, sizes.tx, libc::XDP_PGOFF_TX_RING)
            .map_err(step_err("mmap of the tx ring"))?;

        let (flags, shared_fd) = match umem {
            // The kernel refuses mode flags on a shared bind: the socket
            // inherits them from the UMEM's owner.
            UmemSource::Share { fd } => (libc::XDP_SHARED_UMEM, fd as u32),
            UmemSource::Register { .. } => {
                let mut flags = match mode {
                    BindMode::ZeroCopy => libc::XDP_ZEROCOPY,
                    BindMode::Copy => libc::XDP_COPY,
                    BindMode::Auto => 0,
                };
                if need_wakeup {
                    flags |= libc::XDP_USE_NEED_WAKEUP;
                }
                (flags, 0)
            }
        };
        let addr = libc::sockaddr_xdp {
            sxdp_family: libc::AF_XDP as u16,
            sxdp_flags: flags,
            sxdp_ifindex: ifindex,
            sxdp_queue_id: queue,
            sxdp_shared_umem_fd: shared_fd,
        };
        // SAFETY: `addr` is a valid sockaddr_xdp and its exact size is passed.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast(),
                size_of::<libc::sockaddr_xdp>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(step_err("bind")(io::Error::last_os_error()));
        }
        Ok(Self {
            fill,
            completion,
            rx,
            tx,
            fd,
        })
    }

    pub(super) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// The mode the kernel actually bound with.
    pub(super) fn bound_mode(&self) -> io::Result<BindMode> {
        let options: libc::xdp_options = get_option(&self.fd, libc::XDP_OPTIONS)?;
        Ok(if options.flags & libc::XDP_OPTIONS_ZEROCOPY != 0 {
            BindMode::ZeroCopy
        } else {
            BindMode::Copy
        })
    }

    /// Raises how many frames one `sendto` transmits in copy mode. `false`
    /// when the kernel predates the option.
    pub(super) fn set_tx_budget(&self, budget: u32) -> io::Result<bool> {
        match set_option(&self.fd, XDP_MAX_TX_SKB_BUDGET, &budget) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Asks the kernel to process the tx ring (copy mode transmits inside
    /// this call).
    pub(super) fn kick_tx(&self) -> io::Result<()> {
        // SAFETY: a zero-length send with no buffer and no address, the
        // documented AF_XDP wake-up.
        let rc = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                std::ptr::null(),
                0,
                libc::MSG_DONTWAIT,
                std::ptr::null(),
                0,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Tells the driver the fill ring has buffers again.
    pub(super) fn kick_rx(&self) -> io::Result<()> {
        // SAFETY: a zero-length receive with no buffer and no address, the
        // documented AF_XDP wake-up.
        let rc = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                std::ptr::null_mut(),
                0,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    pub(super) fn statistics(&self) -> io::Result<XdpStatistics> {
        let s: libc::xdp_statistics = get_option(&self.fd, libc::XDP_STATISTICS)?;
        Ok(XdpStatistics {
            rx_dropped: s.rx_dropped,
            rx_invalid_descs: s.rx_invalid_descs,
            tx_invalid_descs: s.tx_invalid_descs,
            rx_ring_full: s.rx_ring_full,
            rx_fill_ring_empty_descs: s.rx_fill_ring_empty_descs,
            tx_ring_empty_descs: s.tx_ring_empty_descs,
        })
    }
}

fn set_option<T>(fd: &OwnedFd, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live T of exactly the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_XDP,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Reads a socket option into a `T` (a plain C struct of integers, valid
/// when zeroed). A kernel that returns fewer bytes leaves the rest zero.
fn get_option<T: Copy>(fd: &OwnedFd, name: libc::c_int) -> io::Result<T> {
    let mut value = std::mem::MaybeUninit::<T>::zeroed();
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: the buffer is `len` writable bytes and the kernel writes at
    // most `len`.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_XDP,
            name,
            value.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: T is only instantiated with libc's integer-only XDP structs,
    // for which all-zero bytes (and any bytes the kernel wrote) are valid.
    Ok(unsafe { value.assume_init() })
}
