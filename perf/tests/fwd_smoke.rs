//! `vrperf fwd` end to end, shortest run: one round of one second per
//! system and family. Checks behaviour, not speed: the JSON report has
//! every documented key, the kernel delivered traffic, the generator
//! sent some, and the namespaces are gone afterwards. Root only; CI runs
//! as root.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

fn skip_unless_root() -> bool {
    if is_root() {
        return false;
    }
    // Past the harness's capture, so that a skip is seen.
    let _ = std::io::stderr()
        .write_all(b"SKIPPED: needs root (CAP_NET_ADMIN) \xe2\x80\x94 CI runs as root\n");
    true
}

/// vrouterd from the same build as this test's vrperf, if it was built
/// and has what `fwd` needs.
fn vrouterd_next_to(vrperf: &Path) -> Option<PathBuf> {
    let path = vrperf.parent()?.join("vrouterd");
    let help = Command::new(&path).arg("--help").output().ok()?;
    let text = String::from_utf8_lossy(&help.stdout);
    (text.contains("--config") && text.contains("--bench-routes")).then_some(path)
}

fn our_namespaces(pid: u32) -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| name.ends_with(&format!("-{pid}")) && name.starts_with("vrperf-"))
        .map(str::to_string)
        .collect()
}

#[test]
fn fwd_reports_kernel_and_raw_afxdp_rates_as_json() {
    if skip_unless_root() {
        return;
    }
    let vrperf = PathBuf::from(env!("CARGO_BIN_EXE_vrperf"));
    let mut systems = vec!["kernel", "raw-afxdp"];
    let vrouterd = vrouterd_next_to(&vrperf);
    match &vrouterd {
        Some(_) => systems.push("vrouterd"),
        None => eprintln!(
            "vrouterd with --config and --bench-routes not built next to {}: measuring kernel and raw AF_XDP only",
            vrperf.display()
        ),
    }
    // DPDK is optional: measured if testpmd is installed, `dpdk_pps: null`
    // with a reason otherwise; either way the key must be there.
    systems.push("dpdk");
    let systems = systems.join(",");
    let mut cmd = Command::new(&vrperf);
    cmd.args([
        "fwd",
        "--duration",
        "1",
        "--rounds",
        "1",
        "--family",
        "both",
        "--json",
        // A small FIB keeps a debug build's start short; the full-size
        // one is for measurements.
        "--bench-routes",
        "10000",
        "--systems",
        &systems,
    ]);
    if let Some(path) = &vrouterd {
        cmd.arg("--vrouterd").arg(path);
    }
    // Progress goes to stderr, left to the harness; the JSON to a pipe.
    let child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(
        our_namespaces(pid).is_empty(),
        "namespaces left: {:?}",
        our_namespaces(pid)
    );
    assert!(
        out.status.success(),
        "vrperf fwd failed (its stderr is above)"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    for key in [
        "kernel_pps",
        "vrouterd_pps",
        "raw_afxdp_pps",
        "dpdk_pps",
        "ratio_vs_kernel",
        "ratio_vs_raw",
        "ratio_vs_dpdk",
        "gen_pps",
        "ipv4",
        "ipv6",
        "measurements",
        "unavailable",
    ] {
        assert!(json.get(key).is_some(), "key {key} missing: {json:#}");
    }
    for family in ["ipv4", "ipv6"] {
        let kernel = json[family]["kernel_pps"].as_f64().unwrap_or(0.0);
        assert!(
            kernel > 0.0,
            "{family}: the kernel delivered nothing: {json:#}"
        );
        let gen_pps = json[family]["gen_pps"].as_f64().unwrap_or(0.0);
        assert!(
            gen_pps > 0.0,
            "{family}: the generator sent nothing: {json:#}"
        );
    }
    // The raw forwarder starts on any machine that runs this test, so it
    // must have delivered something too.
    let raw = json["raw_afxdp_pps"].as_f64();
    assert!(raw.is_some_and(|pps| pps > 0.0), "raw AF_XDP: {json:#}");
    if vrouterd.is_some() {
        assert!(
            json["vrouterd_pps"].as_f64().is_some_and(|pps| pps > 0.0),
            "vrouterd delivered nothing: {json:#}"
        );
        assert!(json["ratio_vs_kernel"].is_f64(), "{json:#}");
    }
    // A system either has a rate or a reason.
    if json["dpdk_pps"].is_null() {
        assert!(json["unavailable"]["dpdk"].is_string(), "{json:#}");
    }
    let measurements = json["measurements"].as_array().unwrap();
    assert!(
        measurements
            .iter()
            .all(|m| m["cpu"].as_array().is_some_and(|c| !c.is_empty()))
    );
}
