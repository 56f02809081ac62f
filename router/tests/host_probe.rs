//! Probe sockets against real neighbors: two namespaces over a veth, the
//! probing side bound to its end of it (standing for a port's twin), the
//! peer answering with the kernel's own ICMP, ARP and ND. Each test gets
//! its own pair of namespaces, removed also when it fails.

mod host_netns;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use controlplane::clock::{Clock, MonotonicClock, Nanos};
use controlplane::tracking::probe::{ProbeAction, ProbeConfig, ProbeTracker};
use host_netns::{Netns, child_role, ip, run, skip_unless_root, wait_until};
use mio::{Events, Interest, Poll, Token};
use router::host::{ArpProbe, EchoProbe, NdProbe, ProbeSocket};

const DEVICE: &str = "pa";
const OURS_V4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const PEER_V4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const PEER_V4_OTHER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 3);
const OURS_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x77, 0, 0, 0, 0, 1);
const PEER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x77, 0, 0, 0, 0, 2);
const PEER_V6_OTHER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x77, 0, 0, 0, 0, 3);
/// How long an answer from a live neighbor on a veth may take at most.
const ANSWER_WAIT: Duration = Duration::from_secs(2);
/// How long we listen to conclude that no answer comes.
const SILENCE_WAIT: Duration = Duration::from_millis(400);

// ---------------------------------------------------------------- parent

fn run_with_peer(role: &str) {
    let ours = Netns::new();
    let peer = router::lab::Netns::new(format!("vrpeer-{}", router::lab::unique_tag()))
        .unwrap_or_else(|e| panic!("{e}"));
    ours.run_child(&format!("{role} {}", peer.name));
}

#[test]
fn echo_probes_find_a_live_target_and_miss_a_removed_one() {
    if skip_unless_root() {
        return;
    }
    run_with_peer("echo");
}

#[test]
fn arp_probes_find_a_live_target_and_miss_a_removed_one() {
    if skip_unless_root() {
        return;
    }
    run_with_peer("arp");
}

#[test]
fn nd_probes_find_a_live_target_and_miss_a_removed_one() {
    if skip_unless_root() {
        return;
    }
    run_with_peer("nd");
}

#[test]
fn tracker_and_socket_declare_a_target_up_then_down() {
    if skip_unless_root() {
        return;
    }
    run_with_peer("tracker");
}

#[test]
#[ignore = "runs only as the child of the other tests, inside their namespace"]
fn child() {
    let Some(role) = child_role() else {
        return;
    };
    let (role, peer) = role.split_once(' ').expect("role and peer namespace");
    let peer = Peer::link_to(peer);
    match role {
        "echo" => child_echo(&peer),
        "arp" => child_arp(&peer),
        "nd" => child_nd(&peer),
        "tracker" => child_tracker(&peer),
        other => panic!("unknown child role {other}"),
    }
    println!("CHILD-OK");
}

// ------------------------------------------------------------- helpers

/// The other namespace, linked to ours by `pa` (here) — `pb` (there).
struct Peer {
    namespace: String,
}

impl Peer {
    fn link_to(namespace: &str) -> Peer {
        ip(&[
            "link", "add", DEVICE, "type", "veth", "peer", "name", "pb", "netns", namespace,
        ]);
        ip(&["address", "add", "10.77.0.1/24", "dev", DEVICE]);
        ip(&[
            "-6",
            "address",
            "add",
            "2001:db8:77::1/64",
            "dev",
            DEVICE,
            "nodad",
        ]);
        ip(&["link", "set", DEVICE, "up"]);
        let peer = Peer {
            namespace: namespace.to_string(),
        };
        // promote_secondaries: removing 10.77.0.2 must leave 10.77.0.3.
        peer.sh("sysctl -qw net.ipv4.conf.pb.promote_secondaries=1 \
             && ip address add 10.77.0.2/24 dev pb && ip address add 10.77.0.3/24 dev pb \
             && ip -6 address add 2001:db8:77::2/64 dev pb nodad \
             && ip -6 address add 2001:db8:77::3/64 dev pb nodad && ip link set pb up");
        // Until the kernel's link watch has seen the carrier, a device keeps
        // its noop qdisc (what is sent is dropped) and its IPv6 addresses
        // stay tentative (a solicitation for them goes unanswered): a
        // single probe would vanish.
        let ready = |link: &str, addresses: &str| {
            link.contains("state UP")
                && !link.contains("qdisc noop")
                && addresses
                    .lines()
                    .filter(|line| line.contains("2001:db8:77::"))
                    .all(|line| !line.contains("tentative"))
        };
        assert!(
            wait_until(Duration::from_secs(5), || {
                ready(
                    &ip(&["link", "show", "dev", DEVICE]),
                    &ip(&["-6", "address", "show", "dev", DEVICE]),
                ) && ready(
                    &peer.sh("ip link show dev pb"),
                    &peer.sh("ip -6 address show dev pb"),
                )
            }),
            "the veth never became ready: {}{}",
            ip(&["address", "show", "dev", DEVICE]),
            peer.sh("ip address show dev pb")
        );
        peer
    }

