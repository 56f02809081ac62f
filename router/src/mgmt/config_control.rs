//! Configuration requests (`{"config": …}`) between the API threads and
//! whoever owns the [`CommitManager`].
//!
//! The API server only sees [`ConfigControl`]: the daemon implements it by
//! sending each request to the control-plane thread, which owns the
//! manager and the applier and answers with [`answer`]. Requests are
//! served one at a time there, so two operators' commits never interleave.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::api::{
    ApiError, CommitReply, CommitResult, ConfigProblem, ConfigRequest, ConfirmReply, ErrorCode,
    HistoryItem, HistoryReply, PendingReply, ValidateReply,
};
use crate::config::{
    CommitError, CommitKind, CommitManager, CommitOutcome, ConfigApplier, ConfigErrors, Now,
    PendingInfo,
};

/// Where `path` is not given, errors name the text this way.
pub const DEFAULT_ORIGIN: &str = "<candidate>";

/// Answers configuration requests; `Send + Sync` so every API client
/// thread can hold it.
pub trait ConfigControl: Send + Sync {
    /// The reply's `ok` value, or the error to send.
    fn request(&self, request: ConfigRequest) -> Result<Value, ApiError>;
}

/// The API's answer when the daemon has no [`ConfigControl`].
pub fn dispatch(
    control: Option<&dyn ConfigControl>,
    request: ConfigRequest,
) -> Result<Value, ApiError> {
    match control {
        Some(control) => {
            let kind = request.kind();
            let answer = control.request(request);
            match &answer {
                Ok(_) => tracing::info!(request = kind, "management API: config request served"),
                Err(e) => {
                    tracing::info!(request = kind, code = %e.code, message = %e.message, "management API: config request refused");
                }
            }
            answer
        }
        None => Err(ApiError::new(
            ErrorCode::NotSupported,
            format!(
                "config {} is not supported by this daemon: it runs without configuration transactions",
                request.kind()
            ),
        )),
    }
}

/// Serves one request on the manager: what the owner of the manager calls.
pub fn answer(
    manager: &mut CommitManager,
    request: ConfigRequest,
    now: Now,
    applier: &mut dyn ConfigApplier,
) -> Result<Value, ApiError> {
    let origin = |path: Option<String>| path.unwrap_or_else(|| DEFAULT_ORIGIN.to_owned());
    match request {
        ConfigRequest::Validate { text, path } => {
            manager
                .validate(&text, &origin(path))
                .map_err(|e| invalid_config(&e))?;
            to_value(&ValidateReply { valid: true })
        }
        ConfigRequest::Diff { text, path } => {
            let diff = manager
                .diff(&text, &origin(path))
                .map_err(|e| invalid_config(&e))?;
            to_value(&diff)
        }
        ConfigRequest::Commit {
            text,
            path,
            confirm_seconds,
            comment,
        } => {
            let outcome = manager
                .commit(
                    &text,
                    &origin(path),
                    confirm_seconds.map(Duration::from_secs),
                    comment.as_deref(),
                    now,
                    applier,
                )
                .map_err(|e| api_error(&e))?;
            to_value(&commit_reply(outcome, now, false))
        }
        ConfigRequest::Confirm => {
            let outcome = manager.confirm(now).map_err(|e| api_error(&e))?;
            let message = format!(
                "commit {} confirmed: the running configuration is saved",
                ids(&outcome.confirmed)
            );
            to_value(&ConfirmReply {
                confirmed: outcome.confirmed,
                id: outcome.id,
                message,
            })
        }
        ConfigRequest::Rollback { steps, comment } => {
            let outcome = manager
                .rollback(steps.unwrap_or(1), comment.as_deref(), now, applier)
                .map_err(|e| api_error(&e))?;
            to_value(&commit_reply(outcome, now, true))
        }
        ConfigRequest::History => {
            let commits = manager
                .history()
                .into_iter()
                .enumerate()
                .map(|(rollback, entry)| HistoryItem { rollback, entry })
                .collect();
            to_value(&HistoryReply {
                commits,
                pending: manager.pending().map(|p| pending_reply(&p, now)),
            })
        }
    }
}

