//! Runs the whole peer suite and writes `benches/peers/RESULTS.md` and `benches/peers/scrape.svg`.
//!
//! ```text
//! cargo run --release -p promstatic-bench-peers --bin report            # full run
//! cargo run --release -p promstatic-bench-peers --bin report -- --quick # short samples
//! cargo run --release -p promstatic-bench-peers --bin report -- --no-run # tables from the last run
//! ```
//!
//! Each criterion bench file runs as `cargo bench --profile release` (the profile this binary
//! is built with, so the dependencies are compiled once), then the medians are read from
//! `target/criterion/**/new/estimates.json`. Allocations per scrape are counted in this process,
//! whose global allocator counts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use promstatic_bench_peers::allocations::{self, CountingAllocator};
use promstatic_bench_peers::{memory, scrape};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

include!(concat!(env!("OUT_DIR"), "/series_1000.rs"));

/// One criterion bench file the report runs.
struct Bench {
    /// The package that holds it (the exemplar bench lives in promstatic itself).
    package: &'static str,
    name: &'static str,
    /// Rows whose differences are a few percent (the writer slowdown): run with
    /// [`Mode::precise_samples`] samples over [`Mode::precise_measurement`] seconds, so the
    /// confidence interval is narrower than the effect the target bounds.
    precise: bool,
    /// Cargo features the bench needs (`required-features` in its manifest).
    features: &'static str,
}

const fn bench(name: &'static str) -> Bench {
    Bench {
        package: "promstatic-bench-peers",
        name,
        precise: false,
        features: "",
    }
}

/// The bench files, in the order they run and are reported.
const BENCHES: [Bench; 15] = [
    bench("counter"),
    bench("gauge"),
    bench("histogram"),
    bench("native"),
    bench("family"),
    bench("scrape_100"),
    bench("scrape_1k"),
    bench("scrape_10k"),
    Bench {
        package: "promstatic-bench-peers",
        name: "scrape_100k",
        precise: false,
        features: "scale",
    },
    bench("http"),
    bench("http_layer"),
    Bench {
        package: "promstatic-bench-peers",
        name: "writer",
        precise: true,
        features: "",
    },
    bench("facade"),
    bench("dynamic"),
    Bench {
        package: "promstatic",
        name: "exemplars",
        precise: false,
        features: "",
    },
];

/// Criterion settings of a mode: warm-up seconds, measurement seconds, samples, bootstrap
/// resamples (the medians need few; criterion's default of 100,000 costs a second a bench).
struct Mode {
    name: &'static str,
    warm_up: &'static str,
    measurement: &'static str,
    samples: &'static str,
    resamples: &'static str,
    /// Samples and measurement seconds of the [precise](Bench::precise) benches.
    precise_samples: &'static str,
    precise_measurement: &'static str,
}

const FULL: Mode = Mode {
    name: "full",
    warm_up: "1",
    measurement: "3",
    samples: "50",
    resamples: "20000",
    precise_samples: "100",
    precise_measurement: "8",
};

const QUICK: Mode = Mode {
    name: "quick",
    warm_up: "0.2",
    measurement: "0.4",
    samples: "10",
    resamples: "2000",
    precise_samples: "20",
    precise_measurement: "1",
};

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let mut mode = &FULL;
    let mut run = true;
    for argument in &arguments {
        match argument.as_str() {
            "--quick" => mode = &QUICK,
            "--no-run" => run = false,
            "--help" | "-h" => {
                println!("usage: report [--quick] [--no-run]");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("report: unknown argument {other:?}; usage: report [--quick] [--no-run]");
                return ExitCode::FAILURE;
            }
        }
    }
    match report(mode, run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("report: {error}");
            ExitCode::FAILURE
        }
    }
}

