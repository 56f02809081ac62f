//! `publish`: building a 1M-route IPv4 FIB from scratch, and publishing a
//! batch of 10,000 route changes into it while a reader thread looks up
//! continuously (the dataplane's pattern: enter, a burst of lookups, leave).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use dataplane::fib::{
    FibConfig, FibWriter, GroupId, Member, NextHop, NextHopGroup, NextHopId, RouteTarget, synthetic,
};
use ipnet::IpNet;

fn net(p: u32, len: u8) -> IpNet {
    IpNet::new(IpAddr::V4(Ipv4Addr::from(p)), len).unwrap()
}

fn fib_with_groups() -> (FibWriter, dataplane::fib::FibReaderFactory) {
    let (mut fib, readers) = FibWriter::new(FibConfig::default());
    for n in 1..=2u32 {
        fib.set_nexthop(
            NextHopId(n),
            NextHop {
                port: n as u16,
                gateway: None,
                mac: None,
            },
        )
        .unwrap();
        let g = NextHopGroup::new(&[vec![Member {
            nexthop: NextHopId(n),
            weight: 1,
        }]])
        .unwrap();
        fib.set_group(GroupId(n), g).unwrap();
    }
    (fib, readers)
}

fn bench_build(c: &mut Criterion) {
    let table = synthetic::internet_v4(1_000_000, 1);
    let mut group = c.benchmark_group("publish");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("build_1M_v4_from_scratch", |b| {
        b.iter(|| {
            let (mut fib, readers) = fib_with_groups();
            for (p, len) in &table {
                fib.set_route(net(*p, *len), RouteTarget::Group(GroupId(1)))
                    .unwrap();
            }
            fib.publish();
            black_box((fib.route_counts(), readers))
        })
    });
    group.finish();
}

fn bench_batch(c: &mut Criterion) {
    let table = synthetic::internet_v4(1_000_000, 1);
    let (mut fib, readers) = fib_with_groups();
    for (p, len) in &table {
        fib.set_route(net(*p, *len), RouteTarget::Group(GroupId(1)))
            .unwrap();
    }
    fib.publish();
    fib.publish();

    let stop = Arc::new(AtomicBool::new(false));
    let lookups = Arc::new(AtomicU64::new(0));
    let reader = readers.reader();
    let dsts = synthetic::destinations_from_table(&table, 4096, 3);
    let (stop_r, lookups_r) = (Arc::clone(&stop), Arc::clone(&lookups));
    let reader_thread = thread::spawn(move || {
        let mut out = [0u32; 64];
        let mut n = 0u64;
        while !stop_r.load(Ordering::Relaxed) {
            for chunk in dsts.chunks(64) {
                let guard = reader.enter().unwrap();
                guard.lookup_v4_batch(chunk, &mut out[..chunk.len()]);
                black_box(&out);
                n += chunk.len() as u64;
            }
        }
        lookups_r.store(n, Ordering::Relaxed);
    });

    // Each batch: 5,000 existing routes repointed and 5,000 routes
    // flipped between present and absent.
    let mut round = 0usize;
    let mut group = c.benchmark_group("publish");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(10));
    let started = Instant::now();
    group.bench_function("batch_10k_changes_with_reader", |b| {
        b.iter(|| {
            let base = (round * 5_000) % (table.len() - 5_000);
            let target = RouteTarget::Group(GroupId(1 + (round % 2) as u32));
            for (p, len) in &table[base..base + 5_000] {
                fib.set_route(net(*p, *len), target).unwrap();
            }
            for i in 0..5_000u32 {
                let p = net(0x6440_0000 | (i << 8), 24);
                if round.is_multiple_of(2) {
                    fib.set_route(p, target).unwrap();
                } else {
                    fib.remove_route(p);
                }
            }
            round += 1;
            black_box(fib.publish())
        })
    });
    group.finish();
    stop.store(true, Ordering::Relaxed);
    reader_thread.join().unwrap();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "reader thread: {:.1} M lookups/s while batches were published",
        lookups.load(Ordering::Relaxed) as f64 / secs / 1e6
    );
}

criterion_group!(benches, bench_build, bench_batch);
criterion_main!(benches);
