//! `vrouterd demo --in-memory`: the two-gateway picture run through the real pipeline
//! on in-memory ports, with no root and no NIC.
//!
//! A server-side router with one LAN port and one uplink to each of two
//! gateways; a synthetic Internet table whose routes all use one next-hop
//! group (gw1 primary, gw2 backup) and a second, ECMP group over both.
//! Traffic goes through, gw1 "dies" (its liveness bit is cleared, as BFD
//! will do), traffic moves to gw2 on the very next burst, gw1 returns.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use dataplane::fib::{
    FibConfig, FibWriter, GroupId, Member, NextHop, NextHopGroup, NextHopId, RouteTarget, synthetic,
};
use dataplane::packet::MacAddr;
use dataplane::pipeline::{
    DataplaneCore, DropReason, Forwarder, ForwarderConfig, PortConfig, PuntClass,
};
use dataplane::port::FramePool;
use dataplane::port::memory::MemoryPort;
use ipnet::IpNet;

/// What the demo is asked to do.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Synthetic IPv4 routes in the FIB.
    pub routes: usize,
    /// Packets sent in each phase.
    pub packets: usize,
    pub seed: u64,
}

const LAN: u16 = 0;
const UPLINK1: u16 = 1;
const UPLINK2: u16 = 2;
const GW1: NextHopId = NextHopId(1);
const GW2: NextHopId = NextHopId(2);
const PRIMARY_BACKUP: GroupId = GroupId(1);
const ECMP: GroupId = GroupId(2);
const LAN_HOST: NextHopId = NextHopId(3);
const LAN_HOST_GROUP: GroupId = GroupId(3);

fn mac(last: u8) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, 0, last])
}