fn report(mode: &Mode, run: bool) -> Result<(), String> {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workspace = crate_dir
        .parent()
        .and_then(Path::parent)
        .ok_or("the crate is not two levels below the workspace root")?
        .to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let criterion_dir = target.join("criterion");
    let machine = Machine::read();

    let started = Instant::now();
    let mut failed: Vec<String> = Vec::new();
    if run {
        // Stale results from removed or renamed benches must not reach the table.
        if criterion_dir.exists() {
            std::fs::remove_dir_all(&criterion_dir)
                .map_err(|error| format!("cannot clear {}: {error}", criterion_dir.display()))?;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        for bench in &BENCHES {
            eprintln!("report: running bench {} ({} mode)", bench.name, mode.name);
            let (samples, measurement) = if bench.precise {
                (mode.precise_samples, mode.precise_measurement)
            } else {
                (mode.samples, mode.measurement)
            };
            let mut command = Command::new(&cargo);
            command.current_dir(&workspace).args([
                "bench",
                "--profile",
                "release",
                "-p",
                bench.package,
            ]);
            if !bench.features.is_empty() {
                command.args(["--features", bench.features]);
            }
            let status = command
                .args(["--bench", bench.name, "--", "--noplot"])
                .args(["--warm-up-time", mode.warm_up])
                .args(["--measurement-time", measurement])
                .args(["--sample-size", samples])
                .args(["--nresamples", mode.resamples])
                .status();
            // One broken bench costs its own rows ("not measured"), never the whole report.
            match status {
                Ok(status) if status.success() => {}
                Ok(status) => failed.push(format!("{} ({status})", bench.name)),
                Err(error) => failed.push(format!("{} (cannot run {cargo}: {error})", bench.name)),
            }
        }
    }
    // What the run was, kept next to criterion's files for `--no-run`: mode, seconds, load
    // average before and after, commit, then the failed benches, one per line.
    let run_file = criterion_dir.join("promstatic-report-run.txt");
    let mut machine = machine;
    let (mode, elapsed) = if run {
        let elapsed = started.elapsed();
        machine.load_after = load_average();
        let mut record = format!(
            "{}\n{}\n{}\n{}\n{}\n",
            mode.name,
            elapsed.as_secs(),
            machine.load_before,
            machine.load_after,
            machine.commit,
        );
        for failure in &failed {
            record.push_str(failure);
            record.push('\n');
        }
        std::fs::create_dir_all(&criterion_dir)
            .and_then(|()| std::fs::write(&run_file, record))
            .map_err(|error| format!("cannot write {}: {error}", run_file.display()))?;
        (mode, Some(elapsed))
    } else {
        let record = std::fs::read_to_string(&run_file).unwrap_or_default();
        let mut lines = record.lines();
        let mode = if lines.next() == Some(QUICK.name) {
            &QUICK
        } else {
            &FULL
        };
        let elapsed = lines
            .next()
            .and_then(|seconds| seconds.parse().ok())
            .map(std::time::Duration::from_secs);
        let unknown = "unknown (no record of the run)";
        machine.load_before = lines.next().unwrap_or(unknown).to_owned();
        machine.load_after = lines.next().unwrap_or(unknown).to_owned();
        machine.commit = lines.next().unwrap_or(unknown).to_owned();
        failed = lines.map(str::to_owned).collect();
        (mode, elapsed)
    };

    // Memory first: promstatic's first scrape in this process must be the measured one.
    eprintln!("report: measuring memory per series");
    let mut memory_rows = memory::measure(&SERIES);
    memory_rows.extend(memory::read(&criterion_dir, 100_000));
    eprintln!("report: counting allocations per scrape");
    let allocation_rows = allocations::per_scrape(|| scrape::all(SERIES.len(), &SERIES));

    let results = Results::read(&criterion_dir)?;
    if results.rows.is_empty() {
        return Err(format!(
            "no criterion results under {}; run without --no-run",
            criterion_dir.display()
        ));
    }
    let run = Run {
        machine: &machine,
        mode,
        elapsed,
        failed: &failed,
    };
    let markdown = render_markdown(&results, &allocation_rows, &memory_rows, &run);
    let svg = render_svg(&results);
    let results_path = crate_dir.join("RESULTS.md");
    let svg_path = crate_dir.join("scrape.svg");
    std::fs::write(&results_path, markdown)
        .map_err(|error| format!("cannot write {}: {error}", results_path.display()))?;
    std::fs::write(&svg_path, svg)
        .map_err(|error| format!("cannot write {}: {error}", svg_path.display()))?;
    eprintln!(
        "report: wrote {} and {} ({} mode)",
        results_path.display(),
        svg_path.display(),
        mode.name
    );
    Ok(())
}

/// What the results were measured on.
struct Machine {
    cpu: String,
    cores: usize,
    load_before: String,
    load_after: String,
    rustc: String,
    /// The commit measured (`git rev-parse HEAD`), marked when the work tree has changes.
    commit: String,
}

/// What one report describes: the machine, the criterion mode, how long it took, and the
/// benches that failed (their rows read "not measured").
struct Run<'a> {
    machine: &'a Machine,
    mode: &'a Mode,
    elapsed: Option<std::time::Duration>,
    failed: &'a [String],
}

impl Machine {
    fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map_or_else(
                || "unknown CPU".to_owned(),
                |(_, model)| model.trim().to_owned(),
            );
        let virtualised = cpuinfo.lines().any(|line| {
            line.starts_with("flags") && line.split_whitespace().any(|f| f == "hypervisor")
        });
        let cpu = if virtualised {
            format!("{cpu}, a virtual machine's vCPUs")
        } else {
            cpu
        };
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let rustc = Command::new("rustc")
            .arg("--version")
            .output()
            .ok()
            .and_then(|output| String::from_utf8(output.stdout).ok())
            .map_or_else(
                || "rustc (unknown version)".to_owned(),
                |v| v.trim().to_owned(),
            );
        Machine {
            cpu,
            cores,
            load_before: load_average(),
            load_after: String::new(),
            rustc,
            commit: commit(),
        }
    }
}

/// The checked-out commit, `+ uncommitted changes` when the tree differs from it.
fn commit() -> String {
    let git = |arguments: &[&str]| {
        Command::new("git")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(arguments)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .and_then(|output| String::from_utf8(output.stdout).ok())
    };
    let Some(hash) = git(&["rev-parse", "HEAD"]) else {
        return "unknown commit (git did not answer)".to_owned();
    };
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.trim().is_empty());
    format!(
        "{}{}",
        hash.trim(),
        if dirty { " + uncommitted changes" } else { "" }
    )
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// One criterion result.
#[derive(Debug, Clone)]
struct Row {
    function: String,
    /// Median time per iteration, in nanoseconds.
    median: f64,
    /// Criterion's confidence interval of the median (bootstrap, 95% by default).
    low: f64,
    high: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Floor,
    Ours,
    Peer,
}

fn role(function: &str) -> Role {
    if function.starts_with("floor") {
        Role::Floor
    } else if function.starts_with("promstatic") {
        Role::Ours
    } else {
        Role::Peer
    }
}

/// Criterion results keyed by (group, parameter), rows in the order criterion ran them.
struct Results {
    rows: BTreeMap<(String, String), Vec<Row>>,
    /// When each (group, parameter) first ran, to list parameters in run order.
    first_run: BTreeMap<(String, String), u128>,
}

