//! The neighbor table with a fake clock: learning from recorded-style
//! ARP/ND frames, every NUD transition of RFC 4861 Appendix C that a router
//! meets, bounds, the solicitations it builds (checked byte by byte with an
//! independent checksum), and a property test feeding it arbitrary bytes.
//!
//! Frames here are written from the RFC layouts with this file's own
//! checksum code, independent of the packet library under test.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dataplane::neighbor::{
    Learned, NeighborConfig, NeighborState, NeighborTable, Solicitation, build_solicitation,
};
use dataplane::packet::MacAddr;
use dataplane::pipeline::PortConfig;
use proptest::prelude::*;

const SEC: u64 = 1_000_000_000;
const PORT: u16 = 0;

const US: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
const H: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xaa]);
const H2: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xbb]);

const OUR4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const H4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
const OUR6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 1);
const OUR6_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const H6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 0x100);
const H6_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xaa);

fn port() -> PortConfig {
    PortConfig {
        name: "eth0".into(),
        mac: US,
        mtu: 1500,
        ipv4: vec!["10.0.0.1/24".parse().unwrap()],
        ipv6: vec![
            "2001:db8:a::1/64".parse().unwrap(),
            "fe80::1/64".parse().unwrap(),
        ],
    }
}

fn v4(ip: Ipv4Addr) -> IpAddr {
    IpAddr::V4(ip)
}

fn v6(ip: Ipv6Addr) -> IpAddr {
    IpAddr::V6(ip)
}

fn table() -> NeighborTable {
    NeighborTable::new(NeighborConfig::default())
}

fn state(t: &NeighborTable, ip: IpAddr) -> Option<NeighborState> {
    t.get(PORT, ip).map(|e| e.state)
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

// ---- independent frame building -------------------------------------------

/// RFC 1071 over the RFC 8200 §8.1 pseudo-header and the message, 16 bits
/// at a time, the checksum field taken as zero.
fn reference_icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&src.octets());
    bytes.extend_from_slice(&dst.octets());
    bytes.extend_from_slice(&(message.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&[0, 0, 0, 58]);
    bytes.extend_from_slice(message);
    bytes[42] = 0;
    bytes[43] = 0;
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|w| (u32::from(w[0]) << 8) | u32::from(*w.get(1).unwrap_or(&0)))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn arp_frame(
    eth_dst: MacAddr,
    eth_src: MacAddr,
    op: u16,
    sha: MacAddr,
    spa: Ipv4Addr,
    tha: MacAddr,
    tpa: Ipv4Addr,
) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&eth_dst.0);
    f.extend_from_slice(&eth_src.0);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4]);
    f.extend_from_slice(&op.to_be_bytes());
    f.extend_from_slice(&sha.0);
    f.extend_from_slice(&spa.octets());
    f.extend_from_slice(&tha.0);
    f.extend_from_slice(&tpa.octets());
    f.resize(60, 0);
    f
}

/// An Ethernet/IPv6 frame around `icmp`, whose checksum is filled in.
fn ndp_frame(
    eth_dst: MacAddr,
    eth_src: MacAddr,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    mut icmp: Vec<u8>,
) -> Vec<u8> {
    let c = reference_icmpv6_checksum(src, dst, &icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut f = Vec::new();
    f.extend_from_slice(&eth_dst.0);
    f.extend_from_slice(&eth_src.0);
    f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    f.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    f.extend_from_slice(&[58, hop_limit]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(&icmp);
    f
}

fn lladdr_option(kind: u8, mac: MacAddr) -> Vec<u8> {
    let mut o = vec![kind, 1];
    o.extend_from_slice(&mac.0);
    o
}

fn ns_icmp(target: Ipv6Addr, slla: Option<MacAddr>) -> Vec<u8> {
    let mut m = vec![135, 0, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&target.octets());
    if let Some(mac) = slla {
        m.extend(lladdr_option(1, mac));
    }
    m
}

fn na_icmp(target: Ipv6Addr, solicited: bool, override_: bool, tlla: Option<MacAddr>) -> Vec<u8> {
    let flags = 0x80 | if solicited { 0x40 } else { 0 } | if override_ { 0x20 } else { 0 };
    let mut m = vec![136, 0, 0, 0, flags, 0, 0, 0];
    m.extend_from_slice(&target.octets());
    if let Some(mac) = tlla {
        m.extend(lladdr_option(2, mac));
    }
    m
}

/// H's NA for `target` from `target`, to us.
fn na_frame(target: Ipv6Addr, solicited: bool, override_: bool, tlla: Option<MacAddr>) -> Vec<u8> {
    ndp_frame(
        US,
        tlla.unwrap_or(H),
        target,
        OUR6,
        255,
        na_icmp(target, solicited, override_, tlla),
    )
}

fn arp_reply_to_us(mac: MacAddr, ip: Ipv4Addr) -> Vec<u8> {
    arp_frame(US, mac, 2, mac, ip, US, OUR4)
}

// ---- recorded-style frames -------------------------------------------------

/// H (10.0.0.100, 02:00:00:00:00:aa) asks who has 10.0.0.1.
const ARP_REQUEST: &str = "ffffffffffff 0200000000aa 0806 0001 0800 06 04 0001
    0200000000aa 0a000064 000000000000 0a000001 000000000000000000000000000000000000";
/// H answers our request for 10.0.0.100.
const ARP_REPLY: &str = "020000000001 0200000000aa 0806 0001 0800 06 04 0002
    0200000000aa 0a000064 020000000001 0a000001 000000000000000000000000000000000000";
/// 10.0.0.100 announces a new MAC, 02:00:00:00:00:bb (RFC 5227 §3).
const GRATUITOUS_ARP: &str = "ffffffffffff 0200000000bb 0806 0001 0800 06 04 0001
    0200000000bb 0a000064 000000000000 0a000064 000000000000000000000000000000000000";
/// 2001:db8:a::100 solicits 2001:db8:a::1 with its source link-layer address.
const NS_WITH_SLLA: &str = "3333ff000001 0200000000aa 86dd 60000000 0020 3a ff
    20010db8000a00000000000000000100 ff0200000000000000000001ff000001
    87 00 1a6d 00000000 20010db8000a00000000000000000001 0101 0200000000aa";
/// 2001:db8:a::100 answers our NS: Solicited and Override set.
const SOLICITED_NA: &str = "020000000001 0200000000aa 86dd 60000000 0020 3a ff
    20010db8000a00000000000000000100 20010db8000a00000000000000000001
    88 00 87af 60000000 20010db8000a00000000000000000100 0201 0200000000aa";
/// 2001:db8:a::100 announces a new MAC to all nodes: Override, not Solicited.
const UNSOLICITED_OVERRIDE_NA: &str = "333300000001 0200000000bb 86dd 60000000 0020 3a ff
    20010db8000a00000000000000000100 ff020000000000000000000000000001
    88 00 f65e 20000000 20010db8000a00000000000000000100 0201 0200000000bb";

#[test]
fn recorded_ndp_frames_carry_valid_checksums() {
    for (text, src, dst) in [
        (NS_WITH_SLLA, H6, "ff02::1:ff00:1".parse().unwrap()),
        (SOLICITED_NA, H6, OUR6),
        (UNSOLICITED_OVERRIDE_NA, H6, "ff02::1".parse().unwrap()),
    ] {
        let frame = hex(text);
        let icmp = &frame[54..];
        let stored = u16::from_be_bytes([icmp[2], icmp[3]]);
        assert_eq!(reference_icmpv6_checksum(src, dst, icmp), stored);
    }
}

#[test]
fn arp_request_for_us_creates_a_stale_entry() {
    let mut t = table();
    let learned = t.learn(PORT, &port(), &hex(ARP_REQUEST), 0);
    assert_eq!(
        learned,
        Some(Learned {
            port: PORT,
            ip: v4(H4),
            mac: H
        })
    );
    // RFC 4861 §7.3.3 (ARP alike): a claim is not a reachability proof.
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Stale));
    assert_eq!(t.len(), 1);
}

