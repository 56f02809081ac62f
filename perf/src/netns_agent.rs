//! Agents: `vrperf` subcommands that `vrperf fwd` starts inside a network
//! namespace (`ip netns exec`) and drives with one-line requests on their
//! stdin, each answered by one line on their stdout. A namespace is a
//! property of a process, so whatever must run inside one (attaching XDP
//! programs, live-frame test runs) runs in such an agent.
//!
//! Both ends are bounded in time: the controller waits a fixed time for
//! each answer, and an agent ends at the end of its input (the
//! controller is gone) or at its own deadline.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::priority::{command_in_netns, raise_session_group};

/// The controller's end: a running agent.
pub struct NetnsAgent {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl NetnsAgent {
    /// Starts this binary with `args` inside `netns` at niceness `nice`
    /// (see `priority`) and waits (at most `ready_within`) for its
    /// `ready` line.
    pub fn spawn(
        name: &str,
        netns: &str,
        nice: i32,
        args: &[&str],
        ready_within: Duration,
    ) -> Result<NetnsAgent, String> {
        let exe = std::env::current_exe().map_err(|e| format!("locating vrperf: {e}"))?;
        let mut child = command_in_netns(netns, nice, &exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting the {name} agent: {e}"))?;
        let stdout = child.stdout.take();
        let stderr_pipe = child.stderr.take();
        let (lines_tx, lines) = std::sync::mpsc::channel();
        if let Some(stdout) = stdout {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if lines_tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = stderr_pipe {
            let stderr = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
                    if let Ok(mut s) = stderr.lock() {
                        s.push_str(&text);
                    }
                }
            });
        }
        let mut agent = NetnsAgent {
            name: name.to_string(),
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
        };
        raise_session_group(agent.child.id(), nice).map_err(|e| agent.failure(&e))?;
        let first = agent.next_line(ready_within)?;
        if first != "ready" {
            return Err(agent.failure(&format!("said {first:?} instead of ready")));
        }
        Ok(agent)
    }

    /// Sends `request` and returns the answer; an answer starting with
    /// `error` is an error.
    pub fn request(&mut self, request: &str, within: Duration) -> Result<String, String> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| format!("the {} agent's input is closed", self.name))?;
        writeln!(stdin, "{request}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("writing to the {} agent: {e}", self.name))?;
        let answer = self.next_line(within)?;
        if answer.starts_with("error") {
            return Err(format!("{} agent, {request:?}: {answer}", self.name));
        }
        Ok(answer)
    }

    fn next_line(&mut self, within: Duration) -> Result<String, String> {
        match self.lines.recv_timeout(within) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(self.failure(&format!(
                "did not answer within {:.1} s",
                within.as_secs_f64()
            ))),
            Err(RecvTimeoutError::Disconnected) => {
                // Give the stderr reader a moment to collect the reason.
                std::thread::sleep(Duration::from_millis(100));
                Err(self.failure("exited"))
            }
        }
    }

    fn failure(&self, what: &str) -> String {
        let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        format!("the {} agent {what}: {}", self.name, stderr.trim())
    }

    /// Closes the agent's input and waits (bounded) for it to end.
    pub fn finish(mut self) -> Result<(), String> {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => return Err(self.failure(&format!("ended with {status}"))),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => return Err(self.failure("did not end within 10 s")),
            }
        }
    }
}

impl Drop for NetnsAgent {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The agent's end: says `ready`, then answers each line of stdin with
/// `answer(line)` until the input ends or `deadline` passes.
pub fn serve(
    agent: &str,
    deadline: Instant,
    mut answer: impl FnMut(&str) -> Result<String, String>,
) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    // Stdin is read on its own thread so that the deadline holds even
    // while the controller says nothing.
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            eprintln!("{agent}: deadline reached");
            return Ok(());
        }
        let line = match lines.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        let reply = answer(line.trim()).unwrap_or_else(|e| format!("error: {e}"));
        writeln!(out, "{reply}")?;
        out.flush()?;
    }
}
