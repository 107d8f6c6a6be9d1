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
        self.endpoint.set(ListenerState::Disabled { reason });
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
        let Some(listener) = self.listener().await else {
            let _ = self.closed.try_send(());
            return;
        };
        self.core
            .stats
            .bind_attempts
            .store(self.endpoint.attempts(), Ordering::Relaxed);
        let listener = match TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(error) => {
                self.fail(Reason::server(
                    "cannot register its socket with tokio",
                    error,
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
                Ok((stream, _peer)) => {
                    backoff = None;
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
