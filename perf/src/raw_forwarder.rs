//! `vrperf raw-forward`: the I/O ceiling of the AF_XDP backend. Two
//! interfaces, one pinned busy-polling thread, bursts of 64: receive,
//! rewrite the Ethernet addresses and decrement TTL / hop limit, transmit
//! on the other interface. No FIB, no parsing beyond that: whatever the
//! real router loses against this number is the price of its features.

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use dataplane::port::afxdp::{AfXdpConfig, AfXdpPort, BindMode, XdpAttachMode};
use dataplane::port::{Burst, FramePool, PortIo};
use serde::Serialize;

use crate::mac::{interface_mac, parse_mac};

#[derive(Debug, Args)]
pub struct RawForwardArgs {
    /// First interface.
    #[arg(long)]
    pub a: String,
    /// Second interface.
    #[arg(long)]
    pub b: String,
    /// MAC address of the next hop behind `a` (destination of frames sent out of `a`).
    #[arg(long)]
    pub a_peer_mac: String,
    /// MAC address of the next hop behind `b`.
    #[arg(long)]
    pub b_peer_mac: String,
    /// Queue to serve on both interfaces.
    #[arg(long, default_value_t = 0)]
    pub queue: u32,
    /// How long to forward, in seconds.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// CPU core to pin the forwarding thread to (default: the last one).
    #[arg(long)]
    pub core: Option<usize>,
    /// XDP attach mode: auto, native or generic.
    #[arg(long, default_value = "auto")]
    pub attach_mode: XdpAttachMode,
    /// AF_XDP bind mode: auto, zero-copy or copy.
    #[arg(long, default_value = "auto")]
    pub bind_mode: BindMode,
    /// Frames in the shared pool (UMEM).
    #[arg(long, default_value_t = 16384)]
    pub frames: u32,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also stop when stdin closes (how `vrperf fwd` ends a round).
    #[arg(long)]
    pub until_stdin_closes: bool,
}

/// What one run did.
#[derive(Debug, Default, Serialize)]
pub struct RawForwardReport {
    pub a: String,
    pub b: String,
    pub attach_mode: String,
    pub bind_mode: String,
    pub seconds: f64,
    pub forwarded: u64,
    pub forwarded_a_to_b: u64,
    pub forwarded_b_to_a: u64,
    pub pps: f64,
    /// Not IPv4/IPv6, too short, or TTL/hop limit exhausted.
    pub dropped_unforwardable: u64,
    /// The transmit ring was full.
    pub dropped_tx_full: u64,
    /// Dropped by the kernel before we saw them, both ports together:
    /// our rx ring was full (we were too slow) ...
    pub kernel_rx_ring_full: u64,
    /// ... or no fill buffer was there (we did not refill in time).
    pub kernel_fill_ring_empty: u64,
    /// Refills that found the pool empty (pool too small for the rings).
    pub pool_empty_refills: u64,
}

