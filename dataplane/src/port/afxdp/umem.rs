//! Which frame pools are registered with the kernel as a UMEM, and through
//! which bound sockets, so that a core's second port shares its first
//! port's UMEM (`XDP_SHARED_UMEM`) instead of registering the pool again.
//!
//! The kernel keeps a UMEM alive while any socket uses it, but a new
//! socket can only join it through the descriptor of a *bound* socket that
//! uses it. So the registry keeps, per pool region, every live socket: any
//! of them will do, and when the last one closes the next open registers
//! afresh.

use std::os::fd::RawFd;
use std::sync::{Mutex, MutexGuard};

use super::mode::BindMode;

/// What a later socket needs to join a registered UMEM.
#[derive(Debug, Clone, Copy)]
pub(super) struct SharedUmem {
    /// A bound socket using the UMEM.
    pub fd: RawFd,
    /// The mode every socket of this UMEM runs in.
    pub mode: BindMode,
    pub need_wakeup: bool,
}

struct Member {
    port_id: u64,
    fd: RawFd,
}

struct Registered {
    addr: usize,
    len: usize,
    mode: BindMode,
    need_wakeup: bool,
    members: Vec<Member>,
}

/// The registry, locked. Opening a port holds the lock from look-up to
/// registration, and closing a port holds it while its socket is closed,
/// so a descriptor handed out by [`Registry::shared`] stays open while in
/// use.
pub(super) struct Registry {
    entries: Vec<Registered>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    entries: Vec::new(),
});

pub(super) fn lock() -> MutexGuard<'static, Registry> {
    // A panic while holding the lock leaves consistent data (every update
    // is a single push or remove), so a poisoned lock is still usable.
    REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Registry {
    /// The UMEM already registered over this region, if any.
    pub(super) fn shared(&self, addr: usize, len: usize) -> Option<SharedUmem> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.addr == addr && e.len == len)?;
        let member = entry.members.first()?;
        Some(SharedUmem {
            fd: member.fd,
            mode: entry.mode,
            need_wakeup: entry.need_wakeup,
        })
    }

    /// Records a bound socket using the UMEM over this region.
    pub(super) fn add(
        &mut self,
        addr: usize,
        len: usize,
        mode: BindMode,
        need_wakeup: bool,
        port_id: u64,
        fd: RawFd,
    ) {
        let member = Member { port_id, fd };
        match self
            .entries
            .iter_mut()
            .find(|e| e.addr == addr && e.len == len)
        {
            Some(entry) => entry.members.push(member),
            None => self.entries.push(Registered {
                addr,
                len,
                mode,
                need_wakeup,
                members: vec![member],
            }),
        }
    }

    /// Forgets a socket that is about to close.
    pub(super) fn remove(&mut self, port_id: u64) {
        for entry in &mut self.entries {
            entry.members.retain(|m| m.port_id != port_id);
        }
        self.entries.retain(|e| !e.members.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_socket_joins_until_all_are_gone() {
        let mut reg = Registry {
            entries: Vec::new(),
        };
        assert!(reg.shared(0x1000, 8192).is_none());
        reg.add(0x1000, 8192, BindMode::Copy, true, 1, 10);
        reg.add(0x1000, 8192, BindMode::Copy, true, 2, 11);
        let shared = reg.shared(0x1000, 8192).unwrap();
        assert_eq!((shared.fd, shared.mode), (10, BindMode::Copy));
        // Another region (another core's pool) is separate.
        assert!(reg.shared(0x9000, 8192).is_none());
        reg.remove(1);
        assert_eq!(reg.shared(0x1000, 8192).unwrap().fd, 11);
        reg.remove(2);
        assert!(reg.shared(0x1000, 8192).is_none());
    }
}
