//! One connection's task: its slot, hyper's HTTP/1.1 state machine, and its watchdog, polled
//! as one future until the client leaves, the connection runs out of time, is evicted, or
//! the exporter shuts down.

use std::sync::Arc;
use std::task::Poll;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::core::ExporterCore;
use super::respond::MetricsService;
use super::slots::{Admission, ConnectionSlots, Phase, SlotLease, SlotRef};
use super::watchdog;
use super::watched_stream::WatchedStream;

/// Waits until the evicted holder of `index` has let go, then holds the slot; `None` if the
/// server shuts down meanwhile.
pub(crate) async fn inherit(
    core: &ExporterCore,
    slots: &Arc<ConnectionSlots>,
    index: usize,
) -> Option<SlotLease> {
    let slot = slots.slot(index);
    loop {
        if core.shutdown.is_requested() {
            return None;
        }
        // Created before the check, so a hand-over between the check and the wait wakes it.
        let vacated = slot.vacated.notified();
        if let Some(lease) = SlotLease::try_inherit(slots, index) {
            return Some(lease);
        }
        tokio::select! {
            biased;
            () = core.shutdown.notified() => return None,
            () = vacated => {}
        }
    }
}

/// Serves one accepted connection in the place `admission` gives it.
pub(crate) async fn serve(
    core: Arc<ExporterCore>,
    slots: Arc<ConnectionSlots>,
    stream: TcpStream,
    admission: Admission,
) {
    let _open = core.shutdown.open_connection();
    let lease = match admission {
        Admission::Claimed(index) => SlotLease::claimed(&slots, index),
        Admission::Inherits(index) => match inherit(&core, &slots, index).await {
            Some(lease) => lease,
            None => return,
        },
    };
    let _ = stream.set_nodelay(true);
    let slot = lease.slot_ref().clone();
    // A new connection is waiting for its first request head (over TLS: its handshake
    // first, under the same deadline).
    slot.enter(Phase::ReadingHead);
    #[cfg(feature = "tls")]
    if let Some(tls) = core.access.tls.as_ref() {
        if let Some(stream) = handshake(&core, &slot, tls, stream).await {
            drive(&core, slot, stream).await;
        }
        return;
    }
    drive(&core, slot, stream).await;
    // `lease` drops only here, after the connection (and its socket) inside `drive`, so no
    // more than `max_connections` sockets are served at once.
}

/// Runs the TLS handshake of a new connection within its header deadline; `None` (the
/// connection is closed) if it fails, runs out of time, is evicted or the server shuts down.
#[cfg(feature = "tls")]
async fn handshake(
    core: &ExporterCore,
    slot: &SlotRef,
    tls: &super::tls::Tls,
    stream: TcpStream,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    use std::sync::atomic::Ordering;
    let evicted = slot.slot().evict.notified();
    tokio::pin!(evicted);
    // Registered before the check, so an eviction between the two still wakes this task.
    evicted.as_mut().enable();
    if slot.is_evicted() {
        return None;
    }
    let deadline = watchdog::deadline(slot, &core.config.limits);
    tls.refresh();
    let failure = tokio::select! {
        biased;
        () = core.shutdown.notified() => return None,
        () = evicted => return None,
        accepted = tls.acceptor.accept(stream) => match accepted {
            Ok(stream) => return Some(stream),
            Err(error) => format!("failed: {error}"),
        },
        () = tokio::time::sleep_until(deadline) => "did not finish within the header timeout".to_owned(),
    };
    core.stats
        .tls_handshake_failures
        .fetch_add(1, Ordering::Relaxed);
    log::debug!(target: "promstatic", "closed a connection whose TLS handshake {failure}");
    None
}

