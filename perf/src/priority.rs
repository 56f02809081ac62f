//! Running the benchmark's processes ahead of whatever else the machine
//! does. The kernel forwards in softirq, which preempts every task, while
//! a userspace forwarder's thread shares its core with other tasks: on a
//! machine busy with builds, that difference, not the forwarders, would
//! dominate the figures.
//!
//! Niceness alone does not do it where the scheduler groups tasks by
//! session (`sched_autogroup_enabled`, Debian's default): groups share
//! the CPU fairly whatever their tasks' niceness (sched(7), "The autogroup
//! feature"). So each process starts in a session of its own (`setsid`)
//! whose group gets the niceness too (`/proc/<pid>/autogroup`).
//!
//! The kernel's side gets the same: softirq work that runs too long moves
//! to the `ksoftirqd/N` threads, plain nice-0 tasks, so for the run they
//! get the benchmark's niceness as well ([`KsoftirqdNice`]), restored
//! afterwards.

use std::process::Command;
use std::time::{Duration, Instant};

/// `program` to be started in network namespace `netns` at niceness
/// `nice` (0: as is), in its own session. Every wrapper execs the next,
/// so the child's pid is the program's.
pub fn command_in_netns(netns: &str, nice: i32, program: &std::path::Path) -> Command {
    let mut command = Command::new("ip");
    command.args(["netns", "exec", netns]);
    if nice != 0 {
        command.args(["setsid", "nice", "-n", &nice.to_string()]);
    }
    command.arg(program);
    command
}

/// Gives the session group of `pid`, started by [`command_in_netns`],
/// niceness `nice`. Waits (briefly) until the process has its own session:
/// writing before would change the group of this process's session.
pub fn raise_session_group(pid: u32, nice: i32) -> Result<(), String> {
    if nice == 0 {
        return Ok(());
    }
    let ours = std::fs::read_to_string("/proc/self/autogroup").ok();
    let Some(ours) = ours.as_deref().and_then(autogroup_id) else {
        // No autogroups in this kernel: niceness alone works.
        return Ok(());
    };
    let path = format!("/proc/{pid}/autogroup");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let theirs = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        if autogroup_id(&theirs).is_some_and(|id| id != ours) {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("process {pid} did not start its own session"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    std::fs::write(&path, nice.to_string()).map_err(|e| format!("writing {path}: {e}"))
}

/// The `ksoftirqd` threads reniced for a run; their niceness is put back
/// on drop.
pub struct KsoftirqdNice {
    /// (pid, niceness before).
    saved: Vec<(u32, i32)>,
}

impl KsoftirqdNice {
    pub fn raise(nice: i32) -> Result<KsoftirqdNice, String> {
        let mut guard = KsoftirqdNice { saved: Vec::new() };
        if nice == 0 {
            return Ok(guard);
        }
        let entries = std::fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))?;
        for entry in entries.filter_map(Result::ok) {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            if !comm.starts_with("ksoftirqd/") {
                continue;
            }
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let Some(before) = stat_nice(&stat) else {
                continue;
            };
            renice(pid, nice)?;
            guard.saved.push((pid, before));
        }
        Ok(guard)
    }
}

impl Drop for KsoftirqdNice {
    fn drop(&mut self) {
        for (pid, nice) in self.saved.drain(..) {
            let _ = renice(pid, nice);
        }
    }
}

fn renice(pid: u32, nice: i32) -> Result<(), String> {
    let out = Command::new("renice")
        .args(["-n", &nice.to_string(), "-p", &pid.to_string()])
        .output()
        .map_err(|e| format!("cannot run renice: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "renice -n {nice} -p {pid}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// The niceness (field 19) of a `/proc/<pid>/stat` line; the name in
/// parentheses may hold spaces, so fields are counted from the last `)`.
pub fn stat_nice(stat: &str) -> Option<i32> {
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    rest.split_whitespace().nth(16)?.parse().ok()
}

/// The group in a `/proc/<pid>/autogroup` line: `/autogroup-20 nice 0`.
pub fn autogroup_id(line: &str) -> Option<u64> {
    line.split_whitespace()
        .next()?
        .strip_prefix("/autogroup-")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autogroup_lines_parse() {
        assert_eq!(autogroup_id("/autogroup-20 nice 0\n"), Some(20));
        assert_eq!(autogroup_id("/autogroup-7 nice -20"), Some(7));
        assert_eq!(autogroup_id(""), None);
        assert_eq!(autogroup_id("/autogroup-x nice 0"), None);
    }

    #[test]
    fn niceness_is_field_19_of_stat() {
        let stat = "14 (ksoftirqd/0) S 2 0 0 0 -1 69238848 0 0 0 0 0 1302 0 0 20 -5 1 0 5 0 0";
        assert_eq!(stat_nice(stat), Some(-5));
        assert_eq!(
            stat_nice("14 (x y) S 2 0 0 0 -1 1 0 0 0 0 0 0 0 0 20 7 1"),
            Some(7)
        );
        assert_eq!(stat_nice("14 (x) S 2"), None);
    }

    #[test]
    fn wrappers_only_when_asked() {
        let plain = command_in_netns("ns1", 0, std::path::Path::new("/bin/true"));
        let args: Vec<_> = plain.get_args().collect();
        assert_eq!(args, ["netns", "exec", "ns1", "/bin/true"]);
        let raised = command_in_netns("ns1", -20, std::path::Path::new("/bin/true"));
        let args: Vec<_> = raised.get_args().collect();
        assert_eq!(
            args,
            [
                "netns",
                "exec",
                "ns1",
                "setsid",
                "nice",
                "-n",
                "-20",
                "/bin/true"
            ]
        );
    }
}
