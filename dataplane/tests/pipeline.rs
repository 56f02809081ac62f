//! The forwarding pipeline end to end on in-memory ports: exact output
//! bytes, every drop reason, every ICMP error, and no panic on any
//! truncation of a valid frame.

mod support;

use std::net::{Ipv4Addr, Ipv6Addr};

use dataplane::pipeline::{DropReason, ForwarderConfig, PuntClass};
use support::*;

fn icmpv4_of(frame: &[u8]) -> (&[u8], &[u8]) {
    assert_eq!(&frame[12..14], &[0x08, 0x00], "IPv4 ethertype");
    let ip = &frame[14..];
    let ihl = usize::from(ip[0] & 0xf) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    (&ip[..ihl], &ip[ihl..total])
}

/// Checks an ICMPv4 error sent to the LAN host about `original`.
fn assert_icmpv4_error(
    frame: &[u8],
    from: Ipv4Addr,
    icmp_type: u8,
    code: u8,
    rest: u32,
    original: &[u8],
) {
    assert_eq!(&frame[0..6], &HOST_MAC.octets(), "back to the host's MAC");
    assert_eq!(&frame[6..12], &LAN_MAC.octets());
    let (ip, icmp) = icmpv4_of(frame);
    assert_eq!(checksum(ip), 0, "IPv4 header checksum");
    assert_eq!(ip[9], 1, "protocol ICMP");
    assert_eq!(&ip[12..16], &from.octets(), "source: the router's address");
    assert_eq!(
        &ip[16..20],
        &HOST.octets(),
        "destination: the offending source"
    );
    assert_eq!(checksum(icmp), 0, "ICMP checksum");
    assert_eq!((icmp[0], icmp[1]), (icmp_type, code));
    assert_eq!(
        u32::from_be_bytes([icmp[4], icmp[5], icmp[6], icmp[7]]),
        rest
    );
    let quoted = &icmp[8..];
    let expect = &original[14..][..quoted.len()];
    assert_eq!(quoted, expect, "quotes the original datagram as received");
    assert!(
        quoted.len() >= 28,
        "at least the IP header and 8 bytes (RFC 792)"
    );
    assert!(20 + icmp.len() <= 576, "RFC 1812 §4.3.2.3 size limit");
}

fn assert_icmpv6_error(
    frame: &[u8],
    from: Ipv6Addr,
    to: Ipv6Addr,
    icmp_type: u8,
    code: u8,
    rest: u32,
    original: &[u8],
) {
    assert_eq!(&frame[12..14], &[0x86, 0xdd]);
    let ip = &frame[14..];
    let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    assert_eq!(ip[6], 58);
    assert_eq!(&ip[8..24], &from.octets());
    assert_eq!(&ip[24..40], &to.octets());
    let icmp = &ip[40..40 + plen];
    assert_eq!(icmpv6_checksum(from, to, icmp), 0, "ICMPv6 checksum");
    assert_eq!((icmp[0], icmp[1]), (icmp_type, code));
    assert_eq!(
        u32::from_be_bytes([icmp[4], icmp[5], icmp[6], icmp[7]]),
        rest
    );
    let quoted = &icmp[8..];
    assert_eq!(quoted, &original[14..][..quoted.len()]);
    assert!(40 + icmp.len() <= 1280, "RFC 4443 §2.4(c)");
}

#[test]
fn ipv4_forwarded_bytes_are_exact() {
    let mut lab = Lab::new();
    let frame = udp4_frame(REMOTE, 64, 18);
    let sent = lab.send(LAN, &frame);
    assert_eq!(
        sent[UP1 as usize],
        vec![expected_forward_v4(&frame, UP1_MAC, GW1_MAC)]
    );
    assert!(sent[UP2 as usize].is_empty() && sent[LAN as usize].is_empty());
    assert_eq!(lab.total_drops(), 0);
    let c = lab.core.forwarder.counters();
    assert_eq!(c.forwarded.get(), 1);
    assert_eq!(c.ports[UP1 as usize].tx_packets.get(), 1);
    assert_eq!(c.ports[UP1 as usize].tx_bytes.get(), frame.len() as u64);
    assert_eq!(c.ports[LAN as usize].rx_bytes.get(), frame.len() as u64);
}

