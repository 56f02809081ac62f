//! What `vrperf fwd` measured and how it is summed up: medians per
//! system, ratios between systems taken round by round (the two figures
//! of a round ran minutes apart at most, under the same machine load),
//! then their median.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::system::System;
use crate::cpu_usage::{CoreUse, ThreadUse, mean_core_use};

/// One measured window: one system, one family, one round.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub round: u32,
    pub system: System,
    pub family: u8,
    pub seconds: f64,
    /// Frames the sink counted.
    pub sink_packets: u64,
    pub sink_pps: f64,
    /// Frames the generator sent (its own counter).
    pub gen_packets: u64,
    pub gen_pps: f64,
    /// Per-core use of the whole machine.
    pub cpu: Vec<CoreUse>,
    /// The forwarding process's busiest thread (userspace systems).
    pub thread: Option<ThreadUse>,
}

/// One system's figures for one family.
#[derive(Debug, Clone, Serialize)]
pub struct SystemSummary {
    pub median_pps: Option<f64>,
    /// Delivered pps in round 1, 2, ... (null: not measured).
    pub per_round_pps: Vec<Option<f64>>,
    pub median_gen_pps: Option<f64>,
    /// Mean per-core use over this system's windows.
    pub cpu: Vec<CoreUse>,
    pub thread: Option<ThreadSummary>,
}

/// Medians of the forwarding thread's figures over a system's windows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThreadSummary {
    pub name: String,
    pub user_pct: Option<f64>,
    pub system_pct: Option<f64>,
    pub user_ns_per_packet: Option<f64>,
    pub system_ns_per_packet: Option<f64>,
}

/// Everything about one family (IP version).
#[derive(Debug, Clone, Serialize)]
pub struct FamilySummary {
    pub family: u8,
    pub kernel_pps: Option<f64>,
    pub vrouterd_pps: Option<f64>,
    pub raw_afxdp_pps: Option<f64>,
    pub dpdk_pps: Option<f64>,
    /// vrouterd / kernel, median of the per-round ratios.
    pub ratio_vs_kernel: Option<f64>,
    /// vrouterd / raw AF_XDP forwarder.
    pub ratio_vs_raw: Option<f64>,
    /// vrouterd / DPDK testpmd.
    pub ratio_vs_dpdk: Option<f64>,
    pub raw_vs_kernel: Option<f64>,
    pub dpdk_vs_raw: Option<f64>,
    /// Median of what the generator offered, over every window.
    pub gen_pps: Option<f64>,
    /// vrouterd's dataplane thread, nanoseconds per forwarded packet in
    /// userspace (polling included) and in the kernel (its system calls).
    pub vrouterd_user_ns_per_packet: Option<f64>,
    pub vrouterd_system_ns_per_packet: Option<f64>,
    pub systems: BTreeMap<&'static str, SystemSummary>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct FwdReport {
    pub duration_s: u64,
    pub warmup_s: f64,
    pub rounds: u32,
    pub flows: u32,
    pub bench_routes: u64,
    pub router_core: usize,
    pub gen_core: usize,
    pub kernel_rps: bool,
    /// Niceness of the generator, the sink and the routers.
    pub nice: i32,
    pub generator: &'static str,
    pub sink: &'static str,
    /// `/proc/loadavg` before and after the run.
    pub load_before: String,
    pub load_after: String,
    /// The first family's figures (IPv4 unless only IPv6 ran), repeated
    /// at the top for scripts that want one number per system.
    #[serde(flatten)]
    pub headline: Option<FamilySummary>,
    pub ipv4: Option<FamilySummary>,
    pub ipv6: Option<FamilySummary>,
    /// Systems that could not be measured, and why.
    pub unavailable: BTreeMap<&'static str, String>,
    pub measurements: Vec<Measurement>,
}

/// The median of the finite values, `None` if there are none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v.get(mid).copied()
    } else {
        Some((v.get(mid - 1)? + v.get(mid)?) / 2.0)
    }
}

/// The median over rounds of `numerator[r] / denominator[r]`, using only
/// rounds where both were measured and the denominator is positive.
pub fn paired_ratio(numerator: &[Option<f64>], denominator: &[Option<f64>]) -> Option<f64> {
    let ratios: Vec<f64> = numerator
        .iter()
        .zip(denominator)
        .filter_map(|(n, d)| match (n, d) {
            (Some(n), Some(d)) if *d > 0.0 => Some(n / d),
            _ => None,
        })
        .collect();
    median(&ratios)
}

