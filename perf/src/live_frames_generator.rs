//! `vrperf xdp-gen`: the traffic generator of `vrperf fwd`, fast enough
//! not to be the bottleneck (several Mpps on one core where AF_XDP tx
//! manages about one).
//!
//! An XDP program (`bpf/live_frames_gen.c`) is run by the kernel itself
//! with `BPF_PROG_TEST_RUN` and the flag `BPF_F_TEST_XDP_LIVE_FRAMES`
//! (Linux 5.18+): every run is handed a frame from a page pool and its
//! `XDP_TX` sends that frame out of the interface named in the context,
//! `repeat` times per system call. aya 0.14 loads the program and its
//! maps but has no test-run API, so the one system call is made here by
//! hand: the only `unsafe` of this crate.
//!
//! Run inside the sender's network namespace (the context's interface
//! index is looked up there) as an agent of `vrperf fwd`, driven by lines
//! on stdin: `start 4|6`, `read`, `stop`; end of input ends it. It also
//! ends by itself after `--max-seconds` or `--max-packets`.

#![allow(unsafe_code)]

use std::error::Error;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aya::maps::{Array, PerCpuArray};
use aya::programs::Xdp;
use aya::{Ebpf, EbpfLoader};
use clap::Args;

use crate::frame_template::{Endpoints, Family, FrameTemplate};
use crate::mac::{interface_mac, parse_mac};
use crate::netns_agent::serve;

/// The compiled `bpf/live_frames_gen.c` (see build.rs).
static GENERATOR_OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/live_frames_gen.o"));
const PROGRAM_NAME: &str = "live_frames_gen";
const CONFIG_MAP: &str = "gen_config_map";
const SENT_MAP: &str = "gen_sent";

/// `struct gen_config` of the C program: the template (64 bytes), then
/// `len`, `flows`, `family`, `dst_mask` as native-endian u32s.
pub type GenConfig = [u8; 80];

/// Interrupts a sending thread's test run when it must stop.
const INTERRUPT_SIGNAL: libc::c_int = libc::SIGUSR1;

// From <linux/bpf.h>.
const BPF_PROG_TEST_RUN: libc::c_long = 10;
const BPF_F_TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;
#[cfg(test)]
const XDP_TX: u32 = 3;

/// The `test` member of `union bpf_attr` (BPF_PROG_TEST_RUN).
#[repr(C)]
#[derive(Debug, Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

/// `struct xdp_md`, the test run's context.
#[repr(C)]
#[derive(Debug, Default)]
struct XdpMd {
    data: u32,
    data_end: u32,
    data_meta: u32,
    ingress_ifindex: u32,
    rx_queue_index: u32,
    egress_ifindex: u32,
}

/// Destinations of the benchmark: IPv4 16.0.0.0/4, public unicast space
/// the 1M-route FIB covers widely, and IPv6 2001:db8:ff00::/96 (the low
/// 32 bits vary).
pub const IPV4_DST_BASE: Ipv4Addr = Ipv4Addr::new(16, 0, 0, 0);
pub const IPV4_DST_MASK: u32 = 0x0fff_ffff;
pub const IPV6_DST_BASE: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff00, 0, 0, 0, 0, 0);
pub const IPV6_DST_MASK: u32 = u32::MAX;

