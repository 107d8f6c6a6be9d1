//! The metrics listener: a bind policy that never shares a port, retries with bounded
//! backoff, names who holds the port, and falls back to a port it reports.
//!
//! # Why this exists
//!
//! "Address already in use" on restart is rarely TIME_WAIT: std, tokio and mio set
//! `SO_REUSEADDR` on Unix, and with it TIME_WAIT leftovers do not block a new listener. What
//! does is a live holder: the previous instance still exiting (a crashing process writing a
//! large core dump holds its port for seconds), a child that inherited the socket, another
//! service on the port, or an outgoing connection using the port as its source port. Setting
//! `SO_REUSEPORT` "fixes" restarts by letting two live processes listen at once, splitting
//! scrapes between them and hiding a real conflict; this module never sets it. Instead it finds
//! out who holds the port and acts on that.
//!
//! # Where the listener comes from, in order
//!
//! 1. A listener handed in by the host ([`BindPolicy::listener`]; a tokio listener converts
//!    with `into_std()`).
//! 2. systemd socket activation (`LISTEN_PID` = our pid, `LISTEN_FDS`, `LISTEN_FDNAMES`): only
//!    the fd named [`BindPolicy::activation_name`], or a single unnamed one when the host
//!    opts in ([`BindPolicy::adopt_unnamed_activation_socket`]); any other passed socket is
//!    the application's and is left untouched. The fd must be an open, listening TCP socket;
//!    this path never retries.
//! 3. The configured address, with retries (below).
//! 4. The [`Fallback`], on the same IP.
//! 5. Otherwise [`State::Disabled`]: the program keeps running, metrics keep recording, and
//!    [`Binding::state`] says why.
//!
//! # What happens on each error
//!
//! | error | diagnosis | action |
//! |-------|-----------|--------|
//! | `EADDRINUSE` | held by this process | error: no retry, no fallback |
//! | | holder exiting (core dump, `PF_EXITING`) | retry, budget raised to 30 s |
//! | | same executable, alive | retry within the budget, then fallback |
//! | | a different program | fallback at once |
//! | | holder not visible (other uid / pid namespace) | retry, then fallback; uid reported |
//! | | a socket bound without `listen()`, its process found through the kernel's bound-inactive dump (Linux 6.8+) | as for a listener of that process (the rows above), with the socket reported |
//! | | a socket bound without `listen()` whose process is not visible, or nothing in `/proc/net/tcp*` at all on a kernel without that dump: "bound by some process but not listening" | retry (it may be about to listen), then fallback |
//! | | no LISTEN socket (TIME_WAIT, outgoing connection) | retry, then fallback; warns when the port is inside `ip_local_port_range` |
//! | `EACCES`, `EPERM` | — | no retry; fallback to ports ≥ 1024 only |
//! | `EADDRNOTAVAIL` | — | disabled at once (no port fixes an address); lists local addresses |
//! | `EAFNOSUPPORT` on `[::]` | — | `0.0.0.0` on the same port instead |
//! | `EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM` | — | retry within the budget, then disabled |
//! | anything else | — | disabled |
//!
//! Retries back off exponentially with equal jitter (50 ms, ×2, capped at 1 s) inside a total
//! budget: 10 s by default, 3 s for [`BindPolicy::interactive`] programs, 30 s while the
//! holder is verifiably dying. The first attempt runs on the caller's thread; retries run on
//! a background thread, so [`open`] never blocks beyond one attempt and its diagnosis (a scan
//! of `/proc`: milliseconds, growing with the number of processes and open files; nothing
//! that waits on the holder, not even for a process writing a core dump);
//! [`Binding::wait`] blocks only when asked to.
//!
//! Events (bound address, retries, diagnosis, warnings) go through the `log` facade.
//!
//! # Advertisement
//!
//! A port chosen by the fallback or by the OS is only useful if it is reported: besides the
//! API ([`Binding::local_addr`]) and the log line, the policy can write a port file
//! ([`BindPolicy::port_file`]) and a Prometheus `file_sd` target file
//! ([`BindPolicy::file_sd`]). Each instance of a fleet writes its own file into the directory
//! that the scrape config watches (`files: ['/run/app/targets/*.json']`).
//!
//! * Every write is atomic (a temporary file in the same directory, flushed, renamed over the
//!   target): a reader sees the old file or the new one, never part of one.
//! * A restart that lands on a new port rewrites the file; Prometheus follows at its next
//!   file_sd refresh (it also watches the files with inotify), and applies target changes at
//!   most every 5 s.
//! * A file left by a crash (no chance to clean up) keeps pointing at the dead port, shown as
//!   a down target, until the next start of the same instance overwrites it.
//! * Dropping the [`Binding`] (the exporter does it on shutdown) removes both files, if they
//!   still hold what this instance wrote, so Prometheus stops scraping a stopped instance
//!   instead of alerting on it. Removal rather than an empty target list: nothing is left to
//!   clean up in the watched directory, and Prometheus drops the targets of a removed file.
//!   A program that exits without dropping it (`std::process::exit`, a signal without a
//!   handler) leaves the file like a crash does.
//!
//! # Instance identity
//!
//! Prometheus merges the series of targets whose labels are equal, so every live instance
//! must have its own `instance` label. The `file_sd` target carries labels only when asked:
//!
//! * **Default: no `instance` label.** Prometheus then sets `instance` to the scraped
//!   address, its own convention. Two live listeners never share an address (this module
//!   never sets `SO_REUSEPORT`), so the identity is unique; the trade-off is that it changes
//!   when a restart or a fallback changes the port, and the series start anew.
//! * **A name ([`BindPolicy::instance`]):** kept across restarts and fallbacks, so the series
//!   continue on a new port. Before binding, the name is claimed host-wide with an `flock`ed
//!   lock file ([`BindPolicy::claim_dir`]), held until the [`Binding`] is dropped and released
//!   by the kernel however the process dies. A live instance already holding the name makes
//!   this one advertise `NAME-2` (or the next free suffix up to `NAME-64`) with a warning
//!   naming the holder's pid: two live instances never share a name, but a suffixed name is
//!   not stable across restarts, so give each instance its own name where that matters. If no
//!   claim can be made (the directory is unusable), the default identity is used, with a
//!   warning. A lock rather than a pid file (stale after a crash, pids are reused) or a probe
//!   of the holder's address (two instances starting at once both see nobody; a hung holder
//!   does not answer).
//! * **No `job` label** unless [`BindPolicy::job`] asks for one: Prometheus lets a target's
//!   labels win over the scrape config, and the `job_name` belongs to the scrape config.
//!
//! ```no_run
//! use promstatic::listener::{self, BindPolicy, Fallback};
//!
//! // Worker 3 of a fleet: any free port, advertised in the watched directory as "worker-3".
//! let binding = listener::open(
//!     BindPolicy::new("127.0.0.1:0".parse().unwrap())
//!         .fallback(Fallback::Ephemeral)
//!         .file_sd("/run/app/targets/worker-3.json".into())
//!         .instance("worker-3"),
//! );
//! # drop(binding);
//! ```
//!
//! # Platforms
//!
//! * Linux: everything above.
//! * Other Unix systems: the same socket construction, retries and fallback; the diagnosis
//!   is [`Holder::Unknown`] (it reads `/proc`), treated like an invisible holder, and socket
//!   activation is not looked for.
//! * Windows: not supported yet (the module uses Unix errno values and `getifaddrs`, and
//!   would need `SO_EXCLUSIVEADDRUSE`); building the `listener` feature there is a compile
//!   error that says so.
//!
//! The module calls the OS only through the crate's private `sys` layer (`src/sys/unix.rs`
//! for errno values, `getifaddrs`, `gethostname` and the descriptor checks of socket
//! activation; `src/sys/procfs.rs` for the `/proc/PID/stat` format), so a port is a new
//! `src/sys/` file rather than edits here. Socket options go through `socket2`, which
//! documents each one per OS.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use promstatic::listener::{self, BindPolicy, Fallback};
//!
//! let binding = listener::open(
//!     BindPolicy::new("127.0.0.1:9464".parse().unwrap())
//!         .fallback(Fallback::Ephemeral)
//!         .port_file("/run/myapp/metrics.port".into()),
//! );
//! // ... start the program; later, on the exporter's thread:
//! match binding.wait(Some(Duration::from_secs(30))) {
//!     Ok(listener) => { /* tokio::net::TcpListener::from_std(listener) */ }
//!     Err(error) => log::error!("metrics disabled: {error}"),
//! }
//! ```