/// Sums up `family`'s measurements over `rounds` rounds.
pub fn summarize(measurements: &[Measurement], family: u8, rounds: u32) -> FamilySummary {
    let of_family: Vec<&Measurement> = measurements.iter().filter(|m| m.family == family).collect();
    let mut systems = BTreeMap::new();
    for system in System::ALL {
        let windows: Vec<&Measurement> = of_family
            .iter()
            .copied()
            .filter(|m| m.system == system)
            .collect();
        if windows.is_empty() {
            continue;
        }
        let per_round_pps = (1..=rounds)
            .map(|round| {
                let pps: Vec<f64> = windows
                    .iter()
                    .filter(|m| m.round == round)
                    .map(|m| m.sink_pps)
                    .collect();
                median(&pps)
            })
            .collect();
        let pps: Vec<f64> = windows.iter().map(|m| m.sink_pps).collect();
        let gen_pps: Vec<f64> = windows.iter().map(|m| m.gen_pps).collect();
        let cpu: Vec<Vec<CoreUse>> = windows.iter().map(|m| m.cpu.clone()).collect();
        let threads: Vec<&ThreadUse> = windows.iter().filter_map(|m| m.thread.as_ref()).collect();
        let thread = threads.first().map(|first| {
            let of = |f: fn(&ThreadUse) -> Option<f64>| {
                median(&threads.iter().filter_map(|t| f(t)).collect::<Vec<_>>())
            };
            ThreadSummary {
                name: first.name.clone(),
                user_pct: of(|t| Some(t.user_pct)),
                system_pct: of(|t| Some(t.system_pct)),
                user_ns_per_packet: of(|t| t.user_ns_per_packet),
                system_ns_per_packet: of(|t| t.system_ns_per_packet),
            }
        });
        systems.insert(
            system.name(),
            SystemSummary {
                median_pps: median(&pps),
                per_round_pps,
                median_gen_pps: median(&gen_pps),
                cpu: mean_core_use(&cpu),
                thread,
            },
        );
    }
    let rounds_of = |system: System| -> Vec<Option<f64>> {
        systems
            .get(system.name())
            .map(|s: &SystemSummary| s.per_round_pps.clone())
            .unwrap_or_default()
    };
    let median_of = |system: System| systems.get(system.name()).and_then(|s| s.median_pps);
    let (kernel, vrouterd, raw, dpdk) = (
        rounds_of(System::Kernel),
        rounds_of(System::Vrouterd),
        rounds_of(System::RawAfxdp),
        rounds_of(System::Dpdk),
    );
    let vrouterd_thread = systems
        .get(System::Vrouterd.name())
        .and_then(|s| s.thread.as_ref());
    FamilySummary {
        family,
        kernel_pps: median_of(System::Kernel),
        vrouterd_pps: median_of(System::Vrouterd),
        raw_afxdp_pps: median_of(System::RawAfxdp),
        dpdk_pps: median_of(System::Dpdk),
        ratio_vs_kernel: paired_ratio(&vrouterd, &kernel),
        ratio_vs_raw: paired_ratio(&vrouterd, &raw),
        ratio_vs_dpdk: paired_ratio(&vrouterd, &dpdk),
        raw_vs_kernel: paired_ratio(&raw, &kernel),
        dpdk_vs_raw: paired_ratio(&dpdk, &raw),
        gen_pps: median(&of_family.iter().map(|m| m.gen_pps).collect::<Vec<_>>()),
        vrouterd_user_ns_per_packet: vrouterd_thread.and_then(|t| t.user_ns_per_packet),
        vrouterd_system_ns_per_packet: vrouterd_thread.and_then(|t| t.system_ns_per_packet),
        systems,
    }
}

fn mpps(pps: Option<f64>) -> String {
    pps.map_or_else(|| "-".to_string(), |p| format!("{:.3}", p / 1e6))
}

fn times(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "-".to_string(), |r| format!("{r:.2}x"))
}

fn ns(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.0}"))
}

