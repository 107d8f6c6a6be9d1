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
    // A new connection is waiting for its first request head.
    slot.enter(Phase::ReadingHead);
    let limits = core.config.limits;
    let io = TokioIo::new(WatchedStream {
        stream,
        slot: slot.clone(),
    });
    let service = ConnectionService {
        service: MetricsService::new(Arc::clone(&core)),
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
    // Locals drop in reverse order: the connection (and its socket) is gone before `lease`
    // hands the slot on, so no more than `max_connections` sockets are served at once.
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
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn call(&self, request: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        self.slot.enter(Phase::Responding);
        std::future::ready(Ok(self.service.respond(&request)))
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