#[test]
fn arp_reply_resolves_an_incomplete_entry_to_reachable() {
    let mut t = table();
    assert!(t.request(PORT, v4(H4), 0));
    assert_eq!(t.lookup(PORT, v4(H4), 0), None);
    let learned = t.learn(PORT, &port(), &hex(ARP_REPLY), SEC / 2);
    assert_eq!(learned.map(|l| l.mac), Some(H));
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Reachable));
    assert_eq!(t.lookup(PORT, v4(H4), SEC / 2), Some(H));
}

#[test]
fn gratuitous_arp_updates_but_never_creates() {
    let mut t = table();
    assert_eq!(t.learn(PORT, &port(), &hex(GRATUITOUS_ARP), 0), None);
    assert!(
        t.is_empty(),
        "an announcement alone adds no entry (RFC 826 merge rule)"
    );

    t.learn(PORT, &port(), &hex(ARP_REPLY), 0);
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Reachable));
    let learned = t.learn(PORT, &port(), &hex(GRATUITOUS_ARP), SEC);
    assert_eq!(learned.map(|l| l.mac), Some(H2), "a MAC change is reported");
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Stale));
    assert_eq!(t.lookup(PORT, v4(H4), SEC), Some(H2));
}

#[test]
fn arp_between_other_hosts_updates_only() {
    let other = Ipv4Addr::new(10, 0, 0, 50);
    let request = arp_frame(MacAddr::BROADCAST, H, 1, H, H4, MacAddr::ZERO, other);
    let mut t = table();
    assert_eq!(t.learn(PORT, &port(), &request, 0), None);
    assert!(t.is_empty());
    assert!(t.request(PORT, v4(H4), 0));
    assert_eq!(t.learn(PORT, &port(), &request, 1).map(|l| l.mac), Some(H));
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Stale));
}

#[test]
fn arp_reply_with_a_new_mac_replaces_the_old_one() {
    let mut t = table();
    t.learn(PORT, &port(), &hex(ARP_REPLY), 0);
    let learned = t.learn(PORT, &port(), &arp_reply_to_us(H2, H4), SEC);
    assert_eq!(learned.map(|l| l.mac), Some(H2));
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Reachable));
    // The same reply again changes nothing worth reporting.
    assert_eq!(t.learn(PORT, &port(), &arp_reply_to_us(H2, H4), SEC), None);
}

#[test]
fn ns_with_source_lladdr_creates_a_stale_entry() {
    let mut t = table();
    let learned = t.learn(PORT, &port(), &hex(NS_WITH_SLLA), 0);
    assert_eq!(learned.map(|l| (l.ip, l.mac)), Some((v6(H6), H)));
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Stale));
    assert!(
        !t.get(PORT, v6(H6)).unwrap().is_router,
        "§7.2.3: IsRouter FALSE"
    );
}

#[test]
fn ns_for_another_target_only_updates() {
    let other: Ipv6Addr = "2001:db8:a::50".parse().unwrap();
    let group: Ipv6Addr = "ff02::1:ff00:50".parse().unwrap();
    let frame = ndp_frame(
        MacAddr([0x33, 0x33, 0xff, 0, 0, 0x50]),
        H,
        H6,
        group,
        255,
        ns_icmp(other, Some(H)),
    );
    let mut t = table();
    assert_eq!(t.learn(PORT, &port(), &frame, 0), None);
    assert!(t.is_empty());
}

#[test]
fn solicited_na_resolves_an_incomplete_entry_to_reachable() {
    let mut t = table();
    assert!(t.request(PORT, v6(H6), 0));
    let learned = t.learn(PORT, &port(), &hex(SOLICITED_NA), 1);
    assert_eq!(learned.map(|l| l.mac), Some(H));
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Reachable));
    assert!(!t.get(PORT, v6(H6)).unwrap().is_router, "R clear: a host");
}

#[test]
fn unsolicited_na_resolves_an_incomplete_entry_to_stale() {
    let mut t = table();
    t.request(PORT, v6(H6), 0);
    t.learn(PORT, &port(), &na_frame(H6, false, false, Some(H)), 1);
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Stale));
}

#[test]
fn na_without_lladdr_leaves_an_incomplete_entry_alone() {
    let mut t = table();
    t.request(PORT, v6(H6), 0);
    assert_eq!(
        t.learn(PORT, &port(), &na_frame(H6, true, true, None), 1),
        None
    );
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Incomplete));
}

#[test]
fn na_without_an_entry_creates_nothing() {
    let mut t = table();
    assert_eq!(t.learn(PORT, &port(), &hex(SOLICITED_NA), 0), None);
    assert_eq!(
        t.learn(PORT, &port(), &hex(UNSOLICITED_OVERRIDE_NA), 0),
        None
    );
    assert!(t.is_empty(), "§7.2.5: no entry, advertisement discarded");
}

#[test]
fn unsolicited_override_na_changes_the_mac_and_goes_stale() {
    let mut t = table();
    t.request(PORT, v6(H6), 0);
    t.learn(PORT, &port(), &hex(SOLICITED_NA), 1);
    let learned = t.learn(PORT, &port(), &hex(UNSOLICITED_OVERRIDE_NA), 2);
    assert_eq!(learned.map(|l| l.mac), Some(H2));
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Stale));
    assert_eq!(t.lookup(PORT, v6(H6), 3), Some(H2));
}

