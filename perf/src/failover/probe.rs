//! The failover probe: sequenced, timestamped UDP datagrams at a steady
//! rate from the LAN host to the destination both gateways hold, and a
//! receiver on each gateway that notes which datagrams arrived, when.
//!
//! Both ends are `vrperf` agents (see `netns_agent`) started inside their
//! namespace: `probe-send` in lan, `probe-recv` in gw1 and in gw2. A lost
//! datagram is one no receiver saw; which receiver saw a datagram says
//! which gateway carried it. The sender notes the wall-clock time of
//! every send and the receivers of every arrival: all run on one machine,
//! so the times compare (CLOCK_REALTIME; a clock step during a run would
//! show as an absurd figure, not a plausible one).
//!
//! Payload (24 bytes, big-endian): magic `VRFO`, run id (u32), sequence
//! number (u64), send time in ns since the Unix epoch (u64). Anything else
//! arriving on the port is ignored.

use std::error::Error;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;

use crate::netns_agent::serve;

const MAGIC: [u8; 4] = *b"VRFO";
pub const PAYLOAD_LEN: usize = 24;

/// Nanoseconds since the Unix epoch, now.
pub fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// One probe datagram's contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub run_id: u32,
    pub seq: u64,
    pub sent_ns: u64,
}

impl Probe {
    pub fn encode(&self) -> [u8; PAYLOAD_LEN] {
        let mut out = [0u8; PAYLOAD_LEN];
        out[..4].copy_from_slice(&MAGIC);
        out[4..8].copy_from_slice(&self.run_id.to_be_bytes());
        out[8..16].copy_from_slice(&self.seq.to_be_bytes());
        out[16..24].copy_from_slice(&self.sent_ns.to_be_bytes());
        out
    }

    /// The probe in `bytes`, if they are one.
    pub fn decode(bytes: &[u8]) -> Option<Probe> {
        if bytes.len() != PAYLOAD_LEN || bytes.get(..4)? != MAGIC {
            return None;
        }
        let word = |range: std::ops::Range<usize>| -> Option<u64> {
            let mut buf = [0u8; 8];
            let src = bytes.get(range)?;
            buf.get_mut(8 - src.len()..)?.copy_from_slice(src);
            Some(u64::from_be_bytes(buf))
        };
        Some(Probe {
            run_id: u32::try_from(word(4..8)?).ok()?,
            seq: word(8..16)?,
            sent_ns: word(16..24)?,
        })
    }
}

#[derive(Debug, Args)]
pub struct ProbeSendArgs {
    /// Where the datagrams go.
    #[arg(long)]
    pub dst: IpAddr,
    #[arg(long, default_value_t = 9_100)]
    pub port: u16,
    /// Datagrams per second.
    #[arg(long)]
    pub rate: u32,
    /// Run id written into every datagram.
    #[arg(long)]
    pub run_id: u32,
    /// Most datagrams this agent sends in its life.
    #[arg(long)]
    pub max_packets: u64,
    /// The agent ends after this many seconds, whatever happens.
    #[arg(long)]
    pub max_seconds: u64,
}

/// `vrperf probe-send`: answers `start`, `sent`, `stop` and `log` (the
/// send time of every sequence number, as a JSON array, index = seq).
pub fn run_sender(args: &ProbeSendArgs) -> Result<(), Box<dyn Error>> {
    if args.rate == 0 || args.rate > 1_000_000 {
        return Err("--rate must be 1..=1000000 datagrams per second".into());
    }
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    let socket = UdpSocket::bind(match args.dst {
        IpAddr::V4(_) => "0.0.0.0:0",
        IpAddr::V6(_) => "[::]:0",
    })?;
    socket.connect(SocketAddr::new(args.dst, args.port))?;
    let sent_at: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let mut thread: Option<std::thread::JoinHandle<()>> = None;
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate));
    let count = |log: &Arc<Mutex<Vec<u64>>>| log.lock().map(|l| l.len()).unwrap_or(0);
    serve("probe-send", deadline, |line| match line {
        "start" => {
            if thread.is_some() {
                return Err("already started".into());
            }
            let socket = socket.try_clone().map_err(|e| e.to_string())?;
            let (log, stop, errors) =
                (Arc::clone(&sent_at), Arc::clone(&stop), Arc::clone(&errors));
            let (run_id, max_packets) = (args.run_id, args.max_packets);
            thread = Some(std::thread::spawn(move || {
                send_loop(
                    &socket,
                    run_id,
                    interval,
                    max_packets,
                    deadline,
                    &stop,
                    &log,
                    &errors,
                );
            }));
            Ok("started".into())
        }
        "sent" => Ok(format!("sent {}", count(&sent_at))),
        "stop" => {
            stop.store(true, Ordering::Relaxed);
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
            Ok(format!(
                "stopped {} errors {}",
                count(&sent_at),
                errors.load(Ordering::Relaxed)
            ))
        }
        "log" => {
            let log = sent_at.lock().map_err(|_| "the send log is poisoned")?;
            serde_json::to_string(&*log).map_err(|e| e.to_string())
        }
        other => Err(format!("unknown request {other:?}")),
    })?;
    stop.store(true, Ordering::Relaxed);
    if let Some(t) = thread.take() {
        let _ = t.join();
    }
    Ok(())
}

