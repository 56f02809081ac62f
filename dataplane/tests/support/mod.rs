//! Shared by the pipeline tests: a three-port router on in-memory ports
//! and frame builders written from the RFCs' layouts with their own
//! checksum code, independent of the packet library under test.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dataplane::fib::{
    FibConfig, FibWriter, GroupId, Member, NextHop, NextHopGroup, NextHopId, RouteTarget,
};
use dataplane::packet::MacAddr;
use dataplane::pipeline::{
    DataplaneCore, DropReason, Forwarder, ForwarderConfig, PortConfig, PuntClass,
};
use dataplane::port::FramePool;
use dataplane::port::memory::MemoryPort;

pub const LAN: u16 = 0;
pub const UP1: u16 = 1;
pub const UP2: u16 = 2;

pub const LAN_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
pub const UP1_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x02]);
pub const UP2_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x03]);
pub const HOST_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xaa]);
pub const GW1_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x11]);
pub const GW2_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x21]);

pub const HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
pub const LAN_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const UP1_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub const REMOTE: Ipv4Addr = Ipv4Addr::new(100, 64, 1, 2);
pub const HOST6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 0x100);
pub const LAN6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 1);
pub const UP1_6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 2);
pub const REMOTE6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x100, 0, 0, 0, 0, 2);

pub const NH_HOST: NextHopId = NextHopId(1);
pub const NH_GW1: NextHopId = NextHopId(2);
pub const NH_GW2: NextHopId = NextHopId(3);
pub const NH_HOST6: NextHopId = NextHopId(4);
pub const NH_GW1_6: NextHopId = NextHopId(5);
pub const NH_GW2_6: NextHopId = NextHopId(6);
pub const NH_UNRESOLVED: NextHopId = NextHopId(7);

pub const G_HOST: GroupId = GroupId(1);
pub const G_PB: GroupId = GroupId(2);
pub const G_HOST6: GroupId = GroupId(3);
pub const G_PB6: GroupId = GroupId(4);
pub const G_UNRESOLVED: GroupId = GroupId(5);

/// Knobs a test may turn before the lab is built.
pub struct LabOptions {
    pub forwarder: ForwarderConfig,
    pub pool_frames: u32,
    pub tx_queue_len: usize,
    pub punt_queue_len: usize,
    pub up1_mtu: u16,
}

impl Default for LabOptions {
    fn default() -> Self {
        Self {
            forwarder: ForwarderConfig::default(),
            pool_frames: 1024,
            tx_queue_len: 256,
            punt_queue_len: 256,
            up1_mtu: 1500,
        }
    }
}

/// A router with a LAN port and two uplinks (gw1 primary, gw2 backup).
pub struct Lab {
    pub fib: FibWriter,
    pub core: DataplaneCore<MemoryPort>,
    pub clock: u64,
}

fn net(s: &str) -> ipnet::IpNet {
    s.parse().unwrap()
}

impl Lab {
    pub fn new() -> Self {
        Self::with(LabOptions::default())
    }

