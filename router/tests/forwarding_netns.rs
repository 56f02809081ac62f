//! vrouterd forwarding real traffic between namespaces:
//! `h1 —veth— [vrouterd] —veth— h2` (and a two-uplink variant for
//! primary/backup), against the Linux kernel's own stack on the hosts.
//! Root only; CI runs as root.

mod support;

use std::time::Duration;

use support::*;

fn ping(ns: &Netns, args: &str) -> (bool, String) {
    let out = ns.try_sh(&format!("ping {args}")).unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Waits until a socket listens on `port` in `ns` (`ss` flags: `-ltn`
/// TCP, `-lun` UDP).
fn wait_for_socket(ns: &Netns, flags: &str, port: u16) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !ns
        .run(&format!("ss -H {flags} 'sport = :{port}'"))
        .contains(&port.to_string())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Pings until one answer comes (ARP/ND and the twins' DAD may take a
/// moment after start), at most `tries` seconds.
fn ping_until_ok(ns: &Netns, target: &str, tries: u32) -> String {
    let mut last = String::new();
    for _ in 0..tries {
        let (ok, text) = ping(ns, &format!("-c 1 -W 1 {target}"));
        if ok {
            return text;
        }
        last = text;
    }
    panic!("no answer from {target} in {tries} tries:\n{last}");
}

#[test]
fn ipv4_and_ipv6_ping_udp_tcp_through_the_router() {
    if skip_unless_root() {
        return;
    }
    let lab = ThreeNodeLab::new();
    let mut vr = Vrouterd::start(&lab.rtr, &ThreeNodeLab::config(1500, ""));
    ping_until_ok(&lab.h1, "10.2.0.2", 10);
    ping_until_ok(&lab.h2, "10.1.0.2", 5);
    ping_until_ok(&lab.h1, "2001:db8:2::2", 10);
    ping_until_ok(&lab.h2, "2001:db8:1::2", 5);
    let (ok, text) = ping(&lab.h1, "-c 20 -i 0.01 -W 1 10.2.0.2");
    assert!(ok && text.contains(" 0% packet loss"), "{text}");
    // The router decremented the TTL once: Linux replies with 64.
    assert!(text.contains("ttl=63"), "{text}");

    // 10 MB over TCP, and UDP datagrams, intact (SHA-256 compared).
    let server = lab
        .h2
        .spawn(
            std::path::Path::new("python3"),
            &["-c", TCP_SINK, "10.2.0.2", "5001"],
            &vr.dir().join("tcp-sink.log"),
        )
        .unwrap();
    wait_for_socket(&lab.h2, "-ltn", 5001);
    let sent = lab
        .h1
        .run(&format!("python3 -c '{TCP_SEND}' 10.2.0.2 5001 10000000"));
    let mut server = server;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while server.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "TCP sink did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let received = std::fs::read_to_string(vr.dir().join("tcp-sink.log")).unwrap();
    assert_eq!(sent.trim(), received.trim(), "TCP stream digest");
    assert!(received.contains("10000000"), "{received}");

    let udp = lab
        .h2
        .spawn(
            std::path::Path::new("python3"),
            &["-c", UDP_SINK, "2001:db8:2::2", "5002"],
            &vr.dir().join("udp-sink.log"),
        )
        .unwrap();
    wait_for_socket(&lab.h2, "-lun", 5002);
    let sent = lab
        .h1
        .run(&format!("python3 -c '{UDP_SEND}' 2001:db8:2::2 5002 200"));
    let mut udp = udp;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while udp.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "UDP sink did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let received = std::fs::read_to_string(vr.dir().join("udp-sink.log")).unwrap();
    assert_eq!(sent.trim(), received.trim(), "UDP datagrams");
    assert!(vr.stop(), "clean exit on SIGTERM:\n{}", vr.log_text());
}

#[test]
fn router_answers_and_reports_errors() {
    if skip_unless_root() {
        return;
    }
    let lab = ThreeNodeLab::new();
    let _vr = Vrouterd::start(&lab.rtr, &ThreeNodeLab::config(1400, ""));
    // The router's own addresses answer (through the TAP twin and the
    // kernel), IPv4 and IPv6.
    ping_until_ok(&lab.h1, "10.1.0.1", 10);
    ping_until_ok(&lab.h1, "2001:db8:1::1", 10);
    ping_until_ok(&lab.h1, "10.2.0.1", 5);
    ping_until_ok(&lab.h1, "10.2.0.2", 10);

    // ARP and ND resolved both ways: h1 knows the router's MAC, and the
    // router (its twin) knows h1's.
    let rtr_mac = lab.rtr.run("cat /sys/class/net/p1/address");
    let neigh = lab
        .h1
        .run("ip neigh show 10.1.0.1; ip -6 neigh show 2001:db8:1::1");
    assert!(
        neigh.contains(rtr_mac.trim()),
        "h1's neighbors: {neigh}, router MAC {rtr_mac}"
    );
    let h1_mac = lab.h1.run("cat /sys/class/net/eth0/address");
    let twin_neigh = lab.rtr.run("ip neigh show dev vr-p1");
    assert!(
        twin_neigh.contains(h1_mac.trim()),
        "twin's neighbors: {twin_neigh}"
    );

    // TTL 1: time exceeded from the router's address on h1's side.
    let (_, text) = ping(&lab.h1, "-c 1 -W 1 -t 1 10.2.0.2");
    assert!(
        text.contains("From 10.1.0.1") && text.contains("Time to live exceeded"),
        "{text}"
    );
    let (_, text) = ping(&lab.h1, "-c 1 -W 1 -t 1 2001:db8:2::2");
    assert!(
        text.contains("From 2001:db8:1::1") && text.contains("Time exceeded"),
        "{text}"
    );

    // No route: destination unreachable.
    let (ok, text) = ping(&lab.h1, "-c 1 -W 1 198.18.0.1");
    assert!(
        !ok && text.contains("From 10.1.0.1") && text.contains("Unreachable"),
        "{text}"
    );
    let (ok, text) = ping(&lab.h1, "-c 1 -W 1 2001:db8:ff::1");
    assert!(
        !ok && text.contains("From 2001:db8:1::1") && text.contains("No route"),
        "{text}"
    );

    // DF and too big for p2's MTU (1400): fragmentation needed, mtu 1400.
    let (ok, text) = ping(&lab.h1, "-c 1 -W 1 -M do -s 1450 10.2.0.2");
    assert!(!ok && text.contains("mtu = 1400"), "{text}");
    // Without DF the router fragments and h2 reassembles.
    let (ok, text) = ping(&lab.h1, "-c 1 -W 2 -M dont -s 1450 10.2.0.2");
    assert!(ok, "{text}");
    // IPv6: packet too big.
    let (ok, text) = ping(&lab.h1, "-c 1 -W 1 -M do -s 1450 2001:db8:2::2");
    assert!(!ok && text.contains("mtu=1400"), "{text}");
}

#[test]
fn primary_link_down_moves_traffic_to_the_backup() {
    if skip_unless_root() {
        return;
    }
    // h1 — rtr, and two uplinks to gw1/gw2, which both hold 203.0.113.1
    // on their loopback. gw2 answers with TTL 33, so a reply's TTL says
    // which path it took.
    let tag = unique_tag();
    let h1 = netns(format!("vrh1-{tag}"));
    let rtr = netns(format!("vrr-{tag}"));
    let gw1 = netns(format!("vrg1-{tag}"));
    let gw2 = netns(format!("vrg2-{tag}"));
    veth(&h1, "eth0", &rtr, "p1");
    veth(&gw1, "eth0", &rtr, "up1");
    veth(&gw2, "eth0", &rtr, "up2");
    h1.run("ip addr add 10.1.0.2/24 dev eth0 && ip route add default via 10.1.0.1");
    for (ns, n, ttl) in [(&gw1, 1, 64), (&gw2, 2, 33)] {
        ns.run(&format!(
            "ip addr add 192.0.{n}.2/24 dev eth0 && ip addr add 203.0.113.1/32 dev lo \
             && ip route add 10.1.0.0/24 via 192.0.{n}.1 && sysctl -qw net.ipv4.ip_default_ttl={ttl}"
        ));
    }
    let config = r#"[system]
control-plane-core = 0
dataplane-cores = [1]
idle = "backoff"

[[port]]
name = "p1"
addresses = ["10.1.0.1/24"]

[[port]]
name = "up1"
addresses = ["192.0.1.1/24"]

[[port]]
name = "up2"
addresses = ["192.0.2.1/24"]

[[static-route]]
prefix = "203.0.113.0/24"
[[static-route.next-hop]]
via = "192.0.1.2"
tier = "primary"
[[static-route.next-hop]]
via = "192.0.2.2"
tier = "backup"
"#;
    let mut vr = Vrouterd::start(&rtr, config);
    let text = ping_until_ok(&h1, "203.0.113.1", 10);
    assert!(text.contains("ttl=63"), "via gw1 first: {text}");

    gw1.run("ip link set eth0 down");
    vr.wait_for_log("next hops on it are now down", Duration::from_secs(5));
    let text = ping_until_ok(&h1, "203.0.113.1", 5);
    assert!(
        text.contains("ttl=32"),
        "via gw2 once gw1's link is down: {text}"
    );

    // Linux dropped gw1's route back while its link was down.
    gw1.run("ip link set eth0 up && ip route replace 10.1.0.0/24 via 192.0.1.1");
    std::thread::sleep(Duration::from_millis(500));
    let text = ping_until_ok(&h1, "203.0.113.1", 5);
    assert!(text.contains("ttl=63"), "back on gw1: {text}");
}

#[test]
fn sigkill_leaves_no_xdp_program_behind() {
    if skip_unless_root() {
        return;
    }
    let lab = ThreeNodeLab::new();
    let mut vr = Vrouterd::start(&lab.rtr, &ThreeNodeLab::config(1500, ""));
    let links = lab.rtr.run("ip -d link show");
    assert!(
        links.contains("xdp"),
        "XDP attached while running:\n{links}"
    );
    vr.kill9();
    // The BPF link dies with the process's last fd.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let links = lab.rtr.run("ip -d link show p1; ip -d link show p2");
        if !links.contains("xdp") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "XDP still attached:\n{links}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A restart after the crash cleans the leftover twins and runs.
    let mut vr = Vrouterd::start(&lab.rtr, &ThreeNodeLab::config(1500, ""));
    ping_until_ok(&lab.h1, "10.2.0.2", 10);
    assert!(vr.stop());
    let links = lab.rtr.run("ip link show");
    assert!(
        !links.contains("vr-p1"),
        "twin removed on clean stop:\n{links}"
    );
}

const TCP_SINK: &str = r#"
import hashlib, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); s.settimeout(30)
c, _ = s.accept(); c.settimeout(30)
h = hashlib.sha256(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest())
"#;

const TCP_SEND: &str = r#"
import hashlib, socket, sys, random
n = int(sys.argv[3]); data = random.Random(7).randbytes(n)
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
s.sendall(data); s.shutdown(socket.SHUT_WR); s.recv(1)
print(n, hashlib.sha256(data).hexdigest())
"#;

const UDP_SINK: &str = r#"
import hashlib, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2]))); s.settimeout(5)
h = hashlib.sha256(); n = 0
try:
    while True:
        b, _ = s.recvfrom(65536)
        if b == b"END": break
        h.update(b); n += 1
except socket.timeout:
    pass
print(n, h.hexdigest())
"#;

const UDP_SEND: &str = r#"
import hashlib, socket, sys, random, time
n = int(sys.argv[3]); r = random.Random(9); h = hashlib.sha256()
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for i in range(n):
    b = r.randbytes(1000); h.update(b); s.sendto(b, (sys.argv[1], int(sys.argv[2]))); time.sleep(0.001)
time.sleep(0.2); s.sendto(b"END", (sys.argv[1], int(sys.argv[2])))
print(n, h.hexdigest())
"#;
