//! systemd socket activation: adopting a listening socket passed on fd 3 and up.
//!
//! The protocol (`sd_listen_fds(3)`): `LISTEN_PID` is the pid the sockets are meant for,
//! `LISTEN_FDS` how many consecutive fds starting at 3 were passed, and the optional
//! `LISTEN_FDNAMES` a colon-separated name per fd (`FileDescriptorName=` in the unit). The
//! variables are removed once read, as `sd_listen_fds(1)` does, so that children we spawn do
//! not believe the sockets are theirs. The chosen fd must be an open, listening, IPv4 or
//! IPv6 stream socket; anything else is a configuration error reported as such (this path
//! never retries, and never closes an fd it did not adopt).
//!
//! # Only a socket meant for metrics
//!
//! A program run under systemd often receives its *own* sockets this way (its HTTP port on
//! fd 3). Adopting such a socket would have the exporter answer the application's port and
//! close fd 3 under it at shutdown. So a passed socket is adopted only when it is
//! unambiguously meant for metrics: its `LISTEN_FDNAMES` entry is the policy's activation
//! name (`metrics` unless configured), or the host opted in to adopting a single unnamed
//! socket ([`BindPolicy::adopt_unnamed_activation_socket`]). Otherwise the sockets, their
//! flags and the variables are left exactly as they were, for the application's own
//! `sd_listen_fds`, and the exporter binds its configured address. The variables are removed
//! only when they were not for this process (`LISTEN_PID` mismatch, as `sd_listen_fds` does)
//! or when the adopted socket was the only one passed.
//!
//! [`BindPolicy::adopt_unnamed_activation_socket`]: crate::listener::BindPolicy::adopt_unnamed_activation_socket

use std::io;
use std::net::TcpListener;
use std::os::fd::{FromRawFd, RawFd};

use socket2::{Domain, SockRef, Type};

use crate::sys;

/// The first passed fd (`SD_LISTEN_FDS_START`).
const FIRST_FD: RawFd = 3;
const VARIABLES: [&str; 3] = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"];

/// Why a passed socket cannot be used.
#[derive(Debug)]
pub(crate) struct Rejected {
    pub(crate) fd: Option<RawFd>,
    pub(crate) problem: String,
    pub(crate) error: Option<io::Error>,
}

/// The three variables, as read from the environment.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Variables {
    pub(crate) pid: Option<String>,
    pub(crate) fds: Option<String>,
    pub(crate) names: Option<String>,
}

/// Reads the variables; `None` when `LISTEN_PID` and `LISTEN_FDS` are both absent.
pub(crate) fn read_variables() -> Option<Variables> {
    let variables = Variables {
        pid: std::env::var("LISTEN_PID").ok(),
        fds: std::env::var("LISTEN_FDS").ok(),
        names: std::env::var("LISTEN_FDNAMES").ok(),
    };
    if variables.pid.is_none() && variables.fds.is_none() {
        return None;
    }
    Some(variables)
}

/// Removes the variables (see the module docs for when).
///
/// # Caveat
/// Removing an environment variable while another thread reads the environment through C
/// (`getenv` in libc, or in a C library) is a data race. [`crate::listener::open`] documents
/// that it must run before the program starts threads that read the environment, or with
/// socket activation turned off.
pub(crate) fn remove_variables() {
    for name in VARIABLES {
        // SAFETY: `remove_var` is unsafe because a concurrent read of the environment by
        // another thread (through libc `getenv`) races with it. This crate starts no thread
        // before this point (the retry thread is spawned after activation is handled), and
        // `open` documents that the host must call it before starting threads that read the
        // environment, or turn socket activation off. This is the same contract as
        // `sd_listen_fds(unset_environment = 1)`.
        unsafe { std::env::remove_var(name) };
    }
}

/// What to do with the passed sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selection {
    /// `LISTEN_PID` is another process: the variables leaked to us and are dropped.
    NotOurs,
    /// None of the sockets is meant for metrics: leave everything to the application.
    NotForMetrics,
    /// Adopt this fd; `only` when it is the only socket passed.
    Adopt {
        /// The fd.
        fd: RawFd,
        /// Whether it is the only socket passed.
        only: bool,
    },
}

/// Picks the fd to adopt; see the module docs for the rule.
pub(crate) fn select(
    variables: &Variables,
    our_pid: u32,
    wanted_name: &str,
    adopt_unnamed: bool,
) -> Result<Selection, Rejected> {
    let reject = |problem: String| Rejected {
        fd: None,
        problem,
        error: None,
    };
    let Some(pid) = variables.pid.as_deref() else {
        return Err(reject("LISTEN_FDS is set without LISTEN_PID".into()));
    };
    match pid.trim().parse::<u32>() {
        Ok(pid) if pid == our_pid => {}
        Ok(pid) => {
            log::info!(
                "socket activation: LISTEN_PID={pid} is not this process ({our_pid}); ignoring the passed sockets"
            );
            return Ok(Selection::NotOurs);
        }
        Err(_) => return Err(reject(format!("LISTEN_PID={pid:?} is not a process id"))),
    }
    let count = match variables
        .fds
        .as_deref()
        .map(|fds| fds.trim().parse::<u16>())
    {
        Some(Ok(count)) => count,
        Some(Err(_)) | None => {
            return Err(reject(format!(
                "LISTEN_FDS={:?} is not a count",
                variables.fds
            )));
        }
    };
    if count == 0 {
        return Ok(Selection::NotForMetrics);
    }
    let names: Vec<&str> = variables
        .names
        .as_deref()
        .map_or_else(Vec::new, |names| names.split(':').collect());
    if let Some(index) = names
        .iter()
        .take(usize::from(count))
        .position(|name| *name == wanted_name)
    {
        return Ok(Selection::Adopt {
            fd: FIRST_FD + index as RawFd,
            only: count == 1,
        });
    }
    if count == 1 && adopt_unnamed {
        return Ok(Selection::Adopt {
            fd: FIRST_FD,
            only: true,
        });
    }
    log::info!(
        "socket activation: {count} socket(s) passed (names {names:?}), none named \
         `{wanted_name}`: left to the application; the metrics listener binds its own address"
    );
    Ok(Selection::NotForMetrics)
}

