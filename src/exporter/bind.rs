//! The one place the exporter gets its listening socket.
//!
//! For now this binds with `std::net::TcpListener::bind` once, inline; the listener module
//! (retry, fallback ports, port file, file_sd, socket activation) will replace the body of
//! [`open`] and nothing else. Everything the rest of the exporter needs goes through
//! [`Binding`]: the state to report, and the socket to serve.

use std::io;
use std::net::{SocketAddr, TcpListener};

use super::ListenerState;

/// The outcome of opening the listening socket.
#[derive(Debug)]
pub(crate) struct Binding {
    pub(crate) state: ListenerState,
    pub(crate) listener: Option<TcpListener>,
}

/// Binds `address` (one attempt) and makes the socket non-blocking, as tokio requires.
pub(crate) fn open(address: SocketAddr) -> Binding {
    match bind(address) {
        Ok((listener, local)) => Binding {
            state: ListenerState::Bound { address: local },
            listener: Some(listener),
        },
        Err(error) => {
            let reason = describe(address, &error);
            log::error!(target: "promstatic", "{reason}");
            Binding {
                state: ListenerState::Disabled { reason },
                listener: None,
            }
        }
    }
}

fn bind(address: SocketAddr) -> io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(address)?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// A readable diagnosis of a bind failure, with what to do about it.
fn describe(address: SocketAddr, error: &io::Error) -> String {
    let advice = match error.kind() {
        io::ErrorKind::AddrInUse => {
            "another process is listening on that port; stop it, or choose another port \
             (port 0 picks a free one)"
        }
        io::ErrorKind::PermissionDenied => {
            "ports below 1024 need privileges; choose a port of 1024 or above"
        }
        io::ErrorKind::AddrNotAvailable => {
            "that address is not assigned to any interface of this host; use 127.0.0.1, \
             0.0.0.0 or one of the host's addresses"
        }
        _ => "check the address and the host's network configuration",
    };
    format!("metrics endpoint disabled: cannot listen on {address}: {error}; {advice}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_disables_with_a_diagnosis() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = taken.local_addr().unwrap();
        let binding = open(address);
        assert!(binding.listener.is_none());
        match binding.state {
            ListenerState::Disabled { reason } => {
                assert!(reason.contains(&address.to_string()), "{reason}");
                assert!(reason.contains("another process"), "{reason}");
            }
            other => panic!("expected disabled, got {other:?}"),
        }
    }
}
