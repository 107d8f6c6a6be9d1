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
use tokio::sync::Notify;
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
        let slots = Arc::new(Slots::new(
            shared.config.limits.max_connections,
            Instant::now(),
        ));
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
                    let Some(place) = slots.place() else {
                        shared
                            .stats
                            .rejected_connections
                            .fetch_add(1, Ordering::Relaxed);
                        // Every connection is being answered: closed at once, so the client
                        // sees the connection end instead of waiting in a queue. A zero
                        // linger resets it instead of leaving it in TIME_WAIT.
                        let _ = stream.set_zero_linger();
                        drop(stream);
                        continue;
                    };
                    if let Place::Inherits(_) = place {
                        shared
                            .stats
                            .evicted_connections
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    shared.active_connections.fetch_add(1, Ordering::Relaxed);
                    let connection =
                        serve_connection(Arc::clone(&shared), Arc::clone(&slots), stream, place);
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

/// Where a connection is in its request cycle, for the watchdog and for eviction.
const IDLE: u8 = 0;
const READING_HEAD: u8 = 1;
const RESPONDING: u8 = 2;

/// Who holds a slot. A slot goes `FREE → SERVING → FREE`, or, when a newcomer evicts its
/// connection, `SERVING → EVICTING → HANDED → SERVING` with the newcomer as the new holder.
const FREE: u8 = 0;
const SERVING: u8 = 1;
const EVICTING: u8 = 2;
const HANDED: u8 = 3;

/// The most slots allocated, whatever [`Exporter::max_connections`] says: the slots are
/// allocated when the server starts, so "no limit" (`usize::MAX`) must not mean a huge table.
///
/// [`Exporter::max_connections`]: super::Exporter::max_connections
const MAX_SLOTS: usize = 4096;

/// One connection's place under the cap: where it is in its request cycle (written by its
/// own task, read by its watchdog and by the accept loop choosing whom to evict) and the two
/// wake-ups eviction needs.
#[derive(Debug)]
struct Slot {
    holder: AtomicU8,
    phase: AtomicU8,
    /// When the current phase began, in milliseconds since the server's epoch.
    since: AtomicU64,
    /// Wakes the holder once the accept loop has marked it `EVICTING`.
    evict: Notify,
    /// Wakes the newcomer once the evicted holder has let go (`HANDED`).
    vacated: Notify,
}

/// A fixed table of `max_connections` slots: claiming, releasing and evicting are atomic
/// operations on it; nothing here takes a lock (a `Notify` locks its waiter list only when a
/// task registers or is woken, once per connection, never per request).
#[derive(Debug)]
pub(crate) struct Slots {
    slots: Box<[Slot]>,
    epoch: Instant,
}

/// Where a newly accepted connection will run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In a free slot, at once.
    Claimed(usize),
    /// In the slot of a connection just evicted for it, once that one has let go.
    Inherits(usize),
}

