//! [`ServerTask`]: the server future. It waits for the listening socket, runs the accept
//! loop (admission under the connection cap, back-off when resources run out), and on
//! shutdown closes the socket first and then drains the connections.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::time::Instant;

use super::bind::Endpoint;
use super::connection;
use super::core::ExporterCore;
use super::slots::{Admission, ConnectionSlots};
use super::state::{ListenerState, Reason};
use super::watchdog::later;

/// Everything the server future owns.
#[derive(Debug)]
pub(crate) struct ServerTask {
    pub(crate) core: Arc<ExporterCore>,
    pub(crate) endpoint: Arc<Endpoint>,
    /// Tells [`ExporterHandle::shutdown`](super::ExporterHandle::shutdown) that the
    /// listening socket is gone.
    pub(crate) closed: SyncSender<()>,
}

/// The first and the longest pause after an accept error caused by exhausted resources.
const BACKOFF_FIRST: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

impl ServerTask {
    /// Reports that the server cannot run, and why.
    pub(crate) fn fail(self, reason: Reason) {
        log::error!(target: "promstatic", "{reason}");
        // The port is released too: the retries stop and a socket not taken is closed.
        self.endpoint.stop(ListenerState::Disabled { reason });
        let _ = self.closed.try_send(());
    }

    /// Waits for the listener's outcome (its retries run on their own thread, which wakes
    /// this task when they end); `None` if there is nothing to serve or shutdown came first.
    async fn listener(&self) -> Option<std::net::TcpListener> {
        loop {
            // Both registered before the checks below, so an outcome or a shutdown request
            // between a check and the wait still wakes this task.
            let shutdown = self.core.shutdown.notified();
            let settled = self.endpoint.settled();
            if self.core.shutdown.is_requested() {
                return None;
            }
            match self.endpoint.try_take() {
                // The endpoint's state already says why.
                Some(outcome) => return outcome.ok(),
                None => tokio::select! {
                    () = shutdown => {}
                    () = settled => {}
                },
            }
        }
    }

