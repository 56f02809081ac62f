//! PortTwin and remove_stale_twins against the real kernel, in a namespace
//! of their own. A veth pair stands for the real port and the wire behind
//! it; the checks read the kernel's state through `ip` and `/proc/sys`, not
//! only through our own netlink code.

mod host_netns;

use std::fs;

use host_netns::{Netns, child_role, ip, skip_unless_root};
use ipnet::IpNet;
use router::host::{HostError, Netlink, PortTwin, TapDevice, remove_stale_twins};

const PORT: &str = "eth-p";
const PEER: &str = "eth-q";
const TWIN: &str = "vr-eth-p";
const PORT_MAC: &str = "02:00:00:00:aa:01";
const PORT_V4: &str = "192.0.2.1/24";
const PORT_V6: &str = "2001:db8:1::1/64";

#[test]
fn setup_moves_the_port_identity_to_the_twin_and_teardown_restores_it() {
    if skip_unless_root() {
        return;
    }
    Netns::new().run_child("setup_teardown");
}

#[test]
fn dropping_the_twin_cleans_up_too() {
    if skip_unless_root() {
        return;
    }
    Netns::new().run_child("drop");
}

#[test]
fn failed_setup_leaves_the_port_as_it_was() {
    if skip_unless_root() {
        return;
    }
    Netns::new().run_child("failed_setup");
}

#[test]
fn remove_stale_twins_removes_prefixed_taps_and_nothing_else() {
    if skip_unless_root() {
        return;
    }
    Netns::new().run_child("stale");
}

#[test]
#[ignore = "runs only as the child of the other tests, inside their namespace"]
fn child() {
    let Some(role) = child_role() else {
        return;
    };
    match role.as_str() {
        "setup_teardown" => child_setup_teardown(),
        "drop" => child_drop(),
        "failed_setup" => child_failed_setup(),
        "stale" => child_stale(),
        other => panic!("unknown child role {other}"),
    }
    println!("CHILD-OK");
}

/// The real port as an operator would have left it: a MAC, an IPv4 address
/// with its broadcast, a global IPv6 address, IPv6 enabled.
fn make_port(up: bool) {
    ip(&["link", "add", PORT, "type", "veth", "peer", "name", PEER]);
    ip(&["link", "set", PORT, "address", PORT_MAC]);
    ip(&["address", "add", PORT_V4, "brd", "+", "dev", PORT]);
    ip(&["address", "add", PORT_V6, "dev", PORT, "nodad"]);
    ip(&["link", "set", PEER, "up"]);
    if up {
        ip(&["link", "set", PORT, "up"]);
    }
    assert_eq!(ipv6_conf(PORT, "disable_ipv6"), "0");
}

fn ipv6_conf(interface: &str, key: &str) -> String {
    fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{interface}/{key}"))
        .unwrap_or_else(|e| panic!("read {interface}/{key}: {e}"))
        .trim()
        .to_string()
}

fn nets(texts: &[&str]) -> Vec<IpNet> {
    texts.iter().map(|t| t.parse().unwrap()).collect()
}

/// The port is bare, the twin has the port's MAC, the MTU and the
/// configured addresses, IPv6 on without RA or SLAAC.
fn assert_twin_in_place(nl: &mut Netlink, twin: &PortTwin, configured: &[IpNet]) {
    assert_eq!(twin.port_name, PORT);
    assert_eq!(twin.port_mac().to_string(), PORT_MAC);
    let port = nl.link_info(PORT).unwrap();
    assert!(port.admin_up, "real port not up");
    assert_eq!(nl.addresses(port.ifindex).unwrap(), Vec::<IpNet>::new());
    assert_eq!(ipv6_conf(PORT, "disable_ipv6"), "1");
    let shown = ip(&["address", "show", "dev", PORT]);
    assert!(!shown.contains("inet"), "port keeps addresses: {shown}");

    let tap = nl.link_info(TWIN).unwrap();
    assert_eq!(tap.ifindex, twin.tap.ifindex());
    assert_eq!(tap.kind.as_deref(), Some("tun"));
    assert_eq!(tap.mac.to_string(), PORT_MAC);
    assert_eq!(tap.mtu, 1400);
    assert!(tap.admin_up);
    let twin_addresses = nl.addresses(tap.ifindex).unwrap();
    for net in configured {
        assert!(
            twin_addresses.contains(net),
            "{net} not on twin: {twin_addresses:?}"
        );
    }
    let shown = ip(&["address", "show", "dev", TWIN]);
    assert!(
        shown.contains("inet 10.20.0.1/24 brd 10.20.0.255"),
        "{shown}"
    );
    assert!(shown.contains("inet6 2001:db8:20::1/64"), "{shown}");
    assert!(shown.contains("link/ether 02:00:00:00:aa:01"), "{shown}");
    assert_eq!(ipv6_conf(TWIN, "disable_ipv6"), "0");
    assert_eq!(ipv6_conf(TWIN, "accept_ra"), "0");
    assert_eq!(ipv6_conf(TWIN, "autoconf"), "0");
}

