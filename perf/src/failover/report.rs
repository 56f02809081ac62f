//! The failover report: every trial, and per (fault, timers, FIB size) the
//! medians of vrouterd and of the FRR baseline side by side with their
//! ratio, taken round by round (both measured minutes apart at most,
//! under the same machine load).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use super::analysis::Outcome;
use super::fault::Fault;
use super::timers::Timers;
use super::trial::{SystemUnderTest, TrialRecord};

/// The targets: outage at most this at these timers.
pub fn target_ms(timers: Timers) -> Option<f64> {
    match (timers.interval_ms, timers.multiplier) {
        (10, 3) => Some(40.0),
        (3, 3) => Some(15.0),
        _ => None,
    }
}

/// One system's figures in one row: medians over the rounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub timers: Timers,
    pub routes: u64,
    pub trials: usize,
    pub failed: usize,
    pub outage_ms_by_count: f64,
    pub outage_ms_by_timestamps: f64,
    pub switch_ms: Option<f64>,
    /// The worst failback loss of any round (datagrams).
    pub failback_lost_max: u64,
    pub per_round_outage_ms: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub fault: Fault,
    pub timers: Timers,
    pub routes: u64,
    pub vrouterd: Option<Figures>,
    /// FRR at the same timers, or at its fastest measured ones when it
    /// cannot run these (`frr.timers` says which); always with one route.
    pub frr: Option<Figures>,
    /// vrouterd's outage / FRR's (by timestamps), median of the rounds
    /// both have; below 1 is better.
    pub ratio_vs_frr: Option<f64>,
    /// The same for the time until traffic took gw2 (`switch_ms`): the
    /// figure that compares when nothing is lost (`bfd-stop` with FRR
    /// gateways, which keep forwarding).
    pub switch_ratio_vs_frr: Option<f64>,
    pub target_ms: Option<f64>,
    pub meets_target: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailoverReport {
    pub rate_pps: u32,
    pub rounds: u32,
    pub load_before: String,
    pub load_after: String,
    pub rows: Vec<Row>,
    pub trials: Vec<TrialRecord>,
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

fn figures(trials: &[&TrialRecord], timers: Timers, routes: u64) -> Option<Figures> {
    if trials.is_empty() {
        return None;
    }
    let done: Vec<_> = trials.iter().filter_map(|t| t.outcome.as_ref()).collect();
    let mut by_count: Vec<f64> = done.iter().map(|o| o.outage_ms_by_count).collect();
    let mut by_ts: Vec<f64> = done.iter().map(|o| o.outage_ms_by_timestamps).collect();
    let mut switch: Vec<f64> = done.iter().filter_map(|o| o.switch_ms).collect();
    Some(Figures {
        timers,
        routes,
        trials: trials.len(),
        failed: trials.len() - done.len(),
        per_round_outage_ms: by_ts.clone(),
        outage_ms_by_count: median(&mut by_count).unwrap_or(f64::NAN),
        outage_ms_by_timestamps: median(&mut by_ts).unwrap_or(f64::NAN),
        switch_ms: median(&mut switch),
        failback_lost_max: done.iter().map(|o| o.failback_lost).max().unwrap_or(0),
    })
}

/// Groups the trials into rows.
pub fn summarize(trials: &[TrialRecord]) -> Vec<Row> {
    let of = |system: SystemUnderTest, fault: Fault, timers: Timers, routes: Option<u64>| {
        trials
            .iter()
            .filter(|t| {
                t.spec.system == system
                    && t.spec.fault == fault
                    && t.spec.timers == timers
                    && routes.is_none_or(|r| t.spec.routes == r)
            })
            .collect::<Vec<_>>()
    };
    // A row per vrouterd (fault, timers, FIB size); FRR's figures join
    // the rows of their fault and timers, or make their own without one.
    let mut keys: BTreeSet<(Fault, std::cmp::Reverse<Timers>, u64)> = BTreeSet::new();
    for t in trials {
        let (fault, timers) = (t.spec.fault, t.spec.timers);
        let has_ours = !of(SystemUnderTest::Vrouterd, fault, timers, None).is_empty();
        match t.spec.system {
            SystemUnderTest::Vrouterd => {
                keys.insert((fault, std::cmp::Reverse(timers), t.spec.routes));
            }
            SystemUnderTest::Frr if !has_ours => {
                keys.insert((fault, std::cmp::Reverse(timers), 1));
            }
            SystemUnderTest::Frr => {}
        }
    }
    keys.into_iter()
        .map(|(fault, std::cmp::Reverse(timers), routes)| {
            let ours = of(SystemUnderTest::Vrouterd, fault, timers, Some(routes));
            // FRR's own timers, or its fastest measured for this fault.
            let frr_timers = if timers.frr_can_run() {
                Some(timers)
            } else {
                trials
                    .iter()
                    .filter(|t| t.spec.system == SystemUnderTest::Frr && t.spec.fault == fault)
                    .map(|t| t.spec.timers)
                    .min_by_key(|t| t.detect_ms())
            };
            let theirs = frr_timers
                .map(|ft| of(SystemUnderTest::Frr, fault, ft, None))
                .unwrap_or_default();
            // Round by round: vrouterd's figure over FRR's.
            let per_round = |figure: fn(&Outcome) -> Option<f64>| {
                let mut ratios: Vec<f64> = ours
                    .iter()
                    .filter_map(|o| {
                        let mine = figure(o.outcome.as_ref()?)?;
                        let base = figure(
                            theirs
                                .iter()
                                .find(|b| b.round == o.round)?
                                .outcome
                                .as_ref()?,
                        )?;
                        (base > 0.0).then(|| mine / base)
                    })
                    .collect();
                median(&mut ratios)
            };
            let ratio_vs_frr = per_round(|o| Some(o.outage_ms_by_timestamps));
            let switch_ratio_vs_frr = per_round(|o| o.switch_ms);
            let vrouterd = figures(&ours, timers, routes);
            let target = target_ms(timers);
            let meets_target = match (&vrouterd, target) {
                (Some(f), Some(limit)) if f.failed == 0 => Some(
                    f.outage_ms_by_count <= limit
                        && f.outage_ms_by_timestamps <= limit
                        && f.failback_lost_max == 0,
                ),
                (Some(_), Some(_)) => Some(false),
                _ => None,
            };
            Row {
                fault,
                timers,
                routes,
                frr: frr_timers.and_then(|ft| figures(&theirs, ft, 1)),
                vrouterd,
                ratio_vs_frr,
                switch_ratio_vs_frr,
                target_ms: target,
                meets_target,
            }
        })
        .collect()
}

fn outage(f: &Option<Figures>) -> String {
    match f {
        None => "-".into(),
        Some(f) if f.trials == f.failed => "failed".into(),
        Some(f) => format!(
            "{:.1} / {:.1}",
            f.outage_ms_by_count, f.outage_ms_by_timestamps
        ),
    }
}

/// The report as tables for people.
pub fn render(report: &FailoverReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "vrperf failover: probe {} datagrams/s ({:.2} ms apart), {} round(s), load {} -> {}",
        report.rate_pps,
        1000.0 / f64::from(report.rate_pps.max(1)),
        report.rounds,
        report.load_before,
        report.load_after
    );
    let _ = writeln!(
        out,
        "outage ms = lost x interval / first lost -> first received after (medians); \
         failback = datagrams lost when gw1 returned (worst round);\n\
         ratio = vrouterd / FRR, round by round (\"s\": of the switch times, when neither lost anything)\n"
    );
    let line = |cells: [&str; 12]| {
        format!(
            "{:<10} {:>6} {:>8} | {:>15} {:>7} {:>4} | {:>15} {:>7} {:>6} {:>4} | {:>6} {:>9}\n",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5],
            cells[6],
            cells[7],
            cells[8],
            cells[9],
            cells[10],
            cells[11]
        )
    };
    out.push_str(&line([
        "fault",
        "timers",
        "routes",
        "vrouterd",
        "switch",
        "fb",
        "FRR bgp+bfd",
        "switch",
        "at",
        "fb",
        "ratio",
        "target",
    ]));
    for row in &report.rows {
        let switch = |f: &Option<Figures>| {
            f.as_ref()
                .and_then(|f| f.switch_ms)
                .map_or("-".into(), |s| format!("{s:.1}"))
        };
        let fb = |f: &Option<Figures>| {
            f.as_ref()
                .map_or("-".into(), |f| f.failback_lost_max.to_string())
        };
        let target = match (row.target_ms, row.meets_target) {
            (Some(t), Some(true)) => format!("<={t:.0} ok"),
            (Some(t), Some(false)) => format!("<={t:.0} MISS"),
            _ => "-".into(),
        };
        out.push_str(&line([
            row.fault.name(),
            &row.timers.to_string(),
            &row.routes.to_string(),
            &outage(&row.vrouterd),
            &switch(&row.vrouterd),
            &fb(&row.vrouterd),
            &outage(&row.frr),
            &switch(&row.frr),
            &row.frr
                .as_ref()
                .map_or("-".into(), |f| f.timers.to_string()),
            &fb(&row.frr),
            &match (row.ratio_vs_frr, row.switch_ratio_vs_frr) {
                (Some(r), _) => format!("{r:.2}x"),
                (None, Some(r)) => format!("{r:.2}x s"),
                (None, None) => "-".into(),
            },
            &target,
        ]));
    }
    let failures: Vec<_> = report.trials.iter().filter(|t| t.error.is_some()).collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\nfailed trials:");
        for t in failures {
            let first = t
                .error
                .as_deref()
                .and_then(|e| e.lines().next())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  round {} {} {} {} routes {}: {first}",
                t.round,
                t.spec.system.name(),
                t.spec.fault.name(),
                t.spec.timers,
                t.spec.routes
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::trial::TrialSpec;
    use super::*;

    fn trial(
        system: SystemUnderTest,
        timers: &str,
        routes: u64,
        round: u32,
        ms: f64,
    ) -> TrialRecord {
        TrialRecord {
            round,
            spec: TrialSpec {
                system,
                fault: Fault::LinkDown,
                timers: timers.parse().unwrap(),
                routes,
            },
            gateways: "x",
            rate_pps: 1000,
            hold_ms: 1000,
            setup_ms: 1,
            outcome: Some(Outcome {
                sent: 1000,
                via_gw1: 500,
                via_gw2: 500 - ms as u64,
                duplicates: 0,
                late: 0,
                lost_before_fault: 0,
                lost_in_outage: ms as u64,
                outage_ms_by_count: ms,
                outage_ms_by_timestamps: ms,
                switch_ms: Some(ms),
                failback_lost: 0,
                failback_ms: Some(1.0),
            }),
            error: None,
        }
    }

    #[test]
    fn rows_pair_each_vrouterd_figure_with_frr_and_check_the_target() {
        use SystemUnderTest::{Frr, Vrouterd};
        let trials = vec![
            trial(Vrouterd, "10x3", 1, 1, 20.0),
            trial(Frr, "10x3", 1, 1, 100.0),
            trial(Vrouterd, "10x3", 1_000_000, 1, 50.0),
            trial(Vrouterd, "3x3", 1, 1, 10.0),
            trial(Vrouterd, "10x3", 1, 2, 30.0),
            trial(Frr, "10x3", 1, 2, 60.0),
        ];
        let rows = summarize(&trials);
        assert_eq!(rows.len(), 3, "{rows:#?}");
        let one = rows
            .iter()
            .find(|r| r.timers.interval_ms == 10 && r.routes == 1)
            .unwrap();
        assert_eq!(one.vrouterd.as_ref().unwrap().outage_ms_by_count, 25.0);
        assert_eq!(one.frr.as_ref().unwrap().outage_ms_by_count, 80.0);
        // Rounds: 20/100 and 30/60.
        assert_eq!(one.ratio_vs_frr, Some((0.2 + 0.5) / 2.0));
        assert_eq!(one.switch_ratio_vs_frr, one.ratio_vs_frr);
        assert_eq!(one.meets_target, Some(true));
        let big = rows.iter().find(|r| r.routes == 1_000_000).unwrap();
        assert_eq!(big.meets_target, Some(false), "50 ms > 40 ms");
        assert!(big.frr.is_some(), "the baseline shows in the 1M row too");
        let fast = rows.iter().find(|r| r.timers.interval_ms == 3).unwrap();
        assert_eq!(
            fast.frr.as_ref().unwrap().timers.to_string(),
            "10x3",
            "below 10 ms FRR is shown at its fastest"
        );
        assert_eq!(fast.meets_target, Some(true));
        let text = render(&FailoverReport {
            rate_pps: 1000,
            rounds: 2,
            load_before: String::new(),
            load_after: String::new(),
            rows,
            trials,
        });
        assert!(text.contains("link-down"), "{text}");
        assert!(text.contains("<=40 MISS"), "{text}");
    }

    #[test]
    fn a_failed_trial_fails_the_target() {
        let mut t = trial(SystemUnderTest::Vrouterd, "10x3", 1, 1, 5.0);
        t.outcome = None;
        t.error = Some("boom".into());
        let rows = summarize(&[t]);
        assert_eq!(rows[0].meets_target, Some(false));
        assert_eq!(rows[0].vrouterd.as_ref().unwrap().failed, 1);
    }
}
