//! `vrperf veth-bench`: the raw AF_XDP forwarder against the Linux
//! kernel's forwarding on the same `gen —veth— rtr —veth— sink` lab, in
//! the same run, rounds interleaved, reported as a ratio (absolute numbers
//! on a shared 2-core machine mean little).
//!
//! Each round: the AF_XDP generator floods minimum-size UDP frames into
//! `g0`; after a one-second warm-up the sink's receive counter is read
//! twice, `--duration` seconds apart. Delivered packets per second is
//! what counts, not what was sent.

use std::error::Error;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use crate::veth_lab::{GEN_MAC, RTR_A_MAC, SINK_MAC, VethLab};

#[derive(Debug, Args)]
pub struct VethBenchArgs {
    /// Seconds measured per round and contender.
    #[arg(long, default_value_t = 5)]
    pub duration: u64,
    /// Rounds, each measuring the kernel and then the raw forwarder.
    #[arg(long, default_value_t = 2)]
    pub rounds: u32,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct VethBenchReport {
    pub duration_s: u64,
    /// Delivered packets per second at the sink, one entry per round.
    pub kernel_pps: Vec<f64>,
    pub raw_forwarder_pps: Vec<f64>,
    /// What the generator offered in each raw-forwarder round.
    pub offered_pps: Vec<f64>,
    /// Frames the kernel dropped at the forwarder's sockets (rx ring full
    /// or fill ring empty) in each raw-forwarder round: a forwarder too
    /// slow shows here, a generator too slow shows as offered ≈ delivered.
    pub raw_forwarder_socket_drops: Vec<u64>,
    /// raw forwarder / kernel, mean over rounds.
    pub ratio: f64,
}

const WARM_UP: Duration = Duration::from_secs(1);

pub fn run(args: &VethBenchArgs) -> Result<(), Box<dyn Error>> {
    if args.duration == 0 || args.duration > 60 || args.rounds == 0 || args.rounds > 10 {
        return Err("--duration must be 1..=60 s and --rounds 1..=10".into());
    }
    let lab = VethLab::build()?;
    let mut report = VethBenchReport {
        duration_s: args.duration,
        ..VethBenchReport::default()
    };
    for _ in 0..args.rounds {
        lab.kernel_forwarding(true)?;
        let (kernel, _) = measure(&lab, args.duration)?;
        report.kernel_pps.push(kernel);
        lab.kernel_forwarding(false)?;

        let forwarder_secs = args.duration + 4;
        let mut forwarder = spawn_in(
            &lab.rtr_ns,
            &[
                "raw-forward",
                "--a",
                "r0",
                "--b",
                "r1",
                "--a-peer-mac",
                GEN_MAC,
                "--b-peer-mac",
                SINK_MAC,
                "--core",
                "1",
                "--json",
                "--duration",
                &forwarder_secs.to_string(),
            ],
        )?;
        std::thread::sleep(Duration::from_millis(500));
        let measured = measure(&lab, args.duration);
        let status = wait_bounded(&mut forwarder, Duration::from_secs(forwarder_secs + 5));
        let (raw, offered) = measured?;
        let output = status?;
        if !output.0 {
            return Err(format!("raw-forward failed: {}", output.1).into());
        }
        let forwarder_report: serde_json::Value = serde_json::from_str(output.1.trim())
            .map_err(|e| format!("cannot parse raw-forward's report: {e}"))?;
        let drops = ["kernel_rx_ring_full", "kernel_fill_ring_empty"]
            .iter()
            .filter_map(|key| {
                forwarder_report
                    .get(key)
                    .and_then(serde_json::Value::as_u64)
            })
            .sum();
        report.raw_forwarder_socket_drops.push(drops);
        report.raw_forwarder_pps.push(raw);
        report.offered_pps.push(offered);
    }
    let ratios: Vec<f64> = report
        .raw_forwarder_pps
        .iter()
        .zip(&report.kernel_pps)
        .map(|(raw, kernel)| if *kernel > 0.0 { raw / kernel } else { 0.0 })
        .collect();
    report.ratio = ratios.iter().sum::<f64>() / ratios.len() as f64;
    drop(lab);

    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for (i, (kernel, raw)) in report
            .kernel_pps
            .iter()
            .zip(&report.raw_forwarder_pps)
            .enumerate()
        {
            println!(
                "round {}: kernel {kernel:.0} pps, raw AF_XDP forwarder {raw:.0} pps (offered {:.0}, {} dropped at its sockets)",
                i + 1,
                report.offered_pps.get(i).copied().unwrap_or(0.0),
                report
                    .raw_forwarder_socket_drops
                    .get(i)
                    .copied()
                    .unwrap_or(0)
            );
        }
        println!("raw forwarder / kernel: {:.2}", report.ratio);
    }
    Ok(())
}

/// Runs the generator and returns (delivered pps at the sink, offered pps).
fn measure(lab: &VethLab, seconds: u64) -> Result<(f64, f64), Box<dyn Error>> {
    let gen_secs = seconds + 2;
    let mut generator = spawn_in(
        &lab.gen_ns,
        &[
            "afxdp-gen",
            "--iface",
            "g0",
            "--dst-mac",
            RTR_A_MAC,
            "--core",
            "0",
            "--json",
            "--duration",
            &gen_secs.to_string(),
        ],
    )?;
    std::thread::sleep(WARM_UP);
    let before = lab.sink_rx_packets()?;
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let after = lab.sink_rx_packets()?;
    let elapsed = start.elapsed().as_secs_f64();
    let (ok, output) = wait_bounded(&mut generator, Duration::from_secs(gen_secs + 5))?;
    if !ok {
        return Err(format!("afxdp-gen failed: {output}").into());
    }
    let offered = serde_json::from_str::<serde_json::Value>(output.trim())
        .ok()
        .and_then(|v| v.get("pps").and_then(serde_json::Value::as_f64))
        .unwrap_or(0.0);
    Ok((after.saturating_sub(before) as f64 / elapsed, offered))
}

/// Starts this binary with `args` inside network namespace `ns`.
fn spawn_in(ns: &str, args: &[&str]) -> Result<Child, Box<dyn Error>> {
    let exe = std::env::current_exe()?;
    Ok(Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(exe)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?)
}

/// Waits for `child` at most `limit`, killing it past that; returns
/// (success, stdout or stderr).
fn wait_bounded(child: &mut Child, limit: Duration) -> Result<(bool, String), Box<dyn Error>> {
    use std::io::Read;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Ok((false, "timed out".to_string()));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut text = String::new();
    if status.success() {
        if let Some(mut out) = child.stdout.take() {
            out.read_to_string(&mut text)?;
        }
    } else if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut text)?;
    }
    Ok((status.success(), text))
}
