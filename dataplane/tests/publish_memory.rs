//! Memory returns: churning routes through many published batches does not
//! grow memory once warm, and dropping the FIB returns every byte. A
//! counting allocator sees the whole process, so this file holds one test.

use std::alloc::System;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dataplane::fib::{
    FibConfig, FibWriter, GroupId, Member, NextHop, NextHopGroup, NextHopId, RouteTarget,
};
use ipnet::IpNet;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes currently allocated by the whole process.
fn allocated() -> isize {
    // stats_alloc already counts a realloc as the bytes it frees and
    // allocates; `bytes_reallocated` is informational.
    let s = GLOBAL.stats();
    s.bytes_allocated as isize - s.bytes_deallocated as isize
}

/// Routes of one churn cycle: long prefixes in many places, so trie
/// groups are created and must be collapsed again.
fn churn_routes() -> Vec<IpNet> {
    let mut routes = Vec::new();
    for i in 0..400u32 {
        let a = Ipv4Addr::from(0x6440_0000u32 | (i * 7919 % 0x3f_ffff) << 2);
        routes.push(IpNet::new(IpAddr::V4(a), 30).unwrap().trunc());
        let b = Ipv6Addr::from(
            0x2001_0db8_0000_0000_0000_0000_0000_0000u128 | u128::from(i * 104_729) << 64,
        );
        routes.push(IpNet::new(IpAddr::V6(b), 64).unwrap().trunc());
    }
    routes.sort();
    routes.dedup();
    routes
}

#[test]
fn churn_does_not_leak_and_drop_returns_everything() {
    let before = allocated();
    {
        let (mut fib, readers) = FibWriter::new(FibConfig {
            v4_first_stride: 16,
            v6_first_stride: 16,
            max_nexthops: 16,
        });
        let reader = readers.reader();
        fib.set_nexthop(
            NextHopId(1),
            NextHop {
                port: 0,
                gateway: None,
                mac: None,
            },
        )
        .unwrap();
        let routes = churn_routes();
        let cycle = |fib: &mut FibWriter, g: u32| {
            // A fresh group each cycle: the old one must be freed once
            // neither copy holds it.
            let group = NextHopGroup::new(&[vec![Member {
                nexthop: NextHopId(1),
                weight: 1,
            }]])
            .unwrap();
            fib.set_group(GroupId(g % 2), group).unwrap();
            for (i, r) in routes.iter().enumerate() {
                fib.set_route(*r, RouteTarget::Group(GroupId(g % 2)))
                    .unwrap();
                if i % 50 == 0 {
                    fib.publish();
                }
            }
            fib.publish();
            let guard = reader.enter().unwrap();
            assert!(
                guard
                    .lookup_v4(u32::from(Ipv4Addr::new(100, 64, 0, 1)))
                    .is_some()
            );
            drop(guard);
            for (i, r) in routes.iter().enumerate() {
                fib.remove_route(*r);
                if i % 50 == 0 {
                    fib.publish();
                }
            }
            fib.remove_group(GroupId(g % 2)).unwrap();
            fib.publish();
            // A second publish lets the other copy catch up on the oplog.
            fib.publish();
        };
        // Warm up: tables, pools and logs reach their working size.
        for g in 0..3 {
            cycle(&mut fib, g);
        }
        let warm = allocated();
        for g in 3..40 {
            cycle(&mut fib, g);
        }
        let after = allocated();
        assert!(
            after <= warm,
            "memory grew by {} bytes over 37 churn cycles (warm {warm}, after {after})",
            after - warm
        );
        let guard = reader.enter().unwrap();
        assert_eq!(
            guard.lookup_v4(u32::from(Ipv4Addr::new(100, 64, 0, 1))),
            None
        );
    }
    assert_eq!(
        allocated(),
        before,
        "bytes still allocated after dropping the FIB"
    );
}
