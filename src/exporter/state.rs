//! [`ListenerState`]: what the host sees of the exporter's listening socket, and the
//! [`Reason`] when it is not the configured one: the listener's typed error with its
//! diagnosis, or what stopped the server — never a copy flattened into a string.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::listener::ListenerError;

/// Whether the exporter is listening, and where or why not.
///
/// # Why this is not [`listener::State`](crate::listener::State)
///
/// The two describe different layers, and each has states the other cannot have.
/// [`listener::State`](crate::listener::State) is the bind policy's progress (retrying,
/// bound with its [`Source`](crate::listener::Source) and attempt count, disabled); the
/// listener knows nothing of HTTP, so it is complete once a socket is bound. This type is
/// the endpoint a scraper reaches: after a successful bind the server can still stop
/// (the runtime has no IO or time driver, the socket cannot be registered, the host called
/// `shutdown`), which only the exporter knows, and it answers the host's one question —
/// where can I be scraped, and if not, why — with the fallback as its own variant.
/// Nothing is copied into a string on the way: while the listener is the cause,
/// [`Reason::listener_error`] is the listener's own typed [`ListenerError`] with its
/// diagnosis (who holds the port), and the other causes are typed too
/// ([`Reason::server_error`], [`Reason::is_shut_down`]). The mapping from one to the other
/// is one function (`translate` in `src/exporter/bind.rs`); a single type would have to
/// teach the listener about servers, or give every listener user variants it can never see.
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
        reason: Reason,
    },
    /// Not bound yet; trying again in the background.
    Retrying {
        /// Why the last attempt failed.
        reason: Reason,
    },
    /// Not serving: the socket could not be bound or the server could not start, or it was
    /// shut down.
    Disabled {
        /// What failed and what to do about it.
        reason: Reason,
    },
}

/// Why the exporter is not serving on its configured address; its `Display` is the message
/// to log (what failed, the diagnosis, what to do).
#[derive(Debug, Clone)]
pub struct Reason(Why);

#[derive(Debug, Clone)]
enum Why {
    /// The listener's retries are running; the last attempt failed.
    Retrying {
        attempt: u32,
        error: Box<ListenerError>,
    },
    /// The configured address failed (the exporter serves on the fallback).
    Fallback(Box<ListenerError>),
    /// The listener gave up.
    ListenerDisabled(Box<ListenerError>),
    /// The server could not run: `what` it could not do, and the OS error.
    Server {
        what: &'static str,
        error: Arc<io::Error>,
    },
    /// Shut down by the host.
    ShutDown,
}

impl Reason {
    pub(crate) fn retrying(attempt: u32, error: Box<ListenerError>) -> Self {
        Reason(Why::Retrying { attempt, error })
    }

    pub(crate) fn fallback(error: Box<ListenerError>) -> Self {
        Reason(Why::Fallback(error))
    }

    pub(crate) fn listener_disabled(error: Box<ListenerError>) -> Self {
        Reason(Why::ListenerDisabled(error))
    }

    pub(crate) fn server(what: &'static str, error: io::Error) -> Self {
        Reason(Why::Server {
            what,
            error: Arc::new(error),
        })
    }

    pub(crate) fn shut_down() -> Self {
        Reason(Why::ShutDown)
    }

    /// The listener's error, with its diagnosis (who holds the port, what to do), when the
    /// listener is the reason.
    pub fn listener_error(&self) -> Option<&ListenerError> {
        match &self.0 {
            Why::Retrying { error, .. } | Why::Fallback(error) | Why::ListenerDisabled(error) => {
                Some(error)
            }
            Why::Server { .. } | Why::ShutDown => None,
        }
    }

    /// The OS error that stopped the server (its runtime, thread or socket registration).
    pub fn server_error(&self) -> Option<&io::Error> {
        match &self.0 {
            Why::Server { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether the host shut the exporter down.
    pub fn is_shut_down(&self) -> bool {
        matches!(self.0, Why::ShutDown)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Why::Retrying { attempt, error } => write!(f, "attempt {attempt} failed: {error}"),
            Why::Fallback(error) => write!(f, "{error}"),
            Why::ListenerDisabled(error) => write!(f, "metrics endpoint disabled: {error}"),
            Why::Server { what, error } => {
                write!(f, "metrics endpoint disabled: {what}: {error}")
            }
            Why::ShutDown => f.write_str("metrics endpoint shut down"),
        }
    }
}

/// Two reasons are equal when they are the same kind of reason with the same message (the
/// errors inside are not comparable themselves).
impl PartialEq for Reason {
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(&self.0) == std::mem::discriminant(&other.0)
            && self.to_string() == other.to_string()
    }
}

impl Eq for Reason {}
