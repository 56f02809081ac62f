//! The forwarding systems `vrperf fwd` compares, each started in rtr's
//! namespace on the same veths and stopped again before the next:
//!
//! - `kernel`: Linux's own IPv4/IPv6 forwarding (ip_forward=1), the
//!   same default routes, static neighbours;
//! - `vrouterd`: the router, AF_XDP ports and the full pipeline, with a
//!   synthetic Internet-size FIB (`--bench-routes`);
//! - `raw_afxdp`: `vrperf raw-forward`, AF_XDP with nothing but a MAC and
//!   TTL rewrite: the I/O ceiling of AF_XDP on these veths;
//! - `dpdk`: DPDK's `dpdk-testpmd` in `mac` forwarding mode over its
//!   AF_XDP driver: a mature userspace forwarder on the same I/O path.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::ValueEnum;
use serde::Serialize;

use crate::priority::{command_in_netns, raise_session_group};
use crate::veth_lab::{GEN_MAC, SINK_IP, SINK_IP6, SINK_MAC, VethLab};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    Kernel,
    Vrouterd,
    RawAfxdp,
    Dpdk,
}

impl System {
    pub const ALL: [System; 4] = [
        System::Kernel,
        System::Vrouterd,
        System::RawAfxdp,
        System::Dpdk,
    ];

    pub fn name(self) -> &'static str {
        match self {
            System::Kernel => "kernel",
            System::Vrouterd => "vrouterd",
            System::RawAfxdp => "raw_afxdp",
            System::Dpdk => "dpdk",
        }
    }
}

/// How the systems are set up; the same in every round.
#[derive(Debug, Clone)]
pub struct SystemOptions {
    /// The core a userspace forwarder polls on (vrouterd's dataplane
    /// core, raw-forward's, testpmd's forwarding lcore), and where RPS
    /// sends the kernel's forwarding work.
    pub router_core: usize,
    /// The other core: the generator's, vrouterd's control plane,
    /// testpmd's main lcore.
    pub other_core: usize,
    /// Steer r0's receive work to `router_core` in kernel rounds.
    pub kernel_rps: bool,
    pub vrouterd: PathBuf,
    pub bench_routes: u64,
    pub testpmd: PathBuf,
    /// Where config files and logs go.
    pub work_dir: PathBuf,
    /// Longest time a router may take to become ready.
    pub start_timeout: Duration,
    /// Niceness of the routers (see `priority`).
    pub nice: i32,
    /// Set by SIGINT/SIGTERM: stop waiting.
    pub interrupted: Arc<AtomicBool>,
}

/// A system forwarding in rtr.
pub struct RunningSystem {
    pub system: System,
    process: Option<RouterProcess>,
}

impl RunningSystem {
    /// The process whose threads do the forwarding (none for the kernel).
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(|p| p.child.id())
    }
}

/// Starts `system` in rtr and returns once it forwards.
pub fn start(
    system: System,
    lab: &VethLab,
    options: &SystemOptions,
) -> Result<RunningSystem, String> {
    if system != System::Kernel {
        lab.kernel_forwarding(false)?;
        lab.rps(None)?;
    }
    let process = match system {
        System::Kernel => {
            lab.kernel_router(options.kernel_rps.then_some(options.router_core))?;
            return Ok(RunningSystem {
                system,
                process: None,
            });
        }
        System::Vrouterd => start_vrouterd(lab, options)?,
        System::RawAfxdp => start_raw_forwarder(lab, options)?,
        System::Dpdk => start_testpmd(lab, options)?,
    };
    Ok(RunningSystem {
        system,
        process: Some(process),
    })
}

/// Stops a system and leaves rtr forwarding nothing.
pub fn stop(running: RunningSystem, lab: &VethLab) -> Result<(), String> {
    let result = match running.process {
        None => Ok(()),
        Some(process) => process.stop(),
    };
    lab.detach_leftover_xdp();
    lab.kernel_forwarding(false)?;
    result
}

