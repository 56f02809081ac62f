//! Flap dampening of a session's liveness, on the route-flap-dampening
//! model (RFC 2439): every flap (a session leaving Up) adds a penalty that
//! decays exponentially with a half-life; once the penalty reaches the
//! suppress threshold, the session's next hops stay out of service after it
//! comes back Up until the penalty has decayed below the reuse threshold.
//! The penalty is capped so that suppression never outlasts the maximum
//! suppress time after the last flap.
//!
//! Only liveness is dampened: the BFD session itself runs normally, so the
//! peer sees an ordinary session and the state machine stays RFC 5880's.

use std::fmt;

use super::Nanos;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Dampening parameters. Off unless configured; [`Default`] gives values
/// suited to BFD's second-scale flaps (the BGP figures are minutes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DampeningConfig {
    pub half_life_ns: u64,
    pub penalty_per_flap: u32,
    /// Suppress once the penalty reaches this.
    pub suppress_threshold: u32,
    /// Release once the penalty has decayed to this or below.
    pub reuse_threshold: u32,
    /// The longest a session stays suppressed after its last flap.
    pub max_suppress_ns: u64,
}

impl Default for DampeningConfig {
    /// Three quick flaps suppress; a steady session is reused after at most
    /// a minute.
    fn default() -> Self {
        DampeningConfig {
            half_life_ns: 15 * NANOS_PER_SEC,
            penalty_per_flap: 1000,
            suppress_threshold: 2500,
            reuse_threshold: 750,
            max_suppress_ns: 60 * NANOS_PER_SEC,
        }
    }
}

/// Why a [`DampeningConfig`] was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DampeningConfigError {
    ZeroHalfLife,
    ZeroReuse,
    /// The reuse threshold must be below the suppress threshold.
    ReuseNotBelowSuppress,
}

impl fmt::Display for DampeningConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DampeningConfigError::ZeroHalfLife => "BFD dampening half-life must be above zero",
            DampeningConfigError::ZeroReuse => "BFD dampening reuse threshold must be above zero",
            DampeningConfigError::ReuseNotBelowSuppress => {
                "BFD dampening reuse threshold must be below the suppress threshold"
            }
        })
    }
}

impl std::error::Error for DampeningConfigError {}

impl DampeningConfig {
    pub fn validate(&self) -> Result<(), DampeningConfigError> {
        if self.half_life_ns == 0 {
            return Err(DampeningConfigError::ZeroHalfLife);
        }
        if self.reuse_threshold == 0 {
            return Err(DampeningConfigError::ZeroReuse);
        }
        if self.reuse_threshold >= self.suppress_threshold {
            return Err(DampeningConfigError::ReuseNotBelowSuppress);
        }
        Ok(())
    }

    /// The penalty that takes exactly `max_suppress_ns` to decay to the
    /// reuse threshold (RFC 2439 §4.2's ceiling).
    fn ceiling(&self) -> f64 {
        let half_lives = self.max_suppress_ns as f64 / self.half_life_ns as f64;
        f64::from(self.reuse_threshold) * half_lives.exp2()
    }
}

/// One session's penalty, decayed lazily whenever it is looked at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dampening {
    config: DampeningConfig,
    penalty: f64,
    updated_at: Nanos,
    suppressed: bool,
}

impl Dampening {
    pub fn new(config: DampeningConfig) -> Self {
        Dampening {
            config,
            penalty: 0.0,
            updated_at: 0,
            suppressed: false,
        }
    }

    pub fn config(&self) -> &DampeningConfig {
        &self.config
    }

    /// Takes a new configuration, keeping the accumulated penalty.
    pub fn reconfigure(&mut self, config: DampeningConfig, now: Nanos) {
        self.decay_to(now);
        self.config = config;
        self.penalty = self.penalty.min(config.ceiling());
        self.settle();
    }

    fn penalty_at(&self, now: Nanos) -> f64 {
        let elapsed = now.saturating_sub(self.updated_at) as f64;
        self.penalty * (-elapsed / self.config.half_life_ns as f64).exp2()
    }

    fn decay_to(&mut self, now: Nanos) {
        if now > self.updated_at {
            self.penalty = self.penalty_at(now);
            self.updated_at = now;
        }
    }

