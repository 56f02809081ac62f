//! FRRouting daemons inside a lab namespace: the real peers vrouterd is
//! tested and measured against (Debian package `frr`).
//!
//! There is no systemd (and no `watchfrr`) in a lab: each daemon is
//! started directly from `/usr/lib/frr/` under `ip netns exec`, in the
//! foreground so that this process holds it, with everything that would
//! otherwise default to `/var/run/frr` or `/etc/frr` pointed into a
//! directory of its own: pid file (`-i`), vty sockets (`--vty_socket`),
//! zebra's API socket (`-z`), bfdd's control socket (`--bfdctl`), log file
//! (`--log`), and the configuration (`-f`). Two instances, in two
//! namespaces or one, share nothing, and an FRR the machine runs for
//! itself is never talked to. No daemon listens for telnet (`-P 0`).
//!
//! Every daemon reads the whole configuration with `-f` (each keeps the
//! part it knows and logs the rest as unknown): loading it through
//! `vtysh -f` instead held BGP peers for seconds and reset one session.
//! The configuration must not contain `exit` lines (`-f` takes them
//! literally, leaving the node early).
//!
//! The daemons drop root for the `frr` user, so the directory belongs to
//! it. On drop, or when the test holding the instance panics, every
//! daemon is killed and the directory removed.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::netns::{LabError, Netns, unique_tag};

/// Where Debian installs the daemons.
const FRR_LIB: &str = "/usr/lib/frr";
/// How long a daemon may take to answer on its vty after it started.
const READY_WITHIN: Duration = Duration::from_secs(15);

/// One FRR daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FrrDaemon {
    /// The RIB and the kernel interface: every other daemon needs it.
    Zebra,
    /// BFD (RFC 5880/5881/5883).
    Bfdd,
    /// Static routes (FRR 8.4's cannot track them with BFD).
    Staticd,
    /// BGP, with BFD through `neighbor … bfd`.
    Bgpd,
}

impl FrrDaemon {
    /// The program's name, which is also vtysh's name for it.
    pub fn name(self) -> &'static str {
        match self {
            FrrDaemon::Zebra => "zebra",
            FrrDaemon::Bfdd => "bfdd",
            FrrDaemon::Staticd => "staticd",
            FrrDaemon::Bgpd => "bgpd",
        }
    }

    fn program(self) -> PathBuf {
        Path::new(FRR_LIB).join(self.name())
    }
}

/// Whether the FRR daemons are installed here.
pub fn frr_installed() -> bool {
    FrrDaemon::Bfdd.program().exists() && FrrDaemon::Zebra.program().exists()
}

/// One peer of `show bfd peers json` (FRR 8.4), with its counters from
/// `show bfd peers counters json`. Intervals are milliseconds: FRR's own
/// configured ones, and the ones the peer advertises (`remote_…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrrBfdPeer {
    pub peer: IpAddr,
    pub interface: Option<String>,
    pub multihop: bool,
    /// `up`, `down`, `init`, `shutdown` (AdminDown).
    pub status: String,
    pub diagnostic: String,
    pub remote_diagnostic: String,
    pub local_id: u32,
    pub remote_id: u32,
    pub receive_interval_ms: u32,
    pub transmit_interval_ms: u32,
    pub detect_multiplier: u32,
    pub remote_receive_interval_ms: u32,
    pub remote_transmit_interval_ms: u32,
    pub remote_detect_multiplier: u32,
    /// Times the session came Up, and went Down, since bfdd started.
    pub session_up: u64,
    pub session_down: u64,
    pub packets_in: u64,
    pub packets_out: u64,
}

impl FrrBfdPeer {
    pub fn is_up(&self) -> bool {
        self.status == "up"
    }
}

/// The fields of `show bfd peers json` this lab reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PeerJson {
    peer: IpAddr,
    #[serde(default)]
    interface: Option<String>,
    #[serde(default)]
    multihop: bool,
    status: String,
    #[serde(default)]
    diagnostic: String,
    #[serde(default)]
    remote_diagnostic: String,
    #[serde(default)]
    id: u32,
    #[serde(default)]
    remote_id: u32,
    #[serde(default)]
    receive_interval: u32,
    #[serde(default)]
    transmit_interval: u32,
    #[serde(default)]
    detect_multiplier: u32,
    #[serde(default)]
    remote_receive_interval: u32,
    #[serde(default)]
    remote_transmit_interval: u32,
    #[serde(default)]
    remote_detect_multiplier: u32,
}

