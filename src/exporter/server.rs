//! The accept loop and the connections: limits, back-off and graceful shutdown.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::bind::Endpoint;
use super::respond::MetricsService;
use super::{ListenerState, Shared};

/// Everything the server future owns.
#[derive(Debug)]
pub(crate) struct Parts {
    pub(crate) shared: Arc<Shared>,
    pub(crate) endpoint: Arc<Endpoint>,
    pub(crate) closed: SyncSender<()>,
}

/// The first and the longest pause after an accept error caused by exhausted resources.
const BACKOFF_FIRST: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How often the server looks whether the listener's background retries have finished.
const LISTENER_POLL: Duration = Duration::from_millis(25);

impl Parts {
    /// Reports that the server cannot run, and why.
    pub(crate) fn fail(self, what: String) {
        let reason = format!("metrics endpoint disabled: {what}");
        log::error!(target: "promstatic", "{reason}");
        self.endpoint.set(ListenerState::Disabled { reason });
        let _ = self.closed.try_send(());
    }

    /// Waits for the listener (its retries run on their own thread), registers it with the
    /// current runtime, serves until shutdown is signalled, then drains.
    pub(crate) async fn run(self) {
        let listener = loop {
            if self.shared.shutdown.is_requested() {
                let _ = self.closed.try_send(());
                return;
            }
            match self.endpoint.try_take() {
                None => tokio::time::sleep(LISTENER_POLL).await,
                Some(Ok(listener)) => break listener,
                // The endpoint's state already says why.
                Some(Err(_)) => {
                    let _ = self.closed.try_send(());
                    return;
                }
            }
        };
        self.shared
            .stats
            .bind_attempts
            .store(self.endpoint.attempts(), Ordering::Relaxed);
        let listener = match TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(error) => {
                self.fail(format!("cannot register its socket with tokio: {error}"));
                return;
            }
        };
        let Parts {
            shared,
            endpoint,
            closed,
        } = self;
        let epoch = Instant::now();
        let mut backoff: Option<Duration> = None;
        let shutdown = shared.shutdown.notified();
        tokio::pin!(shutdown);
        shutdown.as_mut().enable();
        loop {
            if shared.shutdown.is_requested() {
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
                    let active = shared.active_connections.fetch_add(1, Ordering::Relaxed);
                    if active >= shared.config.limits.max_connections {
                        shared.active_connections.fetch_sub(1, Ordering::Relaxed);
                        shared
                            .stats
                            .rejected_connections
                            .fetch_add(1, Ordering::Relaxed);
                        // Closed at once: the client sees the connection end instead of
                        // waiting in a queue behind the connections being served.
                        // A zero linger resets the connection instead of leaving it in TIME_WAIT.
                        let _ = stream.set_zero_linger();
                        drop(stream);
                        continue;
                    }
                    let connection = serve_connection(Arc::clone(&shared), stream, epoch);
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
            reason: "metrics endpoint shut down".to_owned(),
        });
        let _ = closed.try_send(());
        let deadline = later(Instant::now(), shared.config.limits.shutdown_grace);
        while shared.active_connections.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// `instant + duration`, saturating instead of panicking when a limit is set to something
/// like `Duration::MAX` ("no limit"): a century from now is never reached.
fn later(instant: Instant, duration: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
    instant
        .checked_add(duration.min(CENTURY))
        .unwrap_or(instant)
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

/// Where a connection is in its request cycle, for the watchdog.
const IDLE: u8 = 0;
const READING_HEAD: u8 = 1;
const RESPONDING: u8 = 2;

/// Phase and the time it began (milliseconds since the server's epoch), written by the IO
/// wrapper and the service, read by the watchdog. Relaxed: only this connection's task
/// touches them.
#[derive(Debug)]
struct Watch {
    phase: AtomicU8,
    since: AtomicU64,
    epoch: Instant,
}

impl Watch {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn enter(&self, phase: u8) {
        self.phase.store(phase, Ordering::Relaxed);
        self.since.store(self.now(), Ordering::Relaxed);
    }

    /// When the current phase runs out of time.
    fn deadline(&self, limits: &super::Limits) -> Instant {
        let allowed = match self.phase.load(Ordering::Relaxed) {
            IDLE => limits.idle,
            READING_HEAD => limits.header_read,
            _ => limits.response,
        };
        let since = Duration::from_millis(self.since.load(Ordering::Relaxed));
        later(later(self.epoch, since), allowed)
    }
}

async fn serve_connection(shared: Arc<Shared>, stream: TcpStream, epoch: Instant) {
    let _ = stream.set_nodelay(true);
    // A new connection is waiting for its first request head.
    let watch = Arc::new(Watch {
        phase: AtomicU8::new(READING_HEAD),
        since: AtomicU64::new(0),
        epoch,
    });
    watch.enter(READING_HEAD);
    let limits = shared.config.limits;
    let io = TokioIo::new(Watched {
        stream,
        watch: Arc::clone(&watch),
    });
    let service = ConnectionService {
        service: MetricsService::new(Arc::clone(&shared)),
        watch: Arc::clone(&watch),
    };
    let mut builder = http1::Builder::new();
    builder
        .keep_alive(true)
        // Our watchdog times heads; hyper's timer would also run between requests.
        .header_read_timeout(None)
        // hyper requires at least 8 KiB; room for the head plus a read's worth beyond it.
        .max_buf_size(limits.max_header_bytes.max(8192).saturating_add(8192))
        .max_header_size(limits.max_header_bytes);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let shutdown = shared.shutdown.notified();
    tokio::pin!(shutdown);
    let mut registered: Option<std::task::Waker> = None;
    let mut draining = false;
    let timer = tokio::time::sleep_until(watch.deadline(&limits));
    tokio::pin!(timer);
    // One future for the connection and its watchdog. The phase only changes while
    // `connection` is polled (in the IO wrapper and the service), so re-reading the deadline
    // right after polling it always sees the current phase: no wake-up channel is needed.
    let outcome = std::future::poll_fn(|context| {
        if !draining {
            if !registered
                .as_ref()
                .is_some_and(|waker| waker.will_wake(context.waker()))
            {
                // Registers this task's waker; a tokio task keeps its waker, so this runs
                // once per connection and requests never touch the Notify's lock.
                let _ = shutdown.as_mut().poll(context);
                registered = Some(context.waker().clone());
            }
            if shared.shutdown.is_requested() {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
        }
        if let Poll::Ready(result) = connection.as_mut().poll(context) {
            return Poll::Ready(result.map_err(Some));
        }
        loop {
            let deadline = watch.deadline(&limits);
            if timer.deadline() != deadline {
                timer.as_mut().reset(deadline);
            }
            if timer.as_mut().poll(context).is_pending() {
                return Poll::Pending;
            }
            if watch.deadline(&limits) <= Instant::now() {
                return Poll::Ready(Err(None));
            }
        }
    })
    .await;
    match outcome {
        Ok(()) => {}
        Err(Some(error)) => log::debug!(target: "promstatic", "connection ended: {error}"),
        Err(None) => log::debug!(target: "promstatic", "closed a connection that ran out of time"),
    }
    shared.active_connections.fetch_sub(1, Ordering::Relaxed);
}

/// The service for one connection: marks the request cycle for the watchdog.
#[derive(Debug, Clone)]
struct ConnectionService {
    service: MetricsService,
    watch: Arc<Watch>,
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for ConnectionService {
    type Response = hyper::Response<super::ExporterBody>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn call(&self, request: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        self.watch.enter(RESPONDING);
        std::future::ready(Ok(self.service.respond(&request)))
    }
}

/// The TCP stream, reporting progress to the watchdog.
#[derive(Debug)]
struct Watched {
    stream: TcpStream,
    watch: Arc<Watch>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(context, buf);
        if buf.filled().len() > before && this.watch.phase.load(Ordering::Relaxed) == IDLE {
            // The first bytes of the next request: its head must now arrive in time.
            this.watch.enter(READING_HEAD);
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(context, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(context, data)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_flush(context);
        if result.is_ready() && this.watch.phase.load(Ordering::Relaxed) == RESPONDING {
            // hyper flushes once the response is written out: the connection is idle now.
            this.watch.enter(IDLE);
        }
        result
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_limits_do_not_overflow() {
        let now = Instant::now();
        assert!(later(now, Duration::MAX) > now + Duration::from_secs(1_000_000));
        assert_eq!(later(now, Duration::ZERO), now);
    }

    #[test]
    fn backoff_grows_for_exhaustion_and_skips_per_connection_errors() {
        let emfile = io::Error::from_raw_os_error(libc::EMFILE);
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
