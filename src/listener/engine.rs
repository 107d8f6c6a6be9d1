//! The decision loop: where the listener comes from, and what each failure leads to.
//!
//! The loop talks to the outside through [`Env`] (build a socket, diagnose a port) and
//! [`Clock`] (elapsed time, interruptible sleep), so its decisions are tested with scripted
//! failures and virtual time; the integration tests exercise the real ones.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[cfg(any(target_os = "linux", target_os = "android"))]
use super::activation;
use super::backoff::{self, Backoff};
use super::diagnose::{self, Diagnosis, Holder};
use super::socket::{self, BuildError, Options};
use super::{
    BindPolicy, DYING_BUDGET, Fallback, ListenerError, Shared, Source, State, identity, report,
};
use crate::sys;

/// What the loop needs from the system.
pub(super) struct Env {
    pub(super) build: Box<dyn FnMut(SocketAddr, Options) -> Result<TcpListener, BuildError> + Send>,
    pub(super) diagnose: Box<dyn FnMut(SocketAddr, bool) -> Diagnosis + Send>,
    pub(super) local_addresses: fn() -> Vec<IpAddr>,
}

impl Env {
    fn system() -> Self {
        Self {
            build: Box::new(socket::build),
            diagnose: Box::new(diagnose::diagnose),
            local_addresses: sys::local_addresses,
        }
    }
}

/// Time as the loop sees it.
pub(super) trait Clock {
    /// Time since the first attempt started.
    fn elapsed(&self) -> Duration;
    /// Sleeps `delay`; `false` when the binding was dropped meanwhile.
    fn sleep(&mut self, delay: Duration) -> bool;
}

/// The result of one attempt on the configured address.
#[derive(Debug)]
enum Verdict {
    Bound(TcpListener),
    Retry {
        error: BuildError,
        diagnosis: Option<Diagnosis>,
        dying: bool,
        then: Exhausted,
    },
    Fallback {
        error: BuildError,
        diagnosis: Option<Diagnosis>,
        privileged_only: bool,
    },
    Fatal {
        error: BuildError,
        diagnosis: Option<Diagnosis>,
    },
}

/// What to do when the budget runs out.
#[derive(Debug, Clone, Copy)]
enum Exhausted {
    Fallback,
    Disable,
}

/// The end of a run.
#[derive(Debug)]
pub(super) enum Outcome {
    Bound {
        listener: TcpListener,
        addr: SocketAddr,
        source: Source,
        attempts: u32,
    },
    Disabled(ListenerError),
    Cancelled,
}

/// Binding the configured address, then the fallback.
pub(super) struct Run {
    addr: SocketAddr,
    options: Options,
    fallback: Fallback,
    backoff: Backoff,
    attempts: u32,
    env: Env,
}

impl Run {
    pub(super) fn new(
        addr: SocketAddr,
        options: Options,
        fallback: Fallback,
        budget: Duration,
        env: Env,
    ) -> Self {
        Self {
            addr,
            options,
            fallback,
            backoff: Backoff::new(budget, backoff::seed()),
            attempts: 0,
            env,
        }
    }

