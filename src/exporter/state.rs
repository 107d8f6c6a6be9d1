//! [`ListenerState`]: what the host sees of the exporter's listening socket.

use std::net::SocketAddr;

/// Whether the exporter is listening, and where or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListenerState {
    /// Serving on this address.
    Bound {
        /// The address actually bound (the real port when port 0 was asked for).
        address: SocketAddr,
    },
    /// Serving on a fallback address because the configured one could not be bound.
    Fallback {
        /// The address actually bound.
        address: SocketAddr,
        /// Why the configured address was not used.
        reason: String,
    },
    /// Not bound yet; trying again in the background.
    Retrying {
        /// Why the last attempt failed.
        reason: String,
    },
    /// Not serving: the socket could not be bound or the server could not start, or it was
    /// shut down.
    Disabled {
        /// What failed and what to do about it.
        reason: String,
    },
}
