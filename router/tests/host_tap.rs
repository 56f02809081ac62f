//! TapDevice against the real kernel, in a namespace of its own: frames
//! written into the TAP reach the kernel's stack (an ARP request for the
//! TAP's address is answered, RFC 826), frames the kernel sends are read
//! back, and the device lives exactly as long as its descriptor.

mod host_netns;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use host_netns::{Netns, child_role, ip, run, skip_unless_root};
use router::host::{HostError, Netlink, TapDevice};

const FAKE_HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x02];
const TAP_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
const FAKE_HOST_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);
const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];

// ---------------------------------------------------------------- parent

#[test]
fn kernel_answers_an_arp_request_written_into_the_tap() {
    if skip_unless_root() {
        return;
    }
    Netns::new().run_child("arp");
}

#[test]
fn tap_lives_as_long_as_its_descriptor_unless_persistent() {
    if skip_unless_root() {
        return;
    }
    Netns::new().run_child("lifetime");
}

/// Needs no privilege: the name is refused before anything is opened.
#[test]
fn names_longer_than_fifteen_bytes_are_refused() {
    let name = "vr-0123456789abc"; // 16 bytes
    match TapDevice::create(name) {
        Err(HostError::NameTooLong(refused)) => assert_eq!(refused, name),
        other => panic!("expected NameTooLong, got {other:?}"),
    }
    let message = HostError::NameTooLong(name.to_string()).to_string();
    assert!(
        message.contains("16 bytes") && message.contains("at most 15"),
        "{message}"
    );
    assert!(matches!(
        TapDevice::create("../etc"),
        Err(HostError::InvalidName(_))
    ));
}

// ----------------------------------------------------------------- child

#[test]
#[ignore = "runs only as the child of the other tests, inside their namespace"]
fn child() {
    let Some(role) = child_role() else {
        return;
    };
    match role.as_str() {
        "arp" => child_arp(),
        "lifetime" => child_lifetime(),
        other => panic!("unknown child role {other}"),
    }
    println!("CHILD-OK");
}

fn child_arp() {
    // No IPv6 on new interfaces: the kernel then sends nothing of its own
    // (no MLD, no RS, no DAD), so an empty TAP stays empty.
    run("sysctl", &["-qw", "net.ipv6.conf.default.disable_ipv6=1"]);
    let tap = TapDevice::create("vr-tap0").expect("create TAP");
    let mut nl = Netlink::open().expect("netlink");
    nl.set_up(tap.ifindex(), true).expect("TAP up");
    nl.add_address(tap.ifindex(), format!("{TAP_ADDRESS}/24").parse().unwrap())
        .expect("address on TAP");
    let tap_mac = nl.link_info("vr-tap0").expect("link info").mac;

    let mut buf = [0u8; 2048];
    assert_eq!(
        tap.read_frame(&mut buf).expect("read"),
        None,
        "TAP not empty"
    );

    let request = arp_request(FAKE_HOST_MAC, FAKE_HOST_ADDRESS, TAP_ADDRESS);
    assert!(
        tap.write_frame(&request).expect("write"),
        "kernel refused the frame"
    );

    let reply = read_arp(&tap, Duration::from_secs(3)).expect("no ARP reply from the kernel");
    // RFC 826 "Packet Reception": the reply swaps sender and target, the
    // sender hardware address being the TAP's MAC.
    assert_eq!(&reply[0..6], &FAKE_HOST_MAC, "Ethernet destination");
    assert_eq!(&reply[6..12], &tap_mac.octets(), "Ethernet source");
    assert_eq!(&reply[20..22], &[0, 2], "ar$op = reply");
    assert_eq!(&reply[22..28], &tap_mac.octets(), "ar$sha");
    assert_eq!(&reply[28..32], &TAP_ADDRESS.octets(), "ar$spa");
    assert_eq!(&reply[32..38], &FAKE_HOST_MAC, "ar$tha");
    assert_eq!(&reply[38..42], &FAKE_HOST_ADDRESS.octets(), "ar$tpa");

    // The request also taught the kernel the sender's mapping.
    let neighbours = ip(&["neigh", "show", "dev", "vr-tap0"]);
    assert!(
        neighbours.contains(&format!("{FAKE_HOST_ADDRESS} lladdr 02:00:00:00:01:02")),
        "kernel did not learn the fake host: {neighbours}"
    );

    assert_eq!(
        tap.read_frame(&mut buf).expect("read"),
        None,
        "TAP not drained"
    );
}

fn child_lifetime() {
    let mut nl = Netlink::open().expect("netlink");

    // Fifteen bytes is the longest name Linux takes.
    let longest = TapDevice::create("vr-0123456789ab").expect("15-byte name");
    assert_eq!(longest.name(), "vr-0123456789ab");
    assert_eq!(nl.ifindex("vr-0123456789ab").unwrap(), longest.ifindex());
    let kind = nl.link_info("vr-0123456789ab").unwrap().kind;
    assert_eq!(kind.as_deref(), Some("tun"));
    assert!(longest.as_raw_fd() >= 0);

    // A second device of the same name is refused, not adopted.
    match TapDevice::create("vr-0123456789ab") {
        Err(e) => assert!(e.to_string().contains("already exists"), "{e}"),
        Ok(_) => panic!("a second TAP took an existing name"),
    }

    drop(longest);
    assert!(matches!(
        nl.link_info("vr-0123456789ab"),
        Err(HostError::NoSuchInterface(_))
    ));

    let persistent = TapDevice::create("vr-keep").expect("create");
    persistent.set_persistent(true).expect("persist");
    drop(persistent);
    let survivor = nl
        .link_info("vr-keep")
        .expect("persistent TAP gone with its fd");
    nl.delete_link(survivor.ifindex).expect("delete");
    assert!(matches!(
        nl.link_info("vr-keep"),
        Err(HostError::NoSuchInterface(_))
    ));
}

/// An Ethernet-framed ARP request (RFC 826) from `sender` asking for
/// `target`.
fn arp_request(sender_mac: [u8; 6], sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut frame = Vec::with_capacity(60);
    frame.extend_from_slice(&[0xff; 6]);
    frame.extend_from_slice(&sender_mac);
    frame.extend_from_slice(&ETHERTYPE_ARP);
    frame.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]); // Ethernet, IPv4, request
    frame.extend_from_slice(&sender_mac);
    frame.extend_from_slice(&sender.octets());
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&target.octets());
    frame.resize(60, 0); // minimum Ethernet frame without FCS
    frame
}

/// The first ARP frame the kernel sends on `tap` within `timeout`.
fn read_arp(tap: &TapDevice, timeout: Duration) -> Option<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline {
        match tap.read_frame(&mut buf).expect("read") {
            Some(len) if buf.get(12..14) == Some(&ETHERTYPE_ARP[..]) && len >= 42 => {
                return Some(buf[..len].to_vec());
            }
            Some(_) => {}
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    None
}
