//! The router under test on the server: vrouterd (static default route,
//! gw1 primary, gw2 backup, both BFD-tracked), or the baseline — FRR with
//! the Linux kernel forwarding.
//!
//! FRR 8.4's staticd cannot track a static route with BFD (its `ip route`
//! has no `bfd` keyword; that came in FRR 9), so the baseline is what
//! FRR users run for BFD-driven failover: eBGP with BFD to both gateways,
//! each announcing the destination, gw1's path preferred by local
//! preference; bgpd drops a session when its BFD session goes Down, and
//! zebra replaces the kernel route.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use router::lab::{DESTINATION, Frr, FrrDaemon, SERVER_PORTS, TwoGatewayLab};
use serde_json::Value;

use super::gateways::{GW1, GW2, SERVER_ASN, vrouterd_socket};
use super::timers::Timers;
use super::vrouterd_api;

/// Which router runs on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// vrouterd with `routes` routes in its FIB: the default route alone
    /// (1), or that many synthetic ones behind the same gateways
    /// (`--bench-routes`).
    Vrouterd { routes: u64 },
    /// FRR bgpd + bfdd, the kernel forwarding.
    Frr,
}

/// vrouterd's configuration on the server.
/// vrouterd's configuration on the server: gw1 tracked at `timers`, the
/// backup gw2 at [`Timers::backup`] of them.
///
/// With synthetic routes (`routes > 1`) the default route gets a third,
/// untracked tier: `vrouterd --bench-routes` copies the default route's
/// next-hop group when it starts, and refuses to start without one, while
/// a route whose next hops all wait for BFD is not in the FIB yet. That
/// tier (attached on up2, so gw2 answers for the destination) is used
/// only when neither BFD session is Up, which no measurement depends on.
pub fn vrouterd_server_config(timers: Timers, routes: u64, socket: &std::path::Path) -> String {
    let backup = timers.backup();
    let last_resort = if routes > 1 {
        "[[static-route.next-hop]]\ninterface = \"up2\"\ntier = 2\n"
    } else {
        ""
    };
    format!(
        r#"# Written by vrperf failover.
{SERVER_PORTS}
[[bfd-profile]]
name = "probe"
transmit-interval = {i}
receive-interval = {i}
detect-multiplier = {m}

[[bfd-profile]]
name = "backup"
transmit-interval = {bi}
receive-interval = {bi}
detect-multiplier = {bm}

[[static-route]]
prefix = "0.0.0.0/0"
[[static-route.next-hop]]
via = "{gw1}"
tier = "primary"
bfd = "probe"
[[static-route.next-hop]]
via = "{gw2}"
tier = "backup"
bfd = "backup"
{last_resort}
[management]
socket = "{socket}"
"#,
        i = timers.interval_ms,
        m = timers.multiplier,
        bi = backup.interval_ms,
        bm = backup.multiplier,
        gw1 = GW1.gateway,
        gw2 = GW2.gateway,
        socket = socket.display(),
    )
}

/// FRR's configuration on the server (the baseline).
pub fn frr_server_config(timers: Timers) -> String {
    let mut c = format!(
        "frr defaults traditional\nhostname server\n!\n\
         bfd\n profile probe\n  transmit-interval {i}\n  receive-interval {i}\n  detect-multiplier {m}\n !\n!\n\
         route-map PRIMARY permit 10\n set local-preference 200\n!\n\
         router bgp {SERVER_ASN}\n bgp router-id 10.1.0.1\n no bgp ebgp-requires-policy\n \
         bgp route-map delay-timer 0\n",
        i = timers.interval_ms,
        m = timers.multiplier,
    );
    for link in [GW1, GW2] {
        c.push_str(&format!(
            " neighbor {gw} remote-as {asn}\n neighbor {gw} bfd\n neighbor {gw} bfd profile probe\n \
             neighbor {gw} timers connect 1\n neighbor {gw} advertisement-interval 0\n",
            gw = link.gateway,
            asn = link.asn
        ));
    }
    c.push_str(&format!(
        " address-family ipv4 unicast\n  neighbor {} route-map PRIMARY in\n exit-address-family\n!\n",
        GW1.gateway
    ));
    c
}

/// The router under test, running.
pub struct Server {
    frr: Option<Frr>,
    socket: PathBuf,
}