// systemd socket activation: Linux only (and socket2's SO_ACCEPTCONN check is Linux-family only).
#[cfg(any(target_os = "linux", target_os = "android"))]
mod activation;
mod backoff;
mod diagnose;
mod engine;
mod error;
mod identity;
mod report;
mod socket;

use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub use self::diagnose::{Diagnosis, Holder, Process};
pub use self::error::ListenerError;
pub use self::socket::Step;

/// Retry budget for servers.
pub const SERVER_BUDGET: Duration = Duration::from_secs(10);
/// Retry budget for interactive programs.
pub const INTERACTIVE_BUDGET: Duration = Duration::from_secs(3);
/// Retry budget while the holder is verifiably exiting.
pub const DYING_BUDGET: Duration = Duration::from_secs(30);
/// Default `listen()` backlog. Scrapes are few, but a burst of connections (hundreds of
/// hostile clients at once) must wait in the kernel's queue until the exporter accepts them
/// and applies its connection policy: when the queue is full, Linux drops new SYNs and a
/// legitimate scraper caught in the burst waits a whole SYN retransmission (1 s). A queued
/// connection costs only kernel memory; Linux caps the value at `net.core.somaxconn`.
pub const DEFAULT_BACKLOG: i32 = 1024;

/// What to bind when the configured address cannot be had. Always on the configured IP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// No fallback: the listener is disabled.
    None,
    /// The first free port of this range, tried in order once each (the configured port is
    /// skipped, and so are ports below 1024 after a permission error).
    Ports(RangeInclusive<u16>),
    /// A port chosen by the OS (port 0).
    Ephemeral,
}

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fallback::None => f.write_str("none"),
            Fallback::Ports(range) => write!(f, "ports {}-{}", range.start(), range.end()),
            Fallback::Ephemeral => f.write_str("a port chosen by the OS"),
        }
    }
}