/// The fields of `show bfd peers counters json` this lab reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct CountersJson {
    peer: IpAddr,
    #[serde(default)]
    interface: Option<String>,
    #[serde(default)]
    multihop: bool,
    #[serde(default)]
    control_packet_input: u64,
    #[serde(default)]
    control_packet_output: u64,
    #[serde(default)]
    session_up: u64,
    #[serde(default)]
    session_down: u64,
}

/// Joins the two JSON answers of bfdd into peers.
pub fn parse_bfd_peers(peers: &str, counters: &str) -> Result<Vec<FrrBfdPeer>, LabError> {
    let peers: Vec<PeerJson> = serde_json::from_str(peers).map_err(|e| {
        LabError(format!(
            "bfdd's `show bfd peers json` is not as expected ({e}): {peers}"
        ))
    })?;
    let counters: Vec<CountersJson> = serde_json::from_str(counters).map_err(|e| {
        LabError(format!(
            "bfdd's `show bfd peers counters json` is not as expected ({e}): {counters}"
        ))
    })?;
    Ok(peers
        .into_iter()
        .map(|p| {
            let c = counters.iter().find(|c| {
                c.peer == p.peer && c.interface == p.interface && c.multihop == p.multihop
            });
            FrrBfdPeer {
                peer: p.peer,
                interface: p.interface,
                multihop: p.multihop,
                status: p.status,
                diagnostic: p.diagnostic,
                remote_diagnostic: p.remote_diagnostic,
                local_id: p.id,
                remote_id: p.remote_id,
                receive_interval_ms: p.receive_interval,
                transmit_interval_ms: p.transmit_interval,
                detect_multiplier: p.detect_multiplier,
                remote_receive_interval_ms: p.remote_receive_interval,
                remote_transmit_interval_ms: p.remote_transmit_interval,
                remote_detect_multiplier: p.remote_detect_multiplier,
                session_up: c.map_or(0, |c| c.session_up),
                session_down: c.map_or(0, |c| c.session_down),
                packets_in: c.map_or(0, |c| c.control_packet_input),
                packets_out: c.map_or(0, |c| c.control_packet_output),
            }
        })
        .collect())
}

/// FRR daemons running in one namespace with one configuration; killed,
/// and their directory removed, on drop.
pub struct Frr {
    netns: String,
    dir: PathBuf,
    running: Vec<(FrrDaemon, Child)>,
}

