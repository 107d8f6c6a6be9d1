//! Runs one `metrics` macro call many times through one recorder: a driver for
//! `valgrind --tool=callgrind`, whose instruction counts stay the same while other programs
//! load the machine (criterion's wall-clock figures do not).
//!
//! ```sh
//! cargo build --release -p promstatic-bench-peers --bin facade_calls
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/facade_calls promstatic counter2 100000
//! ```
//!
//! Arguments: the recorder (`promstatic`, `mep` for metrics-exporter-prometheus, `noop` for
//! `metrics::NoopRecorder`, `floor` for a recorder that hands out one shared `Arc` handle,
//! the least a recorder that records can do under `metrics`' API), the call (`counter0`,
//! `counter1`, `counter2`, `histogram`) and the number of calls. Run it twice with different
//! numbers: the difference of the totals divided by the difference of the numbers is the cost
//! of one call, without the start-up. Each recorder is the thread's default local recorder,
//! as in `benches/facade.rs`.

use std::process::ExitCode;

use promstatic_bench_peers::peers::{self, FloorRecorder};
use promstatic_bench_peers::workload::{LATENCY_BUCKETS, LATENCY_NAME, observations};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [recorder, call, calls] = args.as_slice() else {
        eprintln!(
            "usage: facade_calls promstatic|mep|noop|floor counter0|counter1|counter2|histogram CALLS"
        );
        return ExitCode::FAILURE;
    };
    let Ok(calls) = calls.parse::<usize>() else {
        eprintln!("CALLS must be a number, not {calls:?}");
        return ExitCode::FAILURE;
    };
    let ours;
    let theirs;
    let floor = FloorRecorder::default();
    let recorder: &dyn metrics::Recorder = match recorder.as_str() {
        "promstatic" => {
            ours = match promstatic::facade::Builder::new()
                .buckets(&LATENCY_BUCKETS)
                .build_recorder()
            {
                Ok(recorder) => recorder,
                Err(error) => {
                    eprintln!("promstatic facade: {error}");
                    return ExitCode::FAILURE;
                }
            };
            &ours
        }
        "mep" => {
            theirs = peers::metrics_recorder();
            &theirs
        }
        "noop" => &metrics::NoopRecorder,
        "floor" => &floor,
        other => {
            eprintln!("unknown recorder {other:?}");
            return ExitCode::FAILURE;
        }
    };
    let _local = metrics::set_default_local_recorder(recorder);
    let values = observations();
    match call.as_str() {
        "counter0" => {
            for _ in 0..calls {
                metrics::counter!("bench_frames_total").increment(1);
            }
        }
        "counter1" => {
            for _ in 0..calls {
                metrics::counter!("bench_frames_total", "scene" => "intro").increment(1);
            }
        }
        "counter2" => {
            for _ in 0..calls {
                metrics::counter!("bench_frames_total", "scene" => "intro", "gpu" => "0")
                    .increment(1);
            }
        }
        "histogram" => {
            for index in 0..calls {
                metrics::histogram!(LATENCY_NAME).record(values[index % values.len()]);
            }
        }
        other => {
            eprintln!("unknown call {other:?}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