#[test]
fn ipv4_with_options_is_forwarded_exactly() {
    let mut lab = Lab::new();
    // NOP, NOP, NOP, EOL: a 24-byte header.
    let ip = ipv4(
        HOST,
        REMOTE,
        17,
        9,
        false,
        &[1, 1, 1, 0],
        &udp(1, 2, &[7; 10]),
    );
    let frame = ethernet(LAN_MAC, HOST_MAC, 0x0800, &ip);
    let sent = lab.send(LAN, &frame);
    assert_eq!(
        sent[UP1 as usize],
        vec![expected_forward_v4(&frame, UP1_MAC, GW1_MAC)]
    );
}

#[test]
fn ipv6_forwarded_bytes_are_exact() {
    let mut lab = Lab::new();
    let frame = udp6_frame(HOST6, REMOTE6, 64, 30);
    let sent = lab.send(LAN, &frame);
    assert_eq!(
        sent[UP1 as usize],
        vec![expected_forward_v6(&frame, UP1_MAC, GW1_MAC)]
    );
    assert_eq!(lab.total_drops(), 0);
}

#[test]
fn backup_tier_takes_over_when_primary_is_down_and_gives_back() {
    let mut lab = Lab::new();
    let frame = udp4_frame(REMOTE, 64, 18);
    lab.fib.liveness().set(NH_GW1, false);
    let sent = lab.send(LAN, &frame);
    assert_eq!(
        sent[UP2 as usize],
        vec![expected_forward_v4(&frame, UP2_MAC, GW2_MAC)]
    );
    lab.fib.liveness().set(NH_GW1, true);
    let sent = lab.send(LAN, &frame);
    assert_eq!(sent[UP1 as usize].len(), 1);
}

#[test]
fn local_destinations_are_punted_with_their_class() {
    let mut lab = Lab::new();
    lab.send(LAN, &udp4_frame(LAN_ADDR, 1, 4));
    // OSPF hello to AllSPFRouters, VRRP advert, BFD control, ARP.
    let ospf = ethernet(
        MacAddr::from_bytes(&[1, 0, 0x5e, 0, 0, 5]).unwrap(),
        HOST_MAC,
        0x0800,
        &ipv4(
            HOST,
            Ipv4Addr::new(224, 0, 0, 5),
            89,
            1,
            false,
            &[],
            &[0; 24],
        ),
    );
    lab.send(LAN, &ospf);
    let vrrp = ethernet(
        MacAddr::from_bytes(&[1, 0, 0x5e, 0, 0, 18]).unwrap(),
        HOST_MAC,
        0x0800,
        &ipv4(
            HOST,
            Ipv4Addr::new(224, 0, 0, 18),
            112,
            255,
            false,
            &[],
            &[0; 8],
        ),
    );
    lab.send(LAN, &vrrp);
    let bfd = ethernet(
        LAN_MAC,
        HOST_MAC,
        0x0800,
        &ipv4(
            HOST,
            LAN_ADDR,
            17,
            255,
            false,
            &[],
            &udp(49152, 3784, &[0; 24]),
        ),
    );
    lab.send(LAN, &bfd);
    let arp = ethernet(
        dataplane::packet::MacAddr::BROADCAST,
        HOST_MAC,
        0x0806,
        &[0; 28],
    );
    lab.send(LAN, &arp);
    let classes: Vec<PuntClass> = lab.punted().into_iter().map(|(c, _)| c).collect();
    // BFD goes to the core's own engine, never to the host (bfd_pipeline.rs).
    assert_eq!(
        classes,
        vec![
            PuntClass::Local,
            PuntClass::Ospf,
            PuntClass::Vrrp,
            PuntClass::Arp
        ]
    );
    assert_eq!(lab.core.forwarder.counters().punts(PuntClass::Bfd), 1);
    assert_eq!(
        lab.total_drops(),
        0,
        "TTL 1 to a local address is not an expiry"
    );
}

