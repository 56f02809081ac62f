//! Why a host-side operation failed, worded for the operator: what was
//! attempted, on which interface, and what to do about it.

use std::fmt;
use std::io;

/// A failed operation on the kernel side of a port (TAP, netlink, sysctl).
#[derive(Debug)]
pub enum HostError {
    /// No interface by that name exists (in this network namespace).
    NoSuchInterface(String),
    /// The name does not fit `IFNAMSIZ` (15 bytes plus the NUL).
    NameTooLong(String),
    /// The name is empty, or holds `/`, whitespace, `:` or a NUL, or is `.`/`..`.
    InvalidName(String),
    /// What was refused for lack of root / `CAP_NET_ADMIN`.
    Permission(String),
    /// The kernel answered a netlink request with an error.
    Netlink {
        op: &'static str,
        interface: String,
        errno: i32,
    },
    /// A system call or file access failed.
    Io {
        op: &'static str,
        interface: String,
        source: io::Error,
    },
    /// The kernel's netlink answer could not be decoded.
    Decode {
        op: &'static str,
        interface: String,
        reason: String,
    },
}

impl HostError {
    /// Maps an I/O error, turning `EPERM`/`EACCES` into [`HostError::Permission`].
    pub(crate) fn io(op: &'static str, interface: &str, source: io::Error) -> HostError {
        match source.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => {
                HostError::Permission(format!("{op} on {interface}"))
            }
            _ => HostError::Io {
                op,
                interface: interface.to_string(),
                source,
            },
        }
    }

    /// Maps a netlink error code (a positive errno), turning `EPERM`/`EACCES`
    /// into [`HostError::Permission`] and `ENODEV` into
    /// [`HostError::NoSuchInterface`].
    pub(crate) fn netlink(op: &'static str, interface: &str, errno: i32) -> HostError {
        match errno {
            libc::EPERM | libc::EACCES => HostError::Permission(format!("{op} on {interface}")),
            libc::ENODEV => HostError::NoSuchInterface(interface.to_string()),
            _ => HostError::Netlink {
                op,
                interface: interface.to_string(),
                errno,
            },
        }
    }

    /// The errno behind this error, when there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            HostError::Netlink { errno, .. } => Some(*errno),
            HostError::Io { source, .. } => source.raw_os_error(),
            HostError::NoSuchInterface(_) => Some(libc::ENODEV),
            HostError::Permission(_) => Some(libc::EPERM),
            _ => None,
        }
    }
}

/// A hint for the errnos an operator is likely to meet here.
fn errno_hint(errno: i32) -> &'static str {
    match errno {
        libc::EEXIST => ": it already exists",
        libc::EBUSY => {
            ": the name is taken by another device (a stale twin? see remove_stale_twins)"
        }
        libc::EINVAL | libc::ERANGE => {
            ": the value is out of range for this device (check the MTU)"
        }
        libc::EADDRNOTAVAIL => ": the address is not on this interface",
        libc::EAFNOSUPPORT => ": the address family is disabled in this kernel",
        _ => "",
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::NoSuchInterface(name) => write!(
                f,
                "no interface named {name:?} in this network namespace: check the port name \
                 in the config against `ip link show`"
            ),
            HostError::NameTooLong(name) => write!(
                f,
                "interface name {name:?} is {} bytes long; Linux allows at most {}: choose a \
                 shorter name",
                name.len(),
                super::IFNAME_MAX_LEN
            ),
            HostError::InvalidName(name) => write!(
                f,
                "{name:?} is not a valid interface name: it must be 1 to {} bytes without '/', \
                 ':', whitespace or NUL, and not '.' or '..'",
                super::IFNAME_MAX_LEN
            ),
            HostError::Permission(what) => write!(
                f,
                "{what} was refused: it needs root or CAP_NET_ADMIN; run vrouterd as root or \
                 grant it CAP_NET_ADMIN"
            ),
            HostError::Netlink {
                op,
                interface,
                errno,
            } => write!(
                f,
                "{op} on {interface} failed: {} (errno {errno}){}",
                io::Error::from_raw_os_error(*errno),
                errno_hint(*errno)
            ),
            HostError::Io {
                op,
                interface,
                source,
            } => {
                let hint = source.raw_os_error().map_or("", errno_hint);
                write!(f, "{op} on {interface} failed: {source}{hint}")
            }
            HostError::Decode {
                op,
                interface,
                reason,
            } => write!(
                f,
                "{op} on {interface}: the kernel's netlink reply could not be decoded ({reason}); \
                 this is a bug in vrouterd or its netlink crates, please report it"
            ),
        }
    }
}

impl std::error::Error for HostError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HostError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