/// How to obtain the metrics listener; built with [`BindPolicy::new`] and passed to [`open`].
#[derive(Debug)]
pub struct BindPolicy {
    addr: SocketAddr,
    budget: Option<Duration>,
    interactive: bool,
    fallback: Fallback,
    port_file: Option<PathBuf>,
    file_sd: Option<PathBuf>,
    job: Option<String>,
    instance: Option<String>,
    claim_dir: Option<PathBuf>,
    socket_activation: bool,
    activation_name: String,
    adopt_unnamed: bool,
    host_listener: Option<TcpListener>,
    backlog: i32,
    dual_stack: bool,
}

impl BindPolicy {
    /// A server policy for `addr`: 10 s retry budget, no fallback, socket activation on,
    /// `[::]` dual-stack.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            budget: None,
            interactive: false,
            fallback: Fallback::None,
            port_file: None,
            file_sd: None,
            job: None,
            instance: None,
            claim_dir: None,
            socket_activation: true,
            activation_name: "metrics".into(),
            adopt_unnamed: false,
            host_listener: None,
            backlog: DEFAULT_BACKLOG,
            dual_stack: true,
        }
    }

    /// An interactive program (a game, a CLI): 3 s budget instead of 10 s, unless
    /// [`budget`](Self::budget) says otherwise.
    pub fn interactive(mut self) -> Self {
        self.interactive = true;
        self
    }

    /// The total retry budget, measured from the first attempt. While the holder is
    /// verifiably exiting, the budget is raised to at least [`DYING_BUDGET`].
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = Some(budget);
        self
    }

    /// What to bind when the configured address cannot be had.
    pub fn fallback(mut self, fallback: Fallback) -> Self {
        self.fallback = fallback;
        self
    }

    /// Writes the bound port (decimal and a newline) to `path`, atomically, once bound;
    /// removed when the [`Binding`] is dropped (see [Advertisement](crate::listener#advertisement)).
    pub fn port_file(mut self, path: PathBuf) -> Self {
        self.port_file = Some(path);
        self
    }

    /// Writes a Prometheus `file_sd` target file to `path`, atomically, once bound; removed
    /// when the [`Binding`] is dropped. The target has no labels unless asked for with
    /// [`instance`](Self::instance) and [`job`](Self::job); see
    /// [Advertisement](crate::listener#advertisement).
    pub fn file_sd(mut self, path: PathBuf) -> Self {
        self.file_sd = Some(path);
        self
    }

    /// A `job` label in the `file_sd` target. Default: none, so the `job_name` of the scrape
    /// config that reads the file applies; a `job` label here would override it silently.
    pub fn job(mut self, job: impl Into<String>) -> Self {
        self.job = Some(job.into());
        self
    }

    /// The `instance` label of the `file_sd` target, kept across restarts and fallbacks.
    /// Default: none, so Prometheus uses the scraped address, which is unique among live
    /// instances but changes with the port. A name is claimed host-wide before binding: if a
    /// live instance holds it, this one advertises `NAME-2` (or the next free suffix) and
    /// logs a warning; see [Instance identity](crate::listener#instance-identity).
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// The directory of instance-name claims (default: `$XDG_RUNTIME_DIR/promstatic-instances`,
    /// or `<temp dir>/promstatic-instances-<euid>`; it must be a directory owned by the
    /// effective uid). Only instances using the same directory see each other's claims.
    pub fn claim_dir(mut self, dir: PathBuf) -> Self {
        self.claim_dir = Some(dir);
        self
    }

    /// Whether to adopt a socket passed by systemd (default `true`). Adopting removes the
    /// `LISTEN_*` variables from the environment: call [`open`] before starting threads
    /// that read the environment, or turn this off.
    pub fn socket_activation(mut self, enabled: bool) -> Self {
        self.socket_activation = enabled;
        self
    }

    /// The `FileDescriptorName=` of the passed socket to adopt (default `metrics`). A passed
    /// socket with another name, or none, is the application's and is left alone.
    pub fn activation_name(mut self, name: impl Into<String>) -> Self {
        self.activation_name = name.into();
        self
    }

    /// Also adopt a socket passed alone whatever its name (default `false`): for a unit
    /// whose only socket is the metrics socket and that sets no `FileDescriptorName=`.
    /// Without this, such a socket could as well be the application's own (its HTTP port on
    /// fd 3), which the exporter must never answer on or close.
    pub fn adopt_unnamed_activation_socket(mut self, adopt: bool) -> Self {
        self.adopt_unnamed = adopt;
        self
    }

    /// A listener the host already has (for tokio: `listener.into_std()`); used as is (made
    /// non-blocking), before socket activation and binding.
    pub fn listener(mut self, listener: TcpListener) -> Self {
        self.host_listener = Some(listener);
        self
    }

    /// The `listen()` backlog (default [`DEFAULT_BACKLOG`]).
    pub fn backlog(mut self, backlog: i32) -> Self {
        self.backlog = backlog;
        self
    }

    /// For `[::]`: whether to accept IPv4 too (`IPV6_V6ONLY` off, the default). Set
    /// explicitly because the OS default differs (Linux dual-stack, BSD and Windows not).
    pub fn dual_stack(mut self, dual_stack: bool) -> Self {
        self.dual_stack = dual_stack;
        self
    }

    fn effective_budget(&self) -> Duration {
        self.budget.unwrap_or(if self.interactive {
            INTERACTIVE_BUDGET
        } else {
            SERVER_BUDGET
        })
    }
}

