//! `pipeline`: ns per packet through the whole forwarding pipeline —
//! classify, batched LPM on a 1M-route IPv4 table, group → live tier →
//! hash → next hop, rewrite, transmit queue — for bursts of 64 64-byte
//! IPv4/UDP frames to random table destinations.
//!
//! Each iteration first restores the 64 frames (a 64-byte copy each: the
//! previous pass decremented their TTL) and afterwards returns the
//! transmitted frames to the pool; both are counted in the figure, so it
//! slightly overstates the pipeline's own cost.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dataplane::fib::{
    FibConfig, FibWriter, GroupId, Member, NextHop, NextHopGroup, NextHopId, RouteTarget, synthetic,
};
use dataplane::packet::MacAddr;
use dataplane::packet::checksum::internet_checksum;
use dataplane::pipeline::{BurstOutput, Forwarder, ForwarderConfig, PortConfig};
use dataplane::port::{Burst, FramePool};
use ipnet::IpNet;

const PORT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);

fn frame(dst: u32, sport: u16) -> [u8; 64] {
    let mut f = [0u8; 64];
    f[0..6].copy_from_slice(&PORT_MAC.octets());
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0x99]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut f[14..];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&50u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&Ipv4Addr::new(10, 0, 0, 100).octets());
    ip[16..20].copy_from_slice(&dst.to_be_bytes());
    let c = internet_checksum(&ip[..20]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip[20..22].copy_from_slice(&sport.to_be_bytes());
    ip[22..24].copy_from_slice(&443u16.to_be_bytes());
    ip[24..26].copy_from_slice(&30u16.to_be_bytes());
    f
}

fn bench_pipeline(c: &mut Criterion) {
    let (mut fib, readers) = FibWriter::new(FibConfig::default());
    for (id, port, mac) in [(1u32, 1u16, 0x11u8), (2, 2, 0x21)] {
        fib.set_nexthop(
            NextHopId(id),
            NextHop {
                port,
                gateway: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, mac))),
                mac: Some(MacAddr([2, 0, 0, 0, 0, mac])),
            },
        )
        .unwrap();
        fib.liveness().set(NextHopId(id), true);
    }
    let m = |n| {
        vec![Member {
            nexthop: NextHopId(n),
            weight: 1,
        }]
    };
    fib.set_group(GroupId(1), NextHopGroup::new(&[m(1), m(2)]).unwrap())
        .unwrap();
    let table = synthetic::internet_v4(1_000_000, 1);
    for (p, len) in &table {
        let net = IpNet::new(IpAddr::V4(Ipv4Addr::from(*p)), *len).unwrap();
        fib.set_route(net, RouteTarget::Group(GroupId(1))).unwrap();
    }
    fib.publish();

    let ports = (0..3)
        .map(|i| PortConfig {
            name: format!("p{i}"),
            mac: if i == 0 {
                PORT_MAC
            } else {
                MacAddr([2, 0, 0, 0, 1, i])
            },
            mtu: 1500,
            ipv4: vec![format!("10.{i}.0.1/24").parse().unwrap()],
            ipv6: Vec::new(),
        })
        .collect();
    let mut forwarder = Forwarder::new(readers.reader(), ports, &ForwarderConfig::default(), 0);
    let mut pool = FramePool::new(8192, 2048).unwrap();
    let mut out = BurstOutput::new(3, 256, 256);

    let dsts = synthetic::destinations_from_table(&table, 64 * 64, 2);
    let templates: Vec<[u8; 64]> = dsts
        .iter()
        .enumerate()
        .map(|(i, d)| frame(*d, 1024 + i as u16))
        .collect();
    let frames: Vec<_> = templates
        .iter()
        .map(|t| pool.alloc_copy(t).unwrap())
        .collect();

    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(64));
    group.measurement_time(Duration::from_secs(8));
    let mut round = 0usize;
    group.bench_function("ipv4_udp64_burst64_1M_routes", |b| {
        b.iter(|| {
            let base = (round % 64) * 64;
            round += 1;
            let mut burst = Burst::new();
            for i in base..base + 64 {
                pool.data_mut(frames[i]).copy_from_slice(&templates[i]);
                burst.push(frames[i]);
            }
            forwarder.process_burst(0, &mut burst, &mut pool, &mut out, 0);
            // The frames stay owned by this bench: take them off the
            // queues without freeing (they are reused next round).
            let sent = out.drain_tx(1).count() + out.drain_tx(2).count();
            black_box(sent)
        })
    });
    // The same loop without the pipeline: what the restore and drain cost,
    // to subtract from the figure above.
    group.bench_function("harness_only_restore_and_drain", |b| {
        b.iter(|| {
            let base = (round % 64) * 64;
            round += 1;
            let mut burst = Burst::new();
            for i in base..base + 64 {
                pool.data_mut(frames[i]).copy_from_slice(&templates[i]);
                burst.push(frames[i]);
            }
            for f in burst.drain(..) {
                out.push_tx(1, f).unwrap();
            }
            let sent = out.drain_tx(1).count() + out.drain_tx(2).count();
            black_box(sent)
        })
    });
    group.finish();
    let counters = forwarder.counters();
    assert_eq!(
        counters.total_drops(),
        0,
        "the benchmark must forward, not drop"
    );
    eprintln!("forwarded {} packets", counters.forwarded.get());
}

criterion_group!(benches, bench_pipeline);
criterion_main!(benches);