#[test]
fn na_rules_for_resolved_entries_follow_appendix_c() {
    let reachable = || {
        let mut t = table();
        t.request(PORT, v6(H6), 0);
        t.learn(PORT, &port(), &na_frame(H6, true, false, Some(H)), 0);
        assert_eq!(state(&t, v6(H6)), Some(NeighborState::Reachable));
        assert!(t.get(PORT, v6(H6)).unwrap().is_router, "R flag recorded");
        t
    };
    let stale = || {
        let mut t = table();
        t.learn(PORT, &port(), &hex(NS_WITH_SLLA), 0);
        t
    };

    // REACHABLE, S=1 O=0, different MAC: STALE, MAC kept.
    let mut t = reachable();
    assert_eq!(
        t.learn(PORT, &port(), &na_frame(H6, true, false, Some(H2)), 1),
        None
    );
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Stale));
    assert_eq!(t.get(PORT, v6(H6)).unwrap().mac, Some(H));

    // STALE, S=1 O=0, different MAC: unchanged.
    let mut t = stale();
    assert_eq!(
        t.learn(PORT, &port(), &na_frame(H6, true, false, Some(H2)), 1),
        None
    );
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Stale));
    assert_eq!(t.get(PORT, v6(H6)).unwrap().mac, Some(H));

    // STALE, S=1 O=0, same MAC: REACHABLE.
    let mut t = stale();
    assert_eq!(
        t.learn(PORT, &port(), &na_frame(H6, true, false, Some(H)), 1),
        None
    );
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Reachable));

    // STALE, S=1 O=1, different MAC: record, REACHABLE.
    let mut t = stale();
    let learned = t.learn(PORT, &port(), &na_frame(H6, true, true, Some(H2)), 1);
    assert_eq!(learned.map(|l| l.mac), Some(H2));
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Reachable));

    // REACHABLE, S=0 O=0, same MAC: unchanged.
    let mut t = reachable();
    assert_eq!(
        t.learn(PORT, &port(), &na_frame(H6, false, false, Some(H)), 1),
        None
    );
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Reachable));

    // REACHABLE, S=0 O=1, same MAC: unchanged.
    let mut t = reachable();
    assert_eq!(
        t.learn(PORT, &port(), &na_frame(H6, false, true, Some(H)), 1),
        None
    );
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Reachable));

    // STALE, S=1, no link-layer address: §7.2.5 II, REACHABLE.
    let mut t = stale();
    assert_eq!(
        t.learn(PORT, &port(), &na_frame(H6, true, false, None), 1),
        None
    );
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Reachable));
}

#[test]
fn ns_with_a_new_mac_updates_to_stale() {
    let mut t = table();
    t.request(PORT, v6(H6), 0);
    t.learn(PORT, &port(), &hex(SOLICITED_NA), 0);
    let group: Ipv6Addr = "ff02::1:ff00:1".parse().unwrap();
    let ns = ndp_frame(
        MacAddr([0x33, 0x33, 0xff, 0, 0, 1]),
        H2,
        H6,
        group,
        255,
        ns_icmp(OUR6, Some(H2)),
    );
    assert_eq!(t.learn(PORT, &port(), &ns, 1).map(|l| l.mac), Some(H2));
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Stale));
    // Same MAC again: nothing changes (Appendix C).
    assert_eq!(t.learn(PORT, &port(), &ns, 2), None);
    assert_eq!(t.get(PORT, v6(H6)).unwrap().updated_ns, 1);
}

#[test]
fn router_messages_teach_their_source() {
    // An RA from a neighboring router: STALE and IsRouter (Appendix C/D).
    let mut ra = vec![134, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
    ra.extend(lladdr_option(1, H));
    let frame = ndp_frame(
        MacAddr([0x33, 0x33, 0, 0, 0, 1]),
        H,
        H6_LL,
        "ff02::1".parse().unwrap(),
        255,
        ra.clone(),
    );
    let mut t = table();
    assert_eq!(
        t.learn(PORT, &port(), &frame, 0).map(|l| l.ip),
        Some(v6(H6_LL))
    );
    let e = t.get(PORT, v6(H6_LL)).unwrap();
    assert_eq!((e.state, e.is_router), (NeighborState::Stale, true));
    // §6.1.2: an RA from a global address is invalid.
    let frame = ndp_frame(
        MacAddr([0x33, 0x33, 0, 0, 0, 1]),
        H,
        H6,
        "ff02::1".parse().unwrap(),
        255,
        ra,
    );
    let mut t = table();
    assert_eq!(t.learn(PORT, &port(), &frame, 0), None);

    let mut rs = vec![133, 0, 0, 0, 0, 0, 0, 0];
    rs.extend(lladdr_option(1, H));
    let frame = ndp_frame(
        MacAddr([0x33, 0x33, 0, 0, 0, 2]),
        H,
        H6,
        "ff02::2".parse().unwrap(),
        255,
        rs,
    );
    assert!(t.learn(PORT, &port(), &frame, 0).is_some());
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Stale));
    assert!(!t.get(PORT, v6(H6)).unwrap().is_router);
}

// ---- NUD transitions with a fake clock (RFC 4861 Appendix C) ---------------

#[test]
fn incomplete_retransmits_then_fails_then_is_forgotten() {
    let mut t = table();
    let mut out = Vec::new();
    let target = v4(H4);
    assert!(
        t.request(PORT, target, 0),
        "first solicitation goes at once"
    );
    assert!(!t.request(PORT, target, 1), "resolution already under way");

    t.poll(SEC - 1, &mut out);
    assert!(out.is_empty(), "§7.2.2: at most one per RetransTimer");
    t.poll(SEC, &mut out);
    t.poll(2 * SEC, &mut out);
    let expected = Solicitation {
        port: PORT,
        target,
        unicast_to: None,
    };
    assert_eq!(out, vec![expected, expected], "two retransmissions");
    assert_eq!(state(&t, target), Some(NeighborState::Incomplete));

    // MAX_MULTICAST_SOLICIT sent; RetransTimer after the last: FAILED.
    let mut failed = Vec::new();
    out.clear();
    t.poll_with_failures(3 * SEC, &mut out, &mut failed);
    assert!(out.is_empty());
    assert_eq!(failed, vec![(PORT, target)]);
    assert_eq!(state(&t, target), Some(NeighborState::Failed));
    assert_eq!(t.lookup(PORT, target, 3 * SEC), None);
    assert!(!t.request(PORT, target, 4 * SEC), "held: no hammering");

    t.poll(6 * SEC, &mut out);
    assert_eq!(state(&t, target), None, "forgotten after failed_hold_ns");
    assert!(t.request(PORT, target, 6 * SEC), "resolution starts over");
    assert_eq!(t.stats().failed, 1);
}

