//! A small instrumented workload served by the embedded exporter.
//!
//! ```text
//! cargo run --example demo                         # http://127.0.0.1:9464/metrics
//! cargo run --example demo -- --bind 127.0.0.1:0   # any free port; the line says which
//! cargo run --example demo -- --bind 127.0.0.1:9464 --fallback ephemeral \
//!     --port-file /tmp/demo.port --file-sd /tmp/demo-targets.json --instance worker-1
//! ```
//!
//! `--instance NAME` sets the `instance` label of the file_sd target (default: none, so
//! Prometheus uses the scraped address); a name held by another live instance is replaced by
//! `NAME-2` (the next free suffix), and the log line on stderr says so. `--job NAME` sets a
//! `job` label (default: none, so the scrape config's `job_name` applies).
//!
//! Who may scrape (see `promstatic::exporter`, "Who may scrape", for the matching Prometheus
//! `scrape_config` of each mode): `--allow CIDR` (repeatable) admits only those peers;
//! built with `--features auth`, `--basic-auth-file PATH` (lines of `user:bcrypt-hash`, as
//! `htpasswd -nB user` prints) and `--bearer-token-file PATH` require credentials; built with
//! `--features tls`, `--tls-cert PATH --tls-key PATH` serve HTTPS (the files are reloaded
//! when they change) and `--client-ca PATH` requires a client certificate signed by it:
//!
//! ```text
//! cargo run --example demo --features auth,tls -- --bind 0.0.0.0:9464 --allow 10.0.0.0/8 \
//!     --basic-auth-file users.txt --tls-cert server.pem --tls-key server-key.pem
//! ```
//!
//! The listener retries the address for up to 3 s (an interactive program's budget), then
//! takes the fallback. Once the endpoint is bound the demo prints exactly one line on stdout,
//! containing `http://HOST:PORT/metrics` (`https://` with TLS) with the real port; the port file and the file_sd
//! target are written before it, and removed again on a clean exit. The listener's log lines
//! (bound address, advertised identity, retries) go to stderr. If the endpoint cannot be bound, the diagnosis goes to
//! stderr and the workload keeps running without metrics. Ctrl-C or SIGTERM stops the
//! workers, shuts the exporter down gracefully and exits with status 0.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use promstatic::exemplar::{ExemplarName, ExemplarSlot, TraceIdHex};
use promstatic::exporter::{Exporter, ExporterHandle, ListenerState};
use promstatic::listener::{BindPolicy, Fallback};
use promstatic::{
    Counter, CounterFamily, DynCounterFamily, FloatGauge, Gauge, Histogram, LabelValue,
    NativeHistogram, ShardedHistogram, metric,
};

/// Fake requests served since start.
#[metric]
static DEMO_REQUESTS_TOTAL: Counter<ExemplarSlot> = Counter::with_exemplars();

/// Fake requests that failed.
#[metric]
static DEMO_ERRORS_TOTAL: Counter = Counter::new();

/// Workers currently busy with a fake request.
#[metric]
static DEMO_BUSY_WORKERS: Gauge = Gauge::new();

/// Seconds spent on the last fake request.
#[metric]
static DEMO_LAST_REQUEST_SECONDS: FloatGauge = FloatGauge::new();

/// The fake requests' latency bounds.
const DURATION_BOUNDS: [f64; 4] = [0.005, 0.01, 0.02, 0.05];

/// Time taken by fake requests, in seconds (each bucket keeps the trace id of a recent
/// request as its exemplar, in OpenMetrics and protobuf scrapes).
#[metric]
static DEMO_REQUEST_DURATION_SECONDS: Histogram<4, ExemplarSlot> =
    Histogram::with_bounds_and_exemplars(&DURATION_BOUNDS);

/// Time taken by fake requests, in seconds, as a native histogram (with classic buckets for
/// text scrapers; each classic bucket keeps a recent trace id as its exemplar, shown on the
/// bucket in OpenMetrics and in protobuf on the bucket and in the native exemplars).
#[metric(
    native(schema = 3, range = 1e-4..100.0),
    buckets = [0.005, 0.01, 0.02, 0.05],
    exemplars
)]
static DEMO_REQUEST_NATIVE_SECONDS: NativeHistogram = NativeHistogram::new();

/// Time the workers slept per fake request (its "work"), in seconds. Every worker thread
/// observes it, so it is a `ShardedHistogram`: each worker writes its own cells and a
/// scrape adds them up.
#[metric(buckets = [0.005, 0.01, 0.02])]
static DEMO_WORK_SECONDS: ShardedHistogram = ShardedHistogram::new();