impl Results {
    fn read(criterion_dir: &Path) -> Result<Results, String> {
        let mut found = Vec::new();
        collect_new_dirs(criterion_dir, &mut found);
        let mut rows: BTreeMap<(String, String), Vec<(u128, Row)>> = BTreeMap::new();
        for dir in found {
            let benchmark = read_json(&dir.join("benchmark.json"))?;
            let estimates = read_json(&dir.join("estimates.json"))?;
            let text = |key: &str| benchmark[key].as_str().unwrap_or("").to_owned();
            let median = estimates["median"]["point_estimate"]
                .as_f64()
                .ok_or_else(|| format!("{}: no median", dir.display()))?;
            let bound = |which: &str| {
                estimates["median"]["confidence_interval"][which]
                    .as_f64()
                    .unwrap_or(median)
            };
            let (low, high) = (bound("lower_bound"), bound("upper_bound"));
            // `bench_function("library/case")` (no parameter) reads like
            // `BenchmarkId::new("library", "case")`, so both forms fill the same tables.
            let (function, parameter) = match (text("function_id"), text("value_str")) {
                (function, parameter) if !parameter.is_empty() => (function, parameter),
                (function, _) => match function.rsplit_once('/') {
                    Some((library, case)) => (library.to_owned(), case.to_owned()),
                    None => (function, String::new()),
                },
            };
            // Run order, so tables list libraries as the bench files do.
            let modified = std::fs::metadata(dir.join("estimates.json"))
                .and_then(|meta| meta.modified())
                .ok()
                .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |duration| duration.as_nanos());
            rows.entry((text("group_id"), parameter))
                .or_default()
                .push((
                    modified,
                    Row {
                        function,
                        median,
                        low,
                        high,
                    },
                ));
        }
        let first_run = rows
            .iter()
            .map(|(key, list)| {
                let first = list.iter().map(|(modified, _)| *modified).min();
                (key.clone(), first.unwrap_or(0))
            })
            .collect();
        Ok(Results {
            first_run,
            rows: rows
                .into_iter()
                .map(|(key, mut list)| {
                    list.sort_by_key(|(modified, _)| *modified);
                    (key, list.into_iter().map(|(_, row)| row).collect())
                })
                .collect(),
        })
    }

    fn get(&self, group: &str, parameter: &str) -> &[Row] {
        self.rows
            .get(&(group.to_owned(), parameter.to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    fn median(&self, group: &str, parameter: &str, function: &str) -> Option<f64> {
        self.row(group, parameter, function).map(|row| row.median)
    }

    fn row(&self, group: &str, parameter: &str, function: &str) -> Option<&Row> {
        self.get(group, parameter)
            .iter()
            .find(|row| row.function == function)
    }

    fn best_peer(&self, group: &str, parameter: &str) -> Option<&Row> {
        best(self.get(group, parameter), Role::Peer)
    }

    fn floor(&self, group: &str, parameter: &str) -> Option<&Row> {
        best(self.get(group, parameter), Role::Floor)
    }

    fn parameters(&self, group: &str) -> Vec<&str> {
        let mut parameters: Vec<&str> = self
            .rows
            .keys()
            .filter(|(g, _)| g == group)
            .map(|(_, parameter)| parameter.as_str())
            .collect();
        // Numeric parameters (series counts) in numeric order, the others in run order.
        parameters.sort_by_key(|parameter| {
            let first_run = self
                .first_run
                .get(&(group.to_owned(), (*parameter).to_owned()))
                .copied()
                .unwrap_or(0);
            (parameter.parse::<u64>().unwrap_or(u64::MAX), first_run)
        });
        parameters
    }
}

fn best(rows: &[Row], wanted: Role) -> Option<&Row> {
    rows.iter()
        .filter(|row| role(&row.function) == wanted)
        .min_by(|a, b| a.median.total_cmp(&b.median))
}

fn collect_new_dirs(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|name| name == "new") {
            if path.join("benchmark.json").exists() && path.join("estimates.json").exists() {
                found.push(path);
            }
        } else if path.file_name().is_none_or(|name| name != "report") {
            collect_new_dirs(&path, found);
        }
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))
}

/// A duration in nanoseconds, with a unit that keeps three significant digits.
fn duration(nanoseconds: f64) -> String {
    if nanoseconds < 1_000.0 {
        format!("{nanoseconds:.3} ns")
    } else if nanoseconds < 1_000_000.0 {
        format!("{:.3} µs", nanoseconds / 1_000.0)
    } else {
        format!("{:.3} ms", nanoseconds / 1_000_000.0)
    }
}

fn ratio(value: f64, reference: Option<f64>) -> String {
    reference.map_or_else(
        || "–".to_owned(),
        |reference| format!("{:.2}×", value / reference),
    )
}

/// How each group is introduced and what extra column it gets.
struct GroupInfo {
    id: &'static str,
    title: &'static str,
    extra: Extra,
}

#[derive(Clone, Copy)]
enum Extra {
    None,
    PerSeries,
    RequestsPerSecond,
    SlowdownVsAlone,
}

const GROUPS: [GroupInfo; 18] = [
    GroupInfo {
        id: "counter_inc",
        title: "Counter increment (per increment; 2 threads: until both threads did one more)",
        extra: Extra::None,
    },
    GroupInfo {
        id: "gauge_set",
        title: "Gauge set",
        extra: Extra::None,
    },
    GroupInfo {
        id: "histogram_observe",
        title: "Histogram observe (11 buckets)",
        extra: Extra::None,
    },
    GroupInfo {
        id: "native_observe",
        title: "Native histogram observe (and classic, for reference), 1 and 2 threads",
        extra: Extra::None,
    },
    GroupInfo {
        id: "family_inc",
        title: "Label family: `with(method).inc()`, 4 label values",
        extra: Extra::None,
    },
    GroupInfo {
        id: "scrape_text",
        title: "Scrape encode, Prometheus text 0.0.4 (N counter families)",
        extra: Extra::PerSeries,
    },
    GroupInfo {
        id: "scrape_openmetrics",
        title: "Scrape encode, OpenMetrics 1.0.0 (N counter families)",
        extra: Extra::PerSeries,
    },
    GroupInfo {
        id: "scrape_protobuf",
        title: "Scrape encode, protobuf (N counter families)",
        extra: Extra::PerSeries,
    },
    GroupInfo {
        id: "http_get_metrics",
        title: "HTTP round trip: `GET /metrics`, 1,000 series, keep-alive loopback",
        extra: Extra::RequestsPerSecond,
    },
    GroupInfo {
        id: "http_layer",
        title: "HTTP metrics layer: one request through a tower service (call, future, body to its end), in process",
        extra: Extra::None,
    },
    GroupInfo {
        id: "writer_inc",
        title: "Writer: one thread incrementing a scraped counter, with and without a scraper",
        extra: Extra::SlowdownVsAlone,
    },
    GroupInfo {
        id: "facade_macro",
        title: "`metrics` facade: the macros through promstatic's recorder and metrics-exporter-prometheus",
        extra: Extra::None,
    },
    GroupInfo {
        id: "facade_scrape_1k",
        title: "`metrics` facade: text scrape of 1,000 facade counters",
        extra: Extra::None,
    },
    GroupInfo {
        id: "dynamic_hit",
        title: "Dynamic label families: hit path `with(…).inc()`, 1, 2, 3 string labels (case = label count)",
        extra: Extra::None,
    },
    GroupInfo {
        id: "dynamic_cached",
        title: "Dynamic label families: a cached series against a plain counter",
        extra: Extra::None,
    },
    GroupInfo {
        id: "dynamic_insert",
        title: "Dynamic label families: inserting a new label set",
        extra: Extra::None,
    },
    GroupInfo {
        id: "dynamic_scrape_1024_series",
        title: "Dynamic label families: scrape of 1,024 series against a typed family of 1,024",
        extra: Extra::None,
    },
    GroupInfo {
        id: "exemplars",
        title: "Exemplars: update cost with and without exemplar slots (promstatic only)",
        extra: Extra::None,
    },
];

