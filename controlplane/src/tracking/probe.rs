//! One probed target as a sans-IO state machine: the cloud-style health
//! check (send a probe every interval, wait up to a timeout for the answer,
//! declare the target up after `up_threshold` answers in a row and down
//! after `down_threshold` misses in a row).
//!
//! The tracker owns no socket and reads no clock: the caller hands in `now`
//! and carries out the returned [`ProbeAction`]s. It keeps exactly one
//! timer, so every [`ProbeAction::ArmTimer`] replaces the previous one.
//!
//! A tracker starts in [`ProbeState::Unknown`]. Callers treat Unknown as
//! down: a next hop guarded by a probe carries no traffic until the target
//! has answered `up_threshold` times in a row. A router that has just
//! started has no evidence that a gateway works, and sending traffic into a
//! dead gateway for a few intervals is worse than waiting for proof.
//!
//! Each probe carries a sequence number and at most one probe is
//! outstanding. Only an answer to the outstanding probe, before its
//! deadline, counts: a late answer (after the deadline, or to an earlier
//! probe), a duplicate, or an answer with a sequence number this tracker
//! never sent is ignored, so a burst of stale replies cannot fake health.

use serde::{Deserialize, Serialize};

use crate::clock::Nanos;

const NANOS_PER_MILLI: Nanos = 1_000_000;

/// Consecutive answers that declare a target up, unless configured.
pub const DEFAULT_UP_THRESHOLD: u8 = 2;
/// Consecutive misses that declare a target down, unless configured.
pub const DEFAULT_DOWN_THRESHOLD: u8 = 3;

/// Timing and thresholds of one probe. Which packet is sent, to whom and
/// out of which port is the caller's business (the socket adapters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProbeConfig {
    /// Time between two probes, from the send of one to the send of the next.
    pub interval_ms: u32,
    /// How long after a send its answer still counts; at most `interval_ms`.
    pub timeout_ms: u32,
    /// Answers in a row that declare the target up.
    pub up_threshold: u8,
    /// Misses in a row that declare the target down.
    pub down_threshold: u8,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            interval_ms: 1_000,
            timeout_ms: 1_000,
            up_threshold: DEFAULT_UP_THRESHOLD,
            down_threshold: DEFAULT_DOWN_THRESHOLD,
        }
    }
}

/// Why a [`ProbeConfig`] cannot be used as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeConfigError {
    ZeroInterval,
    ZeroTimeout,
    /// A probe still waiting when the next is due would need two
    /// outstanding probes; the timeout must fit in the interval.
    TimeoutLongerThanInterval {
        timeout_ms: u32,
        interval_ms: u32,
    },
    ZeroUpThreshold,
    ZeroDownThreshold,
}

impl std::fmt::Display for ProbeConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeConfigError::ZeroInterval => {
                f.write_str("probe interval is 0 ms: give an interval of at least 1 ms")
            }
            ProbeConfigError::ZeroTimeout => {
                f.write_str("probe timeout is 0 ms: give a timeout of at least 1 ms")
            }
            ProbeConfigError::TimeoutLongerThanInterval {
                timeout_ms,
                interval_ms,
            } => write!(
                f,
                "probe timeout {timeout_ms} ms is longer than its interval {interval_ms} ms: \
                 lower the timeout or raise the interval"
            ),
            ProbeConfigError::ZeroUpThreshold => {
                f.write_str("probe up threshold is 0: at least one answer must be seen")
            }
            ProbeConfigError::ZeroDownThreshold => {
                f.write_str("probe down threshold is 0: at least one miss must be seen")
            }
        }
    }
}

impl std::error::Error for ProbeConfigError {}