#[test]
fn failed_entry_past_its_hold_restarts_even_before_poll() {
    let mut t = table();
    let mut out = Vec::new();
    t.request(PORT, v4(H4), 0);
    t.poll(SEC, &mut out);
    t.poll(2 * SEC, &mut out);
    t.poll(3 * SEC, &mut out);
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Failed));
    assert!(t.request(PORT, v4(H4), 6 * SEC));
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Incomplete));
}

#[test]
fn reachable_goes_stale_after_reachable_time() {
    let mut t = table();
    let mut out = Vec::new();
    t.request(PORT, v6(H6), 0);
    t.learn(PORT, &port(), &hex(SOLICITED_NA), SEC);
    t.poll(SEC + 30 * SEC - 1, &mut out);
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Reachable));
    t.poll(SEC + 30 * SEC, &mut out);
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Stale));
    assert!(out.is_empty(), "§7.3.3: no traffic, no probes");
}

#[test]
fn unused_stale_entries_are_forgotten() {
    let mut t = table();
    let mut out = Vec::new();
    t.learn(PORT, &port(), &hex(ARP_REQUEST), 0);
    t.poll(60 * SEC - 1, &mut out);
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Stale));
    t.poll(60 * SEC, &mut out);
    assert!(t.is_empty());
}

#[test]
fn stale_use_delay_probe_then_solicited_na_makes_reachable() {
    let mut t = table();
    let mut out = Vec::new();
    t.learn(PORT, &port(), &hex(NS_WITH_SLLA), 0);
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Stale));

    // §7.3.3: first use of a STALE entry → DELAY, MAC still used.
    assert_eq!(t.lookup(PORT, v6(H6), 10 * SEC), Some(H));
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Delay));
    t.poll(15 * SEC - 1, &mut out);
    assert!(out.is_empty());

    // DELAY_FIRST_PROBE_TIME later: PROBE, and a unicast probe at once.
    t.poll(15 * SEC, &mut out);
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Probe));
    let probe = Solicitation {
        port: PORT,
        target: v6(H6),
        unicast_to: Some(H),
    };
    assert_eq!(out, vec![probe]);
    assert_eq!(
        t.lookup(PORT, v6(H6), 15 * SEC),
        Some(H),
        "still usable while probing"
    );

    t.poll(16 * SEC, &mut out);
    assert_eq!(out, vec![probe, probe], "retransmitted every RetransTimer");

    // The solicited answer confirms reachability.
    assert_eq!(
        t.learn(PORT, &port(), &hex(SOLICITED_NA), 16 * SEC + 1),
        None
    );
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Reachable));
    out.clear();
    t.poll(17 * SEC, &mut out);
    assert!(out.is_empty(), "no probes once confirmed");
}

#[test]
fn confirmation_during_delay_skips_the_probe() {
    let mut t = table();
    let mut out = Vec::new();
    t.learn(PORT, &port(), &hex(ARP_REQUEST), 0);
    t.lookup(PORT, v4(H4), SEC);
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Delay));
    // An ARP reply to us, e.g. to the kernel's own request.
    t.learn(PORT, &port(), &hex(ARP_REPLY), 2 * SEC);
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Reachable));
    t.poll(6 * SEC, &mut out);
    assert!(out.is_empty());
}

#[test]
fn probe_without_answer_fails_then_is_forgotten() {
    let mut t = table();
    let mut out = Vec::new();
    let mut failed = Vec::new();
    t.learn(PORT, &port(), &hex(ARP_REQUEST), 0);
    t.lookup(PORT, v4(H4), 0);
    for s in [5, 6, 7] {
        t.poll_with_failures(s * SEC, &mut out, &mut failed);
    }
    assert_eq!(out.len(), 3, "MAX_UNICAST_SOLICIT probes");
    assert!(out.iter().all(|s| s.unicast_to == Some(H)));
    assert!(failed.is_empty());
    t.poll_with_failures(8 * SEC, &mut out, &mut failed);
    assert_eq!(out.len(), 3);
    assert_eq!(failed, vec![(PORT, v4(H4))]);
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Failed));
    assert_eq!(
        t.lookup(PORT, v4(H4), 8 * SEC),
        None,
        "a dead neighbor is not used"
    );
    t.poll(11 * SEC, &mut out);
    assert_eq!(state(&t, v4(H4)), None);
}

#[test]
fn expired_reachable_used_goes_to_delay_without_poll() {
    let mut t = table();
    t.learn(PORT, &port(), &hex(ARP_REPLY), 0);
    assert_eq!(t.lookup(PORT, v4(H4), 29 * SEC), Some(H));
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Reachable));
    assert_eq!(t.lookup(PORT, v4(H4), 30 * SEC), Some(H));
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Delay));
}

#[test]
fn upper_layer_confirmation_makes_reachable() {
    let mut t = table();
    t.learn(PORT, &port(), &hex(ARP_REQUEST), 0);
    assert!(t.confirm(PORT, v4(H4), 1));
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Reachable));
    t.request(PORT, v6(H6), 0);
    assert!(
        !t.confirm(PORT, v6(H6), 1),
        "§7.3.3: no effect on INCOMPLETE"
    );
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Incomplete));
}

#[test]
fn static_entries_never_change() {
    let mut t = table();
    let mut out = Vec::new();
    t.add_static(PORT, v4(H4), H2);
    t.learn(PORT, &port(), &hex(ARP_REPLY), 0);
    t.learn(PORT, &port(), &hex(ARP_REQUEST), 0);
    t.poll(1000 * SEC, &mut out);
    assert_eq!(t.lookup(PORT, v4(H4), 1000 * SEC), Some(H2));
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Static));
    assert!(!t.request(PORT, v4(H4), 0));
    assert!(out.is_empty());
}

// ---- what must not be learnt -----------------------------------------------