/// Runs the demo, printing each step; returns an error if the pipeline did
/// not do what the step expects (so the demo doubles as a smoke test).
pub fn run(opts: &DemoOptions) -> Result<(), String> {
    println!(
        "vrouter in-memory demo: server-side router, two gateways, {} synthetic routes",
        opts.routes
    );
    let (mut fib, readers) = FibWriter::new(FibConfig::default());

    fib.set_nexthop(
        GW1,
        NextHop {
            port: UPLINK1,
            gateway: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
            mac: Some(mac(0x11)),
        },
    )
    .map_err(|e| e.to_string())?;
    fib.set_nexthop(
        GW2,
        NextHop {
            port: UPLINK2,
            gateway: Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1))),
            mac: Some(mac(0x21)),
        },
    )
    .map_err(|e| e.to_string())?;
    // The server on the LAN, as ARP would have resolved it: the way back
    // for ICMP errors.
    fib.set_nexthop(
        LAN_HOST,
        NextHop {
            port: LAN,
            gateway: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100))),
            mac: Some(mac(0x99)),
        },
    )
    .map_err(|e| e.to_string())?;
    fib.liveness().set(LAN_HOST, true);
    fib.liveness().set(GW1, true);
    fib.liveness().set(GW2, true);
    let primary_backup = NextHopGroup::new(&[
        vec![Member {
            nexthop: GW1,
            weight: 1,
        }],
        vec![Member {
            nexthop: GW2,
            weight: 1,
        }],
    ])
    .map_err(|e| e.to_string())?;
    let ecmp = NextHopGroup::new(&[vec![
        Member {
            nexthop: GW1,
            weight: 1,
        },
        Member {
            nexthop: GW2,
            weight: 1,
        },
    ]])
    .map_err(|e| e.to_string())?;
    fib.set_group(PRIMARY_BACKUP, primary_backup)
        .map_err(|e| e.to_string())?;
    fib.set_group(ECMP, ecmp).map_err(|e| e.to_string())?;
    let lan_host = NextHopGroup::new(&[vec![Member {
        nexthop: LAN_HOST,
        weight: 1,
    }]])
    .map_err(|e| e.to_string())?;
    fib.set_group(LAN_HOST_GROUP, lan_host)
        .map_err(|e| e.to_string())?;
    fib.set_route(
        "10.0.0.100/32"
            .parse()
            .map_err(|e: ipnet::AddrParseError| e.to_string())?,
        RouteTarget::Group(LAN_HOST_GROUP),
    )
    .map_err(|e| e.to_string())?;

    let started = Instant::now();
    let table = synthetic::internet_v4(opts.routes, opts.seed);
    for (prefix, len) in &table {
        let net =
            IpNet::new(IpAddr::V4(Ipv4Addr::from(*prefix)), *len).map_err(|e| e.to_string())?;
        fib.set_route(net, RouteTarget::Group(PRIMARY_BACKUP))
            .map_err(|e| e.to_string())?;
    }
    // 203.0.113.0/24 (TEST-NET-3) spreads over both gateways.
    fib.set_route(
        "203.0.113.0/24"
            .parse()
            .map_err(|e: ipnet::AddrParseError| e.to_string())?,
        RouteTarget::Group(ECMP),
    )
    .map_err(|e| e.to_string())?;
    fib.set_route(
        "10.0.0.1/32"
            .parse()
            .map_err(|e: ipnet::AddrParseError| e.to_string())?,
        RouteTarget::Local,
    )
    .map_err(|e| e.to_string())?;
    fib.publish();
    println!(
        "  FIB built and published: {} routes in {:.0} ms",
        fib.route_counts().0,
        started.elapsed().as_secs_f64() * 1e3
    );

    let ports = vec![
        port_config("lan0", mac(0x01), "10.0.0.1/24"),
        port_config("uplink1", mac(0x02), "192.0.2.2/24"),
        port_config("uplink2", mac(0x03), "198.51.100.2/24"),
    ];
    let forwarder = Forwarder::new(readers.reader(), ports, &ForwarderConfig::default(), 0);
    let pool = FramePool::new(4096, 2048).map_err(|e| e.to_string())?;
    let io: Vec<MemoryPort> = (0..3).map(|_| MemoryPort::new(usize::MAX)).collect();
    let mut core = DataplaneCore::new(pool, forwarder, io, 1024, 1024);

    let destinations = synthetic::destinations_from_table(&table, opts.packets, opts.seed + 1);
    let mut clock = 0u64;

    let phase = |core: &mut DataplaneCore<MemoryPort>,
                 clock: &mut u64,
                 dsts: &[u32],
                 ttl: u8|
     -> [usize; 3] {
        let mut per_port = [0usize; 3];
        for chunk in dsts.chunks(64) {
            for (i, dst) in chunk.iter().enumerate() {
                let frame = udp_frame(
                    mac(0x01),
                    Ipv4Addr::new(10, 0, 0, 100),
                    Ipv4Addr::from(*dst),
                    1024 + i as u16,
                    ttl,
                );
                memory_port(core, LAN).inject(&frame);
            }
            *clock += 1_000;
            core.poll(*clock);
            for (p, count) in per_port.iter_mut().enumerate() {
                *count += memory_port(core, p as u16).take_sent().len();
            }
        }
        per_port
    };

    let sent = phase(&mut core, &mut clock, &destinations, 64);
    println!(
        "  {} packets to table destinations: gw1 {}, gw2 {}",
        destinations.len(),
        sent[1],
        sent[2]
    );
    expect(
        sent[1] == destinations.len(),
        "all traffic via the primary gw1",
    )?;

    readers.reader().liveness().set(GW1, false);
    let sent = phase(&mut core, &mut clock, &destinations, 64);
    println!(
        "  gw1 marked down (liveness bit cleared): gw1 {}, gw2 {} — moved on the next burst, no FIB change",
        sent[1], sent[2]
    );
    expect(
        sent[2] == destinations.len(),
        "all traffic via the backup gw2",
    )?;

    readers.reader().liveness().set(GW1, true);
    let sent = phase(&mut core, &mut clock, &destinations, 64);
    println!("  gw1 back: gw1 {}, gw2 {}", sent[1], sent[2]);
    expect(sent[1] == destinations.len(), "traffic back on gw1")?;

    let ecmp_dsts: Vec<u32> = (0..opts.packets as u32)
        .map(|i| u32::from(Ipv4Addr::new(203, 0, 113, 0)) | (i % 256))
        .collect();
    let sent = phase(&mut core, &mut clock, &ecmp_dsts, 64);
    println!(
        "  {} flows to 203.0.113.0/24 (ECMP group): gw1 {}, gw2 {}",
        ecmp_dsts.len(),
        sent[1],
        sent[2]
    );
    expect(
        sent[1] > 0 && sent[2] > 0,
        "flows spread over both gateways",
    )?;

    let expired = phase(
        &mut core,
        &mut clock,
        &destinations[..10.min(destinations.len())],
        1,
    );
    println!(
        "  10 packets with TTL 1: ICMP time-exceeded sent back to the LAN: {}",
        expired[0]
    );
    expect(
        expired[0] == 10.min(destinations.len()),
        "one ICMP error per expired packet",
    )?;

    let c = core.forwarder.counters();
    println!(
        "  counters: forwarded {}, icmp errors sent {}, punted local {}",
        c.forwarded.get(),
        c.icmp_errors_sent.get(),
        c.punts(PuntClass::Local)
    );
    for reason in DropReason::ALL {
        let n = c.drops(*reason);
        if n > 0 {
            println!("    drop {:<24} {n}", reason.label());
        }
    }
    println!("demo OK");
    Ok(())
}

fn expect(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("demo check failed: expected {what}"))
    }
}

fn memory_port(core: &mut DataplaneCore<MemoryPort>, port: u16) -> &mut MemoryPort {
    &mut core.ports[port as usize]
}

fn port_config(name: &str, mac: MacAddr, addr: &str) -> PortConfig {
    PortConfig {
        name: name.to_string(),
        mac,
        mtu: 1500,
        ipv4: vec![addr.parse().expect("demo address literal")],
        ipv6: Vec::new(),
    }
}

/// A 64-byte Ethernet/IPv4/UDP frame.
fn udp_frame(dst_mac: MacAddr, src: Ipv4Addr, dst: Ipv4Addr, sport: u16, ttl: u8) -> Vec<u8> {
    let mut f = vec![0u8; 64];
    f[0..6].copy_from_slice(&dst_mac.octets());
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x99]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut f[14..];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&50u16.to_be_bytes());
    ip[8] = ttl;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let csum = dataplane::packet::checksum::internet_checksum(&ip[..20]);
    ip[10..12].copy_from_slice(&csum.to_be_bytes());
    ip[20..22].copy_from_slice(&sport.to_be_bytes());
    ip[22..24].copy_from_slice(&9u16.to_be_bytes());
    ip[24..26].copy_from_slice(&30u16.to_be_bytes());
    f
}
