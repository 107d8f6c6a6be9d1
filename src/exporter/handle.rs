//! [`ExporterHandle`]: the host's view of a running exporter, and how it stops it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::bind::Endpoint;
use super::core::ExporterCore;
use super::state::{ListenerState, Reason};

/// Controls a running exporter. Dropping it leaves the exporter running for the rest of the
/// process; call [`ExporterHandle::shutdown`] to stop it.
#[derive(Debug)]
pub struct ExporterHandle {
    endpoint: Arc<Endpoint>,
    /// Receives once the server has dropped its listening socket (or never had one).
    closed: mpsc::Receiver<()>,
    /// The exporter's own thread, for [`Exporter::start`](super::Exporter::start).
    pub(super) thread: Option<JoinHandle<()>>,
    core: Arc<ExporterCore>,
}

impl ExporterHandle {
    pub(super) fn new(
        endpoint: Arc<Endpoint>,
        closed: mpsc::Receiver<()>,
        core: Arc<ExporterCore>,
    ) -> Self {
        ExporterHandle {
            endpoint,
            closed,
            thread: None,
            core,
        }
    }

    /// Reports, in the state the host sees, that the server cannot run.
    pub(super) fn disable(&self, reason: Reason) {
        self.endpoint.set(ListenerState::Disabled { reason });
    }

    /// The address being served, if bound.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self.endpoint.state() {
            ListenerState::Bound { address } | ListenerState::Fallback { address, .. } => {
                Some(address)
            }
            ListenerState::Retrying { .. } | ListenerState::Disabled { .. } => None,
        }
    }

    /// Whether the exporter is listening, and where or why not.
    pub fn state(&self) -> ListenerState {
        self.endpoint.state()
    }

    /// Asks the server to stop without waiting: the listening socket is closed promptly and
    /// in-flight scrapes finish. For the [`Exporter::into_future`](super::Exporter::into_future) form, await the future's
    /// task after this.
    pub fn signal_shutdown(&self) {
        self.core.shutdown.request();
    }

    /// Stops the server: closes the listening socket at once (the port can be bound again as
    /// soon as this returns), lets in-flight scrapes finish within the grace period, and for
    /// [`Exporter::start`](super::Exporter::start) joins the exporter thread. Do not call it from inside the runtime
    /// that runs an [`Exporter::into_future`](super::Exporter::into_future) server (it blocks); use
    /// [`ExporterHandle::signal_shutdown`] there.
    pub fn shutdown(mut self) {
        self.signal_shutdown();
        // The server sends once it has dropped the socket (at once: the accept loop watches
        // for shutdown); an error means it already ended. The bound keeps a future that was
        // never polled from hanging the caller.
        if let Err(mpsc::RecvTimeoutError::Timeout) =
            self.closed.recv_timeout(Duration::from_secs(10))
        {
            log::warn!(target: "promstatic", "the exporter did not confirm its shutdown in 10 s");
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::error!(target: "promstatic", "the exporter thread panicked");
        }
    }
}