#[test]
fn off_subnet_and_bogus_senders_are_not_learnt() {
    let p = port();
    let mut t = table();
    let bcast = MacAddr::BROADCAST;
    let frames = [
        // Off-subnet sender, asking for us.
        arp_frame(
            bcast,
            H,
            1,
            H,
            Ipv4Addr::new(10, 0, 1, 5),
            MacAddr::ZERO,
            OUR4,
        ),
        // Our own address claimed by someone else.
        arp_frame(bcast, H, 1, H, OUR4, MacAddr::ZERO, OUR4),
        // Subnet broadcast and network addresses as senders.
        arp_frame(
            bcast,
            H,
            1,
            H,
            Ipv4Addr::new(10, 0, 0, 255),
            MacAddr::ZERO,
            OUR4,
        ),
        arp_frame(
            bcast,
            H,
            1,
            H,
            Ipv4Addr::new(10, 0, 0, 0),
            MacAddr::ZERO,
            OUR4,
        ),
        // RFC 1812 §3.3.2: multicast, broadcast or zero sender MACs.
        arp_frame(bcast, H, 2, MacAddr([0x01, 0, 0x5e, 0, 0, 1]), H4, US, OUR4),
        arp_frame(bcast, H, 2, MacAddr::BROADCAST, H4, US, OUR4),
        arp_frame(bcast, H, 2, MacAddr::ZERO, H4, US, OUR4),
        // Someone using our MAC.
        arp_frame(bcast, H, 1, US, H4, MacAddr::ZERO, OUR4),
        // Unknown ARP operation.
        arp_frame(bcast, H, 9, H, H4, MacAddr::ZERO, OUR4),
        // Off-link NS source.
        ndp_frame(
            MacAddr([0x33, 0x33, 0xff, 0, 0, 1]),
            H,
            "2001:db8:b::5".parse().unwrap(),
            "ff02::1:ff00:1".parse().unwrap(),
            255,
            ns_icmp(OUR6, Some(H)),
        ),
    ];
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(t.learn(PORT, &p, f, 0), None, "frame {i}");
    }
    assert!(t.is_empty());
    // An NA for one of our own addresses (a duplicate) is not a neighbor.
    t.request(PORT, v6(OUR6), 0);
    let dup = na_frame(OUR6, false, true, Some(H));
    assert_eq!(t.learn(PORT, &p, &dup, 1), None);
    assert_eq!(state(&t, v6(OUR6)), Some(NeighborState::Incomplete));
}

#[test]
fn dad_probes_create_nothing() {
    let mut t = table();
    // RFC 5227 ARP probe: sender 0.0.0.0.
    let probe = arp_frame(
        MacAddr::BROADCAST,
        H,
        1,
        H,
        Ipv4Addr::UNSPECIFIED,
        MacAddr::ZERO,
        OUR4,
    );
    assert_eq!(t.learn(PORT, &port(), &probe, 0), None);
    // RFC 4862 DAD: NS from :: to the solicited-node group, no option.
    let dad = ndp_frame(
        MacAddr([0x33, 0x33, 0xff, 0, 0, 1]),
        H,
        Ipv6Addr::UNSPECIFIED,
        "ff02::1:ff00:1".parse().unwrap(),
        255,
        ns_icmp(OUR6, None),
    );
    assert_eq!(t.learn(PORT, &port(), &dad, 0), None);
    // §7.1.1: from :: with an option is invalid.
    let bad = ndp_frame(
        MacAddr([0x33, 0x33, 0xff, 0, 0, 1]),
        H,
        Ipv6Addr::UNSPECIFIED,
        "ff02::1:ff00:1".parse().unwrap(),
        255,
        ns_icmp(OUR6, Some(H)),
    );
    assert_eq!(t.learn(PORT, &port(), &bad, 0), None);
    assert!(t.is_empty());
}

#[test]
fn invalid_nd_messages_are_discarded() {
    let group: Ipv6Addr = "ff02::1:ff00:1".parse().unwrap();
    let group_mac = MacAddr([0x33, 0x33, 0xff, 0, 0, 1]);
    let good = || ndp_frame(group_mac, H, H6, group, 255, ns_icmp(OUR6, Some(H)));
    let mut t = table();
    assert!(
        t.learn(PORT, &port(), &good(), 0).is_some(),
        "the control frame is learnt"
    );

    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    cases.push((
        "hop limit 254",
        ndp_frame(group_mac, H, H6, group, 254, ns_icmp(OUR6, Some(H))),
    ));
    let mut f = good();
    f[54 + 2] ^= 0x01;
    cases.push(("bad checksum", f));
    let mut icmp = ns_icmp(OUR6, Some(H));
    icmp[1] = 1;
    cases.push(("code 1", ndp_frame(group_mac, H, H6, group, 255, icmp)));
    let mut icmp = ns_icmp(OUR6, Some(H));
    icmp[25] = 0;
    cases.push((
        "option length 0",
        ndp_frame(group_mac, H, H6, group, 255, icmp),
    ));
    let icmp = ns_icmp(OUR6, Some(H))[..20].to_vec();
    cases.push((
        "ICMP length below 24",
        ndp_frame(group_mac, H, H6, group, 255, icmp),
    ));
    let icmp = ns_icmp("ff02::1".parse().unwrap(), Some(H));
    cases.push((
        "multicast target",
        ndp_frame(group_mac, H, H6, group, 255, icmp),
    ));
    // The IP payload ends one byte into the option; the byte after it is
    // link-layer padding. The checksum covers the shortened message.
    let icmp = ns_icmp(OUR6, Some(H))[..31].to_vec();
    let mut f = ndp_frame(group_mac, H, H6, group, 255, icmp);
    f.push(0xaa);
    cases.push(("option past the IP payload", f));
    let na = na_icmp(H6, true, false, Some(H));
    cases.push((
        "solicited NA to a multicast address",
        ndp_frame(
            MacAddr([0x33, 0x33, 0, 0, 0, 1]),
            H,
            H6,
            "ff02::1".parse().unwrap(),
            255,
            na,
        ),
    ));
    // RFC 6980: an ND message inside a fragment.
    let mut icmp = ns_icmp(OUR6, Some(H));
    let c = reference_icmpv6_checksum(H6, group, &icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut payload = vec![58, 0, 0, 0, 0, 0, 0, 1];
    payload.extend_from_slice(&icmp);
    let mut f = ndp_frame(group_mac, H, H6, group, 255, vec![0; 4]);
    f.truncate(54);
    f[14 + 4..14 + 6].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    f[14 + 6] = 44;
    f.extend_from_slice(&payload);
    cases.push(("in a fragment", f));

    // Each would resolve an INCOMPLETE entry for H6 if it were believed.
    for (why, frame) in cases {
        let mut t = table();
        t.request(PORT, v6(H6), 0);
        assert_eq!(t.learn(PORT, &port(), &frame, 0), None, "{why}");
        assert_eq!(state(&t, v6(H6)), Some(NeighborState::Incomplete), "{why}");
        assert_eq!(t.len(), 1, "{why}");
    }
}

// ---- frames the host kernel sends out through the TAP twin -----------------

#[test]
fn host_frames_fill_gaps_but_never_teach_our_own_addresses() {
    let mut t = table();
    // The kernel asks for H: sender is us; nothing to learn.
    let request = arp_frame(MacAddr::BROADCAST, US, 1, US, OUR4, MacAddr::ZERO, H4);
    assert_eq!(t.learn(PORT, &port(), &request, 0), None);
    assert!(t.is_empty());

    // The kernel answers H: it knows H at H's MAC.
    let reply = arp_frame(H, US, 2, US, OUR4, H, H4);
    assert_eq!(t.learn(PORT, &port(), &reply, 0).map(|l| l.mac), Some(H));
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Stale));

    // What the router saw itself wins: the kernel's view does not move a
    // resolved entry.
    t.learn(PORT, &port(), &arp_reply_to_us(H2, H4), 1);
    assert_eq!(t.learn(PORT, &port(), &reply, 2), None);
    assert_eq!(t.get(PORT, v4(H4)).unwrap().mac, Some(H2));

    // The kernel's unicast NA to H6 resolves our INCOMPLETE entry.
    t.request(PORT, v6(H6), 3);
    let mut na = na_icmp(OUR6, true, true, Some(US));
    na[4] = 0x60;
    let frame = ndp_frame(H, US, OUR6, H6, 255, na);
    assert_eq!(
        t.learn(PORT, &port(), &frame, 4).map(|l| (l.ip, l.mac)),
        Some((v6(H6), H))
    );
    assert_eq!(state(&t, v6(H6)), Some(NeighborState::Stale));
    // The kernel's multicast NS names no neighbor.
    let ns = ndp_frame(
        MacAddr([0x33, 0x33, 0xff, 0, 0, 0xaa]),
        US,
        OUR6_LL,
        "ff02::1:ff00:aa".parse().unwrap(),
        255,
        ns_icmp(H6_LL, Some(US)),
    );
    assert_eq!(t.learn(PORT, &port(), &ns, 5), None);
    assert!(t.get(PORT, v6(H6_LL)).is_none());
    assert!(t.entries().all(|e| e.mac != Some(US)));
}