/// Sends datagram k at start + k × interval (a late one goes at once, the
/// schedule is kept), until stopped or out of packets or time.
#[allow(clippy::too_many_arguments)]
fn send_loop(
    socket: &UdpSocket,
    run_id: u32,
    interval: Duration,
    max_packets: u64,
    deadline: Instant,
    stop: &AtomicBool,
    log: &Mutex<Vec<u64>>,
    errors: &AtomicU64,
) {
    let start = Instant::now();
    for seq in 0..max_packets {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let due = start + interval.saturating_mul(u32::try_from(seq).unwrap_or(u32::MAX));
        if due >= deadline {
            return;
        }
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let sent_ns = wall_ns();
        let probe = Probe {
            run_id,
            seq,
            sent_ns,
        };
        // A refused send (no route yet, ICMP error queued) is a datagram
        // that left no trace: still logged, so it counts as lost.
        if socket.send(&probe.encode()).is_err() {
            errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut log) = log.lock() {
            log.push(sent_ns);
        }
    }
}

#[derive(Debug, Args)]
pub struct ProbeRecvArgs {
    #[arg(long, default_value_t = 9_100)]
    pub port: u16,
    /// Only datagrams with this run id count.
    #[arg(long)]
    pub run_id: u32,
    /// The agent ends after this many seconds, whatever happens.
    #[arg(long)]
    pub max_seconds: u64,
}

/// `vrperf probe-recv`: counts from the start; answers `count` and `log`
/// (`[[seq, received_ns], …]` as JSON).
pub fn run_receiver(args: &ProbeRecvArgs) -> Result<(), Box<dyn Error>> {
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    // Both families on one socket: the v6 wildcard takes v4-mapped too.
    let socket =
        UdpSocket::bind(("::", args.port)).or_else(|_| UdpSocket::bind(("0.0.0.0", args.port)))?;
    socket.set_read_timeout(Some(Duration::from_millis(50)))?;
    let received: Arc<Mutex<Vec<(u64, u64)>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let (received, stop) = (Arc::clone(&received), Arc::clone(&stop));
        let run_id = args.run_id;
        std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                let Ok(n) = socket.recv(&mut buf) else {
                    continue;
                };
                let at = wall_ns();
                let Some(probe) = buf.get(..n).and_then(Probe::decode) else {
                    continue;
                };
                if probe.run_id != run_id {
                    continue;
                }
                if let Ok(mut r) = received.lock() {
                    r.push((probe.seq, at));
                }
            }
        })
    };
    let result = serve("probe-recv", deadline, |line| match line {
        "count" => Ok(format!(
            "count {}",
            received.lock().map(|r| r.len()).unwrap_or(0)
        )),
        "log" => {
            let r = received.lock().map_err(|_| "the receive log is poisoned")?;
            serde_json::to_string(&*r).map_err(|e| e.to_string())
        }
        other => Err(format!("unknown request {other:?}")),
    });
    stop.store(true, Ordering::Relaxed);
    let _ = thread.join();
    result.map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn probes_round_trip(run_id: u32, seq: u64, sent_ns: u64) {
            let p = Probe { run_id, seq, sent_ns };
            prop_assert_eq!(Probe::decode(&p.encode()), Some(p));
        }

        #[test]
        fn any_bytes_decode_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Probe::decode(&bytes);
        }
    }

    #[test]
    fn foreign_datagrams_are_not_probes() {
        let mut bytes = Probe {
            run_id: 1,
            seq: 2,
            sent_ns: 3,
        }
        .encode();
        assert!(Probe::decode(&bytes[..23]).is_none(), "short");
        bytes[0] = b'X';
        assert!(Probe::decode(&bytes).is_none(), "wrong magic");
    }
}