    /// A tolerance of a millionth of a penalty point, so that the float
    /// error of [`Self::reuse_at`] cannot leave the penalty a hair above
    /// the threshold at the computed reuse time.
    fn reusable(&self, penalty: f64) -> bool {
        penalty <= f64::from(self.config.reuse_threshold) + 1e-6
    }

    fn settle(&mut self) {
        if self.penalty >= f64::from(self.config.suppress_threshold) {
            self.suppressed = true;
        } else if self.suppressed && self.reusable(self.penalty) {
            self.suppressed = false;
        }
    }

    /// The session left Up at `now`.
    pub fn record_flap(&mut self, now: Nanos) {
        self.decay_to(now);
        self.penalty =
            (self.penalty + f64::from(self.config.penalty_per_flap)).min(self.config.ceiling());
        self.settle();
    }

    /// Whether liveness must still be held back at `now`.
    pub fn is_suppressed(&mut self, now: Nanos) -> bool {
        self.decay_to(now);
        self.settle();
        self.suppressed
    }

    /// Like [`Self::is_suppressed`], without updating the stored penalty.
    pub fn suppressed_at(&self, now: Nanos) -> bool {
        self.suppressed && !self.reusable(self.penalty_at(now))
    }

    /// The penalty as of `now`, for `show bfd`.
    pub fn penalty(&self, now: Nanos) -> u32 {
        self.penalty_at(now) as u32
    }

    /// When the penalty will have decayed to the reuse threshold if no
    /// further flap happens; `None` when not suppressed. Always after `now`.
    pub fn reuse_at(&self, now: Nanos) -> Option<Nanos> {
        if !self.suppressed_at(now) {
            return None;
        }
        let ratio = self.penalty_at(now) / f64::from(self.config.reuse_threshold);
        let wait = (ratio.log2() * self.config.half_life_ns as f64).ceil();
        let wait = if wait.is_finite() && wait > 0.0 {
            (wait as u64).min(self.config.max_suppress_ns)
        } else {
            0
        };
        Some(now.saturating_add(wait.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> DampeningConfig {
        DampeningConfig {
            half_life_ns: 10 * NANOS_PER_SEC,
            penalty_per_flap: 1000,
            suppress_threshold: 2000,
            reuse_threshold: 500,
            max_suppress_ns: 40 * NANOS_PER_SEC,
        }
    }

    #[test]
    fn penalty_halves_every_half_life_and_suppression_ends_at_reuse() {
        let mut d = Dampening::new(config());
        d.record_flap(0);
        assert!(!d.is_suppressed(0));
        d.record_flap(0);
        assert!(d.is_suppressed(0), "2000 reaches the suppress threshold");
        assert_eq!(d.penalty(10 * NANOS_PER_SEC), 1000);
        // 2000 → 500 takes two half-lives.
        let reuse = d.reuse_at(0).unwrap();
        assert!(reuse.abs_diff(20 * NANOS_PER_SEC) <= 1, "{reuse}");
        assert!(d.is_suppressed(reuse - 1_000_000));
        assert!(!d.is_suppressed(reuse));
        assert_eq!(d.reuse_at(reuse), None);
    }

    #[test]
    fn penalty_is_capped_so_suppression_ends_by_max_suppress() {
        let mut d = Dampening::new(config());
        for _ in 0..100 {
            d.record_flap(0);
        }
        // Ceiling: 500 × 2^(40/10) = 8000.
        assert_eq!(d.penalty(0), 8000);
        let reuse = d.reuse_at(0).unwrap();
        assert!(reuse <= 40 * NANOS_PER_SEC && reuse > 39 * NANOS_PER_SEC);
    }

    #[test]
    fn validation_rejects_inverted_thresholds() {
        assert_eq!(DampeningConfig::default().validate(), Ok(()));
        let mut bad = config();
        bad.reuse_threshold = bad.suppress_threshold;
        assert_eq!(
            bad.validate(),
            Err(DampeningConfigError::ReuseNotBelowSuppress)
        );
        bad = config();
        bad.half_life_ns = 0;
        assert_eq!(bad.validate(), Err(DampeningConfigError::ZeroHalfLife));
    }
}
