//! The scrape profile's driver with 100 series (see `promstatic_bench_peers::profile`), where
//! the per-scrape fixed cost (the table's other families) weighs most:
//!
//! ```sh
//! cargo build --release -p promstatic-bench-peers --example scrape_profile_100
//! valgrind --tool=callgrind target/release/examples/scrape_profile_100 static text 11
//! ```

include!(concat!(env!("OUT_DIR"), "/series_100.rs"));

fn main() {
    promstatic_bench_peers::profile::run(&SERIES);
}
