//! A port's TAP twin, set up at start and undone at stop: the twin takes
//! over the port's identity in the kernel (MAC, MTU, the router's
//! addresses), and the real port is left bare so the kernel neither uses
//! nor answers on it (no addresses, no IPv6, hence no ND or SLAAC there).

use dataplane::packet::MacAddr;
use ipnet::IpNet;
use netlink_packet_route::address::AddressMessage;
use tracing::warn;

use super::ipv6_conf::{self, Ipv6Setting};
use super::netlink::is_configured;
use super::{HostError, LinkInfo, Netlink, TapDevice, validate_interface_name};

/// A port and its twin. Dropping it without [`PortTwin::teardown`] undoes
/// the setup too, best effort.
pub struct PortTwin {
    pub port_name: String,
    pub tap: TapDevice,
    port_mac: MacAddr,
    saved: SavedPort,
    undone: bool,
}

/// What setup changed on the real port, to put back at teardown.
struct SavedPort {
    name: String,
    ifindex: u32,
    addresses: Vec<AddressMessage>,
    /// `None` when the kernel has no IPv6 at all.
    disable_ipv6: Option<String>,
    admin_up: bool,
}

impl PortTwin {
    /// 1. Reads the real port's MAC and MTU.
    /// 2. Disables IPv6 on the port (remembering the old `disable_ipv6`) and
    ///    flushes its addresses (remembering them).
    /// 3. Creates the TAP `tap_name` with the port's MAC, the MTU `mtu`, the
    ///    `addresses`, IPv6 on with `accept_ra=0` and `autoconf=0`, and
    ///    brings it up; then brings the real port up.
    ///
    /// On failure whatever was done is undone before the error returns.
    pub fn setup(
        nl: &mut Netlink,
        port_name: &str,
        tap_name: &str,
        mtu: u32,
        addresses: &[IpNet],
    ) -> Result<PortTwin, HostError> {
        validate_interface_name(tap_name)?;
        let port = nl.link_info(port_name)?;
        let disable_ipv6 = if ipv6_conf::ipv6_available() {
            Some(ipv6_conf::read(port_name, Ipv6Setting::DisableIpv6)?)
        } else {
            None
        };
        // Read before disable_ipv6 wipes the IPv6 ones.
        let saved = SavedPort {
            name: port_name.to_string(),
            ifindex: port.ifindex,
            addresses: nl.address_messages(port.ifindex)?,
            disable_ipv6,
            admin_up: port.admin_up,
        };
        match build_twin(nl, &saved, &port, tap_name, mtu, addresses) {
            Ok(tap) => Ok(PortTwin {
                port_name: port_name.to_string(),
                tap,
                port_mac: port.mac,
                saved,
                undone: false,
            }),
            Err(error) => {
                for failure in saved.restore(nl) {
                    warn!(port = port_name, "undoing a failed twin setup: {failure}");
                }
                Err(error)
            }
        }
    }

    /// Removes the TAP, gives the real port back its addresses, its
    /// `disable_ipv6` value and its admin state. Every step is tried; the
    /// first failure is returned, the others logged.
    pub fn teardown(mut self, nl: &mut Netlink) -> Result<(), HostError> {
        self.undone = true;
        let mut failures = self.undo(nl).into_iter();
        let first = failures.next();
        for failure in failures {
            warn!(port = self.port_name, "twin teardown: {failure}");
        }
        first.map_or(Ok(()), Err)
    }

    /// The real port's MAC, which the twin carries too.
    pub fn port_mac(&self) -> MacAddr {
        self.port_mac
    }

    pub fn port_ifindex(&self) -> u32 {
        self.saved.ifindex
    }

    fn undo(&self, nl: &mut Netlink) -> Vec<HostError> {
        let mut failures = Vec::new();
        // The TAP goes first so the kernel never holds a subnet twice.
        match nl.delete_link(self.tap.ifindex()) {
            Ok(()) | Err(HostError::NoSuchInterface(_)) => {}
            Err(e) => failures.push(e),
        }
        failures.extend(self.saved.restore(nl));
        failures
    }
}

impl Drop for PortTwin {
    fn drop(&mut self) {
        if self.undone {
            return;
        }
        match Netlink::open() {
            Ok(mut nl) => {
                for failure in self.undo(&mut nl) {
                    warn!(port = self.port_name, "twin cleanup on drop: {failure}");
                }
            }
            Err(e) => warn!(
                port = self.port_name,
                "twin cleanup on drop impossible, the port keeps no addresses: {e}"
            ),
        }
    }
}

fn build_twin(
    nl: &mut Netlink,
    saved: &SavedPort,
    port: &LinkInfo,
    tap_name: &str,
    mtu: u32,
    addresses: &[IpNet],
) -> Result<TapDevice, HostError> {
    if saved.disable_ipv6.is_some() {
        ipv6_conf::write(&saved.name, Ipv6Setting::DisableIpv6, "1")?;
    }
    nl.flush_addresses(saved.ifindex)?;

    // From here an error drops `tap`, which removes it.
    let tap = TapDevice::create(tap_name)?;
    if saved.disable_ipv6.is_some() {
        // RAs and SLAAC belong to the control plane; set before IPv6 comes
        // on so the kernel never acts on one.
        ipv6_conf::write(tap_name, Ipv6Setting::AcceptRa, "0")?;
        ipv6_conf::write(tap_name, Ipv6Setting::Autoconf, "0")?;
        ipv6_conf::write(tap_name, Ipv6Setting::DisableIpv6, "0")?;
    }
    nl.set_mac(tap.ifindex(), port.mac)?;
    nl.set_mtu(tap.ifindex(), mtu)?;
    for net in addresses {
        nl.add_address(tap.ifindex(), *net)?;
    }
    nl.set_up(tap.ifindex(), true)?;
    nl.set_up(saved.ifindex, true)?;
    Ok(tap)
}

impl SavedPort {
    /// Puts the port back as it was; every step is tried.
    fn restore(&self, nl: &mut Netlink) -> Vec<HostError> {
        let mut failures = Vec::new();
        if let Some(old) = &self.disable_ipv6
            && let Err(e) = ipv6_conf::write(&self.name, Ipv6Setting::DisableIpv6, old)
        {
            failures.push(e);
        }
        // Down before the addresses go back: taking a link down removes its
        // IPv6 addresses (unless keep_addr_on_down).
        if !self.admin_up
            && let Err(e) = nl.set_up(self.ifindex, false)
        {
            failures.push(e);
        }
        // IPv6 addresses learnt from Router Advertisements come back with
        // the next RA; re-adding them would make them permanent.
        for address in self.addresses.iter().filter(|a| is_configured(a)) {
            if let Err(e) = nl.restore_address(address) {
                failures.push(e);
            }
        }
        failures
    }
}