#[derive(Debug, Args)]
pub struct XdpGenArgs {
    /// Interface to send from.
    #[arg(long)]
    pub iface: String,
    /// Destination MAC address (the router's port).
    #[arg(long)]
    pub dst_mac: String,
    #[arg(long, default_value = "10.1.0.1")]
    pub src_ip: Ipv4Addr,
    #[arg(long, default_value = "2001:db8:1::1")]
    pub src_ip6: Ipv6Addr,
    /// Distinct flows (UDP source port and destination address vary).
    #[arg(long, default_value_t = 4096)]
    pub flows: u32,
    /// CPU core the sending thread is pinned to.
    #[arg(long, default_value_t = 0)]
    pub core: usize,
    /// Frames per system call. Each call sets up and tears down a page
    /// pool, which costs milliseconds: small chunks cut the rate (64 Ki
    /// frames gave 1.7 Mpps where 4 Mi gave 6.2 Mpps). A stop interrupts
    /// a call, so large chunks cost no reaction time.
    #[arg(long, default_value_t = 1 << 22)]
    pub chunk: u32,
    /// Frames per batch inside the kernel (1..=256).
    #[arg(long, default_value_t = 64)]
    pub batch_size: u32,
    /// The agent exits after this many seconds whatever it is told.
    #[arg(long, default_value_t = 600)]
    pub max_seconds: u64,
    /// ... or once it has sent this many frames.
    #[arg(long, default_value_t = 20_000_000_000)]
    pub max_packets: u64,
}

/// The generator program, loaded (not attached: the test run drives it).
pub struct LiveFramesGenerator {
    ebpf: Ebpf,
    program: OwnedFd,
}

impl LiveFramesGenerator {
    pub fn load() -> Result<LiveFramesGenerator, String> {
        let mut ebpf = EbpfLoader::new()
            .load(GENERATOR_OBJECT)
            .map_err(|e| format!("loading the generator's BPF object: {e}"))?;
        let program: &mut Xdp = ebpf
            .program_mut(PROGRAM_NAME)
            .ok_or_else(|| format!("no program {PROGRAM_NAME} in the object"))?
            .try_into()
            .map_err(|e| format!("{PROGRAM_NAME}: {e}"))?;
        program
            .load()
            .map_err(|e| format!("loading {PROGRAM_NAME}: {e}"))?;
        let program = program
            .fd()
            .map_err(|e| format!("{PROGRAM_NAME}: {e}"))?
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| format!("duplicating the program's fd: {e}"))?;
        Ok(LiveFramesGenerator { ebpf, program })
    }

    /// Makes the program send `template`'s frames from now on.
    pub fn configure(&mut self, template: &FrameTemplate) -> Result<(), String> {
        let config = gen_config(template);
        let map = self
            .ebpf
            .map_mut(CONFIG_MAP)
            .ok_or_else(|| format!("no map {CONFIG_MAP}"))?;
        let mut array: Array<_, GenConfig> =
            Array::try_from(map).map_err(|e| format!("{CONFIG_MAP}: {e}"))?;
        array
            .set(0, config, 0)
            .map_err(|e| format!("writing {CONFIG_MAP}: {e}"))
    }

    /// Frames the program has sent (runs that returned `XDP_TX`), all
    /// CPUs together.
    pub fn sent(&self) -> Result<u64, String> {
        let map = self
            .ebpf
            .map(SENT_MAP)
            .ok_or_else(|| format!("no map {SENT_MAP}"))?;
        let array: PerCpuArray<_, u64> =
            PerCpuArray::try_from(map).map_err(|e| format!("{SENT_MAP}: {e}"))?;
        let values = array
            .get(&0, 0)
            .map_err(|e| format!("reading {SENT_MAP}: {e}"))?;
        Ok(values.iter().sum())
    }

    #[cfg(test)]
    /// Runs the program once on `frame`, not live: returns the action
    /// and the frame as the program left it.
    pub fn run_once(&self, frame: &[u8]) -> io::Result<(u32, Vec<u8>)> {
        let mut out = vec![0u8; 256];
        let mut attr = TestRunAttr {
            prog_fd: self.program.as_raw_fd() as u32,
            data_size_in: frame.len() as u32,
            data_size_out: out.len() as u32,
            data_in: frame.as_ptr() as u64,
            data_out: out.as_mut_ptr() as u64,
            repeat: 1,
            ..TestRunAttr::default()
        };
        prog_test_run(&mut attr)?;
        out.truncate(attr.data_size_out as usize);
        Ok((attr.retval, out))
    }

    /// A handle on the program for a sending thread.
    fn sender(&self, ifindex: u32, frame: Vec<u8>, batch_size: u32) -> io::Result<LiveSender> {
        Ok(LiveSender {
            program: self.program.try_clone()?,
            ifindex,
            frame,
            batch_size,
        })
    }
}