/// Where a bound listener came from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Source {
    /// Handed in by the host ([`BindPolicy::listener`]).
    Host,
    /// Passed by systemd socket activation.
    SocketActivation,
    /// The configured address.
    Configured,
    /// The fallback, because the configured address failed with `reason`.
    Fallback {
        /// Why the configured address was not used.
        reason: Box<ListenerError>,
    },
}

/// A snapshot of the listener's progress; see [`Binding::state`].
///
/// The exporter reports its endpoint with its own type, `exporter::ListenerState`, which
/// adds what happens after the bind (the server stopping, the host's shutdown) and keeps
/// this module's [`ListenerError`] inside, typed; its documentation says why there are two.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum State {
    /// The configured address is being retried in the background.
    Retrying {
        /// Attempts made so far.
        attempt: u32,
        /// The last failure, with its diagnosis.
        last_error: Box<ListenerError>,
    },
    /// Listening.
    Bound {
        /// The bound address (the real port when port 0 was asked for).
        addr: SocketAddr,
        /// Where the listener came from.
        source: Source,
        /// Bind attempts made (0 for a host or activated listener).
        attempts: u32,
    },
    /// No listener: the program runs on without serving metrics.
    Disabled {
        /// Why.
        reason: Box<ListenerError>,
    },
}

