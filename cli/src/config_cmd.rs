//! `vrctl config …`: validate a file here, or ask the daemon to diff,
//! commit, confirm, roll back, or list its history.
//!
//! vrctl reads the FILE and sends its text; the daemon validates it
//! against its own machine and never reads the path, which only names the
//! text in error messages.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use router::config::{ConfigDiff, ConfigError, ConfigErrors, ValidationEnv, load};
use router::mgmt::api::{
    ApiError, CommitReply, ConfigRequest, ConfirmReply, ErrorCode, HistoryReply, Request,
};
use router::mgmt::config_control::invalid_config;
use serde_json::Value;

use crate::client::{self, ClientError};
use crate::table::Table;
use crate::{EXIT_DAEMON_ERROR, EXIT_NOT_RUNNING};

/// `--offline`: no check against this machine's CPUs. `ValidationEnv`
/// knows nothing else of the machine today; checks of its interfaces
/// would be skipped here too.
const OFFLINE: ValidationEnv = ValidationEnv { cpu_count: 4096 };

/// The longest confirm window (the daemon's limit too).
const MAX_CONFIRM_SECONDS: u64 = 24 * 60 * 60;

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Check FILE here, without a daemon: every error with file:line:column,
    /// key and reason; exit 1 if there is one.
    Validate {
        file: PathBuf,
        /// Check the file for another machine: skip the checks against
        /// this one (CPU numbers).
        #[arg(long)]
        offline: bool,
    },
    /// What committing FILE would change in the running configuration:
    /// `+` added, `-` removed, `~` changed.
    Diff { file: PathBuf },
    /// Make FILE the running configuration: all of it or nothing. Only the
    /// parts that changed are restarted.
    Commit {
        file: PathBuf,
        /// Roll back by itself unless `vrctl config confirm` follows within
        /// SECONDS (1 to 86400).
        #[arg(long, value_name = "SECONDS",
              value_parser = clap::value_parser!(u64).range(1..=MAX_CONFIRM_SECONDS))]
        confirm: Option<u64>,
        /// Kept in the history with the commit.
        #[arg(long, value_name = "TEXT")]
        comment: Option<String>,
    },
    /// Confirm the commit made with --confirm: it stays, and is saved.
    Confirm,
    /// Run the configuration N commits back (1, the default: the one
    /// before the running one; see `vrctl config history`).
    Rollback {
        #[arg(default_value_t = 1)]
        n: usize,
        /// Kept in the history with the rollback.
        #[arg(long, value_name = "TEXT")]
        comment: Option<String>,
    },
    /// The configurations kept, newest first, with the N of `rollback N`.
    History,
}

pub fn run(socket: &Path, json: bool, command: &ConfigCommand) -> ExitCode {
    let (request, file) = match command {
        ConfigCommand::Validate { file, offline } => return validate(file, *offline, json),
        ConfigCommand::Diff { file } => match read(file) {
            Ok(text) => (
                ConfigRequest::Diff {
                    text,
                    path: Some(file.display().to_string()),
                },
                Some(file),
            ),
            Err(code) => return code,
        },
        ConfigCommand::Commit {
            file,
            confirm,
            comment,
        } => match read(file) {
            Ok(text) => (
                ConfigRequest::Commit {
                    text,
                    path: Some(file.display().to_string()),
                    confirm_seconds: *confirm,
                    comment: comment.clone(),
                },
                Some(file),
            ),
            Err(code) => return code,
        },
        ConfigCommand::Confirm => (ConfigRequest::Confirm, None),
        ConfigCommand::Rollback { n, comment } => (
            ConfigRequest::Rollback {
                steps: Some(*n),
                comment: comment.clone(),
            },
            None,
        ),
        ConfigCommand::History => (ConfigRequest::History, None),
    };
    let answer = match client::ask(socket, &Request::Config(request)) {
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
    let value = match answer {
        Ok(value) => value,
        Err(error) => {
            refused(&error, file.map(|f| f.display().to_string()), json);
            return ExitCode::from(EXIT_DAEMON_ERROR);
        }
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    match render(command, value) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vrctl: the daemon's answer has an unexpected shape ({e}); try --json");
            ExitCode::from(EXIT_DAEMON_ERROR)
        }
    }
}

fn read(file: &Path) -> Result<String, ExitCode> {
    std::fs::read_to_string(file).map_err(|e| {
        eprintln!("vrctl: cannot read {}: {e}", file.display());
        ExitCode::from(EXIT_DAEMON_ERROR)
    })
}

