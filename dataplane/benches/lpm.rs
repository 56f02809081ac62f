//! Lookup throughput of the LPM structures on Internet-sized tables: IPv4
//! with 1M routes, IPv6 with 200k, for the multibit trie (`strideN`: first
//! stride N) and poptrie (`poptrieN`: N direct-pointing bits) side by side,
//! against random destinations (mostly cache-cold misses of the table) and
//! destinations drawn from the table (every lookup walks to a real route).
//! Each iteration looks up 4096 pre-generated keys, one by one (`lookup`)
//! and in bursts of 64 (`batch64`): the next 4096 of a million (`cold`, as
//! real traffic spread over the table) or the same 4096 every time (`hot`).
//!
//! Build time, memory and update rate of each table are printed once.
//! `LPM_VARIANTS=stride24,v6_200k/poptrie20` builds only the variants
//! named, in every table or in one (each build takes seconds), so a
//! filtered run stays short.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dataplane::fib::lpm::{LpmKey, Poptrie, PoptrieKey, StrideLpm};
use dataplane::fib::prefix_set::PrefixSet;
use dataplane::fib::synthetic;

const KEYS_PER_ITERATION: usize = 4096;
const UPDATES: usize = 10_000;
/// Frames per receive burst in the forwarding loop.
const BURST: usize = 64;
/// Distinct destinations per set, cycled through 4096 at a time.
const KEYS_PER_SET: usize = 1 << 20;

/// What the benchmark needs of an LPM structure.
trait Lpm<K: LpmKey> {
    fn insert(&mut self, prefix: K, len: u8, value: u32);
    fn remove(&mut self, prefix: K, len: u8, covering: Option<(u8, u32)>);
    fn lookup(&self, key: K) -> u32;
    fn lookup_batch(&self, keys: &[K], out: &mut [u32]);
    fn memory_bytes(&self) -> usize;
    /// Structure-specific size figures for the report.
    fn shape(&self) -> String;
}

impl<K: LpmKey> Lpm<K> for StrideLpm<K> {
    fn insert(&mut self, prefix: K, len: u8, value: u32) {
        StrideLpm::insert(self, prefix, len, value);
    }
    fn remove(&mut self, prefix: K, len: u8, covering: Option<(u8, u32)>) {
        StrideLpm::remove(self, prefix, len, covering);
    }
    #[inline]
    fn lookup(&self, key: K) -> u32 {
        StrideLpm::lookup(self, key)
    }
    #[inline]
    fn lookup_batch(&self, keys: &[K], out: &mut [u32]) {
        StrideLpm::lookup_batch(self, keys, out);
    }
    fn memory_bytes(&self) -> usize {
        StrideLpm::memory_bytes(self)
    }
    fn shape(&self) -> String {
        format!("{} groups", self.group_count())
    }
}

impl<K: PoptrieKey> Lpm<K> for Poptrie<K> {
    fn insert(&mut self, prefix: K, len: u8, value: u32) {
        Poptrie::insert(self, prefix, len, value);
    }
    fn remove(&mut self, prefix: K, len: u8, covering: Option<(u8, u32)>) {
        Poptrie::remove(self, prefix, len, covering);
    }
    #[inline]
    fn lookup(&self, key: K) -> u32 {
        Poptrie::lookup(self, key)
    }
    #[inline]
    fn lookup_batch(&self, keys: &[K], out: &mut [u32]) {
        Poptrie::lookup_batch(self, keys, out);
    }
    fn memory_bytes(&self) -> usize {
        Poptrie::memory_bytes(self)
    }
    fn shape(&self) -> String {
        format!("{} nodes, {} leaves", self.node_count(), self.leaf_count())
    }
}

fn route_value(i: usize) -> u32 {
    (i % 60_000) as u32 + 16
}

fn build<K: LpmKey, L: Lpm<K>>(label: &str, table: &[(K, u8)], mut lpm: L) -> L {
    let start = Instant::now();
    let mut set = PrefixSet::new();
    for (i, &(prefix, len)) in table.iter().enumerate() {
        lpm.insert(prefix, len, route_value(i));
        set.insert(prefix, len, route_value(i));
    }
    let built = start.elapsed();

    // Withdraw and re-announce routes spread over the table, as the
    // writer does (covering from the prefix set): the per-change cost.
    let start = Instant::now();
    let step = (table.len() / UPDATES).max(1);
    for (i, &(prefix, len)) in table.iter().enumerate().step_by(step) {
        set.remove(prefix, len);
        lpm.remove(prefix, len, set.covering(prefix, len));
        set.insert(prefix, len, route_value(i));
        lpm.insert(prefix, len, route_value(i));
    }
    let updates = 2 * table.len().div_ceil(step);
    let update_time = start.elapsed();

    eprintln!(
        "{label}: {} routes built in {:.2} s, {:.1} MiB ({}), {:.2} M updates/s",
        table.len(),
        built.as_secs_f64(),
        lpm.memory_bytes() as f64 / (1 << 20) as f64,
        lpm.shape(),
        updates as f64 / update_time.as_secs_f64() / 1e6,
    );
    lpm
}

