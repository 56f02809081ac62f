//! A TAP device: an Ethernet interface in the kernel whose other end is a
//! file descriptor here. What the kernel transmits on it is read from the
//! fd; what is written to the fd, the kernel receives as if from a wire.
//!
//! Opening `/dev/net/tun` and reading/writing frames go through `std::fs`;
//! only the `TUNSETIFF`/`TUNSETPERSIST` ioctls and `if_nametoindex` need
//! `libc`, and so `unsafe`.

#![allow(unsafe_code)]

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use super::{HostError, validate_interface_name};

const CLONE_DEVICE: &str = "/dev/net/tun";

/// A TAP device (`IFF_TAP | IFF_NO_PI`: plain Ethernet frames, no packet
/// information header), non-blocking. The kernel removes the interface when
/// the descriptor closes, i.e. on drop, unless it was made persistent.
#[derive(Debug)]
pub struct TapDevice {
    file: File,
    name: String,
    ifindex: u32,
}

impl TapDevice {
    /// Creates the TAP interface `name`. Fails if an interface of that name
    /// already exists (`IFF_TUN_EXCL`), so a stale twin is never silently
    /// adopted with a previous run's settings.
    pub fn create(name: &str) -> Result<TapDevice, HostError> {
        validate_interface_name(name)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(CLONE_DEVICE)
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => HostError::Io {
                    op: "open /dev/net/tun (is the tun module loaded?)",
                    interface: name.to_string(),
                    source: e,
                },
                _ => HostError::io("open /dev/net/tun", name, e),
            })?;

        // SAFETY: `ifreq` is plain old data (a name array and a union of
        // integers, sockaddrs and a pointer); all-zero is a valid value.
        let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
        // The name fits with room for the NUL: validate_interface_name
        // checked at most 15 bytes, ifr_name has 16 and is zeroed.
        for (slot, byte) in request.ifr_name.iter_mut().zip(name.bytes()) {
            *slot = byte as libc::c_char;
        }
        request.ifr_ifru.ifru_flags =
            (libc::IFF_TAP | libc::IFF_NO_PI | libc::IFF_TUN_EXCL) as libc::c_short;
        // SAFETY: TUNSETIFF reads and writes one `struct ifreq` through the
        // pointer, which points to a live, properly sized and aligned ifreq
        // for the duration of the call; the fd is open.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &raw mut request) };
        if rc < 0 {
            let source = io::Error::last_os_error();
            return Err(match source.raw_os_error() {
                Some(libc::EBUSY) | Some(libc::EINVAL) => HostError::Io {
                    op: "create TAP (an interface of this name already exists: delete it, or \
                         call remove_stale_twins)",
                    interface: name.to_string(),
                    source,
                },
                _ => HostError::io("create TAP", name, source),
            });
        }
        let ifindex = interface_index(name)?;
        Ok(TapDevice {
            file,
            name: name.to_string(),
            ifindex,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The descriptor to register with the event loop (readable when a
    /// frame is queued).
    pub fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// Reads one frame the kernel sent on the TAP. `Ok(None)` when none is
    /// queued. `buf` should hold MTU + 18 bytes (Ethernet header and a VLAN
    /// tag): a longer frame is truncated to `buf.len()`.
    pub fn read_frame(&self, buf: &mut [u8]) -> Result<Option<usize>, HostError> {
        loop {
            match (&self.file).read(buf) {
                Ok(n) => return Ok(Some(n.min(buf.len()))),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(HostError::io("read from TAP", &self.name, e)),
            }
        }
    }

    /// Hands one Ethernet frame to the kernel as received on the TAP.
    /// `Ok(false)` when the kernel cannot take it now (queue full): the
    /// caller counts a drop.
    pub fn write_frame(&self, frame: &[u8]) -> Result<bool, HostError> {
        loop {
            match (&self.file).write(frame) {
                Ok(_) => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(HostError::io("write to TAP", &self.name, e)),
            }
        }
    }

    /// A persistent TAP outlives its descriptor (and this process); used by
    /// tests that fake a crashed run's leftovers.
    pub fn set_persistent(&self, persistent: bool) -> Result<(), HostError> {
        // SAFETY: TUNSETPERSIST takes its argument by value (an int-sized
        // flag), no pointer is dereferenced; the fd is open.
        let rc = unsafe {
            libc::ioctl(
                self.file.as_raw_fd(),
                libc::TUNSETPERSIST,
                libc::c_ulong::from(persistent),
            )
        };
        if rc < 0 {
            return Err(HostError::io(
                "set TAP persistence",
                &self.name,
                io::Error::last_os_error(),
            ));
        }
        Ok(())
    }
}

impl AsRawFd for TapDevice {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

fn interface_index(name: &str) -> Result<u32, HostError> {
    let c_name = CString::new(name).map_err(|_| HostError::InvalidName(name.to_string()))?;
    // SAFETY: `c_name` is a valid NUL-terminated string that outlives the
    // call; if_nametoindex only reads it.
    let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
    if index == 0 {
        return Err(HostError::NoSuchInterface(name.to_string()));
    }
    Ok(index)
}
