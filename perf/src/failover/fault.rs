//! The faults a trial applies to gw1, and their undoing.
//!
//! - `link-down`: gw1's end of the link goes down (`ip link set eth0
//!   down` in gw1's namespace); the server's end loses carrier.
//! - `bfd-stop`: gw1's BFD speaker dies without a word (SIGKILL: FRR's
//!   bfdd, or the gateway's vrouterd), while the link stays up; with FRR
//!   the gateway keeps forwarding, so only BFD can tell.
//! - `silent`: gw1 drops everything it receives, its link up and its
//!   processes running. With FRR gateways: a policy rule ahead of the
//!   local table blackholes every packet arriving on eth0 (this kernel
//!   has no tc drop action and no nft/iptables). A vrouterd gateway reads
//!   its port through AF_XDP, ahead of any kernel rule, so it is frozen
//!   instead (SIGSTOP): nothing it receives is processed; what its rings
//!   held is delivered after SIGCONT, far too late to count (see
//!   `analysis::LATE_AFTER_NS`).

use std::process::Command;

use clap::ValueEnum;
use router::lab::{FrrDaemon, TwoGatewayLab};
use serde::Serialize;

use super::gateways::{GatewayBfd, Gateways};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    LinkDown,
    BfdStop,
    Silent,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::LinkDown => "link-down",
            Fault::BfdStop => "bfd-stop",
            Fault::Silent => "silent",
        }
    }
}

const BLACKHOLE_ON: &str = "ip rule add pref 10 iif eth0 blackhole \
     && ip rule del pref 0 lookup local && ip rule add pref 20 lookup local";
const BLACKHOLE_OFF: &str =
    "ip rule add pref 0 lookup local && ip rule del pref 20 && ip rule del pref 10";

pub fn apply(fault: Fault, lab: &TwoGatewayLab, gateways: &mut Gateways) -> Result<(), String> {
    match (fault, gateways.gw1_mut()) {
        (Fault::LinkDown, _) => lab.cut_gw1().map_err(|e| e.to_string()),
        (Fault::BfdStop, GatewayBfd::Frr(frr)) => {
            frr.kill(FrrDaemon::Bfdd);
            Ok(())
        }
        (Fault::BfdStop, GatewayBfd::Vrouterd(process)) => {
            if let Some(p) = process.as_mut() {
                p.kill9();
            }
            Ok(())
        }
        (Fault::Silent, GatewayBfd::Frr(_)) => lab
            .gw1
            .sh(BLACKHOLE_ON)
            .map(drop)
            .map_err(|e| e.to_string()),
        (Fault::Silent, GatewayBfd::Vrouterd(_)) => signal_vrouterd(lab, "STOP"),
    }
}

pub fn restore(fault: Fault, lab: &TwoGatewayLab, gateways: &mut Gateways) -> Result<(), String> {
    match fault {
        Fault::LinkDown => lab.restore_gw1().map_err(|e| e.to_string()),
        Fault::BfdStop => gateways.restart_gw1(lab),
        Fault::Silent => match gateways.gw1_mut() {
            GatewayBfd::Frr(_) => lab
                .gw1
                .sh(BLACKHOLE_OFF)
                .map(drop)
                .map_err(|e| e.to_string()),
            GatewayBfd::Vrouterd(_) => signal_vrouterd(lab, "CONT"),
        },
    }
}

/// Sends `signal` to the vrouterd in gw1's namespace.
fn signal_vrouterd(lab: &TwoGatewayLab, signal: &str) -> Result<(), String> {
    let out = Command::new("ip")
        .args(["netns", "pids", &lab.gw1.name])
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    let pids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "vrouterd")
        })
        .map(str::to_string)
        .collect();
    if pids.is_empty() {
        return Err(format!("no vrouterd runs in {}", lab.gw1.name));
    }
    for pid in pids {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .map_err(|e| format!("cannot run kill: {e}"))?;
        if !status.success() {
            return Err(format!("kill -{signal} {pid} failed"));
        }
    }
    Ok(())
}
