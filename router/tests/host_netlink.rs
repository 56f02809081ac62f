//! Netlink against the real kernel, in a namespace of its own, on a veth
//! pair: every change is checked both through our own reads and through
//! `ip`, so a symmetric bug in encoding and decoding cannot hide.

mod host_netns;

use host_netns::{Netns, child_role, ip, wait_until};
use ipnet::IpNet;
use router::host::{HostError, Netlink, OperState};
use std::time::Duration;

use dataplane::packet::MacAddr;

#[test]
fn links_are_configured_and_read_back() {
    if host_netns::skip_unless_root() {
        return;
    }
    Netns::new().run_child("links");
}

#[test]
fn addresses_are_added_listed_and_flushed() {
    if host_netns::skip_unless_root() {
        return;
    }
    Netns::new().run_child("addresses");
}

#[test]
fn errors_name_the_interface() {
    if host_netns::skip_unless_root() {
        return;
    }
    Netns::new().run_child("errors");
}

#[test]
#[ignore = "runs only as the child of the other tests, inside their namespace"]
fn child() {
    let Some(role) = child_role() else {
        return;
    };
    match role.as_str() {
        "links" => child_links(),
        "addresses" => child_addresses(),
        "errors" => child_errors(),
        other => panic!("unknown child role {other}"),
    }
    println!("CHILD-OK");
}

fn veth(a: &str, b: &str) {
    ip(&["link", "add", a, "type", "veth", "peer", "name", b]);
}