#[test]
fn ipv6_neighbor_discovery_is_punted() {
    let mut lab = Lab::new();
    // NS to the solicited-node multicast of 2001:db8:a::1.
    let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
    ns.extend_from_slice(&LAN6.octets());
    let dst = "ff02::1:ff00:1".parse().unwrap();
    let frame = ethernet(
        MacAddr([0x33, 0x33, 0xff, 0, 0, 1]),
        HOST_MAC,
        0x86dd,
        &ipv6(HOST6, dst, 58, 255, &ns),
    );
    lab.send(LAN, &frame);
    let p = lab.punted();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].0, PuntClass::NeighborDiscovery);
    assert_eq!(p[0].1, frame);
}

#[test]
fn ttl_expiry_sends_time_exceeded() {
    let mut lab = Lab::new();
    let frame = udp4_frame(REMOTE, 1, 18);
    let sent = lab.send(LAN, &frame);
    assert_eq!(lab.drops(DropReason::TtlExpired), 1);
    assert_eq!(sent[LAN as usize].len(), 1);
    assert_icmpv4_error(&sent[LAN as usize][0], LAN_ADDR, 11, 0, 0, &frame);
    assert!(sent[UP1 as usize].is_empty());
}

#[test]
fn no_route_sends_net_unreachable() {
    let mut lab = Lab::new();
    let frame = udp4_frame(Ipv4Addr::new(8, 8, 8, 8), 64, 18);
    let sent = lab.send(LAN, &frame);
    assert_eq!(lab.drops(DropReason::NoRoute), 1);
    assert_icmpv4_error(&sent[LAN as usize][0], LAN_ADDR, 3, 0, 0, &frame);
}

#[test]
fn reject_route_sends_host_unreachable_and_blackhole_is_silent() {
    let mut lab = Lab::new();
    let frame = udp4_frame(Ipv4Addr::new(198, 18, 0, 1), 64, 18);
    let sent = lab.send(LAN, &frame);
    assert_eq!(lab.drops(DropReason::Unreachable), 1);
    assert_icmpv4_error(&sent[LAN as usize][0], LAN_ADDR, 3, 1, 0, &frame);

    let sent = lab.send(LAN, &udp4_frame(Ipv4Addr::new(203, 0, 113, 5), 64, 18));
    assert_eq!(lab.drops(DropReason::Blackhole), 1);
    assert!(sent.iter().all(Vec::is_empty));
}

#[test]
fn all_tiers_down_sends_host_unreachable() {
    let mut lab = Lab::new();
    lab.fib.liveness().set(NH_GW1, false);
    lab.fib.liveness().set(NH_GW2, false);
    let frame = udp4_frame(REMOTE, 64, 18);
    let sent = lab.send(LAN, &frame);
    assert_eq!(lab.drops(DropReason::NoLiveNextHop), 1);
    assert_icmpv4_error(&sent[LAN as usize][0], LAN_ADDR, 3, 1, 0, &frame);
}

#[test]
fn df_packet_over_mtu_sends_frag_needed_with_mtu() {
    let mut lab = Lab::with(LabOptions {
        up1_mtu: 1000,
        ..LabOptions::default()
    });
    let data = vec![0x5a; 1200];
    let ip = ipv4(HOST, REMOTE, 17, 64, true, &[], &udp(1, 2, &data));
    let frame = ethernet(LAN_MAC, HOST_MAC, 0x0800, &ip);
    let sent = lab.send(LAN, &frame);
    assert_eq!(lab.drops(DropReason::MtuExceeded), 1);
    assert!(sent[UP1 as usize].is_empty());
    assert_icmpv4_error(&sent[LAN as usize][0], LAN_ADDR, 3, 4, 1000, &frame);
}

