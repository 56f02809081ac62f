//! A reader looking up continuously while a writer publishes thousands of
//! batches: every version the reader sees is whole (never half a batch),
//! versions only move forward, and the last one is seen (nothing stays
//! stale forever).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use dataplane::fib::{
    FibConfig, FibWriter, GroupId, Member, NextHop, NextHopGroup, NextHopId, RouteTarget,
};
use ipnet::IpNet;

const GROUPS: u32 = 64;
const BATCHES: u64 = 3_000;

fn probe_a() -> u32 {
    u32::from(Ipv4Addr::new(10, 1, 2, 3))
}

fn probe_b() -> u128 {
    u128::from("2001:db8:1::5".parse::<std::net::Ipv6Addr>().unwrap())
}

fn small_fib() -> FibConfig {
    FibConfig {
        v4_first_stride: 16,
        v6_first_stride: 16,
        max_nexthops: 16,
    }
}

fn setup(fib: &mut FibWriter) {
    fib.set_nexthop(
        NextHopId(1),
        NextHop {
            port: 0,
            gateway: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
            mac: None,
        },
    )
    .unwrap();
    for g in 0..GROUPS {
        let group = NextHopGroup::new(&[vec![Member {
            nexthop: NextHopId(1),
            weight: 1,
        }]])
        .unwrap();
        fib.set_group(GroupId(g), group).unwrap();
    }
}

/// The group a batch points the probe routes to: tied to the generation,
/// so a reader can tell a route from one batch beside a generation (or
/// another route) from another.
fn group_of(generation: u64) -> RouteTarget {
    RouteTarget::Group(GroupId((generation % u64::from(GROUPS)) as u32))
}

#[test]
fn readers_see_whole_batches_in_order_and_the_latest_eventually() {
    let (mut fib, readers) = FibWriter::new(small_fib());
    setup(&mut fib);
    fib.publish();

    let stop = Arc::new(AtomicBool::new(false));
    let final_generation = Arc::new(AtomicU64::new(u64::MAX));
    let reader = readers.reader();
    let (stop_r, final_r) = (Arc::clone(&stop), Arc::clone(&final_generation));
    let reader_thread = thread::spawn(move || {
        let mut last = 0u64;
        let mut reads = 0u64;
        let mut saw_final = false;
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let guard = reader.enter().expect("writer alive");
            let generation = guard.generation();
            assert!(generation >= last, "went back from {last} to {generation}");
            last = generation;
            if generation >= 2 {
                // Batch `generation` set both probes to group_of(generation).
                let a = guard.lookup_v4(probe_a());
                let b = guard.lookup_v6(probe_b());
                assert_eq!(
                    a,
                    Some(group_of(generation)),
                    "IPv4 probe torn at {generation}"
                );
                assert_eq!(
                    b,
                    Some(group_of(generation)),
                    "IPv6 probe torn at {generation}"
                );
            }
            drop(guard);
            reads += 1;
            if last == final_r.load(Ordering::Acquire) {
                saw_final = true;
                break;
            }
            if stop_r.load(Ordering::Acquire) && reads > 1_000_000_000 {
                break;
            }
        }
        (saw_final, reads, last)
    });

    let mut churn: Vec<IpNet> = Vec::new();
    for batch in 0..BATCHES {
        let next_generation = fib.generation() + 1;
        let target = group_of(next_generation);
        fib.set_route("10.1.0.0/16".parse().unwrap(), target)
            .unwrap();
        fib.set_route("2001:db8:1::/48".parse().unwrap(), target)
            .unwrap();
        // Churn under and around the probes so the tables really change.
        for p in churn.drain(..) {
            fib.remove_route(p);
        }
        for i in 0..8u32 {
            let net = IpNet::new(
                IpAddr::V4(Ipv4Addr::from(
                    0x0a00_0000 | ((batch as u32 * 8 + i) % 65_536) << 8,
                )),
                24,
            )
            .unwrap();
            if net.contains(&IpAddr::V4(Ipv4Addr::from(probe_a()))) {
                continue;
            }
            fib.set_route(net, target).unwrap();
            churn.push(net);
        }
        assert_eq!(fib.publish(), next_generation);
    }
    final_generation.store(fib.generation(), Ordering::Release);
    stop.store(true, Ordering::Release);
    let (saw_final, reads, last) = reader_thread.join().expect("reader panicked");
    assert!(
        saw_final,
        "reader stuck at generation {last} after {reads} reads"
    );
    assert!(reads > 0);
}

#[test]
fn a_publish_never_waits_for_an_idle_reader() {
    // A reader that exists but is not inside a burst must not hold the
    // writer up: publishing twice (so both copies are touched) finishes.
    let (mut fib, readers) = FibWriter::new(small_fib());
    let _idle = readers.reader();
    setup(&mut fib);
    fib.set_route("10.0.0.0/8".parse().unwrap(), RouteTarget::Blackhole)
        .unwrap();
    fib.publish();
    fib.remove_route("10.0.0.0/8".parse().unwrap());
    fib.publish();
    let guard = _idle.enter().unwrap();
    assert_eq!(guard.lookup_v4(u32::from(Ipv4Addr::new(10, 0, 0, 1))), None);
}

#[test]
fn writer_refuses_dangling_references() {
    use dataplane::fib::FibError;
    let (mut fib, _readers) = FibWriter::new(small_fib());
    assert_eq!(
        fib.set_route(
            "10.0.0.0/8".parse().unwrap(),
            RouteTarget::Group(GroupId(3))
        ),
        Err(FibError::UnknownGroup(GroupId(3)))
    );
    let group = NextHopGroup::new(&[vec![Member {
        nexthop: NextHopId(2),
        weight: 1,
    }]])
    .unwrap();
    assert_eq!(
        fib.set_group(GroupId(0), group),
        Err(FibError::UnknownNextHop(NextHopId(2)))
    );
    setup(&mut fib);
    fib.set_route(
        "10.0.0.0/8".parse().unwrap(),
        RouteTarget::Group(GroupId(0)),
    )
    .unwrap();
    assert_eq!(
        fib.remove_group(GroupId(0)),
        Err(FibError::GroupInUse(GroupId(0), 1))
    );
    assert_eq!(
        fib.remove_nexthop(NextHopId(1)),
        Err(FibError::NextHopInUse(NextHopId(1), GROUPS as usize))
    );
    // Repointing the route releases the group.
    fib.set_route(
        "10.0.0.0/8".parse().unwrap(),
        RouteTarget::Group(GroupId(1)),
    )
    .unwrap();
    fib.remove_group(GroupId(0)).unwrap();
    assert_eq!(
        fib.set_nexthop(
            NextHopId(16),
            NextHop {
                port: 0,
                gateway: None,
                mac: None
            }
        ),
        Err(FibError::NextHopIdTooLarge(NextHopId(16)))
    );
    fib.publish();
    assert_eq!(
        fib.lookup("10.9.9.9".parse().unwrap()),
        Some((8, RouteTarget::Group(GroupId(1))))
    );
}