fn render_markdown(
    results: &Results,
    allocation_rows: &[allocations::Row],
    memory_rows: &[memory::Row],
    run: &Run<'_>,
) -> String {
    let Run {
        machine,
        mode,
        elapsed,
        ..
    } = *run;
    let mut out = String::new();
    let _ = writeln!(out, "# promstatic against its peers\n");
    let _ = writeln!(
        out,
        "Generated by `cargo run --release -p promstatic-bench-peers --bin report{}`.\n",
        if mode.name == "quick" {
            " -- --quick"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "* commit: {}\n\
         * machine: {} core(s), {}; load average before the run {}, after {}\n\
         * {}; criterion {} mode: warm-up {} s, measurement {} s, {} samples per benchmark \
         ({} samples over {} s for the writer rows){}\n\
         * versions: prometheus 0.14.0, prometheus-client 0.25.2, metrics 0.24.6 + \
         metrics-exporter-prometheus 0.18.3, measured 0.0.25 (the newest that builds: 0.1.0 needs \
         Rust 1.98)\n\
         * medians of criterion's estimates; \"vs best peer\" divides by the fastest peer in the \
         same row group, \"vs floor\" by the floor (lower is better)\n",
        machine.commit,
        machine.cores,
        machine.cpu,
        machine.load_before,
        machine.load_after,
        machine.rustc,
        mode.name,
        mode.warm_up,
        mode.measurement,
        mode.samples,
        mode.precise_samples,
        mode.precise_measurement,
        elapsed.map_or_else(String::new, |elapsed| format!(
            "; the suite ran in {:.0} s",
            elapsed.as_secs_f64()
        )),
    );

    if !run.failed.is_empty() {
        let _ = writeln!(
            out,
            "**Benches that failed in this run** (their rows read \"not measured\"; see the \
             run's output): {}\n",
            run.failed.join(", ")
        );
    }
    let _ = writeln!(out, "## Targets\n");
    out.push_str(&targets(results, allocation_rows, memory_rows));

    for group in GROUPS {
        let parameters = results.parameters(group.id);
        if parameters.is_empty() {
            let _ = writeln!(out, "\n## {}\n\nNot measured in this run.", group.title);
            continue;
        }
        let _ = writeln!(out, "\n## {}\n", group.title);
        let extra_header = match group.extra {
            Extra::None => "",
            Extra::PerSeries => " per series |",
            Extra::RequestsPerSecond => " requests/s |",
            Extra::SlowdownVsAlone => " vs alone |",
        };
        let _ = writeln!(
            out,
            "| case | library | median |{extra_header} vs best peer | vs floor |"
        );
        let _ = writeln!(
            out,
            "|---|---|---:|{}---:|---:|",
            if extra_header.is_empty() { "" } else { "---:|" }
        );
        for parameter in parameters {
            let best_peer = results.best_peer(group.id, parameter).map(|row| row.median);
            let floor = results.floor(group.id, parameter).map(|row| row.median);
            for row in results.get(group.id, parameter) {
                let extra = match group.extra {
                    Extra::None => String::new(),
                    Extra::PerSeries => {
                        let series = parameter.parse::<f64>().unwrap_or(f64::NAN);
                        format!(" {} |", duration(row.median / series))
                    }
                    Extra::RequestsPerSecond => format!(" {:.0} |", 1e9 / row.median),
                    Extra::SlowdownVsAlone => format!(
                        " {} |",
                        ratio(row.median, results.median(group.id, "alone", &row.function))
                    ),
                };
                let bold = if role(&row.function) == Role::Ours {
                    "**"
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "| {parameter} | {bold}{}{bold} | {} |{extra} {} | {} |",
                    row.function,
                    duration(row.median),
                    ratio(row.median, best_peer),
                    ratio(row.median, floor),
                );
            }
        }
    }

    let _ = writeln!(out, "\n## Allocations per scrape\n");
    out.push_str(&allocations::markdown(allocation_rows, SERIES.len()));
    let _ = writeln!(out, "\n## Memory per series\n");
    out.push_str(&memory_markdown(memory_rows));
    let _ = writeln!(
        out,
        "\n## Plot\n\n![ns per series against series count](scrape.svg)"
    );
    out
}

/// The memory rows as a table; 100,000-series rows come from the `scrape_100k` bench.
fn memory_markdown(rows: &[memory::Row]) -> String {
    let mut out = String::from(
        "| library | series | heap per series | static per series | total per series |\n\
         |---|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} B | {:.1} B | {:.1} B |",
            row.library,
            row.series,
            row.heap_per_series,
            row.static_per_series,
            row.heap_per_series + row.static_per_series
        );
    }
    if !rows.iter().any(|row| row.series == 100_000) {
        out.push_str(
            "| 100,000 series | – | not measured (the `scrape_100k` bench did not run) | | |\n",
        );
    }
    out.push_str(
        "\nHeap: bytes still allocated after set-up and one scrape per format (buffers and \
         indexes included), counted by the global allocator. Static (promstatic): the table \
         entry and the counter, plus the name and HELP bytes they point to.\n",
    );
    out
}

