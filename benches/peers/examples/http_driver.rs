//! A fixed number of keep-alive `GET /metrics` of the HTTP bench's 1,000 series, against
//! promstatic's exporter or the pre-rendered std-socket floor, for profilers that want a
//! count rather than a time (callgrind, `strace -c`, `perf record`).
//!
//! ```text
//! cargo run --release -p promstatic-bench-peers --example http_driver -- promstatic 1000
//! valgrind --tool=callgrind target/release/examples/http_driver floor 1000
//! ```
//!
//! Run it twice with different counts and subtract: the difference divided by the extra
//! requests is the cost of one request without the set-up.

use std::process::ExitCode;

use promstatic_bench_peers::http::{Client, PrerenderedServer};
use promstatic_bench_peers::scrape::{Floor, Format, PromstaticStatic, Scraper, check_exposition};

include!(concat!(env!("OUT_DIR"), "/series_1000.rs"));

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let (server, requests) = match arguments.as_slice() {
        [server, requests] => match requests.parse::<u64>() {
            Ok(requests) => (server.as_str(), requests),
            Err(error) => {
                eprintln!("http_driver: bad request count {requests:?}: {error}");
                return ExitCode::FAILURE;
            }
        },
        _ => {
            eprintln!("usage: http_driver promstatic|floor REQUESTS");
            return ExitCode::FAILURE;
        }
    };
    // Kept alive until the requests are done.
    let _floor_server;
    let _exporter;
    let address = match server {
        "floor" => {
            let mut floor = Floor::new(SERIES.len());
            match PrerenderedServer::start(floor.scrape(Format::Text)) {
                Ok(server) => {
                    let address = server.address();
                    _floor_server = server;
                    address
                }
                Err(error) => {
                    eprintln!("http_driver: cannot start the floor server: {error}");
                    return ExitCode::FAILURE;
                }
            }
        }
        "promstatic" => {
            PromstaticStatic::new(&SERIES);
            let exporter = match promstatic::exporter::Exporter::new()
                .address(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
                .process_metrics(false)
                .start()
            {
                Ok(exporter) => exporter,
                Err(error) => {
                    eprintln!("http_driver: promstatic exporter: {error}");
                    return ExitCode::FAILURE;
                }
            };
            let Some(address) = exporter.local_addr() else {
                eprintln!("http_driver: exporter not bound: {:?}", exporter.state());
                return ExitCode::FAILURE;
            };
            _exporter = exporter;
            address
        }
        other => {
            eprintln!("http_driver: unknown server {other:?}; use promstatic or floor");
            return ExitCode::FAILURE;
        }
    };
    let mut client = Client::connect_when_ready(address);
    let mut bytes = 0usize;
    let started = std::time::Instant::now();
    let mut encode = None;
    for request in 0..requests {
        match client.get() {
            Ok(body) => {
                if request == 0 {
                    check_exposition(server, body, SERIES.len());
                }
                bytes += body.len();
                if request + 1 == requests {
                    encode = mean_encode_seconds(body);
                }
            }
            Err(error) => {
                eprintln!("http_driver: request {request}: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let per_request = started.elapsed().as_secs_f64() / requests.max(1) as f64;
    println!("{requests} requests, {bytes} body bytes");
    // Wall-clock: a same-run ratio only (the machine may be loaded).
    match encode {
        Some(encode) => println!(
            "{:.1} µs per request, of which {:.1} µs encoding ({:.0}%, from the exporter's own \
             self-metrics)",
            per_request * 1e6,
            encode * 1e6,
            encode / per_request * 100.0
        ),
        None => println!("{:.1} µs per request", per_request * 1e6),
    }
    ExitCode::SUCCESS
}

/// The mean encode time of the scrapes before this one, read from promstatic's self-metrics
/// in `body`; `None` for the floor, which has none.
fn mean_encode_seconds(body: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(body).ok()?;
    let value = |name: &str| -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))?
            .trim()
            .parse()
            .ok()
    };
    let seconds = value("promstatic_scrape_encode_seconds_total")?;
    // The total covers the scrapes before this one.
    let scrapes = value("promstatic_scrapes_total")? - 1.0;
    (scrapes > 0.0).then(|| seconds / scrapes)
}
