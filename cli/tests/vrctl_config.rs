//! `vrctl config …` end to end, without root: `validate` on its own, the
//! rest against a management server whose configuration requests are
//! served by a commit manager with an applier that always succeeds.

use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use router::config::{
    ApplyError, ApplyReport, CommitManager, Config, ConfigApplier, ConfigDiff, ConfigStore, Now,
    ValidationEnv,
};
use router::mgmt::api::{ApiError, ConfigRequest};
use router::mgmt::{ConfigControl, ManagementServer, RouterState, config_control};
use serde_json::Value;

const ENV: ValidationEnv = ValidationEnv { cpu_count: 4 };

const BASE: &str = r#"[[port]]
name = "p1"
addresses = ["10.1.0.1/24"]

[[port]]
name = "p2"
addresses = ["10.2.0.1/24"]

[[static-route]]
prefix = "0.0.0.0/0"
[[static-route.next-hop]]
via = "10.2.0.2"
"#;

fn with_route() -> String {
    format!("{BASE}\n[[static-route]]\nprefix = \"10.9.0.0/16\"\nblackhole = true\n")
}

fn vrctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vrctl"))
        .args(args)
        .output()
        .expect("vrctl runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "vrctl-config-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str, content: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, content).unwrap();
        path.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Accept;

impl ConfigApplier for Accept {
    fn apply(&mut self, _: &Config, _: &Config, d: &ConfigDiff) -> Result<ApplyReport, ApplyError> {
        Ok(ApplyReport {
            restarted: d.units().iter().cloned().collect(),
            notes: Vec::new(),
        })
    }
}

struct Control(Mutex<CommitManager>);

impl ConfigControl for Control {
    fn request(&self, request: ConfigRequest) -> Result<Value, ApiError> {
        let now = Now::new(Duration::from_secs(10), 1_700_000_000);
        config_control::answer(&mut self.0.lock().unwrap(), request, now, &mut Accept)
    }
}

fn serve(dir: &TempDir) -> (ManagementServer, String) {
    let config_file = dir.file("running.toml", BASE);
    let store = ConfigStore::open(&config_file, dir.0.join("state")).unwrap();
    let (manager, _) =
        CommitManager::start(store, ENV, Now::new(Duration::ZERO, 1_700_000_000)).unwrap();
    let mut state = RouterState::offline(manager.running().as_ref().clone()).unwrap();
    state.config_control = Some(Arc::new(Control(Mutex::new(manager))));
    let socket = dir.0.join("api.sock");
    let server = ManagementServer::start(&socket, Arc::new(state)).unwrap();
    (server, socket.to_string_lossy().into_owned())
}