// ---- solicitations built -----------------------------------------------------

#[test]
fn arp_request_bytes() {
    let mut buf = [0xaau8; 128];
    let sol = Solicitation {
        port: PORT,
        target: v4(H4),
        unicast_to: None,
    };
    let len = build_solicitation(&sol, &port(), &mut buf).unwrap();
    let expected = hex("ffffffffffff 020000000001 0806 0001 0800 06 04 0001
         020000000001 0a000001 000000000000 0a000064 000000000000000000000000000000000000");
    assert_eq!(&buf[..len], &expected[..]);

    // A probe goes to the cached MAC; the ARP body is the same request.
    let probe = Solicitation {
        unicast_to: Some(H),
        ..sol
    };
    let len = build_solicitation(&probe, &port(), &mut buf).unwrap();
    assert_eq!(&buf[..6], &H.0);
    assert_eq!(&buf[6..len], &expected[6..]);
}

fn check_ns(frame: &[u8], eth_dst: MacAddr, src: Ipv6Addr, dst: Ipv6Addr, target: Ipv6Addr) {
    assert_eq!(frame.len(), 86);
    assert_eq!(&frame[0..6], &eth_dst.0, "Ethernet destination");
    assert_eq!(&frame[6..12], &US.0, "Ethernet source");
    assert_eq!(&frame[12..14], &[0x86, 0xdd]);
    let ip = &frame[14..54];
    assert_eq!(ip[0] >> 4, 6);
    assert_eq!(u16::from_be_bytes([ip[4], ip[5]]), 32, "payload length");
    assert_eq!(ip[6], 58, "next header ICMPv6");
    assert_eq!(ip[7], 255, "§7.1.1 hop limit");
    assert_eq!(&ip[8..24], &src.octets());
    assert_eq!(&ip[24..40], &dst.octets());
    let icmp = &frame[54..];
    assert_eq!(icmp[0], 135, "type NS");
    assert_eq!(icmp[1], 0, "code");
    assert_eq!(&icmp[4..8], &[0, 0, 0, 0], "reserved");
    assert_eq!(&icmp[8..24], &target.octets());
    assert_eq!(&icmp[24..26], &[1, 1], "source link-layer address option");
    assert_eq!(&icmp[26..32], &US.0);
    let stored = u16::from_be_bytes([icmp[2], icmp[3]]);
    assert_eq!(
        stored,
        reference_icmpv6_checksum(src, dst, icmp),
        "checksum"
    );
}

#[test]
fn neighbor_solicitation_bytes() {
    let mut buf = [0xaau8; 128];
    let mut sol = Solicitation {
        port: PORT,
        target: v6(H6),
        unicast_to: None,
    };
    // Multicast to ff02::1:ff00:100 at 33:33:ff:00:01:00, from our global
    // address on the target's prefix.
    let len = build_solicitation(&sol, &port(), &mut buf).unwrap();
    let group: Ipv6Addr = "ff02::1:ff00:100".parse().unwrap();
    check_ns(
        &buf[..len],
        MacAddr([0x33, 0x33, 0xff, 0, 0x01, 0]),
        OUR6,
        group,
        H6,
    );

    // A probe: unicast to the neighbor.
    sol.unicast_to = Some(H);
    let len = build_solicitation(&sol, &port(), &mut buf).unwrap();
    check_ns(&buf[..len], H, OUR6, H6, H6);

    // A link-local target is asked from our link-local address.
    sol.target = v6(H6_LL);
    sol.unicast_to = None;
    let len = build_solicitation(&sol, &port(), &mut buf).unwrap();
    let group: Ipv6Addr = "ff02::1:ff00:aa".parse().unwrap();
    check_ns(
        &buf[..len],
        MacAddr([0x33, 0x33, 0xff, 0, 0, 0xaa]),
        OUR6_LL,
        group,
        H6_LL,
    );
}

#[test]
fn no_solicitation_without_an_address_or_room() {
    let mut buf = [0u8; 128];
    let sol = |target| Solicitation {
        port: PORT,
        target,
        unicast_to: None,
    };
    let no_v4 = PortConfig {
        ipv4: vec![],
        ..port()
    };
    assert_eq!(build_solicitation(&sol(v4(H4)), &no_v4, &mut buf), None);
    let no_v6 = PortConfig {
        ipv6: vec![],
        ..port()
    };
    assert_eq!(build_solicitation(&sol(v6(H6)), &no_v6, &mut buf), None);
    let off_link = v4(Ipv4Addr::new(192, 0, 2, 9));
    assert_eq!(build_solicitation(&sol(off_link), &port(), &mut buf), None);
    assert_eq!(build_solicitation(&sol(v4(OUR4)), &port(), &mut buf), None);
    assert_eq!(
        build_solicitation(&sol(v4(H4)), &port(), &mut buf[..59]),
        None
    );
    assert_eq!(
        build_solicitation(&sol(v6(H6)), &port(), &mut buf[..85]),
        None
    );
}

/// What we send is what a peer running this code learns us from.
#[test]
fn a_peer_learns_us_from_our_solicitations() {
    let peer_port = PortConfig {
        name: "peer".into(),
        mac: H,
        mtu: 1500,
        ipv4: vec!["10.0.0.100/24".parse().unwrap()],
        ipv6: vec!["2001:db8:a::100/64".parse().unwrap()],
    };
    let mut peer = table();
    let mut buf = [0u8; 128];
    for target in [v4(H4), v6(H6)] {
        let sol = Solicitation {
            port: PORT,
            target,
            unicast_to: None,
        };
        let len = build_solicitation(&sol, &port(), &mut buf).unwrap();
        let learned = peer.learn(PORT, &peer_port, &buf[..len], 0).unwrap();
        assert_eq!(learned.mac, US);
    }
    assert_eq!(
        peer.get(PORT, v4(OUR4)).unwrap().state,
        NeighborState::Stale
    );
    assert_eq!(
        peer.get(PORT, v6(OUR6)).unwrap().state,
        NeighborState::Stale
    );
}

// ---- bounds --------------------------------------------------------------------

fn host(i: u8) -> IpAddr {
    v4(Ipv4Addr::new(10, 0, 0, i))
}

#[test]
fn max_entries_evicts_failed_then_stale_and_refuses_when_in_use() {
    let config = NeighborConfig {
        max_entries: 3,
        ..NeighborConfig::default()
    };
    let mut t = NeighborTable::new(config);
    let mut out = Vec::new();
    // One FAILED, one STALE, one REACHABLE.
    t.request(PORT, host(10), 0);
    for s in 1..=3 {
        t.poll(s * SEC, &mut out);
    }
    assert_eq!(state(&t, host(10)), Some(NeighborState::Failed));
    let request_from = |i: u8, mac: MacAddr| {
        arp_frame(
            MacAddr::BROADCAST,
            mac,
            1,
            mac,
            Ipv4Addr::new(10, 0, 0, i),
            MacAddr::ZERO,
            OUR4,
        )
    };
    t.learn(PORT, &port(), &request_from(11, H), 3 * SEC);
    t.learn(
        PORT,
        &port(),
        &arp_reply_to_us(H2, Ipv4Addr::new(10, 0, 0, 12)),
        3 * SEC,
    );
    assert_eq!(t.len(), 3);

    // Full: the FAILED entry goes first...
    assert!(t.request(PORT, host(13), 3 * SEC));
    assert_eq!(state(&t, host(10)), None);
    assert_eq!(state(&t, host(11)), Some(NeighborState::Stale));
    // ...then the STALE one...
    assert!(
        t.learn(PORT, &port(), &request_from(14, H), 3 * SEC)
            .is_some()
    );
    assert_eq!(state(&t, host(11)), None);
    assert_eq!(t.len(), 3);
    // ...and entries in use (INCOMPLETE, REACHABLE, the new STALE after a
    // use) are never evicted: new ones are refused instead.
    t.lookup(PORT, host(14), 3 * SEC);
    assert!(!t.request(PORT, host(15), 3 * SEC));
    assert_eq!(t.learn(PORT, &port(), &request_from(16, H), 3 * SEC), None);
    assert_eq!(t.len(), 3);
    assert_eq!(t.stats().evicted, 2);
    assert_eq!(t.stats().refused, 2);
}

#[test]
fn eviction_picks_the_oldest_stale_entry() {
    let config = NeighborConfig {
        max_entries: 2,
        ..NeighborConfig::default()
    };
    let mut t = NeighborTable::new(config);
    let request_from = |i: u8| {
        arp_frame(
            MacAddr::BROADCAST,
            H,
            1,
            H,
            Ipv4Addr::new(10, 0, 0, i),
            MacAddr::ZERO,
            OUR4,
        )
    };
    t.learn(PORT, &port(), &request_from(21), 2 * SEC);
    t.learn(PORT, &port(), &request_from(20), SEC);
    t.learn(PORT, &port(), &request_from(22), 3 * SEC);
    assert_eq!(state(&t, host(20)), None, "updated longest ago");
    assert!(state(&t, host(21)).is_some());
    assert!(state(&t, host(22)).is_some());
}

#[test]
fn solicitations_are_rate_limited_per_neighbor_and_in_all() {
    let config = NeighborConfig {
        solicit_per_sec: 10,
        solicit_burst: 5,
        ..NeighborConfig::default()
    };
    let mut t = NeighborTable::new(config);
    let mut out = Vec::new();
    // Per neighbor: a flood of packets to one address asks once.
    let asked = (0..1000).filter(|i| t.request(PORT, host(2), *i)).count();
    assert_eq!(asked, 1);
    // In all: a scan of the subnet asks no more than the burst at once.
    let asked = (3..=200).filter(|i| t.request(PORT, host(*i), 0)).count();
    assert_eq!(asked, 4, "burst of 5, one spent above");
    // Retransmission rounds at 1 s and 2 s find a refilled bucket (5, the
    // burst, not 10) each; at 3 s every entry has had its three attempts.
    for ms in (0..=3_000).step_by(50) {
        t.poll(ms * 1_000_000, &mut out);
    }
    let stats = t.stats();
    assert_eq!(stats.solicitations, 5 + 5 + 5);
    assert_eq!(out.len(), 10);
    // Withheld solicitations count as attempts, so every entry failed on
    // schedule instead of waiting for the budget.
    assert_eq!(stats.solicitations + stats.suppressed, 199 * 3);
    assert!(t.entries().all(|e| e.state == NeighborState::Failed));
}

#[test]
fn poll_is_cheap_when_nothing_is_due() {
    let mut t = table();
    let mut out = Vec::new();
    t.learn(PORT, &port(), &hex(ARP_REPLY), 0);
    assert_eq!(t.next_timer_ns(), 30 * SEC);
    t.poll(29 * SEC, &mut out);
    assert_eq!(state(&t, v4(H4)), Some(NeighborState::Reachable));
    // A use moving an entry to DELAY brings the next timer forward.
    t.learn(PORT, &port(), &hex(NS_WITH_SLLA), SEC);
    t.lookup(PORT, v6(H6), 2 * SEC);
    assert_eq!(t.next_timer_ns(), 7 * SEC);
}

#[test]
fn flush_and_remove() {
    let mut t = table();
    t.learn(PORT, &port(), &hex(ARP_REQUEST), 0);
    t.learn(1, &port(), &hex(ARP_REQUEST), 0);
    assert_eq!(t.flush_port(PORT), 1);
    assert!(t.remove(1, v4(H4)));
    assert!(!t.remove(1, v4(H4)));
    assert!(t.is_empty());
}

// ---- property tests ------------------------------------------------------------

/// Whether `ip` may be learnt on `port()`: written from the rule, not the code.
fn on_subnet(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            o[..3] == [10, 0, 0] && !matches!(o[3], 0 | 1 | 255)
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            let in_prefix =
                s[..4] == [0x2001, 0xdb8, 0xa, 0] && a != OUR6 && s[4..] != [0, 0, 0, 0];
            let link_local = s[0] & 0xffc0 == 0xfe80 && a != OUR6_LL;
            in_prefix || link_local
        }
    }
}