    /// One attempt on the configured address (switching `[::]` to `0.0.0.0` on
    /// `EAFNOSUPPORT`), classified.
    fn attempt(&mut self) -> Verdict {
        self.attempts += 1;
        loop {
            let error = match (self.env.build)(self.addr, self.options) {
                Ok(listener) => return Verdict::Bound(listener),
                Err(error) => error,
            };
            // Raw errno values, named by `sys` for this target (their numbers differ between
            // Unix systems); `io::ErrorKind` has no kind for several of them.
            let code = error.error.raw_os_error();
            if code == Some(sys::EAFNOSUPPORT) && is_v6_wildcard(self.addr) {
                let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), self.addr.port());
                log::warn!(
                    "IPv6 is not supported here ({}); listening on {v4} instead of {}",
                    error.error,
                    self.addr
                );
                self.addr = v4;
                continue;
            }
            return self.classify(error);
        }
    }

    fn classify(&mut self, error: BuildError) -> Verdict {
        match error.error.raw_os_error() {
            Some(sys::EADDRINUSE) => {
                let diagnosis = (self.env.diagnose)(self.addr, self.options.dual_stack);
                if let (Holder::NoListener { .. }, Some((low, high))) =
                    (&diagnosis.holder, diagnosis.ephemeral_range)
                {
                    log::warn!(
                        "port {} lies inside net.ipv4.ip_local_port_range ({low}-{high}): outgoing \
                         connections may take it as their source port",
                        self.addr.port()
                    );
                }
                let diagnosis = Some(diagnosis);
                match diagnosis.as_ref().map(|diagnosis| &diagnosis.holder) {
                    Some(Holder::ThisProcess) => Verdict::Fatal { error, diagnosis },
                    Some(Holder::OtherProgram(_)) => Verdict::Fallback {
                        error,
                        diagnosis,
                        privileged_only: false,
                    },
                    Some(Holder::Dying(_)) => Verdict::Retry {
                        error,
                        diagnosis,
                        dying: true,
                        then: Exhausted::Fallback,
                    },
                    _ => Verdict::Retry {
                        error,
                        diagnosis,
                        dying: false,
                        then: Exhausted::Fallback,
                    },
                }
            }
            Some(sys::EACCES | sys::EPERM) => Verdict::Fallback {
                error,
                diagnosis: None,
                privileged_only: true,
            },
            Some(sys::EMFILE | sys::ENFILE | sys::ENOBUFS | sys::ENOMEM) => Verdict::Retry {
                error,
                diagnosis: None,
                dying: false,
                then: Exhausted::Disable,
            },
            _ => Verdict::Fatal {
                error,
                diagnosis: None,
            },
        }
    }

    fn error(
        &self,
        error: BuildError,
        diagnosis: Option<Diagnosis>,
        elapsed: Duration,
        gave_up: bool,
    ) -> ListenerError {
        let local_addresses = if error.error.raw_os_error() == Some(sys::EADDRNOTAVAIL) {
            (self.env.local_addresses)()
        } else {
            Vec::new()
        };
        ListenerError::Bind {
            addr: self.addr,
            step: error.step,
            error: Arc::new(error.error),
            diagnosis: diagnosis.map(Box::new),
            attempts: self.attempts,
            elapsed,
            gave_up,
            local_addresses,
        }
    }

    /// Follows `verdict` to an outcome, sleeping and retrying as the policy says;
    /// `on_retry` receives each `Retrying` state.
    fn drive(
        &mut self,
        mut verdict: Verdict,
        clock: &mut dyn Clock,
        on_retry: &mut dyn FnMut(State),
    ) -> Outcome {
        loop {
            let delay = match self.step(verdict, clock.elapsed(), on_retry) {
                Ok(delay) => delay,
                Err(outcome) => return outcome,
            };
            if !clock.sleep(delay) {
                return Outcome::Cancelled;
            }
            verdict = self.attempt();
        }
    }

    /// Sleeps `delay`, then goes on as [`drive`](Self::drive) (after a [`step`](Self::step)
    /// that asked for a retry).
    fn resume(
        &mut self,
        delay: Duration,
        clock: &mut dyn Clock,
        on_retry: &mut dyn FnMut(State),
    ) -> Outcome {
        if !clock.sleep(delay) {
            return Outcome::Cancelled;
        }
        let verdict = self.attempt();
        self.drive(verdict, clock, on_retry)
    }

    /// Acts on one verdict: `Ok(delay)` to retry after `delay` (the `Retrying` state has
    /// been passed to `on_retry`), or the final outcome.
    fn step(
        &mut self,
        verdict: Verdict,
        elapsed: Duration,
        on_retry: &mut dyn FnMut(State),
    ) -> Result<Duration, Outcome> {
        match verdict {
            Verdict::Bound(listener) => {
                let addr = listener.local_addr().unwrap_or(self.addr);
                Err(Outcome::Bound {
                    listener,
                    addr,
                    source: Source::Configured,
                    attempts: self.attempts,
                })
            }
            Verdict::Fatal { error, diagnosis } => Err(Outcome::Disabled(
                self.error(error, diagnosis, elapsed, true),
            )),
            Verdict::Fallback {
                error,
                diagnosis,
                privileged_only,
            } => {
                let primary = self.error(error, diagnosis, elapsed, true);
                Err(self.fall_back(primary, privileged_only))
            }
            Verdict::Retry {
                error,
                diagnosis,
                dying,
                then,
            } => {
                if dying {
                    self.backoff.extend_to(DYING_BUDGET);
                }
                let mut failure = self.error(error, diagnosis, elapsed, false);
                let Some(delay) = self.backoff.next_delay(elapsed) else {
                    if let ListenerError::Bind { gave_up, .. } = &mut failure {
                        *gave_up = true;
                    }
                    return Err(match then {
                        Exhausted::Fallback => self.fall_back(failure, false),
                        Exhausted::Disable => Outcome::Disabled(failure),
                    });
                };
                if self.attempts == 1 {
                    log::warn!("{failure}");
                } else {
                    log::debug!("{failure}; next attempt in {delay:?}");
                }
                on_retry(State::Retrying {
                    attempt: self.attempts,
                    last_error: Box::new(failure),
                });
                Ok(delay)
            }
        }
    }

    /// Tries the fallback on the configured IP after `primary` failed.
    fn fall_back(&mut self, primary: ListenerError, privileged_only: bool) -> Outcome {
        let ip = self.addr.ip();
        let ports: Vec<u16> = match &self.fallback {
            Fallback::None => return Outcome::Disabled(primary),
            Fallback::Ports(range) => range
                .clone()
                .filter(|&port| port != self.addr.port() && (!privileged_only || port >= 1024))
                .collect(),
            Fallback::Ephemeral => vec![0],
        };
        let mut last = None;
        for port in ports {
            match (self.env.build)(SocketAddr::new(ip, port), self.options) {
                Ok(listener) => {
                    let addr = listener.local_addr().unwrap_or(SocketAddr::new(ip, port));
                    log::warn!("using the fallback address {addr}: {primary}");
                    let source = Source::Fallback {
                        reason: Box::new(primary),
                    };
                    return Outcome::Bound {
                        listener,
                        addr,
                        source,
                        attempts: self.attempts,
                    };
                }
                Err(failure) => {
                    let try_next = matches!(
                        failure.error.raw_os_error(),
                        Some(sys::EADDRINUSE | sys::EACCES)
                    );
                    last = Some(failure.error);
                    if !try_next {
                        break;
                    }
                }
            }
        }
        let error = last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no usable port in the range")
        });
        Outcome::Disabled(ListenerError::Fallback {
            primary: Box::new(primary),
            fallback: self.fallback.clone(),
            error: Arc::new(error),
        })
    }
}

