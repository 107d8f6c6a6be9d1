//! `metrics::counter!` code served by promstatic: the seed scenario of the facade.
//!
//! ```sh
//! cargo run --example facade --features facade -- --bind 127.0.0.1:9000 --fallback ephemeral
//! ```
//!
//! A stand-in for a game client written against the `metrics` macros. It installs the
//! facade in one line, then renders "frames" forever, each one a `counter!` increment. Its
//! first stdout line says where metrics are served (`metrics at http://ADDR/metrics`) or
//! that they are disabled (`metrics disabled: …`); after that it prints the number of frames
//! recorded, read back from the exposition, every 100 ms (`recorded N`). Log records go to
//! stderr. It runs until it is killed (the test SIGKILLs it).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use promstatic::exporter::ListenerState;
use promstatic::facade::Builder;

/// Every log record on stderr, one line each: enough for the test to read the diagnosis.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("[{}] {}", record.level(), record.args());
        }
    }

    fn flush(&self) {}
}

static LOGGER: StderrLog = StderrLog;

fn main() -> ExitCode {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
    let mut bind = "127.0.0.1:9000".to_owned();
    let mut fallback = true;
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        match (argument.as_str(), arguments.next()) {
            ("--bind", Some(value)) => bind = value,
            ("--fallback", Some(value)) if value == "none" => fallback = false,
            ("--fallback", Some(value)) if value == "ephemeral" => fallback = true,
            _ => {
                eprintln!("usage: facade [--bind ADDR] [--fallback none|ephemeral]");
                return ExitCode::from(2);
            }
        }
    }

    // The one line that replaces `PrometheusBuilder::new()...install().expect(..)`.
    let mut builder = Builder::new().listen(&bind);
    if fallback {
        builder = builder.fallback_ephemeral();
    }
    let facade = match builder.install() {
        Ok(facade) => facade,
        Err(error) => {
            eprintln!("cannot install the metrics facade: {error}");
            return ExitCode::FAILURE;
        }
    };
    metrics::describe_counter!("frames_rendered_total", "Frames rendered, by scene.");

    // The listener retries in the background; wait for its outcome, bounded by its budget.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match facade.state() {
            Some(ListenerState::Bound { address } | ListenerState::Fallback { address, .. }) => {
                println!("metrics at http://{address}/metrics");
                break;
            }
            Some(ListenerState::Disabled { reason }) => {
                println!("metrics disabled: {reason}");
                break;
            }
            _ if Instant::now() > deadline => {
                println!("metrics disabled: no outcome from the listener in 60 s");
                break;
            }
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }

    // The "game loop": recording goes on whatever happened to the endpoint.
    let scenes = ["intro", "level_1"];
    let mut frame = 0u64;
    let mut last_report = Instant::now();
    loop {
        let scene = scenes[(frame % 2) as usize];
        metrics::counter!("frames_rendered_total", "scene" => scene).increment(1);
        frame += 1;
        if last_report.elapsed() >= Duration::from_millis(100) {
            println!("recorded {}", recorded_frames());
            last_report = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The frames in this process' own exposition (both scenes), as a scrape would see them.
fn recorded_frames() -> u64 {
    let mut out = Vec::new();
    promstatic::render_text(&mut out);
    String::from_utf8_lossy(&out)
        .lines()
        .filter(|line| line.starts_with("frames_rendered_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}