    pub fn with(opts: LabOptions) -> Self {
        let (mut fib, readers) = FibWriter::new(FibConfig {
            v4_first_stride: 16,
            v6_first_stride: 16,
            max_nexthops: 64,
        });
        let v4 = |a: Ipv4Addr| Some(IpAddr::V4(a));
        let v6 = |a: Ipv6Addr| Some(IpAddr::V6(a));
        let hops = [
            (NH_HOST, LAN, v4(HOST), Some(HOST_MAC)),
            (NH_GW1, UP1, v4(Ipv4Addr::new(192, 0, 2, 1)), Some(GW1_MAC)),
            (
                NH_GW2,
                UP2,
                v4(Ipv4Addr::new(198, 51, 100, 1)),
                Some(GW2_MAC),
            ),
            (NH_HOST6, LAN, v6(HOST6), Some(HOST_MAC)),
            (
                NH_GW1_6,
                UP1,
                v6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1)),
                Some(GW1_MAC),
            ),
            (
                NH_GW2_6,
                UP2,
                v6(Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 1)),
                Some(GW2_MAC),
            ),
            (NH_UNRESOLVED, UP1, v4(Ipv4Addr::new(192, 0, 2, 9)), None),
        ];
        for (id, port, gateway, mac) in hops {
            fib.set_nexthop(id, NextHop { port, gateway, mac }).unwrap();
            fib.liveness().set(id, true);
        }
        let one = |n| {
            vec![Member {
                nexthop: n,
                weight: 1,
            }]
        };
        fib.set_group(G_HOST, NextHopGroup::new(&[one(NH_HOST)]).unwrap())
            .unwrap();
        fib.set_group(
            G_PB,
            NextHopGroup::new(&[one(NH_GW1), one(NH_GW2)]).unwrap(),
        )
        .unwrap();
        fib.set_group(G_HOST6, NextHopGroup::new(&[one(NH_HOST6)]).unwrap())
            .unwrap();
        fib.set_group(
            G_PB6,
            NextHopGroup::new(&[one(NH_GW1_6), one(NH_GW2_6)]).unwrap(),
        )
        .unwrap();
        fib.set_group(
            G_UNRESOLVED,
            NextHopGroup::new(&[one(NH_UNRESOLVED)]).unwrap(),
        )
        .unwrap();
        let routes = [
            ("10.0.0.100/32", RouteTarget::Group(G_HOST)),
            ("100.64.0.0/10", RouteTarget::Group(G_PB)),
            ("100.100.0.0/16", RouteTarget::Group(G_UNRESOLVED)),
            ("10.0.0.1/32", RouteTarget::Local),
            ("192.0.2.2/32", RouteTarget::Local),
            ("198.51.100.2/32", RouteTarget::Local),
            ("203.0.113.0/24", RouteTarget::Blackhole),
            ("198.18.0.0/15", RouteTarget::Unreachable),
            ("2001:db8:a::100/128", RouteTarget::Group(G_HOST6)),
            ("2001:db8:100::/40", RouteTarget::Group(G_PB6)),
            ("2001:db8:a::1/128", RouteTarget::Local),
            ("2001:db8:dead::/48", RouteTarget::Blackhole),
            ("2001:db8:beef::/48", RouteTarget::Unreachable),
        ];
        for (prefix, target) in routes {
            fib.set_route(net(prefix), target).unwrap();
        }
        fib.publish();

        let ports = vec![
            PortConfig {
                name: "lan0".into(),
                mac: LAN_MAC,
                mtu: 1500,
                ipv4: vec![net("10.0.0.1/24").to_string().parse().unwrap()],
                ipv6: vec![
                    "2001:db8:a::1/64".parse().unwrap(),
                    "fe80::1/64".parse().unwrap(),
                ],
            },
            PortConfig {
                name: "up1".into(),
                mac: UP1_MAC,
                mtu: opts.up1_mtu,
                ipv4: vec!["192.0.2.2/24".parse().unwrap()],
                ipv6: vec!["2001:db8:1::2/64".parse().unwrap()],
            },
            PortConfig {
                name: "up2".into(),
                mac: UP2_MAC,
                mtu: 1500,
                ipv4: vec!["198.51.100.2/24".parse().unwrap()],
                ipv6: vec!["2001:db8:2::2/64".parse().unwrap()],
            },
        ];
        let forwarder = Forwarder::new(readers.reader(), ports, &opts.forwarder, 0);
        let pool = FramePool::new(opts.pool_frames, 2048).unwrap();
        let io = (0..3).map(|_| MemoryPort::new(usize::MAX)).collect();
        let core = DataplaneCore::new(pool, forwarder, io, opts.tx_queue_len, opts.punt_queue_len);
        Lab {
            fib,
            core,
            clock: 1_000_000_000,
        }
    }

    pub fn inject(&mut self, port: u16, frame: &[u8]) {
        self.core.ports[port as usize].inject(frame);
    }

    /// Delivers `frame` on `port`, runs one loop turn, returns what each
    /// port sent.
    pub fn send(&mut self, port: u16, frame: &[u8]) -> [Vec<Vec<u8>>; 3] {
        self.inject(port, frame);
        self.poll()
    }

    pub fn poll(&mut self) -> [Vec<Vec<u8>>; 3] {
        self.clock += 1_000;
        self.core.poll(self.clock);
        std::array::from_fn(|p| self.core.ports[p].take_sent())
    }

    pub fn punted(&mut self) -> Vec<(PuntClass, Vec<u8>)> {
        let mut out = Vec::new();
        self.core
            .drain_punted(|p, bytes| out.push((p.class, bytes.to_vec())));
        out
    }

    pub fn drops(&self, reason: DropReason) -> u64 {
        self.core.forwarder.counters().drops(reason)
    }

    pub fn total_drops(&self) -> u64 {
        self.core.forwarder.counters().total_drops()
    }
}

