//! A cardinality attack: 1,000,000 distinct label values from 4 threads into one dynamic
//! family. The family keeps exactly `capacity` series plus its overflow series, the threads
//! that flood and scrape allocate nothing and the process's resident memory does not grow
//! while the flood lasts, scrapes taken during the flood stay valid, and every update is
//! counted.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use promstatic::{DynCounterFamily, Format, metric};
use support::oracle::{self, Dialect};

/// Counts every allocation of the test's threads (see `COUNTED`) while `COUNTING` is on.
struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread is one of the test's (its main thread, the flooders, the scraper).
    /// The test harness's own thread is not: it may still be recording the running test (a
    /// hash map insert) when a loaded machine lets the test reach its counted window first.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

/// Whether an allocation now is counted.
fn counted() -> bool {
    COUNTING.load(Ordering::Relaxed) && COUNTED.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting reads and bumps
// atomics and reads a `const`-initialised thread-local without a destructor, which does not
// allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counted() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const CAPACITY: usize = 1000;
const THREADS: usize = 4;
const VALUES_PER_THREAD: usize = 250_000;

/// Requests by user id: the label an attacker controls.
#[metric(labels(user: &str), capacity = 1000)]
static FLOOD_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Resident set size in KiB, from `/proc/self/status` (Linux).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The flood family's samples in a scrape, checked without allocating: the number of series
/// and the sum of their values.
fn flood_samples(text: &[u8]) -> (usize, u64) {
    let mut series = 0;
    let mut sum = 0;
    for line in text.split(|&byte| byte == b'\n') {
        if !line.starts_with(b"flood_total{") {
            continue;
        }
        series += 1;
        let value = line.rsplit(|&byte| byte == b' ').next().unwrap_or_default();
        sum += value
            .iter()
            .fold(0u64, |value, digit| value * 10 + u64::from(digit - b'0'));
    }
    (series, sum)
}

#[test]
fn a_million_distinct_values_keep_memory_and_the_exposition_bounded() {
    // Warm-up outside the measured window: the table's order, the scrape buffer's size (a
    // full family), the thread stacks.
    let mut scrape = Vec::with_capacity(1 << 20);
    promstatic::render(&mut scrape, Format::Text);
    COUNTED.with(|counted| counted.set(true));
    // `ready`: every thread has started (a starting thread allocates) before counting begins.
    let ready = Barrier::new(THREADS + 2);
    let start = Barrier::new(THREADS + 2);
    let end = Barrier::new(THREADS + 2);
    let finished = AtomicUsize::new(0);
    let (rss_before, rss_after, (scrapes, last_scrape)) = std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (ready, start, end, finished) = (&ready, &start, &end, &finished);
            scope.spawn(move || {
                COUNTED.with(|counted| counted.set(true));
                let mut digits = itoa::Buffer::new();
                ready.wait();
                start.wait();
                for value in 0..VALUES_PER_THREAD {
                    // Distinct across threads: thread t sends t, t + 4, t + 8, ...
                    let user = digits.format(value * THREADS + thread);
                    FLOOD_TOTAL.with((user,)).inc();
                }
                finished.fetch_add(1, Ordering::Release);
                end.wait();
            });
        }
        let scraper = {
            let (ready, start, end, finished) = (&ready, &start, &end, &finished);
            let mut scrape = std::mem::take(&mut scrape);
            scope.spawn(move || {
                COUNTED.with(|counted| counted.set(true));
                ready.wait();
                start.wait();
                let mut scrapes = 0;
                let mut previous_sum = 0;
                loop {
                    let done = finished.load(Ordering::Acquire) == THREADS;
                    scrape.clear();
                    promstatic::render(&mut scrape, Format::Text);
                    let (series, sum) = flood_samples(&scrape);
                    assert!(series <= CAPACITY + 1, "{series} series in one scrape");
                    assert!(sum >= previous_sum, "the total went back");
                    previous_sum = sum;
                    scrapes += 1;
                    if done {
                        break;
                    }
                }
                end.wait();
                (scrapes, scrape)
            })
        };
        ready.wait();
        let rss_before = rss_kib();
        COUNTING.store(true, Ordering::Relaxed);
        start.wait();
        end.wait();
        COUNTING.store(false, Ordering::Relaxed);
        let rss_after = rss_kib();
        (rss_before, rss_after, scraper.join().unwrap())
    });

    assert_eq!(
        ALLOCATIONS.load(Ordering::Relaxed),
        0,
        "allocations during the flood"
    );
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        // The family is in the binary's data: its pages are touched as series are created,
        // so RSS may grow by the family's size (about 100 KiB) and noise, never by anything
        // proportional to the million values (at least tens of MiB for any heap map).
        assert!(
            after <= before + 2048,
            "RSS grew from {before} KiB to {after} KiB"
        );
    }
    let (series, sum) = flood_samples(&last_scrape);
    assert_eq!(series, CAPACITY + 1);
    assert_eq!(sum, (THREADS * VALUES_PER_THREAD) as u64);
    assert!(scrapes >= 1);
    assert_eq!(FLOOD_TOTAL.len(), CAPACITY);
    let overflowed = (THREADS * VALUES_PER_THREAD - CAPACITY) as u64;
    assert_eq!(FLOOD_TOTAL.overflow().get(), overflowed);
    assert_eq!(FLOOD_TOTAL.overflows().capacity, overflowed);

    let text = String::from_utf8(last_scrape).unwrap();
    oracle::parse(text.as_bytes(), Dialect::Text).unwrap_or_else(|error| panic!("{error}"));
    assert!(text.contains(&format!(
        "flood_total{{user=\"__overflow__\"}} {overflowed}\n"
    )));
    assert!(text.contains(&format!(
        "promstatic_label_overflows_total{{metric=\"flood_total\",reason=\"capacity\"}} {overflowed}\n"
    )));
    println!("{scrapes} scrapes during the flood; RSS {rss_before:?} -> {rss_after:?} KiB");
}
