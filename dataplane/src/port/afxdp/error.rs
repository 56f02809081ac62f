//! Why an AF_XDP port could not be opened, worded for the operator: what
//! failed, on which interface and queue, and what to do about it.

use std::fmt;
use std::io;

use super::mode::{BindMode, XdpAttachMode};

/// Why [`super::AfXdpPort::open`] failed.
#[derive(Debug)]
pub enum AfXdpError {
    /// No interface by that name in this network namespace.
    InterfaceNotFound { ifname: String },
    /// The queue index is beyond what the XSKMAP holds.
    QueueOutOfRange {
        ifname: String,
        queue: u32,
        max: u32,
    },
    /// A ring size or other setting the kernel would refuse.
    BadConfig { reason: String },
    /// The frame pool is already registered with sockets that use another
    /// bind mode than the one asked for (sockets sharing a UMEM inherit
    /// its mode).
    SharedUmemMode {
        ifname: String,
        queue: u32,
        umem: BindMode,
        requested: BindMode,
    },
    /// A system call while setting the socket up failed.
    Syscall {
        ifname: String,
        queue: u32,
        step: &'static str,
        source: io::Error,
    },
    /// Binding kept failing with EBUSY: another socket holds the queue.
    Busy {
        ifname: String,
        queue: u32,
        waited_ms: u64,
    },
    /// Zero-copy was required but the driver does not offer it.
    ZeroCopyUnsupported { ifname: String, queue: u32 },
    /// The embedded XDP program could not be loaded into the kernel.
    ProgramLoad { detail: String },
    /// The XDP program could not be attached to the interface.
    ProgramAttach {
        ifname: String,
        mode: XdpAttachMode,
        detail: String,
    },
    /// Another port of this process already attached the program to the
    /// interface in a different mode.
    AttachModeConflict {
        ifname: String,
        attached: XdpAttachMode,
        requested: XdpAttachMode,
    },
    /// The socket could not be entered into the interface's XSKMAP.
    XskMap {
        ifname: String,
        queue: u32,
        detail: String,
    },
}

impl AfXdpError {
    /// The OS error behind this failure, if there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Self::Syscall { source, .. } => source.raw_os_error(),
            Self::Busy { .. } => Some(libc::EBUSY),
            Self::ZeroCopyUnsupported { .. } => Some(libc::EOPNOTSUPP),
            _ => None,
        }
    }
}

/// The symbolic name of the errno values a socket set-up meets, so that a
/// message reads "EBUSY" as the kernel documentation does.
fn errno_name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ENOMEM => "ENOMEM",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ENETDOWN => "ENETDOWN",
        libc::ENOBUFS => "ENOBUFS",
        libc::EACCES => "EACCES",
        libc::EBADF => "EBADF",
        _ => return None,
    })
}

/// What an operator can do about a failed system call.
fn hint(step: &str, errno: Option<i32>) -> &'static str {
    match errno {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            "; run as root or grant CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF"
        }
        Some(libc::EAFNOSUPPORT) => "; the kernel lacks AF_XDP (CONFIG_XDP_SOCKETS)",
        Some(libc::ENOMEM) | Some(libc::ENOBUFS) if step.contains("UMEM") => {
            "; raise RLIMIT_MEMLOCK (ulimit -l) or use a smaller frame pool"
        }
        Some(libc::EINVAL) if step == "bind" => {
            "; check the queue exists (ethtool -l) and that no other AF_XDP socket holds it"
        }
        _ => "",
    }
}

impl fmt::Display for AfXdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InterfaceNotFound { ifname } => write!(
                f,
                "interface {ifname} not found (check the name and the network namespace)"
            ),
            Self::QueueOutOfRange { ifname, queue, max } => write!(
                f,
                "queue {queue} on {ifname} is out of range: at most {max} queues per interface are supported"
            ),
            Self::BadConfig { reason } => write!(f, "bad AF_XDP configuration: {reason}"),
            Self::SharedUmemMode {
                ifname,
                queue,
                umem,
                requested,
            } => write!(
                f,
                "AF_XDP bind on {ifname} queue {queue} asks for {requested} mode, but this core's frame pool is already bound in {umem} mode by another port; sockets sharing a pool share its mode: use the same bind mode for every port of a core"
            ),
            Self::Syscall {
                ifname,
                queue,
                step,
                source,
            } => {
                let errno = source.raw_os_error();
                match errno.and_then(errno_name) {
                    Some(name) => write!(
                        f,
                        "AF_XDP {step} on {ifname} queue {queue} failed: {name} ({source}){}",
                        hint(step, errno)
                    ),
                    None => write!(
                        f,
                        "AF_XDP {step} on {ifname} queue {queue} failed: {source}{}",
                        hint(step, errno)
                    ),
                }
            }
            Self::Busy {
                ifname,
                queue,
                waited_ms,
            } => write!(
                f,
                "AF_XDP bind on {ifname} queue {queue} failed: EBUSY after {waited_ms} ms; another program holds the queue"
            ),
            Self::ZeroCopyUnsupported { ifname, queue } => write!(
                f,
                "AF_XDP zero-copy bind on {ifname} queue {queue} failed: EOPNOTSUPP; the driver has no zero-copy support, use bind mode copy or auto"
            ),
            Self::ProgramLoad { detail } => write!(
                f,
                "loading the XDP redirect program failed: {detail}; run as root (CAP_BPF, CAP_NET_ADMIN) on a kernel with BPF and XDP sockets"
            ),
            Self::ProgramAttach {
                ifname,
                mode,
                detail,
            } => write!(
                f,
                "attaching the XDP program to {ifname} in {mode} mode failed: {detail}; if another XDP program is attached, remove it (ip link set dev {ifname} xdp off) or try attach mode generic"
            ),
            Self::AttachModeConflict {
                ifname,
                attached,
                requested,
            } => write!(
                f,
                "the XDP program on {ifname} is already attached in {attached} mode by another port, not {requested}: use the same attach mode for every queue of an interface"
            ),
            Self::XskMap {
                ifname,
                queue,
                detail,
            } => write!(
                f,
                "registering the AF_XDP socket of {ifname} queue {queue} in the XSKMAP failed: {detail}"
            ),
        }
    }
}

impl std::error::Error for AfXdpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Syscall { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_names_interface_queue_and_cause() {
        let err = AfXdpError::Busy {
            ifname: "eth0".into(),
            queue: 0,
            waited_ms: 500,
        };
        assert_eq!(
            err.to_string(),
            "AF_XDP bind on eth0 queue 0 failed: EBUSY after 500 ms; another program holds the queue"
        );
    }

    #[test]
    fn syscall_error_carries_errno_name_and_hint() {
        let err = AfXdpError::Syscall {
            ifname: "eth1".into(),
            queue: 3,
            step: "socket(AF_XDP)",
            source: io::Error::from_raw_os_error(libc::EPERM),
        };
        let text = err.to_string();
        assert!(text.starts_with("AF_XDP socket(AF_XDP) on eth1 queue 3 failed: EPERM"));
        assert!(text.contains("CAP_NET_ADMIN"), "{text}");
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
    }

    #[test]
    fn missing_interface_is_named() {
        let err = AfXdpError::InterfaceNotFound {
            ifname: "eth9".into(),
        };
        assert!(err.to_string().starts_with("interface eth9 not found"));
    }
}
