//! The one place the exporter gets its listening socket: the [`crate::listener`] module.
//!
//! The listener makes the first bind attempt on the caller's thread and retries in the
//! background (with fallback, port file, file_sd and socket activation as the policy says).
//! This adapter turns its state into the exporter's [`ListenerState`], and hands the socket
//! to the server once the outcome is final.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::state::{ListenerState, Reason};
use crate::listener::{self, BindPolicy, Binding, Source, State};

/// The listener, its reported state, and an override once the server itself stops
/// (shut down, or could not start).
///
/// A `Mutex` is fine here: this is read by the host through the handle and by the server
/// while it waits for the socket, never on the scrape path.
#[derive(Debug)]
pub(crate) struct Endpoint {
    binding: Binding,
    overridden: Mutex<Option<ListenerState>>,
    /// Notified once the listener's outcome is final (by the thread that settles it).
    settled: Arc<Notify>,
}

impl Endpoint {
    /// Starts obtaining the listener (the first attempt runs here, on the caller's thread).
    pub(crate) fn open(policy: BindPolicy) -> Self {
        let binding = listener::open(policy);
        let settled = Arc::new(Notify::new());
        let notify = Arc::clone(&settled);
        // `notify_one` keeps a permit when nobody waits yet, so a server that starts waiting
        // after the outcome still wakes at once.
        binding.on_settled(move || notify.notify_one());
        Endpoint {
            binding,
            overridden: Mutex::new(None),
            settled,
        }
    }

    /// Completes once the outcome is final (at once if it already was when the listener
    /// settled with nobody waiting).
    pub(crate) fn settled(&self) -> tokio::sync::futures::Notified<'_> {
        self.settled.notified()
    }

    /// What the host sees.
    pub(crate) fn state(&self) -> ListenerState {
        let overridden = match self.overridden.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        overridden.unwrap_or_else(|| translate(self.binding.state()))
    }

    /// Replaces the listener's state in what the host sees (the server has stopped).
    pub(crate) fn set(&self, state: ListenerState) {
        match self.overridden.lock() {
            Ok(mut guard) => *guard = Some(state),
            Err(poisoned) => *poisoned.into_inner() = Some(state),
        }
    }

    /// Bind attempts so far (for the exporter's self-metric).
    pub(crate) fn attempts(&self) -> u64 {
        match self.binding.state() {
            State::Retrying { attempt, .. } => u64::from(attempt),
            State::Bound { attempts, .. } => u64::from(attempts),
            _ => 0,
        }
    }

    /// The outcome, without waiting: `None` while the listener is still retrying.
    pub(crate) fn try_take(&self) -> Option<Result<std::net::TcpListener, String>> {
        if matches!(self.binding.state(), State::Retrying { .. }) {
            return None;
        }
        // The outcome is final, so this does not wait.
        Some(
            self.binding
                .wait(Some(Duration::ZERO))
                .map_err(|error| error.to_string()),
        )
    }
}

fn translate(state: State) -> ListenerState {
    match state {
        State::Bound {
            addr,
            source: Source::Fallback { reason },
            ..
        } => ListenerState::Fallback {
            address: addr,
            reason: Reason::fallback(reason),
        },
        State::Bound { addr, .. } => ListenerState::Bound { address: addr },
        State::Retrying {
            attempt,
            last_error,
        } => ListenerState::Retrying {
            reason: Reason::retrying(attempt, last_error),
        },
        State::Disabled { reason } => ListenerState::Disabled {
            reason: Reason::listener_disabled(reason),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_port_held_by_this_process_disables_with_a_diagnosis() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = taken.local_addr().unwrap();
        let endpoint = Endpoint::open(BindPolicy::new(address));
        match endpoint.state() {
            ListenerState::Disabled { reason } => {
                assert!(
                    reason.to_string().contains(&address.port().to_string()),
                    "{reason}"
                );
                assert!(reason.listener_error().is_some(), "{reason:?}");
            }
            other => panic!("expected disabled, got {other:?}"),
        }
        assert!(matches!(endpoint.try_take(), Some(Err(_))));
    }

    #[test]
    fn a_free_port_is_bound_and_handed_over_once() {
        let endpoint = Endpoint::open(BindPolicy::new("127.0.0.1:0".parse().unwrap()));
        assert!(matches!(endpoint.state(), ListenerState::Bound { .. }));
        assert!(matches!(endpoint.try_take(), Some(Ok(_))));
        assert!(matches!(endpoint.try_take(), Some(Err(_))));
    }
}
