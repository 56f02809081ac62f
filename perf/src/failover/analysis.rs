//! From one trial's logs — what the sender sent when, what each gateway's
//! receiver got when, when the fault and the restore were applied — to
//! the figures: outage, time to switch, failback loss.
//!
//! Two outage figures, as the issue asks:
//! - by count: datagrams lost between fault and restore × the send
//!   interval (what a fixed-rate flow loses);
//! - by timestamps: from the send time of the first lost datagram to the
//!   arrival of the first datagram after the last lost one (how long the
//!   path was broken, independent of the rate).
//!
//! A datagram that arrives more than [`LATE_AFTER_NS`] after it was sent
//! counts as lost (and as `late`): a gateway that froze and later
//! delivered what it had queued did not carry that traffic in time.

use serde::Serialize;

/// Arrivals later than this after their send time count as lost; one way
/// through the lab takes well under a millisecond.
pub const LATE_AFTER_NS: u64 = 100_000_000;

/// When things happened (ns since the Unix epoch, the probe's clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// Datagrams sent before this are the warm-up and are not counted.
    pub measure_from_ns: u64,
    /// The fault command was started.
    pub fault_ns: u64,
    /// The restore command was started.
    pub restore_ns: u64,
}

/// What the receivers saw of one trial.
#[derive(Debug, Clone, Default)]
pub struct Arrivals {
    /// (seq, arrival ns) through gw1.
    pub gw1: Vec<(u64, u64)>,
    /// (seq, arrival ns) through gw2.
    pub gw2: Vec<(u64, u64)>,
}

/// The figures of one trial.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Datagrams sent in the measured part.
    pub sent: u64,
    pub via_gw1: u64,
    pub via_gw2: u64,
    /// Datagrams seen by both receivers or twice by one.
    pub duplicates: u64,
    /// Datagrams that arrived, but too late (counted as lost too).
    pub late: u64,
    /// Lost before the fault (0 when the path was settled).
    pub lost_before_fault: u64,
    /// Lost between fault and restore.
    pub lost_in_outage: u64,
    /// `lost_in_outage` × the send interval.
    pub outage_ms_by_count: f64,
    /// First lost datagram sent → first datagram received after the last
    /// loss of the outage; 0 without loss.
    pub outage_ms_by_timestamps: f64,
    /// Fault applied → first datagram through gw2 arrived.
    pub switch_ms: Option<f64>,
    /// Lost after the restore (failback loss; should be 0).
    pub failback_lost: u64,
    /// Restore applied → first datagram through gw1 arrived again; `None`
    /// if traffic never came back to gw1.
    pub failback_ms: Option<f64>,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Computes the figures. `sent[seq]` is the send time of datagram `seq`;
