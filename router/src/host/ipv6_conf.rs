//! Per-interface IPv6 settings (`/proc/sys/net/ipv6/conf/<if>/<key>`).
//! Netlink has no request to set them, and `/proc/sys/net` shows the network
//! namespace of the reading process, which is the one we manage.

use std::fs;
use std::io;
use std::path::Path;

use super::{HostError, validate_interface_name};

const CONF_DIR: &str = "/proc/sys/net/ipv6/conf";

/// The settings the twin setup touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ipv6Setting {
    /// 1 removes every IPv6 address and stops ND on the interface.
    DisableIpv6,
    /// Router Advertisements (RFC 4861 section 6.3.4) are the control
    /// plane's business, not the kernel's.
    AcceptRa,
    /// Stateless address autoconfiguration (RFC 4862 section 5.5).
    Autoconf,
}

impl Ipv6Setting {
    fn key(self) -> &'static str {
        match self {
            Ipv6Setting::DisableIpv6 => "disable_ipv6",
            Ipv6Setting::AcceptRa => "accept_ra",
            Ipv6Setting::Autoconf => "autoconf",
        }
    }

    fn read_op(self) -> &'static str {
        match self {
            Ipv6Setting::DisableIpv6 => "read net.ipv6.conf.<if>.disable_ipv6",
            Ipv6Setting::AcceptRa => "read net.ipv6.conf.<if>.accept_ra",
            Ipv6Setting::Autoconf => "read net.ipv6.conf.<if>.autoconf",
        }
    }

    fn write_op(self) -> &'static str {
        match self {
            Ipv6Setting::DisableIpv6 => "write net.ipv6.conf.<if>.disable_ipv6",
            Ipv6Setting::AcceptRa => "write net.ipv6.conf.<if>.accept_ra",
            Ipv6Setting::Autoconf => "write net.ipv6.conf.<if>.autoconf",
        }
    }
}

/// False when the kernel runs without IPv6 (`ipv6.disable=1`): then there is
/// nothing to turn off on the port nor on the twin.
pub(crate) fn ipv6_available() -> bool {
    Path::new(CONF_DIR).is_dir()
}

pub(crate) fn read(interface: &str, setting: Ipv6Setting) -> Result<String, HostError> {
    validate_interface_name(interface)?;
    let path = format!("{CONF_DIR}/{interface}/{}", setting.key());
    fs::read_to_string(&path)
        .map(|value| value.trim().to_string())
        .map_err(|e| map_error(setting.read_op(), interface, e))
}

pub(crate) fn write(interface: &str, setting: Ipv6Setting, value: &str) -> Result<(), HostError> {
    validate_interface_name(interface)?;
    let path = format!("{CONF_DIR}/{interface}/{}", setting.key());
    fs::write(&path, value).map_err(|e| map_error(setting.write_op(), interface, e))
}

fn map_error(op: &'static str, interface: &str, e: io::Error) -> HostError {
    if e.kind() == io::ErrorKind::NotFound {
        return HostError::NoSuchInterface(interface.to_string());
    }
    HostError::io(op, interface, e)
}