#[test]
fn packet_over_mtu_without_df_is_fragmented_and_reassembles() {
    let mut lab = Lab::with(LabOptions {
        up1_mtu: 576,
        ..LabOptions::default()
    });
    let data: Vec<u8> = (0..1400u32).map(|i| i as u8).collect();
    // A copied option (security, 0x82, len 4 → padded here to 4) and a
    // non-copied one (NOP).
    let ip = ipv4(
        HOST,
        REMOTE,
        17,
        64,
        false,
        &[0x82, 4, 0, 0, 1, 1, 1, 0],
        &udp(1, 2, &data),
    );
    let frame = ethernet(LAN_MAC, HOST_MAC, 0x0800, &ip);
    let sent = lab.send(LAN, &frame);
    let frags = &sent[UP1 as usize];
    assert!(frags.len() >= 3, "{} fragments", frags.len());
    let mut payload = vec![0u8; 0];
    for (i, f) in frags.iter().enumerate() {
        assert_eq!(&f[0..6], &GW1_MAC.octets());
        let ip = &f[14..];
        let ihl = usize::from(ip[0] & 0xf) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        assert!(total <= 576);
        assert_eq!(checksum(&ip[..ihl]), 0);
        assert_eq!(ip[8], 63, "TTL decremented once");
        let flags = u16::from_be_bytes([ip[6], ip[7]]);
        let offset = usize::from(flags & 0x1fff) * 8;
        let more = flags & 0x2000 != 0;
        assert_eq!(more, i + 1 < frags.len());
        assert_eq!(offset, payload.len());
        if i == 0 {
            assert_eq!(ihl, 28, "first fragment keeps every option");
        } else {
            assert_eq!(&ip[20..24], &[0x82, 4, 0, 0], "only copied options");
            assert_eq!(ihl, 24);
        }
        if more {
            assert_eq!((total - ihl) % 8, 0);
        }
        payload.extend_from_slice(&ip[ihl..total]);
    }
    assert_eq!(
        payload,
        ip[28..].to_vec(),
        "fragments reassemble to the original payload"
    );
    assert_eq!(
        lab.core.forwarder.counters().fragments_sent.get(),
        frags.len() as u64
    );
}

#[test]
fn fragmentation_impossible_is_counted() {
    let mut lab = Lab::with(LabOptions {
        up1_mtu: 24,
        ..LabOptions::default()
    });
    lab.send(LAN, &udp4_frame(REMOTE, 64, 40));
    assert_eq!(lab.drops(DropReason::FragmentationFailed), 1);
}

#[test]
fn ipv6_errors() {
    let mut lab = Lab::with(LabOptions {
        up1_mtu: 1280,
        ..LabOptions::default()
    });
    // Hop limit exceeded.
    let f = udp6_frame(HOST6, REMOTE6, 1, 10);
    let sent = lab.send(LAN, &f);
    assert_icmpv6_error(&sent[LAN as usize][0], LAN6, HOST6, 3, 0, 0, &f);
    // No route.
    let f = udp6_frame(HOST6, "2001:db8:ffff::1".parse().unwrap(), 64, 10);
    let sent = lab.send(LAN, &f);
    assert_icmpv6_error(&sent[LAN as usize][0], LAN6, HOST6, 1, 0, 0, &f);
    // Reject route.
    let f = udp6_frame(HOST6, "2001:db8:beef::1".parse().unwrap(), 64, 10);
    let sent = lab.send(LAN, &f);
    assert_icmpv6_error(&sent[LAN as usize][0], LAN6, HOST6, 1, 6, 0, &f);
    // Packet too big (routers never fragment IPv6).
    let f = udp6_frame(HOST6, REMOTE6, 64, 1300);
    let sent = lab.send(LAN, &f);
    assert_icmpv6_error(&sent[LAN as usize][0], LAN6, HOST6, 2, 0, 1280, &f);
    // All next hops down.
    lab.fib.liveness().set(NH_GW1_6, false);
    lab.fib.liveness().set(NH_GW2_6, false);
    let f = udp6_frame(HOST6, REMOTE6, 64, 10);
    let sent = lab.send(LAN, &f);
    assert_icmpv6_error(&sent[LAN as usize][0], LAN6, HOST6, 1, 3, 0, &f);
    // Blackhole: silent.
    let sent = lab.send(
        LAN,
        &udp6_frame(HOST6, "2001:db8:dead::1".parse().unwrap(), 64, 10),
    );
    assert!(sent.iter().all(Vec::is_empty));
    for r in [
        DropReason::TtlExpired,
        DropReason::NoRoute,
        DropReason::Unreachable,
        DropReason::MtuExceeded,
        DropReason::NoLiveNextHop,
        DropReason::Blackhole,
    ] {
        assert_eq!(lab.drops(r), 1, "{r:?}");
    }
}

