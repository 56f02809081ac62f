//! Whether a port can carry traffic right now, as the kernel's operational
//! state says (RFC 2863 section 3.1.14 `ifOperStatus`, which Linux's
//! `IF_OPER_*` values follow).

use std::fs;
use std::io;

use super::{HostError, validate_interface_name};

/// `IF_OPER_*` from `<linux/if.h>` (RFC 2863 `ifOperStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperState {
    /// The driver does not report an operational state (e.g. TAP, loopback).
    Unknown,
    NotPresent,
    Down,
    /// Down because a lower layer is (e.g. a veth whose peer is down).
    LowerLayerDown,
    Testing,
    Dormant,
    Up,
    /// A value this code does not know.
    Other(u8),
}

impl From<u8> for OperState {
    fn from(value: u8) -> Self {
        match value {
            0 => OperState::Unknown,
            1 => OperState::NotPresent,
            2 => OperState::Down,
            3 => OperState::LowerLayerDown,
            4 => OperState::Testing,
            5 => OperState::Dormant,
            6 => OperState::Up,
            other => OperState::Other(other),
        }
    }
}

impl OperState {
    /// Parses `/sys/class/net/<if>/operstate` (the kernel's `operstates[]`
    /// strings).
    pub fn from_sysfs(text: &str) -> OperState {
        match text.trim() {
            "unknown" => OperState::Unknown,
            "notpresent" => OperState::NotPresent,
            "down" => OperState::Down,
            "lowerlayerdown" => OperState::LowerLayerDown,
            "testing" => OperState::Testing,
            "dormant" => OperState::Dormant,
            "up" => OperState::Up,
            _ => OperState::Other(u8::MAX),
        }
    }
}

/// True when `name` is up and has carrier: operstate UP, or UNKNOWN (drivers
/// that do not report one) while running with carrier. Reads two small
/// sysfs files, so it is cheap enough to poll every few milliseconds.
///
/// sysfs shows the network namespace it was mounted in: call this from a
/// process that lives in the port's namespace (as `ip netns exec` sets up).
pub fn carrier(name: &str) -> Result<bool, HostError> {
    validate_interface_name(name)?;
    let operstate = read_attribute(name, "operstate")?;
    match OperState::from_sysfs(&operstate) {
        OperState::Up => Ok(true),
        OperState::Unknown => {
            // Reading `carrier` fails with EINVAL while the interface is
            // administratively down: not running, so no carrier.
            match read_attribute(name, "carrier") {
                Ok(text) => Ok(text.trim() == "1"),
                Err(HostError::Io { source, .. })
                    if source.raw_os_error() == Some(libc::EINVAL) =>
                {
                    Ok(false)
                }
                Err(e) => Err(e),
            }
        }
        _ => Ok(false),
    }
}

fn read_attribute(name: &str, attribute: &str) -> Result<String, HostError> {
    let path = format!("/sys/class/net/{name}/{attribute}");
    fs::read_to_string(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => HostError::NoSuchInterface(name.to_string()),
        _ => HostError::io("read link state", name, e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysfs_strings_map_to_states() {
        assert_eq!(OperState::from_sysfs("up\n"), OperState::Up);
        assert_eq!(OperState::from_sysfs("unknown\n"), OperState::Unknown);
        assert_eq!(
            OperState::from_sysfs("lowerlayerdown\n"),
            OperState::LowerLayerDown
        );
        assert_eq!(OperState::from_sysfs("down"), OperState::Down);
        assert!(matches!(
            OperState::from_sysfs("bogus"),
            OperState::Other(_)
        ));
    }

    #[test]
    fn netlink_values_map_to_states() {
        assert_eq!(OperState::from(6), OperState::Up);
        assert_eq!(OperState::from(2), OperState::Down);
        assert_eq!(OperState::from(0), OperState::Unknown);
        assert_eq!(OperState::from(42), OperState::Other(42));
    }

    #[test]
    fn missing_interface_is_named() {
        match carrier("vr-no-such-if") {
            Err(HostError::NoSuchInterface(name)) => assert_eq!(name, "vr-no-such-if"),
            other => panic!("expected NoSuchInterface, got {other:?}"),
        }
    }
}