impl Frr {
    /// Writes `config` into a fresh directory and starts zebra, then each
    /// of `daemons` (zebra is implied), in `ns`; returns when every one
    /// answers on its vty.
    pub fn start(ns: &Netns, daemons: &[FrrDaemon], config: &str) -> Result<Frr, LabError> {
        if !frr_installed() {
            return Err(LabError(format!(
                "FRR is not installed ({FRR_LIB}/bfdd missing): apt-get install frr"
            )));
        }
        let dir = std::env::temp_dir().join(format!("frr-{}-{}", ns.name, unique_tag()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| LabError(format!("cannot create {}: {e}", dir.display())))?;
        let mut frr = Frr {
            netns: ns.name.clone(),
            dir,
            running: Vec::new(),
        };
        let file = frr.config_path();
        std::fs::write(&file, config)
            .map_err(|e| LabError(format!("cannot write {}: {e}", file.display())))?;
        // The daemons run as user frr: they write their pid files, sockets
        // and logs here.
        let out = Command::new("chown")
            .args(["-R", "frr:frr"])
            .arg(&frr.dir)
            .output()
            .map_err(|e| LabError(format!("cannot run chown: {e}")))?;
        if !out.status.success() {
            return Err(LabError(format!(
                "chown frr:frr {} failed (is the Debian package frr installed?): {}",
                frr.dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        frr.start_daemon(FrrDaemon::Zebra)?;
        for &daemon in daemons {
            if daemon != FrrDaemon::Zebra {
                frr.start_daemon(daemon)?;
            }
        }
        Ok(frr)
    }

    /// The instance's directory: config, pid files, sockets, logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn config_path(&self) -> PathBuf {
        self.dir.join("frr.conf")
    }

    /// Starts `daemon` again (after [`Frr::stop`] or [`Frr::kill`]) with
    /// the configuration the instance started with, and waits until it
    /// answers.
    pub fn start_daemon(&mut self, daemon: FrrDaemon) -> Result<(), LabError> {
        if self.running.iter().any(|(d, _)| *d == daemon) {
            return Err(LabError(format!(
                "{} already runs in {}",
                daemon.name(),
                self.netns
            )));
        }
        let dir = self.dir.to_string_lossy().into_owned();
        let name = daemon.name();
        let pid_file = format!("{dir}/{name}.pid");
        let zserv = format!("{dir}/zserv.api");
        let config = self.config_path().to_string_lossy().into_owned();
        let log = format!("file:{dir}/{name}.log");
        let bfdctl = format!("{dir}/bfdd.sock");
        let mut args = vec![
            "-i",
            &pid_file,
            "--vty_socket",
            &dir,
            "-z",
            &zserv,
            "-f",
            &config,
            "-P",
            "0",
            "--log",
            &log,
        ];
        if daemon == FrrDaemon::Bfdd {
            args.extend_from_slice(&["--bfdctl", &bfdctl]);
        }
        let stdout = self.dir.join(format!("{name}.stdout"));
        let file = std::fs::File::create(&stdout)
            .map_err(|e| LabError(format!("cannot create {}: {e}", stdout.display())))?;
        let err = file
            .try_clone()
            .map_err(|e| LabError(format!("cannot reopen {}: {e}", stdout.display())))?;
        // In the foreground (no `-d`), so that this process holds it.
        let child = Command::new("ip")
            .args(["netns", "exec", &self.netns])
            .arg(daemon.program())
            .args(&args)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|e| LabError(format!("cannot start {name} in {}: {e}", self.netns)))?;
        self.running.push((daemon, child));
        self.wait_ready(daemon)
    }

    /// Waits until `daemon` answers on its vty; fails early if it exits.
    fn wait_ready(&mut self, daemon: FrrDaemon) -> Result<(), LabError> {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some((_, child)) = self.running.iter_mut().find(|(d, _)| *d == daemon)
                && let Ok(Some(status)) = child.try_wait()
            {
                self.running.retain(|(d, _)| *d != daemon);
                return Err(LabError(format!(
                    "{} exited ({status}) in {} at start:\n{}",
                    daemon.name(),
                    self.netns,
                    self.log_of(daemon)
                )));
            }
            let socket = self.dir.join(format!("{}.vty", daemon.name()));
            if socket.exists() && self.vtysh_on(Some(daemon), &["show version"]).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(LabError(format!(
                    "{} in {} did not answer on its vty within {READY_WITHIN:?}:\n{}",
                    daemon.name(),
                    self.netns,
                    self.log_of(daemon)
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether `daemon` is running.
    pub fn is_running(&mut self, daemon: FrrDaemon) -> bool {
        self.running
            .iter_mut()
            .find(|(d, _)| *d == daemon)
            .is_some_and(|(_, child)| matches!(child.try_wait(), Ok(None)))
    }

    /// The daemon's process id, while it runs.
    pub fn pid(&self, daemon: FrrDaemon) -> Option<u32> {
        self.running
            .iter()
            .find(|(d, _)| *d == daemon)
            .map(|(_, child)| child.id())
    }

    /// Stops `daemon` the way an operator would (SIGTERM; SIGKILL if it
    /// has not exited within 5 s).
    pub fn stop(&mut self, daemon: FrrDaemon) {
        self.end(daemon, "TERM", Duration::from_secs(5));
    }

    /// Kills `daemon` without warning (SIGKILL): a crash, as its peers
    /// see it.
    pub fn kill(&mut self, daemon: FrrDaemon) {
        self.end(daemon, "KILL", Duration::from_secs(5));
    }

    fn end(&mut self, daemon: FrrDaemon, signal: &str, grace: Duration) {
        let Some(index) = self.running.iter().position(|(d, _)| *d == daemon) else {
            return;
        };
        let (_, mut child) = self.running.swap_remove(index);
        // `ip netns exec` execs the daemon: the child's pid is the daemon's.
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .output();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// `vtysh -c …` for each of `commands`, against every daemon of the
    /// instance; the output, or the error with what vtysh said.
    pub fn vtysh(&self, commands: &[&str]) -> Result<String, LabError> {
        self.vtysh_on(None, commands)
    }

    /// As [`Frr::vtysh`], talking to `daemon` only.
    pub fn vtysh_on(
        &self,
        daemon: Option<FrrDaemon>,
        commands: &[&str],
    ) -> Result<String, LabError> {
        // The vty sockets are files: vtysh needs no namespace to reach them.
        let mut cmd = Command::new("vtysh");
        cmd.arg("--vty_socket").arg(&self.dir);
        if let Some(daemon) = daemon {
            cmd.args(["-d", daemon.name()]);
        }
        for c in commands {
            cmd.args(["-c", c]);
        }
        let out = cmd
            .output()
            .map_err(|e| LabError(format!("cannot run vtysh (apt-get install frr): {e}")))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        // vtysh exits non-zero on an unknown or refused command, and says
        // why in a line starting with `%`.
        if !out.status.success() || stdout.lines().any(|l| l.starts_with("% ")) {
            return Err(LabError(format!(
                "[{}] vtysh {commands:?} failed ({}): {stdout}{}",
                self.netns,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(stdout)
    }

    /// Changes the running configuration: `configure terminal`, then
    /// `lines` in order (enter nodes with their command, e.g. `bfd`,
    /// `peer 192.0.2.1 interface eth0`, then the settings).
    pub fn configure(&self, lines: &[&str]) -> Result<(), LabError> {
        let mut commands = vec!["configure terminal"];
        commands.extend_from_slice(lines);
        self.vtysh(&commands).map(drop)
    }

    /// bfdd's sessions with their counters.
    pub fn bfd_peers(&self) -> Result<Vec<FrrBfdPeer>, LabError> {
        let peers = self.vtysh_on(Some(FrrDaemon::Bfdd), &["show bfd peers json"])?;
        let counters = self.vtysh_on(Some(FrrDaemon::Bfdd), &["show bfd peers counters json"])?;
        parse_bfd_peers(&peers, &counters)
    }

    /// bfdd's session with `peer` (the first, if several).
    pub fn bfd_peer(&self, peer: IpAddr) -> Result<Option<FrrBfdPeer>, LabError> {
        Ok(self.bfd_peers()?.into_iter().find(|p| p.peer == peer))
    }

    /// Polls bfdd until its session with `peer` has `status`.
    pub fn wait_bfd_status(
        &self,
        peer: IpAddr,
        status: &str,
        within: Duration,
    ) -> Result<FrrBfdPeer, LabError> {
        let deadline = Instant::now() + within;
        let mut last = None;
        loop {
            if let Some(p) = self.bfd_peer(peer)? {
                if p.status == status {
                    return Ok(p);
                }
                last = Some(p);
            }
            if Instant::now() >= deadline {
                return Err(LabError(format!(
                    "[{}] bfdd's session with {peer} is not {status} after {within:?} (last: {last:?})\n{}",
                    self.netns,
                    self.log_of(FrrDaemon::Bfdd)
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A daemon's log file and what it printed.
    pub fn log_of(&self, daemon: FrrDaemon) -> String {
        let read = |suffix: &str| {
            std::fs::read_to_string(self.dir.join(format!("{}.{suffix}", daemon.name())))
                .unwrap_or_default()
        };
        format!(
            "--- {} log ---\n{}{}",
            daemon.name(),
            read("log"),
            read("stdout")
        )
    }

    /// Every daemon's log, for a failing test's report.
    pub fn logs(&self) -> String {
        let mut daemons: Vec<FrrDaemon> = self.running.iter().map(|(d, _)| *d).collect();
        daemons.sort();
        daemons.iter().map(|d| self.log_of(*d)).collect()
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        // Clients before zebra, so none logs a lost connection for nothing.
        self.running.sort_by_key(|(d, _)| std::cmp::Reverse(*d));
        for (_, mut child) in self.running.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded from FRR 8.4.4's bfdd with one session Up.
    const PEERS: &str = r#"[{"multihop":false,"peer":"10.9.0.2","vrf":"default","interface":"fxa0","id":2485111374,"remote-id":2485111375,"passive-mode":false,"status":"up","uptime":1,"diagnostic":"ok","remote-diagnostic":"ok","receive-interval":10,"transmit-interval":20,"echo-receive-interval":50,"echo-transmit-interval":0,"detect-multiplier":3,"remote-receive-interval":30,"remote-transmit-interval":40,"remote-echo-receive-interval":50,"remote-detect-multiplier":5,"rtt-min":0,"rtt-avg":0,"rtt-max":0}]"#;
    const COUNTERS: &str = r#"[{"multihop":false,"peer":"10.9.0.2","vrf":"default","interface":"fxa0","control-packet-input":519,"control-packet-output":520,"echo-packet-input":0,"echo-packet-output":0,"session-up":2,"session-down":1,"zebra-notifications":1}]"#;

    #[test]
    fn bfdd_json_joins_peers_and_counters() {
        let peers = parse_bfd_peers(PEERS, COUNTERS).unwrap();
        assert_eq!(peers.len(), 1);
        let p = &peers[0];
        assert_eq!(p.peer, "10.9.0.2".parse::<IpAddr>().unwrap());
        assert_eq!(p.interface.as_deref(), Some("fxa0"));
        assert!(p.is_up());
        assert_eq!((p.local_id, p.remote_id), (2485111374, 2485111375));
        assert_eq!((p.receive_interval_ms, p.transmit_interval_ms), (10, 20));
        assert_eq!(
            (p.remote_receive_interval_ms, p.remote_transmit_interval_ms),
            (30, 40)
        );
        assert_eq!((p.detect_multiplier, p.remote_detect_multiplier), (3, 5));
        assert_eq!((p.session_up, p.session_down), (2, 1));
        assert_eq!((p.packets_in, p.packets_out), (519, 520));
    }

    /// Two FRR instances in two namespaces: their session comes Up, a
    /// timer change through vtysh shows, a killed bfdd restarts, and
    /// dropping an instance leaves nothing behind. Root only.
    #[test]
    fn two_frr_instances_peer_restart_and_clean_up() {
        if !crate::lab::is_root() {
            eprintln!("SKIP two_frr_instances_peer_restart_and_clean_up: needs root");
            return;
        }
        assert!(frr_installed(), "apt-get install frr");
        let tag = unique_tag();
        let a = Netns::new(format!("vrfa-{tag}")).unwrap();
        let b = Netns::new(format!("vrfb-{tag}")).unwrap();
        crate::lab::veth(&a, "eth0", &b, "eth0").unwrap();
        a.sh("ip addr add 10.9.0.1/24 dev eth0").unwrap();
        b.sh("ip addr add 10.9.0.2/24 dev eth0").unwrap();
        let config = |peer: &str| {
            format!(
                "frr defaults traditional\n!\nbfd\n peer {peer} interface eth0\n  \
                 transmit-interval 20\n  receive-interval 20\n !\n!\n"
            )
        };
        let fa = Frr::start(&a, &[FrrDaemon::Bfdd], &config("10.9.0.2")).unwrap();
        let mut fb = Frr::start(&b, &[FrrDaemon::Bfdd], &config("10.9.0.1")).unwrap();
        let b_addr: IpAddr = "10.9.0.2".parse().unwrap();
        let a_addr: IpAddr = "10.9.0.1".parse().unwrap();
        let up = fa
            .wait_bfd_status(b_addr, "up", Duration::from_secs(10))
            .unwrap();
        assert_eq!(up.remote_transmit_interval_ms, 20);

        fb.configure(&[
            "bfd",
            "peer 10.9.0.1 interface eth0",
            "transmit-interval 50",
        ])
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while fa
            .bfd_peer(b_addr)
            .unwrap()
            .unwrap()
            .remote_transmit_interval_ms
            != 50
        {
            assert!(Instant::now() < deadline, "the change never showed");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            fb.configure(&["no such command"]).is_err(),
            "a refused command is an error"
        );

        fb.kill(FrrDaemon::Bfdd);
        assert!(!fb.is_running(FrrDaemon::Bfdd));
        fa.wait_bfd_status(b_addr, "down", Duration::from_secs(5))
            .unwrap();
        fb.start_daemon(FrrDaemon::Bfdd).unwrap();
        fa.wait_bfd_status(b_addr, "up", Duration::from_secs(10))
            .unwrap();
        fb.wait_bfd_status(a_addr, "up", Duration::from_secs(5))
            .unwrap();

        let dir = fb.dir().to_path_buf();
        let pid = fb.pid(FrrDaemon::Zebra).unwrap();
        drop(fb);
        assert!(!dir.exists(), "{} removed", dir.display());
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "zebra {pid} killed"
        );
    }

    #[test]
    fn a_peer_without_counters_reads_zero_and_garbage_is_an_error() {
        let peers = parse_bfd_peers(PEERS, "[]").unwrap();
        assert_eq!(peers[0].session_down, 0);
        assert!(parse_bfd_peers("% Unknown command", "[]").is_err());
        assert!(parse_bfd_peers(PEERS, "{").is_err());
    }
}