    fn sh(&self, command: &str) -> String {
        run(
            "ip",
            &["netns", "exec", &self.namespace, "sh", "-c", command],
        )
    }

    fn remove(&self, address: &str) {
        self.sh(&format!("ip address del {address} dev pb"));
    }
}

/// Every answer the socket yields within `wait`, or until `seq` is seen.
/// Waits through a `mio` poll, as the event loop would.
fn answers(probe: &mut ProbeSocket, seq: u16, wait: Duration) -> Vec<u16> {
    let mut poll = Poll::new().unwrap();
    poll.registry()
        .register(probe, Token(0), Interest::READABLE)
        .unwrap();
    let mut events = Events::with_capacity(4);
    let deadline = Instant::now() + wait;
    let mut seen = Vec::new();
    loop {
        while let Some(answer) = probe.recv().expect("receive") {
            seen.push(answer);
        }
        let now = Instant::now();
        if seen.contains(&seq) || now >= deadline {
            break;
        }
        poll.poll(&mut events, Some(deadline - now)).unwrap();
    }
    poll.registry().deregister(probe).unwrap();
    seen
}

fn expect_answer(probe: &mut ProbeSocket, seq: u16, what: &str) {
    probe.send(seq).expect("send");
    let seen = answers(probe, seq, ANSWER_WAIT);
    assert!(seen.contains(&seq), "{what}: no answer to {seq}: {seen:?}");
}

fn expect_silence(probe: &mut ProbeSocket, seq: u16, what: &str) {
    probe.send(seq).expect("send");
    expect_no_answer(probe, seq, what);
}

/// With the peer's link down the kernel may refuse the send itself
/// (ENOBUFS on a veth without carrier): for the tracker that is one more
/// probe without an answer.
fn expect_silence_send_may_fail(probe: &mut ProbeSocket, seq: u16, what: &str) {
    if let Err(error) = probe.send(seq) {
        eprintln!("{what}: send refused ({error}), counts as unanswered");
    }
    expect_no_answer(probe, seq, what);
}

fn expect_no_answer(probe: &mut ProbeSocket, seq: u16, what: &str) {
    let seen = answers(probe, seq, SILENCE_WAIT);
    assert!(seen.is_empty(), "{what}: unexpected answers {seen:?}");
}

/// Nothing is queued for `probe` (after someone else's exchange).
fn expect_nothing_received(probe: &mut ProbeSocket, what: &str) {
    let seen = answers(probe, u16::MAX, SILENCE_WAIT);
    assert!(
        seen.is_empty(),
        "{what}: took someone else's answer {seen:?}"
    );
}

fn echo(target: IpAddr, ident: u16) -> ProbeSocket {
    let source = match target {
        IpAddr::V4(_) => IpAddr::V4(OURS_V4),
        IpAddr::V6(_) => IpAddr::V6(OURS_V6),
    };
    ProbeSocket::Echo(EchoProbe::open(DEVICE, Some(source), target, ident).expect("echo socket"))
}

// ------------------------------------------------------------- children

fn child_echo(peer: &Peer) {
    for (target, other) in [
        (IpAddr::V4(PEER_V4), IpAddr::V4(PEER_V4_OTHER)),
        (IpAddr::V6(PEER_V6), IpAddr::V6(PEER_V6_OTHER)),
    ] {
        let mut probe = echo(target, 0x1000);
        expect_answer(&mut probe, 1, "echo to a live address");
        expect_answer(&mut probe, 2, "second echo");

        // A reply with our identifier and sequence number, but from another
        // address, is not ours.
        let mut other_probe = echo(other, 0x1000);
        expect_answer(&mut other_probe, 3, "echo to the other address");
        expect_nothing_received(&mut probe, "echo probe for the first address");
        // A reply from our target but with another identifier is not ours.
        let mut other_ident = echo(target, 0x2000);
        expect_answer(&mut other_ident, 4, "echo with another identifier");
        expect_nothing_received(&mut probe, "echo probe with the first identifier");
    }

    peer.remove("10.77.0.2/24");
    peer.remove("2001:db8:77::2/64");
    expect_silence(
        &mut echo(IpAddr::V4(PEER_V4), 0x1000),
        5,
        "echo v4 after removal",
    );
    expect_silence(
        &mut echo(IpAddr::V6(PEER_V6), 0x1000),
        5,
        "echo v6 after removal",
    );
    // The other address still answers: the silence is the target's.
    expect_answer(&mut echo(IpAddr::V4(PEER_V4_OTHER), 0x1000), 6, "other v4");
}

