//! A network namespace per test, for the host-side tests that need root.
//!
//! Each test re-runs its own test binary under `ip netns exec NS`, selecting
//! the ignored `child` test and a role through an environment variable (the
//! pattern of dataplane/tests/afxdp_veth.rs): the whole child process then
//! lives in the namespace — its netlink socket, /dev/net/tun devices,
//! `/proc/sys/net` and the `/sys` that `ip netns exec` remounts — so nothing
//! it does can touch the machine's own interfaces.

#![allow(dead_code)] // each test file uses its own part of this

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const ROLE_VAR: &str = "VRHOST_CHILD_ROLE";
const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

/// True (after saying so on stderr) when the test cannot run here.
pub fn skip_unless_root() -> bool {
    if is_root() {
        return false;
    }
    // Straight to fd 2: the harness captures eprintln!, a skip must show.
    let _ = std::io::stderr()
        .write_all("SKIPPED: needs root (CAP_NET_ADMIN) — CI runs as root\n".as_bytes());
    true
}

/// Runs a command to success and returns its stdout.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ip ARGS` in the current namespace (the child's).
pub fn ip(args: &[&str]) -> String {
    run("ip", args)
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The role this process was started for, if it is a child.
pub fn child_role() -> Option<String> {
    std::env::var(ROLE_VAR).ok()
}

/// A namespace of its own, deleted (with every interface in it) on drop,
/// also when the test fails.
pub struct Netns {
    name: String,
}

impl Netns {
    pub fn new() -> Netns {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "vrhost-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        run("ip", &["netns", "add", &name]);
        Netns { name }
    }

    /// Runs this test binary's `child` test with `role` inside the
    /// namespace; fails with the child's output unless it printed CHILD-OK.
    pub fn run_child(&self, role: &str) -> String {
        let exe = std::env::current_exe().expect("test binary path");
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .arg(exe)
            .args(["--exact", "child", "--ignored", "--nocapture"])
            .env(ROLE_VAR, role)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn child under ip netns exec");
        // Drain both pipes on threads so a chatty child cannot block.
        let mut stdout_pipe = child.stdout.take().expect("child stdout");
        let mut stderr_pipe = child.stderr.take().expect("child stderr");
        let stdout_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout_pipe.read_to_string(&mut text);
            text
        });
        let stderr_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            text
        });
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for child") {
                break status;
            }
            if start.elapsed() > CHILD_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("child {role} did not finish in {CHILD_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = stdout_reader.join().unwrap_or_default();
        let stderr = stderr_reader.join().unwrap_or_default();
        assert!(
            status.success() && stdout.contains("CHILD-OK"),
            "child {role} failed: {status}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
        stdout
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