/// A fixed calibration batch observed once at start: 1000 values, 1 ms to 1 s in steps of
/// 1 ms, so its count (1000), sum (500.5) and median (about 0.5) are known to scrapers.
#[metric(native(schema = 3, range = 1e-4..100.0))]
static DEMO_CALIBRATION_SECONDS: NativeHistogram = NativeHistogram::new();

/// The number of values in the calibration batch.
const CALIBRATION_VALUES: u32 = 1000;

/// What a fake request asked for.
#[derive(LabelValue, Clone, Copy)]
enum Route {
    Home,
    Search,
    Checkout,
}

/// Fake requests by route (each route's series keeps a recent trace id as its exemplar).
#[metric(labels(route: Route), exemplars)]
static DEMO_ROUTE_REQUESTS_TOTAL: CounterFamily = CounterFamily::new();

/// Fake requests by user id and route: a label known only at run time. The workload has
/// 1,000 users and the family room for 100, so a scrape shows a full family, its overflow
/// series (every label `__overflow__`) and `promstatic_label_overflows_total`.
#[metric(labels(user: u64, route: Route), capacity = 100)]
static DEMO_USER_REQUESTS_TOTAL: DynCounterFamily = DynCounterFamily::new();

#[derive(Debug)]
struct Options {
    bind: SocketAddr,
    fallback: Fallback,
    port_file: Option<PathBuf>,
    file_sd: Option<PathBuf>,
    instance: Option<String>,
    job: Option<String>,
    /// Who may scrape: `--allow CIDR` (repeatable), and, in a demo built with the `auth` or
    /// `tls` feature, the credential and certificate files.
    allow: Vec<String>,
    basic_auth_file: Option<PathBuf>,
    bearer_token_file: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    client_ca: Option<PathBuf>,
    /// `--idle-timeout SECONDS`: how long a kept-alive connection may idle (0: closed after
    /// each response, so every scrape makes a new connection; the TLS rotation test uses it).
    idle_timeout: Option<Duration>,
}

const USAGE: &str = "usage: demo [--bind ADDR:PORT] [--fallback none|ephemeral] \
                     [--port-file PATH] [--file-sd PATH] [--instance NAME] [--job NAME] \
                     [--allow CIDR]... [--basic-auth-file PATH] [--bearer-token-file PATH] \
                     [--tls-cert PATH --tls-key PATH [--client-ca PATH]] [--idle-timeout SECONDS]";

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        bind: SocketAddr::from(([127, 0, 0, 1], promstatic::exporter::DEFAULT_PORT)),
        fallback: Fallback::None,
        port_file: None,
        file_sd: None,
        instance: None,
        job: None,
        allow: Vec::new(),
        basic_auth_file: None,
        bearer_token_file: None,
        tls_cert: None,
        tls_key: None,
        client_ca: None,
        idle_timeout: None,
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        let mut value = || {
            arguments
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--bind" => {
                let text = value()?;
                options.bind = text.parse().map_err(|error| {
                    format!("--bind {text}: {error} (expected e.g. 127.0.0.1:9464)")
                })?;
            }
            "--fallback" => {
                options.fallback = match value()?.as_str() {
                    "none" => Fallback::None,
                    "ephemeral" => Fallback::Ephemeral,
                    other => return Err(format!("--fallback {other}: expected none or ephemeral")),
                }
            }
            "--port-file" => options.port_file = Some(PathBuf::from(value()?)),
            "--file-sd" => options.file_sd = Some(PathBuf::from(value()?)),
            "--instance" => options.instance = Some(value()?),
            "--job" => options.job = Some(value()?),
            "--allow" => options.allow.push(value()?),
            "--basic-auth-file" => options.basic_auth_file = Some(PathBuf::from(value()?)),
            "--bearer-token-file" => options.bearer_token_file = Some(PathBuf::from(value()?)),
            "--tls-cert" => options.tls_cert = Some(PathBuf::from(value()?)),
            "--tls-key" => options.tls_key = Some(PathBuf::from(value()?)),
            "--client-ca" => options.client_ca = Some(PathBuf::from(value()?)),
            "--idle-timeout" => {
                let text = value()?;
                let seconds: u64 = text
                    .parse()
                    .map_err(|error| format!("--idle-timeout {text}: {error} (seconds)"))?;
                options.idle_timeout = Some(Duration::from_secs(seconds));
            }
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let needs = |set: bool, flag: &str, feature: &str, compiled: bool| {
        if set && !compiled {
            Err(format!(
                "{flag} needs the demo built with `--features {feature}`\n{USAGE}"
            ))
        } else {
            Ok(())
        }
    };
    needs(
        options.basic_auth_file.is_some(),
        "--basic-auth-file",
        "auth",
        cfg!(feature = "auth"),
    )?;
    needs(
        options.bearer_token_file.is_some(),
        "--bearer-token-file",
        "auth",
        cfg!(feature = "auth"),
    )?;
    let tls_flags =
        options.tls_cert.is_some() || options.tls_key.is_some() || options.client_ca.is_some();
    needs(
        tls_flags,
        "--tls-cert/--tls-key/--client-ca",
        "tls",
        cfg!(feature = "tls"),
    )?;
    if tls_flags && (options.tls_cert.is_none() || options.tls_key.is_none()) {
        return Err(format!("--tls-cert and --tls-key go together\n{USAGE}"));
    }
    Ok(options)
}

