//! The AF_XDP backend against the real kernel: a veth pair in a network
//! namespace of our own, frames injected and captured at the far end with
//! an AF_PACKET socket.
//!
//! Needs root (CAP_NET_ADMIN, CAP_BPF); skipped loudly otherwise.
//!
//! How the port gets into the namespace: each test re-runs this very test
//! binary under `ip netns exec NS`, selecting the ignored `child` test and
//! a role through environment variables. The whole child process then
//! lives in the namespace (aya's interface look-ups, the sockets, `ip`),
//! which a `setns` on one thread would not give without care, and the
//! SIGKILL test needs a separate process anyway.
//!
//! The AF_PACKET socket needs `libc` and so `unsafe`; every block says why
//! it is sound.

#![allow(unsafe_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use dataplane::port::afxdp::{AfXdpConfig, AfXdpPort, BindMode, XdpAttachMode};
use dataplane::port::{Burst, FramePool, PortIo};

const ROLE_VAR: &str = "VRAFXDP_CHILD_ROLE";
const MODE_VAR: &str = "VRAFXDP_ATTACH_MODE";
/// IEEE 802 local experimental EtherType: nothing else in the namespace
/// sends it, so stray frames are told apart.
const ETHERTYPE: u16 = 0x88b5;
const PORT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
const FRAMES: u32 = 200;
const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------- parent

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

fn skip_unless_root() -> bool {
    if is_root() {
        return false;
    }
    // Straight to fd 2: the test harness captures eprintln!, and a skip
    // must show in every log.
    let _ = std::io::stderr()
        .write_all("SKIPPED: needs root (CAP_NET_ADMIN) — CI runs as root\n".as_bytes());
    true
}