/// Whether `LPM_VARIANTS` (comma-separated, unset = all) names `variant`
/// of table `label`, alone or as `label/variant`.
fn wanted(label: &str, variant: &str) -> bool {
    std::env::var("LPM_VARIANTS").map_or(true, |v| {
        v.split(',')
            .map(str::trim)
            .any(|w| w == variant || w == format!("{label}/{variant}"))
    })
}

fn bench_lpm<K: LpmKey>(
    c: &mut Criterion,
    name: &str,
    lpm: &impl Lpm<K>,
    random: &[K],
    from_table: &[K],
) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(KEYS_PER_ITERATION as u64));
    for (keys_name, keys) in [("random", random), ("table", from_table)] {
        // Cold: each iteration takes the next window of a million keys,
        // so the table's cache lines are as cold as under real traffic.
        // Hot: the same 4096 keys every time (a small part of the table,
        // which stays in L1/L2): the cache-warm best case.
        let hot = &keys[..KEYS_PER_ITERATION];
        let mut windows = keys.chunks_exact(KEYS_PER_ITERATION).cycle();
        let mut out = vec![0u32; KEYS_PER_ITERATION];
        for temperature in ["cold", "hot"] {
            let mut next_window = || match temperature {
                "hot" => hot,
                _ => windows.next().unwrap_or_default(),
            };
            group.bench_function(format!("{keys_name}/{temperature}/lookup"), |b| {
                b.iter(|| {
                    let mut sum = 0u32;
                    for &key in black_box(next_window()) {
                        sum = sum.wrapping_add(lpm.lookup(key));
                    }
                    sum
                });
            });
            // Bursts of 64, as the forwarding loop calls it.
            group.bench_function(format!("{keys_name}/{temperature}/batch64"), |b| {
                b.iter(|| {
                    let window = black_box(next_window());
                    for (keys, out) in window.chunks(BURST).zip(out.chunks_mut(BURST)) {
                        lpm.lookup_batch(keys, out);
                    }
                    black_box(&out);
                });
            });
        }
    }
    group.finish();
}

fn bench_table<K: PoptrieKey>(
    c: &mut Criterion,
    label: &str,
    table: &[(K, u8)],
    random: &[K],
    first_strides: &[u8],
    direct_bits: &[u8],
) {
    let from_table = synthetic::destinations_from_table(table, random.len(), 2);
    for &first_stride in first_strides {
        let variant = format!("stride{first_stride}");
        if !wanted(label, &variant) {
            continue;
        }
        let name = format!("{label}/{variant}");
        let lpm = build(&name, table, StrideLpm::new(first_stride));
        bench_lpm(c, &name, &lpm, random, &from_table);
    }
    for &bits in direct_bits {
        let variant = format!("poptrie{bits}");
        if !wanted(label, &variant) {
            continue;
        }
        let name = format!("{label}/{variant}");
        let lpm = build(&name, table, Poptrie::new(bits));
        bench_lpm(c, &name, &lpm, random, &from_table);
    }
}

fn lpm_v4(c: &mut Criterion) {
    let start = Instant::now();
    let table = synthetic::internet_v4(1_000_000, 1);
    eprintln!(
        "internet_v4(1M) generated in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    let random = synthetic::random_v4(KEYS_PER_SET, 3);
    bench_table(c, "v4_1M", &table, &random, &[16, 24], &[18]);
}

fn lpm_v6(c: &mut Criterion) {
    let start = Instant::now();
    let table = synthetic::internet_v6(200_000, 1);
    eprintln!(
        "internet_v6(200k) generated in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    let random = synthetic::random_v6_global(KEYS_PER_SET, 3);
    bench_table(c, "v6_200k", &table, &random, &[16, 24], &[18, 20]);
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = lpm_v4, lpm_v6
}
criterion_main!(benches);