/// Whether `socket` is a listening IPv4/IPv6 stream socket; else what it is, and the error of
/// the check that failed. Used for passed sockets and for the host's listener alike.
pub(crate) fn check_listening(
    socket: SockRef<'_>,
) -> Result<(), (&'static str, Option<io::Error>)> {
    match socket.r#type() {
        Ok(kind) if kind == Type::STREAM => {}
        Ok(_) => return Err(("is a socket but not a stream (TCP) socket", None)),
        Err(error) => return Err(("is not a socket", Some(error))),
    }
    match socket.domain() {
        Ok(domain) if domain == Domain::IPV4 || domain == Domain::IPV6 => {}
        Ok(_) => return Err(("is not an IPv4 or IPv6 socket", None)),
        Err(error) => return Err(("has no readable address family", Some(error))),
    }
    match socket.is_listener() {
        Ok(true) => Ok(()),
        Ok(false) => Err(("is not listening (listen() was never called on it)", None)),
        Err(error) => Err(("cannot be checked for SO_ACCEPTCONN", Some(error))),
    }
}

/// Takes ownership of `fd` if it is an open, listening IPv4/IPv6 stream socket.
pub(crate) fn adopt(fd: RawFd) -> Result<TcpListener, Rejected> {
    let reject = |problem: &str, error: Option<io::Error>| Rejected {
        fd: Some(fd),
        problem: problem.into(),
        error,
    };
    sys::with_open_socket(fd, |socket| {
        check_listening(socket).map_err(|(problem, error)| reject(problem, error))
    })
    .unwrap_or_else(|error| Err(reject("is not open", Some(error))))?;
    // SAFETY: the fd was passed to this process through LISTEN_FDS for the metrics listener
    // (its LISTEN_FDNAMES entry says so, or the host opted in to a single unnamed socket) and
    // it is an open listening TCP socket (checked above). It has one owner: when it was the
    // only socket passed the variables were removed before this call, so nothing else
    // adopts it; when several were passed they stay for the application's own sockets,
    // whose names tell it this one is not among them.
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    let socket = SockRef::from(&listener);
    let configured = socket
        .set_cloexec(true)
        .and_then(|()| listener.set_nonblocking(true));
    match configured {
        Ok(()) => Ok(listener),
        Err(error) => {
            // Give the fd back rather than closing what we could not set up.
            let _ = std::os::fd::IntoRawFd::into_raw_fd(listener);
            Err(reject(
                "cannot be made non-blocking and close-on-exec",
                Some(error),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variables(pid: Option<&str>, fds: Option<&str>, names: Option<&str>) -> Variables {
        Variables {
            pid: pid.map(Into::into),
            fds: fds.map(Into::into),
            names: names.map(Into::into),
        }
    }

    fn adopted(fd: RawFd, only: bool) -> Selection {
        Selection::Adopt { fd, only }
    }

    #[test]
    fn selection_follows_pid_count_and_names() {
        let named = variables(Some("42"), Some("1"), Some("metrics"));
        assert_eq!(
            select(&named, 42, "metrics", false).unwrap(),
            adopted(3, true)
        );
        assert_eq!(
            select(&named, 43, "metrics", false).unwrap(),
            Selection::NotOurs,
            "LISTEN_PID mismatch"
        );
        let several = variables(Some("42"), Some("3"), Some("http:grpc:metrics"));
        assert_eq!(
            select(&several, 42, "metrics", false).unwrap(),
            adopted(5, false)
        );
        assert_eq!(
            select(&several, 42, "admin", true).unwrap(),
            Selection::NotForMetrics
        );
        assert_eq!(
            select(&variables(Some("42"), Some("0"), None), 42, "m", true).unwrap(),
            Selection::NotForMetrics
        );
    }

    #[test]
    fn a_single_socket_not_named_for_metrics_is_the_application_s() {
        for names in [None, Some("http"), Some("")] {
            let one = variables(Some("42"), Some("1"), names);
            assert_eq!(
                select(&one, 42, "metrics", false).unwrap(),
                Selection::NotForMetrics,
                "{names:?}"
            );
            // Only an explicit opt-in adopts it.
            assert_eq!(select(&one, 42, "metrics", true).unwrap(), adopted(3, true));
        }
    }

    #[test]
    fn malformed_variables_are_rejected_with_the_value() {
        let problem = select(&variables(Some("x"), Some("1"), None), 1, "m", false)
            .unwrap_err()
            .problem;
        assert!(problem.contains("\"x\""), "{problem}");
        assert!(select(&variables(Some("1"), Some("-1"), None), 1, "m", false).is_err());
        assert!(select(&variables(None, Some("1"), None), 1, "m", false).is_err());
        // A name beyond LISTEN_FDS does not count.
        assert_eq!(
            select(
                &variables(Some("1"), Some("2"), Some("a:b:metrics")),
                1,
                "metrics",
                false
            )
            .unwrap(),
            Selection::NotForMetrics
        );
    }

    #[test]
    fn a_closed_fd_is_rejected_and_left_alone() {
        let rejected = adopt(987_654).unwrap_err();
        assert_eq!(rejected.fd, Some(987_654));
        assert_eq!(
            rejected.error.and_then(|error| error.raw_os_error()),
            Some(sys::EBADF)
        );
    }
}