impl ProbeConfig {
    /// Checks what the config layer should refuse. A tracker built from a
    /// config that fails this still runs, on [`ProbeConfig::clamped`] values.
    pub fn validate(&self) -> Result<(), ProbeConfigError> {
        if self.interval_ms == 0 {
            return Err(ProbeConfigError::ZeroInterval);
        }
        if self.timeout_ms == 0 {
            return Err(ProbeConfigError::ZeroTimeout);
        }
        if self.timeout_ms > self.interval_ms {
            return Err(ProbeConfigError::TimeoutLongerThanInterval {
                timeout_ms: self.timeout_ms,
                interval_ms: self.interval_ms,
            });
        }
        if self.up_threshold == 0 {
            return Err(ProbeConfigError::ZeroUpThreshold);
        }
        if self.down_threshold == 0 {
            return Err(ProbeConfigError::ZeroDownThreshold);
        }
        Ok(())
    }

    /// The nearest usable config: zero values become 1, the timeout is cut
    /// to the interval.
    pub fn clamped(&self) -> ProbeConfig {
        let interval_ms = self.interval_ms.max(1);
        ProbeConfig {
            interval_ms,
            timeout_ms: self.timeout_ms.clamp(1, interval_ms),
            up_threshold: self.up_threshold.max(1),
            down_threshold: self.down_threshold.max(1),
        }
    }

    fn interval(&self) -> Nanos {
        Nanos::from(self.interval_ms) * NANOS_PER_MILLI
    }

    fn timeout(&self) -> Nanos {
        Nanos::from(self.timeout_ms) * NANOS_PER_MILLI
    }
}

/// The tracker's verdict on its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeState {
    /// Not enough evidence yet; callers treat it as down.
    Unknown,
    Up,
    Down,
}

/// What the tracker asks its caller to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeAction {
    /// Send one probe carrying `seq` (the ICMP echo sequence number; ARP
    /// and NS have none, so their socket credits an answer to the last
    /// `seq` it sent).
    Send { seq: u16 },
    /// Call [`ProbeTracker::on_timer`] at or after `at`, replacing any
    /// earlier request.
    ArmTimer { at: Nanos },
    /// The verdict changed. `up: false` is also reported when an Unknown
    /// target is first declared down, though callers already treated it
    /// as down: the log should say so.
    StateChanged { up: bool },
}

/// The probe waiting for its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Outstanding {
    seq: u16,
    sent_at: Nanos,
}

/// One tracked target.
#[derive(Debug, Clone)]
pub struct ProbeTracker {
    config: ProbeConfig,
    state: ProbeState,
    running: bool,
    /// The sequence number of the last probe sent.
    seq: u16,
    /// When the last probe was sent; rescheduling after `reconfigure`
    /// counts from here.
    last_sent: Nanos,
    outstanding: Option<Outstanding>,
    /// When the next probe is due (phase-locked to the first send, so the
    /// event loop's lateness does not add up).
    next_send: Nanos,
    successes: u8,
    failures: u8,
}

impl ProbeTracker {
    /// A stopped tracker; nothing happens until [`ProbeTracker::start`].
    /// An invalid config is used in its [`ProbeConfig::clamped`] form.
    pub fn new(config: ProbeConfig) -> Self {
        ProbeTracker {
            config: config.clamped(),
            state: ProbeState::Unknown,
            running: false,
            seq: 0,
            last_sent: 0,
            outstanding: None,
            next_send: 0,
            successes: 0,
            failures: 0,
        }
    }

    pub fn config(&self) -> &ProbeConfig {
        &self.config
    }

    pub fn state(&self) -> ProbeState {
        self.state
    }

    /// Whether traffic may rely on the target: only a proven Up counts.
    pub fn is_up(&self) -> bool {
        self.state == ProbeState::Up
    }

    /// Sends the first probe now. Calling it again restarts from Unknown.
    pub fn start(&mut self, now: Nanos) -> Vec<ProbeAction> {
        self.running = true;
        self.state = ProbeState::Unknown;
        self.successes = 0;
        self.failures = 0;
        self.outstanding = None;
        let mut actions = Vec::with_capacity(2);
        self.send(now, now, &mut actions);
        self.arm(&mut actions);
        actions
    }