/// The report for people: every window, then the medians and ratios.
pub fn render(report: &FwdReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>5} {:>4} {:<10} {:>10} {:>10} {:>20} {:>18}",
        "round", "ip", "system", "sink Mpps", "gen Mpps", "cpu busy % (sirq)", "thread ns/pkt u+s"
    );
    for m in &report.measurements {
        let cpu: Vec<String> = m
            .cpu
            .iter()
            .map(|c| format!("{:.0}({:.0})", c.busy_pct, c.softirq_pct))
            .collect();
        let thread = m.thread.as_ref().map_or_else(
            || "-".to_string(),
            |t| {
                format!(
                    "{}+{}",
                    ns(t.user_ns_per_packet),
                    ns(t.system_ns_per_packet)
                )
            },
        );
        let _ = writeln!(
            out,
            "{:>5} {:>4} {:<10} {:>10.3} {:>10.3} {:>20} {:>18}",
            m.round,
            format!("v{}", m.family),
            m.system.name(),
            m.sink_pps / 1e6,
            m.gen_pps / 1e6,
            cpu.join(" "),
            thread
        );
    }
    for summary in [&report.ipv4, &report.ipv6].into_iter().flatten() {
        let _ = writeln!(
            out,
            "\nIPv{} medians (Mpps delivered): kernel {}, vrouterd {}, raw AF_XDP {}, DPDK testpmd {}; generator offered {}",
            summary.family,
            mpps(summary.kernel_pps),
            mpps(summary.vrouterd_pps),
            mpps(summary.raw_afxdp_pps),
            mpps(summary.dpdk_pps),
            mpps(summary.gen_pps),
        );
        let _ = writeln!(
            out,
            "IPv{} vrouterd = {} kernel, {} raw AF_XDP, {} DPDK; raw AF_XDP = {} kernel; DPDK = {} raw",
            summary.family,
            times(summary.ratio_vs_kernel),
            times(summary.ratio_vs_raw),
            times(summary.ratio_vs_dpdk),
            times(summary.raw_vs_kernel),
            times(summary.dpdk_vs_raw),
        );
        if summary.vrouterd_user_ns_per_packet.is_some() {
            let _ = writeln!(
                out,
                "IPv{} vrouterd dataplane thread: {} ns/packet in userspace (polling included), {} ns/packet in the kernel",
                summary.family,
                ns(summary.vrouterd_user_ns_per_packet),
                ns(summary.vrouterd_system_ns_per_packet),
            );
        }
    }
    for (system, reason) in &report.unavailable {
        let _ = writeln!(out, "{system}: not measured: {reason}");
    }
    let _ = writeln!(
        out,
        "load average before {}, after {}",
        report.load_before, report.load_after
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(round: u32, system: System, family: u8, pps: f64) -> Measurement {
        Measurement {
            round,
            system,
            family,
            seconds: 1.0,
            sink_packets: pps as u64,
            sink_pps: pps,
            gen_packets: 5_000_000,
            gen_pps: 5e6,
            cpu: vec![CoreUse {
                core: 1,
                busy_pct: 100.0,
                ..CoreUse::default()
            }],
            thread: (system != System::Kernel).then(|| ThreadUse {
                name: "worker".to_string(),
                user_pct: 20.0,
                system_pct: 80.0,
                user_ns_per_packet: Some(pps / 1e4),
                system_ns_per_packet: Some(800.0),
            }),
        }
    }

    #[test]
    fn median_of_odd_even_empty_and_nan() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 7.0]), Some(7.0));
        assert_eq!(median(&[f64::NAN]), None);
    }

    #[test]
    fn paired_ratio_pairs_rounds_and_skips_gaps() {
        let num = [Some(2.0), Some(3.0), None, Some(10.0)];
        let den = [Some(1.0), Some(1.0), Some(1.0), Some(0.0)];
        // Round 3 has no numerator, round 4 a zero denominator: 2 and 3 remain.
        assert_eq!(paired_ratio(&num, &den), Some(2.5));
        assert_eq!(paired_ratio(&[None], &[Some(1.0)]), None);
        // Pairing matters: the ratio of medians would be 1.0 here.
        let a = [Some(1.0), Some(4.0), Some(9.0)];
        let b = [Some(2.0), Some(4.0), Some(3.0)];
        assert_eq!(paired_ratio(&a, &b), Some(1.0));
        let c = [Some(1.0), Some(2.0), Some(9.0)];
        let d = [Some(2.0), Some(4.0), Some(1.0)];
        assert_eq!(paired_ratio(&c, &d), Some(0.5));
    }

    #[test]
    fn summary_has_medians_and_round_paired_ratios() {
        let ms = vec![
            m(1, System::Kernel, 4, 1.0e6),
            m(1, System::Vrouterd, 4, 0.8e6),
            m(1, System::RawAfxdp, 4, 1.0e6),
            m(2, System::Kernel, 4, 2.0e6),
            m(2, System::Vrouterd, 4, 1.0e6),
            m(2, System::RawAfxdp, 4, 1.25e6),
            m(3, System::Kernel, 4, 1.2e6),
            m(3, System::Vrouterd, 4, 0.9e6),
            m(3, System::RawAfxdp, 4, 1.0e6),
            m(1, System::Kernel, 6, 9.9e6),
        ];
        let s = summarize(&ms, 4, 3);
        assert_eq!(s.kernel_pps, Some(1.2e6));
        assert_eq!(s.vrouterd_pps, Some(0.9e6));
        assert_eq!(s.raw_afxdp_pps, Some(1.0e6));
        assert_eq!(s.dpdk_pps, None);
        assert_eq!(s.ratio_vs_dpdk, None);
        // Per round 0.8, 0.5, 0.75.
        assert_eq!(s.ratio_vs_kernel, Some(0.75));
        // Per round 0.8, 0.8, 0.9.
        assert_eq!(s.ratio_vs_raw, Some(0.8));
        assert_eq!(s.gen_pps, Some(5e6));
        assert_eq!(
            s.systems["kernel"].per_round_pps,
            vec![Some(1.0e6), Some(2.0e6), Some(1.2e6)]
        );
        assert_eq!(s.vrouterd_user_ns_per_packet, Some(90.0));
        assert_eq!(s.vrouterd_system_ns_per_packet, Some(800.0));
        assert!(s.systems["kernel"].thread.is_none());
        assert_eq!(s.systems["raw_afxdp"].cpu.len(), 1);
        // The IPv6 window does not leak into IPv4, and vice versa.
        let v6 = summarize(&ms, 6, 3);
        assert_eq!(v6.kernel_pps, Some(9.9e6));
        assert_eq!(v6.vrouterd_pps, None);
        assert_eq!(
            v6.systems["kernel"].per_round_pps,
            vec![Some(9.9e6), None, None]
        );
    }

    #[test]
    fn json_has_the_documented_keys_and_nulls() {
        let ms = vec![
            m(1, System::Kernel, 4, 1.0e6),
            m(1, System::RawAfxdp, 4, 0.9e6),
        ];
        let summary = summarize(&ms, 4, 1);
        let report = FwdReport {
            duration_s: 1,
            warmup_s: 1.0,
            rounds: 1,
            flows: 4096,
            bench_routes: 0,
            router_core: 1,
            gen_core: 0,
            kernel_rps: true,
            nice: -20,
            generator: "g",
            sink: "s",
            load_before: "0.00".to_string(),
            load_after: "0.00".to_string(),
            headline: Some(summary.clone()),
            ipv4: Some(summary),
            ipv6: None,
            unavailable: BTreeMap::from([("dpdk", "no testpmd".to_string())]),
            measurements: ms,
        };
        let json = serde_json::to_value(&report).unwrap();
        for key in [
            "kernel_pps",
            "vrouterd_pps",
            "raw_afxdp_pps",
            "dpdk_pps",
            "ratio_vs_kernel",
            "ratio_vs_raw",
            "ratio_vs_dpdk",
            "gen_pps",
            "ipv4",
            "ipv6",
            "measurements",
        ] {
            assert!(json.get(key).is_some(), "{key} missing");
        }
        assert_eq!(json["kernel_pps"], 1.0e6);
        assert!(json["dpdk_pps"].is_null());
        assert!(json["ipv6"].is_null());
        assert_eq!(json["raw_vs_kernel"], 0.9);
        let text = render(&report);
        assert!(text.contains("dpdk: not measured: no testpmd"), "{text}");
        assert!(text.contains("raw AF_XDP = 0.90x kernel"), "{text}");
    }
}
