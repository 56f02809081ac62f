//! `vrperf xdp-sink`: the receiving end of `vrperf fwd`. An XDP program
//! (`bpf/sink_counter.c`) on the sink's interface counts the benchmark's
//! frames, IPv4 and IPv6 apart, and drops them; anything else goes on to
//! the kernel (so ARP and ND still work). Counting in XDP costs the sink
//! far less than the router spends per frame, and being attached gives
//! the veth the NAPI instance that frames redirected into it need.
//!
//! Run inside the sink's network namespace as an agent of `vrperf fwd`:
//! it answers each `read` line on stdin with `v4 N v6 M` and ends at the
//! end of its input or after `--max-seconds`. The BPF link detaches the
//! program when the process ends, however it ends.

use std::error::Error;
use std::time::{Duration, Instant};

use aya::maps::PerCpuArray;
use aya::programs::{Xdp, XdpMode};
use aya::{Ebpf, EbpfLoader};
use clap::Args;

use crate::netns_agent::serve;

/// The compiled `bpf/sink_counter.c` (see build.rs).
static SINK_OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sink_counter.o"));
const PROGRAM_NAME: &str = "sink_counter";
const COUNT_MAP: &str = "sink_count";

#[derive(Debug, Args)]
pub struct XdpSinkArgs {
    /// Interface to count on.
    #[arg(long)]
    pub iface: String,
    /// Attach in generic (skb) mode rather than in the driver.
    #[arg(long)]
    pub generic: bool,
    /// The agent exits after this many seconds whatever it is told.
    #[arg(long, default_value_t = 600)]
    pub max_seconds: u64,
}

/// Frames counted (and dropped) so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkCount {
    pub v4: u64,
    pub v6: u64,
}

impl SinkCount {
    /// Parses the agent's reply `v4 N v6 M`.
    pub fn parse(line: &str) -> Option<SinkCount> {
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["v4", v4, "v6", v6] => Some(SinkCount {
                v4: v4.parse().ok()?,
                v6: v6.parse().ok()?,
            }),
            _ => None,
        }
    }
}

fn attach(iface: &str, generic: bool) -> Result<Ebpf, String> {
    let mut ebpf = EbpfLoader::new()
        .load(SINK_OBJECT)
        .map_err(|e| format!("loading the sink's BPF object: {e}"))?;
    let program: &mut Xdp = ebpf
        .program_mut(PROGRAM_NAME)
        .ok_or_else(|| format!("no program {PROGRAM_NAME} in the object"))?
        .try_into()
        .map_err(|e| format!("{PROGRAM_NAME}: {e}"))?;
    program
        .load()
        .map_err(|e| format!("loading {PROGRAM_NAME}: {e}"))?;
    let mode = if generic {
        XdpMode::Skb
    } else {
        XdpMode::Driver
    };
    // The link stays with the program, owned by `ebpf`: it detaches when
    // the process ends.
    program
        .attach(iface, mode)
        .map_err(|e| format!("attaching {PROGRAM_NAME} to {iface}: {e}"))?;
    Ok(ebpf)
}

fn read(ebpf: &Ebpf) -> Result<SinkCount, String> {
    let map = ebpf
        .map(COUNT_MAP)
        .ok_or_else(|| format!("no map {COUNT_MAP}"))?;
    let array: PerCpuArray<_, u64> =
        PerCpuArray::try_from(map).map_err(|e| format!("{COUNT_MAP}: {e}"))?;
    let sum = |index: u32| -> Result<u64, String> {
        Ok(array
            .get(&index, 0)
            .map_err(|e| format!("reading {COUNT_MAP}: {e}"))?
            .iter()
            .sum())
    };
    Ok(SinkCount {
        v4: sum(0)?,
        v6: sum(1)?,
    })
}

pub fn run(args: &XdpSinkArgs) -> Result<(), Box<dyn Error>> {
    let ebpf = attach(&args.iface, args.generic)?;
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    serve("xdp-sink", deadline, |line| match line {
        "read" => {
            let count = read(&ebpf)?;
            Ok(format!("v4 {} v6 {}", count.v4, count.v6))
        }
        other => Err(format!("unknown command {other:?}")),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_parse() {
        assert_eq!(
            SinkCount::parse("v4 12 v6 0"),
            Some(SinkCount { v4: 12, v6: 0 })
        );
        assert_eq!(SinkCount::parse("v4 12"), None);
        assert_eq!(SinkCount::parse("v4 x v6 1"), None);
        assert_eq!(SinkCount::parse("error: unknown command"), None);
    }
}