/// Why a system cannot be measured on this machine, found before
/// starting it (a missing binary, a vrouterd without `--bench-routes`).
pub fn unavailable(system: System, options: &SystemOptions) -> Option<String> {
    match system {
        System::Kernel | System::RawAfxdp => None,
        System::Vrouterd => {
            let help = Command::new(&options.vrouterd).arg("--help").output();
            match help {
                Err(e) => Some(format!(
                    "cannot run {} ({e}); build it (cargo build --release -p router) or pass --vrouterd",
                    options.vrouterd.display()
                )),
                Ok(out) => {
                    let text = String::from_utf8_lossy(&out.stdout);
                    if !text.contains("--config") {
                        Some(format!("{} has no --config", options.vrouterd.display()))
                    } else if options.bench_routes > 0 && !text.contains("--bench-routes") {
                        Some(format!(
                            "{} has no --bench-routes yet",
                            options.vrouterd.display()
                        ))
                    } else {
                        None
                    }
                }
            }
        }
        System::Dpdk => match Command::new(&options.testpmd).arg("--help").output() {
            Err(e) => Some(format!(
                "cannot run {} ({e}): apt-get install dpdk-dev librte-net-af-xdp23",
                options.testpmd.display()
            )),
            Ok(_) => None,
        },
    }
}

/// vrouterd's configuration for the lab.
pub fn vrouterd_config(options: &SystemOptions) -> String {
    format!(
        r#"# Written by vrperf fwd.
[system]
control-plane-core = {control}
dataplane-cores = [{dataplane}]
idle = "busy-poll"

[[port]]
name = "r0"
addresses = ["10.1.0.254/24", "2001:db8:1::fe/64"]

[[port]]
name = "r1"
addresses = ["10.2.0.254/24", "2001:db8:2::fe/64"]

[[static-route]]
prefix = "0.0.0.0/0"
[[static-route.next-hop]]
via = "{SINK_IP}"

[[static-route]]
prefix = "::/0"
[[static-route.next-hop]]
via = "{SINK_IP6}"
"#,
        control = options.other_core,
        dataplane = options.router_core,
    )
}

fn start_vrouterd(lab: &VethLab, options: &SystemOptions) -> Result<RouterProcess, String> {
    let config = options.work_dir.join("vrouterd.toml");
    std::fs::write(&config, vrouterd_config(options))
        .map_err(|e| format!("writing {}: {e}", config.display()))?;
    let mut args = vec![
        "--config".to_string(),
        config.display().to_string(),
        "--state-dir".to_string(),
        options
            .work_dir
            .join("vrouterd-state")
            .display()
            .to_string(),
        "--log".to_string(),
        "info".to_string(),
    ];
    if options.bench_routes > 0 {
        args.push("--bench-routes".to_string());
        args.push(options.bench_routes.to_string());
    }
    let mut process = RouterProcess::spawn(
        "vrouterd",
        StopBy::Sigterm,
        options,
        &lab.rtr_ns,
        &options.vrouterd,
        &args,
    )?;
    process.wait_for(&["vrouterd running"], options)?;
    Ok(process)
}

fn start_raw_forwarder(lab: &VethLab, options: &SystemOptions) -> Result<RouterProcess, String> {
    let exe = std::env::current_exe().map_err(|e| format!("locating vrperf: {e}"))?;
    let core = options.router_core.to_string();
    let args = [
        "raw-forward",
        "--a",
        "r0",
        "--b",
        "r1",
        "--a-peer-mac",
        GEN_MAC,
        "--b-peer-mac",
        SINK_MAC,
        "--core",
        &core,
        "--json",
        "--until-stdin-closes",
        // A bound if vrperf fwd dies without closing its stdin.
        "--duration",
        "900",
    ];
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let mut process = RouterProcess::spawn(
        "raw-forward",
        StopBy::ClosingStdin,
        options,
        &lab.rtr_ns,
        &exe,
        &args,
    )?;
    process.wait_for(&["raw-forward: "], options)?;
    Ok(process)
}