impl Server {
    pub fn start(
        lab: &mut TwoGatewayLab,
        kind: ServerKind,
        timers: Timers,
        vrouterd: &std::path::Path,
    ) -> Result<Server, String> {
        let socket = vrouterd_socket(&lab.server.name);
        match kind {
            ServerKind::Vrouterd { routes } => {
                let config = vrouterd_server_config(timers, routes, &socket);
                let routes_arg = routes.to_string();
                let extra: Vec<&str> = if routes > 1 {
                    vec!["--bench-routes", &routes_arg]
                } else {
                    Vec::new()
                };
                // Returns once vrouterd runs, which is after it loaded its
                // FIB.
                lab.start_router_with(vrouterd, &config, "info", &extra)
                    .map_err(|e| e.to_string())?;
                Ok(Server { frr: None, socket })
            }
            ServerKind::Frr => {
                lab.server
                    .sh(&format!(
                        "ip addr add 10.1.0.1/24 dev p1 && ip addr add {}/24 dev up1 \
                         && ip addr add {}/24 dev up2 && sysctl -qw net.ipv4.ip_forward=1",
                        GW1.server, GW2.server
                    ))
                    .map_err(|e| e.to_string())?;
                let frr = Frr::start(
                    &lab.server,
                    &[FrrDaemon::Bfdd, FrrDaemon::Bgpd],
                    &frr_server_config(timers),
                )
                .map_err(|e| e.to_string())?;
                Ok(Server {
                    frr: Some(frr),
                    socket,
                })
            }
        }
    }

    /// Waits until both BFD sessions are Up and traffic to the
    /// destination takes gw1 with gw2 ready as the backup.
    pub fn wait_ready(&self, lab: &TwoGatewayLab, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        let mut last = String::new();
        while Instant::now() < deadline {
            match self.ready(lab) {
                Ok(()) => return Ok(()),
                Err(why) => last = why,
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "the server was not ready within {within:?}: {last}\n{}",
            self.logs(lab)
        ))
    }

    fn ready(&self, lab: &TwoGatewayLab) -> Result<(), String> {
        match &self.frr {
            None => {
                let sessions = vrouterd_api::bfd_sessions(&self.socket)?;
                for gw in [GW1.gateway, GW2.gateway] {
                    let state = sessions
                        .iter()
                        .find(|s| s["peer"].as_str() == Some(gw))
                        .and_then(|s| s["state"].as_str());
                    if state != Some("up") {
                        return Err(format!("vrouterd's BFD session with {gw} is {state:?}"));
                    }
                }
                Ok(())
            }
            Some(frr) => {
                let peers = frr.bfd_peers().map_err(|e| e.to_string())?;
                for gw in [GW1.gateway, GW2.gateway] {
                    let up = peers.iter().any(|p| p.peer.to_string() == gw && p.is_up());
                    if !up {
                        return Err(format!("bfdd's session with {gw} is not up: {peers:?}"));
                    }
                }
                let bgp = frr
                    .vtysh_on(
                        Some(FrrDaemon::Bgpd),
                        &[&format!("show bgp ipv4 unicast {DESTINATION}/32 json")],
                    )
                    .map_err(|e| e.to_string())?;
                let paths = serde_json::from_str::<Value>(&bgp)
                    .ok()
                    .and_then(|v| v["paths"].as_array().map(Vec::len))
                    .unwrap_or(0);
                if paths < 2 {
                    return Err(format!("bgpd has {paths} path(s) to {DESTINATION}"));
                }
                let route = lab
                    .server
                    .sh(&format!("ip route get {DESTINATION}"))
                    .map_err(|e| e.to_string())?;
                if !route.contains(&format!("via {} ", GW1.gateway)) {
                    return Err(format!("the kernel routes {DESTINATION} {route}"));
                }
                Ok(())
            }
        }
    }

    pub fn logs(&self, lab: &TwoGatewayLab) -> String {
        match &self.frr {
            Some(frr) => frr.logs(),
            None => lab
                .router
                .as_ref()
                .map(|r| format!("--- server vrouterd ---\n{}", r.log_text()))
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_configs_name_both_gateways_with_the_timers() {
        let timers: Timers = "10x3".parse().unwrap();
        for routes in [1, 1_000_000] {
            let text =
                vrouterd_server_config(timers, routes, std::path::Path::new("/tmp/s/api.sock"));
            let env = router::config::ValidationEnv { cpu_count: 2 };
            let parsed = router::config::parse_str(&text, "server", &env);
            assert!(parsed.is_ok(), "{parsed:?}\n{text}");
            assert_eq!(text.contains("tier = 2"), routes > 1, "{text}");
        }
        let frr = frr_server_config(timers);
        for needle in [
            "neighbor 192.0.2.2 bfd profile probe",
            "neighbor 198.51.100.2 bfd profile probe",
            "neighbor 192.0.2.2 route-map PRIMARY in",
            "transmit-interval 10\n",
        ] {
            assert!(frr.contains(needle), "{needle} missing:\n{frr}");
        }
        assert!(!frr.lines().any(|l| l.trim() == "exit"), "{frr}");
    }
}
