//! Costs of the timer wheel's operations at a realistic population
//! (100 000 armed timers, deadlines spread over an hour at 1 ms ticks).

use std::hint::black_box;

use controlplane::timer_wheel::TimerWheel;
use criterion::{Criterion, criterion_group, criterion_main};

const MS: u64 = 1_000_000;
const POPULATION: u64 = 100_000;

fn populated() -> (TimerWheel<u64>, Vec<controlplane::timer_wheel::TimerId>) {
    let mut wheel = TimerWheel::new(MS);
    let ids = (0..POPULATION)
        .map(|i| wheel.insert((i * 36_011 % 3_600_000 + 1) * MS, i))
        .collect();
    (wheel, ids)
}

fn timer_wheel(c: &mut Criterion) {
    let mut group = c.benchmark_group("timer_wheel");

    // The hot pattern: a received hello re-arms its neighbor's dead timer.
    let (mut wheel, mut ids) = populated();
    let mut i = 0usize;
    group.bench_function("rearm (cancel + insert) among 100k", |b| {
        b.iter(|| {
            let slot = i % ids.len();
            wheel.cancel(ids[slot]);
            ids[slot] = wheel.insert(black_box((i as u64 * 7_919 % 3_600_000 + 1) * MS), i as u64);
            i += 1;
        })
    });

    // Firing: advance 1 ms at a time through a populated wheel, re-arming
    // whatever fires an hour later so the population stays constant.
    let (mut wheel, _) = populated();
    let mut now = 0u64;
    let mut due = Vec::new();
    group.bench_function("advance 1 ms with 100k armed", |b| {
        b.iter(|| {
            now += MS;
            due.extend(wheel.advance(now).map(|(_, payload)| payload));
            for payload in due.drain(..) {
                wheel.insert(now + 3_600_000 * MS, payload);
            }
            black_box(wheel.len())
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = timer_wheel
}
criterion_main!(benches);
