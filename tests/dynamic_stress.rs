//! Dynamic families under concurrent inserts, lookups and scrapes: one series per label set,
//! exact totals. The interleavings themselves are model-checked in `tests/loom_dynamic.rs`;
//! this runs the real thing on real threads, many times.

use std::sync::Barrier;

use promstatic::{Counter, DynCounterFamily};

const THREADS: usize = 4;

type Family = DynCounterFamily<(&'static str, u16), 64, 128, 4096>;

fn family() -> Box<Family> {
    Box::new(Family::from_cells(
        [const { Counter::new() }; 64],
        Counter::new(),
        128,
        "stress_total",
    ))
}

/// Every series of `family` as (values, count), checking no label set appears twice.
fn series(family: &Family) -> Vec<(String, u64)> {
    let mut all: Vec<(String, u64)> = Vec::new();
    family.for_each(|values, counter| {
        all.push((values.collect::<Vec<_>>().join("|"), counter.get()));
    });
    let mut keys: Vec<&String> = all.iter().map(|(key, _)| key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), all.len(), "a label set has two series: {all:?}");
    all
}

/// `THREADS` threads updating every label set of `routes` `updates` times, released at once:
/// they all insert the same new label sets at the same moment, each starting at a different
/// one so that the races vary.
fn insert_together<const C: usize, const T: usize, const B: usize>(
    family: &DynCounterFamily<(&'static str, u16), C, T, B>,
    routes: &[String],
    updates: u64,
) {
    let start = Barrier::new(THREADS);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let start = &start;
            scope.spawn(move || {
                start.wait();
                for step in 0..routes.len() * updates as usize {
                    let key = (step + thread) % routes.len();
                    family.with((&routes[key], 200)).inc();
                }
            });
        }
    });
}

#[test]
fn threads_inserting_the_same_new_label_sets_make_one_series_each() {
    const ROUNDS: usize = 200;
    const KEYS: usize = 8;
    const UPDATES: u64 = 50;
    let routes: Vec<String> = (0..KEYS).map(|key| format!("/route/{key}")).collect();
    for _ in 0..ROUNDS {
        let family = family();
        insert_together(&family, &routes, UPDATES);
        let all = series(&family);
        // Capacity 64 leaves room to spare; the next test gives the family no room at all.
        assert_eq!(all.len(), KEYS, "{all:?}");
        for (key, count) in &all {
            assert_eq!(*count, THREADS as u64 * UPDATES, "{key}: {all:?}");
        }
        assert_eq!(family.overflow().get(), 0);
    }
}

#[test]
fn a_family_as_small_as_its_label_sets_gets_them_all_despite_lost_races() {
    // Capacity exactly the number of label sets: a series lost to a same-key race would leave
    // a label set without one for good. Recycled, every label set ends with a series; an
    // update that came while every series number was claimed (by a loser still in flight)
    // went to the overflow series, so only the sum over both is exact.
    type Exact = DynCounterFamily<(&'static str, u16), 8, 16, 4096>;
    const ROUNDS: usize = 200;
    const KEYS: usize = 8;
    const UPDATES: u64 = 50;
    let routes: Vec<String> = (0..KEYS).map(|key| format!("/route/{key}")).collect();
    for _ in 0..ROUNDS {
        let family = Box::new(Exact::from_cells(
            [const { Counter::new() }; KEYS],
            Counter::new(),
            128,
            "exact_total",
        ));
        insert_together(&family, &routes, UPDATES);
        let mut all: Vec<(String, u64)> = Vec::new();
        family.for_each(|values, counter| {
            all.push((values.collect::<Vec<_>>().join("|"), counter.get()));
        });
        all.sort();
        let expected: Vec<String> = routes.iter().map(|route| format!("{route}|200")).collect();
        let keys: Vec<String> = all.iter().map(|(key, _)| key.clone()).collect();
        assert_eq!(keys, expected, "every label set has exactly one series");
        let counted: u64 = all.iter().map(|(_, count)| count).sum();
        assert_eq!(
            counted + family.overflow().get(),
            THREADS as u64 * KEYS as u64 * UPDATES
        );
        assert_eq!(family.overflow().get(), family.overflows().capacity);
    }
}

#[test]
fn totals_are_exact_when_the_family_overflows_while_scraped() {
    const KEYS: usize = 200;
    const UPDATES: usize = 20_000;
    let family = family();
    let routes: Vec<String> = (0..KEYS).map(|key| format!("/r{key}")).collect();
    let start = Barrier::new(THREADS + 1);
    let done = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (family, start, routes, done) = (&family, &start, &routes, &done);
            scope.spawn(move || {
                start.wait();
                for step in 0..UPDATES {
                    let key = (step * 7 + thread * 13) % KEYS;
                    family.with((&routes[key], (step % 3) as u16)).inc();
                }
                done.fetch_add(1, std::sync::atomic::Ordering::Release);
            });
        }
        // A scraper: no label set twice, and the total never goes backwards.
        let (family, start, done) = (&family, &start, &done);
        scope.spawn(move || {
            start.wait();
            let mut previous = 0;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::Acquire) == THREADS;
                let total: u64 = series(family).iter().map(|(_, count)| count).sum::<u64>()
                    + family.overflow().get();
                assert!(total >= previous, "total went from {previous} to {total}");
                previous = total;
                if finished {
                    break;
                }
            }
        });
    });
    let all = series(&family);
    let total: u64 = all.iter().map(|(_, count)| count).sum::<u64>() + family.overflow().get();
    assert_eq!(total, (THREADS * UPDATES) as u64);
    assert!(all.len() <= 64);
    assert!(family.overflows().capacity > 0);
    assert_eq!(family.overflows().capacity, family.overflow().get());
}