#[test]
fn link_local_source_is_not_forwarded_beyond_its_link() {
    let mut lab = Lab::new();
    let src: Ipv6Addr = "fe80::aa".parse().unwrap();
    let f = udp6_frame(src, REMOTE6, 64, 10);
    let sent = lab.send(LAN, &f);
    assert_eq!(lab.drops(DropReason::SourceBeyondScope), 1);
    // Answered straight to the previous hop, from the port's address.
    let reply = &sent[LAN as usize][0];
    assert_eq!(&reply[0..6], &HOST_MAC.octets());
    assert_icmpv6_error(reply, LAN6, src, 1, 2, 0, &f);
}

#[test]
fn icmp_errors_are_rate_limited() {
    let mut lab = Lab::with(LabOptions {
        forwarder: ForwarderConfig {
            icmp_errors_per_sec: 10,
            icmp_error_burst: 3,
            ..ForwarderConfig::default()
        },
        ..LabOptions::default()
    });
    for _ in 0..5 {
        lab.inject(LAN, &udp4_frame(REMOTE, 1, 18));
    }
    let sent = lab.poll();
    assert_eq!(sent[LAN as usize].len(), 3);
    let c = lab.core.forwarder.counters();
    assert_eq!(c.icmp_errors_rate_limited.get(), 2);
    assert_eq!(
        c.drops(DropReason::TtlExpired),
        5,
        "the packets are dropped either way"
    );
}

#[test]
fn no_icmp_error_about_an_icmp_error() {
    let mut lab = Lab::new();
    // An ICMP destination-unreachable with TTL 1.
    let icmp = [3u8, 1, 0, 0, 0, 0, 0, 0];
    let f = ethernet(
        LAN_MAC,
        HOST_MAC,
        0x0800,
        &ipv4(HOST, REMOTE, 1, 1, false, &[], &icmp),
    );
    let sent = lab.send(LAN, &f);
    assert_eq!(lab.drops(DropReason::TtlExpired), 1);
    assert!(sent[LAN as usize].is_empty());
}

#[test]
fn header_faults_are_dropped_with_their_reason() {
    let mut lab = Lab::new();
    let good = udp4_frame(REMOTE, 64, 18);

    lab.send(LAN, &good[..10]);
    assert_eq!(lab.drops(DropReason::FrameTooShort), 1);

    let mut other_mac = good.clone();
    other_mac[5] = 0x77;
    lab.send(LAN, &other_mac);
    assert_eq!(lab.drops(DropReason::NotOurMac), 1);

    let mut tagged = good[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
    tagged.extend_from_slice(&good[12..]);
    lab.send(LAN, &tagged);
    assert_eq!(lab.drops(DropReason::VlanNotConfigured), 1);

    let mut bad_version = good.clone();
    bad_version[14] = 0x55;
    lab.send(LAN, &bad_version);
    assert_eq!(lab.drops(DropReason::Ipv4HeaderInvalid), 1);

    let mut bad_sum = good.clone();
    bad_sum[14 + 10] ^= 0xff;
    lab.send(LAN, &bad_sum);
    assert_eq!(lab.drops(DropReason::Ipv4BadChecksum), 1);

    let mut bad6 = udp6_frame(HOST6, REMOTE6, 64, 10);
    bad6[14 + 4] = 0xff;
    lab.send(LAN, &bad6);
    assert_eq!(lab.drops(DropReason::Ipv6HeaderInvalid), 1);

    lab.send(
        LAN,
        &ethernet(
            LAN_MAC,
            HOST_MAC,
            0x0800,
            &ipv4(
                Ipv4Addr::new(127, 0, 0, 1),
                REMOTE,
                17,
                64,
                false,
                &[],
                &udp(1, 2, &[]),
            ),
        ),
    );
    assert_eq!(lab.drops(DropReason::MartianSource), 1);

    lab.send(
        LAN,
        &ethernet(
            LAN_MAC,
            HOST_MAC,
            0x0800,
            &ipv4(
                HOST,
                Ipv4Addr::new(127, 0, 0, 1),
                17,
                64,
                false,
                &[],
                &udp(1, 2, &[]),
            ),
        ),
    );
    assert_eq!(lab.drops(DropReason::MartianDestination), 1);

    assert_eq!(lab.total_drops(), 8);
    assert!(
        lab.poll().iter().all(Vec::is_empty),
        "no ICMP for any of these"
    );
}

/// An ARP reply from 192.0.2.9 (02:00:00:00:00:99) to the router on up1.
fn arp_reply_from_gw9() -> Vec<u8> {
    let gw_mac = [0x02, 0, 0, 0, 0, 0x99];
    let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 2];
    arp.extend_from_slice(&gw_mac);
    arp.extend_from_slice(&[192, 0, 2, 9]);
    arp.extend_from_slice(&UP1_MAC.octets());
    arp.extend_from_slice(&UP1_ADDR.octets());
    ethernet(UP1_MAC, MacAddr(gw_mac), 0x0806, &arp)
}

