//! Heap allocations per warm scrape, counted by a global allocator.
//!
//! A binary installs [`CountingAllocator`] as its `#[global_allocator]`; [`per_scrape`] then
//! counts the allocations (and reallocations) one scrape makes on the calling thread, after
//! warm-up scrapes have grown every reusable buffer. It also keeps the net bytes the counted
//! code left allocated, for the memory-per-series figures ([`retained_bytes_in`]).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::scrape::{Format, Scraper};

/// Forwards to the system allocator and counts the calls of threads that asked for it.
#[derive(Debug)]
pub struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// Bytes allocated and freed by counted calls; their difference is what stayed allocated.
static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);
static FREED_BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn counting() -> bool {
    // `try_with`: during thread teardown the flag may be gone; such calls are not counted.
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

fn count(bytes: usize) {
    if counting() {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED_BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

fn count_free(bytes: usize) {
    if counting() {
        FREED_BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting reads a
// const-initialised thread-local and bumps an atomic, neither of which allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count_free(layout.size());
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A reallocation frees the old block and allocates the new one.
        count_free(layout.size());
        count(new_size);
        // SAFETY: as for `dealloc`; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations `f` makes on this thread.
pub fn allocations_in(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|counting| counting.set(true));
    f();
    COUNTING.with(|counting| counting.set(false));
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

/// What `f` returns, and the heap bytes that calls on this thread during `f` allocated and
/// did not free: the memory a library keeps for what `f` built (blocks freed later by other
/// threads are not seen, so keep `f` single-threaded).
pub fn retained_bytes_in<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let allocated = ALLOCATED_BYTES.load(Ordering::Relaxed);
    let freed = FREED_BYTES.load(Ordering::Relaxed);
    COUNTING.with(|counting| counting.set(true));
    let value = f();
    COUNTING.with(|counting| counting.set(false));
    let allocated = ALLOCATED_BYTES.load(Ordering::Relaxed) - allocated;
    let freed = FREED_BYTES.load(Ordering::Relaxed) - freed;
    (value, allocated.saturating_sub(freed))
}

/// Whether the binary installed [`CountingAllocator`] (a vector's first allocation is seen).
pub fn installed() -> bool {
    allocations_in(|| drop(std::hint::black_box(Vec::<u8>::with_capacity(16)))) > 0
}

/// One row of the allocation table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The scraper's id.
    pub library: &'static str,
    /// The format scraped.
    pub format: Format,
    /// Allocations of the first scrape (buffers growing).
    pub first: u64,
    /// Allocations of one warm scrape: the most any of the measured scrapes made.
    pub warm: u64,
}

/// Warm scrapes counted per library and format (the largest count is reported).
const MEASURED_SCRAPES: u64 = 20;

/// Allocations of the first and of a warm scrape, for every scraper and supported format;
/// `scrapers` makes a fresh set (so each format's first scrape starts from empty buffers).
///
/// Panics unless [`CountingAllocator`] is the global allocator: a table of zeros from an
/// allocator that counts nothing would be a lie.
pub fn per_scrape(scrapers: impl Fn() -> Vec<Box<dyn Scraper>>) -> Vec<Row> {
    assert!(
        installed(),
        "CountingAllocator is not the global allocator of this binary"
    );
    let mut rows = Vec::new();
    for format in [Format::Text, Format::OpenMetrics] {
        for mut scraper in scrapers() {
            if !scraper.supports(format) {
                continue;
            }
            let first = allocations_in(|| {
                std::hint::black_box(scraper.scrape(format));
            });
            // Let buffers settle at their final size before counting.
            for _ in 0..3 {
                std::hint::black_box(scraper.scrape(format));
            }
            let warm = (0..MEASURED_SCRAPES)
                .map(|_| {
                    allocations_in(|| {
                        std::hint::black_box(scraper.scrape(format));
                    })
                })
                .max()
                .unwrap_or(0);
            rows.push(Row {
                library: scraper.id(),
                format,
                first,
                warm,
            });
        }
    }
    rows
}

/// The rows as a markdown table.
pub fn markdown(rows: &[Row], series: usize) -> String {
    let mut table = String::from(
        "| library | format | allocations, first scrape | allocations per warm scrape |\n\
         |---|---|---:|---:|\n",
    );
    for row in rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            row.library,
            format_name(row.format),
            row.first,
            row.warm
        ));
    }
    table.push_str(&format!(
        "\n{series} series; a warm scrape is the worst of {MEASURED_SCRAPES} after 4 warm-up scrapes \
         into reused buffers.\n"
    ));
    table
}

/// The name of a format in tables and ids.
pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Text => "text",
        Format::OpenMetrics => "openmetrics",
        Format::Protobuf => "protobuf",
    }
}
