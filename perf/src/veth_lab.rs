//! The `gen —veth— rtr —veth— sink` topology, each box its own network
//! namespace named after this process, torn down on drop (also when a
//! run fails half-way): the processes inside are killed first, then the
//! namespaces and their veths deleted.
//!
//! | box  | port | MAC               | IPv4          | IPv6              |
//! |------|------|-------------------|---------------|-------------------|
//! | gen  | g0   | 02:00:00:00:01:01 | 10.1.0.1/24   | 2001:db8:1::1/64  |
//! | rtr  | r0   | 02:00:00:00:01:fe | 10.1.0.254/24 | 2001:db8:1::fe/64 |
//! | rtr  | r1   | 02:00:00:00:02:fe | 10.2.0.254/24 | 2001:db8:2::fe/64 |
//! | sink | s0   | 02:00:00:00:02:01 | 10.2.0.1/24   | 2001:db8:2::1/64  |
//!
//! rtr's default routes (IPv4 and IPv6) point at the sink, and the
//! benchmark's destinations lie beyond it: the sink counts and drops them
//! in XDP, and no packet flows back. The kernel's neighbour entries in
//! rtr are static so no ARP runs during a measurement; a userspace router
//! resolves the sink itself, which answers (the sink's XDP program lets
//! ARP and ND through). Addresses skip DAD so they work at once.

use std::process::Command;

pub const GEN_MAC: &str = "02:00:00:00:01:01";
pub const RTR_A_MAC: &str = "02:00:00:00:01:fe";
pub const RTR_B_MAC: &str = "02:00:00:00:02:fe";
pub const SINK_MAC: &str = "02:00:00:00:02:01";
pub const GEN_IP: &str = "10.1.0.1";
pub const SINK_IP: &str = "10.2.0.1";
pub const SINK_IP6: &str = "2001:db8:2::1";

