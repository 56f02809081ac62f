//! The `gen —veth— rtr —veth— sink` topology, each box its own network
//! namespace, torn down on drop (also when a run fails half-way).
//!
//! Addresses: gen `g0` 10.1.0.1/24 — rtr `r0` 10.1.0.254/24, rtr `r1`
//! 10.2.0.254/24 — sink `s0` 10.2.0.1/24. Traffic goes to 10.2.0.2, an
//! address the sink does not own: it counts the frame on `s0` and drops it
//! without answering, so nothing flows back. Neighbours are static so no
//! ARP runs during a measurement, and IPv6 is off so the kernel sends
//! nothing of its own.

use std::process::Command;

pub const GEN_MAC: &str = "02:00:00:00:01:01";
pub const RTR_A_MAC: &str = "02:00:00:00:01:fe";
pub const RTR_B_MAC: &str = "02:00:00:00:02:fe";
pub const SINK_MAC: &str = "02:00:00:00:02:01";
pub const GEN_IP: &str = "10.1.0.1";
pub const TARGET_IP: &str = "10.2.0.2";

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
            for key in ["all", "default"] {
                ip(&[
                    "netns",
                    "exec",
                    ns,
                    "sysctl",
                    "-qw",
                    &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
                ])?;
            }
        }
        let (g, r, s) = (&lab.gen_ns, &lab.rtr_ns, &lab.sink_ns);
        ip(&[
            "-n", g, "link", "add", "g0", "type", "veth", "peer", "name", "r0", "netns", r,
        ])?;
        ip(&[
            "-n", s, "link", "add", "s0", "type", "veth", "peer", "name", "r1", "netns", r,
        ])?;
        for (ns, dev, mac, addr) in [
            (g, "g0", GEN_MAC, "10.1.0.1/24"),
            (r, "r0", RTR_A_MAC, "10.1.0.254/24"),
            (r, "r1", RTR_B_MAC, "10.2.0.254/24"),
            (s, "s0", SINK_MAC, "10.2.0.1/24"),
        ] {
            ip(&["-n", ns, "link", "set", dev, "address", mac, "up"])?;
            ip(&["-n", ns, "addr", "add", addr, "dev", dev])?;
        }
        ip(&["-n", g, "route", "add", "10.2.0.0/24", "via", "10.1.0.254"])?;
        ip(&["-n", s, "route", "add", "10.1.0.0/24", "via", "10.2.0.254"])?;
        ip(&[
            "-n",
            g,
            "neigh",
            "add",
            "10.1.0.254",
            "lladdr",
            RTR_A_MAC,
            "dev",
            "g0",
        ])?;
        ip(&[
            "-n",
            s,
            "neigh",
            "add",
            "10.2.0.254",
            "lladdr",
            RTR_B_MAC,
            "dev",
            "s0",
        ])?;
        ip(&[
            "-n", r, "neigh", "add", GEN_IP, "lladdr", GEN_MAC, "dev", "r0",
        ])?;
        ip(&[
            "-n", r, "neigh", "add", TARGET_IP, "lladdr", SINK_MAC, "dev", "r1",
        ])?;
        Ok(lab)
    }

    /// Lets the rtr namespace's kernel forward (the baseline), or not.
    pub fn kernel_forwarding(&self, on: bool) -> Result<(), String> {
        let value = format!("net.ipv4.ip_forward={}", u8::from(on));
        ip(&["netns", "exec", &self.rtr_ns, "sysctl", "-qw", &value])
    }

    /// Frames the sink has received so far.
    pub fn sink_rx_packets(&self) -> Result<u64, String> {
        let out = Command::new("ip")
            .args(["-n", &self.sink_ns, "-j", "-s", "link", "show", "dev", "s0"])
            .output()
            .map_err(|e| format!("cannot run ip: {e}"))?;
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("cannot parse `ip -j -s link` output: {e}"))?;
        json.get(0)
            .and_then(|link| link.get("stats64"))
            .and_then(|stats| stats.get("rx"))
            .and_then(|rx| rx.get("packets"))
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| "no rx packet count for s0".to_string())
    }
}

impl Drop for VethLab {
    fn drop(&mut self) {
        for ns in [&self.gen_ns, &self.rtr_ns, &self.sink_ns] {
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