#[test]
fn unresolved_next_hop_is_solicited_waits_and_is_released_on_reply() {
    let mut lab = Lab::new();
    let dst = Ipv4Addr::new(100, 100, 0, 1);
    let frame = udp4_frame(dst, 64, 18);
    let sent = lab.send(LAN, &frame);
    // RFC 826: a broadcast ARP request for the gateway, from up1's address.
    assert_eq!(sent[UP1 as usize].len(), 1, "one ARP request");
    let req = &sent[UP1 as usize][0];
    assert_eq!(&req[0..6], &[0xff; 6]);
    assert_eq!(&req[6..12], &UP1_MAC.octets());
    assert_eq!(&req[12..14], &[0x08, 0x06]);
    assert_eq!(&req[14 + 6..14 + 8], &[0, 1], "request");
    assert_eq!(
        &req[14 + 14..14 + 18],
        &UP1_ADDR.octets(),
        "sender: up1's address"
    );
    assert_eq!(
        &req[14 + 24..14 + 28],
        &[192, 0, 2, 9],
        "target: the gateway"
    );
    assert_eq!(lab.core.forwarder.waiting_len(), 1);
    let gw = std::net::IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9));
    assert_eq!(lab.core.forwarder.waiting_targets(), vec![(UP1, gw)]);

    // The reply releases the packet, rewritten for the learned MAC; the
    // ARP frame itself still goes to the host side.
    let sent = lab.send(UP1, &arp_reply_from_gw9());
    let mac = MacAddr([0x02, 0, 0, 0, 0, 0x99]);
    assert_eq!(
        sent[UP1 as usize],
        vec![expected_forward_v4(&frame, UP1_MAC, mac)]
    );
    assert_eq!(lab.core.forwarder.waiting_len(), 0);
    assert_eq!(lab.punted().len(), 1);
    // Later packets use the table directly.
    let sent = lab.send(LAN, &frame);
    assert_eq!(
        sent[UP1 as usize],
        vec![expected_forward_v4(&frame, UP1_MAC, mac)]
    );
}

#[test]
fn unanswered_solicitations_fail_the_neighbor_and_its_packets() {
    let mut lab = Lab::new();
    lab.send(LAN, &udp4_frame(Ipv4Addr::new(100, 100, 0, 1), 64, 18));
    let mut requests = 1;
    // RFC 4861 §7.2.2: MAX_MULTICAST_SOLICIT (3) tries RETRANS_TIMER (1 s) apart.
    for _ in 0..5 {
        lab.clock += 1_000_000_000;
        requests += lab.poll()[UP1 as usize].len();
    }
    assert_eq!(requests, 3);
    assert_eq!(lab.drops(DropReason::NeighborFailed), 1);
    assert_eq!(lab.core.forwarder.waiting_len(), 0);
    assert_eq!(lab.core.pool.available(), 1024);
}