/// One target of the issue: its statement and the measured verdict.
fn targets(
    results: &Results,
    allocation_rows: &[allocations::Row],
    memory_rows: &[memory::Row],
) -> String {
    let mut out = String::from("| target | measured | verdict |\n|---|---|---|\n");
    let mut line = |target: &str, measured: String, verdict: String| {
        let _ = writeln!(out, "| {target} | {measured} | {verdict} |");
    };
    let missing = |what: &str| {
        (
            format!("no {what} row in this run"),
            "not measured".to_owned(),
        )
    };

    // counter inc <= 1.0x fetch_add
    let group = "counter_inc";
    match (
        results.median(group, "1 thread", "promstatic"),
        results.median(group, "1 thread", "floor: fetch_add"),
    ) {
        (Some(ours), Some(floor)) => line(
            "counter inc ≤ 1.0× `fetch_add`",
            format!(
                "{} vs {} = {:.2}×",
                duration(ours),
                duration(floor),
                ours / floor
            ),
            verdict_at_most(ours / floor, 1.0, 0.05),
        ),
        _ => {
            let (measured, verdict) = missing("counter");
            line("counter inc ≤ 1.0× `fetch_add`", measured, verdict)
        }
    }

    // sharded counter, 2 threads: >= 4x faster than the best peer
    let sharded = results
        .get(group, "2 threads")
        .iter()
        .find(|row| row.function.starts_with("promstatic") && row.function.contains("shard"));
    match (sharded, results.best_peer(group, "2 threads")) {
        (Some(ours), Some(peer)) => line(
            "2 threads, contention-resistant counter ≥ 4× faster than the best peer",
            format!(
                "{} vs {} ({}) = {:.1}× faster; one private line per thread (the floor, no \
                 counter can beat it) is {}",
                duration(ours.median),
                duration(peer.median),
                peer.function,
                peer.median / ours.median,
                results
                    .median(group, "2 threads", "floor: fetch_add, one line per thread")
                    .map_or_else(
                        || "not measured".to_owned(),
                        |floor| format!("{:.1}× faster", peer.median / floor)
                    ),
            ),
            verdict_at_least(peer.median / ours.median, 4.0),
        ),
        _ => {
            let (measured, verdict) = missing("promstatic sharded-counter");
            line(
                "2 threads, contention-resistant counter ≥ 4× faster than the best peer",
                measured,
                verdict,
            )
        }
    }

    // histogram observe <= 0.6x the best peer
    let group = "histogram_observe";
    match (
        results.median(group, "1 thread", "promstatic"),
        results.best_peer(group, "1 thread"),
    ) {
        (Some(ours), Some(peer)) => line(
            "histogram observe ≤ 0.6× the best peer",
            format!(
                "{} vs {} ({}) = {:.2}×",
                duration(ours),
                duration(peer.median),
                peer.function,
                ours / peer.median
            ),
            verdict_at_most(ours / peer.median, 0.6, 0.0),
        ),
        _ => {
            let (measured, verdict) = missing("promstatic histogram");
            line("histogram observe ≤ 0.6× the best peer", measured, verdict)
        }
    }

    // The sharded histogram (#14 requirement 2): on 1 thread <= 0.6x the best peer, on 2
    // threads on one histogram <= 0.5x the best peer (at the very least not slower).
    for (parameter, bound) in [("1 thread", 0.6), ("2 threads", 0.5)] {
        let target = format!("{parameter}, sharded histogram observe ≤ {bound}× the best peer");
        match (
            results.median(group, parameter, "promstatic (sharded)"),
            results.best_peer(group, parameter),
        ) {
            (Some(ours), Some(peer)) => line(
                &target,
                format!(
                    "{} vs {} ({}) = {:.2}×",
                    duration(ours),
                    duration(peer.median),
                    peer.function,
                    ours / peer.median
                ),
                verdict_at_most(ours / peer.median, bound, 0.0),
            ),
            _ => {
                let (measured, verdict) = missing("promstatic sharded-histogram");
                line(&target, measured, verdict)
            }
        }
    }

    // scrape <= 0.25x the best peer per series and <= 2x the floor
    for group in ["scrape_text", "scrape_openmetrics"] {
        for parameter in results.parameters(group) {
            let ours = results.median(group, parameter, "promstatic");
            let peer = results.best_peer(group, parameter);
            let floor = results.floor(group, parameter).map(|row| row.median);
            let target = format!(
                "scrape {} {} series ≤ 0.25× best peer, ≤ 2× floor",
                if group == "scrape_text" {
                    "text"
                } else {
                    "OpenMetrics"
                },
                parameter
            );
            match (ours, peer, floor) {
                (Some(ours), Some(peer), Some(floor)) => {
                    let vs_peer = ours / peer.median;
                    let vs_floor = ours / floor;
                    let met = vs_peer <= 0.25 && vs_floor <= 2.0;
                    line(
                        &target,
                        format!(
                            "{:.3}× {} ({}), {:.2}× floor",
                            vs_peer,
                            peer.function,
                            duration(peer.median),
                            vs_floor
                        ),
                        if met {
                            format!(
                                "met ({:.1}× under the peer bound, {:.1}× under the floor bound)",
                                0.25 / vs_peer,
                                2.0 / vs_floor
                            )
                        } else {
                            format!(
                                "missed (peer {}, floor {})",
                                verdict_at_most(vs_peer, 0.25, 0.0),
                                verdict_at_most(vs_floor, 2.0, 0.0)
                            )
                        },
                    );
                }
                _ => {
                    let (measured, verdict) = missing("promstatic, peer or floor scrape");
                    line(&target, measured, verdict)
                }
            }
        }
    }

    // zero allocations per warm scrape
    let ours: Vec<&allocations::Row> = allocation_rows
        .iter()
        .filter(|row| row.library == "promstatic")
        .collect();
    let worst = ours.iter().map(|row| row.warm).max();
    line(
        "0 allocations per warm scrape",
        worst.map_or_else(
            || "not counted".to_owned(),
            |worst| {
                format!(
                    "{worst} (worst of text and OpenMetrics, {} series)",
                    SERIES.len()
                )
            },
        ),
        match worst {
            Some(0) => "met".to_owned(),
            Some(n) => format!("missed by {n}"),
            None => "not measured".to_owned(),
        },
    );

    // HTTP rps >= 3x metrics-exporter-prometheus's own listener
    let group = "http_get_metrics";
    let http_parameter = results.parameters(group).first().map(|p| (*p).to_owned());
    let ours = http_parameter.as_deref().and_then(|parameter| {
        results
            .get(group, parameter)
            .iter()
            .find(|row| role(&row.function) == Role::Ours)
            .map(|row| row.median)
    });
    let theirs = http_parameter.as_deref().and_then(|parameter| {
        results
            .get(group, parameter)
            .iter()
            .find(|row| row.function.starts_with("metrics-exporter-prometheus"))
            .map(|row| row.median)
    });
    match (ours, theirs) {
        (Some(ours), Some(theirs)) => line(
            "HTTP requests/s ≥ 3× metrics-exporter-prometheus's listener",
            format!(
                "{:.0} vs {:.0} req/s = {:.2}×",
                1e9 / ours,
                1e9 / theirs,
                theirs / ours
            ),
            verdict_at_least(theirs / ours, 3.0),
        ),
        _ => {
            let (measured, verdict) = missing("promstatic exporter");
            line(
                "HTTP requests/s ≥ 3× metrics-exporter-prometheus's listener",
                measured,
                verdict,
            )
        }
    }

    // writer slowdown <= 5%, with the confidence intervals, so noise is told from an effect
    let group = "writer_inc";
    let alone = results.row(group, "alone", "promstatic");
    let floor_alone = results.median(group, "alone", "floor: fetch_add");
    // The floor's slowdown next to `parameter`, as context for ours.
    let floor_slowdown = |parameter: &str| -> String {
        match (
            floor_alone,
            results.median(group, parameter, "floor: fetch_add"),
        ) {
            (Some(alone), Some(busy)) => format!("{:+.1}%", (busy / alone - 1.0) * 100.0),
            _ => "not measured".to_owned(),
        }
    };
    for parameter in ["HTTP scraper", "in-process scraper"] {
        let target = format!("writer slowdown under continuous scraping ≤ 5% ({parameter})");
        match (alone, results.row(group, parameter, "promstatic")) {
            (Some(alone), Some(scraped)) => {
                let slowdown = scraped.median / alone.median - 1.0;
                // The widest and narrowest slowdowns the two medians' intervals allow.
                let least = scraped.low / alone.high - 1.0;
                let most = scraped.high / alone.low - 1.0;
                line(
                    &target,
                    format!(
                        "{} alone, {} scraped: {:+.1}% (95% interval of the medians: {:+.1}% \
                         to {:+.1}%; the floor's writer: {} next to the same kind of scraper, \
                         {} next to an arithmetic-only thread)",
                        duration(alone.median),
                        duration(scraped.median),
                        slowdown * 100.0,
                        least * 100.0,
                        most * 100.0,
                        floor_slowdown(parameter),
                        floor_slowdown("arithmetic-only thread"),
                    ),
                    interval_verdict(least, slowdown, most, 0.05),
                );
            }
            _ => {
                let (measured, verdict) = missing(&format!("promstatic writer ({parameter})"));
                line(&target, measured, verdict)
            }
        }
    }

    // HTTP <= 1.3x the pre-rendered std-socket floor (#14)
    let http = |prefix: &str| {
        http_parameter.as_deref().and_then(|parameter| {
            results
                .get("http_get_metrics", parameter)
                .iter()
                .find(|row| row.function.starts_with(prefix))
                .map(|row| row.median)
        })
    };
    ratio_line(
        &mut line,
        "HTTP `GET /metrics` ≤ 1.3× the pre-rendered std-socket floor",
        http("promstatic").zip(http("floor")),
        1.3,
    );

    // scale: per-series cost from 1,000 to 100,000 series grows <= 1.5x (#14)
    for (group, format) in [
        ("scrape_text", "text"),
        ("scrape_openmetrics", "OpenMetrics"),
    ] {
        let per_series = |series: &str, count: f64| {
            results
                .median(group, series, "promstatic")
                .map(|median| median / count)
        };
        let small = per_series("1000", 1_000.0);
        let large = per_series("100000", 100_000.0);
        let target = format!("scrape {format}: per-series cost at 100,000 ≤ 1.5× at 1,000");
        match small.zip(large) {
            Some((small, large)) => line(
                &target,
                format!(
                    "{} → {} per series = {:.2}×",
                    duration(small),
                    duration(large),
                    large / small
                ),
                verdict_at_most(large / small, 1.5, 0.0),
            ),
            None => {
                let (measured, verdict) = missing("promstatic 1,000 or 100,000-series scrape");
                line(&target, measured, verdict)
            }
        }
    }
    let memory_of = |series: usize| {
        memory_rows
            .iter()
            .find(|row| row.library == "promstatic" && row.series == series)
            .map(|row| row.heap_per_series + row.static_per_series)
    };
    line(
        "memory per series (reported; no bound)",
        format!(
            "promstatic: {} at 1,000 series, {} at 100,000 (heap + static; the table below \
             has the peers)",
            memory_of(1_000).map_or_else(|| "not measured".to_owned(), |b| format!("{b:.0} B")),
            memory_of(100_000).map_or_else(|| "not measured".to_owned(), |b| format!("{b:.0} B")),
        ),
        "reported".to_owned(),
    );

    // dynamic label families (#13)
    let group = "dynamic_hit";
    for arity in ["1", "2", "3"] {
        ratio_line(
            &mut line,
            &format!("dynamic family hit path, {arity} label(s), ≤ 0.5× the best peer"),
            results
                .median(group, arity, "promstatic")
                .zip(results.best_peer(group, arity).map(|row| row.median)),
            0.5,
        );
    }
    ratio_line(
        &mut line,
        "cached dynamic series `inc` ≤ 1.2× a plain `Counter::inc`",
        results
            .median(
                "dynamic_cached",
                "",
                "promstatic: cached dynamic series inc",
            )
            .zip(results.median("dynamic_cached", "", "promstatic: plain Counter::inc")),
        1.2,
    );
    for format in ["Text", "OpenMetrics"] {
        let group = "dynamic_scrape_1024_series";
        ratio_line(
            &mut line,
            &format!("dynamic family scrape per series ({format}) ≤ 1.5× a typed family's"),
            results
                .median(group, format, "dynamic family")
                .zip(results.median(group, format, "typed family")),
            1.5,
        );
    }
    let insert = results
        .get("dynamic_insert", "")
        .first()
        .map(|row| format!("{}: {}", row.function, duration(row.median)));
    line(
        "dynamic family insert (reported; no bound)",
        insert
            .clone()
            .unwrap_or_else(|| "no insert row in this run".to_owned()),
        if insert.is_some() {
            "reported"
        } else {
            "not measured"
        }
        .to_owned(),
    );

    // exemplars: the plain paths cost the same with a slot (#16). Every "…, no slot(s)" row
    // is paired with its "…, with slot(s)" row.
    let group = "exemplars";
    let mut pairs = 0;
    for plain in results.get(group, "") {
        let Some((what, slots)) = plain
            .function
            .rsplit_once(", no ")
            .filter(|(_, slots)| slots.starts_with("slot"))
        else {
            continue;
        };
        let Some(slotted) = results.row(group, "", &format!("{what}, with {slots}")) else {
            continue;
        };
        pairs += 1;
        let ratio = slotted.median / plain.median;
        line(
            &format!("`{what}` with exemplar {slots} ≤ 1.0× without (within noise)"),
            format!(
                "{} vs {} = {:.2}× (95% interval: {:.2}× to {:.2}×)",
                duration(slotted.median),
                duration(plain.median),
                ratio,
                slotted.low / plain.high,
                slotted.high / plain.low
            ),
            no_cost_verdict(slotted.low / plain.high - 1.0),
        );
    }
    if pairs == 0 {
        let (measured, verdict) = missing("exemplar");
        line(
            "updates with exemplar slots ≤ 1.0× without (within noise)",
            measured,
            verdict,
        );
    }
    let with_exemplar: Vec<String> = results
        .get(group, "")
        .iter()
        .filter(|row| row.function.contains("with_exemplar"))
        .map(|row| format!("{} {}", row.function, duration(row.median)))
        .collect();
    line(
        "cost of an update with an exemplar (reported; no bound)",
        if with_exemplar.is_empty() {
            "no exemplar row in this run".to_owned()
        } else {
            with_exemplar.join("; ")
        },
        if with_exemplar.is_empty() {
            "not measured"
        } else {
            "reported"
        }
        .to_owned(),
    );

    // the `metrics` facade (#17)
    for case in [
        "counter, 0 labels",
        "counter, 1 label",
        "counter, 2 labels",
        "histogram record",
    ] {
        let group = "facade_macro";
        ratio_line(
            &mut line,
            &format!("facade `{case}` ≤ 0.3× metrics-exporter-prometheus"),
            results
                .median(group, case, "promstatic facade")
                .zip(results.median(group, case, "metrics-exporter-prometheus")),
            0.3,
        );
    }
    let group = "facade_scrape_1k";
    ratio_line(
        &mut line,
        "facade scrape of 1,000 series ≤ 0.25× metrics-exporter-prometheus's render",
        results
            .median(group, "text", "promstatic facade")
            .zip(results.median(group, "text", "metrics-exporter-prometheus")),
        0.25,
    );

    // native histograms: reported against prometheus-client's
    for threads in ["1 thread", "2 threads"] {
        let group = "native_observe";
        let ours = results.median(group, threads, "promstatic native");
        let theirs = results.median(group, threads, "prometheus-client native");
        line(
            &format!("native histogram observe, {threads} (reported; no bound)"),
            match ours.zip(theirs) {
                Some((ours, theirs)) => format!(
                    "{} vs prometheus-client {} = {:.2}×",
                    duration(ours),
                    duration(theirs),
                    ours / theirs
                ),
                None => "no native row in this run".to_owned(),
            },
            if ours.zip(theirs).is_some() {
                "reported"
            } else {
                "not measured"
            }
            .to_owned(),
        );
    }
    out
}