/// Applies the access flags (`--allow`, and the auth and TLS files in a demo built with
/// those features; `parse_options` refuses them otherwise).
fn access(options: &Options, mut exporter: Exporter) -> Exporter {
    if let Some(timeout) = options.idle_timeout {
        exporter = exporter.idle_timeout(timeout);
    }
    for cidr in &options.allow {
        exporter = exporter.allow(cidr);
    }
    #[cfg(feature = "auth")]
    {
        if let Some(path) = &options.basic_auth_file {
            exporter = exporter.basic_auth_file(path);
        }
        if let Some(path) = &options.bearer_token_file {
            exporter = exporter.bearer_token_file(path);
        }
    }
    #[cfg(feature = "tls")]
    {
        if let (Some(cert), Some(key)) = (&options.tls_cert, &options.tls_key) {
            exporter = exporter.tls(cert, key);
        }
        if let Some(ca) = &options.client_ca {
            exporter = exporter.tls_client_ca(ca);
        }
    }
    exporter
}

fn main() -> ExitCode {
    // Before anything is served, so every scrape sees the whole batch.
    for step in 1..=CALIBRATION_VALUES {
        DEMO_CALIBRATION_SECONDS.observe(f64::from(step) / 1000.0);
    }
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };

    // The listener reports through the `log` facade; show its lines on stderr.
    if log::set_logger(&STDERR_LOG).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }

    let signals = match Signals::install() {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("cannot install the SIGINT/SIGTERM handlers: {error}");
            return ExitCode::FAILURE;
        }
    };

    // The exporter: its own thread, so this program needs no async code of its own.
    let handle = start(&options);
    if let Some(address) = handle.as_ref().and_then(ExporterHandle::local_addr) {
        announce(address, options.tls_cert.is_some());
    }

    // The workload: a few threads doing fake requests until asked to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4u64)
        .map(|worker| {
            let stop = Arc::clone(&stop);
            thread::spawn(move || fake_requests(worker, &stop))
        })
        .collect();

    signals.wait();

    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        // A worker that panicked has printed its message already; shut down regardless.
        let _ = worker.join();
    }
    // Shutting down drops the listener's binding, which removes the port file and the
    // file_sd target, so Prometheus stops scraping this instance instead of alerting on it.
    if let Some(handle) = handle {
        handle.shutdown();
    }
    ExitCode::SUCCESS
}

/// Starts the exporter with the listener policy from the flags and waits for the listener's
/// outcome. `None` (and the diagnosis on stderr) when there is no endpoint; the workload runs
/// anyway.
fn start(options: &Options) -> Option<ExporterHandle> {
    let mut policy = BindPolicy::new(options.bind)
        .interactive()
        .fallback(options.fallback.clone());
    if let Some(path) = &options.port_file {
        policy = policy.port_file(path.clone());
    }
    if let Some(path) = &options.file_sd {
        policy = policy.file_sd(path.clone());
    }
    if let Some(instance) = &options.instance {
        policy = policy.instance(instance.clone());
    }
    if let Some(job) = &options.job {
        policy = policy.job(job.clone());
    }
    let exporter = access(
        options,
        Exporter::new()
            .listener_policy(policy)
            .build_info("demo", env!("CARGO_PKG_VERSION")),
    );
    let handle = match exporter.start() {
        Ok(handle) => handle,
        Err(error) => {
            eprintln!("metrics disabled: {error}");
            return None;
        }
    };
    // Retries run in the background; the budget bounds this wait.
    loop {
        match handle.state() {
            ListenerState::Retrying { reason } => {
                if !RETRY_REPORTED.swap(true, Ordering::Relaxed) {
                    eprintln!("{reason}; retrying");
                }
                thread::sleep(Duration::from_millis(25));
            }
            ListenerState::Fallback { address, reason } => {
                eprintln!("{reason}; using the fallback {address}");
                return Some(handle);
            }
            ListenerState::Bound { .. } => return Some(handle),
            ListenerState::Disabled { reason } => {
                eprintln!("{reason}");
                eprintln!("the demo keeps running with metrics disabled");
                return None;
            }
            other => {
                eprintln!("unexpected listener state {other:?}; metrics disabled");
                return None;
            }
        }
    }
}

