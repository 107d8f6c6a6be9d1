//! The scrape profile's driver with 1000 series (see `promstatic_bench_peers::profile`):
//!
//! ```sh
//! cargo build --release -p promstatic-bench-peers --example scrape_profile_1k
//! valgrind --tool=callgrind target/release/examples/scrape_profile_1k static text 11
//! ```

include!(concat!(env!("OUT_DIR"), "/series_1000.rs"));

fn main() {
    promstatic_bench_peers::profile::run(&SERIES);
}