fn is_v6_wildcard(addr: SocketAddr) -> bool {
    matches!(addr.ip(), IpAddr::V6(v6) if v6.is_unspecified())
}

/// Files to write once bound, and the claim on the instance name they will carry.
#[derive(Debug)]
struct Reports {
    port_file: Option<std::path::PathBuf>,
    file_sd: Option<report::FileSd>,
}

impl Reports {
    /// Takes the files to write from `policy` and claims the instance name, if one is given
    /// and there is a `file_sd` file to carry it (see [`identity`]).
    fn take(policy: &mut BindPolicy) -> Self {
        let file_sd = policy.file_sd.take().map(|path| {
            let instance = policy.instance.take().and_then(|wanted| {
                let dir = policy
                    .claim_dir
                    .take()
                    .unwrap_or_else(identity::default_dir);
                identity::claim_or_warn(&dir, &wanted)
            });
            report::FileSd {
                path,
                job: policy.job.take(),
                instance,
            }
        });
        Reports {
            port_file: policy.port_file.take(),
            file_sd,
        }
    }

    /// The identity the `file_sd` target will carry, for the log line.
    fn describe(&self, addr: SocketAddr) -> String {
        match &self.file_sd {
            None => String::new(),
            Some(file_sd) => match &file_sd.instance {
                Some(claim) => format!(", advertised as instance {:?}", claim.name()),
                None => format!(", advertised as {}", report::scraped_address(addr)),
            },
        }
    }
}

fn finish(shared: &Shared, reports: Reports, outcome: Outcome) {
    match outcome {
        Outcome::Bound {
            listener,
            addr,
            source,
            attempts,
        } => {
            if shared.cancelled.load(Ordering::Relaxed) {
                return;
            }
            let identity = reports.describe(addr);
            shared.advertise(report::Advertisement::write(
                reports.port_file,
                reports.file_sd,
                addr,
            ));
            log::info!(
                "metrics listener bound to {addr} ({}){identity}",
                describe(&source)
            );
            shared.publish(
                State::Bound {
                    addr,
                    source,
                    attempts,
                },
                Some(listener),
            );
        }
        Outcome::Disabled(reason) => {
            log::error!("metrics listener disabled: {reason}");
            shared.publish(
                State::Disabled {
                    reason: Box::new(reason),
                },
                None,
            );
        }
        Outcome::Cancelled => {}
    }
}

