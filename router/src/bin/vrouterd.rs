//! `vrouterd`: the vrouter daemon.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The vrouter daemon: a userspace router with a pinned-core dataplane.
#[derive(Parser, Debug)]
#[command(name = "vrouterd", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the two-gateway failover demo through the real forwarding
    /// pipeline on in-memory ports (no root, no NIC needed).
    ///
    /// Builds a FIB with a synthetic Internet table whose routes use gw1 as
    /// primary and gw2 as backup, sends traffic, marks gw1 down, shows the
    /// traffic move to gw2 on the next burst, brings gw1 back, and shows
    /// ECMP spreading and ICMP time-exceeded. Exits non-zero if any step
    /// does not behave as expected.
    Demo {
        /// Synthetic IPv4 routes to load into the FIB.
        #[arg(long, default_value_t = 1_000_000)]
        routes: usize,
        /// Packets sent in each phase of the demo.
        #[arg(long, default_value_t = 10_000)]
        packets: usize,
        /// Seed for the synthetic table and traffic.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo {
            routes,
            packets,
            seed,
        } => {
            match router::demo::run(&router::demo::DemoOptions {
                routes,
                packets,
                seed,
            }) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("vrouterd demo: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
