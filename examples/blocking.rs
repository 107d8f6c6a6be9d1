//! A program without async: a worker that takes jobs from stdin, with its metrics served by
//! the exporter on its own thread (`Exporter::start`).
//!
//! ```text
//! cargo run --example blocking                                   # metrics on http://127.0.0.1:9464/metrics
//! printf 'a b c\nhello world\n' | cargo run --example blocking -- --bind 127.0.0.1:0
//! ```
//!
//! Each line of stdin is one job (its words are "processed"). The first line on stdout gives
//! `http://HOST:PORT/metrics` once the endpoint is bound; a bind failure is printed on stderr
//! and the work goes on without metrics (it never stops the program). At the end of stdin
//! the exporter is shut down, a summary printed, and the program exits with 0.

mod common;

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Instant;

use promstatic::exporter::{Exporter, ListenerState};
use promstatic::{Counter, Gauge, Histogram, metric};

/// Jobs read from stdin and processed.
#[metric]
static JOBS_TOTAL: Counter = Counter::new();

/// Words seen in all jobs.
#[metric]
static JOB_WORDS_TOTAL: Counter = Counter::new();

/// Jobs being processed now (0 or 1: one worker).
#[metric]
static JOBS_IN_PROGRESS: Gauge = Gauge::new();

/// Time taken by one job, in seconds.
#[metric(buckets = [0.000_01, 0.000_1, 0.001, 0.01])]
static JOB_DURATION_SECONDS: Histogram = Histogram::new();

fn main() -> ExitCode {
    let default = SocketAddr::from(([127, 0, 0, 1], promstatic::exporter::DEFAULT_PORT));
    let bind = match common::parse_bind(default) {
        Ok(bind) => bind,
        Err(message) => {
            eprintln!("{message}\nusage: blocking [--bind ADDR:PORT]");
            return ExitCode::from(2);
        }
    };

    // `start` binds (first attempt here, retries in the background) and serves from its
    // own thread with a small current-thread runtime: nothing async in this program.
    let exporter = match Exporter::new().address(bind).start() {
        Ok(exporter) => exporter,
        Err(error) => {
            // Only a bad namespace or constant label ends up here.
            eprintln!("metrics configuration: {error}");
            return ExitCode::FAILURE;
        }
    };
    match exporter.state() {
        ListenerState::Bound { address } | ListenerState::Fallback { address, .. } => {
            println!("blocking example: metrics at http://{address}/metrics");
        }
        // The work does not depend on metrics: say why there are none, and go on.
        other => eprintln!("blocking example: no metrics endpoint: {other:?}"),
    }

    let mut jobs = 0u64;
    for line in std::io::stdin().lock().lines() {
        let line = match line {
            Ok(line) => line,
            Err(error) => {
                eprintln!("reading stdin: {error}");
                break;
            }
        };
        process(&line);
        jobs += 1;
    }

    // Closes the socket and joins the exporter thread (in-flight scrapes finish first).
    exporter.shutdown();
    println!("processed {jobs} jobs, {} words", JOB_WORDS_TOTAL.get());
    ExitCode::SUCCESS
}

/// One job: the metrics a real worker would record around its work.
fn process(line: &str) {
    JOBS_IN_PROGRESS.inc();
    let started = Instant::now();
    let words = line.split_whitespace().count();
    JOB_WORDS_TOTAL.inc_by(words as u64);
    JOBS_TOTAL.inc();
    JOB_DURATION_SECONDS.observe_duration(started.elapsed());
    JOBS_IN_PROGRESS.dec();
}