pub fn run(args: &RawForwardArgs) -> Result<(), Box<dyn Error>> {
    let a_peer = parse_mac(&args.a_peer_mac)?;
    let b_peer = parse_mac(&args.b_peer_mac)?;
    let a_mac = interface_mac(&args.a)?;
    let b_mac = interface_mac(&args.b)?;

    let core = match args.core {
        Some(core) => core,
        None => core_affinity::get_core_ids()
            .and_then(|ids| ids.last().map(|id| id.id))
            .unwrap_or(0),
    };
    if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        return Err(format!("cannot pin the forwarding thread to core {core}").into());
    }

    let mut pool = FramePool::new(args.frames, 2048)?;
    let config = AfXdpConfig {
        attach_mode: args.attach_mode,
        bind_mode: args.bind_mode,
        ..AfXdpConfig::default()
    };
    let mut port_a = AfXdpPort::open(&args.a, args.queue, &mut pool, &config)?;
    let mut port_b = AfXdpPort::open(&args.b, args.queue, &mut pool, &config)?;
    let (attach, bind) = port_a.mode();
    eprintln!(
        "raw-forward: {} <-> {} queue {}, XDP {attach}, bind {bind}, core {core}, {} s",
        args.a, args.b, args.queue, args.duration
    );

    let a_to_b = Rewrite {
        src: b_mac,
        dst: b_peer,
    };
    let b_to_a = Rewrite {
        src: a_mac,
        dst: a_peer,
    };
    let mut report = RawForwardReport {
        a: args.a.clone(),
        b: args.b.clone(),
        attach_mode: attach.to_string(),
        bind_mode: bind.to_string(),
        ..RawForwardReport::default()
    };
    let stdin_closed = Arc::new(AtomicBool::new(false));
    if args.until_stdin_closes {
        let closed = Arc::clone(&stdin_closed);
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            closed.store(true, Ordering::Relaxed);
        });
    }
    let duration = Duration::from_secs(args.duration);
    let start = Instant::now();
    let mut burst = Burst::new();
    let mut loops: u32 = 0;
    loop {
        loops = loops.wrapping_add(1);
        // Reading the clock every loop would cost more than an idle poll.
        if loops.is_multiple_of(1024)
            && (start.elapsed() >= duration || stdin_closed.load(Ordering::Relaxed))
        {
            break;
        }
        report.forwarded_a_to_b += forward(
            &mut port_a,
            &mut port_b,
            &mut pool,
            &mut burst,
            &a_to_b,
            &mut report.dropped_unforwardable,
            &mut report.dropped_tx_full,
        );
        report.forwarded_b_to_a += forward(
            &mut port_b,
            &mut port_a,
            &mut pool,
            &mut burst,
            &b_to_a,
            &mut report.dropped_unforwardable,
            &mut report.dropped_tx_full,
        );
    }
    report.seconds = start.elapsed().as_secs_f64();
    report.forwarded = report.forwarded_a_to_b + report.forwarded_b_to_a;
    report.pps = report.forwarded as f64 / report.seconds;
    for port in [&port_a, &port_b] {
        report.pool_empty_refills += port.counters().fill_starved;
        if let Ok(stats) = port.kernel_statistics() {
            report.kernel_rx_ring_full += stats.rx_ring_full;
            report.kernel_fill_ring_empty += stats.rx_fill_ring_empty_descs;
        }
    }
    drop(port_a);
    drop(port_b);

    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "forwarded {} frames in {:.2} s: {:.0} pps ({} a->b, {} b->a); dropped {} unforwardable, {} tx full; kernel dropped {} rx ring full, {} fill ring empty",
            report.forwarded,
            report.seconds,
            report.pps,
            report.forwarded_a_to_b,
            report.forwarded_b_to_a,
            report.dropped_unforwardable,
            report.dropped_tx_full,
            report.kernel_rx_ring_full,
            report.kernel_fill_ring_empty
        );
    }
    Ok(())
}

/// One receive burst from `rx`, rewritten, transmitted on `tx`.
fn forward(
    rx: &mut AfXdpPort,
    tx: &mut AfXdpPort,
    pool: &mut FramePool,
    burst: &mut Burst,
    rewrite: &Rewrite,
    unforwardable: &mut u64,
    tx_full: &mut u64,
) -> u64 {
    burst.clear();
    rx.rx_burst(pool, burst);
    if burst.is_empty() {
        // Still reclaims completions and sends anything left over.
        tx.tx_burst(pool, burst);
        return 0;
    }
    burst.retain(|frame| {
        let keep = rewrite.apply(pool.data_mut(*frame));
        if !keep {
            pool.free(frame.addr);
            *unforwardable += 1;
        }
        keep
    });
    let outcome = tx.tx_burst(pool, burst);
    *tx_full += outcome.dropped as u64;
    outcome.sent as u64
}