impl State {
    fn is_final(&self) -> bool {
        !matches!(self, State::Retrying { .. })
    }
}

/// The handle returned by [`open`]: query the state, or wait for the listener.
///
/// Dropping it stops any retry in progress (within one backoff step), closes a listener
/// that was never handed over, and withdraws the advertisement (removes the port file and
/// the `file_sd` file, releases the instance name): keep it for as long as you serve.
#[derive(Debug)]
pub struct Binding {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    inner: Mutex<Inner>,
    changed: Condvar,
    cancelled: AtomicBool,
}

struct Inner {
    state: State,
    listener: Option<TcpListener>,
    handed_over: bool,
    advertisement: Option<report::Advertisement>,
    /// Called once, when the state becomes final; see [`Binding::on_settled`].
    on_settled: Option<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("state", &self.state)
            .field("listener", &self.listener)
            .field("handed_over", &self.handed_over)
            .field("advertisement", &self.advertisement)
            .field("on_settled", &self.on_settled.is_some())
            .finish()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding this lock; recover the data if something ever did.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, state: State, listener: Option<TcpListener>) {
        let mut inner = self.lock();
        inner.state = state;
        // Checked under the lock that `Binding::cancel` sets the flag under: a listener
        // bound after a cancellation is closed here (when `listener` drops), never kept.
        if listener.is_some() && !self.cancelled.load(Ordering::Relaxed) {
            inner.listener = listener;
        }
        let settled = if inner.state.is_final() {
            inner.on_settled.take()
        } else {
            None
        };
        drop(inner);
        self.changed.notify_all();
        // Outside the lock: the callback may look at the state.
        if let Some(settled) = settled {
            settled();
        }
    }

    /// Keeps `advertisement` until the binding is dropped; withdraws it at once if the
    /// binding is already gone (checked under the lock that `Binding::drop` takes).
    fn advertise(&self, advertisement: report::Advertisement) {
        let mut inner = self.lock();
        if self.cancelled.load(Ordering::Relaxed) {
            drop(inner);
            advertisement.withdraw();
        } else {
            inner.advertisement = Some(advertisement);
        }
    }
}

