//! `vrctl`: the operator's command line for vrouterd.

use std::io;

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;

/// Operate a running vrouterd: show state, change config, run drills.
///
/// The management API it talks to lands with the control-plane work; today
/// vrctl can generate its shell completions.
#[derive(Parser, Debug)]
#[command(name = "vrctl", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print a shell completion script to stdout, e.g.
    /// `vrctl completions bash > /etc/bash_completion.d/vrctl`.
    Completions {
        /// The shell to generate for.
        shell: Shell,
    },
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "vrctl", &mut io::stdout());
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
        assert!(script.contains("completions"));
    }
}
