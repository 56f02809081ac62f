//! Where the CPU time went during a measurement: per core from
//! `/proc/stat`, per thread from `/proc/<pid>/task/<tid>/stat`, both as
//! differences between two snapshots (proc(5)).

use serde::Serialize;

/// One `cpuN` line of `/proc/stat`, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreTicks {
    pub core: u32,
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
}

impl CoreTicks {
    fn total(&self) -> u64 {
        self.user
            + self.nice
            + self.system
            + self.idle
            + self.iowait
            + self.irq
            + self.softirq
            + self.steal
    }
}

/// The per-core lines of a `/proc/stat` text (the `cpu` total line and
/// everything that is not a `cpuN` line are skipped).
pub fn parse_proc_stat(text: &str) -> Vec<CoreTicks> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let core = fields.next()?.strip_prefix("cpu")?.parse().ok()?;
            let mut n = fields.map(|f| f.parse::<u64>().ok());
            let mut next = || n.next().flatten();
            Some(CoreTicks {
                core,
                user: next()?,
                nice: next()?,
                system: next()?,
                idle: next()?,
                // Old kernels stop after idle.
                iowait: next().unwrap_or(0),
                irq: next().unwrap_or(0),
                softirq: next().unwrap_or(0),
                steal: next().unwrap_or(0),
            })
        })
        .collect()
}

/// This machine's per-core counters now.
pub fn read_cores() -> Result<Vec<CoreTicks>, String> {
    let text =
        std::fs::read_to_string("/proc/stat").map_err(|e| format!("reading /proc/stat: {e}"))?;
    Ok(parse_proc_stat(&text))
}

/// How one core spent a measurement, in percent of the elapsed ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CoreUse {
    pub core: u32,
    /// Everything but idle and iowait.
    pub busy_pct: f64,
    pub user_pct: f64,
    pub system_pct: f64,
    pub softirq_pct: f64,
    pub irq_pct: f64,
}

/// Per-core use between two snapshots; cores missing from either side
/// (hot-plugged) are left out.
pub fn core_use(before: &[CoreTicks], after: &[CoreTicks]) -> Vec<CoreUse> {
    after
        .iter()
        .filter_map(|a| {
            let b = before.iter().find(|b| b.core == a.core)?;
            let total = a.total().checked_sub(b.total())?;
            if total == 0 {
                return None;
            }
            let pct = |x: u64, y: u64| x.saturating_sub(y) as f64 * 100.0 / total as f64;
            let idle = pct(a.idle + a.iowait, b.idle + b.iowait);
            Some(CoreUse {
                core: a.core,
                busy_pct: (100.0 - idle).max(0.0),
                user_pct: pct(a.user + a.nice, b.user + b.nice),
                system_pct: pct(a.system, b.system),
                softirq_pct: pct(a.softirq, b.softirq),
                irq_pct: pct(a.irq, b.irq),
            })
        })
        .collect()
}

/// Average of several measurements' per-core use, core by core.
pub fn mean_core_use(samples: &[Vec<CoreUse>]) -> Vec<CoreUse> {
    let mut cores: Vec<u32> = samples.iter().flatten().map(|c| c.core).collect();
    cores.sort_unstable();
    cores.dedup();
    cores
        .into_iter()
        .map(|core| {
            let of_core: Vec<&CoreUse> = samples
                .iter()
                .flatten()
                .filter(|c| c.core == core)
                .collect();
            let n = of_core.len().max(1) as f64;
            let mean = |f: fn(&CoreUse) -> f64| of_core.iter().map(|c| f(c)).sum::<f64>() / n;
            CoreUse {
                core,
                busy_pct: mean(|c| c.busy_pct),
                user_pct: mean(|c| c.user_pct),
                system_pct: mean(|c| c.system_pct),
                softirq_pct: mean(|c| c.softirq_pct),
                irq_pct: mean(|c| c.irq_pct),
            }
        })
        .collect()
}