fn ipv4_strategy() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        any::<u32>().prop_map(Ipv4Addr::from),
        any::<u8>().prop_map(|b| Ipv4Addr::new(10, 0, 0, b)),
        any::<u8>().prop_map(|b| Ipv4Addr::new(10, 0, 1, b)),
        Just(Ipv4Addr::UNSPECIFIED),
    ]
}

fn ipv6_strategy() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        any::<u128>().prop_map(Ipv6Addr::from),
        any::<u16>().prop_map(|b| Ipv6Addr::new(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, b)),
        any::<u16>().prop_map(|b| Ipv6Addr::new(0x2001, 0xdb8, 0xb, 0, 0, 0, 0, b)),
        any::<u16>().prop_map(|b| Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, b)),
        any::<u8>().prop_map(|b| Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, u16::from(b))),
        Just(Ipv6Addr::UNSPECIFIED),
    ]
}

fn mac_strategy() -> impl Strategy<Value = MacAddr> {
    prop_oneof![
        any::<[u8; 6]>().prop_map(MacAddr),
        Just(H),
        Just(US),
        Just(MacAddr::BROADCAST),
        Just(MacAddr::ZERO),
    ]
}

fn arp_strategy() -> impl Strategy<Value = Vec<u8>> {
    (
        mac_strategy(),
        mac_strategy(),
        0u16..4,
        mac_strategy(),
        ipv4_strategy(),
        mac_strategy(),
        prop_oneof![Just(OUR4), ipv4_strategy()],
    )
        .prop_map(|(d, s, op, sha, spa, tha, tpa)| arp_frame(d, s, op, sha, spa, tha, tpa))
}