/// A "ours ≤ bound × reference" target: `pair` is (ours, reference), `None` when either row
/// is missing from the run.
fn ratio_line(
    line: &mut impl FnMut(&str, String, String),
    target: &str,
    pair: Option<(f64, f64)>,
    bound: f64,
) {
    match pair {
        Some((ours, reference)) => line(
            target,
            format!(
                "{} vs {} = {:.2}×",
                duration(ours),
                duration(reference),
                ours / reference
            ),
            verdict_at_most(ours / reference, bound, 0.0),
        ),
        None => line(
            target,
            "a row is missing from this run".to_owned(),
            "not measured".to_owned(),
        ),
    }
}

/// For "costs nothing" targets: `least` is the smallest slowdown the intervals allow; met
/// when no slowdown (or a speed-up) is within them.
fn no_cost_verdict(least: f64) -> String {
    if least <= 0.0 {
        "met (no difference beyond the intervals)".to_owned()
    } else {
        format!(
            "missed: at least {:+.1}% even at the intervals' ends",
            least * 100.0
        )
    }
}

/// A relative change against `bound`, read with its interval (`least` ≤ `median` ≤ `most`):
/// met only when even the worst case is within the bound.
fn interval_verdict(least: f64, median: f64, most: f64, bound: f64) -> String {
    if most <= bound {
        "met (the whole interval is within the bound)".to_owned()
    } else if median <= bound {
        format!(
            "met at the median; the interval reaches {:+.1}%, so not proven",
            most * 100.0
        )
    } else if least <= bound {
        format!(
            "missed at the median ({:+.1}%) but within the interval: not separable from noise",
            median * 100.0
        )
    } else {
        format!(
            "missed: even the interval's low end is {:+.1}%",
            least * 100.0
        )
    }
}

