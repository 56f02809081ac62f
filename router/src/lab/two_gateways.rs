//! The seed topology of every dual-gateway runbook, in namespaces:
//!
//! ```text
//!   lan (10.1.0.2) ── p1 [server: vrouterd] up1 ── gw1 ┐ both answer for
//!                                           up2 ── gw2 ┘ 203.0.113.10
//! ```
//! The router has a static default route with gw1 as primary and gw2 as
//! backup; liveness follows link state (BFD arrives in its own issue). gw2
//! answers with TTL 33 instead of 64, so every reply says which gateway
//! carried it.

use std::path::Path;

use super::netns::{LabError, Netns, unique_tag, veth};
use super::vrouterd_process::VrouterdProcess;

/// Where the lab's traffic goes: held by both gateways.
pub const DESTINATION: &str = "203.0.113.10";
/// Reply TTL through gw1 (Linux's 64, minus the router's hop).
pub const TTL_VIA_GW1: u8 = 63;
/// Reply TTL through gw2 (33, minus the router's hop).
pub const TTL_VIA_GW2: u8 = 32;

macro_rules! server_ports {
    () => {
        r#"[system]
control-plane-core = 0
dataplane-cores = [1]
idle = "backoff"

[[port]]
name = "p1"
addresses = ["10.1.0.1/24", "2001:db8:1::1/64"]

[[port]]
name = "up1"
addresses = ["192.0.2.1/24"]

[[port]]
name = "up2"
addresses = ["198.51.100.1/24"]
"#
    };
}

/// The router's system and port sections in this lab, to which a test
/// adds its own routes.
pub const SERVER_PORTS: &str = server_ports!();

/// The router's configuration in this lab.
pub const SERVER_CONFIG: &str = concat!(
    server_ports!(),
    r#"
[[static-route]]
prefix = "0.0.0.0/0"
[[static-route.next-hop]]
via = "192.0.2.2"
tier = "primary"
[[static-route.next-hop]]
via = "198.51.100.2"
tier = "backup"
"#
);

/// The namespaces and the router of the lab; all removed on drop.
pub struct TwoGatewayLab {
    pub lan: Netns,
    pub server: Netns,
    pub gw1: Netns,
    pub gw2: Netns,
    pub router: Option<VrouterdProcess>,
}

impl TwoGatewayLab {
    /// Builds the namespaces and links (no router yet).
    pub fn build() -> Result<Self, LabError> {
        let tag = unique_tag();
        let lab = TwoGatewayLab {
            lan: Netns::new(format!("vrlan-{tag}"))?,
            server: Netns::new(format!("vrsrv-{tag}"))?,
            gw1: Netns::new(format!("vrgw1-{tag}"))?,
            gw2: Netns::new(format!("vrgw2-{tag}"))?,
            router: None,
        };
        veth(&lab.lan, "eth0", &lab.server, "p1")?;
        veth(&lab.gw1, "eth0", &lab.server, "up1")?;
        veth(&lab.gw2, "eth0", &lab.server, "up2")?;
        lab.lan
            .sh("ip addr add 10.1.0.2/24 dev eth0 && ip route add default via 10.1.0.1")?;
        for (ns, subnet, ttl) in [(&lab.gw1, "192.0.2", 64), (&lab.gw2, "198.51.100", 33)] {
            ns.sh(&format!(
                "ip addr add {subnet}.2/24 dev eth0 && ip addr add {DESTINATION}/32 dev lo \
                 && ip route add 10.1.0.0/24 via {subnet}.1 \
                 && sysctl -qw net.ipv4.ip_default_ttl={ttl}"
            ))?;
        }
        Ok(lab)
    }

    /// Starts vrouterd (`exe`) in the server namespace.
    pub fn start_router(&mut self, exe: &Path, log_filter: &str) -> Result<(), LabError> {
        self.start_router_with(exe, SERVER_CONFIG, log_filter, &[])
    }

    /// Starts vrouterd with another configuration (same ports) and more
    /// command-line arguments.
    pub fn start_router_with(
        &mut self,
        exe: &Path,
        config: &str,
        log_filter: &str,
        extra: &[&str],
    ) -> Result<(), LabError> {
        self.router = Some(VrouterdProcess::start_with_args(
            &self.server,
            exe,
            config,
            log_filter,
            extra,
        )?);
        Ok(())
    }

    /// Cuts gw1's link towards the router.
    pub fn cut_gw1(&self) -> Result<(), LabError> {
        self.gw1.sh("ip link set eth0 down").map(drop)
    }

    /// Restores gw1's link (and the route Linux dropped with it).
    pub fn restore_gw1(&self) -> Result<(), LabError> {
        self.gw1
            .sh("ip link set eth0 up && ip route replace 10.1.0.0/24 via 192.0.2.1")
            .map(drop)
    }

    /// One ping from the LAN host; the reply's TTL if one came.
    pub fn probe_ttl(&self) -> Result<Option<u8>, LabError> {
        let out = self
            .lan
            .try_sh(&format!("ping -n -c 1 -W 1 {DESTINATION}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text
            .split("ttl=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|t| t.parse().ok()))
    }
}
