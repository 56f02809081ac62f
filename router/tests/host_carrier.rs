//! carrier() against the real kernel, in a namespace of its own: a veth
//! loses carrier when its peer goes down and regains it when the peer comes
//! back (operstate LOWERLAYERDOWN / UP); a TAP, which reports operstate
//! UNKNOWN, has carrier while it is up and its descriptor open.

mod host_netns;

use std::time::{Duration, Instant};

use host_netns::{Netns, child_role, ip, skip_unless_root, wait_until};
use router::host::{HostError, Netlink, TapDevice, carrier};

const SETTLE: Duration = Duration::from_secs(3);

#[test]
fn carrier_follows_the_veth_peer() {
    if skip_unless_root() {
        return;
    }
    Netns::new().run_child("veth");
}

#[test]
fn carrier_of_a_tap_follows_its_admin_state() {
    if skip_unless_root() {
        return;
    }
    Netns::new().run_child("tap");
}

#[test]
#[ignore = "runs only as the child of the other tests, inside their namespace"]
fn child() {
    let Some(role) = child_role() else {
        return;
    };
    match role.as_str() {
        "veth" => child_veth(),
        "tap" => child_tap(),
        other => panic!("unknown child role {other}"),
    }
    println!("CHILD-OK");
}

fn carrier_becomes(name: &str, want: bool) -> bool {
    wait_until(SETTLE, || carrier(name).expect("carrier") == want)
}

fn child_veth() {
    ip(&["link", "add", "ca", "type", "veth", "peer", "name", "cb"]);
    assert!(!carrier("ca").unwrap(), "carrier while down");
    ip(&["link", "set", "ca", "up"]);
    ip(&["link", "set", "cb", "up"]);
    assert!(carrier_becomes("ca", true), "no carrier with both ends up");

    ip(&["link", "set", "cb", "down"]);
    assert!(carrier_becomes("ca", false), "carrier with the peer down");
    ip(&["link", "set", "cb", "up"]);
    assert!(
        carrier_becomes("ca", true),
        "no carrier after the peer came back"
    );
    ip(&["link", "set", "ca", "down"]);
    assert!(
        carrier_becomes("ca", false),
        "carrier while administratively down"
    );
    ip(&["link", "set", "ca", "up"]);
    assert!(carrier_becomes("ca", true));

    // What a poll costs (reported, not asserted: the machine is shared).
    let calls = 20_000u32;
    let start = Instant::now();
    for _ in 0..calls {
        assert!(carrier("ca").unwrap());
    }
    let per_call = start.elapsed() / calls;
    println!("MEASURE carrier() per call: {per_call:?}");

    assert!(matches!(
        carrier("vr-gone"),
        Err(HostError::NoSuchInterface(_))
    ));
}

fn child_tap() {
    let tap = TapDevice::create("vr-ctap").unwrap();
    let mut nl = Netlink::open().unwrap();
    assert!(!carrier("vr-ctap").unwrap(), "carrier while down");
    nl.set_up(tap.ifindex(), true).unwrap();
    assert!(carrier_becomes("vr-ctap", true), "no carrier on an up TAP");
    nl.set_up(tap.ifindex(), false).unwrap();
    assert!(carrier_becomes("vr-ctap", false), "carrier on a down TAP");
}