/// The configuration map's value for `template`.
pub fn gen_config(template: &FrameTemplate) -> GenConfig {
    let mut config = [0u8; 80];
    let frame = template.frame_for_flow(0);
    config[..frame.len()].copy_from_slice(&frame);
    let family = u32::from(template.family().number());
    for (at, value) in [
        (64, frame.len() as u32),
        (68, template.flows.max(1)),
        (72, family),
        (76, template.dst_mask),
    ] {
        config[at..at + 4].copy_from_slice(&value.to_ne_bytes());
    }
    config
}

/// Sends live frames through the program.
struct LiveSender {
    program: OwnedFd,
    ifindex: u32,
    frame: Vec<u8>,
    batch_size: u32,
}

impl LiveSender {
    /// Sends `repeat` frames out of the interface.
    fn send(&self, repeat: u32) -> io::Result<()> {
        let mut context = XdpMd {
            data_end: self.frame.len() as u32,
            ingress_ifindex: self.ifindex,
            ..XdpMd::default()
        };
        let mut attr = TestRunAttr {
            prog_fd: self.program.as_raw_fd() as u32,
            data_size_in: self.frame.len() as u32,
            data_in: self.frame.as_ptr() as u64,
            repeat,
            ctx_size_in: size_of::<XdpMd>() as u32,
            ctx_in: &mut context as *mut XdpMd as u64,
            flags: BPF_F_TEST_XDP_LIVE_FRAMES,
            batch_size: self.batch_size,
            ..TestRunAttr::default()
        };
        prog_test_run(&mut attr)
    }
}