impl Slots {
    pub(crate) fn new(max_connections: usize, epoch: Instant) -> Self {
        let slots = (0..max_connections.min(MAX_SLOTS))
            .map(|_| Slot {
                holder: AtomicU8::new(FREE),
                phase: AtomicU8::new(IDLE),
                since: AtomicU64::new(0),
                evict: Notify::new(),
                vacated: Notify::new(),
            })
            .collect();
        Slots { slots, epoch }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A place for a new connection: a free slot, else the slot of the connection that has
    /// waited longest for a request head (a kept-alive idle one only if none is reading a
    /// head), which is told to close; `None` when every connection is being answered.
    fn place(&self) -> Option<Place> {
        // A failed mark means the victim ended meanwhile, freeing its slot: look again.
        for _ in 0..4 {
            if let Some(index) = self.claim() {
                return Some(Place::Claimed(index));
            }
            let victim = self.longest_waiting()?;
            let slot = &self.slots[victim];
            // AcqRel: the victim's release of the slot (in `Held::drop`) happens after it has
            // seen this mark, and the newcomer acquires the slot from it.
            if slot
                .holder
                .compare_exchange(SERVING, EVICTING, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                slot.evict.notify_waiters();
                return Some(Place::Inherits(victim));
            }
        }
        None
    }

    fn claim(&self) -> Option<usize> {
        self.slots.iter().position(|slot| {
            slot.holder.load(Ordering::Relaxed) == FREE
                // Acquire pairs with the release in `Held::drop`: the previous holder is done.
                && slot
                    .holder
                    .compare_exchange(FREE, SERVING, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
        })
    }

    /// The served slot whose connection has waited longest without a complete request head:
    /// reading one first (slow or silent clients), then idle between requests (a kept-alive
    /// client such as Prometheus reconnects at its next scrape at no cost).
    fn longest_waiting(&self) -> Option<usize> {
        let mut best: Option<((u8, u64), usize)> = None;
        for (index, slot) in self.slots.iter().enumerate() {
            if slot.holder.load(Ordering::Relaxed) != SERVING {
                continue;
            }
            let rank = match slot.phase.load(Ordering::Relaxed) {
                READING_HEAD => 0,
                IDLE => 1,
                _ => continue,
            };
            let key = (rank, slot.since.load(Ordering::Relaxed));
            if best.is_none_or(|(best_key, _)| key < best_key) {
                best = Some((key, index));
            }
        }
        best.map(|(_, index)| index)
    }
}

/// One connection's slot, as its task, IO wrapper and service see it.
#[derive(Debug, Clone)]
struct Watch {
    slots: Arc<Slots>,
    index: usize,
}

impl Watch {
    fn slot(&self) -> &Slot {
        &self.slots.slots[self.index]
    }

    fn phase(&self) -> u8 {
        self.slot().phase.load(Ordering::Relaxed)
    }

    /// Relaxed: the phase is written by this connection's task only; the accept loop reads it
    /// as a hint for choosing whom to evict.
    fn enter(&self, phase: u8) {
        let slot = self.slot();
        slot.phase.store(phase, Ordering::Relaxed);
        slot.since.store(self.slots.now(), Ordering::Relaxed);
    }

    fn is_evicted(&self) -> bool {
        self.slot().holder.load(Ordering::Acquire) == EVICTING
    }

    /// When the current phase runs out of time.
    fn deadline(&self, limits: &super::Limits) -> Instant {
        let slot = self.slot();
        let allowed = match slot.phase.load(Ordering::Relaxed) {
            IDLE => limits.idle,
            READING_HEAD => limits.header_read,
            _ => limits.response,
        };
        let since = Duration::from_millis(slot.since.load(Ordering::Relaxed));
        later(later(self.slots.epoch, since), allowed)
    }
}

/// Gives the slot up when the connection's task ends, however it ends (a panic included):
/// to the newcomer that evicted it, or back to the free ones.
#[derive(Debug)]
struct Held(Watch);

impl Drop for Held {
    fn drop(&mut self) {
        let slot = self.0.slot();
        // Release: whoever claims the slot next sees this connection's last writes.
        if slot
            .holder
            .compare_exchange(SERVING, FREE, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            // Marked `EVICTING`: only its newcomer may take it now.
            slot.holder.store(HANDED, Ordering::Release);
            slot.vacated.notify_waiters();
        }
    }
}

/// Counts the connection as open while it lives, however its task ends.
#[derive(Debug)]
struct Open(Arc<Shared>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.active_connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Waits until the evicted holder of `index` has let go, then holds the slot; `None` if the
/// server shuts down meanwhile.
async fn inherit(shared: &Shared, slots: &Arc<Slots>, index: usize) -> Option<Held> {
    let slot = &slots.slots[index];
    loop {
        if shared.shutdown.is_requested() {
            return None;
        }
        // Created before the check, so a hand-over between the check and the wait wakes it.
        let vacated = slot.vacated.notified();
        // Acquire pairs with the release in `Held::drop`.
        if slot
            .holder
            .compare_exchange(HANDED, SERVING, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return Some(Held(Watch {
                slots: Arc::clone(slots),
                index,
            }));
        }
        tokio::select! {
            biased;
            () = shared.shutdown.notified() => return None,
            () = vacated => {}
        }
    }
}

async fn serve_connection(shared: Arc<Shared>, slots: Arc<Slots>, stream: TcpStream, place: Place) {
    let _open = Open(Arc::clone(&shared));
    let held = match place {
        Place::Claimed(index) => Held(Watch {
            slots: Arc::clone(&slots),
            index,
        }),
        Place::Inherits(index) => match inherit(&shared, &slots, index).await {
            Some(held) => held,
            None => return,
        },
    };
    let _ = stream.set_nodelay(true);
    let watch = held.0.clone();
    // A new connection is waiting for its first request head.
    watch.enter(READING_HEAD);
    let limits = shared.config.limits;
    let io = TokioIo::new(Watched {
        stream,
        watch: watch.clone(),
    });
    let service = ConnectionService {
        service: MetricsService::new(Arc::clone(&shared)),
        watch: watch.clone(),
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
    // Created before the first look at the mark, so an eviction after it wakes this task.
    let evicted = watch.slot().evict.notified();
    tokio::pin!(evicted);
    let mut registered: Option<std::task::Waker> = None;
    let mut draining = false;
    let timer = tokio::time::sleep_until(watch.deadline(&limits));
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
        if watch.is_evicted() {
            return Poll::Ready(Err(Ended::Evicted));
        }
        if !draining && shared.shutdown.is_requested() {
            draining = true;
            connection.as_mut().graceful_shutdown();
        }
        if let Poll::Ready(result) = connection.as_mut().poll(context) {
            return Poll::Ready(result.map_err(Ended::Failed));
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
    // Locals drop in reverse order: the connection (and its socket) is gone before `held`
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
    watch: Watch,
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
    watch: Watch,
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
        if buf.filled().len() > before && this.watch.phase() == IDLE {
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
        if result.is_ready() && this.watch.phase() == RESPONDING {
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

    fn serve(slots: &Arc<Slots>, phase: u8, since: u64) -> Held {
        let Some(Place::Claimed(index)) = slots.place() else {
            panic!("no free slot");
        };
        let slot = &slots.slots[index];
        slot.phase.store(phase, Ordering::Relaxed);
        slot.since.store(since, Ordering::Relaxed);
        Held(Watch {
            slots: Arc::clone(slots),
            index,
        })
    }

    #[test]
    fn eviction_picks_the_oldest_head_reader_then_the_oldest_idle_and_never_a_responder() {
        let slots = Arc::new(Slots::new(4, Instant::now()));
        let idle_oldest = serve(&slots, IDLE, 1);
        let reading_newer = serve(&slots, READING_HEAD, 20);
        let reading_older = serve(&slots, READING_HEAD, 10);
        let responding = serve(&slots, RESPONDING, 0);
        // Full: the head reader that has waited longest goes first, even though an idle
        // connection is older.
        assert_eq!(slots.place(), Some(Place::Inherits(reading_older.0.index)));
        assert!(reading_older.0.is_evicted());
        // A slot being evicted is not chosen twice.
        assert_eq!(slots.place(), Some(Place::Inherits(reading_newer.0.index)));
        assert_eq!(slots.place(), Some(Place::Inherits(idle_oldest.0.index)));
        // Only the responder is left: the newcomer is refused.
        assert_eq!(slots.place(), None);
        assert!(!responding.0.is_evicted());
        drop(responding);
        // A released slot is free again, and claimed before anyone is evicted.
        assert!(matches!(slots.place(), Some(Place::Claimed(_))));
    }

    #[test]
    fn an_evicted_holder_hands_its_slot_to_the_newcomer_only() {
        let slots = Arc::new(Slots::new(1, Instant::now()));
        let victim = serve(&slots, READING_HEAD, 0);
        let Some(Place::Inherits(index)) = slots.place() else {
            panic!("not evicted");
        };
        drop(victim);
        // Handed over, not freed: another arrival can neither claim nor evict it.
        assert_eq!(slots.slots[index].holder.load(Ordering::Relaxed), HANDED);
        assert_eq!(slots.place(), None);
        let shared = Shared::new(super::super::Exporter::new().config).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let held = runtime
            .block_on(inherit(&shared, &slots, index))
            .expect("inherited");
        assert_eq!(slots.slots[index].holder.load(Ordering::Relaxed), SERVING);
        drop(held);
        assert_eq!(slots.slots[index].holder.load(Ordering::Relaxed), FREE);
    }

    #[test]
    fn no_limit_allocates_a_bounded_table() {
        assert_eq!(
            Slots::new(usize::MAX, Instant::now()).slots.len(),
            MAX_SLOTS
        );
    }

    #[test]
    fn huge_limits_do_not_overflow() {
        let now = Instant::now();
        assert!(later(now, Duration::MAX) > now + Duration::from_secs(1_000_000));
        assert_eq!(later(now, Duration::ZERO), now);
    }

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