    /// Registers the listener with the current runtime, serves until shutdown is signalled,
    /// then drains.
    pub(crate) async fn run(self) {
        if let Some(problem) = runtime_problem() {
            self.fail(Reason::server(
                "cannot run on this runtime",
                io::Error::new(io::ErrorKind::Unsupported, problem),
            ));
            return;
        }
        let Some(listener) = self.listener().await else {
            if self.core.shutdown.is_requested() {
                // The handle has released the port already; this is for the record.
                self.endpoint.stop(ListenerState::Disabled {
                    reason: Reason::shut_down(),
                });
            }
            let _ = self.closed.try_send(());
            return;
        };
        self.core
            .stats
            .bind_attempts
            .store(self.endpoint.attempts(), Ordering::Relaxed);
        // tokio panics (rather than fail) when its runtime has no IO driver; the socket moves
        // into the closure and is closed as the panic unwinds, so the port is released.
        let registered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            TcpListener::from_std(listener)
        }));
        let listener = match registered {
            Ok(Ok(listener)) => listener,
            Ok(Err(error)) => {
                self.fail(Reason::server(
                    "cannot register its socket with tokio",
                    error,
                ));
                return;
            }
            Err(_) => {
                self.fail(Reason::server(
                    "cannot run on this runtime",
                    io::Error::new(
                        io::ErrorKind::Unsupported,
                        "the tokio runtime running the exporter has no IO driver: build it \
                         with `enable_io()` (or `enable_all()`)",
                    ),
                ));
                return;
            }
        };
        let ServerTask {
            core,
            endpoint,
            closed,
        } = self;
        let slots = Arc::new(ConnectionSlots::new(
            core.config.limits.max_connections,
            Instant::now(),
        ));
        let mut backoff: Option<Duration> = None;
        let shutdown = core.shutdown.notified();
        tokio::pin!(shutdown);
        shutdown.as_mut().enable();
        loop {
            if core.shutdown.is_requested() {
                break;
            }
            let accepted = tokio::select! {
                biased;
                () = shutdown.as_mut() => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => {
                    backoff = None;
                    if !core.access.allowlist.permits(peer.ip()) {
                        // Counted, never logged per connection (a flood must not flood the
                        // log), and reset before a byte is read.
                        core.stats.refused_peers.fetch_add(1, Ordering::Relaxed);
                        let _ = stream.set_zero_linger();
                        drop(stream);
                        continue;
                    }
                    let Some(admission) = slots.admit() else {
                        core.stats
                            .rejected_connections
                            .fetch_add(1, Ordering::Relaxed);
                        // Every connection is being answered: closed at once, so the client
                        // sees the connection end instead of waiting in a queue. A zero
                        // linger resets it instead of leaving it in TIME_WAIT.
                        let _ = stream.set_zero_linger();
                        drop(stream);
                        continue;
                    };
                    if let Admission::Inherits(_) = admission {
                        core.stats
                            .evicted_connections
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    let connection =
                        connection::serve(Arc::clone(&core), Arc::clone(&slots), stream, admission);
                    tokio::spawn(connection);
                }
                Err(error) => {
                    let Some(pause) = accept_backoff(&error, backoff) else {
                        continue;
                    };
                    if backoff.is_none() {
                        log::warn!(
                            target: "promstatic",
                            "metrics endpoint cannot accept connections ({error}); pausing \
                             accepts until resources are available"
                        );
                    }
                    backoff = Some(pause);
                    tokio::select! {
                        biased;
                        () = shutdown.as_mut() => break,
                        () = tokio::time::sleep(pause) => {}
                    }
                }
            }
        }
        // Close the socket first, so the port is free while in-flight scrapes finish.
        drop(listener);
        endpoint.set(ListenerState::Disabled {
            reason: Reason::shut_down(),
        });
        let _ = closed.try_send(());
        let deadline = later(Instant::now(), core.config.limits.shutdown_grace);
        core.shutdown.drain(deadline).await;
    }
}

/// Why the current context cannot run the server, if it cannot: no tokio runtime at all, or
/// one without the time driver (the IO driver is checked when the socket is registered).
/// tokio reports both by panicking where a timer is created, so the check creates one
/// under `catch_unwind` (the panic message still goes through the panic hook, once).
fn runtime_problem() -> Option<&'static str> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Some(
            "its future was polled outside a tokio runtime: spawn it on a tokio runtime with \
             the IO and time drivers (`enable_all()`)",
        );
    }
    let timer = std::panic::catch_unwind(|| drop(tokio::time::sleep(Duration::ZERO)));
    timer.is_err().then_some(
        "the tokio runtime running the exporter has no time driver: build it with \
         `enable_time()` (or `enable_all()`)",
    )
}

/// How long to pause after an accept error: `None` for errors that concern one connection
/// only (the peer reset it before we accepted it), a growing pause for exhausted resources
/// (out of file descriptors, memory or buffers), where retrying at once would spin.
pub(crate) fn accept_backoff(error: &io::Error, previous: Option<Duration>) -> Option<Duration> {
    match error.kind() {
        io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::Interrupted
        | io::ErrorKind::WouldBlock => return None,
        _ => {}
    }
    Some(match previous {
        None => BACKOFF_FIRST,
        Some(previous) => (previous * 2).min(BACKOFF_MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_for_exhaustion_and_skips_per_connection_errors() {
        let emfile = io::Error::from_raw_os_error(crate::sys::EMFILE);
        let first = accept_backoff(&emfile, None).unwrap();
        assert_eq!(first, BACKOFF_FIRST);
        let mut pause = first;
        for _ in 0..20 {
            pause = accept_backoff(&emfile, Some(pause)).unwrap();
        }
        assert_eq!(pause, BACKOFF_MAX);
        let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
        assert_eq!(accept_backoff(&aborted, Some(pause)), None);
    }
}
