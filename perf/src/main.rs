//! `vrperf`: vrouter's benchmark harness. Each subcommand is one
//! measurement or one of the agents a measurement runs in a network
//! namespace; this file only dispatches.

mod afxdp_generator;
mod cpu_usage;
mod failover;
mod frame_template;
mod fwd;
mod live_frames_generator;
mod mac;
mod netns_agent;
mod priority;
mod raw_forwarder;
mod sink_counter;
mod veth_lab;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "vrperf", version, about = "Benchmarks for vrouter")]
struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Forwarding rate of vrouterd vs the Linux kernel, the raw AF_XDP
    /// forwarder and DPDK testpmd on a veth lab, rounds interleaved (root).
    Fwd(fwd::FwdArgs),
    /// Traffic lost when the primary gateway fails (link down, BFD
    /// daemon stopped, silent), vrouterd vs FRR bgpd+bfdd on the same
    /// two-gateway lab, trials interleaved (root).
    Failover(failover::FailoverArgs),
    /// Forward between two interfaces over AF_XDP with nothing but a MAC
    /// and TTL rewrite: the I/O ceiling the router is measured against.
    RawForward(raw_forwarder::RawForwardArgs),
    /// Send minimum-size UDP frames out of one interface over AF_XDP.
    AfxdpGen(afxdp_generator::GenArgs),
    /// Agent of `fwd`: send frames with the kernel's XDP live-frames test
    /// run, driven by lines on stdin (start 4|6, read, stop).
    XdpGen(live_frames_generator::XdpGenArgs),
    /// Agent of `fwd`: count and drop the benchmark's frames in XDP,
    /// driven by lines on stdin (read).
    XdpSink(sink_counter::XdpSinkArgs),
    /// Agent of `failover`: send the probe's sequenced, timestamped UDP
    /// datagrams, driven by lines on stdin (start, sent, stop, log).
    ProbeSend(failover::probe::ProbeSendArgs),
    /// Agent of `failover`: log the probe datagrams that arrive, driven
    /// by lines on stdin (count, log).
    ProbeRecv(failover::probe::ProbeRecvArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.cmd {
        Command::Fwd(args) => fwd::run(args),
        Command::RawForward(args) => raw_forwarder::run(args),
        Command::AfxdpGen(args) => afxdp_generator::run(args),
        Command::XdpGen(args) => live_frames_generator::run(args),
        Command::XdpSink(args) => sink_counter::run(args),
        Command::Failover(args) => failover::run(args),
        Command::ProbeSend(args) => failover::probe::run_sender(args),
        Command::ProbeRecv(args) => failover::probe::run_receiver(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("vrperf: {err}");
            ExitCode::FAILURE
        }
    }
}
