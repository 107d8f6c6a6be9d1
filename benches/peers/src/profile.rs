//! The driver the scrape profile in `README.md` was measured with: a fixed number of warm
//! scrapes of one scraper in one format, with nothing else in the process, so that
//! `valgrind --tool=callgrind` and `perf record` see the scrape path alone.
//!
//! The examples `scrape_profile_1k` and `scrape_profile_10k` call [`run`] with their own
//! generated statics (one table per binary, as in the benches). Instructions per series are
//! `(total(N scrapes) - total(1 scrape)) / (N - 1) / series`: the set-up and the cold first
//! scrape cancel out.

use promstatic::Counter;

use crate::scrape::{self, Format, Scraper};

/// Parses `[static|encoder|floor] [text|openmetrics|protobuf] [scrapes]` from the command
/// line and runs that many scrapes (the first one cold); prints the exposition's length.
pub fn run(statics: &'static [&'static Counter]) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map_or("static", String::as_str);
    let format = match args.get(1).map_or("text", String::as_str) {
        "openmetrics" => Format::OpenMetrics,
        "protobuf" => Format::Protobuf,
        _ => Format::Text,
    };
    let scrapes: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1);
    let count = statics.len();
    let mut scraper: Box<dyn Scraper> = match which {
        "encoder" => Box::new(scrape::PromstaticEncoder::new(count)),
        "floor" => Box::new(scrape::Floor::new(count)),
        _ => Box::new(scrape::PromstaticStatic::new(statics)),
    };
    let mut length = 0;
    for _ in 0..scrapes {
        length = std::hint::black_box(scraper.scrape(format)).len();
    }
    println!(
        "{} {format:?}: {scrapes} scrapes of {count} series, {length} bytes",
        scraper.id()
    );
}