/// The per-frame work of a router minus the lookup.
#[derive(Debug, Clone, Copy)]
struct Rewrite {
    src: [u8; 6],
    dst: [u8; 6],
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERNET_HEADER: usize = 14;

impl Rewrite {
    /// Rewrites `frame` in place for forwarding; `false` if it must not
    /// be forwarded (not IP, truncated, TTL or hop limit exhausted).
    fn apply(&self, frame: &mut [u8]) -> bool {
        let Some(ethertype) = frame.get(12..14) else {
            return false;
        };
        let ethertype = u16::from_be_bytes([ethertype[0], ethertype[1]]);
        let Some(ip) = frame.get_mut(ETHERNET_HEADER..) else {
            return false;
        };
        let forwardable = match ethertype {
            ETHERTYPE_IPV4 => decrement_ipv4_ttl(ip),
            ETHERTYPE_IPV6 => decrement_ipv6_hop_limit(ip),
            _ => false,
        };
        if forwardable {
            if let Some(dst) = frame.get_mut(0..6) {
                dst.copy_from_slice(&self.dst);
            }
            if let Some(src) = frame.get_mut(6..12) {
                src.copy_from_slice(&self.src);
            }
        }
        forwardable
    }
}

/// Decrements the TTL of an IPv4 header and patches its checksum
/// incrementally. `false` (header untouched) if the header is truncated,
/// not version 4, or the TTL would reach zero (RFC 1812 §5.3.1: the
/// router discards it; a real router also sends ICMP Time Exceeded).
fn decrement_ipv4_ttl(header: &mut [u8]) -> bool {
    let (Some(&version_ihl), Some(&ttl), Some(&protocol), Some(checksum)) = (
        header.first(),
        header.get(8),
        header.get(9),
        header.get(10..12),
    ) else {
        return false;
    };
    if version_ihl >> 4 != 4 || ttl <= 1 {
        return false;
    }
    let checksum = u16::from_be_bytes([checksum[0], checksum[1]]);
    let old = u16::from_be_bytes([ttl, protocol]);
    let new = u16::from_be_bytes([ttl - 1, protocol]);
    // RFC 1624 §3, Eqn. 3: HC' = ~(~HC + ~m + m'), which unlike RFC 1141
    // never yields -0 for a checksum that should be +0.
    let mut sum = u32::from(!checksum) + u32::from(!old) + u32::from(new);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    let updated = !(sum as u16);
    header[8] = ttl - 1;
    header[10..12].copy_from_slice(&updated.to_be_bytes());
    true
}

/// Decrements the hop limit of an IPv6 header (no checksum to patch).
/// `false` if truncated, not version 6, or exhausted (RFC 8200 §3).
fn decrement_ipv6_hop_limit(header: &mut [u8]) -> bool {
    let (Some(&version), Some(&hop_limit)) = (header.first(), header.get(7)) else {
        return false;
    };
    if version >> 4 != 6 || hop_limit <= 1 || header.len() < 40 {
        return false;
    }
    header[7] = hop_limit - 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The IPv4 header checksum computed from scratch (RFC 791).
    fn full_checksum(header: &[u8]) -> u16 {
        let mut sum: u32 = header
            .chunks(2)
            .enumerate()
            .filter(|(i, _)| *i != 5)
            .map(|(_, w)| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    fn ipv4_header(seed: u32, ttl: u8) -> [u8; 20] {
        let mut h = [0u8; 20];
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        for byte in h.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *byte = x as u8;
        }
        h[0] = 0x45;
        h[8] = ttl;
        let c = full_checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h
    }

    #[test]
    fn incremental_checksum_matches_recomputation() {
        for seed in 0..20_000 {
            let ttl = 2 + (seed % 254) as u8;
            let mut h = ipv4_header(seed, ttl);
            assert!(decrement_ipv4_ttl(&mut h));
            assert_eq!(h[8], ttl - 1);
            let got = u16::from_be_bytes([h[10], h[11]]);
            assert_eq!(got, full_checksum(&h), "seed {seed}");
        }
    }

    #[test]
    fn expiring_ttl_is_not_forwarded_and_left_alone() {
        for ttl in [0, 1] {
            let mut h = ipv4_header(7, ttl);
            let before = h;
            assert!(!decrement_ipv4_ttl(&mut h));
            assert_eq!(h, before);
        }
        let mut v6 = [0u8; 40];
        v6[0] = 0x60;
        v6[7] = 1;
        assert!(!decrement_ipv6_hop_limit(&mut v6));
        v6[7] = 64;
        assert!(decrement_ipv6_hop_limit(&mut v6));
        assert_eq!(v6[7], 63);
    }

    #[test]
    fn rewrite_sets_macs_only_on_ip() {
        let rw = Rewrite {
            src: [2, 0, 0, 0, 0, 1],
            dst: [2, 0, 0, 0, 0, 2],
        };
        let mut frame = vec![0xffu8; 14];
        frame[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        frame.extend_from_slice(&ipv4_header(3, 64));
        assert!(rw.apply(&mut frame));
        assert_eq!(&frame[0..6], &rw.dst);
        assert_eq!(&frame[6..12], &rw.src);
        assert_eq!(frame[14 + 8], 63);

        let mut arp = vec![0xffu8; 42];
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert!(!rw.apply(&mut arp));
        assert_eq!(&arp[0..6], &[0xff; 6]);
    }

    #[test]
    fn short_and_garbage_frames_never_panic() {
        let rw = Rewrite {
            src: [0; 6],
            dst: [0; 6],
        };
        for len in 0..64 {
            for fill in [0x00, 0x08, 0x45, 0x60, 0x86, 0xdd, 0xff] {
                let mut frame = vec![fill; len];
                if len >= 14 {
                    frame[12] = 0x08;
                    frame[13] = 0x00;
                }
                let _ = rw.apply(&mut frame);
                if len >= 14 {
                    frame[12] = 0x86;
                    frame[13] = 0xdd;
                }
                let _ = rw.apply(&mut frame);
            }
        }
    }
}