    /// The timer armed last is due (or the caller woke early: then only
    /// the timer is re-armed). A timer far behind schedule sends one probe,
    /// not one per missed interval.
    pub fn on_timer(&mut self, now: Nanos) -> Vec<ProbeAction> {
        let mut actions = Vec::new();
        if self.running {
            self.advance(now, &mut actions);
        }
        actions
    }

    /// An answer carrying `seq` arrived. Counts only for the outstanding
    /// probe and before its deadline.
    pub fn on_reply(&mut self, now: Nanos, seq: u16) -> Vec<ProbeAction> {
        let mut actions = Vec::new();
        let Some(outstanding) = self.outstanding else {
            return actions;
        };
        if !self.running || outstanding.seq != seq || now >= self.deadline(outstanding) {
            return actions;
        }
        self.outstanding = None;
        self.successes = self.successes.saturating_add(1);
        self.failures = 0;
        self.evaluate(&mut actions);
        // Nothing to wait for until the next send.
        self.arm(&mut actions);
        actions
    }

    /// New timing or thresholds. The verdict and the streaks are kept
    /// (BIRD-style: a changed interval does not restart the check); the
    /// next send and the outstanding probe's deadline are recomputed from
    /// the last send, and new thresholds apply to the current streak at
    /// once.
    pub fn reconfigure(&mut self, now: Nanos, config: ProbeConfig) -> Vec<ProbeAction> {
        self.config = config.clamped();
        let mut actions = Vec::new();
        if !self.running {
            return actions;
        }
        self.next_send = self.last_sent.saturating_add(self.config.interval());
        self.evaluate(&mut actions);
        self.advance(now, &mut actions);
        actions
    }

    fn deadline(&self, outstanding: Outstanding) -> Nanos {
        outstanding.sent_at.saturating_add(self.config.timeout())
    }

    /// Counts a timed-out probe, sends one that is due, re-arms.
    fn advance(&mut self, now: Nanos, actions: &mut Vec<ProbeAction>) {
        if let Some(outstanding) = self.outstanding
            && now >= self.deadline(outstanding)
        {
            self.outstanding = None;
            self.failures = self.failures.saturating_add(1);
            self.successes = 0;
            self.evaluate(actions);
        }
        if now >= self.next_send {
            // The timeout fits in the interval, so a probe still
            // outstanding here can only come from a shortened interval
            // (reconfigure): it has had its chance.
            if self.outstanding.take().is_some() {
                self.failures = self.failures.saturating_add(1);
                self.successes = 0;
                self.evaluate(actions);
            }
            let scheduled = self.next_send;
            self.send(now, scheduled, actions);
        }
        self.arm(actions);
    }

    /// Sends the next probe at `now`; it was due at `scheduled`.
    fn send(&mut self, now: Nanos, scheduled: Nanos, actions: &mut Vec<ProbeAction>) {
        self.seq = self.seq.wrapping_add(1);
        self.last_sent = now;
        self.outstanding = Some(Outstanding {
            seq: self.seq,
            sent_at: now,
        });
        let interval = self.config.interval();
        let on_phase = scheduled.saturating_add(interval);
        self.next_send = if on_phase > now {
            on_phase
        } else {
            // More than an interval late: start a new phase rather than
            // sending a burst to catch up.
            now.saturating_add(interval)
        };
        actions.push(ProbeAction::Send { seq: self.seq });
    }

    /// Arms the one timer for whichever comes first: the outstanding
    /// probe's deadline or the next send.
    fn arm(&self, actions: &mut Vec<ProbeAction>) {
        let at = match self.outstanding {
            Some(outstanding) => self.deadline(outstanding).min(self.next_send),
            None => self.next_send,
        };
        actions.push(ProbeAction::ArmTimer { at });
    }

