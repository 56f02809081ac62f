//! `vrctl`: the operator's command line for vrouterd.
//!
//! Exit codes: 0 answered, 1 the daemon refused or the exchange failed,
//! 2 usage error (clap's), 3 the daemon is not running.

mod client;
mod config_cmd;
mod config_text;
mod show;
mod table;

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};
use clap_complete::Shell;
use ipnet::IpNet;
use router::config::DEFAULT_MANAGEMENT_SOCKET;
use router::mgmt::api::{
    BfdReply, ConfigReply, CountersReply, FibQuery, FibReply, InterfacesReply, NeighborsReply,
    NexthopGroupsReply, Request, RoutesReply, Show,
};
use serde_json::Value;

use client::ClientError;

const EXIT_DAEMON_ERROR: u8 = 1;
const EXIT_NOT_RUNNING: u8 = 3;

/// Operate a running vrouterd: look at its interfaces, routes, FIB,
/// neighbors and counters.
///
/// Talks to the daemon's management socket (`[management] socket` in its
/// configuration). Tables for people by default; `--json` prints the API's
/// answer as is, with the field names of docs/api.md.
#[derive(Parser, Debug)]
#[command(name = "vrctl", version, about, long_about)]
struct Cli {
    /// The daemon's management socket.
    #[arg(short = 's', long = "socket", value_name = "SOCKET", global = true, default_value = DEFAULT_MANAGEMENT_SOCKET)]
    socket: PathBuf,
    /// Print the answer as JSON (stable field names, docs/api.md).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show the router's state.
    #[command(subcommand)]
    Show(ShowCommand),
    /// Validate, compare, commit, confirm or roll back the configuration.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Print a shell completion script to stdout, e.g.
    /// `vrctl completions bash > /etc/bash_completion.d/vrctl`.
    Completions {
        /// The shell to generate for.
        shell: Shell,
    },
}

#[derive(Subcommand, Debug)]
enum ShowCommand {
    /// Ports: link, addresses, AF_XDP modes, packet counts.
    Interfaces,
    /// Routes with their source (C connected, S static, L local), distance
    /// and next hops; `>` marks the one in the FIB.
    Routes {
        /// Only routes equal to or inside this prefix, e.g. 10.0.0.0/8.
        prefix: Option<IpNet>,
    },
    /// Where a packet to ADDR goes right now, and why: matched prefix,
    /// next-hop group, live tier, the next hop the flow hash picks.
    Fib(FibArgs),
    /// Next-hop groups: tiers, members, hash buckets, liveness.
    NexthopGroups,
    /// The dataplane's ARP/ND table.
    Neighbors,
    /// Per-port packet counts, drops by reason, punts by class.
    Counters,
    /// The running configuration, defaults filled in, in the file's syntax.
    Config,
    /// The configured static routes and whether each is in the FIB.
    Static,
    /// BFD sessions: state, timers, diagnostics, counters.
    Bfd {
        #[command(subcommand)]
        which: Option<BfdWhich>,
    },
}

#[derive(Subcommand, Debug)]
enum BfdWhich {
    /// Every session, one line each (the default).
    Peers,
    /// One peer's sessions in detail.
    Peer {
        /// The peer's address.
        address: IpAddr,
    },
}

#[derive(Args, Debug)]
struct FibArgs {
    /// The destination address.
    address: IpAddr,
    /// Source address of the flow (default: unspecified).
    #[arg(long = "src", value_name = "ADDR")]
    source: Option<IpAddr>,
    /// IP protocol: a number or tcp, udp, sctp, icmp, icmpv6.
    #[arg(long = "proto", value_name = "PROTO", value_parser = parse_protocol)]
    protocol: Option<u8>,
    /// Source port (TCP, UDP, SCTP).
    #[arg(long = "sport", value_name = "PORT")]
    source_port: Option<u16>,
    /// Destination port (TCP, UDP, SCTP).
    #[arg(long = "dport", value_name = "PORT")]
    destination_port: Option<u16>,
}

fn parse_protocol(s: &str) -> Result<u8, String> {
    match s.to_ascii_lowercase().as_str() {
        "icmp" => Ok(1),
        "tcp" => Ok(6),
        "udp" => Ok(17),
        "icmpv6" | "ipv6-icmp" => Ok(58),
        "sctp" => Ok(132),
        other => other.parse().map_err(|_| {
            format!("`{s}` is not a protocol: give a number 0-255 or tcp, udp, sctp, icmp, icmpv6")
        }),
    }
}

impl ShowCommand {
    fn request(&self) -> Show {
        match self {
            Self::Interfaces => Show::Interfaces,
            Self::Routes { prefix } => Show::Routes { prefix: *prefix },
            Self::Fib(a) => Show::Fib(FibQuery {
                address: a.address,
                source: a.source,
                protocol: a.protocol,
                source_port: a.source_port,
                destination_port: a.destination_port,
            }),
            Self::NexthopGroups => Show::NexthopGroups,
            Self::Neighbors => Show::Neighbors,
            Self::Counters => Show::Counters,
            Self::Config => Show::Config,
            Self::Static => Show::Static,
            Self::Bfd { which } => Show::Bfd {
                peer: match which {
                    Some(BfdWhich::Peer { address }) => Some(*address),
                    Some(BfdWhich::Peers) | None => None,
                },
            },
        }
    }

