//! systemd socket activation: adopting a listening socket passed on fd 3 and up.
//!
//! The protocol (`sd_listen_fds(3)`): `LISTEN_PID` is the pid the sockets are meant for,
//! `LISTEN_FDS` how many consecutive fds starting at 3 were passed, and the optional
//! `LISTEN_FDNAMES` a colon-separated name per fd (`FileDescriptorName=` in the unit). The
//! variables are removed once read, as `sd_listen_fds(1)` does, so that children we spawn do
//! not believe the sockets are theirs. The chosen fd must be an open, listening, IPv4 or
//! IPv6 stream socket; anything else is a configuration error reported as such (this path
//! never retries, and never closes an fd it did not adopt).

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

/// Reads and removes the variables; `None` when `LISTEN_PID` and `LISTEN_FDS` are both absent.
///
/// # Caveat
/// Removing an environment variable while another thread reads the environment through C
/// (`getenv` in libc, or in a C library) is a data race. [`crate::listener::open`] documents
/// that it must run before the program starts threads that read the environment, or with
/// socket activation turned off.
pub(crate) fn take_variables() -> Option<Variables> {
    let variables = Variables {
        pid: std::env::var("LISTEN_PID").ok(),
        fds: std::env::var("LISTEN_FDS").ok(),
        names: std::env::var("LISTEN_FDNAMES").ok(),
    };
    if variables.pid.is_none() && variables.fds.is_none() {
        return None;
    }
    for name in VARIABLES {
        // SAFETY: `remove_var` is unsafe because a concurrent read of the environment by
        // another thread (through libc `getenv`) races with it. This crate starts no thread
        // before this point (the retry thread is spawned after activation is handled), and
        // `open` documents that the host must call it before starting threads that read the
        // environment, or turn socket activation off. This is the same contract as
        // `sd_listen_fds(unset_environment = 1)`.
        unsafe { std::env::remove_var(name) };
    }
    Some(variables)
}

/// Picks the fd to adopt: `Ok(None)` when the sockets are not for this process.
pub(crate) fn select(
    variables: &Variables,
    our_pid: u32,
    wanted_name: &str,
) -> Result<Option<RawFd>, Rejected> {
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
            return Ok(None);
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
        return Ok(None);
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
        return Ok(Some(FIRST_FD + index as RawFd));
    }
    if count == 1 {
        return Ok(Some(FIRST_FD));
    }
    Err(reject(format!(
        "{count} sockets were passed (names {names:?}) and none is named `{wanted_name}`"
    )))
}

/// Sets close-on-exec on every passed fd, as `sd_listen_fds` does, so children do not
/// inherit them; closed fds are skipped.
pub(crate) fn set_cloexec_on_passed(variables: &Variables) {
    let count = variables
        .fds
        .as_deref()
        .and_then(|fds| fds.trim().parse::<u16>().ok())
        .unwrap_or(0);
    for fd in FIRST_FD..FIRST_FD + RawFd::from(count) {
        // A closed fd (`Err`) is skipped.
        if let Ok(Err(error)) = sys::with_open_socket(fd, |socket| socket.set_cloexec(true)) {
            log::debug!("socket activation: cannot set close-on-exec on fd {fd}: {error}");
        }
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
        match socket.r#type() {
            Ok(kind) if kind == Type::STREAM => {}
            Ok(_) => return Err(reject("is a socket but not a stream (TCP) socket", None)),
            Err(error) => return Err(reject("is not a socket", Some(error))),
        }
        match socket.domain() {
            Ok(domain) if domain == Domain::IPV4 || domain == Domain::IPV6 => {}
            Ok(_) => return Err(reject("is not an IPv4 or IPv6 socket", None)),
            Err(error) => return Err(reject("has no readable address family", Some(error))),
        }
        match socket.is_listener() {
            Ok(true) => Ok(()),
            Ok(false) => Err(reject(
                "is not listening (listen() was never called on it)",
                None,
            )),
            Err(error) => Err(reject("cannot be checked for SO_ACCEPTCONN", Some(error))),
        }
    })
    .unwrap_or_else(|error| Err(reject("is not open", Some(error))))?;
    // SAFETY: the fd was passed to this process through LISTEN_FDS for it to own, it is an
    // open listening TCP socket (checked above), and the variables were removed before this
    // call, so no other part of the program adopts it a second time.
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

    #[test]
    fn selection_follows_pid_count_and_names() {
        let one = variables(Some("42"), Some("1"), None);
        assert_eq!(select(&one, 42, "metrics").unwrap(), Some(3));
        assert_eq!(
            select(&one, 43, "metrics").unwrap(),
            None,
            "LISTEN_PID mismatch"
        );
        let named = variables(Some("42"), Some("3"), Some("http:grpc:metrics"));
        assert_eq!(select(&named, 42, "metrics").unwrap(), Some(5));
        assert!(
            select(&named, 42, "admin")
                .unwrap_err()
                .problem
                .contains("none is named `admin`")
        );
        assert_eq!(
            select(&variables(Some("42"), Some("0"), None), 42, "m").unwrap(),
            None
        );
        let only_one_unnamed = variables(Some("42"), Some("1"), Some("http"));
        assert_eq!(select(&only_one_unnamed, 42, "metrics").unwrap(), Some(3));
    }

    #[test]
    fn malformed_variables_are_rejected_with_the_value() {
        let problem = select(&variables(Some("x"), Some("1"), None), 1, "m")
            .unwrap_err()
            .problem;
        assert!(problem.contains("\"x\""), "{problem}");
        assert!(select(&variables(Some("1"), Some("-1"), None), 1, "m").is_err());
        assert!(select(&variables(None, Some("1"), None), 1, "m").is_err());
        // A name beyond LISTEN_FDS does not count.
        assert!(
            select(
                &variables(Some("1"), Some("2"), Some("a:b:metrics")),
                1,
                "metrics"
            )
            .is_err()
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