/// The twin is gone, the port has its own addresses (broadcast included)
/// and IPv6 back, and its original admin state.
fn assert_port_restored(nl: &mut Netlink, up: bool) {
    assert!(matches!(
        nl.link_info(TWIN),
        Err(HostError::NoSuchInterface(_))
    ));
    assert!(!ip(&["link", "show"]).contains(TWIN));
    let port = nl.link_info(PORT).unwrap();
    assert_eq!(port.admin_up, up);
    let restored = nl.addresses(port.ifindex).unwrap();
    for net in nets(&[PORT_V4, PORT_V6]) {
        assert!(restored.contains(&net), "{net} not restored: {restored:?}");
    }
    assert_eq!(ipv6_conf(PORT, "disable_ipv6"), "0");
    let shown = ip(&["address", "show", "dev", PORT]);
    assert!(
        shown.contains("inet 192.0.2.1/24 brd 192.0.2.255"),
        "{shown}"
    );
}

fn child_setup_teardown() {
    make_port(true);
    let mut nl = Netlink::open().unwrap();
    let configured = nets(&["10.20.0.1/24", "2001:db8:20::1/64"]);
    let twin = PortTwin::setup(&mut nl, PORT, TWIN, 1400, &configured).expect("setup");
    assert_twin_in_place(&mut nl, &twin, &configured);
    twin.teardown(&mut nl).expect("teardown");
    assert_port_restored(&mut nl, true);
}

fn child_drop() {
    // Administratively down before: down again after.
    make_port(false);
    let mut nl = Netlink::open().unwrap();
    let configured = nets(&["10.20.0.1/24", "2001:db8:20::1/64"]);
    let twin = PortTwin::setup(&mut nl, PORT, TWIN, 1400, &configured).expect("setup");
    assert_twin_in_place(&mut nl, &twin, &configured);
    drop(twin);
    assert_port_restored(&mut nl, false);
}

fn child_failed_setup() {
    make_port(true);
    let mut nl = Netlink::open().unwrap();
    let configured = nets(&["10.20.0.1/24"]);
    // A TAP takes at most 65535 bytes of MTU: the setup fails late, after
    // the port was stripped and the TAP created.
    let error = PortTwin::setup(&mut nl, PORT, TWIN, 70_000, &configured)
        .err()
        .expect("setup with an impossible MTU");
    assert!(error.to_string().contains("set MTU on vr-eth-p"), "{error}");
    assert_port_restored(&mut nl, true);

    match PortTwin::setup(&mut nl, "eth-missing", "vr-eth-missing", 1500, &configured) {
        Err(HostError::NoSuchInterface(name)) => assert_eq!(name, "eth-missing"),
        other => panic!("expected NoSuchInterface, got {:?}", other.err()),
    }
    match PortTwin::setup(&mut nl, PORT, "vr-eth-p-much-too-long", 1500, &configured) {
        Err(HostError::NameTooLong(_)) => {}
        other => panic!("expected NameTooLong, got {:?}", other.err()),
    }
    // Refused before anything was touched.
    assert_eq!(ipv6_conf(PORT, "disable_ipv6"), "0");
}

fn child_stale() {
    // Leftovers of a crashed run: persistent TAPs with the prefix.
    for name in ["vr-old0", "vr-old1"] {
        ip(&["tuntap", "add", "dev", name, "mode", "tap"]);
    }
    // Not ours: a TAP without the prefix, a veth with it, and a live TAP
    // without the prefix held by this process.
    ip(&["tuntap", "add", "dev", "keep-tap0", "mode", "tap"]);
    ip(&[
        "link",
        "add",
        "vr-veth0",
        "type",
        "veth",
        "peer",
        "name",
        "keep-veth1",
    ]);
    let held = TapDevice::create("other-tap1").unwrap();

    let mut nl = Netlink::open().unwrap();
    let mut removed = remove_stale_twins(&mut nl, "vr-").expect("remove");
    removed.sort();
    assert_eq!(removed, ["vr-old0", "vr-old1"]);
    let left: Vec<String> = nl.links().unwrap().into_iter().map(|l| l.name).collect();
    for gone in ["vr-old0", "vr-old1"] {
        assert!(
            !left.iter().any(|n| n == gone),
            "{gone} still there: {left:?}"
        );
    }
    for kept in ["keep-tap0", "vr-veth0", "keep-veth1", "other-tap1", "lo"] {
        assert!(left.iter().any(|n| n == kept), "{kept} removed: {left:?}");
    }
    assert!(nl.link_info(held.name()).is_ok());

    // Nothing left to remove; an empty prefix removes nothing at all.
    assert_eq!(
        remove_stale_twins(&mut nl, "vr-").unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        remove_stale_twins(&mut nl, "").unwrap(),
        Vec::<String>::new()
    );
    assert!(nl.link_info("keep-tap0").is_ok());
}