fn run(cmd: &str, args: &[&str]) -> String {
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

/// A namespace holding veth pairs, deleted (with them) on drop, also when
/// the test fails.
struct Netns {
    name: String,
}

impl Netns {
    /// A namespace with the veth pairs `(a, b)` up, IPv6 off so the kernel
    /// sends nothing of its own on them.
    fn with_veths(pairs: &[(&str, &str)]) -> Netns {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "vrafxdp-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        run("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        for key in ["all", "default"] {
            ns.exec(&[
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
            ]);
        }
        for (a, b) in pairs {
            ns.ip(&["link", "add", a, "type", "veth", "peer", "name", b]);
            ns.ip(&["link", "set", a, "address", &mac_text(PORT_MAC), "up"]);
            ns.ip(&["link", "set", b, "address", &mac_text(PEER_MAC), "up"]);
        }
        ns
    }

    fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    fn exec(&self, args: &[&str]) -> String {
        let mut all = vec!["netns", "exec", &self.name];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// Starts this test binary's `child` test inside the namespace.
    fn spawn_child(&self, role: &str, mode: &str) -> Child {
        let exe = std::env::current_exe().expect("test binary path");
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .arg(exe)
            .args(["--exact", "child", "--ignored", "--nocapture"])
            .env(ROLE_VAR, role)
            .env(MODE_VAR, mode)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn child under ip netns exec")
    }

    /// Runs a child role to completion and fails with its output if it
    /// failed.
    fn run_child(&self, role: &str, mode: &str) {
        let mut child = self.spawn_child(role, mode);
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
        let mut stdout = String::new();
        let mut stderr = String::new();
        let _ = child
            .stdout
            .take()
            .map(|mut s| s.read_to_string(&mut stdout));
        let _ = child
            .stderr
            .take()
            .map(|mut s| s.read_to_string(&mut stderr));
        assert!(
            status.success() && stdout.contains("CHILD-OK"),
            "child {role} ({mode}) failed: {status}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
    }

    fn has_xdp(&self, ifname: &str) -> bool {
        self.ip(&["-d", "link", "show", "dev", ifname])
            .contains("xdp")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

#[test]
fn rx_and_tx_are_byte_exact_native() {
    if skip_unless_root() {
        return;
    }
    let ns = Netns::with_veths(&[("xa", "xb")]);
    ns.run_child("exchange", "native");
    assert!(!ns.has_xdp("xa"));
}

#[test]
fn rx_and_tx_are_byte_exact_generic() {
    if skip_unless_root() {
        return;
    }
    let ns = Netns::with_veths(&[("xa", "xb")]);
    ns.run_child("exchange", "generic");
    assert!(!ns.has_xdp("xa"));
}

#[test]
fn ports_of_one_pool_share_the_umem_and_forward() {
    if skip_unless_root() {
        return;
    }
    let ns = Netns::with_veths(&[("xa", "xb"), ("ya", "yb")]);
    ns.run_child("forward", "auto");
    assert!(!ns.has_xdp("xa") && !ns.has_xdp("ya"));
}

#[test]
fn program_detaches_when_holder_is_killed() {
    if skip_unless_root() {
        return;
    }
    let ns = Netns::with_veths(&[("xa", "xb")]);
    assert!(!ns.has_xdp("xa"), "fresh veth already has an XDP program");
    let mut child = ns.spawn_child("hold", "auto");
    let stdout = child.stdout.take().expect("child stdout");
    // Read the READY line on a thread so a hung child cannot hang us.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(pid) = line.strip_prefix("READY ") {
                let _ = tx.send(pid.trim().to_string());
                return;
            }
        }
    });
    let ready = rx.recv_timeout(Duration::from_secs(20));
    let Ok(pid) = ready else {
        let _ = child.kill();
        let out = child.wait_with_output().expect("child output");
        panic!(
            "holder never became ready: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // `ip netns exec` execs the command, so the holder is our child itself.
    assert_eq!(
        pid,
        child.id().to_string(),
        "holder is not the direct child"
    );
    assert!(ns.has_xdp("xa"), "program not attached while held");

    child.kill().expect("SIGKILL the holder");
    child.wait().expect("reap the holder");
    let deadline = Instant::now() + Duration::from_secs(5);
    while ns.has_xdp("xa") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !ns.has_xdp("xa"),
        "XDP program still attached after its process was SIGKILLed"
    );
}

// ----------------------------------------------------------------- child

/// Entry point of the re-executed binary; does nothing in a normal run.
#[test]
#[ignore = "runs only as the child of the other tests, inside their namespace"]
fn child() {
    let Ok(role) = std::env::var(ROLE_VAR) else {
        return;
    };
    let mode = match std::env::var(MODE_VAR).as_deref() {
        Ok("native") => XdpAttachMode::Native,
        Ok("generic") => XdpAttachMode::Generic,
        _ => XdpAttachMode::Auto,
    };
    match role.as_str() {
        "exchange" => child_exchange(mode),
        "forward" => child_forward(mode),
        "hold" => child_hold(mode),
        other => panic!("unknown child role {other}"),
    }
    println!("CHILD-OK");
}

fn config(mode: XdpAttachMode) -> AfXdpConfig {
    AfXdpConfig {
        attach_mode: mode,
        // veth has no zero-copy: Auto must fall back to copy.
        bind_mode: BindMode::Auto,
        rx_ring_size: 512,
        tx_ring_size: 512,
        fill_ring_size: 512,
        completion_ring_size: 512,
        ..AfXdpConfig::default()
    }
}

fn local_has_xdp(ifname: &str) -> bool {
    run("ip", &["-d", "link", "show", "dev", ifname]).contains("xdp")
}

/// Frames received on `port` into the pool, receive bursts until `want`
/// test frames came or 5 s passed; other frames are freed and skipped.
fn receive(port: &mut AfXdpPort, pool: &mut FramePool, want: usize) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while got.len() < want && Instant::now() < deadline {
        let mut burst = Burst::new();
        port.rx_burst(pool, &mut burst);
        for frame in burst {
            let bytes = pool.data(frame).to_vec();
            if bytes.get(12..14) == Some(&ETHERTYPE.to_be_bytes()[..]) {
                got.push(bytes);
            }
            pool.free(frame.addr);
        }
    }
    got
}

/// Transmits `frames` through `port` in bursts of at most 64.
fn transmit(port: &mut AfXdpPort, pool: &mut FramePool, frames: &[Vec<u8>]) {
    for chunk in frames.chunks(64) {
        let mut burst = Burst::new();
        for bytes in chunk {
            burst.push(pool.alloc_copy(bytes).expect("pool has room"));
        }
        let outcome = port.tx_burst(pool, &mut burst);
        assert_eq!((outcome.sent, outcome.dropped), (chunk.len() as u32, 0));
        assert!(burst.is_empty());
    }
}

fn child_exchange(mode: XdpAttachMode) {
    let mut pool = FramePool::new(2048, 2048).unwrap();
    let mut port = AfXdpPort::open("xa", 0, &mut pool, &config(mode)).expect("open xa");
    let expected_mode = match mode {
        XdpAttachMode::Auto => XdpAttachMode::Native,
        m => m,
    };
    assert_eq!(port.mode(), (expected_mode, BindMode::Copy));
    assert!(local_has_xdp("xa"), "program not attached");
    let peer = PacketSocket::open("xb");

    // Wire -> port: byte-exact, in order.
    let sent: Vec<Vec<u8>> = (0..FRAMES)
        .map(|i| test_frame(i, PEER_MAC, PORT_MAC))
        .collect();
    for bytes in &sent {
        peer.send(bytes);
    }
    let got = receive(&mut port, &mut pool, sent.len());
    assert_eq!(got.len(), sent.len(), "frames lost on receive");
    assert!(got == sent, "received frames differ from those sent");
    assert_eq!(port.counters().rx_frames as usize, sent.len());

    // Port -> wire.
    let out: Vec<Vec<u8>> = (0..FRAMES)
        .map(|i| test_frame(1000 + i, PORT_MAC, PEER_MAC))
        .collect();
    transmit(&mut port, &mut pool, &out);
    let mut captured = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while captured.len() < out.len() && Instant::now() < deadline {
        // Keeps kicking and reclaiming completions while we wait.
        port.tx_burst(&mut pool, &mut Burst::new());
        if let Some(bytes) = peer.recv(Duration::from_millis(50)) {
            captured.push(bytes);
        }
    }
    assert_eq!(captured.len(), out.len(), "frames lost on transmit");
    assert!(captured == out, "transmitted frames differ on the wire");

    // Errors name the interface and queue and leave the working port be.
    let err = AfXdpPort::open("xa", 300, &mut pool, &config(mode)).unwrap_err();
    assert!(err.to_string().contains("queue 300 on xa"), "{err}");
    let err = AfXdpPort::open("xa", 5, &mut pool, &config(mode)).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
    assert!(err.to_string().contains("on xa queue 5"), "{err}");
    // Another pool on the same queue: the kernel answers EBUSY for as
    // long as our port holds it, and open gives up after busy_timeout.
    let mut other_pool = FramePool::new(1024, 2048).unwrap();
    let impatient = AfXdpConfig {
        busy_timeout: Duration::from_millis(100),
        ..config(mode)
    };
    let started = Instant::now();
    let err = AfXdpPort::open("xa", 0, &mut other_pool, &impatient).unwrap_err();
    assert!(err.to_string().contains("failed: EBUSY after"), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert!(
        local_has_xdp("xa"),
        "a failed open detached the working port's program"
    );
    // Bursts with a pool that is not the port's UMEM are refused, and the
    // frames still go back to the pool they came from.
    let mut foreign = Burst::new();
    foreign.push(other_pool.alloc_copy(&sent[0]).unwrap());
    let outcome = port.tx_burst(&mut other_pool, &mut foreign);
    assert_eq!((outcome.sent, outcome.dropped), (0, 1));
    assert_eq!(other_pool.available(), other_pool.frame_count() as usize);
    port.rx_burst(&mut other_pool, &mut foreign);
    assert!(foreign.is_empty());
    assert_eq!(port.counters().wrong_pool, 2);
    peer.send(&sent[0]);
    assert_eq!(receive(&mut port, &mut pool, 1), vec![sent[0].clone()]);

    // Every transmitted frame came back through the completion ring, and
    // close returns the fill ring's buffers: the pool is whole again.
    port.tx_burst(&mut pool, &mut Burst::new());
    port.close(&mut pool);
    assert_eq!(pool.available(), pool.frame_count() as usize);
    assert!(!local_has_xdp("xa"), "program left attached after close");

    // The queue's last socket closed just now: binding again may meet
    // EBUSY, which open retries through.
    let again = AfXdpPort::open("xa", 0, &mut pool, &config(mode)).expect("reopen xa at once");
    drop(again);
    assert!(!local_has_xdp("xa"), "program left attached after drop");
}

fn child_forward(mode: XdpAttachMode) {
    let mut pool = FramePool::new(4096, 2048).unwrap();
    let mut xa = AfXdpPort::open("xa", 0, &mut pool, &config(mode)).expect("open xa");
    let mut ya = AfXdpPort::open("ya", 0, &mut pool, &config(mode)).expect("open ya (shared UMEM)");
    assert_eq!(xa.mode().1, ya.mode().1);
    // A second port asking for another bind mode than the pool's is told why.
    let zc = AfXdpConfig {
        bind_mode: BindMode::ZeroCopy,
        ..config(mode)
    };
    let err = AfXdpPort::open("ya", 0, &mut pool, &zc).unwrap_err();
    assert!(err.to_string().contains("same bind mode"), "{err}");

    let xb = PacketSocket::open("xb");
    let yb = PacketSocket::open("yb");
    let sent: Vec<Vec<u8>> = (0..FRAMES)
        .map(|i| test_frame(i, PEER_MAC, PORT_MAC))
        .collect();
    for bytes in &sent {
        xb.send(bytes);
    }
    // Forward without copying: the frame received on xa goes out of ya.
    let mut forwarded = 0;
    let mut captured = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while captured.len() < sent.len() && Instant::now() < deadline {
        let mut burst = Burst::new();
        xa.rx_burst(&mut pool, &mut burst);
        forwarded += burst.len();
        let outcome = ya.tx_burst(&mut pool, &mut burst);
        assert_eq!(outcome.dropped, 0);
        while let Some(bytes) = yb.recv(Duration::from_millis(1)) {
            captured.push(bytes);
        }
    }
    assert_eq!(forwarded, sent.len());
    assert!(captured == sent, "forwarded frames differ");
    drop(xa);
    drop(ya);
    assert!(!local_has_xdp("xa") && !local_has_xdp("ya"));
}

fn child_hold(mode: XdpAttachMode) {
    let mut pool = FramePool::new(1024, 2048).unwrap();
    let _port = AfXdpPort::open("xa", 0, &mut pool, &config(mode)).expect("open xa");
    println!("READY {}", std::process::id());
    // Bounded: the parent kills us long before this.
    std::thread::sleep(Duration::from_secs(30));
}

fn test_frame(seq: u32, src: [u8; 6], dst: [u8; 6]) -> Vec<u8> {
    let len = 60 + (seq as usize * 37) % 1440;
    let mut frame = Vec::with_capacity(len);
    frame.extend_from_slice(&dst);
    frame.extend_from_slice(&src);
    frame.extend_from_slice(&ETHERTYPE.to_be_bytes());
    frame.extend_from_slice(&seq.to_be_bytes());
    frame.extend((frame.len()..len).map(|i| (seq as usize * 7 + i) as u8));
    frame
}

fn mac_text(mac: [u8; 6]) -> String {
    mac.map(|b| format!("{b:02x}")).join(":")
}

/// A raw socket on one interface that sends and receives test frames.
struct PacketSocket {
    fd: OwnedFd,
}

impl PacketSocket {
    fn open(ifname: &str) -> PacketSocket {
        let protocol = ETHERTYPE.to_be();
        // SAFETY: plain socket(2); the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol as i32,
            )
        };
        assert!(
            raw >= 0,
            "AF_PACKET socket: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: `raw` is a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let name = std::ffi::CString::new(ifname).unwrap();
        // SAFETY: `name` is NUL-terminated.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        assert!(ifindex != 0, "no interface {ifname}");
        // SAFETY: sockaddr_ll is plain integers; all-zero is valid.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = protocol;
        addr.sll_ifindex = ifindex as i32;
        // SAFETY: `addr` is a valid sockaddr_ll of the size passed.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "bind AF_PACKET: {}", std::io::Error::last_os_error());
        // A whole test's frames arrive within one transmit kick: room for
        // all of them, or the socket drops the excess.
        let bytes: libc::c_int = 16 << 20;
        // SAFETY: `bytes` is a live c_int of the size passed.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                (&raw const bytes).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "SO_RCVBUFFORCE: {}", std::io::Error::last_os_error());
        PacketSocket { fd }
    }

    fn send(&self, frame: &[u8]) {
        // SAFETY: the buffer is `frame.len()` readable bytes.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        assert_eq!(
            n,
            frame.len() as isize,
            "send: {}",
            std::io::Error::last_os_error()
        );
    }

    fn recv(&self, timeout: Duration) -> Option<Vec<u8>> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as i32) };
        if ready <= 0 {
            return None;
        }
        let mut buf = vec![0u8; 2048];
        // SAFETY: the buffer is `buf.len()` writable bytes.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n <= 0 {
            return None;
        }
        buf.truncate(n as usize);
        Some(buf)
    }
}