static RETRY_REPORTED: AtomicBool = AtomicBool::new(false);

/// The smallest `log` backend: one line per record on stderr, prefixed with the level.
struct StderrLog;

static STDERR_LOG: StderrLog = StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            // Nothing useful to do if stderr is gone.
            let _ = writeln!(
                std::io::stderr().lock(),
                "{}: {}",
                record.level(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

/// Prints the one stdout line (the listener wrote the port file and file_sd target before
/// it reported the socket bound).
fn announce(address: SocketAddr, tls: bool) {
    // An unspecified address (0.0.0.0, ::) is reachable on loopback; name that in the URL.
    let mut reachable = address;
    if address.ip().is_unspecified() {
        reachable.set_ip(match address {
            SocketAddr::V4(_) => [127, 0, 0, 1].into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let mut stdout = std::io::stdout().lock();
    let scheme = if tls { "https" } else { "http" };
    let _ = writeln!(stdout, "serving metrics at {scheme}://{reachable}/metrics");
    let _ = stdout.flush();
}

/// The exemplar label of the fake trace ids.
const TRACE_ID: ExemplarName = ExemplarName::new("trace_id");

/// Fake trace ids are this, XOR the worker and request numbers: they look like real ones.
const DEMO_TRACE_BASE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;

fn fake_requests(worker: u64, stop: &AtomicBool) {
    let mut request = 0u64;
    while !stop.load(Ordering::Relaxed) {
        DEMO_BUSY_WORKERS.inc();
        let started = std::time::Instant::now();
        // "Work": a few milliseconds, varying by request.
        let work = Duration::from_millis(5 + (request + worker) % 20);
        thread::sleep(work);
        DEMO_WORK_SECONDS.observe_duration(work);
        // A fake trace id per request; a traced service would take the current span's id
        // (see `promstatic::exemplar`, "Trace ids from tracing and OpenTelemetry").
        let trace_id =
            TraceIdHex::new(DEMO_TRACE_BASE ^ (u128::from(worker) << 64 | u128::from(request)));
        let trace = [(TRACE_ID, trace_id.as_str())];
        // An exemplar can only be refused for its labels, which are valid here; a busy slot
        // just keeps another request's trace id.
        let _ = DEMO_REQUESTS_TOTAL.inc_with_exemplar(&trace);
        if (request + worker).is_multiple_of(97) {
            DEMO_ERRORS_TOTAL.inc();
        }
        let route = [Route::Home, Route::Search, Route::Checkout][(request % 3) as usize];
        let _ = DEMO_ROUTE_REQUESTS_TOTAL
            .with(route)
            .inc_with_exemplar(&trace);
        let user = (request * 7919 + worker * 31) % 1000;
        DEMO_USER_REQUESTS_TOTAL.with((user, route)).inc();
        let seconds = started.elapsed().as_secs_f64();
        let _ = DEMO_REQUEST_DURATION_SECONDS.observe_with_exemplar(seconds, &trace);
        let _ = DEMO_REQUEST_NATIVE_SECONDS.observe_with_exemplar(seconds, &trace);
        DEMO_LAST_REQUEST_SECONDS.set(seconds);
        DEMO_BUSY_WORKERS.dec();
        request += 1;
    }
}

/// SIGINT (Ctrl-C) and SIGTERM handlers, installed before the URL is announced so that a
/// signal sent right after it is never missed.
#[cfg(unix)]
struct Signals {
    runtime: tokio::runtime::Runtime,
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // Registering needs the runtime's signal driver.
        let _context = runtime.enter();
        let interrupt = signal(SignalKind::interrupt())?;
        let terminate = signal(SignalKind::terminate())?;
        drop(_context);
        Ok(Signals {
            runtime,
            interrupt,
            terminate,
        })
    }

    /// Blocks until one of the signals arrives.
    fn wait(mut self) {
        self.runtime.block_on(async {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        });
    }
}

/// Elsewhere: Ctrl-C only.
#[cfg(not(unix))]
struct Signals {
    runtime: tokio::runtime::Runtime,
}

#[cfg(not(unix))]
impl Signals {
    fn install() -> std::io::Result<Signals> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Signals { runtime })
    }

    fn wait(self) {
        self.runtime.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
        });
    }
}