fn ndp_strategy() -> impl Strategy<Value = Vec<u8>> {
    (
        mac_strategy(),
        mac_strategy(),
        ipv6_strategy(),
        prop_oneof![Just(OUR6), ipv6_strategy()],
        prop_oneof![4 => Just(255u8), 1 => any::<u8>()],
        prop_oneof![
            Just(133u8),
            Just(134u8),
            Just(135u8),
            Just(136u8),
            any::<u8>()
        ],
        prop_oneof![4 => Just(0u8), 1 => any::<u8>()],
        any::<u8>(),
        prop_oneof![Just(OUR6), ipv6_strategy()],
        prop_oneof![
            3 => Just(Vec::new()),
            1 => proptest::collection::vec(any::<u8>(), 0..24),
        ],
        proptest::option::weighted(0.8, (1u8..=2, mac_strategy())),
    )
        .prop_map(
            |(d, s, src, dst, hop, ty, code, flags, target, tail, option)| {
                let mut icmp = vec![ty, code, 0, 0, flags, 0, 0, 0];
                icmp.extend_from_slice(&target.octets());
                if let Some((kind, mac)) = option {
                    icmp.extend(lladdr_option(kind, mac));
                }
                icmp.extend(tail);
                ndp_frame(d, s, src, dst, hop, icmp)
            },
        )
}

fn frame_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..128),
        arp_strategy(),
        ndp_strategy(),
        // Recorded frames with a few bytes changed.
        (
            prop_oneof![
                Just(ARP_REQUEST),
                Just(ARP_REPLY),
                Just(NS_WITH_SLLA),
                Just(SOLICITED_NA),
                Just(UNSOLICITED_OVERRIDE_NA),
            ],
            proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
            any::<usize>(),
        )
            .prop_map(|(text, edits, cut)| {
                let mut f = hex(text);
                for (at, byte) in edits {
                    let at = at % f.len();
                    f[at] = byte;
                }
                let cut = cut % (f.len() + 8);
                f.truncate(cut.max(1));
                f
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The snooper takes any bytes without panicking, and whatever it
    /// learns is on the port's subnets, at a MAC a neighbor may have.
    #[test]
    fn arbitrary_frames_never_panic_nor_teach_off_subnet(
        frames in proptest::collection::vec(frame_strategy(), 1..16),
    ) {
        let p = port();
        let mut t = table();
        let mut out = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            let now = i as u64 * SEC;
            if let Some(learned) = t.learn(PORT, &p, frame, now) {
                prop_assert!(on_subnet(learned.ip), "learned {:?}", learned);
            }
            t.poll(now, &mut out);
        }
        for e in t.entries() {
            prop_assert!(on_subnet(e.ip), "entry {:?}", e);
            let mac = e.mac.expect("learnt entries have a MAC");
            prop_assert!(mac.is_unicast() && mac != MacAddr::ZERO && mac != US, "entry {:?}", e);
        }
    }

    /// Any solicitation the table asks for builds into a frame the
    /// reference checksum accepts, or into nothing.
    #[test]
    fn built_solicitations_are_well_formed(target in ipv6_strategy(), probe in any::<bool>()) {
        let sol = Solicitation { port: PORT, target: v6(target), unicast_to: probe.then_some(H) };
        let mut buf = [0u8; 128];
        if let Some(len) = build_solicitation(&sol, &port(), &mut buf) {
            prop_assert!(on_subnet(v6(target)));
            let src = Ipv6Addr::from(<[u8; 16]>::try_from(&buf[22..38]).unwrap());
            let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&buf[38..54]).unwrap());
            let icmp = &buf[54..len];
            prop_assert_eq!(u16::from_be_bytes([icmp[2], icmp[3]]), reference_icmpv6_checksum(src, dst, icmp));
        } else {
            prop_assert!(!on_subnet(v6(target)));
        }
    }
}

/// Lookup cost on the hot path. Run with
/// `cargo test --release -p dataplane --test neighbor lookup_cost -- --ignored --nocapture`.
#[test]
#[ignore]
fn lookup_cost() {
    let config = NeighborConfig {
        max_entries: 4096,
        ..NeighborConfig::default()
    };
    let mut t = NeighborTable::new(config);
    let p = PortConfig {
        ipv4: vec!["10.0.0.1/20".parse().unwrap()],
        ..port()
    };
    let ips: Vec<IpAddr> = (0..4000u32)
        .map(|i| v4(Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 2)) + i)))
        .collect();
    for ip in &ips {
        let IpAddr::V4(a) = ip else { unreachable!() };
        t.learn(PORT, &p, &arp_reply_to_us(H, *a), 0);
    }
    assert_eq!(t.len(), ips.len());
    let rounds = 5_000u64;
    let start = std::time::Instant::now();
    let mut hits = 0u64;
    for r in 0..rounds {
        for ip in &ips {
            hits += u64::from(t.lookup(PORT, *ip, r).is_some());
        }
    }
    let elapsed = start.elapsed();
    let n = rounds * ips.len() as u64;
    assert_eq!(hits, n);
    println!(
        "{n} lookups over {} entries: {:.1} ns/lookup",
        ips.len(),
        elapsed.as_nanos() as f64 / n as f64
    );
}