#[test]
fn control_plane_can_tell_a_neighbor() {
    let mut lab = Lab::new();
    let frame = udp4_frame(Ipv4Addr::new(100, 100, 0, 1), 64, 18);
    lab.send(LAN, &frame);
    let gw = std::net::IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9));
    let mac = MacAddr([0x02, 0, 0, 0, 0, 0x98]);
    let core = &mut lab.core;
    core.forwarder
        .neighbor_resolved(UP1, gw, mac, &mut core.pool, &mut core.output);
    core.flush();
    let out = core.ports[UP1 as usize].take_sent();
    assert_eq!(out, vec![expected_forward_v4(&frame, UP1_MAC, mac)]);
}

#[test]
fn neighbor_queue_is_bounded_and_ages_out() {
    let mut lab = Lab::with(LabOptions {
        forwarder: ForwarderConfig {
            neighbor_queue_len: 2,
            neighbor_wait_ns: 1_000_000,
            ..ForwarderConfig::default()
        },
        ..LabOptions::default()
    });
    for _ in 0..3 {
        lab.inject(LAN, &udp4_frame(Ipv4Addr::new(100, 100, 0, 1), 64, 18));
    }
    lab.poll();
    assert_eq!(lab.drops(DropReason::NeighborQueueFull), 1);
    lab.clock += 2_000_000;
    lab.poll();
    assert_eq!(lab.drops(DropReason::NeighborTimeout), 2);
    assert_eq!(lab.core.forwarder.waiting_len(), 0);
    assert_eq!(
        lab.core.pool.available(),
        1024,
        "every frame back in the pool"
    );
}

#[test]
fn full_queues_and_empty_pool_are_counted() {
    let mut lab = Lab::with(LabOptions {
        tx_queue_len: 1,
        punt_queue_len: 1,
        ..LabOptions::default()
    });
    lab.inject(LAN, &udp4_frame(REMOTE, 64, 18));
    lab.inject(LAN, &udp4_frame(REMOTE, 64, 18));
    lab.poll();
    assert_eq!(lab.drops(DropReason::TxQueueFull), 1);
    lab.inject(LAN, &udp4_frame(LAN_ADDR, 64, 1));
    lab.inject(LAN, &udp4_frame(LAN_ADDR, 64, 1));
    lab.poll();
    assert_eq!(lab.drops(DropReason::PuntQueueFull), 1);

    // One frame in the pool: the received packet holds it, so the ICMP
    // error has nowhere to be built.
    let mut lab = Lab::with(LabOptions {
        pool_frames: 1,
        ..LabOptions::default()
    });
    lab.send(LAN, &udp4_frame(REMOTE, 1, 18));
    assert_eq!(lab.drops(DropReason::NoBuffer), 1);
    assert_eq!(lab.core.pool.available(), 1);
}

#[test]
fn punts_are_policed_per_class() {
    let mut limits = dataplane::pipeline::PuntLimit::DEFAULTS;
    limits[PuntClass::Local as usize] = dataplane::pipeline::PuntLimit {
        per_sec: 10,
        burst: 3,
    };
    let mut lab = Lab::with(LabOptions {
        forwarder: ForwarderConfig {
            punt_limits: limits,
            ..ForwarderConfig::default()
        },
        ..LabOptions::default()
    });
    for _ in 0..5 {
        lab.inject(LAN, &udp4_frame(LAN_ADDR, 64, 8));
    }
    // ARP is another class: not affected by the local flood.
    lab.inject(
        LAN,
        &ethernet(MacAddr::BROADCAST, HOST_MAC, 0x0806, &[0; 28]),
    );
    lab.poll();
    let classes: Vec<PuntClass> = lab.punted().into_iter().map(|(c, _)| c).collect();
    let count = |class| classes.iter().filter(|c| **c == class).count();
    assert_eq!((count(PuntClass::Local), count(PuntClass::Arp)), (3, 1));
    assert_eq!(lab.drops(DropReason::PuntRateLimited), 2);
    // 100 ms later one more token (10/s).
    lab.clock += 100_000_000;
    lab.inject(LAN, &udp4_frame(LAN_ADDR, 64, 8));
    lab.inject(LAN, &udp4_frame(LAN_ADDR, 64, 8));
    lab.poll();
    assert_eq!(lab.punted().len(), 1);
    assert_eq!(lab.drops(DropReason::PuntRateLimited), 3);
}