/// A thread's name and CPU time, in clock ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadTicks {
    pub tid: u32,
    pub name: String,
    pub user: u64,
    pub system: u64,
}

/// Parses `/proc/<pid>/task/<tid>/stat`. The name (field 2) is in
/// parentheses and may itself hold spaces and parentheses, so the fields
/// after it are counted from the last `)`.
pub fn parse_task_stat(text: &str) -> Option<ThreadTicks> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let tid = text.get(..open)?.trim().parse().ok()?;
    let name = text.get(open + 1..close)?.to_string();
    // After the name: state (field 3) ... utime is field 14, stime 15.
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    Some(ThreadTicks {
        tid,
        name,
        user: rest.get(11)?.parse().ok()?,
        system: rest.get(12)?.parse().ok()?,
    })
}

/// Every thread of process `pid` now (threads that end while being read
/// are skipped).
pub fn read_threads(pid: u32) -> Result<Vec<ThreadTicks>, String> {
    let dir = format!("/proc/{pid}/task");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{dir}: {e}"))?;
    Ok(entries
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter_map(|text| parse_task_stat(&text))
        .collect())
}

/// The busiest thread of a process during a measurement, with its CPU
/// time per packet the system forwarded meanwhile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThreadUse {
    pub name: String,
    pub user_pct: f64,
    pub system_pct: f64,
    /// Userspace nanoseconds per forwarded packet (idle polling included).
    pub user_ns_per_packet: Option<f64>,
    /// Kernel nanoseconds per forwarded packet (mostly the copy-mode
    /// transmit, and whatever softirq work ran in its system calls).
    pub system_ns_per_packet: Option<f64>,
}