// ---- independent checksum and frame builders ------------------------------

/// RFC 1071 one's-complement sum, written out plainly for the tests.
pub fn ones_sum(data: &[u8]) -> u32 {
    let mut sum = 0u32;
    for pair in data.chunks(2) {
        let word = if pair.len() == 2 {
            u32::from(pair[0]) << 8 | u32::from(pair[1])
        } else {
            u32::from(pair[0]) << 8
        };
        sum += word;
    }
    sum
}

pub fn fold_complement(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

pub fn checksum(data: &[u8]) -> u16 {
    fold_complement(ones_sum(data))
}

pub fn ethernet(dst: MacAddr, src: MacAddr, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An IPv4 header (with `options`, padded by the caller to 4 bytes) and
/// payload, checksum filled.
pub fn ipv4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    ttl: u8,
    dont_frag: bool,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0);
    let ihl = 20 + options.len();
    let total = ihl + payload.len();
    let mut p = vec![0u8; 20];
    p[0] = 0x40 | (ihl / 4) as u8;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
    if dont_frag {
        p[6] = 0x40;
    }
    p[8] = ttl;
    p[9] = protocol;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    p.extend_from_slice(options);
    let c = checksum(&p);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

pub fn udp(sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + data.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(data);
    u
}

/// A LAN host's UDP packet to `dst`, as a frame addressed to the router.
pub fn udp4_frame(dst: Ipv4Addr, ttl: u8, data_len: usize) -> Vec<u8> {
    let data = vec![0xab; data_len];
    ethernet(
        LAN_MAC,
        HOST_MAC,
        0x0800,
        &ipv4(HOST, dst, 17, ttl, false, &[], &udp(4000, 53, &data)),
    )
}

pub fn ipv6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: u8,
    hop_limit: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut p = vec![0u8; 40];
    p[0] = 0x60;
    p[4..6].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    p[6] = next_header;
    p[7] = hop_limit;
    p[8..24].copy_from_slice(&src.octets());
    p[24..40].copy_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

pub fn udp6_frame(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, data_len: usize) -> Vec<u8> {
    let data = vec![0xcd; data_len];
    ethernet(
        LAN_MAC,
        HOST_MAC,
        0x86dd,
        &ipv6(src, dst, 17, hop_limit, &udp(4000, 53, &data)),
    )
}

/// ICMPv6 checksum over the RFC 8200 §8.1 pseudo-header.
pub fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, icmp: &[u8]) -> u16 {
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&(icmp.len() as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 58]);
    fold_complement(ones_sum(&pseudo) + ones_sum(icmp))
}

/// What the router must send when it forwards `frame` to `gw_mac` out of
/// a port with `port_mac`: new MACs, TTL − 1, checksum recomputed.
pub fn expected_forward_v4(frame: &[u8], port_mac: MacAddr, gw_mac: MacAddr) -> Vec<u8> {
    let mut f = frame.to_vec();
    f[0..6].copy_from_slice(&gw_mac.octets());
    f[6..12].copy_from_slice(&port_mac.octets());
    f[14 + 8] -= 1;
    f[14 + 10] = 0;
    f[14 + 11] = 0;
    let ihl = usize::from(f[14] & 0xf) * 4;
    let c = checksum(&f[14..14 + ihl]);
    f[14 + 10..14 + 12].copy_from_slice(&c.to_be_bytes());
    f
}

pub fn expected_forward_v6(frame: &[u8], port_mac: MacAddr, gw_mac: MacAddr) -> Vec<u8> {
    let mut f = frame.to_vec();
    f[0..6].copy_from_slice(&gw_mac.octets());
    f[6..12].copy_from_slice(&port_mac.octets());
    f[14 + 7] -= 1;
    f
}