#[test]
fn unknown_rx_port_and_dropped_writer_are_counted() {
    let mut lab = Lab::new();
    let core = &mut lab.core;
    let mut burst = dataplane::port::Burst::new();
    burst.push(core.pool.alloc_copy(&udp4_frame(REMOTE, 64, 18)).unwrap());
    core.forwarder
        .process_burst(9, &mut burst, &mut core.pool, &mut core.output, 0);
    assert_eq!(core.forwarder.counters().drops(DropReason::NoSuchPort), 1);

    let Lab { fib, mut core, .. } = lab;
    drop(fib);
    core.ports[LAN as usize].inject(&udp4_frame(REMOTE, 64, 18));
    core.poll(1);
    assert_eq!(
        core.forwarder.counters().drops(DropReason::FibInconsistent),
        1
    );
}

#[test]
fn every_drop_reason_is_covered_by_these_tests() {
    // A guard: adding a DropReason without a test here fails this list.
    let covered = [
        "frame_too_short",
        "not_our_mac",
        "vlan_not_configured",
        "ipv4_header_invalid",
        "ipv4_bad_checksum",
        "ipv6_header_invalid",
        "martian_source",
        "martian_destination",
        "ttl_expired",
        "no_route",
        "blackhole",
        "unreachable_route",
        "no_live_nexthop",
        "fib_inconsistent",
        "mtu_exceeded",
        "source_beyond_scope",
        "fragmentation_failed",
        "neighbor_queue_full",
        "neighbor_timeout",
        "neighbor_failed",
        "punt_queue_full",
        "punt_rate_limited",
        "tx_queue_full",
        "no_such_port",
        "no_buffer",
        // Covered in bfd_pipeline.rs.
        "bfd_neighbor_unresolved",
        "bfd_invalid",
    ];
    let all: Vec<&str> = DropReason::ALL.iter().map(|r| r.label()).collect();
    assert_eq!(all, covered);
}

/// Valid frames of every kind the pipeline parses, cut at every byte
/// offset: nothing panics and every frame goes back to the pool.
#[test]
fn truncated_frames_never_panic() {
    let mut frames = vec![
        udp4_frame(REMOTE, 64, 18),
        udp4_frame(REMOTE, 1, 18),
        udp4_frame(LAN_ADDR, 64, 18),
        ethernet(
            LAN_MAC,
            HOST_MAC,
            0x0800,
            &ipv4(
                HOST,
                REMOTE,
                17,
                9,
                false,
                &[0x82, 4, 0, 0, 7, 3, 4, 0],
                &udp(1, 2, &[1; 12]),
            ),
        ),
        udp6_frame(HOST6, REMOTE6, 64, 20),
        udp6_frame(HOST6, "2001:db8:ffff::1".parse().unwrap(), 64, 20),
        ethernet(
            MacAddr::BROADCAST,
            HOST_MAC,
            0x0806,
            &[
                0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 0xaa, 10, 0, 0, 100, 0, 0, 0, 0, 0, 0, 10,
                0, 0, 1,
            ],
        ),
    ];
    // IPv6 with hop-by-hop → fragment → UDP.
    let mut ext = vec![44u8, 0, 1, 4, 0, 0, 0, 0];
    ext.extend_from_slice(&[17, 0, 0, 0, 0, 0, 0, 1]);
    ext.extend_from_slice(&udp(7, 9, &[3; 8]));
    frames.push(ethernet(
        LAN_MAC,
        HOST_MAC,
        0x86dd,
        &ipv6(HOST6, REMOTE6, 0, 64, &ext),
    ));
    let mut lab = Lab::new();
    for frame in &frames {
        for cut in 0..=frame.len() {
            lab.inject(LAN, &frame[..cut]);
            lab.poll();
            lab.punted();
        }
    }
    assert_eq!(lab.core.pool.available(), 1024);
}

use dataplane::packet::MacAddr;
