//! `vrouterd`: the vrouter daemon.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::{Parser, Subcommand, ValueEnum};
use router::config::{self, ValidationEnv};

/// The vrouter daemon: a userspace router with a pinned-core dataplane.
///
/// `vrouterd --config /etc/vrouter/vrouter.toml` takes over the configured
/// ports (AF_XDP, with a TAP twin per port for the host) and routes until
/// SIGINT or SIGTERM. The file's reference is docs/config.md.
#[derive(Parser, Debug)]
#[command(name = "vrouterd", version, about, long_about)]
struct Cli {
    /// Run the router with this configuration file.
    #[arg(long, value_name = "FILE", conflicts_with = "check_config")]
    config: Option<PathBuf>,
    /// Only validate this configuration file: print every error with its
    /// line, and exit non-zero if there is one.
    #[arg(long, value_name = "FILE")]
    check_config: Option<PathBuf>,
    /// Add this many synthetic Internet-like IPv4 routes using the default
    /// route's next hops: for benchmarks with a full-size FIB.
    #[arg(long, value_name = "COUNT", default_value_t = 0, requires = "config")]
    bench_routes: usize,
    /// Keep the commit history here instead of `[management] state-dir`
    /// (e.g. for several routers on one machine, one directory each).
    #[arg(long, value_name = "DIR", requires = "config")]
    state_dir: Option<PathBuf>,
    /// Record every input of the control-plane protocols (config,
    /// interface events, timers, probe answers) to this file as JSON
    /// lines, for a deterministic replay (`controlplane::recorder`).
    #[arg(long, value_name = "FILE", requires = "config")]
    record: Option<PathBuf>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    /// Log filter (tracing's env-filter syntax), e.g. `info` or
    /// `router=debug`. RUST_LOG overrides it.
    #[arg(long, default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the two-gateway failover demo.
    ///
    /// By default (root): builds network namespaces `lan — [server:
    /// vrouterd] — gw1, gw2`, sends traffic via the primary gw1, cuts gw1's
    /// link under a 2 ms probe stream, reports the outage, restores gw1,
    /// and removes everything. With `--in-memory` (no root): the same
    /// picture through the real pipeline on in-memory ports with a
    /// synthetic Internet table. Exits non-zero if a step does not behave.
    Demo {
        /// Run through the pipeline on in-memory ports instead of real
        /// interfaces in namespaces.
        #[arg(long)]
        in_memory: bool,
        /// In-memory demo: synthetic IPv4 routes to load into the FIB.
        #[arg(long, default_value_t = 1_000_000, requires = "in_memory")]
        routes: usize,
        /// In-memory demo: packets sent in each phase.
        #[arg(long, default_value_t = 10_000, requires = "in_memory")]
        packets: usize,
        /// In-memory demo: seed for the synthetic table and traffic.
        #[arg(long, default_value_t = 1, requires = "in_memory")]
        seed: u64,
    },
}

fn init_logging(format: LogFormat, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Demo {
        in_memory,
        routes,
        packets,
        seed,
    }) = cli.command
    {
        let result = if in_memory {
            router::demo::in_memory::run(&router::demo::DemoOptions {
                routes,
                packets,
                seed,
            })
        } else {
            std::env::current_exe()
                .map_err(|e| format!("cannot find my own executable: {e}"))
                .and_then(|exe| router::demo::namespaces::run(&exe))
        };
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("vrouterd demo: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let env = ValidationEnv::this_machine();
    if let Some(path) = cli.check_config {
        return match config::load(&path, &env) {
            Ok(_) => {
                println!("{}: configuration is valid", path.display());
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprint!("{errors}");
                ExitCode::FAILURE
            }
        };
    }
    let Some(path) = cli.config else {
        eprintln!(
            "vrouterd: nothing to do: give --config FILE to run, --check-config FILE to validate, or `vrouterd demo` (see --help)"
        );
        return ExitCode::from(2);
    };
    init_logging(cli.log_format, &cli.log);
    let config = match config::load(&path, &env) {
        Ok(c) => c,
        Err(errors) => {
            eprint!("{errors}");
            return ExitCode::FAILURE;
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&stop)) {
            eprintln!("vrouterd: cannot install the handler for signal {signal}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let options = router::daemon::RunOptions {
        bench_routes: cli.bench_routes,
        config_path: path,
        state_dir: cli.state_dir,
        record: cli.record,
    };
    match router::daemon::run(&config, &options, stop) {
        Ok(()) => {
            tracing::info!("vrouterd stopped cleanly");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("vrouterd: {e}");
            ExitCode::FAILURE
        }
    }
}