/// "met" when `value <= bound` (within `noise`, relative), else by how much it missed.
fn verdict_at_most(value: f64, bound: f64, noise: f64) -> String {
    if value <= bound {
        format!("met ({:.2}× under)", bound / value)
    } else if value <= bound * (1.0 + noise) {
        format!(
            "met within measurement noise ({:.0}% over)",
            (value / bound - 1.0) * 100.0
        )
    } else {
        format!("missed: {:.2}× the bound", value / bound)
    }
}

/// "met" when `value >= bound`, else by how much it missed.
fn verdict_at_least(value: f64, bound: f64) -> String {
    if value >= bound {
        format!("met ({:.2}× over)", value / bound)
    } else {
        format!("missed: {:.0}% of the bound", value / bound * 100.0)
    }
}

/// One line of the plot: library, format, and (series, ns per series) points.
type PlotLine<'a> = (String, &'a str, Vec<(f64, f64)>);

/// The scrape plot: ns per series against series count, both axes logarithmic, one line per
/// library and format (text solid, OpenMetrics dashed).
fn render_svg(results: &Results) -> String {
    const WIDTH: f64 = 1000.0;
    const HEIGHT: f64 = 480.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 560.0;
    const TOP: f64 = 40.0;
    const BOTTOM: f64 = 420.0;
    const COLORS: [&str; 8] = [
        "#555555", "#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
    ];

    let mut lines: Vec<PlotLine<'_>> = Vec::new();
    for (group, format) in [
        ("scrape_text", "text"),
        ("scrape_openmetrics", "OpenMetrics"),
    ] {
        for parameter in results.parameters(group) {
            let Ok(series) = parameter.parse::<f64>() else {
                continue;
            };
            for row in results.get(group, parameter) {
                let point = (series, row.median / series);
                match lines
                    .iter_mut()
                    .find(|(library, f, _)| *library == row.function && *f == format)
                {
                    Some((_, _, points)) => points.push(point),
                    None => lines.push((row.function.clone(), format, vec![point])),
                }
            }
        }
    }
    let all = || lines.iter().flat_map(|(_, _, points)| points.iter());
    let (mut x_min, mut x_max, mut y_min, mut y_max) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all() {
        x_min = x_min.min(x);
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">Scrape encode: \
         nanoseconds per series (log) against series count (log); lower is better</text>\n",
        WIDTH / 2.0
    );
    if lines.is_empty() {
        svg.push_str("<text x=\"40\" y=\"80\">no scrape results in this run</text>\n</svg>\n");
        return svg;
    }
    // Decades that cover the data.
    let x_low = x_min.log10().floor();
    let x_high = x_max.log10().ceil().max(x_low + 1.0);
    let y_low = y_min.log10().floor();
    let y_high = y_max.log10().ceil().max(y_low + 1.0);
    let x_of = |x: f64| LEFT + (x.log10() - x_low) / (x_high - x_low) * (RIGHT - LEFT);
    let y_of = |y: f64| BOTTOM - (y.log10() - y_low) / (y_high - y_low) * (BOTTOM - TOP);

    let _ = writeln!(
        svg,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>",
        RIGHT - LEFT,
        BOTTOM - TOP
    );
    let mut decade = y_low;
    while decade <= y_high {
        let y = y_of(10f64.powf(decade));
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{RIGHT}\" y2=\"{y:.1}\" stroke=\"#e5e5e5\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            y + 4.0,
            decade_label(decade)
        );
        decade += 1.0;
    }
    let mut decade = x_low;
    while decade <= x_high {
        let x = x_of(10f64.powf(decade));
        let _ = writeln!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{BOTTOM}\" stroke=\"#e5e5e5\"/>\
             <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            BOTTOM + 18.0,
            10f64.powf(decade)
        );
        decade += 1.0;
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">series</text>",
        (LEFT + RIGHT) / 2.0,
        BOTTOM + 40.0
    );

    let mut libraries: Vec<&str> = Vec::new();
    for (index, (library, format, points)) in lines.iter().enumerate() {
        let color_index = match libraries.iter().position(|known| known == library) {
            Some(position) => position,
            None => {
                libraries.push(library);
                libraries.len() - 1
            }
        };
        let color = COLORS[color_index % COLORS.len()];
        let dash = if *format == "text" {
            ""
        } else {
            " stroke-dasharray=\"6 4\""
        };
        let width = if role(library) == Role::Ours { 3 } else { 2 };
        let path: Vec<String> = points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", x_of(x), y_of(y)))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"{width}\"{dash}/>",
            path.join(" ")
        );
        for &(x, y) in points {
            let _ = writeln!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\"/>",
                x_of(x),
                y_of(y)
            );
        }
        let legend_y = TOP + 10.0 + index as f64 * 20.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{}\" y1=\"{legend_y:.1}\" x2=\"{}\" y2=\"{legend_y:.1}\" stroke=\"{color}\" \
             stroke-width=\"{width}\"{dash}/><text x=\"{}\" y=\"{:.1}\">{} ({format})</text>",
            RIGHT + 20.0,
            RIGHT + 50.0,
            RIGHT + 56.0,
            legend_y + 4.0,
            escape_xml(library)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// `10^decade` nanoseconds as a short axis label: `10 ns`, `1 µs`, `100 ms`.
fn decade_label(decade: f64) -> String {
    let exponent = decade as i32;
    let (unit, shift) = match exponent {
        ..3 => ("ns", 0),
        3..6 => ("µs", 3),
        6..9 => ("ms", 6),
        _ => ("s", 9),
    };
    format!("{} {unit}", 10u64.pow((exponent - shift).max(0) as u32))
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
