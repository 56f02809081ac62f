//! The gateways' side of BFD in a trial: FRR (bfdd, and bgpd when the
//! server runs FRR too) in gw1 and gw2, or — for intervals FRR's bfdd
//! refuses (below 10 ms) — a vrouterd in gw1's namespace. gw2 is only the
//! backup, whose failure is not measured: it keeps FRR's bfdd at 10 ms ×
//! 3 then, which spares the two cores a third busy dataplane (with three,
//! every session flapped).
//!
//! A vrouterd gateway owns the gateway's `eth0` (AF_XDP and a TAP twin):
//! its port holds the link address and the probe's destination, so that
//! probe datagrams reach the gateway's kernel (and the receiver) through
//! the twin. Its BFD session with the server comes from a BFD-tracked
//! static route back to the LAN.

use std::path::{Path, PathBuf};

use router::lab::{DESTINATION, Frr, FrrDaemon, TwoGatewayLab, VrouterdProcess};

use super::timers::Timers;

/// (server's address, gateway's address, AS number) on each gateway link.
pub const GW1: GatewayLink = GatewayLink {
    server: "192.0.2.1",
    gateway: "192.0.2.2",
    asn: 65001,
};
pub const GW2: GatewayLink = GatewayLink {
    server: "198.51.100.1",
    gateway: "198.51.100.2",
    asn: 65002,
};
/// The server's AS when it runs FRR's bgpd.
pub const SERVER_ASN: u32 = 65000;

#[derive(Debug, Clone, Copy)]
pub struct GatewayLink {
    pub server: &'static str,
    pub gateway: &'static str,
    pub asn: u32,
}

/// What answers BFD on the gateways.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayPeer {
    /// FRR bfdd, answering configured single-hop peers.
    FrrBfdd,
    /// FRR bgpd + bfdd, announcing the destination to the server's bgpd.
    FrrBgp,
    /// vrouterd on gw1 (FRR's bfdd at the backup timers on gw2).
    Vrouterd,
}

impl GatewayPeer {
    pub fn name(self) -> &'static str {
        match self {
            GatewayPeer::FrrBfdd => "frr_bfdd",
            GatewayPeer::FrrBgp => "frr_bgpd_bfdd",
            GatewayPeer::Vrouterd => "vrouterd_gw1",
        }
    }
}

/// The BFD profile both sides use, as FRR writes it.
fn frr_profile(timers: Timers) -> String {
    format!(
        "bfd\n profile probe\n  transmit-interval {i}\n  receive-interval {i}\n  detect-multiplier {m}\n !\n!\n",
        i = timers.interval_ms,
        m = timers.multiplier
    )
}

/// gw's FRR configuration: a configured BFD peer (the server), or a BGP
/// session with BFD announcing the destination.
pub fn frr_gateway_config(link: GatewayLink, peer: GatewayPeer, timers: Timers) -> String {
    let mut config = format!(
        "frr defaults traditional\nhostname gw-{asn}\n!\n{profile}",
        asn = link.asn,
        profile = frr_profile(timers)
    );
    match peer {
        GatewayPeer::FrrBgp => config.push_str(&format!(
            "router bgp {asn}\n bgp router-id {gw}\n no bgp ebgp-requires-policy\n \
             bgp route-map delay-timer 0\n neighbor {srv} remote-as {SERVER_ASN}\n \
             neighbor {srv} bfd\n neighbor {srv} bfd profile probe\n \
             neighbor {srv} timers connect 1\n neighbor {srv} advertisement-interval 0\n \
             address-family ipv4 unicast\n  network {DESTINATION}/32\n exit-address-family\n!\n",
            asn = link.asn,
            gw = link.gateway,
            srv = link.server,
        )),
        GatewayPeer::FrrBfdd | GatewayPeer::Vrouterd => config.push_str(&format!(
            "bfd\n peer {srv} interface eth0\n  profile probe\n !\n!\n",
            srv = link.server
        )),
    }
    config
}

/// A gateway's vrouterd configuration: dataplane on `dataplane_core`, the
/// control plane on `control_core`.
pub fn vrouterd_gateway_config(
    link: GatewayLink,
    timers: Timers,
    (dataplane_core, control_core): (usize, usize),
    socket: &Path,
) -> String {
    format!(
        r#"# Written by vrperf failover: a gateway's BFD peer.
[system]
control-plane-core = {control_core}
dataplane-cores = [{dataplane_core}]
idle = "backoff"

[[port]]
name = "eth0"
addresses = ["{gw}/24", "{DESTINATION}/32"]

[[bfd-profile]]
name = "probe"
transmit-interval = {i}
receive-interval = {i}
detect-multiplier = {m}

[[static-route]]
prefix = "10.1.0.0/24"
[[static-route.next-hop]]
via = "{srv}"
bfd = "probe"

[management]
socket = "{socket}"
"#,
        gw = link.gateway,
        srv = link.server,
        i = timers.interval_ms,
        m = timers.multiplier,
        socket = socket.display(),
    )
}

/// A gateway's BFD speaker, running.
pub enum GatewayBfd {
    Frr(Frr),
    Vrouterd(Option<VrouterdProcess>),
}

/// Both gateways' BFD speakers.
pub struct Gateways {
    pub peer: GatewayPeer,
    pub timers: Timers,
    pub gw1: GatewayBfd,
    pub gw2: GatewayBfd,
    vrouterd: PathBuf,
}