fn child_arp(peer: &Peer) {
    let arp = |target| ProbeSocket::Arp(ArpProbe::open(DEVICE, OURS_V4, target).expect("arp"));
    let mut probe = arp(PEER_V4);
    expect_answer(&mut probe, 1, "ARP for a live address");
    expect_answer(&mut probe, 2, "second ARP");
    let mut other = arp(PEER_V4_OTHER);
    expect_answer(&mut other, 1, "ARP for the other address");
    expect_nothing_received(&mut probe, "ARP probe for the first address");

    peer.remove("10.77.0.2/24");
    expect_silence(&mut probe, 3, "ARP after removal");
    // And with the peer's link down, even the other address is silent.
    expect_answer(&mut other, 2, "ARP for the other address");
    peer.sh("ip link set pb down");
    expect_silence_send_may_fail(&mut other, 3, "ARP with the peer down");
}

fn child_nd(peer: &Peer) {
    let nd = |target| ProbeSocket::Nd(NdProbe::open(DEVICE, OURS_V6, target).expect("nd"));
    let mut probe = nd(PEER_V6);
    expect_answer(&mut probe, 1, "NS for a live address");
    expect_answer(&mut probe, 2, "second NS");
    let mut other = nd(PEER_V6_OTHER);
    expect_answer(&mut other, 1, "NS for the other address");
    expect_nothing_received(&mut probe, "ND probe for the first address");

    peer.remove("2001:db8:77::2/64");
    expect_silence(&mut probe, 3, "NS after removal");
    expect_answer(&mut other, 2, "NS for the other address");
    peer.sh("ip link set pb down");
    expect_silence_send_may_fail(&mut other, 3, "NS with the peer down");
}

/// What the tracker said, and how many probes it had sent by then.
#[derive(Debug, PartialEq)]
struct Change {
    up: bool,
    sent: usize,
}

/// Drives tracker and socket like the event loop: one timer, the socket
/// registered with `mio`, until the verdict changes or the bounds run out.
struct Driver {
    clock: MonotonicClock,
    tracker: ProbeTracker,
    probe: ProbeSocket,
    poll: Poll,
    timer: Nanos,
    sent: usize,
}

impl Driver {
    fn carry_out(&mut self, actions: Vec<ProbeAction>) -> Option<Change> {
        let mut change = None;
        for action in actions {
            match action {
                ProbeAction::Send { seq } => {
                    self.sent += 1;
                    // A refused send is a probe nobody answers.
                    let _ = self.probe.send(seq);
                }
                ProbeAction::ArmTimer { at } => self.timer = at,
                ProbeAction::StateChanged { up } => {
                    change = Some(Change {
                        up,
                        sent: self.sent,
                    })
                }
            }
        }
        change
    }

    /// Runs until the verdict changes; panics past `max_probes` probes or
    /// `max_time`.
    fn until_change(&mut self, max_probes: usize, max_time: Duration) -> Change {
        let start_sent = self.sent;
        let give_up = Instant::now() + max_time;
        let mut events = Events::with_capacity(4);
        loop {
            assert!(
                self.sent - start_sent <= max_probes && Instant::now() < give_up,
                "no verdict after {} probes",
                self.sent - start_sent
            );
            let now = self.clock.now_ns();
            if now >= self.timer {
                let actions = self.tracker.on_timer(now);
                if let Some(change) = self.carry_out(actions) {
                    return change;
                }
                continue;
            }
            let wait = Duration::from_nanos(self.timer - now);
            self.poll.poll(&mut events, Some(wait)).unwrap();
            while let Some(seq) = self.probe.recv().expect("receive") {
                let actions = self.tracker.on_reply(self.clock.now_ns(), seq);
                if let Some(change) = self.carry_out(actions) {
                    return change;
                }
            }
        }
    }
}

fn child_tracker(peer: &Peer) {
    let config = ProbeConfig {
        interval_ms: 100,
        timeout_ms: 80,
        up_threshold: 2,
        down_threshold: 3,
    };
    let mut probe = echo(IpAddr::V4(PEER_V4), 0x4000);
    let poll = Poll::new().unwrap();
    poll.registry()
        .register(&mut probe, Token(0), Interest::READABLE)
        .unwrap();
    let clock = MonotonicClock::new();
    let mut tracker = ProbeTracker::new(config);
    let first = tracker.start(clock.now_ns());
    let mut driver = Driver {
        clock,
        tracker,
        probe,
        poll,
        timer: 0,
        sent: 0,
    };
    assert_eq!(driver.carry_out(first), None);

    // The live target: up after two answers in a row (so at least two
    // probes), not sooner.
    let up = driver.until_change(20, Duration::from_secs(5));
    assert!(up.up, "{up:?}");
    assert!(up.sent >= 2, "up after {} probes", up.sent);
    assert!(driver.tracker.is_up());

    // The target goes away: down after three misses in a row.
    peer.remove("10.77.0.2/24");
    let before = driver.sent;
    let down = driver.until_change(20, Duration::from_secs(5));
    assert!(!down.up, "{down:?}");
    assert!(
        down.sent - before >= 3,
        "down after {} probes",
        down.sent - before
    );
    assert!(!driver.tracker.is_up());

    // And comes back.
    peer.sh("ip address add 10.77.0.2/24 dev pb");
    let again = driver.until_change(20, Duration::from_secs(5));
    assert!(again.up, "{again:?}");
}
