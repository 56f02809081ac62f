//! Network-namespace labs for vrouterd integration tests.
//!
//! Every lab gets namespaces named after the test process and a counter,
//! so parallel tests and parallel CI runs never collide, and removes them
//! in `Drop` — processes inside first — also when the test panics.
//! Traffic stays inside these namespaces.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

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

/// A unique short tag for this test's namespaces.
pub fn unique_tag() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}{}",
        std::process::id() % 100_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn run_raw(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"))
}

/// Runs a command on the host; panics with its stderr if it fails.
pub fn host(cmd: &str, args: &[&str]) -> String {
    let out = run_raw(cmd, args);
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace, removed with everything in it on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(name: String) -> Self {
        let _ = run_raw("ip", &["netns", "del", &name]);
        host("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.sh("ip link set lo up");
        ns
    }

    /// Runs `cmd` (through sh) in the namespace; panics if it fails.
    pub fn sh(&self, cmd: &str) -> String {
        let out = self.try_sh(cmd);
        assert!(
            out.status.success(),
            "[{}] {cmd} failed: {}{}",
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `cmd` in the namespace and returns what happened.
    pub fn try_sh(&self, cmd: &str) -> Output {
        run_raw("ip", &["netns", "exec", &self.name, "sh", "-c", cmd])
    }

    /// Starts `cmd` in the namespace in the background.
    pub fn spawn(&self, program: &str, args: &[&str], log: &PathBuf) -> Child {
        let file = std::fs::File::create(log).expect("log file");
        let err = file.try_clone().expect("log file");
        Command::new("ip")
            .args(["netns", "exec", &self.name, program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} in {}: {e}", self.name))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Processes first: a namespace with live processes lingers.
        let pids = run_raw("ip", &["netns", "pids", &self.name]);
        for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
            let _ = run_raw("kill", &["-9", pid]);
        }
        let _ = run_raw("ip", &["netns", "del", &self.name]);
    }
}

/// Links `a_if` in `a` to `b_if` in `b` with a veth pair.
///
/// Checksum and segmentation offloads are turned off on both ends: over a
/// veth the kernel otherwise hands out TCP/UDP frames whose checksum is
/// left for "hardware" to fill, and 64 KiB TSO super-frames — neither
/// exists on a real wire, and a router that copies frames (AF_XDP copy
/// mode) forwards them as they are.
pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str) {
    let tmp = format!("vt{}", unique_tag());
    host(
        "ip",
        &[
            "link",
            "add",
            &tmp,
            "type",
            "veth",
            "peer",
            "name",
            &format!("{tmp}p"),
        ],
    );
    host("ip", &["link", "set", &tmp, "netns", &a.name, "name", a_if]);
    host(
        "ip",
        &[
            "link",
            "set",
            &format!("{tmp}p"),
            "netns",
            &b.name,
            "name",
            b_if,
        ],
    );
    for (ns, ifname) in [(a, a_if), (b, b_if)] {
        ns.sh(&format!(
            "ethtool -K {ifname} tx off tso off gso off gro off >/dev/null && ip link set {ifname} up"
        ));
    }
}

/// vrouterd running in a namespace; stopped (SIGTERM, then SIGKILL) on drop.
pub struct Vrouterd {
    pub child: Option<Child>,
    pub log: PathBuf,
    pub dir: PathBuf,
}

impl Vrouterd {
    /// Starts vrouterd in `ns` with `config` and waits until it logs that
    /// it runs (or fails: then panics with its log).
    pub fn start(ns: &Netns, config: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("vrouterd-test-{}", ns.name));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("vrouter.toml");
        std::fs::write(&cfg, config).unwrap();
        let log = dir.join("vrouterd.log");
        let child = ns.spawn(
            env!("CARGO_BIN_EXE_vrouterd"),
            &[
                "--config",
                cfg.to_str().unwrap(),
                "--log",
                "info,router=debug,dataplane=debug",
            ],
            &log,
        );
        let mut d = Vrouterd {
            child: Some(child),
            log,
            dir,
        };
        d.wait_for_log("vrouterd running", Duration::from_secs(30));
        d
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log_text().contains(needle) {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "vrouterd exited ({status}) before '{needle}':\n{}",
                    self.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for '{needle}':\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM and wait for a clean exit; returns whether it exited 0.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        // The child is `ip netns exec`, which execs vrouterd: same pid.
        let _ = run_raw("kill", &["-TERM", &child.id().to_string()]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Vrouterd {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- vrouterd log ({}) ---\n{}",
                self.log.display(),
                self.log_text()
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
    pub tag: String,
}

impl ThreeNodeLab {
    pub fn new() -> Self {
        let tag = unique_tag();
        let h1 = Netns::new(format!("vrh1-{tag}"));
        let rtr = Netns::new(format!("vrr-{tag}"));
        let h2 = Netns::new(format!("vrh2-{tag}"));
        veth(&h1, "eth0", &rtr, "p1");
        veth(&h2, "eth0", &rtr, "p2");
        for (ns, n) in [(&h1, 1), (&h2, 2)] {
            ns.sh(&format!(
                "ip addr add 10.{n}.0.2/24 dev eth0 && ip -6 addr add 2001:db8:{n}::2/64 dev eth0 nodad \
                 && ip route add default via 10.{n}.0.1 && ip -6 route add default via 2001:db8:{n}::1"
            ));
        }
        ThreeNodeLab { h1, rtr, h2, tag }
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