/// `interval_ms` the send interval.
pub fn analyze(sent: &[u64], arrivals: &Arrivals, timeline: Timeline, interval_ms: f64) -> Outcome {
    // Per seq: the first arrival and through which gateway (1 or 2).
    let mut arrived: Vec<Option<(u8, u64)>> = vec![None; sent.len()];
    let mut duplicates = 0u64;
    let mut late = 0u64;
    for (gateway, log) in [(1u8, &arrivals.gw1), (2u8, &arrivals.gw2)] {
        for &(seq, at) in log {
            let Some(index) = usize::try_from(seq).ok() else {
                continue;
            };
            let (Some(slot), Some(&sent_ns)) = (arrived.get_mut(index), sent.get(index)) else {
                continue;
            };
            if at.saturating_sub(sent_ns) > LATE_AFTER_NS {
                if sent_ns >= timeline.measure_from_ns {
                    late += 1;
                }
                continue;
            }
            match slot {
                Some(_) => duplicates += 1,
                None => *slot = Some((gateway, at)),
            }
        }
    }
    let measured = |t: u64| t >= timeline.measure_from_ns;
    let mut outcome = Outcome {
        sent: 0,
        via_gw1: 0,
        via_gw2: 0,
        duplicates,
        late,
        lost_before_fault: 0,
        lost_in_outage: 0,
        outage_ms_by_count: 0.0,
        outage_ms_by_timestamps: 0.0,
        switch_ms: None,
        failback_lost: 0,
        failback_ms: None,
    };
    let mut first_lost_in_outage: Option<u64> = None;
    let mut last_lost_seq_in_outage: Option<usize> = None;
    for (seq, (&sent_ns, arrival)) in sent.iter().zip(&arrived).enumerate() {
        if !measured(sent_ns) {
            continue;
        }
        outcome.sent += 1;
        match arrival {
            Some((1, at)) => {
                outcome.via_gw1 += 1;
                if sent_ns >= timeline.restore_ns && outcome.failback_ms.is_none() {
                    outcome.failback_ms = Some(ms(at.saturating_sub(timeline.restore_ns)));
                }
            }
            Some((_, at)) => {
                outcome.via_gw2 += 1;
                if sent_ns >= timeline.fault_ns && outcome.switch_ms.is_none() {
                    outcome.switch_ms = Some(ms(at.saturating_sub(timeline.fault_ns)));
                }
            }
            None if sent_ns < timeline.fault_ns => outcome.lost_before_fault += 1,
            None if sent_ns < timeline.restore_ns => {
                outcome.lost_in_outage += 1;
                first_lost_in_outage.get_or_insert(sent_ns);
                last_lost_seq_in_outage = Some(seq);
            }
            None => outcome.failback_lost += 1,
        }
    }
    outcome.outage_ms_by_count = outcome.lost_in_outage as f64 * interval_ms;
    if let (Some(first_lost), Some(last)) = (first_lost_in_outage, last_lost_seq_in_outage) {
        // The first datagram after the last loss that arrived.
        let recovered = arrived
            .iter()
            .skip(last + 1)
            .find_map(|a| a.map(|(_, at)| at));
        outcome.outage_ms_by_timestamps = match recovered {
            Some(at) => ms(at.saturating_sub(first_lost)),
            // Nothing arrived afterwards: broken until the end.
            None => ms(sent
                .last()
                .copied()
                .unwrap_or(first_lost)
                .saturating_sub(first_lost)),
        };
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// 1 datagram per ms from t = 1000 ms; each arrives 50 µs after it was
    /// sent, through the gateway `via(seq)` says, or not at all.
    fn trial(count: u64, via: impl Fn(u64) -> Option<u8>) -> (Vec<u64>, Arrivals) {
        let sent: Vec<u64> = (0..count).map(|s| 1000 * MS + s * MS).collect();
        let mut arrivals = Arrivals::default();
        for (seq, &t) in sent.iter().enumerate() {
            let seq = seq as u64;
            match via(seq) {
                Some(1) => arrivals.gw1.push((seq, t + 50_000)),
                Some(_) => arrivals.gw2.push((seq, t + 50_000)),
                None => {}
            }
        }
        (sent, arrivals)
    }

    fn timeline(from: u64, fault: u64, restore: u64) -> Timeline {
        Timeline {
            measure_from_ns: 1000 * MS + from * MS,
            fault_ns: 1000 * MS + fault * MS,
            restore_ns: 1000 * MS + restore * MS,
        }
    }

    #[test]
    fn an_outage_is_measured_by_count_and_by_timestamps() {
        // Fault at seq 100; seqs 100..130 lost; gw2 from 130; restore at
        // 500; back on gw1 from 520, nothing lost on the way back.
        let (sent, arrivals) = trial(1000, |s| match s {
            0..100 => Some(1),
            100..130 => None,
            130..520 => Some(2),
            _ => Some(1),
        });
        let o = analyze(&sent, &arrivals, timeline(0, 100, 500), 1.0);
        assert_eq!(o.sent, 1000);
        assert_eq!(o.lost_in_outage, 30);
        assert_eq!(o.outage_ms_by_count, 30.0);
        assert!((o.outage_ms_by_timestamps - 30.05).abs() < 1e-9, "{o:?}");
        assert!((o.switch_ms.unwrap() - 30.05).abs() < 1e-9);
        assert_eq!(o.failback_lost, 0);
        assert!((o.failback_ms.unwrap() - 20.05).abs() < 1e-9);
        assert_eq!((o.via_gw1, o.via_gw2), (580, 390));
        assert_eq!(o.lost_before_fault, 0);
    }

    #[test]
    fn warm_up_losses_are_ignored_and_failback_losses_counted() {
        let (sent, arrivals) = trial(600, |s| match s {
            0..10 => None,
            10..200 => Some(1),
            200..210 => None,
            210..400 => Some(2),
            400..403 => None,
            _ => Some(1),
        });
        let o = analyze(&sent, &arrivals, timeline(50, 200, 400), 1.0);
        assert_eq!(o.sent, 550);
        assert_eq!(o.lost_before_fault, 0);
        assert_eq!(o.lost_in_outage, 10);
        assert_eq!(o.failback_lost, 3);
    }

    #[test]
    fn scattered_losses_span_from_the_first_to_recovery_and_duplicates_count_once() {
        let (sent, mut arrivals) = trial(400, |s| match s {
            100 | 105 | 110 => None,
            0..100 => Some(1),
            _ => Some(2),
        });
        arrivals.gw1.push((150, sent[150] + 60_000));
        let o = analyze(&sent, &arrivals, timeline(0, 100, 300), 2.0);
        assert_eq!(o.lost_in_outage, 3);
        assert_eq!(o.outage_ms_by_count, 6.0);
        assert!((o.outage_ms_by_timestamps - 11.05).abs() < 1e-9, "{o:?}");
        assert_eq!(o.duplicates, 1);
        assert_eq!(o.failback_ms, None, "never back on gw1");
    }

    #[test]
    fn datagrams_delivered_too_late_are_lost() {
        // gw1 froze at seq 100 and delivered 100..120 a second later.
        let (sent, mut arrivals) = trial(400, |s| match s {
            0..100 => Some(1),
            100..130 => None,
            _ => Some(2),
        });
        for seq in 100..120u64 {
            arrivals.gw1.push((seq, sent[seq as usize] + 1_000 * MS));
        }
        let o = analyze(&sent, &arrivals, timeline(0, 100, 300), 1.0);
        assert_eq!(o.late, 20);
        assert_eq!(o.lost_in_outage, 30);
        assert_eq!(o.via_gw1, 100);
    }

    #[test]
    fn no_loss_no_outage_and_unknown_seqs_are_ignored() {
        let (sent, mut arrivals) = trial(100, |s| Some(if s < 50 { 1 } else { 2 }));
        arrivals.gw2.push((10_000, 0));
        let o = analyze(&sent, &arrivals, timeline(0, 50, 90), 1.0);
        assert_eq!(o.lost_in_outage, 0);
        assert_eq!(o.outage_ms_by_timestamps, 0.0);
        assert_eq!(o.duplicates, 0);
    }

    #[test]
    fn a_path_that_never_recovers_is_broken_until_the_last_send() {
        let (sent, arrivals) = trial(100, |s| (s < 40).then_some(1));
        let o = analyze(&sent, &arrivals, timeline(0, 40, 100), 1.0);
        assert_eq!(o.lost_in_outage, 60);
        assert_eq!(o.outage_ms_by_timestamps, 59.0);
        assert_eq!(o.switch_ms, None);
    }
}
