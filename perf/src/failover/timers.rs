//! BFD timers of a trial: one interval (transmit = receive) and the
//! detection multiplier, written `10x3`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The smallest interval FRR 8.4's bfdd accepts (ms): below it, the
/// gateways' BFD peer is vrouterd itself.
pub const FRR_MIN_INTERVAL_MS: u32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timers {
    pub interval_ms: u32,
    pub multiplier: u8,
}

impl Timers {
    /// Detection time: multiplier × interval (RFC 5880 §6.8.4).
    pub fn detect_ms(self) -> u64 {
        u64::from(self.interval_ms) * u64::from(self.multiplier)
    }

    /// The timers of the backup gateway's session: these, or FRR's
    /// fastest (10 ms × 3) when FRR cannot run them. Only gw1's session
    /// is measured; below 10 ms gw2 runs FRR's bfdd rather than a second
    /// vrouterd (see `gateways`).
    pub fn backup(self) -> Timers {
        if self.frr_can_run() {
            self
        } else {
            Timers {
                interval_ms: FRR_MIN_INTERVAL_MS,
                multiplier: 3,
            }
        }
    }

    /// Whether FRR's bfdd can run these timers.
    pub fn frr_can_run(self) -> bool {
        self.interval_ms >= FRR_MIN_INTERVAL_MS
    }
}

impl fmt::Display for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.interval_ms, self.multiplier)
    }
}

impl Serialize for Timers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FromStr for Timers {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?}: write BFD timers as INTERVAL_MSxMULTIPLIER, e.g. 10x3");
        let (interval, mult) = s.split_once(['x', 'X']).ok_or_else(bad)?;
        let interval_ms: u32 = interval.trim().parse().map_err(|_| bad())?;
        let multiplier: u8 = mult.trim().parse().map_err(|_| bad())?;
        if !(1..=60_000).contains(&interval_ms) || multiplier == 0 {
            return Err(format!(
                "{s:?}: the interval must be 1..=60000 ms and the multiplier 1..=255"
            ));
        }
        Ok(Timers {
            interval_ms,
            multiplier,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_parse_print_and_say_who_can_run_them() {
        let t: Timers = "10x3".parse().unwrap();
        assert_eq!((t.interval_ms, t.multiplier), (10, 3));
        assert_eq!(t.to_string(), "10x3");
        assert_eq!(t.detect_ms(), 30);
        assert!(t.frr_can_run());
        assert!(!"3x3".parse::<Timers>().unwrap().frr_can_run());
        assert_eq!(
            "3x3".parse::<Timers>().unwrap().backup().to_string(),
            "10x3"
        );
        assert_eq!(t.backup(), t);
        for bad in ["10", "x3", "10x0", "0x3", "10x256", "ax3"] {
            assert!(bad.parse::<Timers>().is_err(), "{bad}");
        }
    }
}