fn validate(file: &Path, offline: bool, json: bool) -> ExitCode {
    let env = if offline {
        OFFLINE
    } else {
        ValidationEnv::this_machine()
    };
    match load(file, &env) {
        Ok(config) => {
            if json {
                println!("{}", serde_json::json!({ "valid": true }));
            } else {
                println!(
                    "{}: valid ({} port{}, {} static route{})",
                    file.display(),
                    config.ports.len(),
                    plural(config.ports.len()),
                    config.static_routes.len(),
                    plural(config.static_routes.len()),
                );
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            if json {
                print_json_error(&invalid_config(&errors));
            } else {
                eprintln!("{errors}");
            }
            ExitCode::from(EXIT_DAEMON_ERROR)
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn print_json_error(error: &ApiError) {
    let value = serde_json::json!({ "error": error });
    println!(
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    );
}

/// The daemon's refusal: an invalid file is printed like `validate`
/// prints it, anything else as its message.
fn refused(error: &ApiError, origin: Option<String>, json: bool) {
    if json {
        print_json_error(error);
        return;
    }
    if error.code == ErrorCode::InvalidConfig && !error.errors.is_empty() {
        let errors = error
            .errors
            .iter()
            .map(|p| ConfigError {
                line: p.line,
                column: p.column,
                path: p.key.clone(),
                message: p.message.clone(),
                help: p.help.clone(),
            })
            .collect();
        let origin = origin.unwrap_or_else(|| "the configuration".to_owned());
        eprintln!("{}", ConfigErrors::new(&origin, errors));
        eprintln!("vrctl: vrouterd refused the configuration; nothing was changed");
        return;
    }
    eprintln!("vrctl: vrouterd refused: {error}");
    if error.code == ErrorCode::ApplyFailed {
        for p in &error.errors {
            if let Some(help) = &p.help {
                eprintln!("  = help: {help}");
            }
        }
    }
}

fn render(command: &ConfigCommand, answer: Value) -> Result<String, serde_json::Error> {
    Ok(match command {
        ConfigCommand::Validate { .. } => String::new(),
        ConfigCommand::Diff { .. } => serde_json::from_value::<ConfigDiff>(answer)?.to_string(),
        ConfigCommand::Commit { .. } | ConfigCommand::Rollback { .. } => {
            commit(&serde_json::from_value::<CommitReply>(answer)?)
        }
        ConfigCommand::Confirm => {
            let reply = serde_json::from_value::<ConfirmReply>(answer)?;
            format!("{}\n", reply.message)
        }
        ConfigCommand::History => history(&serde_json::from_value::<HistoryReply>(answer)?),
    })
}

fn commit(reply: &CommitReply) -> String {
    let mut out = String::new();
    if !reply.diff.is_empty() {
        out.push_str(&reply.diff.to_string());
    }
    for note in &reply.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out.push_str(&reply.message);
    out.push('\n');
    out
}

fn history(reply: &HistoryReply) -> String {
    let mut table = Table::new(&[
        "N",
        "ID",
        "TIME (UTC)",
        "ORIGIN",
        "STATUS",
        "BYTES",
        "COMMENT",
        "CHANGES",
    ])
    .right_aligned(&[0, 1, 5]);
    for item in &reply.commits {
        let e = &item.entry;
        table.row([
            item.rollback.to_string(),
            e.id.to_string(),
            utc(e.time),
            word(&e.origin),
            word(&e.status),
            e.bytes.to_string(),
            e.comment.clone().unwrap_or_default(),
            e.summary.clone(),
        ]);
    }
    let mut out = if table.is_empty() {
        "no commits recorded\n".to_owned()
    } else {
        table.render()
    };
    if let Some(p) = &reply.pending {
        let ids: Vec<String> = p.commits.iter().map(ToString::to_string).collect();
        out.push_str(&format!(
            "\ncommit {} awaits confirmation: `vrctl config confirm` within {} s, or it rolls back to commit {} by itself\n",
            ids.join(", "),
            p.seconds_left,
            p.rollback_to
                .map_or_else(|| "?".to_owned(), |id| id.to_string()),
        ));
    }
    out
}

/// A wire word as written (`confirm_timeout`, `rolled_back`).
fn word<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => "?".to_owned(),
    }
}

/// `YYYY-MM-DD HH:MM:SS` in UTC from seconds since the Unix epoch.
fn utc(secs: u64) -> String {
    let days = secs / 86_400;
    let rest = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, for days ≥ 0).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(utc(4_102_444_799), "2099-12-31 23:59:59");
    }
}
