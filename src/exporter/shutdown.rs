//! [`Shutdown`]: the stop request every part of a running exporter watches, and the drain
//! that lets in-flight connections finish after it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

/// The shutdown request: a flag every connection checks with one atomic load whenever it
/// runs, and a `Notify` that wakes the ones waiting on their sockets. A connection registers
/// with the `Notify` once (tokio guards its waiter list with a mutex), not per request.
///
/// It also counts the open connections, so that after the request the server can wait for
/// the last one to end: the connection that brings the count to zero wakes it (`drained`),
/// instead of the server polling the count.
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    requested: AtomicBool,
    wake: Notify,
    open_connections: AtomicUsize,
    drained: Notify,
}

impl Shutdown {
    pub(crate) fn request(&self) {
        // Release pairs with the acquire in `is_requested`, before the wake-up it causes.
        self.requested.store(true, Ordering::Release);
        self.wake.notify_waiters();
    }

    pub(crate) fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// A future that completes on `request` (register it before checking the flag).
    pub(crate) fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.wake.notified()
    }

    /// Counts a connection as open until the returned guard drops, however its task ends.
    pub(crate) fn open_connection(&self) -> OpenConnection<'_> {
        self.open_connections.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self)
    }

    /// Waits until no connection is open, or `deadline`.
    pub(crate) async fn drain(&self, deadline: tokio::time::Instant) {
        let timer = tokio::time::sleep_until(deadline);
        tokio::pin!(timer);
        loop {
            // Registered before the count is read, so a last connection ending in between
            // still wakes this (`notify_one` also keeps a permit when nobody waits yet).
            let drained = self.drained.notified();
            // Acquire pairs with the release in `OpenConnection::drop`.
            if self.open_connections.load(Ordering::Acquire) == 0 {
                return;
            }
            tokio::select! {
                biased;
                () = drained => {}
                () = timer.as_mut() => return,
            }
        }
    }
}

/// One open connection, counted by [`Shutdown`]; see [`Shutdown::open_connection`].
#[derive(Debug)]
pub(crate) struct OpenConnection<'a>(&'a Shutdown);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        // Release: the connection's socket is closed before the drain sees the count drop.
        if self.0.open_connections.fetch_sub(1, Ordering::Release) == 1 {
            // Once per time the count reaches zero, never per request.
            self.0.drained.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn drain_ends_when_the_last_connection_closes_not_at_the_deadline() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let shutdown = Shutdown::default();
        runtime.block_on(async {
            let first = shutdown.open_connection();
            let second = shutdown.open_connection();
            let far = tokio::time::Instant::now() + Duration::from_secs(3600);
            let drain = shutdown.drain(far);
            tokio::pin!(drain);
            // Still two open: the drain waits.
            assert!(futures_poll(drain.as_mut()).is_pending());
            drop(first);
            assert!(futures_poll(drain.as_mut()).is_pending());
            drop(second);
            // The last close ends it, long before the hour's deadline.
            assert!(futures_poll(drain.as_mut()).is_ready());
        });
    }

    fn futures_poll<F: std::future::Future>(
        future: std::pin::Pin<&mut F>,
    ) -> std::task::Poll<F::Output> {
        let waker = std::task::Waker::noop();
        future.poll(&mut std::task::Context::from_waker(waker))
    }
}
