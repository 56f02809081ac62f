//! A network namespace that cleans up after itself, and veth pairs.

use std::fmt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// A lab step that failed: what was run and what it said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabError(pub String);

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LabError {}

/// Whether this process runs as root (namespaces and veths need it).
pub fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

/// A short tag unique to this process and call.
pub fn unique_tag() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}{}",
        std::process::id() % 100_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn output(cmd: &str, args: &[&str]) -> Result<Output, LabError> {
    Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| LabError(format!("cannot run {cmd}: {e} (is iproute2 installed?)")))
}

fn checked(cmd: &str, args: &[&str]) -> Result<String, LabError> {
    let out = output(cmd, args)?;
    if !out.status.success() {
        return Err(LabError(format!(
            "{cmd} {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A network namespace, removed with everything in it on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates `name` (replacing a leftover of the same name) with `lo` up.
    pub fn new(name: String) -> Result<Self, LabError> {
        let _ = output("ip", &["netns", "del", &name]);
        checked("ip", &["netns", "add", &name])?;
        let ns = Netns { name };
        ns.sh("ip link set lo up")?;
        Ok(ns)
    }

    /// Runs `cmd` through `sh -c` inside the namespace.
    pub fn sh(&self, cmd: &str) -> Result<String, LabError> {
        let out = self.try_sh(cmd)?;
        if !out.status.success() {
            return Err(LabError(format!(
                "[{}] {cmd} failed: {}{}",
                self.name,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `cmd` inside the namespace and returns its output, whatever
    /// its exit status.
    pub fn try_sh(&self, cmd: &str) -> Result<Output, LabError> {
        output("ip", &["netns", "exec", &self.name, "sh", "-c", cmd])
    }

    /// Starts `cmd` through `sh -c` inside the namespace, in the
    /// background, its stdout and stderr piped to the caller.
    pub fn spawn_sh(&self, cmd: &str) -> Result<Child, LabError> {
        Command::new("ip")
            .args(["netns", "exec", &self.name, "sh", "-c", cmd])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| LabError(format!("cannot start `{cmd}` in {}: {e}", self.name)))
    }

    /// Starts `program` inside the namespace, its output to `log`.
    pub fn spawn(&self, program: &Path, args: &[&str], log: &Path) -> Result<Child, LabError> {
        let file = std::fs::File::create(log)
            .map_err(|e| LabError(format!("cannot create {}: {e}", log.display())))?;
        let err = file
            .try_clone()
            .map_err(|e| LabError(format!("cannot reopen {}: {e}", log.display())))?;
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|e| {
                LabError(format!(
                    "cannot start {} in {}: {e}",
                    program.display(),
                    self.name
                ))
            })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Processes first: a namespace with live processes lingers.
        if let Ok(pids) = output("ip", &["netns", "pids", &self.name]) {
            for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
                let _ = output("kill", &["-9", pid]);
            }
        }
        let _ = output("ip", &["netns", "del", &self.name]);
    }
}

/// Links `a_if` in `a` to `b_if` in `b` with a veth pair, both ends up.
///
/// Checksum and segmentation offloads are turned off on both ends: over a
/// veth the kernel otherwise hands out TCP/UDP frames whose checksum is
/// left for "hardware" to fill, and 64 KiB TSO super-frames — neither
/// exists on a real wire, and a router that copies frames (AF_XDP copy
/// mode) forwards them as they are.
pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> Result<(), LabError> {
    let tmp = format!("vt{}", unique_tag());
    let peer = format!("{tmp}p");
    checked(
        "ip",
        &["link", "add", &tmp, "type", "veth", "peer", "name", &peer],
    )?;
    checked("ip", &["link", "set", &tmp, "netns", &a.name, "name", a_if])?;
    checked(
        "ip",
        &["link", "set", &peer, "netns", &b.name, "name", b_if],
    )?;
    for (ns, ifname) in [(a, a_if), (b, b_if)] {
        ns.sh(&format!(
            "ethtool -K {ifname} tx off tso off gso off gro off >/dev/null \
             || {{ echo 'ethtool failed: install the Debian package ethtool' >&2; exit 1; }}; \
             ip link set {ifname} up"
        ))?;
    }
    Ok(())
}