/// Where a vrouterd in `ns` keeps its API socket (beside its config,
/// in the directory `VrouterdProcess` creates).
pub fn vrouterd_socket(ns_name: &str) -> PathBuf {
    std::env::temp_dir()
        .join(format!("vrouterd-{ns_name}"))
        .join("api.sock")
}

impl Gateways {
    pub fn start(
        lab: &TwoGatewayLab,
        peer: GatewayPeer,
        timers: Timers,
        vrouterd: &Path,
    ) -> Result<Gateways, String> {
        let mut gateways = Gateways {
            peer,
            timers,
            gw1: GatewayBfd::Vrouterd(None),
            gw2: GatewayBfd::Vrouterd(None),
            vrouterd: vrouterd.to_path_buf(),
        };
        gateways.gw1 = gateways.start_one(lab, 1)?;
        gateways.gw2 = gateways.start_one(lab, 2)?;
        Ok(gateways)
    }

    fn start_one(&self, lab: &TwoGatewayLab, which: u8) -> Result<GatewayBfd, String> {
        let (ns, link) = if which == 1 {
            (&lab.gw1, GW1)
        } else {
            (&lab.gw2, GW2)
        };
        match self.peer {
            GatewayPeer::FrrBfdd => Frr::start(
                ns,
                &[FrrDaemon::Bfdd],
                &frr_gateway_config(link, self.peer, self.timers),
            )
            .map(GatewayBfd::Frr)
            .map_err(|e| e.to_string()),
            GatewayPeer::FrrBgp => Frr::start(
                ns,
                &[FrrDaemon::Bfdd, FrrDaemon::Bgpd],
                &frr_gateway_config(link, self.peer, self.timers),
            )
            .map(GatewayBfd::Frr)
            .map_err(|e| e.to_string()),
            GatewayPeer::Vrouterd if which == 2 => Frr::start(
                ns,
                &[FrrDaemon::Bfdd],
                &frr_gateway_config(link, GatewayPeer::FrrBfdd, self.timers.backup()),
            )
            .map(GatewayBfd::Frr)
            .map_err(|e| e.to_string()),
            GatewayPeer::Vrouterd => {
                // The server's dataplane polls on core 1 and its control
                // plane runs on 0: the gateways' the other way round.
                let config =
                    vrouterd_gateway_config(link, self.timers, (0, 1), &vrouterd_socket(&ns.name));
                VrouterdProcess::start(ns, &self.vrouterd, &config, "info")
                    .map(|p| GatewayBfd::Vrouterd(Some(p)))
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// gw1's speaker.
    pub fn gw1_mut(&mut self) -> &mut GatewayBfd {
        &mut self.gw1
    }

    /// Starts gw1's speaker again after it was killed (the `bfd-stop`
    /// fault's restore).
    pub fn restart_gw1(&mut self, lab: &TwoGatewayLab) -> Result<(), String> {
        match &mut self.gw1 {
            GatewayBfd::Frr(frr) => frr.start_daemon(FrrDaemon::Bfdd).map_err(|e| e.to_string()),
            GatewayBfd::Vrouterd(slot) => {
                if let Some(mut old) = slot.take() {
                    old.kill9();
                }
                let fresh = self.start_one(lab, 1)?;
                self.gw1 = fresh;
                Ok(())
            }
        }
    }

    /// The logs, for a failed trial's report.
    pub fn logs(&self) -> String {
        [("gw1", &self.gw1), ("gw2", &self.gw2)]
            .iter()
            .map(|(name, g)| match g {
                GatewayBfd::Frr(frr) => format!("--- {name} FRR ---\n{}", frr.logs()),
                GatewayBfd::Vrouterd(Some(p)) => {
                    format!("--- {name} vrouterd ---\n{}", p.log_text())
                }
                GatewayBfd::Vrouterd(None) => String::new(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frr_configs_have_the_timers_and_no_exit_lines() {
        let timers: Timers = "50x3".parse().unwrap();
        for peer in [GatewayPeer::FrrBfdd, GatewayPeer::FrrBgp] {
            let c = frr_gateway_config(GW1, peer, timers);
            assert!(c.contains("transmit-interval 50\n"), "{c}");
            assert!(c.contains("detect-multiplier 3\n"), "{c}");
            // `-f` takes `exit` literally (see router::lab::frr).
            assert!(!c.lines().any(|l| l.trim() == "exit"), "{c}");
        }
        let bgp = frr_gateway_config(GW2, GatewayPeer::FrrBgp, timers);
        assert!(
            bgp.contains("neighbor 198.51.100.1 bfd profile probe"),
            "{bgp}"
        );
        assert!(bgp.contains("network 203.0.113.10/32"), "{bgp}");
        let bfdd = frr_gateway_config(GW1, GatewayPeer::FrrBfdd, timers);
        assert!(bfdd.contains("peer 192.0.2.1 interface eth0"), "{bfdd}");
    }

    #[test]
    fn a_vrouterd_gateway_config_is_valid() {
        let timers: Timers = "1x3".parse().unwrap();
        let text = vrouterd_gateway_config(GW1, timers, (0, 1), Path::new("/tmp/x/api.sock"));
        let env = router::config::ValidationEnv { cpu_count: 2 };
        let config = router::config::parse_str(&text, "gw1", &env);
        assert!(config.is_ok(), "{config:?}\n{text}");
    }
}
