//! vrouterd running in a lab namespace.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use super::netns::{LabError, Netns};

/// Every thread of `pid`: name, state, kernel stack.
fn thread_stacks(pid: u32) -> String {
    let mut out = String::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let path = task.path();
        let read = |f: &str| std::fs::read_to_string(path.join(f)).unwrap_or_default();
        let state = read("status")
            .lines()
            .find(|l| l.starts_with("State:"))
            .unwrap_or_default()
            .to_owned();
        out.push_str(&format!(
            "--- {} {} {}\n{}",
            task.file_name().to_string_lossy(),
            read("comm").trim(),
            state,
            read("stack")
        ));
    }
    out
}

/// A vrouterd process; stopped (SIGTERM, then SIGKILL) on drop.
pub struct VrouterdProcess {
    child: Option<Child>,
    pub log: PathBuf,
    pub dir: PathBuf,
}

impl VrouterdProcess {
    /// Writes `config` into a fresh directory, starts `exe --config` in
    /// `ns` and waits until it logs that it runs.
    pub fn start(ns: &Netns, exe: &Path, config: &str, log_filter: &str) -> Result<Self, LabError> {
        Self::start_with_args(ns, exe, config, log_filter, &[])
    }

    /// As [`VrouterdProcess::start`], with more command-line arguments.
    pub fn start_with_args(
        ns: &Netns,
        exe: &Path,
        config: &str,
        log_filter: &str,
        extra: &[&str],
    ) -> Result<Self, LabError> {
        let dir = std::env::temp_dir().join(format!("vrouterd-{}", ns.name));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| LabError(format!("cannot create {}: {e}", dir.display())))?;
        let cfg = dir.join("vrouter.toml");
        std::fs::write(&cfg, config)
            .map_err(|e| LabError(format!("cannot write {}: {e}", cfg.display())))?;
        let log = dir.join("vrouterd.log");
        let cfg_arg = cfg.to_string_lossy().into_owned();
        let state = dir.join("state").to_string_lossy().into_owned();
        let mut args = vec![
            "--config",
            &cfg_arg,
            "--state-dir",
            &state,
            "--log",
            log_filter,
        ];
        args.extend_from_slice(extra);
        let child = ns.spawn(exe, &args, &log)?;
        let mut process = VrouterdProcess {
            child: Some(child),
            log,
            dir,
        };
        process.wait_for_log("vrouterd running", Duration::from_secs(30))?;
        Ok(process)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle`; fails early if the process
    /// exits.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> Result<(), LabError> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log_text().contains(needle) {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(LabError(format!(
                    "vrouterd exited ({status}) before logging '{needle}':\n{}",
                    self.log_text()
                )));
            }
            if Instant::now() >= deadline {
                return Err(LabError(format!(
                    "timed out waiting for vrouterd to log '{needle}':\n{}",
                    self.log_text()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM and wait (10 s at most) for the exit; true if it exited 0.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        // `ip netns exec` execs vrouterd: the child's pid is vrouterd's.
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .output();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Say where it hangs before killing it: each thread's name and
        // kernel stack (root can read them).
        eprintln!(
            "vrouterd (pid {}) did not exit within 10 s of SIGTERM; its threads:\n{}",
            child.id(),
            thread_stacks(child.id())
        );
        if let Ok(out) = Command::new("gdb")
            .args([
                "-p",
                &child.id().to_string(),
                "-batch",
                "-ex",
                "thread apply all bt 25",
            ])
            .output()
        {
            eprintln!("{}", String::from_utf8_lossy(&out.stdout));
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

impl Drop for VrouterdProcess {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }
}