impl Binding {
    /// Stops the retries and closes the listener if it was not handed over (the exporter's
    /// shutdown: the port must be free whether or not its server ever took the socket).
    /// Returns whether the listener had been handed over by [`Binding::wait`].
    pub(crate) fn cancel(&self) -> bool {
        let mut inner = self.shared.lock();
        self.shared.cancelled.store(true, Ordering::Relaxed);
        let listener = inner.listener.take();
        let handed_over = inner.handed_over;
        drop(inner);
        self.shared.changed.notify_all();
        drop(listener);
        handed_over
    }

    /// The current state; never waits for an outcome.
    pub fn state(&self) -> State {
        self.shared.lock().state.clone()
    }

    /// The bound address, once bound.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self.shared.lock().state {
            State::Bound { addr, .. } => Some(addr),
            _ => None,
        }
    }

    /// Calls `callback` once, as soon as the outcome is final (bound, or disabled), on the
    /// thread that settles it; at once, on this thread, if it already is. For callers that
    /// cannot block in [`Binding::wait`] (an async task wakes itself with it). A later call
    /// replaces a callback that has not run yet.
    pub fn on_settled(&self, callback: impl FnOnce() + Send + 'static) {
        let mut inner = self.shared.lock();
        if inner.state.is_final() {
            drop(inner);
            callback();
        } else {
            inner.on_settled = Some(Box::new(callback));
        }
    }

    /// Blocks until a final outcome (or `timeout`), then hands over the non-blocking
    /// listener. Only the first successful call gets it; later calls return
    /// [`ListenerError::AlreadyTaken`]. A timeout leaves the retries running.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<TcpListener, ListenerError> {
        let started = Instant::now();
        let mut inner = self.shared.lock();
        while !inner.state.is_final() {
            inner = match timeout {
                None => self
                    .shared
                    .changed
                    .wait(inner)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(timeout) => {
                    let Some(left) = timeout
                        .checked_sub(started.elapsed())
                        .filter(|left| !left.is_zero())
                    else {
                        return Err(ListenerError::WaitTimedOut {
                            waited: started.elapsed(),
                        });
                    };
                    self.shared
                        .changed
                        .wait_timeout(inner, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        if let State::Disabled { reason } = &inner.state {
            return Err((**reason).clone());
        }
        match inner.listener.take() {
            Some(listener) => {
                inner.handed_over = true;
                Ok(listener)
            }
            None => Err(ListenerError::AlreadyTaken),
        }
    }
}

impl Drop for Binding {
    fn drop(&mut self) {
        self.shared.cancelled.store(true, Ordering::Relaxed);
        // Take the lock so a retry thread between its check and its wait cannot miss this,
        // and so that an advertisement is either taken here or withdrawn by `advertise`.
        let advertisement = self.shared.lock().advertisement.take();
        self.shared.changed.notify_all();
        if let Some(advertisement) = advertisement {
            advertisement.withdraw();
        }
    }
}

/// Obtains the metrics listener according to `policy`. Never panics and never blocks beyond
/// the first bind attempt; see the [module docs](self) for the order and the policy.
///
/// With socket activation on (the default), call this before the program starts threads
/// that read the environment: adopting the socket removes the `LISTEN_*` variables.
pub fn open(policy: BindPolicy) -> Binding {
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner {
            // Placeholder until `engine::start` publishes the first attempt's outcome,
            // which it does before `open` returns: callers never see it.
            state: State::Retrying {
                attempt: 0,
                last_error: Box::new(ListenerError::WaitTimedOut {
                    waited: Duration::ZERO,
                }),
            },
            listener: None,
            handed_over: false,
            advertisement: None,
            on_settled: None,
        }),
        changed: Condvar::new(),
        cancelled: AtomicBool::new(false),
    });
    engine::start(policy, Arc::clone(&shared));
    Binding { shared }
}
