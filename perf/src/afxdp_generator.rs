//! `vrperf afxdp-gen`: a UDP/IPv4 traffic generator on one interface over
//! AF_XDP, the sender side of the forwarding benchmarks. Minimum-size
//! frames by default, spread over `--flows` source ports so ECMP and RSS
//! see distinct flows. Runs for `--duration` seconds, pinned, busy.

use std::error::Error;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use clap::Args;
use dataplane::port::afxdp::{AfXdpConfig, AfXdpPort, BindMode, XdpAttachMode};
use dataplane::port::{Burst, FramePool, PortIo};
use serde::Serialize;

use crate::mac::{interface_mac, parse_mac};

#[derive(Debug, Args)]
pub struct GenArgs {
    /// Interface to send from.
    #[arg(long)]
    pub iface: String,
    /// Destination MAC address (the router's port).
    #[arg(long)]
    pub dst_mac: String,
    #[arg(long, default_value = "10.1.0.1")]
    pub src_ip: Ipv4Addr,
    #[arg(long, default_value = "10.2.0.2")]
    pub dst_ip: Ipv4Addr,
    /// Distinct UDP source ports to cycle through.
    #[arg(long, default_value_t = 256)]
    pub flows: u16,
    /// Frame length without FCS (60 = a 64-byte frame on the wire).
    #[arg(long, default_value_t = 60)]
    pub len: usize,
    /// Seconds to send.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// CPU core to pin to (default: the first one).
    #[arg(long)]
    pub core: Option<usize>,
    #[arg(long, default_value = "auto")]
    pub attach_mode: XdpAttachMode,
    #[arg(long, default_value = "auto")]
    pub bind_mode: BindMode,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
pub struct GenReport {
    pub iface: String,
    pub seconds: f64,
    pub sent: u64,
    pub pps: f64,
    pub dropped_tx_full: u64,
}

pub fn run(args: &GenArgs) -> Result<(), Box<dyn Error>> {
    let dst_mac = parse_mac(&args.dst_mac)?;
    let src_mac = interface_mac(&args.iface)?;
    if !(42..=1514).contains(&args.len) {
        return Err(format!("frame length {} is outside 42..=1514", args.len).into());
    }
    let template = udp_frame(src_mac, dst_mac, args.src_ip, args.dst_ip, args.len);
    let core = args.core.unwrap_or(0);
    if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        return Err(format!("cannot pin the generator to core {core}").into());
    }
    let mut pool = FramePool::new(8192, 2048)?;
    let config = AfXdpConfig {
        attach_mode: args.attach_mode,
        bind_mode: args.bind_mode,
        ..AfXdpConfig::default()
    };
    let mut port = AfXdpPort::open(&args.iface, 0, &mut pool, &config)?;
    let flows = u32::from(args.flows.max(1));

    let duration = Duration::from_secs(args.duration);
    let start = Instant::now();
    let mut sent: u64 = 0;
    let mut dropped: u64 = 0;
    let mut seq: u32 = 0;
    let mut burst = Burst::new();
    while start.elapsed() < duration {
        // Whatever comes back is not ours to count: free it.
        port.rx_burst(&mut pool, &mut burst);
        for frame in burst.drain(..) {
            pool.free(frame.addr);
        }
        while !burst.is_full() {
            let Some(mut frame) = pool.alloc() else {
                break;
            };
            let room = pool.room_mut(frame);
            let Some(bytes) = room.get_mut(..template.len()) else {
                pool.free(frame.addr);
                break;
            };
            bytes.copy_from_slice(&template);
            let port_number = 1024 + (seq % flows) as u16;
            bytes[34..36].copy_from_slice(&port_number.to_be_bytes());
            seq = seq.wrapping_add(1);
            frame.len = template.len() as u32;
            burst.push(frame);
        }
        let outcome = port.tx_burst(&mut pool, &mut burst);
        sent += u64::from(outcome.sent);
        dropped += u64::from(outcome.dropped);
    }
    let seconds = start.elapsed().as_secs_f64();
    let report = GenReport {
        iface: args.iface.clone(),
        seconds,
        sent,
        pps: sent as f64 / seconds,
        dropped_tx_full: dropped,
    };
    drop(port);
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "sent {} frames in {:.2} s: {:.0} pps ({} dropped, tx ring full)",
            report.sent, report.seconds, report.pps, report.dropped_tx_full
        );
    }
    Ok(())
}

/// An Ethernet + IPv4 + UDP frame of `len` bytes; UDP checksum 0 (none,
/// allowed over IPv4), source port patched per frame.
fn udp_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src_ip: Ipv4Addr,
    dst_ip: Ipv4Addr,
    len: usize,
) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&dst_mac);
    f[6..12].copy_from_slice(&src_mac);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip_len = (len - 14) as u16;
    f[14] = 0x45;
    f[16..18].copy_from_slice(&ip_len.to_be_bytes());
    f[22] = 64; // TTL
    f[23] = 17; // UDP
    f[26..30].copy_from_slice(&src_ip.octets());
    f[30..34].copy_from_slice(&dst_ip.octets());
    let checksum = ipv4_checksum(&f[14..34]);
    f[24..26].copy_from_slice(&checksum.to_be_bytes());
    f[34..36].copy_from_slice(&1024u16.to_be_bytes());
    f[36..38].copy_from_slice(&9u16.to_be_bytes()); // discard
    f[38..40].copy_from_slice(&(ip_len - 20).to_be_bytes());
    f
}

/// RFC 791 header checksum (the checksum field must be zero).
fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_is_a_valid_udp_ipv4_frame() {
        let f = udp_frame(
            [2, 0, 0, 0, 0, 1],
            [2, 0, 0, 0, 0, 2],
            Ipv4Addr::new(10, 1, 0, 1),
            Ipv4Addr::new(10, 2, 0, 2),
            60,
        );
        assert_eq!(f.len(), 60);
        // A correct header sums to 0xffff, so its checksum over itself is 0.
        assert_eq!(ipv4_checksum(&f[14..34]), 0);
        assert_eq!(u16::from_be_bytes([f[16], f[17]]), 46);
        assert_eq!(u16::from_be_bytes([f[38], f[39]]), 26);
        assert_eq!(&f[30..34], &[10, 2, 0, 2]);
    }
}