#[test]
fn validate_needs_no_daemon_and_prints_every_error_with_its_place() {
    let dir = TempDir::new();
    let good = dir.file("good.toml", BASE);
    let out = vrctl(&["-s", "/nonexistent.sock", "config", "validate", &good]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(
        text(&out).0,
        format!("{good}: valid (2 ports, 1 static route)\n")
    );

    let bad = dir.file(
        "bad.toml",
        "[[port]]\nname = \"p1\"\nmtu = 20\n\n[[port]]\nname = \"p1\"\n",
    );
    let out = vrctl(&["config", "validate", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out).1;
    assert!(
        stderr.contains(&format!("--> {bad}:3:7  (port[0].mtu)")),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("{bad}:6:8")), "{stderr}");
    assert!(
        stderr.ends_with(&format!("2 errors in {bad}\n")),
        "{stderr}"
    );

    let out = vrctl(&["config", "validate", &bad, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_str(&text(&out).0).unwrap();
    assert_eq!(json["error"]["code"], "invalid_config");
    assert_eq!(json["error"]["errors"][0]["line"], 3);
    assert_eq!(json["error"]["errors"][1]["key"], "port[1].name");

    let out = vrctl(&["config", "validate", "/nonexistent/vrouter.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("cannot read"), "{:?}", text(&out));
}

#[test]
fn validate_offline_skips_the_checks_against_this_machine() {
    let dir = TempDir::new();
    let far = dir.file(
        "far.toml",
        &format!("[system]\ncontrol-plane-core = 4000\ndataplane-cores = [4001]\n\n{BASE}"),
    );
    let here = vrctl(&["config", "validate", &far]);
    assert_eq!(here.status.code(), Some(1), "{:?}", text(&here));
    assert!(
        text(&here).1.contains("does not exist"),
        "{:?}",
        text(&here)
    );
    let offline = vrctl(&["config", "validate", "--offline", &far]);
    assert_eq!(offline.status.code(), Some(0), "{:?}", text(&offline));
}

#[test]
fn no_daemon_says_so_and_exits_3() {
    let dir = TempDir::new();
    let file = dir.file("c.toml", BASE);
    let out = vrctl(&["-s", "/nonexistent/vr.sock", "config", "diff", &file]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        text(&out).1,
        "vrctl: vrouterd is not running (no socket at /nonexistent/vr.sock): start it or pass -s\n"
    );
    let stale = dir.0.join("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    let out = vrctl(&["-s", stale.to_str().unwrap(), "config", "history"]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["vrctl", "config", "commit", "f.toml", "--confirm", "0"][..],
        &["vrctl", "config", "commit", "f.toml", "--confirm", "86401"],
        &["vrctl", "config", "rollback", "one"],
        &["vrctl", "config", "diff"],
        &["vrctl", "config", "reload"],
    ] {
        let out = vrctl(&args[1..]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

fn run_ok(socket: &str, args: &[&str]) -> String {
    let mut all = vec!["-s", socket, "config"];
    all.extend_from_slice(args);
    let out = vrctl(&all);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {:?}", text(&out));
    text(&out).0
}

#[test]
fn diff_commit_confirm_rollback_and_history_against_a_daemon() {
    let dir = TempDir::new();
    let (_server, socket) = serve(&dir);
    let candidate = dir.file("candidate.toml", &with_route());

    let diff = run_ok(&socket, &["diff", &candidate]);
    assert_eq!(
        diff,
        "+ static-route[10.9.0.0/16] = { prefix = \"10.9.0.0/16\", distance = 1, target = \"blackhole\" }\n"
    );
    let commit = run_ok(
        &socket,
        &[
            "commit",
            &candidate,
            "--confirm",
            "60",
            "--comment",
            "blackhole 10.9/16",
        ],
    );
    assert!(
        commit.starts_with("+ static-route[10.9.0.0/16]"),
        "{commit}"
    );
    assert!(
        commit.contains(
            "committed as commit 2 (1 added: static-route[10.9.0.0/16]); confirm within 60 s"
        ),
        "{commit}"
    );
    let history = run_ok(&socket, &["history"]);
    let lines: Vec<&str> = history.lines().collect();
    assert!(lines[0].starts_with("N  ID  TIME (UTC)"), "{history}");
    assert!(
        lines[1].contains("2023-11-14 22:13:20  commit"),
        "{history}"
    );
    assert!(lines[1].contains("pending"), "{history}");
    assert!(lines[1].contains("blackhole 10.9/16"), "{history}");
    assert!(lines[2].contains("startup"), "{history}");
    assert!(
        history.contains("commit 2 awaits confirmation: `vrctl config confirm` within 60 s"),
        "{history}"
    );
    assert_eq!(
        run_ok(&socket, &["confirm"]),
        "commit 2 confirmed: the running configuration is saved\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.0.join("running.toml")).unwrap(),
        with_route()
    );
    let same = run_ok(&socket, &["commit", &candidate]);
    assert!(same.starts_with("no changes"), "{same}");

    let rollback = run_ok(&socket, &["rollback"]);
    assert!(
        rollback.starts_with("- static-route[10.9.0.0/16]"),
        "{rollback}"
    );
    assert!(
        rollback.contains("rolled back: now running as commit 3"),
        "{rollback}"
    );

    let json: Value = serde_json::from_str(&run_ok(&socket, &["history", "--json"])).unwrap();
    assert_eq!(json["commits"][0]["origin"], "rollback");
    assert_eq!(json["commits"][0]["comment"], "rollback 1 to commit 1");
}

#[test]
fn the_daemons_refusals_exit_1_with_the_reason() {
    let dir = TempDir::new();
    let (_server, socket) = serve(&dir);
    let bad = dir.file("bad.toml", "[[port]]\nname = \"p1\"\nmtu = 20\n");
    let out = vrctl(&["-s", &socket, "config", "commit", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out).1;
    assert!(
        stderr.contains(&format!("--> {bad}:3:7  (port[0].mtu)")),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");

    let out = vrctl(&["-s", &socket, "config", "rollback", "9"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("(no_such_commit)"),
        "{:?}",
        text(&out)
    );

    let out = vrctl(&["-s", &socket, "config", "confirm", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_str(&text(&out).0).unwrap();
    assert_eq!(json["error"]["code"], "nothing_to_confirm");

    let out = vrctl(&["-s", &socket, "config", "diff", "/nonexistent/c.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("cannot read /nonexistent/c.toml"),
        "{:?}",
        text(&out)
    );
}
