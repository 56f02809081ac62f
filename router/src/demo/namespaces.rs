//! The two-gateway lab (see [`crate::lab::TwoGatewayLab`]) with vrouterd
//! as the server-side router: traffic via gw1, gw1's link cut under a
//! steady probe stream, the outage measured from the probes, gw1 restored.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::lab::{DESTINATION, LabError, TTL_VIA_GW1, TTL_VIA_GW2, TwoGatewayLab, is_root};

/// Probe interval of the failover measurement.
const PROBE_INTERVAL_MS: u32 = 2;
/// Probes sent across the cut: 4 s at 2 ms.
const PROBES: u32 = 2000;

/// Runs the demo with `exe` as vrouterd; prints each step.
pub fn run(exe: &Path) -> Result<(), String> {
    if !is_root() {
        return Err("this demo builds network namespaces and needs root \
                    (run it with sudo), or try `vrouterd demo --in-memory`"
            .into());
    }
    for tool in ["ip", "ethtool", "ping"] {
        if std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            return Err(format!(
                "`{tool}` is missing: apt-get install iproute2 ethtool iputils-ping"
            ));
        }
    }
    run_lab(exe).map_err(|e| e.to_string())
}

fn run_lab(exe: &Path) -> Result<(), LabError> {
    println!("vrouter demo: lan — [server: vrouterd] — gw1 (primary), gw2 (backup)");
    let mut lab = TwoGatewayLab::build()?;
    println!(
        "  namespaces: {}, {}, {}, {}",
        lab.lan.name, lab.server.name, lab.gw1.name, lab.gw2.name
    );
    lab.start_router(exe, "info")?;
    println!(
        "  vrouterd running in {} (AF_XDP ports p1, up1, up2)",
        lab.server.name
    );

    let path = wait_for_path(&lab, Duration::from_secs(10))?;
    println!(
        "  ping lan → {DESTINATION}: answered via {}",
        gateway_name(path)
    );
    if path != TTL_VIA_GW1 {
        return Err(LabError(format!(
            "expected the primary gw1 first, got TTL {path}"
        )));
    }

    println!(
        "  sending {PROBES} probes every {PROBE_INTERVAL_MS} ms; cutting gw1's link after 1 s…"
    );
    let interval = f64::from(PROBE_INTERVAL_MS) / 1000.0;
    let probe = lab.lan.spawn(
        Path::new("ping"),
        &[
            "-n",
            "-q",
            "-i",
            &interval.to_string(),
            "-c",
            &PROBES.to_string(),
            "-W",
            "1",
            DESTINATION,
        ],
        &lab.router
            .as_ref()
            .map(|r| r.dir.join("probe.log"))
            .unwrap_or_else(|| std::env::temp_dir().join("vrouter-probe.log")),
    )?;
    std::thread::sleep(Duration::from_secs(1));
    lab.cut_gw1()?;
    let mut probe = probe;
    probe
        .wait()
        .map_err(|e| LabError(format!("waiting for the probe stream: {e}")))?;
    let log = lab
        .router
        .as_ref()
        .map(|r| std::fs::read_to_string(r.dir.join("probe.log")).unwrap_or_default())
        .unwrap_or_default();
    let (sent, received) = parse_ping_summary(&log)
        .ok_or_else(|| LabError(format!("could not read the probe summary:\n{log}")))?;
    let lost = sent.saturating_sub(received);
    println!(
        "  gw1 cut 1 s into the stream: {sent} sent, {received} received, {lost} lost \
         → outage ≈ {} ms (link-state detection; BFD comes next)",
        lost * PROBE_INTERVAL_MS
    );
    let path = wait_for_path(&lab, Duration::from_secs(5))?;
    println!("  now answered via {}", gateway_name(path));
    if path != TTL_VIA_GW2 {
        return Err(LabError(format!(
            "expected the backup gw2 after the cut, got TTL {path}"
        )));
    }

    lab.restore_gw1()?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if lab.probe_ttl()? == Some(TTL_VIA_GW1) {
            break;
        }
        if Instant::now() > deadline {
            return Err(LabError(
                "traffic did not return to gw1 after its link came back".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("  gw1 restored: answered via gw1 again");
    if let Some(mut router) = lab.router.take() {
        let clean = router.stop();
        println!(
            "  vrouterd stopped {}",
            if clean {
                "cleanly (XDP detached, twins removed)"
            } else {
                "with an error"
            }
        );
    }
    println!("demo OK — the namespaces are removed now");
    Ok(())
}

fn gateway_name(ttl: u8) -> &'static str {
    match ttl {
        TTL_VIA_GW1 => "gw1 (reply TTL 63)",
        TTL_VIA_GW2 => "gw2 (reply TTL 32)",
        _ => "an unexpected path",
    }
}

fn wait_for_path(lab: &TwoGatewayLab, timeout: Duration) -> Result<u8, LabError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(ttl) = lab.probe_ttl()? {
            return Ok(ttl);
        }
        if Instant::now() > deadline {
            return Err(LabError(format!(
                "no answer from {DESTINATION} within {timeout:?}"
            )));
        }
    }
}

/// `N packets transmitted, M received` from ping's summary.
fn parse_ping_summary(text: &str) -> Option<(u32, u32)> {
    let line = text.lines().find(|l| l.contains("packets transmitted"))?;
    let mut numbers = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u32>());
    let sent = numbers.next()?.ok()?;
    let received = numbers.next()?.ok()?;
    Some((sent, received))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ping_summaries() {
        let text = "PING 203.0.113.10 (203.0.113.10) 56(84) bytes of data.\n\n--- 203.0.113.10 ping statistics ---\n2000 packets transmitted, 1987 received, 0.65% packet loss, time 4213ms\n";
        assert_eq!(parse_ping_summary(text), Some((2000, 1987)));
        assert_eq!(parse_ping_summary("nothing"), None);
    }
}