/// The thread that used the most CPU between two snapshots.
pub fn busiest_thread(
    before: &[ThreadTicks],
    after: &[ThreadTicks],
    seconds: f64,
    ticks_per_second: f64,
    packets: u64,
) -> Option<ThreadUse> {
    let (name, user, system) = after
        .iter()
        .filter_map(|a| {
            let b = before.iter().find(|b| b.tid == a.tid)?;
            Some((
                a.name.clone(),
                a.user.saturating_sub(b.user),
                a.system.saturating_sub(b.system),
            ))
        })
        .max_by_key(|(_, user, system)| user + system)?;
    if seconds <= 0.0 || ticks_per_second <= 0.0 {
        return None;
    }
    let secs = |ticks: u64| ticks as f64 / ticks_per_second;
    let per_packet = |ticks: u64| (packets > 0).then(|| secs(ticks) * 1e9 / packets as f64);
    Some(ThreadUse {
        name,
        user_pct: secs(user) * 100.0 / seconds,
        system_pct: secs(system) * 100.0 / seconds,
        user_ns_per_packet: per_packet(user),
        system_ns_per_packet: per_packet(system),
    })
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux
/// architecture we run on, the fallback).
pub fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT_BEFORE: &str = "cpu  1000 10 500 8000 20 0 30 0 0 0
cpu0 600 10 200 3900 10 0 20 0 0 0
cpu1 400 0 300 4100 10 0 10 0 0 0
intr 12345 0 0
ctxt 999
";
    const STAT_AFTER: &str = "cpu  1300 10 700 8300 20 0 130 0 0 0
cpu0 700 10 250 3990 10 0 50 0 0 0
cpu1 600 0 450 4310 10 0 80 0 0 0
intr 22345 0 0
";

    #[test]
    fn proc_stat_per_core_lines_parse() {
        let cores = parse_proc_stat(STAT_BEFORE);
        assert_eq!(cores.len(), 2);
        assert_eq!(cores[1].core, 1);
        assert_eq!(
            (cores[1].user, cores[1].system, cores[1].idle),
            (400, 300, 4100)
        );
        assert_eq!(cores[0].softirq, 20);
        // Old 4-field format and garbage.
        let old = parse_proc_stat("cpu3 1 2 3 4\ncpux 1 2 3 4\ncpu4 1 2\n");
        assert_eq!(old.len(), 1);
        assert_eq!((old[0].core, old[0].idle, old[0].softirq), (3, 4, 0));
    }

    #[test]
    fn core_use_is_the_share_of_elapsed_ticks() {
        let before = parse_proc_stat(STAT_BEFORE);
        let after = parse_proc_stat(STAT_AFTER);
        let used = core_use(&before, &after);
        assert_eq!(used.len(), 2);
        // cpu0: 100 user + 50 system + 90 idle + 30 softirq = 270 ticks.
        let c0 = used[0];
        assert!((c0.busy_pct - 180.0 * 100.0 / 270.0).abs() < 1e-9);
        assert!((c0.user_pct - 100.0 * 100.0 / 270.0).abs() < 1e-9);
        assert!((c0.softirq_pct - 30.0 * 100.0 / 270.0).abs() < 1e-9);
        // cpu1: 200 + 150 + 210 + 70 = 630 ticks, 210 idle.
        assert!((used[1].busy_pct - 420.0 * 100.0 / 630.0).abs() < 1e-9);
        // No ticks elapsed: nothing to say.
        assert!(core_use(&before, &before).is_empty());
    }

    #[test]
    fn mean_core_use_averages_core_by_core() {
        let a = CoreUse {
            core: 1,
            busy_pct: 100.0,
            user_pct: 60.0,
            ..CoreUse::default()
        };
        let b = CoreUse {
            core: 1,
            busy_pct: 50.0,
            user_pct: 20.0,
            ..CoreUse::default()
        };
        let c = CoreUse {
            core: 0,
            busy_pct: 10.0,
            ..CoreUse::default()
        };
        let mean = mean_core_use(&[vec![a, c], vec![b]]);
        assert_eq!(mean.len(), 2);
        assert_eq!((mean[0].core, mean[0].busy_pct), (0, 10.0));
        assert_eq!(
            (mean[1].core, mean[1].busy_pct, mean[1].user_pct),
            (1, 75.0, 40.0)
        );
    }

    #[test]
    fn task_stat_with_awkward_names_parses() {
        let text = "4242 (vr-data) plane)) R 1 4242 4242 0 -1 4194368 100 0 0 0 750 250 0 0 20 0 3 0 100 0 0";
        let t = parse_task_stat(text).unwrap();
        assert_eq!(t.tid, 4242);
        assert_eq!(t.name, "vr-data) plane)");
        assert_eq!((t.user, t.system), (750, 250));
        assert_eq!(parse_task_stat("12 (x) R 1 2"), None);
        assert_eq!(parse_task_stat("garbage"), None);
    }

    #[test]
    fn busiest_thread_cost_per_packet() {
        let t = |tid, name: &str, user, system| ThreadTicks {
            tid,
            name: name.to_string(),
            user,
            system,
        };
        let before = vec![t(1, "main", 10, 10), t(2, "vr-dataplane", 100, 100)];
        let after = vec![
            t(1, "main", 12, 10),
            t(2, "vr-dataplane", 150, 550),
            t(3, "new", 0, 0),
        ];
        // 5 s at 100 ticks/s: 50 user ticks = 0.5 s, 450 system = 4.5 s.
        let used = busiest_thread(&before, &after, 5.0, 100.0, 1_000_000).unwrap();
        assert_eq!(used.name, "vr-dataplane");
        assert!((used.user_pct - 10.0).abs() < 1e-9);
        assert!((used.system_pct - 90.0).abs() < 1e-9);
        assert!((used.user_ns_per_packet.unwrap() - 500.0).abs() < 1e-9);
        assert!((used.system_ns_per_packet.unwrap() - 4500.0).abs() < 1e-9);
        let idle = busiest_thread(&before, &after, 5.0, 100.0, 0).unwrap();
        assert_eq!(idle.user_ns_per_packet, None);
        assert_eq!(busiest_thread(&[], &after, 5.0, 100.0, 1), None);
    }
}
