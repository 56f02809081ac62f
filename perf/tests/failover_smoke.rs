//! `vrperf failover` end to end, smallest run: one fault (gw1 goes
//! silent), one timer setting (50 ms × 3), one round, vrouterd and the FRR
//! baseline. Checks behaviour, not speed: the JSON report has every
//! documented key, each trial lost traffic to the fault, carried it on
//! through gw2 and came back to gw1, and nothing of the run is left
//! behind (namespaces, FRR directories). Root only; CI runs as root and
//! installs `frr`.

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

/// vrouterd from the same build as this test's vrperf, if it was built.
fn vrouterd_next_to(vrperf: &Path) -> Option<PathBuf> {
    let path = vrperf.parent()?.join("vrouterd");
    let help = Command::new(&path).arg("--help").output().ok()?;
    String::from_utf8_lossy(&help.stdout)
        .contains("--config")
        .then_some(path)
}

/// Namespaces and FRR directories named after a lab of process `pid`.
fn leftovers(pid: u32) -> Vec<String> {
    let tag = (pid % 100_000).to_string();
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let mut found: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| {
            ["vrlan-", "vrsrv-", "vrgw1-", "vrgw2-"].iter().any(|p| {
                name.strip_prefix(p)
                    .is_some_and(|rest| rest.starts_with(&tag))
            })
        })
        .map(str::to_string)
        .collect();
    if let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) {
        found.extend(
            dir.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("frr-vr") && n.contains(&format!("-{tag}"))),
        );
    }
    found
}

#[test]
fn failover_reports_outage_and_failback_for_vrouterd_and_frr_as_json() {
    if skip_unless_root() {
        return;
    }
    assert!(
        Path::new("/usr/lib/frr/bfdd").exists(),
        "FRR is not installed: apt-get install frr (CI's .ci/run does)"
    );
    let vrperf = PathBuf::from(env!("CARGO_BIN_EXE_vrperf"));
    let vrouterd = vrouterd_next_to(&vrperf);
    let systems = match &vrouterd {
        Some(_) => "vrouterd,frr",
        None => {
            eprintln!(
                "vrouterd not built next to {}: measuring the FRR baseline only",
                vrperf.display()
            );
            "frr"
        }
    };
    let child = Command::new(&vrperf)
        .args([
            "failover",
            "--faults",
            "silent",
            "--timers",
            "50x3",
            "--routes",
            "1",
            "--rate",
            "1000",
            "--systems",
            systems,
            // In this process, not a session of its own: the lab's names
            // then carry this child's pid, which `leftovers` looks for.
            "--nice",
            "0",
            "--json",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(
        leftovers(pid).is_empty(),
        "left behind: {:?}",
        leftovers(pid)
    );
    assert!(
        out.status.success(),
        "vrperf failover failed (stderr above)"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    for key in ["rate_pps", "rounds", "rows", "trials", "load_before"] {
        assert!(json.get(key).is_some(), "key {key} missing: {json:#}");
    }
    let trials = json["trials"].as_array().unwrap();
    assert_eq!(trials.len(), systems.split(',').count(), "{json:#}");
    for t in trials {
        let o = &t["outcome"];
        assert!(o.is_object(), "the trial failed: {}", t["error"]);
        // gw1 silent drops what it receives: something must be lost, and
        // the rest carried through gw2, then gw1 again.
        assert!(o["lost_in_outage"].as_u64().unwrap() > 0, "{t:#}");
        assert!(o["via_gw2"].as_u64().unwrap() > 0, "{t:#}");
        assert!(o["failback_ms"].is_number(), "never back on gw1: {t:#}");
        assert_eq!(o["lost_before_fault"].as_u64(), Some(0), "{t:#}");
        for key in [
            "outage_ms_by_count",
            "outage_ms_by_timestamps",
            "switch_ms",
            "failback_lost",
        ] {
            assert!(o[key].is_number(), "{key} missing: {t:#}");
        }
    }
    let row = &json["rows"][0];
    assert!(row["frr"].is_object(), "{row:#}");
    if vrouterd.is_some() {
        assert!(row["vrouterd"].is_object(), "{row:#}");
        assert!(row["ratio_vs_frr"].is_number(), "{row:#}");
    }
}