/// (namespace role, port, MAC, addresses) of every port.
const PORTS: [(Role, &str, &str, [&str; 2]); 4] = [
    (
        Role::Gen,
        "g0",
        GEN_MAC,
        ["10.1.0.1/24", "2001:db8:1::1/64"],
    ),
    (
        Role::Rtr,
        "r0",
        RTR_A_MAC,
        ["10.1.0.254/24", "2001:db8:1::fe/64"],
    ),
    (
        Role::Rtr,
        "r1",
        RTR_B_MAC,
        ["10.2.0.254/24", "2001:db8:2::fe/64"],
    ),
    (
        Role::Sink,
        "s0",
        SINK_MAC,
        ["10.2.0.1/24", "2001:db8:2::1/64"],
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Gen,
    Rtr,
    Sink,
}

pub struct VethLab {
    pub gen_ns: String,
    pub rtr_ns: String,
    pub sink_ns: String,
}

impl VethLab {
    /// Builds the three namespaces, named after this process so parallel
    /// runs do not collide.
    pub fn build() -> Result<VethLab, String> {
        let pid = std::process::id();
        let lab = VethLab {
            gen_ns: format!("vrperf-gen-{pid}"),
            rtr_ns: format!("vrperf-rtr-{pid}"),
            sink_ns: format!("vrperf-sink-{pid}"),
        };
        for ns in [&lab.gen_ns, &lab.rtr_ns, &lab.sink_ns] {
            ip(&["netns", "add", ns])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            for key in ["all", "default"] {
                lab.sysctl(ns, &format!("net.ipv6.conf.{key}.accept_ra=0"))?;
                lab.sysctl(ns, &format!("net.ipv6.conf.{key}.autoconf=0"))?;
            }
        }
        let (g, r, s) = (&lab.gen_ns, &lab.rtr_ns, &lab.sink_ns);
        ip(&[
            "-n", g, "link", "add", "g0", "type", "veth", "peer", "name", "r0", "netns", r,
        ])?;
        ip(&[
            "-n", s, "link", "add", "s0", "type", "veth", "peer", "name", "r1", "netns", r,
        ])?;
        for (role, dev, mac, _) in PORTS {
            ip(&["-n", lab.ns(role), "link", "set", dev, "address", mac, "up"])?;
        }
        lab.configure_addresses()?;
        ip(&["-n", g, "route", "add", "10.2.0.0/24", "via", "10.1.0.254"])?;
        ip(&["-n", s, "route", "add", "10.1.0.0/24", "via", "10.2.0.254"])?;
        Ok(lab)
    }

    fn ns(&self, role: Role) -> &str {
        match role {
            Role::Gen => &self.gen_ns,
            Role::Rtr => &self.rtr_ns,
            Role::Sink => &self.sink_ns,
        }
    }

    fn sysctl(&self, ns: &str, setting: &str) -> Result<(), String> {
        ip(&["netns", "exec", ns, "sysctl", "-qw", setting])
    }

    /// Puts every port's addresses in place (again: a userspace router
    /// moves rtr's onto its own interfaces while it runs).
    fn configure_addresses(&self) -> Result<(), String> {
        for (role, dev, _, addresses) in PORTS {
            for address in addresses {
                ip(&[
                    "-n",
                    self.ns(role),
                    "addr",
                    "replace",
                    address,
                    "dev",
                    dev,
                    "nodad",
                ])?;
            }
        }
        Ok(())
    }

    /// Readies rtr's kernel to forward: addresses, default routes and
    /// static neighbours (again, since a userspace router may have taken
    /// the addresses and with them the routes), GRO on r0 so that the
    /// generator's XDP frames find a NAPI instance there, and RPS to
    /// `rps_core` if given.
    pub fn kernel_router(&self, rps_core: Option<usize>) -> Result<(), String> {
        let r = self.rtr_ns.as_str();
        self.configure_addresses()?;
        ip(&["-n", r, "route", "replace", "default", "via", SINK_IP])?;
        ip(&[
            "-n", r, "-6", "route", "replace", "default", "via", SINK_IP6,
        ])?;
        for (address, dev, mac) in [
            (SINK_IP, "r1", SINK_MAC),
            (SINK_IP6, "r1", SINK_MAC),
            (GEN_IP, "r0", GEN_MAC),
        ] {
            ip(&[
                "-n",
                r,
                "neigh",
                "replace",
                address,
                "lladdr",
                mac,
                "dev",
                dev,
                "nud",
                "permanent",
            ])?;
        }
        self.gro(true)?;
        self.rps(rps_core)?;
        self.kernel_forwarding(true)
    }

    /// Lets the rtr namespace's kernel forward (the baseline), or not.
    pub fn kernel_forwarding(&self, on: bool) -> Result<(), String> {
        let on = u8::from(on);
        self.sysctl(&self.rtr_ns, &format!("net.ipv4.ip_forward={on}"))?;
        self.sysctl(&self.rtr_ns, &format!("net.ipv6.conf.all.forwarding={on}"))
    }

    fn gro(&self, on: bool) -> Result<(), String> {
        let state = if on { "on" } else { "off" };
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.rtr_ns,
                "ethtool",
                "-K",
                "r0",
                "gro",
                state,
            ])
            .output()
            .map_err(|e| format!("cannot run ethtool (apt-get install ethtool): {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "ethtool -K r0 gro {state} failed (apt-get install ethtool): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    }

    /// Steers r0's receive processing (after the driver) to `core`, or
    /// keeps it where the frame arrived.
    pub fn rps(&self, core: Option<usize>) -> Result<(), String> {
        let mask = match core {
            Some(core) if core < 64 => format!("{:x}", 1u64 << core),
            Some(core) => return Err(format!("RPS core {core} is out of range")),
            None => "0".to_string(),
        };
        let path = "/sys/class/net/r0/queues/rx-0/rps_cpus";
        let out = Command::new("ip")
            .args(["netns", "exec", &self.rtr_ns, "sh", "-c"])
            .arg(format!("echo {mask} > {path}"))
            .output()
            .map_err(|e| format!("cannot run sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "setting {path} to {mask}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    }

    /// Detaches XDP programs that a router left on rtr's ports through
    /// netlink (DPDK's AF_XDP driver attaches that way); programs on BPF
    /// links leave with their process anyway.
    pub fn detach_leftover_xdp(&self) {
        for dev in ["r0", "r1"] {
            for mode in ["xdpgeneric", "xdpdrv"] {
                let _ = Command::new("ip")
                    .args(["-n", &self.rtr_ns, "link", "set", "dev", dev, mode, "off"])
                    .output();
            }
        }
    }
}

impl Drop for VethLab {
    fn drop(&mut self) {
        for ns in [&self.gen_ns, &self.rtr_ns, &self.sink_ns] {
            // Processes first: a namespace with live processes lingers.
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip (install iproute2): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}