/// `bpf(BPF_PROG_TEST_RUN, attr)`.
fn prog_test_run(attr: &mut TestRunAttr) -> io::Result<()> {
    // SAFETY: `attr` is a valid, exclusively borrowed `test` member of
    // `union bpf_attr` with its size passed along; every pointer in it
    // (data_in, data_out, ctx_in) is either 0 or points to a live buffer
    // of the length given next to it, which outlives this call, and the
    // kernel writes only into data_out/ctx_out within their sizes and
    // into the attr's output fields.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_TEST_RUN,
            attr as *mut TestRunAttr,
            size_of::<TestRunAttr>(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn ifindex(iface: &str) -> Result<u32, String> {
    let path = format!("/sys/class/net/{iface}/ifindex");
    std::fs::read_to_string(&path)
        .map_err(|e| format!("{path}: {e}"))?
        .trim()
        .parse()
        .map_err(|e| format!("{path}: {e}"))
}

/// A sending thread, its stop flag, and what it takes to interrupt its
/// system call.
struct Sending {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<(), String>>,
    /// Its `pthread_t` (0 until it has started).
    thread_id: Arc<AtomicU64>,
}

pub fn run(args: &XdpGenArgs) -> Result<(), Box<dyn Error>> {
    let dst_mac = parse_mac(&args.dst_mac)?;
    let src_mac = interface_mac(&args.iface)?;
    let ifindex = ifindex(&args.iface)?;
    if !(1..=256).contains(&args.batch_size) || args.chunk == 0 {
        return Err("--batch-size must be 1..=256 and --chunk at least 1".into());
    }
    // A handler (which only sets an unused flag) so that the signal
    // interrupts a test run instead of ending the process.
    signal_hook::flag::register(INTERRUPT_SIGNAL, Arc::new(AtomicBool::new(false)))?;
    let mut generator = LiveFramesGenerator::load()?;
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    // Frames sent by every sending thread so far, against --max-packets.
    let budget_used = Arc::new(AtomicU64::new(0));
    let mut sending: Option<Sending> = None;
    let result = serve("xdp-gen", deadline, |line| {
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["start", family] => {
                stop_sending(&mut sending)?;
                let family = family
                    .parse()
                    .ok()
                    .and_then(Family::from_number)
                    .ok_or_else(|| format!("unknown family {family}"))?;
                let template = FrameTemplate {
                    src_mac,
                    dst_mac,
                    endpoints: match family {
                        Family::V4 => Endpoints::V4 {
                            src: args.src_ip,
                            dst_base: IPV4_DST_BASE,
                        },
                        Family::V6 => Endpoints::V6 {
                            src: args.src_ip6,
                            dst_base: IPV6_DST_BASE,
                        },
                    },
                    dst_mask: match family {
                        Family::V4 => IPV4_DST_MASK,
                        Family::V6 => IPV6_DST_MASK,
                    },
                    flows: args.flows.max(1),
                };
                generator.configure(&template)?;
                let sender = generator
                    .sender(ifindex, template.frame_for_flow(0), args.batch_size)
                    .map_err(|e| format!("duplicating the program's fd: {e}"))?;
                sending = Some(start_sending(
                    sender,
                    args,
                    deadline,
                    Arc::clone(&budget_used),
                ));
                Ok("ok".to_string())
            }
            ["stop"] => {
                stop_sending(&mut sending)?;
                Ok("ok".to_string())
            }
            ["read"] => Ok(format!("sent {}", generator.sent()?)),
            _ => Err(format!("unknown command {line:?}")),
        }
    });
    stop_sending(&mut sending)?;
    result?;
    Ok(())
}

fn start_sending(
    sender: LiveSender,
    args: &XdpGenArgs,
    deadline: Instant,
    budget_used: Arc<AtomicU64>,
) -> Sending {
    let stop = Arc::new(AtomicBool::new(false));
    let stop_thread = Arc::clone(&stop);
    let (core, chunk, max_packets) = (args.core, args.chunk, args.max_packets);
    let thread_id = Arc::new(AtomicU64::new(0));
    let thread_id_out = Arc::clone(&thread_id);
    let thread = std::thread::spawn(move || {
        // SAFETY: pthread_self has no preconditions.
        thread_id_out.store(unsafe { libc::pthread_self() } as u64, Ordering::Release);
        send_until_stopped(
            &sender,
            core,
            chunk,
            max_packets,
            deadline,
            &stop_thread,
            &budget_used,
        )
    });
    Sending {
        stop,
        thread,
        thread_id,
    }
}

/// The sending thread's loop: one test run of `chunk` frames after the
/// other until told to stop or a bound is reached.
fn send_until_stopped(
    sender: &LiveSender,
    core: usize,
    chunk: u32,
    max_packets: u64,
    deadline: Instant,
    stop: &AtomicBool,
    budget_used: &AtomicU64,
) -> Result<(), String> {
    if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        return Err(format!("cannot pin the generator to core {core}"));
    }
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        let used = budget_used.load(Ordering::Relaxed);
        let left = max_packets.saturating_sub(used);
        if left == 0 {
            eprintln!("xdp-gen: --max-packets reached");
            break;
        }
        let repeat = u32::try_from(left).unwrap_or(u32::MAX).min(chunk);
        match sender.send(repeat) {
            Ok(()) => {}
            // Stopped by `stop_sending`'s signal: what was sent is sent
            // (and counted by the program).
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("BPF_PROG_TEST_RUN (live frames): {e}")),
        }
        budget_used.fetch_add(u64::from(repeat), Ordering::Relaxed);
    }
    Ok(())
}
fn stop_sending(sending: &mut Option<Sending>) -> Result<(), String> {
    let Some(s) = sending.take() else {
        return Ok(());
    };
    s.stop.store(true, Ordering::Relaxed);
    // A test run ends early, with EINTR, when a signal is pending: signal
    // the thread until it has left its loop (a signal that lands just
    // before a run starts would not stop that run).
    while !s.thread.is_finished() {
        let id = s.thread_id.load(Ordering::Acquire);
        if id != 0 {
            // SAFETY: `id` is the pthread_t of a thread that has not been
            // joined yet (joined only below), so it is still valid; the
            // signal has a handler (installed in `run`), so it interrupts
            // the system call and does nothing else.
            unsafe {
                libc::pthread_kill(id as libc::pthread_t, INTERRUPT_SIGNAL);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    s.thread
        .join()
        .map_err(|_| "the sending thread panicked".to_string())?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame_template::IPV4_FRAME_LEN;

    fn is_root() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    }

    #[test]
    fn test_run_attr_has_the_kernel_layout() {
        // union bpf_attr's `test` member: flags at 64, batch_size at 72.
        assert_eq!(size_of::<TestRunAttr>(), 80);
        assert_eq!(std::mem::offset_of!(TestRunAttr, ctx_in), 48);
        assert_eq!(std::mem::offset_of!(TestRunAttr, flags), 64);
        assert_eq!(std::mem::offset_of!(TestRunAttr, batch_size), 72);
        assert_eq!(size_of::<XdpMd>(), 24);
    }

    #[test]
    fn config_carries_template_and_parameters() {
        let t = FrameTemplate {
            src_mac: [2, 0, 0, 0, 0, 1],
            dst_mac: [2, 0, 0, 0, 0, 2],
            endpoints: Endpoints::V4 {
                src: Ipv4Addr::new(10, 1, 0, 1),
                dst_base: IPV4_DST_BASE,
            },
            dst_mask: IPV4_DST_MASK,
            flows: 77,
        };
        let c = gen_config(&t);
        assert_eq!(&c[..IPV4_FRAME_LEN], t.frame_for_flow(0).as_slice());
        let word = |at: usize| u32::from_ne_bytes([c[at], c[at + 1], c[at + 2], c[at + 3]]);
        assert_eq!(
            (word(64), word(68), word(72), word(76)),
            (60, 77, 4, IPV4_DST_MASK)
        );
    }

    /// The XDP program and the Rust reference build the same frames: the
    /// program, run (not live) n times, leaves flow n-1's frame, whatever
    /// the page held before. Needs root (BPF).
    #[test]
    fn bpf_generator_writes_the_reference_frames() {
        if !is_root() {
            eprintln!("SKIPPED: needs root (CAP_BPF) — CI runs as root");
            return;
        }
        // The counter that picks the flow is per CPU: stay on one.
        assert!(core_affinity::set_for_current(core_affinity::CoreId {
            id: 0
        }));
        let mut generator = LiveFramesGenerator::load().unwrap();
        for (endpoints, dst_mask) in [
            (
                Endpoints::V4 {
                    src: Ipv4Addr::new(10, 1, 0, 1),
                    dst_base: IPV4_DST_BASE,
                },
                IPV4_DST_MASK,
            ),
            (
                Endpoints::V6 {
                    src: "2001:db8:1::1".parse().unwrap(),
                    dst_base: IPV6_DST_BASE,
                },
                IPV6_DST_MASK,
            ),
        ] {
            let template = FrameTemplate {
                src_mac: [2, 0, 0, 0, 1, 1],
                dst_mac: [2, 0, 0, 0, 1, 0xfe],
                endpoints,
                dst_mask,
                flows: 300,
            };
            generator.configure(&template).unwrap();
            let start = generator.sent().unwrap();
            // A page that a router rewrote: the program must not keep any of it.
            let garbage = vec![0xa5u8; template.frame_len()];
            for n in 0..700u64 {
                let (action, frame) = generator.run_once(&garbage).unwrap();
                assert_eq!(action, XDP_TX);
                let flow = ((start + n) % 300) as u32;
                assert_eq!(frame, template.frame_for_flow(flow), "flow {flow}");
            }
            assert_eq!(generator.sent().unwrap(), start + 700);
        }
    }
}
