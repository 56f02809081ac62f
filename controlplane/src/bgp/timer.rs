//! BGP timers and their tokens.
//!
//! A token names the peer (its index), the timer, and for the timers of
//! one connection's FSM (RFC 4271 §8: ConnectRetry, Hold, Keepalive) that
//! FSM's serial number, so a timer armed for a connection that has since
//! been closed is recognised as stale and ignored rather than applied to
//! its successor. Layout: peer index in bits 40..64, kind in 32..40, FSM
//! serial in 0..32.

use crate::protocol::TimerToken;

/// Seconds to nanoseconds.
pub const SECOND: u64 = 1_000_000_000;

/// "A HoldTimer value of 4 minutes is suggested" while waiting for OPEN
/// (RFC 4271 §8.2.2, Connect and Active states).
pub const LARGE_HOLD_TIME: u64 = 240 * SECOND;

/// IdleHoldTime (RFC 4271 §8, DampPeerOscillations): the first automatic
/// restart after an error waits this long, each further error doubles it…
pub const IDLE_HOLD_INITIAL: u64 = SECOND;
/// …up to this.
pub const IDLE_HOLD_MAX: u64 = 60 * SECOND;
/// A session that stayed Established this long forgets earlier errors: the
/// next restart waits `IDLE_HOLD_INITIAL` again.
pub const IDLE_HOLD_FORGET: u64 = 60 * SECOND;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerKind {
    /// Per FSM (RFC 4271 §10).
    ConnectRetry,
    Hold,
    Keepalive,
    /// Per peer: the automatic restart out of Idle (RFC 4271 §8.1.1, Event 13).
    IdleHold,
    /// Per peer: the Restart Time a graceful-restart peer advertised
    /// (RFC 4724 §4.2): its stale routes go if it is not back by then.
    GracefulRestart,
    /// Per peer: our bound on stale routes after the peer is back.
    StaleRoutes,
}

impl TimerKind {
    fn code(self) -> u64 {
        match self {
            TimerKind::ConnectRetry => 1,
            TimerKind::Hold => 2,
            TimerKind::Keepalive => 3,
            TimerKind::IdleHold => 4,
            TimerKind::GracefulRestart => 5,
            TimerKind::StaleRoutes => 6,
        }
    }

    fn from_code(code: u64) -> Option<TimerKind> {
        Some(match code {
            1 => TimerKind::ConnectRetry,
            2 => TimerKind::Hold,
            3 => TimerKind::Keepalive,
            4 => TimerKind::IdleHold,
            5 => TimerKind::GracefulRestart,
            6 => TimerKind::StaleRoutes,
            _ => return None,
        })
    }
}

/// A decoded token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    /// The peer's index (24 bits are kept).
    pub peer: u32,
    pub kind: TimerKind,
    /// The FSM's serial for per-FSM timers, 0 for per-peer ones.
    pub fsm: u32,
}

impl Timer {
    pub fn token(self) -> TimerToken {
        (u64::from(self.peer & 0x00ff_ffff) << 40) | (self.kind.code() << 32) | u64::from(self.fsm)
    }

    pub fn from_token(token: TimerToken) -> Option<Timer> {
        Some(Timer {
            peer: (token >> 40) as u32,
            kind: TimerKind::from_code((token >> 32) & 0xff)?,
            fsm: token as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_differ() {
        let kinds = [
            TimerKind::ConnectRetry,
            TimerKind::Hold,
            TimerKind::Keepalive,
            TimerKind::IdleHold,
            TimerKind::GracefulRestart,
            TimerKind::StaleRoutes,
        ];
        let mut seen = std::collections::BTreeSet::new();
        for peer in [0, 1, 0x00ff_ffff] {
            for kind in kinds {
                for fsm in [0, 1, u32::MAX] {
                    let timer = Timer { peer, kind, fsm };
                    assert_eq!(Timer::from_token(timer.token()), Some(timer));
                    assert!(seen.insert(timer.token()));
                }
            }
        }
        assert_eq!(Timer::from_token(0), None);
    }
}
