//! `vrperf`: vrouter's benchmark harness. Each subcommand is one
//! measurement; this file only dispatches.

mod afxdp_generator;
mod mac;
mod raw_forwarder;
mod veth_bench;
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
    /// Forward between two interfaces over AF_XDP with nothing but a MAC
    /// and TTL rewrite: the I/O ceiling the router is measured against.
    RawForward(raw_forwarder::RawForwardArgs),
    /// Send minimum-size UDP frames out of one interface over AF_XDP.
    AfxdpGen(afxdp_generator::GenArgs),
    /// Raw AF_XDP forwarder vs kernel forwarding on a veth lab (root).
    VethBench(veth_bench::VethBenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.cmd {
        Command::RawForward(args) => raw_forwarder::run(args),
        Command::AfxdpGen(args) => afxdp_generator::run(args),
        Command::VethBench(args) => veth_bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("vrperf: {err}");
            ExitCode::FAILURE
        }
    }
}
