//! Namespace labs for the vrouterd integration tests: `router::lab` with
//! test-style failure (panic with the router's log) and the root check.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

pub use router::lab::{Netns, is_root, unique_tag};

/// True (and a loud line on stderr, past the harness's capture) when the
/// test cannot run here.
pub fn skip_unless_root() -> bool {
    if is_root() {
        return false;
    }
    let _ =
        std::io::stderr().write_all(b"SKIPPED: needs root (CAP_NET_ADMIN) -- CI runs as root\n");
    true
}

/// Test-style namespace commands: panic with the command's output.
pub trait Sh {
    fn run(&self, cmd: &str) -> String;
}

impl Sh for Netns {
    fn run(&self, cmd: &str) -> String {
        self.sh(cmd).unwrap_or_else(|e| panic!("{e}"))
    }
}

pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str) {
    router::lab::veth(a, a_if, b, b_if).unwrap_or_else(|e| panic!("{e}"));
}

pub fn netns(name: String) -> Netns {
    Netns::new(name).unwrap_or_else(|e| panic!("{e}"))
}

/// vrouterd (this package's binary) in a namespace; prints its log if the
/// test fails.
pub struct Vrouterd(pub router::lab::VrouterdProcess);

impl Vrouterd {
    pub fn start(ns: &Netns, config: &str) -> Self {
        let exe = std::path::Path::new(env!("CARGO_BIN_EXE_vrouterd"));
        let process = router::lab::VrouterdProcess::start(ns, exe, config, "info,router=debug")
            .unwrap_or_else(|e| panic!("{e}"));
        Vrouterd(process)
    }

    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) {
        self.0
            .wait_for_log(needle, timeout)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    pub fn log_text(&self) -> String {
        self.0.log_text()
    }

    pub fn dir(&self) -> std::path::PathBuf {
        self.0.dir.clone()
    }

    pub fn stop(&mut self) -> bool {
        self.0.stop()
    }

    pub fn kill9(&mut self) {
        self.0.kill9()
    }
}

impl Drop for Vrouterd {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- vrouterd log ({}) ---\n{}",
                self.0.log.display(),
                self.0.log_text()
            );
        }
    }
}

/// `h1 —veth— [rtr: vrouterd] —veth— h2`, addresses:
/// h1 10.1.0.2/24 2001:db8:1::2/64 (gw .1 / ::1), h2 10.2.0.2/24
/// 2001:db8:2::2/64; router ports `p1`, `p2`.
pub struct ThreeNodeLab {
    pub h1: Netns,
    pub rtr: Netns,
    pub h2: Netns,
}

impl ThreeNodeLab {
    pub fn new() -> Self {
        let tag = unique_tag();
        let h1 = netns(format!("vrh1-{tag}"));
        let rtr = netns(format!("vrr-{tag}"));
        let h2 = netns(format!("vrh2-{tag}"));
        veth(&h1, "eth0", &rtr, "p1");
        veth(&h2, "eth0", &rtr, "p2");
        for (ns, n) in [(&h1, 1), (&h2, 2)] {
            ns.run(&format!(
                "ip addr add 10.{n}.0.2/24 dev eth0 && ip -6 addr add 2001:db8:{n}::2/64 dev eth0 nodad \
                 && ip route add default via 10.{n}.0.1 && ip -6 route add default via 2001:db8:{n}::1"
            ));
        }
        ThreeNodeLab { h1, rtr, h2 }
    }

    /// The router's config for this lab, with `extra` appended.
    pub fn config(p2_mtu: u16, extra: &str) -> String {
        format!(
            r#"[system]
control-plane-core = 0
dataplane-cores = [1]
idle = "backoff"

[[port]]
name = "p1"
addresses = ["10.1.0.1/24", "2001:db8:1::1/64"]

[[port]]
name = "p2"
addresses = ["10.2.0.1/24", "2001:db8:2::1/64"]
mtu = {p2_mtu}
{extra}"#
        )
    }
}

/// vrctl, built beside this test binary (or `$VRCTL`).
pub fn vrctl_path() -> PathBuf {
    if let Some(path) = std::env::var_os("VRCTL") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test>-<hash> → target/<profile>/vrctl
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("vrctl"))
        .unwrap();
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p cli` (or run `cargo test -p router -p cli`)",
        path.display()
    );
    path
}

/// `vrctl -s SOCKET ARGS…`: stdout, asserting exit 0.
pub fn vrctl(socket: &Path, args: &[&str]) -> String {
    let out = Command::new(vrctl_path())
        .arg("-s")
        .arg(socket)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "vrctl {args:?} exited {}: {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

pub fn vrctl_json(socket: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let text = vrctl(socket, &all);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("vrctl {args:?}: {e}: {text}"))
}