    /// The human form of `answer`.
    fn render(&self, answer: Value) -> Result<String, serde_json::Error> {
        Ok(match self {
            Self::Interfaces => {
                show::interfaces(&serde_json::from_value::<InterfacesReply>(answer)?)
            }
            Self::Routes { .. } | Self::Static => {
                show::routes(&serde_json::from_value::<RoutesReply>(answer)?)
            }
            Self::Fib(_) => show::fib(&serde_json::from_value::<FibReply>(answer)?),
            Self::NexthopGroups => {
                show::nexthop_groups(&serde_json::from_value::<NexthopGroupsReply>(answer)?)
            }
            Self::Neighbors => show::neighbors(&serde_json::from_value::<NeighborsReply>(answer)?),
            Self::Counters => show::counters(&serde_json::from_value::<CountersReply>(answer)?),
            Self::Config => {
                config_text::render(&serde_json::from_value::<ConfigReply>(answer)?.config)
            }
            Self::Bfd { which } => {
                let reply = serde_json::from_value::<BfdReply>(answer)?;
                match which {
                    Some(BfdWhich::Peer { .. }) => show::bfd_detail(&reply),
                    Some(BfdWhich::Peers) | None => show::bfd_peers(&reply),
                }
            }
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "vrctl", &mut io::stdout());
            ExitCode::SUCCESS
        }
        Command::Show(show) => run_show(&cli.socket, cli.json, &show),
        Command::Config(config) => config_cmd::run(&cli.socket, cli.json, &config),
    }
}

fn run_show(socket: &std::path::Path, json: bool, show: &ShowCommand) -> ExitCode {
    let answer = match client::ask(socket, &Request::Show(show.request())) {
        Ok(answer) => answer,
        Err(e @ ClientError::NotRunning { .. }) => {
            eprintln!("vrctl: {e}");
            return ExitCode::from(EXIT_NOT_RUNNING);
        }
        Err(e) => {
            eprintln!("vrctl: {e}");
            return ExitCode::from(EXIT_DAEMON_ERROR);
        }
    };
    match answer {
        Ok(value) if json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Ok(value) => match show.render(value) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("vrctl: the daemon's answer has an unexpected shape ({e}); try --json");
                ExitCode::from(EXIT_DAEMON_ERROR)
            }
        },
        Err(error) => {
            if json {
                let value = serde_json::json!({ "error": error });
                println!(
                    "{}",
                    serde_json::to_string_pretty(&value).unwrap_or_default()
                );
            } else {
                eprintln!("vrctl: vrouterd refused: {}", error);
            }
            ExitCode::from(EXIT_DAEMON_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bash_completion_mentions_subcommands() {
        let mut out = Vec::new();
        clap_complete::generate(Shell::Bash, &mut Cli::command(), "vrctl", &mut out);
        let script = String::from_utf8(out).unwrap();
        for word in ["completions", "show", "nexthop-groups", "--json", "--sport"] {
            assert!(script.contains(word), "{word}");
        }
    }

    #[test]
    fn show_fib_flags_become_the_query() {
        let cli = Cli::try_parse_from([
            "vrctl",
            "-s",
            "/tmp/x.sock",
            "show",
            "fib",
            "10.2.0.2",
            "--src",
            "10.1.0.2",
            "--proto",
            "tcp",
            "--sport",
            "40000",
            "--dport",
            "443",
            "--json",
        ])
        .unwrap();
        assert!(cli.json);
        assert_eq!(cli.socket, PathBuf::from("/tmp/x.sock"));
        let Command::Show(show) = cli.command else {
            panic!("not show")
        };
        assert_eq!(
            show.request(),
            Show::Fib(FibQuery {
                address: "10.2.0.2".parse().unwrap(),
                source: Some("10.1.0.2".parse().unwrap()),
                protocol: Some(6),
                source_port: Some(40000),
                destination_port: Some(443),
            })
        );
    }

    #[test]
    fn usage_errors_exit_2() {
        for args in [
            &["vrctl", "show", "bgp"][..],
            &["vrctl", "show", "routes", "10.0.0.300/8"],
            &["vrctl", "show", "fib", "10.0.0.1", "--proto", "tcpp"],
            &["vrctl", "show", "fib"],
        ] {
            let e = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn the_default_socket_is_the_daemons() {
        let cli = Cli::try_parse_from(["vrctl", "show", "routes"]).unwrap();
        assert_eq!(cli.socket, PathBuf::from("/run/vrouterd.sock"));
    }

    #[test]
    fn protocols_by_name_or_number() {
        assert_eq!(parse_protocol("UDP"), Ok(17));
        assert_eq!(parse_protocol("58"), Ok(58));
        assert!(parse_protocol("256").is_err());
    }
}