fn pending_reply(p: &PendingInfo, now: Now) -> PendingReply {
    PendingReply {
        commits: p.commits.clone(),
        seconds_left: p.deadline.saturating_sub(now.monotonic).as_secs(),
        rollback_to: p.rollback_to,
    }
}

fn commit_reply(outcome: CommitOutcome, now: Now, rollback: bool) -> CommitReply {
    let pending = outcome.pending.as_ref().map(|p| pending_reply(p, now));
    let id = outcome
        .id
        .map_or_else(|| "?".to_owned(), |id| id.to_string());
    let window = pending.as_ref().map_or_else(String::new, |p| {
        format!(
            "; confirm within {} s (vrctl config confirm) or it rolls back to commit {} by itself",
            p.seconds_left,
            p.rollback_to
                .map_or_else(|| "?".to_owned(), |id| id.to_string())
        )
    });
    let (result, message) = match outcome.kind {
        CommitKind::Committed if rollback => (
            CommitResult::Committed,
            format!(
                "rolled back: now running as commit {id} ({})",
                outcome.diff.summary()
            ),
        ),
        CommitKind::Committed => (
            CommitResult::Committed,
            format!(
                "committed as commit {id} ({}){window}",
                outcome.diff.summary()
            ),
        ),
        CommitKind::NoChanges => (
            CommitResult::NoChanges,
            format!(
                "no changes: this is the running configuration (commit {id}); nothing was done{window}"
            ),
        ),
        CommitKind::Confirmed => (
            CommitResult::Confirmed,
            format!(
                "no changes; commit {} confirmed: the running configuration is saved",
                ids(&outcome.confirmed)
            ),
        ),
        CommitKind::ConfirmExtended => (
            CommitResult::ConfirmExtended,
            format!("no changes; confirm window restarted{window}"),
        ),
    };
    CommitReply {
        result,
        id: outcome.id,
        diff: outcome.diff,
        restarted: outcome.report.restarted,
        notes: outcome.report.notes,
        pending,
        confirmed: outcome.confirmed,
        message,
    }
}

fn ids(ids: &[u64]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The API's form of a configuration that does not validate: every error
/// in `errors`, with line, column and key.
pub fn invalid_config(errors: &ConfigErrors) -> ApiError {
    let n = errors.errors().len();
    ApiError::new(
        ErrorCode::InvalidConfig,
        format!(
            "{n} error{} in {}; nothing was changed",
            if n == 1 { "" } else { "s" },
            errors.origin()
        ),
    )
    .with_errors(
        errors
            .errors()
            .iter()
            .map(|e| ConfigProblem {
                line: e.line,
                column: e.column,
                key: e.path.clone(),
                message: e.message.clone(),
                help: e.help.clone(),
            })
            .collect(),
    )
}

/// The API's form of a refused transaction.
pub fn api_error(error: &CommitError) -> ApiError {
    match error {
        CommitError::Invalid(errors) => invalid_config(errors),
        CommitError::Apply(e) => ApiError::new(ErrorCode::ApplyFailed, error.to_string())
            .with_errors(vec![ConfigProblem {
                line: 0,
                column: 0,
                key: e.unit.as_ref().map(ToString::to_string).unwrap_or_default(),
                message: e.message.clone(),
                help: e.help.clone(),
            }]),
        CommitError::NothingToConfirm => {
            ApiError::new(ErrorCode::NothingToConfirm, error.to_string())
        }
        CommitError::NoSuchCommit { .. } => {
            ApiError::new(ErrorCode::NoSuchCommit, error.to_string())
        }
        CommitError::BadConfirm(_) => ApiError::new(ErrorCode::InvalidRequest, error.to_string()),
        CommitError::Store { .. } => ApiError::new(ErrorCode::StoreFailed, error.to_string()),
    }
}

fn to_value<T: Serialize>(value: &T) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("cannot encode the answer: {e}"),
        )
    })
}
