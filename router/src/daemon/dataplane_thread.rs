//! The dataplane core's loop: poll the AF_XDP ports through the pipeline
//! (BFD included: its packets and timers run inside `DataplaneCore::poll`),
//! move frames between each port and its TAP twin, exchange BFD commands,
//! events and status with the control plane, publish the neighbor table
//! for the management API, pace when idle.
//! Runs pinned, until the stop flag is raised.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dataplane::pipeline::DataplaneCore;
use dataplane::port::{PortId, PortIo};

use super::bfd_channel::BfdDataplaneSide;
use super::tuning_mailbox::TuningMailbox;
use crate::config::IdlePolicy;
use crate::host::TapDevice;
use crate::mgmt::NeighborSnapshot;
use crate::mgmt::neighbor_snapshot::PUBLISH_INTERVAL;

/// Longest a frame from the host waits while the ports are busy.
const TAP_POLL_INTERVAL_NS: u64 = 50_000;

/// Loops with nothing received before an idle core starts sleeping.
const IDLE_SPINS: u32 = 1024;
/// Longest sleep of an idle core in backoff mode: bounds the extra
/// latency the first packet after a pause sees.
const MAX_IDLE_SLEEP: Duration = Duration::from_micros(200);

/// What the dataplane loop shares with the other threads.
pub struct Shared<'a> {
    /// Punted frames the host twin would not take.
    pub host_drops: &'a AtomicU64,
    /// The neighbor table's copy for the API.
    pub neighbors: &'a NeighborSnapshot,
    /// New forwarder knobs from a commit.
    pub tuning: &'a TuningMailbox,
}

/// Runs the loop until `stop` is set. `taps[i]` is port `i`'s twin;
/// `bfd` is the dataplane's end of the BFD channel.
pub fn run<P: PortIo>(
    core: &mut DataplaneCore<P>,
    taps: &[&TapDevice],
    idle: IdlePolicy,
    stop: &AtomicBool,
    shared: &Shared<'_>,
    bfd: &mut BfdDataplaneSide,
) {
    let Shared {
        host_drops,
        neighbors,
        tuning,
    } = *shared;
    let publish_every = PUBLISH_INTERVAL.as_nanos() as u64;
    let mut published_at = 0u64;
    let mut taps_polled_at = 0u64;
    let start = Instant::now();
    let mut idle_loops = 0u32;
    let mut sleep = Duration::from_micros(1);
    while !stop.load(Ordering::Relaxed) {
        let now = start.elapsed().as_nanos() as u64;
        let stats = core.poll(now);
        let mut work = stats.received + stats.transmitted;
        // Session commands in, state changes out, status copied: after the
        // poll, so a new session's first packet goes out next turn.
        work += bfd.service(&mut core.forwarder, now);
        if let Some(t) = tuning.take() {
            core.forwarder.retune(&t, now);
            tracing::info!(?t, "dataplane retuned by a commit");
        }

        // Host → wire: what the kernel sends through each twin. A read is
        // a syscall per twin, so under load the twins are polled every
        // TAP_POLL_INTERVAL_NS rather than every loop (host traffic is
        // light; this bounds the delay it sees), and every loop when idle.
        let poll_taps =
            stats.received == 0 || now.saturating_sub(taps_polled_at) >= TAP_POLL_INTERVAL_NS;
        if poll_taps {
            taps_polled_at = now;
        }
        for (i, tap) in taps.iter().enumerate().filter(|_| poll_taps) {
            for _ in 0..dataplane::port::MAX_BURST {
                let Some(mut frame) = core.pool.alloc() else {
                    break;
                };
                match tap.read_frame(core.pool.room_mut(frame)) {
                    Ok(Some(len)) => {
                        frame.len = len as u32;
                        core.forwarder.from_host(
                            i as PortId,
                            frame,
                            &mut core.pool,
                            &mut core.output,
                            now,
                        );
                        work += 1;
                    }
                    Ok(None) => {
                        core.pool.free(frame.addr);
                        break;
                    }
                    Err(e) => {
                        core.pool.free(frame.addr);
                        tracing::warn!(tap = tap.name(), error = %e, "reading the host twin failed");
                        break;
                    }
                }
            }
        }

        // Wire → host: what the pipeline punted.
        core.drain_punted(|p, bytes| {
            let written = taps.get(p.port as usize).map(|tap| tap.write_frame(bytes));
            if !matches!(written, Some(Ok(true))) {
                host_drops.fetch_add(1, Ordering::Relaxed);
            }
        });
        work += core.flush();

        // A reader holding the copy makes `publish` skip; retry next loop.
        if now.saturating_sub(published_at) >= publish_every
            && neighbors.publish(core.forwarder.neighbors().entries(), now)
        {
            published_at = now;
        }

        if work > 0 {
            idle_loops = 0;
            sleep = Duration::from_micros(1);
        } else if idle == IdlePolicy::Backoff {
            idle_loops += 1;
            if idle_loops > IDLE_SPINS {
                // Never past the next BFD deadline: a packet due or a
                // detection timeout waits for no nap.
                let nap = match core.forwarder.bfd_next_deadline() {
                    Some(at) => {
                        let now = start.elapsed().as_nanos() as u64;
                        sleep.min(Duration::from_nanos(at.saturating_sub(now)))
                    }
                    None => sleep,
                };
                if !nap.is_zero() {
                    std::thread::sleep(nap);
                }
                sleep = (sleep * 2).min(MAX_IDLE_SLEEP);
            }
        }
    }
}