fn child_links() {
    veth("nla", "nlb");
    let mut nl = Netlink::open().expect("netlink");
    let index = nl.ifindex("nla").expect("ifindex");
    let before = nl.link_info("nla").expect("link info");
    assert_eq!(before.ifindex, index);
    assert_eq!(before.name, "nla");
    assert_eq!(before.kind.as_deref(), Some("veth"));
    assert!(!before.admin_up);
    assert_eq!(before.oper_state, OperState::Down);

    let mac = MacAddr([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
    nl.set_mac(index, mac).expect("set MAC");
    nl.set_mtu(index, 1400).expect("set MTU");
    let after = nl.link_info("nla").unwrap();
    assert_eq!((after.mac, after.mtu), (mac, 1400));
    let shown = ip(&["link", "show", "dev", "nla"]);
    assert!(shown.contains("link/ether 02:11:22:33:44:55"), "{shown}");
    assert!(shown.contains("mtu 1400"), "{shown}");

    nl.set_up(index, true).expect("up");
    let peer = nl.ifindex("nlb").unwrap();
    nl.set_up(peer, true).expect("peer up");
    assert!(nl.link_info("nla").unwrap().admin_up);
    assert!(ip(&["link", "show", "dev", "nla"]).contains("<BROADCAST,MULTICAST,UP"));
    assert!(
        wait_until(Duration::from_secs(3), || {
            let link = nl.link_info("nla").unwrap();
            link.carrier && link.oper_state == OperState::Up
        }),
        "veth with its peer up never reported carrier and UP"
    );

    nl.set_up(peer, false).expect("peer down");
    assert!(wait_until(Duration::from_secs(3), || {
        !nl.link_info("nla").unwrap().carrier
    }));
    nl.set_up(index, false).expect("down");
    assert!(!nl.link_info("nla").unwrap().admin_up);
    assert!(!ip(&["link", "show", "dev", "nla"]).contains(",UP"));

    let links = nl.links().expect("links");
    let names: Vec<&str> = links.iter().map(|l| l.name.as_str()).collect();
    assert!(
        names.contains(&"nla") && names.contains(&"nlb") && names.contains(&"lo"),
        "{names:?}"
    );
}

fn child_addresses() {
    veth("nla", "nlb");
    let mut nl = Netlink::open().expect("netlink");
    let index = nl.ifindex("nla").unwrap();
    nl.set_up(index, true).unwrap();
    // With carrier (the peer up) the kernel adds the link-local address.
    let peer = nl.ifindex("nlb").unwrap();
    nl.set_up(peer, true).unwrap();
    assert!(
        wait_until(Duration::from_secs(3), || {
            nl.addresses(index)
                .unwrap()
                .iter()
                .any(|n| n.to_string().starts_with("fe80::"))
        }),
        "no link-local address on an up veth"
    );
    let v4: IpNet = "198.51.100.1/24".parse().unwrap();
    let v4_second: IpNet = "198.51.100.2/24".parse().unwrap();
    let v6: IpNet = "2001:db8:5::1/64".parse().unwrap();
    for net in [v4, v4_second, v6] {
        nl.add_address(index, net).expect("add");
    }
    // Already there: not an error.
    nl.add_address(index, v4).expect("add again");

    let listed = nl.addresses(index).expect("list");
    for net in [v4, v4_second, v6] {
        assert!(listed.contains(&net), "{net} missing from {listed:?}");
    }
    assert!(
        listed.iter().any(|n| n.to_string().starts_with("fe80::")),
        "link-local missing: {listed:?}"
    );
    assert_eq!(listed.iter().filter(|n| **n == v4).count(), 1, "{listed:?}");
    let shown = ip(&["address", "show", "dev", "nla"]);
    assert!(
        shown.contains("inet 198.51.100.1/24 brd 198.51.100.255"),
        "{shown}"
    );
    assert!(shown.contains("inet6 2001:db8:5::1/64"), "{shown}");
    // The other end of the pair is not ours to list.
    let peer_listed = nl.addresses(peer).unwrap();
    for net in [v4, v4_second, v6] {
        assert!(
            !peer_listed.contains(&net),
            "{net} listed on the peer: {peer_listed:?}"
        );
    }

    nl.flush_addresses(index).expect("flush");
    assert_eq!(nl.addresses(index).unwrap(), Vec::<IpNet>::new());
    let shown = ip(&["address", "show", "dev", "nla"]);
    assert!(
        !shown.contains("inet"),
        "addresses left after flush: {shown}"
    );
    // Flushing nothing is fine.
    nl.flush_addresses(index).expect("flush empty");
}

fn child_errors() {
    veth("nla", "nlb");
    let mut nl = Netlink::open().expect("netlink");
    match nl.link_info("vr-missing") {
        Err(HostError::NoSuchInterface(name)) => assert_eq!(name, "vr-missing"),
        other => panic!("expected NoSuchInterface, got {other:?}"),
    }
    assert!(matches!(
        nl.ifindex("vr-missing"),
        Err(HostError::NoSuchInterface(_))
    ));
    assert!(matches!(
        nl.ifindex("vr-this-name-is-long"),
        Err(HostError::NameTooLong(_))
    ));

    let gone = 999_999;
    let error = nl.set_mtu(gone, 1500).expect_err("no such ifindex");
    assert!(
        matches!(error, HostError::NoSuchInterface(ref n) if n == "ifindex 999999"),
        "{error:?}"
    );

    // A veth takes at most 65535 bytes of MTU: the kernel says EINVAL and
    // the message names the operation and the interface.
    let index = nl.ifindex("nla").unwrap();
    let error = nl
        .set_mtu(index, 70_000)
        .expect_err("MTU beyond the veth maximum");
    match &error {
        HostError::Netlink {
            op,
            interface,
            errno,
        } => {
            assert_eq!(
                (*op, interface.as_str(), *errno),
                ("set MTU", "nla", libc::EINVAL)
            );
        }
        other => panic!("expected a netlink error, got {other:?}"),
    }
    let text = error.to_string();
    assert!(
        text.contains("set MTU on nla") && text.contains("MTU"),
        "{text}"
    );

    let error = nl
        .add_address(gone, "192.0.2.1/24".parse().unwrap())
        .expect_err("address on a missing interface");
    assert!(matches!(error, HostError::NoSuchInterface(_)), "{error:?}");
}
