//! Prints heap allocations per scrape for every library, 1,000 series each.
//!
//! `cargo run --release -p promstatic-bench-peers --bin allocs`

use promstatic_bench_peers::allocations::{self, CountingAllocator};
use promstatic_bench_peers::scrape;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

include!(concat!(env!("OUT_DIR"), "/series_1000.rs"));

fn main() {
    let rows = allocations::per_scrape(|| scrape::all(SERIES.len(), &SERIES));
    print!("{}", allocations::markdown(&rows, SERIES.len()));
}