fn start_testpmd(lab: &VethLab, options: &SystemOptions) -> Result<RouterProcess, String> {
    let lcores = format!("{},{}", options.other_core, options.router_core);
    let main_lcore = options.other_core.to_string();
    let prefix = format!("vrperf-{}", std::process::id());
    let mut args: Vec<String> = [
        "-l",
        &lcores,
        "--main-lcore",
        &main_lcore,
        "--no-pci",
        "--no-huge",
        "-m",
        "1024",
        "--file-prefix",
        &prefix,
        "--vdev",
        "net_af_xdp0,iface=r0,start_queue=0,queue_count=1",
        "--vdev",
        "net_af_xdp1,iface=r1,start_queue=0,queue_count=1",
        "--",
        "--forward-mode=mac",
        "--nb-cores=1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--eth-peer=0,{GEN_MAC}"));
    args.push(format!("--eth-peer=1,{SINK_MAC}"));
    // testpmd's stdout is a pipe here: without line buffering its
    // "Press enter to exit" would wait in a stdio buffer until it ends.
    args.insert(0, "-oL".to_string());
    args.insert(1, options.testpmd.display().to_string());
    let mut process = RouterProcess::spawn(
        "dpdk-testpmd",
        StopBy::EnterKey,
        options,
        &lab.rtr_ns,
        Path::new("stdbuf"),
        &args,
    )?;
    process.wait_for(&["Press enter to exit"], options)?;
    // Without ports testpmd still starts (e.g. when the AF_XDP driver
    // refuses an option): make sure both are there.
    let output = process.output();
    let ports = testpmd_ports(&output);
    if ports < 2 {
        let _ = process.stop();
        return Err(format!(
            "dpdk-testpmd started with {ports} port(s) instead of 2: {}",
            tail(&output, 1200)
        ));
    }
    Ok(process)
}

/// Ports testpmd reports at start (`Port 0: 02:00:00:00:01:FE`).
pub fn testpmd_ports(output: &str) -> usize {
    let mut ports: Vec<&str> = output
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("Port ")?;
            let (number, mac) = rest.split_once(": ")?;
            number.parse::<u16>().ok()?;
            (mac.trim().len() == 17 && mac.matches(':').count() == 5).then_some(number)
        })
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports.len()
}

/// The last `max` bytes of `text`, on a character boundary.
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text.get(start..).unwrap_or_default().trim()
}

/// How a router process is asked to end cleanly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopBy {
    /// vrouterd stops cleanly on SIGTERM.
    Sigterm,
    /// raw-forward --until-stdin-closes.
    ClosingStdin,
    /// testpmd's non-interactive mode waits for a line ("Press enter to
    /// exit"); a signal would make it re-raise the signal and die by it.
    EnterKey,
}

/// A router process in rtr with its output collected.
struct RouterProcess {
    name: String,
    stop_by: StopBy,
    child: Child,
    stdin: Option<ChildStdin>,
    output: Arc<Mutex<String>>,
}