    fn evaluate(&mut self, actions: &mut Vec<ProbeAction>) {
        if self.state != ProbeState::Up && self.successes >= self.config.up_threshold {
            self.state = ProbeState::Up;
            actions.push(ProbeAction::StateChanged { up: true });
        } else if self.state != ProbeState::Down && self.failures >= self.config.down_threshold {
            self.state = ProbeState::Down;
            actions.push(ProbeAction::StateChanged { up: false });
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::clock::{Clock, FakeClock};

    const MS: Nanos = NANOS_PER_MILLI;
    const T0: Nanos = 1_000 * MS;

    fn config(interval_ms: u32, timeout_ms: u32, up: u8, down: u8) -> ProbeConfig {
        ProbeConfig {
            interval_ms,
            timeout_ms,
            up_threshold: up,
            down_threshold: down,
        }
    }

    /// A tracker driven like the event loop would: a fake clock, the one
    /// armed timer, and every action kept for inspection.
    struct Harness {
        clock: FakeClock,
        tracker: ProbeTracker,
        timer: Option<Nanos>,
        last_seq: Option<u16>,
        sent: Vec<u16>,
        changes: Vec<bool>,
    }

    impl Harness {
        fn start(config: ProbeConfig) -> Self {
            let clock = FakeClock::new(T0);
            let mut tracker = ProbeTracker::new(config);
            let actions = tracker.start(clock.now_ns());
            let mut harness = Harness {
                clock,
                tracker,
                timer: None,
                last_seq: None,
                sent: Vec::new(),
                changes: Vec::new(),
            };
            harness.take(actions);
            harness
        }

        fn now(&self) -> Nanos {
            self.clock.now_ns()
        }

        fn take(&mut self, actions: Vec<ProbeAction>) -> Vec<ProbeAction> {
            for action in &actions {
                match *action {
                    ProbeAction::Send { seq } => {
                        self.sent.push(seq);
                        self.last_seq = Some(seq);
                    }
                    ProbeAction::ArmTimer { at } => self.timer = Some(at),
                    ProbeAction::StateChanged { up } => self.changes.push(up),
                }
            }
            actions
        }

        /// Moves the clock to the armed timer and fires it.
        fn fire(&mut self) -> Vec<ProbeAction> {
            let at = self.timer.take().expect("a timer is always armed");
            self.clock.set(at);
            let actions = self.tracker.on_timer(self.now());
            self.take(actions)
        }

        fn reply(&mut self, seq: u16) -> Vec<ProbeAction> {
            let actions = self.tracker.on_reply(self.now(), seq);
            self.take(actions)
        }

        /// The last probe sent is answered `after` it was sent... or not:
        /// then the timers run until the next probe goes out.
        fn answer_latest(&mut self, after: Nanos) {
            self.clock.advance(after);
            let seq = self.last_seq.expect("a probe was sent");
            self.reply(seq);
            self.run_until_next_send();
        }

        fn miss_latest(&mut self) {
            self.run_until_next_send();
        }

        fn run_until_next_send(&mut self) {
            let before = self.sent.len();
            for _ in 0..4 {
                self.fire();
                if self.sent.len() > before {
                    return;
                }
            }
            panic!("no probe sent after 4 timers");
        }
    }

    #[test]
    fn start_sends_the_first_probe_at_once_and_waits_for_its_timeout() {
        let mut tracker = ProbeTracker::new(config(1_000, 300, 2, 3));
        assert_eq!(tracker.state(), ProbeState::Unknown);
        assert!(!tracker.is_up(), "Unknown must not count as up");
        assert_eq!(
            tracker.on_timer(T0),
            vec![],
            "a tracker not started does nothing"
        );
        let actions = tracker.start(T0);
        assert_eq!(
            actions,
            vec![
                ProbeAction::Send { seq: 1 },
                ProbeAction::ArmTimer { at: T0 + 300 * MS }
            ]
        );
    }

    #[test]
    fn up_after_up_threshold_answers_in_a_row_and_not_before() {
        let mut h = Harness::start(config(1_000, 300, 2, 3));
        h.answer_latest(10 * MS);
        assert_eq!(h.tracker.state(), ProbeState::Unknown);
        assert!(h.changes.is_empty());
        let seq = h.last_seq.unwrap();
        h.clock.advance(10 * MS);
        let actions = h.reply(seq);
        assert_eq!(h.tracker.state(), ProbeState::Up);
        assert_eq!(
            actions,
            vec![
                ProbeAction::StateChanged { up: true },
                ProbeAction::ArmTimer {
                    at: T0 + 2_000 * MS
                }
            ],
            "an answer re-arms the timer for the next send"
        );
        // More answers keep it up without repeating the news.
        h.run_until_next_send();
        h.answer_latest(5 * MS);
        assert_eq!(h.changes, vec![true]);
    }

    #[test]
    fn down_after_down_threshold_misses_in_a_row() {
        let mut h = Harness::start(config(1_000, 300, 1, 3));
        h.answer_latest(MS);
        assert_eq!(h.changes, vec![true]);
        h.miss_latest();
        h.miss_latest();
        assert_eq!(h.tracker.state(), ProbeState::Up, "two misses of three");
        // An answer just before the deadline breaks the streak: three more
        // misses are needed.
        h.answer_latest(299 * MS);
        h.miss_latest();
        h.miss_latest();
        assert_eq!(h.tracker.state(), ProbeState::Up);
        h.miss_latest();
        assert_eq!(h.tracker.state(), ProbeState::Down);
        assert_eq!(h.changes, vec![true, false]);
    }

    #[test]
    fn the_miss_is_counted_at_the_deadline_not_at_the_next_send() {
        let mut h = Harness::start(config(1_000, 300, 1, 1));
        let actions = h.fire();
        assert_eq!(h.now(), T0 + 300 * MS);
        assert_eq!(
            actions,
            vec![
                ProbeAction::StateChanged { up: false },
                ProbeAction::ArmTimer {
                    at: T0 + 1_000 * MS
                }
            ]
        );
        let actions = h.fire();
        assert_eq!(
            actions,
            vec![
                ProbeAction::Send { seq: 2 },
                ProbeAction::ArmTimer {
                    at: T0 + 1_300 * MS
                }
            ]
        );
    }

    #[test]
    fn unknown_target_that_never_answers_is_declared_down_once() {
        let mut h = Harness::start(config(1_000, 500, 2, 3));
        for _ in 0..10 {
            h.miss_latest();
        }
        assert_eq!(h.tracker.state(), ProbeState::Down);
        assert_eq!(h.changes, vec![false]);
        // Then it comes back.
        h.answer_latest(MS);
        h.answer_latest(MS);
        assert_eq!(h.changes, vec![false, true]);
    }

    #[test]
    fn a_miss_breaks_the_answer_streak() {
        let mut h = Harness::start(config(1_000, 300, 2, 3));
        h.answer_latest(MS);
        h.miss_latest();
        h.answer_latest(MS);
        assert_eq!(h.tracker.state(), ProbeState::Unknown);
        h.answer_latest(MS);
        assert_eq!(h.tracker.state(), ProbeState::Up);
    }

    #[test]
    fn an_answer_after_the_deadline_does_not_count() {
        let mut h = Harness::start(config(1_000, 300, 1, 3));
        h.clock.advance(300 * MS);
        assert_eq!(h.reply(1), vec![], "at the deadline is too late");
        assert_eq!(h.tracker.state(), ProbeState::Unknown);
        // Also when the timer has not fired yet: the deadline decides.
        let actions = h.fire();
        assert!(!actions.contains(&ProbeAction::StateChanged { up: true }));
        assert_eq!(h.tracker.state(), ProbeState::Unknown);
    }

    #[test]
    fn an_answer_to_an_earlier_probe_does_not_count() {
        let mut h = Harness::start(config(1_000, 300, 1, 3));
        h.miss_latest();
        assert_eq!(h.last_seq, Some(2));
        h.clock.advance(MS);
        assert_eq!(h.reply(1), vec![], "seq 1 timed out long ago");
        assert_eq!(h.tracker.state(), ProbeState::Unknown);
        h.reply(2);
        assert_eq!(h.tracker.state(), ProbeState::Up);
    }

    #[test]
    fn duplicate_answers_count_once() {
        let mut h = Harness::start(config(1_000, 300, 2, 3));
        h.clock.advance(MS);
        h.reply(1);
        assert_eq!(h.reply(1), vec![], "the duplicate is ignored");
        assert_eq!(h.reply(1), vec![]);
        assert_eq!(h.tracker.state(), ProbeState::Unknown);
    }

    #[test]
    fn answers_with_a_sequence_number_never_sent_are_ignored() {
        let mut h = Harness::start(config(1_000, 300, 1, 3));
        h.clock.advance(MS);
        for foreign in [0, 2, 7, u16::MAX] {
            assert_eq!(h.reply(foreign), vec![], "seq {foreign}");
        }
        assert_eq!(h.tracker.state(), ProbeState::Unknown);
    }

    #[test]
    fn sequence_numbers_wrap_around() {
        let mut tracker = ProbeTracker::new(config(10, 5, 1, 1));
        tracker.start(0);
        tracker.seq = u16::MAX - 1;
        let mut now = 0;
        let mut seen = Vec::new();
        for _ in 0..6 {
            now += 5 * MS;
            for action in tracker.on_timer(now) {
                if let ProbeAction::Send { seq } = action {
                    seen.push(seq);
                }
            }
        }
        assert_eq!(seen, vec![u16::MAX, 0, 1]);
        let actions = tracker.on_reply(now + MS, 1);
        assert!(actions.contains(&ProbeAction::StateChanged { up: true }));
    }

    #[test]
    fn a_late_timer_sends_one_probe_and_keeps_the_phase_when_it_can() {
        let mut h = Harness::start(config(1_000, 300, 2, 3));
        h.fire(); // the miss at +300
        // The loop was 100 ms late for the send at +1000.
        h.clock.set(T0 + 1_100 * MS);
        let actions = h.tracker.on_timer(h.now());
        assert_eq!(
            actions,
            vec![
                ProbeAction::Send { seq: 2 },
                ProbeAction::ArmTimer {
                    at: T0 + 1_400 * MS
                }
            ]
        );
        h.take(actions);
        // Next send stays on the 1 s grid.
        h.reply(2);
        assert_eq!(h.timer, Some(T0 + 2_000 * MS));

        // Five intervals late: one probe, then a new phase from now.
        h.clock.set(T0 + 7_500 * MS);
        let actions = h.tracker.on_timer(h.now());
        let sends = actions
            .iter()
            .filter(|a| matches!(a, ProbeAction::Send { .. }))
            .count();
        assert_eq!(sends, 1, "{actions:?}");
        h.take(actions);
        h.reply(3);
        assert_eq!(h.timer, Some(T0 + 8_500 * MS));
    }

    #[test]
    fn an_early_timer_only_rearms() {
        let mut h = Harness::start(config(1_000, 300, 2, 3));
        h.clock.advance(100 * MS);
        let actions = h.tracker.on_timer(h.now());
        assert_eq!(actions, vec![ProbeAction::ArmTimer { at: T0 + 300 * MS }]);
        assert_eq!(h.tracker.state(), ProbeState::Unknown);
    }

    #[test]
    fn timeout_equal_to_interval_counts_the_miss_and_sends_in_one_timer() {
        let mut h = Harness::start(config(500, 500, 2, 1));
        let actions = h.fire();
        assert_eq!(
            actions,
            vec![
                ProbeAction::StateChanged { up: false },
                ProbeAction::Send { seq: 2 },
                ProbeAction::ArmTimer {
                    at: T0 + 1_000 * MS
                }
            ]
        );
    }

    #[test]
    fn reconfigure_moves_the_next_send_and_keeps_the_verdict() {
        let mut h = Harness::start(config(1_000, 300, 1, 3));
        h.answer_latest(MS);
        assert_eq!(h.tracker.state(), ProbeState::Up);
        // Probe 2 went out at +1000 and was answered.
        h.clock.advance(MS);
        h.reply(2);
        assert_eq!(h.timer, Some(T0 + 2_000 * MS));

        // Longer interval: the next send counts from the last one.
        h.clock.set(T0 + 1_500 * MS);
        let actions = h.tracker.reconfigure(h.now(), config(5_000, 300, 1, 3));
        assert_eq!(
            actions,
            vec![ProbeAction::ArmTimer {
                at: T0 + 6_000 * MS
            }]
        );
        h.take(actions);
        assert_eq!(h.tracker.state(), ProbeState::Up);
        assert_eq!(h.changes, vec![true], "no flap from a reconfigure");

        // Shorter interval whose next send is already past: send now.
        h.clock.set(T0 + 2_500 * MS);
        let actions = h.tracker.reconfigure(h.now(), config(200, 100, 1, 3));
        assert_eq!(
            actions,
            vec![
                ProbeAction::Send { seq: 3 },
                ProbeAction::ArmTimer {
                    at: T0 + 2_600 * MS
                }
            ]
        );
        h.take(actions);
        let actions = h.fire();
        assert!(actions.contains(&ProbeAction::ArmTimer {
            at: T0 + 2_700 * MS
        }));
    }

    #[test]
    fn reconfigure_applies_new_thresholds_to_the_current_streak() {
        let mut h = Harness::start(config(1_000, 300, 3, 3));
        h.answer_latest(MS);
        h.answer_latest(MS);
        assert_eq!(h.tracker.state(), ProbeState::Unknown, "two of three");
        let actions = h.tracker.reconfigure(h.now(), config(1_000, 300, 2, 3));
        assert!(actions.contains(&ProbeAction::StateChanged { up: true }));
        assert_eq!(h.tracker.state(), ProbeState::Up);
    }

    #[test]
    fn reconfigure_with_a_shorter_timeout_expires_the_outstanding_probe() {
        let mut h = Harness::start(config(1_000, 800, 2, 1));
        h.clock.set(T0 + 400 * MS);
        let actions = h.tracker.reconfigure(h.now(), config(1_000, 200, 2, 1));
        assert_eq!(
            actions,
            vec![
                ProbeAction::StateChanged { up: false },
                ProbeAction::ArmTimer {
                    at: T0 + 1_000 * MS
                }
            ]
        );
    }

    #[test]
    fn reconfigure_before_start_only_stores_the_config() {
        let mut tracker = ProbeTracker::new(config(1_000, 300, 2, 3));
        assert_eq!(tracker.reconfigure(T0, config(2_000, 300, 2, 3)), vec![]);
        assert_eq!(tracker.config().interval_ms, 2_000);
        assert_eq!(
            tracker.start(T0),
            vec![
                ProbeAction::Send { seq: 1 },
                ProbeAction::ArmTimer { at: T0 + 300 * MS }
            ]
        );
    }

    #[test]
    fn restart_goes_back_to_unknown() {
        let mut h = Harness::start(config(1_000, 300, 1, 3));
        h.answer_latest(MS);
        assert!(h.tracker.is_up());
        let actions = h.tracker.start(h.now());
        assert_eq!(h.tracker.state(), ProbeState::Unknown);
        assert!(matches!(actions.first(), Some(ProbeAction::Send { .. })));
    }

    #[test]
    fn invalid_configs_are_named_and_clamped() {
        assert_eq!(ProbeConfig::default().validate(), Ok(()));
        assert_eq!(ProbeConfig::default().up_threshold, 2);
        assert_eq!(ProbeConfig::default().down_threshold, 3);
        let cases = [
            (config(0, 0, 2, 3), ProbeConfigError::ZeroInterval),
            (config(100, 0, 2, 3), ProbeConfigError::ZeroTimeout),
            (
                config(100, 200, 2, 3),
                ProbeConfigError::TimeoutLongerThanInterval {
                    timeout_ms: 200,
                    interval_ms: 100,
                },
            ),
            (config(100, 100, 0, 3), ProbeConfigError::ZeroUpThreshold),
            (config(100, 100, 2, 0), ProbeConfigError::ZeroDownThreshold),
        ];
        for (bad, error) in cases {
            assert_eq!(bad.validate(), Err(error));
            assert_eq!(bad.clamped().validate(), Ok(()), "{bad:?}");
        }
        let message = config(100, 200, 2, 3).validate().unwrap_err().to_string();
        assert!(
            message.contains("200 ms") && message.contains("100 ms"),
            "{message}"
        );
        // A clamped tracker still runs: timeout cut to the interval.
        let mut tracker = ProbeTracker::new(config(100, 200, 0, 0));
        assert_eq!(
            tracker.start(0),
            vec![
                ProbeAction::Send { seq: 1 },
                ProbeAction::ArmTimer { at: 100 * MS }
            ]
        );
        assert!(
            tracker
                .on_reply(MS, 1)
                .contains(&ProbeAction::StateChanged { up: true })
        );
    }

    /// The verdict the rules give for a history of outcomes (true =
    /// answered), computed the obvious way.
    fn reference_state(outcomes: &[bool], up: u8, down: u8) -> ProbeState {
        let mut state = ProbeState::Unknown;
        let (mut successes, mut failures) = (0u32, 0u32);
        for &answered in outcomes {
            if answered {
                successes += 1;
                failures = 0;
            } else {
                failures += 1;
                successes = 0;
            }
            if successes >= u32::from(up) {
                state = ProbeState::Up;
            } else if failures >= u32::from(down) {
                state = ProbeState::Down;
            }
        }
        state
    }

    proptest! {
        #[test]
        fn verdict_follows_the_streak_rules(
            outcomes in proptest::collection::vec(any::<bool>(), 0..60),
            up in 1u8..5,
            down in 1u8..5,
            delay_ms in 0u64..300,
        ) {
            let mut h = Harness::start(config(1_000, 300, up, down));
            for (i, &answered) in outcomes.iter().enumerate() {
                if answered {
                    h.answer_latest(delay_ms * MS);
                } else {
                    h.miss_latest();
                }
                let expected = reference_state(&outcomes[..=i], up, down);
                prop_assert_eq!(h.tracker.state(), expected, "after {:?}", &outcomes[..=i]);
            }
            // Notifications alternate, and the last one is the verdict.
            for pair in h.changes.windows(2) {
                prop_assert_ne!(pair[0], pair[1]);
            }
            if let Some(&last) = h.changes.last() {
                prop_assert_eq!(last, h.tracker.is_up());
            }
            // One probe per interval, numbered in order.
            let expected: Vec<u16> = (1..=outcomes.len() as u16 + 1).collect();
            prop_assert_eq!(&h.sent, &expected);
        }

        #[test]
        fn stray_replies_never_change_the_verdict(
            seqs in proptest::collection::vec(any::<u16>(), 0..40),
        ) {
            let mut h = Harness::start(config(1_000, 300, 1, 1));
            h.clock.advance(MS);
            for seq in seqs.into_iter().filter(|&s| s != 1) {
                prop_assert_eq!(h.reply(seq), vec![]);
            }
            prop_assert_eq!(h.tracker.state(), ProbeState::Unknown);
        }
    }
}
