//! What the control plane asks of the engine (over the command channel).

use std::fmt;

use super::session::{SessionKey, SessionParams, SessionParamsError};
use crate::fib::NextHopId;

/// Plain owned data, `Send`, so it crosses a crossbeam channel as is.
#[derive(Clone, Debug, PartialEq)]
pub enum BfdCommand {
    /// Create a session guarding `guards` (their liveness bits go down
    /// until the session is Up, RFC 5882 §5).
    Add {
        key: SessionKey,
        params: SessionParams,
        guards: Vec<NextHopId>,
    },
    Modify {
        key: SessionKey,
        params: SessionParams,
    },
    SetGuards {
        key: SessionKey,
        guards: Vec<NextHopId>,
    },
    /// Delete at once. To tell the peer first, `Modify` to `admin_down`
    /// and remove a Detection Time later (RFC 5880 §6.8.16).
    Remove { key: SessionKey },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BfdCommandError {
    InvalidParams {
        key: SessionKey,
        error: SessionParamsError,
    },
    SingleHopWithoutPort(SessionKey),
    Exists(SessionKey),
    /// Another session already owns the packets this one would receive
    /// with Your Discriminator zero (same port and peer for single-hop,
    /// same address pair for multihop; RFC 5881 §3, RFC 5883 §4.1).
    DemuxConflict {
        key: SessionKey,
        existing: SessionKey,
    },
    TableFull {
        max_sessions: usize,
    },
    NoSuchSession(SessionKey),
}

impl fmt::Display for BfdCommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BfdCommandError::InvalidParams { key, error } => {
                write!(f, "BFD session {key}: {error}")
            }
            BfdCommandError::SingleHopWithoutPort(key) => write!(
                f,
                "BFD session {key}: a single-hop session must name its port; \
                 set one or make it multihop"
            ),
            BfdCommandError::Exists(key) => write!(f, "BFD session {key} already exists"),
            BfdCommandError::DemuxConflict { key, existing } => write!(
                f,
                "BFD session {key} would receive the same packets as {existing}; \
                 remove one or use distinct addresses"
            ),
            BfdCommandError::TableFull { max_sessions } => write!(
                f,
                "BFD session table full ({max_sessions} sessions); remove one or raise the limit"
            ),
            BfdCommandError::NoSuchSession(key) => write!(f, "no BFD session {key}"),
        }
    }
}

impl std::error::Error for BfdCommandError {}