/// Serves HTTP/1.1 on an established stream until it ends; see [`serve`].
async fn drive<S>(core: &Arc<ExporterCore>, slot: SlotRef, stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let limits = core.config.limits;
    let io = TokioIo::new(WatchedStream {
        stream,
        slot: slot.clone(),
    });
    let service = ConnectionService {
        service: MetricsService::new(Arc::clone(core)),
        slot: slot.clone(),
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
    let shutdown = core.shutdown.notified();
    tokio::pin!(shutdown);
    // Created before the first look at the mark, so an eviction after it wakes this task.
    let evicted = slot.slot().evict.notified();
    tokio::pin!(evicted);
    let mut registered: Option<std::task::Waker> = None;
    let mut draining = false;
    let timer = tokio::time::sleep_until(watchdog::deadline(&slot, &limits));
    tokio::pin!(timer);
    // One future for the connection and its watchdog. The phase only changes while
    // `connection` is polled (in the IO wrapper and the service), so re-reading the deadline
    // right after polling it always sees the current phase: no wake-up channel is needed.
    let outcome = std::future::poll_fn(|context| {
        if !registered
            .as_ref()
            .is_some_and(|waker| waker.will_wake(context.waker()))
        {
            // Registers this task's waker; a tokio task keeps its waker, so this runs once
            // per connection and requests never touch the Notifys' locks.
            if !draining {
                let _ = shutdown.as_mut().poll(context);
            }
            let _ = evicted.as_mut().poll(context);
            registered = Some(context.waker().clone());
        }
        if slot.is_evicted() {
            return Poll::Ready(Err(Ended::Evicted));
        }
        if !draining && core.shutdown.is_requested() {
            draining = true;
            connection.as_mut().graceful_shutdown();
        }
        if let Poll::Ready(result) = connection.as_mut().poll(context) {
            return Poll::Ready(result.map_err(Ended::Failed));
        }
        loop {
            let deadline = watchdog::deadline(&slot, &limits);
            if timer.deadline() != deadline {
                timer.as_mut().reset(deadline);
            }
            if timer.as_mut().poll(context).is_pending() {
                return Poll::Pending;
            }
            if watchdog::deadline(&slot, &limits) <= Instant::now() {
                return Poll::Ready(Err(Ended::OutOfTime));
            }
        }
    })
    .await;
    match outcome {
        Ok(()) => {}
        Err(Ended::Failed(error)) => {
            log::debug!(target: "promstatic", "connection ended: {error}")
        }
        Err(Ended::OutOfTime) => {
            log::debug!(target: "promstatic", "closed a connection that ran out of time")
        }
        Err(Ended::Evicted) => log::debug!(
            target: "promstatic",
            "closed a connection still waiting for a request head to make room for a new one"
        ),
    }
}

/// Why a connection ended early.
#[derive(Debug)]
enum Ended {
    Failed(hyper::Error),
    OutOfTime,
    Evicted,
}

/// The service for one connection: marks the request cycle for the watchdog.
#[derive(Debug, Clone)]
struct ConnectionService {
    service: MetricsService,
    slot: SlotRef,
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for ConnectionService {
    type Response = hyper::Response<super::ExporterBody>;
    type Error = std::convert::Infallible;
    type Future = Reply;

    fn call(&self, request: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        self.slot.enter(Phase::Responding);
        #[cfg(feature = "auth")]
        if let Some(auth) = self.service.core().access.auth.as_ref()
            && auth.protects(request.uri().path())
        {
            return self.authenticated(auth, request);
        }
        Reply::Ready(Some(self.service.respond(&request)))
    }
}

#[cfg(feature = "auth")]
impl ConnectionService {
    /// Answers a request for a protected path: at once when its credentials are valid (a
    /// token, or a password in the cache), missing or wrong, or when every bcrypt place is
    /// taken; else after bcrypt has run on the blocking pool (see `auth.rs`).
    fn authenticated(
        &self,
        auth: &super::auth::Authenticator,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> Reply {
        use super::auth::Check;
        let core = self.service.core();
        match auth.check(request.headers()) {
            Check::Pass => Reply::Ready(Some(self.service.respond(&request))),
            Check::Fail => Reply::Ready(Some(auth.refuse(&core.stats))),
            Check::Verify(pending) => {
                if !auth.begin_verify() {
                    return Reply::Ready(Some(auth.busy(&core.stats)));
                }
                let shared = Arc::clone(core);
                let check = tokio::task::spawn_blocking(move || {
                    shared
                        .access
                        .auth
                        .as_ref()
                        .is_some_and(|auth| auth.verify(pending))
                });
                Reply::Verifying {
                    check,
                    request,
                    service: self.service.clone(),
                }
            }
        }
    }
}

/// The response future of [`ConnectionService`]: ready at once, or (feature `auth`) once
/// bcrypt has checked a password.
#[derive(Debug)]
enum Reply {
    Ready(Option<hyper::Response<super::ExporterBody>>),
    #[cfg(feature = "auth")]
    Verifying {
        check: tokio::task::JoinHandle<bool>,
        request: hyper::Request<hyper::body::Incoming>,
        service: MetricsService,
    },
}

impl std::future::Future for Reply {
    type Output = Result<hyper::Response<super::ExporterBody>, std::convert::Infallible>;

    // Only the `auth` arm waits on anything.
    #[cfg_attr(not(feature = "auth"), allow(unused_variables))]
    fn poll(
        self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> Poll<Self::Output> {
        match self.get_mut() {
            // `None` only if polled again after completion, which hyper never does.
            Reply::Ready(response) => response
                .take()
                .map_or(Poll::Pending, |r| Poll::Ready(Ok(r))),
            #[cfg(feature = "auth")]
            Reply::Verifying {
                check,
                request,
                service,
            } => {
                let verified = match std::pin::Pin::new(check).poll(context) {
                    Poll::Pending => return Poll::Pending,
                    // A failed blocking task (cancelled at shutdown) is a refusal.
                    Poll::Ready(result) => result.unwrap_or(false),
                };
                let core = service.core();
                Poll::Ready(Ok(match (verified, core.access.auth.as_ref()) {
                    (true, _) | (false, None) => service.respond(request),
                    (false, Some(auth)) => auth.refuse(&core.stats),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exporter::slots::Occupant;

    #[test]
    fn an_evicted_holder_hands_its_slot_to_the_newcomer_only() {
        let slots = Arc::new(ConnectionSlots::new(1, Instant::now()));
        let Some(Admission::Claimed(index)) = slots.admit() else {
            panic!("no free slot");
        };
        let victim = SlotLease::claimed(&slots, index);
        slots.slot(index).set(Phase::ReadingHead, 0);
        let Some(Admission::Inherits(index)) = slots.admit() else {
            panic!("not evicted");
        };
        drop(victim);
        // Handed over, not freed: another arrival can neither claim nor evict it.
        assert_eq!(slots.slot(index).occupancy.peek(), Occupant::Handed);
        assert_eq!(slots.admit(), None);
        let core = ExporterCore::new(crate::exporter::Exporter::new().into_config()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let lease = runtime
            .block_on(inherit(&core, &slots, index))
            .expect("inherited");
        assert_eq!(slots.slot(index).occupancy.peek(), Occupant::Serving);
        drop(lease);
        assert_eq!(slots.slot(index).occupancy.peek(), Occupant::Free);
    }
}