impl RouterProcess {
    fn spawn(
        name: &str,
        stop_by: StopBy,
        options: &SystemOptions,
        netns: &str,
        program: &Path,
        args: &[String],
    ) -> Result<Self, String> {
        let mut child = command_in_netns(netns, options.nice, program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting {name}: {e}"))?;
        let output = Arc::new(Mutex::new(String::new()));
        let pipes: [Option<Box<dyn Read + Send>>; 2] = [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ];
        for mut pipe in pipes.into_iter().flatten() {
            let output = Arc::clone(&output);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
                    if let Ok(mut out) = output.lock() {
                        // Bounded: a chatty router must not fill memory.
                        if out.len() < 4 << 20 {
                            out.push_str(&text);
                        }
                    }
                }
            });
        }
        let process = RouterProcess {
            name: name.to_string(),
            stop_by,
            stdin: child.stdin.take(),
            child,
            output,
        };
        raise_session_group(process.child.id(), options.nice)?;
        Ok(process)
    }

    fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Waits until the output holds one of `needles`; fails if the
    /// process ends first, the start timeout passes or a signal came.
    fn wait_for(&mut self, needles: &[&str], options: &SystemOptions) -> Result<(), String> {
        let timeout = options.start_timeout;
        let deadline = Instant::now() + timeout;
        loop {
            let output = self.output();
            if needles.iter().any(|n| output.contains(n)) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return Err(format!(
                    "{} exited ({status}) before it was ready: {}",
                    self.name,
                    tail(&self.output(), 1500)
                ));
            }
            if Instant::now() > deadline || options.interrupted.load(Ordering::Relaxed) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(format!(
                    "{} was not ready within {} s: {}",
                    self.name,
                    timeout.as_secs(),
                    tail(&output, 1500)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Asks the process to end the way it understands, waits up to 20 s,
    /// then kills it.
    fn stop(mut self) -> Result<(), String> {
        match self.stop_by {
            StopBy::Sigterm => {
                // `ip netns exec` execs the program: the child's pid is its pid.
                let _ = Command::new("kill")
                    .args(["-TERM", &self.child.id().to_string()])
                    .output();
            }
            StopBy::ClosingStdin => drop(self.stdin.take()),
            StopBy::EnterKey => {
                if let Some(stdin) = self.stdin.as_mut() {
                    let _ = stdin.write_all(b"\n");
                    let _ = stdin.flush();
                }
            }
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(format!(
                        "{} ended with {status}: {}",
                        self.name,
                        tail(&self.output(), 800)
                    ));
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err(format!("{} did not stop within 20 s: killed", self.name))
    }
}

impl Drop for RouterProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn testpmd_ports_are_counted_from_its_start_banner() {
        let started = "EAL: Detected 2 lcore(s)\nConfiguring Port 0 (socket 0)\nPort 0: 02:00:00:00:01:FE\nConfiguring Port 1 (socket 0)\nPort 1: 02:00:00:00:02:FE\nChecking link statuses...\nPress enter to exit\n";
        assert_eq!(testpmd_ports(started), 2);
        let none = "EAL: Detected 2 lcore(s)\nrte_pmd_af_xdp_probe(): Shared UMEM feature not available\nFail: nb_rxq(1) is greater than max_rx_queues(0)\nPress enter to exit\n";
        assert_eq!(testpmd_ports(none), 0);
        // The same port twice (stop statistics) counts once.
        assert_eq!(
            testpmd_ports("Port 0: 02:00:00:00:01:FE\nPort 0: 02:00:00:00:01:FE\n"),
            1
        );
    }

    #[test]
    fn vrouterd_config_names_both_ports_and_default_routes() {
        let options = SystemOptions {
            router_core: 1,
            other_core: 0,
            kernel_rps: true,
            vrouterd: PathBuf::from("vrouterd"),
            bench_routes: 0,
            testpmd: PathBuf::from("dpdk-testpmd"),
            work_dir: PathBuf::from("/tmp"),
            start_timeout: Duration::from_secs(1),
            nice: -20,
            interrupted: Arc::new(AtomicBool::new(false)),
        };
        let config = vrouterd_config(&options);
        for needle in [
            "dataplane-cores = [1]",
            "control-plane-core = 0",
            "name = \"r0\"",
            "name = \"r1\"",
            "prefix = \"0.0.0.0/0\"",
            "prefix = \"::/0\"",
            "via = \"10.2.0.1\"",
            "via = \"2001:db8:2::1\"",
        ] {
            assert!(config.contains(needle), "{needle} missing from\n{config}");
        }
    }

    #[test]
    fn tail_keeps_the_end_on_a_char_boundary() {
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("ab", 10), "ab");
        assert_eq!(tail("aé", 1), "");
    }
}
