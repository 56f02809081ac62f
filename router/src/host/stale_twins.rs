//! Twins a previous run left behind. A non-persistent TAP dies with its
//! descriptor, but a persistent one (or one whose holder is stuck) survives
//! a crash and would then hold the twin's name and the router's addresses.

use tracing::warn;

use super::{HostError, Netlink};

/// Deletes every TAP whose name starts with `prefix` and returns their
/// names. Only TAPs (`tun` devices) are touched, never another kind of
/// interface that happens to share the prefix. An empty prefix removes
/// nothing.
pub fn remove_stale_twins(nl: &mut Netlink, prefix: &str) -> Result<Vec<String>, HostError> {
    if prefix.is_empty() {
        warn!("remove_stale_twins called with an empty prefix: removing nothing");
        return Ok(Vec::new());
    }
    let mut removed = Vec::new();
    for link in nl.links()? {
        if !link.name.starts_with(prefix) || link.kind.as_deref() != Some("tun") {
            continue;
        }
        match nl.delete_link(link.ifindex) {
            // Gone in between: someone else cleaned it.
            Ok(()) | Err(HostError::NoSuchInterface(_)) => {
                warn!(
                    interface = link.name,
                    "removed a stale TAP twin left by a previous run"
                );
                removed.push(link.name);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}