fn describe(source: &Source) -> &'static str {
    match source {
        Source::Host => "handed in by the host",
        Source::SocketActivation => "socket activation",
        Source::Configured => "configured address",
        Source::Fallback { .. } => "fallback",
    }
}

/// Runs the policy: host listener, socket activation, configured address (first attempt
/// here, retries on a thread), fallback.
pub(super) fn start(mut policy: BindPolicy, shared: Arc<Shared>) {
    let reports = Reports::take(&mut policy);

    if let Some(listener) = policy.host_listener.take() {
        let outcome = match listener
            .set_nonblocking(true)
            .and_then(|()| listener.local_addr())
        {
            Ok(addr) => Outcome::Bound {
                listener,
                addr,
                source: Source::Host,
                attempts: 0,
            },
            Err(error) => Outcome::Disabled(ListenerError::HostListener {
                error: Arc::new(error),
            }),
        };
        return finish(&shared, reports, outcome);
    }
    if policy.socket_activation
        && let Some(outcome) = from_activation(&policy.activation_name)
    {
        return finish(&shared, reports, outcome);
    }

    let options = Options {
        backlog: policy.backlog,
        dual_stack: policy.dual_stack,
    };
    let budget = policy.effective_budget();
    let mut run = Run::new(policy.addr, options, policy.fallback, budget, Env::system());
    let started = Instant::now();
    let verdict = run.attempt();
    // The first failure is classified and published here, so that `open` returns with the
    // state (and diagnosis) of the first attempt; only sleeping and retrying move away.
    let delay = match run.step(verdict, started.elapsed(), &mut |state| {
        shared.publish(state, None)
    }) {
        Ok(delay) => delay,
        Err(outcome) => return finish(&shared, reports, outcome),
    };
    let thread_shared = Arc::clone(&shared);
    let spawned = std::thread::Builder::new()
        .name("promstatic-bind".into())
        .spawn(move || {
            let shared = thread_shared;
            let mut clock = SystemClock {
                started,
                shared: Arc::clone(&shared),
            };
            let outcome = run.resume(delay, &mut clock, &mut |state| shared.publish(state, None));
            finish(&shared, reports, outcome);
        });
    if let Err(error) = spawned {
        let reason = ListenerError::Spawn {
            error: Arc::new(error),
        };
        // `reports` went with the closure that could not run: dropped, which releases the
        // instance name.
        finish(
            &shared,
            Reports {
                port_file: None,
                file_sd: None,
            },
            Outcome::Disabled(reason),
        );
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn from_activation(name: &str) -> Option<Outcome> {
    let variables = activation::take_variables()?;
    let rejected = |rejected: activation::Rejected| {
        Outcome::Disabled(ListenerError::Activation {
            fd: rejected.fd,
            problem: rejected.problem,
            error: rejected.error.map(Arc::new),
        })
    };
    let fd = match activation::select(&variables, std::process::id(), name) {
        Ok(None) => return None,
        Ok(Some(fd)) => fd,
        Err(problem) => return Some(rejected(problem)),
    };
    activation::set_cloexec_on_passed(&variables);
    Some(match activation::adopt(fd) {
        Ok(listener) => match listener.local_addr() {
            Ok(addr) => Outcome::Bound {
                listener,
                addr,
                source: Source::SocketActivation,
                attempts: 0,
            },
            Err(error) => rejected(activation::Rejected {
                fd: Some(fd),
                problem: "has no local address".into(),
                error: Some(error),
            }),
        },
        Err(problem) => rejected(problem),
    })
}

/// systemd socket activation exists only on Linux.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn from_activation(_name: &str) -> Option<Outcome> {
    None
}

/// Real time; sleeps on the binding's condition variable so that dropping the binding
/// interrupts the wait.
struct SystemClock {
    started: Instant,
    shared: Arc<Shared>,
}

impl Clock for SystemClock {
    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn sleep(&mut self, delay: Duration) -> bool {
        let shared = &self.shared;
        let deadline = Instant::now() + delay;
        let mut inner = shared.lock();
        loop {
            if shared.cancelled.load(Ordering::Relaxed) {
                return false;
            }
            let Some(left) = deadline
                .checked_duration_since(Instant::now())
                .filter(|left| !left.is_zero())
            else {
                return true;
            };
            inner = shared
                .changed
                .wait_timeout(inner, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }
}

#[cfg(test)]
mod tests;
