//! The XDP program that steers each interface's frames to its AF_XDP
//! sockets: loaded once per interface with its own XSKMAP, attached through
//! a BPF link, shared by every port (queue) of the process on that
//! interface, and detached when the last of them closes.
//!
//! A BPF link, unlike the older netlink attachment, belongs to a file
//! descriptor: when the process dies, even by SIGKILL, the kernel closes
//! it and the program leaves the interface, so a crashed router never
//! leaves its interfaces black-holing traffic into sockets that are gone.

use std::error::Error;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use aya::maps::XskMap;
use aya::programs::xdp::XdpLink;
use aya::programs::{Xdp, XdpMode};
use aya::util::KernelVersion;
use aya::{Ebpf, EbpfLoader};

use super::error::AfXdpError;
use super::mode::XdpAttachMode;

/// The compiled `xdp/redirect.c` (see build.rs).
static REDIRECT_OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/redirect.o"));

const PROGRAM_NAME: &str = "xsk_redirect";
const MAP_NAME: &str = "xsks_map";

/// Queues per interface the XSKMAP has room for.
pub(super) const MAX_QUEUES: u32 = 256;

/// The program as attached to one interface.
pub(super) struct InterfaceProgram {
    ifname: String,
    mode: XdpAttachMode,
    /// Dropping it detaches the program; `None` only during drop.
    link: Option<XdpLink>,
    ebpf: Ebpf,
}

impl InterfaceProgram {
    /// The mode the program was attached in (never `Auto`).
    pub(super) fn mode(&self) -> XdpAttachMode {
        self.mode
    }

    /// Steers frames received on `queue` to the socket `fd`.
    pub(super) fn insert(&mut self, queue: u32, fd: RawFd) -> Result<(), AfXdpError> {
        let ifname = self.ifname.clone();
        let failed = |detail: String| AfXdpError::XskMap {
            ifname: ifname.clone(),
            queue,
            detail,
        };
        let map = self
            .ebpf
            .map_mut(MAP_NAME)
            .ok_or_else(|| failed(format!("the program has no map {MAP_NAME}")))?;
        let mut sockets = XskMap::try_from(map).map_err(|e| failed(chain(&e)))?;
        sockets.set(queue, fd, 0).map_err(|e| failed(chain(&e)))
    }

    /// Stops steering `queue`'s frames to a socket: they go to the kernel.
    pub(super) fn remove(&mut self, queue: u32) {
        if let Some(map) = self.ebpf.map_mut(MAP_NAME)
            && let Ok(mut sockets) = XskMap::try_from(map)
        {
            // Absent already is fine: the kernel also drops a closed
            // socket from the map.
            let _ = sockets.unset(queue);
        }
    }
}

impl Drop for InterfaceProgram {
    fn drop(&mut self) {
        // Detach before the program and its map are unloaded.
        drop(self.link.take());
    }
}

/// Attached programs by interface index, held weakly: the ports own them.
static ATTACHED: Mutex<Vec<(u32, Weak<Mutex<InterfaceProgram>>)>> = Mutex::new(Vec::new());

fn attached() -> MutexGuard<'static, Vec<(u32, Weak<Mutex<InterfaceProgram>>)>> {
    // Updates are single pushes/retains: a poisoned lock holds valid data.
    ATTACHED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Locks one interface's program (shared by the ports on its queues).
pub(super) fn lock(program: &Mutex<InterfaceProgram>) -> MutexGuard<'_, InterfaceProgram> {
    program
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The program on `ifindex`, attached now if no port of this process has
/// attached it yet.
pub(super) fn attach(
    ifname: &str,
    ifindex: u32,
    requested: XdpAttachMode,
) -> Result<Arc<Mutex<InterfaceProgram>>, AfXdpError> {
    let mut attached = attached();
    attached.retain(|(_, program)| program.strong_count() > 0);
    if let Some(program) = attached
        .iter()
        .find(|(index, _)| *index == ifindex)
        .and_then(|(_, program)| program.upgrade())
    {
        let mode = lock(&program).mode;
        if requested != XdpAttachMode::Auto && requested != mode {
            return Err(AfXdpError::AttachModeConflict {
                ifname: ifname.to_string(),
                attached: mode,
                requested,
            });
        }
        return Ok(program);
    }
    let program = Arc::new(Mutex::new(load_and_attach(ifname, ifindex, requested)?));
    attached.push((ifindex, Arc::downgrade(&program)));
    Ok(program)
}

/// Drops a port's share of its interface's program. Done under the
/// registry lock so that a concurrent [`attach`] on the same interface
/// waits until the old program is really detached.
pub(super) fn release(program: Arc<Mutex<InterfaceProgram>>) {
    let mut attached = attached();
    drop(program);
    attached.retain(|(_, program)| program.strong_count() > 0);
}

fn load_and_attach(
    ifname: &str,
    ifindex: u32,
    requested: XdpAttachMode,
) -> Result<InterfaceProgram, AfXdpError> {
    let load_failed = |detail: String| AfXdpError::ProgramLoad { detail };
    // Before 5.9 aya falls back to a netlink attachment, which would
    // outlive a crash of the router: refuse it rather than risk that.
    if KernelVersion::current().is_ok_and(|v| v < KernelVersion::new(5, 9, 0)) {
        return Err(load_failed(
            "XDP BPF links need Linux 5.9 or newer".to_string(),
        ));
    }
    let mut ebpf = EbpfLoader::new()
        .map_max_entries(MAP_NAME, MAX_QUEUES)
        .load(REDIRECT_OBJECT)
        .map_err(|e| load_failed(chain(&e)))?;
    let program: &mut Xdp = ebpf
        .program_mut(PROGRAM_NAME)
        .ok_or_else(|| load_failed(format!("no program {PROGRAM_NAME} in the object")))?
        .try_into()
        .map_err(|e| load_failed(chain(&e)))?;
    program.load().map_err(|e| load_failed(chain(&e)))?;

    let attempts: &[XdpAttachMode] = match requested {
        XdpAttachMode::Auto => &[XdpAttachMode::Native, XdpAttachMode::Generic],
        XdpAttachMode::Native => &[XdpAttachMode::Native],
        XdpAttachMode::Generic => &[XdpAttachMode::Generic],
    };
    let mut failures = Vec::new();
    for &mode in attempts {
        match attach_link(program, ifindex, mode) {
            Ok(link) => {
                return Ok(InterfaceProgram {
                    ifname: ifname.to_string(),
                    mode,
                    link: Some(link),
                    ebpf,
                });
            }
            Err(detail) => failures.push(format!("{mode}: {detail}")),
        }
    }
    Err(AfXdpError::ProgramAttach {
        ifname: ifname.to_string(),
        mode: requested,
        detail: failures.join("; "),
    })
}

fn attach_link(program: &mut Xdp, ifindex: u32, mode: XdpAttachMode) -> Result<XdpLink, String> {
    let flags = match mode {
        XdpAttachMode::Native => XdpMode::Driver,
        XdpAttachMode::Generic => XdpMode::Skb,
        XdpAttachMode::Auto => XdpMode::Default,
    };
    let id = program
        .attach_to_if_index(ifindex, flags)
        .map_err(|e| chain(&e))?;
    // Owned by us from here: dropping it detaches the program.
    program.take_link(id).map_err(|e| chain(&e))
}

/// An error and its causes on one line: aya's top-level messages name the
/// failed call, the OS error sits underneath.
fn chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
