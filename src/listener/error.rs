//! [`ListenerError`]: what failed, who holds the port, what was done, what to do.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::diagnose::{Diagnosis, Holder};
use super::{Fallback, Step};
use crate::sys;

/// Why the listener is not (yet) available. Each variant keeps the OS error (with its raw
/// errno) and, for an address in use, the [`Diagnosis`]; `Display` is a complete message
/// meant to be shown to the user as is.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ListenerError {
    /// Building a listener on the configured address failed.
    Bind {
        /// The address tried.
        addr: SocketAddr,
        /// The system call that failed.
        step: Step,
        /// The OS error (shared, so that states and errors can be cloned).
        error: Arc<io::Error>,
        /// Who holds the port, on `EADDRINUSE` (boxed: it is large and rare).
        diagnosis: Option<Box<Diagnosis>>,
        /// Attempts made so far.
        attempts: u32,
        /// Time since the first attempt.
        elapsed: Duration,
        /// `false` while the listener is still retrying.
        gave_up: bool,
        /// The machine's addresses, on `EADDRNOTAVAIL`.
        local_addresses: Vec<IpAddr>,
    },
    /// The configured address failed, and so did the fallback.
    Fallback {
        /// The configured address's failure.
        primary: Box<ListenerError>,
        /// The fallback that was tried.
        fallback: Fallback,
        /// The fallback's last OS error.
        error: Arc<io::Error>,
    },
    /// A socket passed by systemd socket activation cannot be used (never retried).
    Activation {
        /// The fd, when one was chosen.
        fd: Option<i32>,
        /// What is wrong with it.
        problem: String,
        /// The OS error behind the problem, if any.
        error: Option<Arc<io::Error>>,
    },
    /// The listener handed in by the host ([`BindPolicy::listener`](super::BindPolicy::listener))
    /// cannot be made non-blocking or has no local address.
    HostListener {
        /// The OS error.
        error: Arc<io::Error>,
    },
    /// The background retry thread could not be started.
    Spawn {
        /// The OS error.
        error: Arc<io::Error>,
    },
    /// [`Binding::wait`](super::Binding::wait) returned before a final outcome.
    WaitTimedOut {
        /// How long it waited.
        waited: Duration,
    },
    /// The listener was already handed over by an earlier `wait`.
    AlreadyTaken,
}

impl ListenerError {
    /// The OS error code behind this error, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.io_error().and_then(io::Error::raw_os_error)
    }

    /// The OS error behind this error, if any.
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            ListenerError::Bind { error, .. }
            | ListenerError::Fallback { error, .. }
            | ListenerError::HostListener { error }
            | ListenerError::Spawn { error } => Some(&**error),
            ListenerError::Activation { error, .. } => error.as_deref(),
            ListenerError::WaitTimedOut { .. } | ListenerError::AlreadyTaken => None,
        }
    }

    /// Who holds the port, when the configured address was in use.
    pub fn diagnosis(&self) -> Option<&Diagnosis> {
        match self {
            ListenerError::Bind { diagnosis, .. } => diagnosis.as_deref(),
            ListenerError::Fallback { primary, .. } => primary.diagnosis(),
            _ => None,
        }
    }
}

impl std::error::Error for ListenerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ListenerError::Fallback { primary, .. } => Some(&**primary),
            other => other
                .io_error()
                .map(|error| error as &(dyn std::error::Error + 'static)),
        }
    }
}

impl fmt::Display for ListenerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenerError::Bind {
                addr,
                step,
                error,
                diagnosis,
                attempts,
                elapsed,
                gave_up,
                local_addresses,
            } => {
                write!(f, "cannot listen on {addr}: {step} failed: {error}")?;
                if let Some(diagnosis) = diagnosis {
                    write_diagnosis(f, addr.port(), diagnosis)?;
                }
                if !gave_up {
                    write!(f, "; retrying (attempt {attempts}, {elapsed:.1?} so far)")?;
                } else if *attempts > 1 {
                    write!(f, "; gave up after {attempts} attempts in {elapsed:.1?}")?;
                } else {
                    f.write_str("; not retried")?;
                }
                write_advice(f, *addr, error, diagnosis.as_deref(), local_addresses)
            }
            ListenerError::Fallback {
                primary,
                fallback,
                error,
            } => {
                write!(
                    f,
                    "{primary}. The fallback ({fallback}) failed too: {error}"
                )
            }
            ListenerError::Activation { fd, problem, error } => {
                f.write_str("socket activation: ")?;
                if let Some(fd) = fd {
                    write!(f, "fd {fd} ")?;
                }
                f.write_str(problem)?;
                if let Some(error) = error {
                    write!(f, " ({error})")?;
                }
                f.write_str(
                    "; the listener is disabled (no retry on this path). Fix the socket unit \
                     (ListenStream=, FileDescriptorName=) or turn socket activation off",
                )
            }
            ListenerError::HostListener { error } => write!(
                f,
                "the listener handed in by the host is unusable: {error}; the listener is \
                 disabled. Hand in a bound, listening TCP listener, or none"
            ),
            ListenerError::Spawn { error } => {
                write!(
                    f,
                    "cannot start the listener's retry thread: {error}; the listener is disabled"
                )
            }
            ListenerError::WaitTimedOut { waited } => {
                write!(
                    f,
                    "no listener after waiting {waited:.1?}; still retrying in the background"
                )
            }
            ListenerError::AlreadyTaken => {
                f.write_str("the listener was already handed over by an earlier wait()")
            }
        }
    }
}

fn write_diagnosis(f: &mut fmt::Formatter<'_>, port: u16, diagnosis: &Diagnosis) -> fmt::Result {
    write!(f, "; port {port}: {}", diagnosis.holder)?;
    if let Some(listening) = diagnosis.listening_on {
        write!(f, " (listening on {listening})")?;
    }
    // Only relevant when no listener explains the conflict.
    if let (Holder::NoListener { .. }, Some((low, high))) =
        (&diagnosis.holder, diagnosis.ephemeral_range)
    {
        write!(
            f,
            "; the port lies inside net.ipv4.ip_local_port_range ({low}-{high}), so outgoing \
             connections may use it as their source port"
        )?;
    }
    Ok(())
}

fn write_advice(
    f: &mut fmt::Formatter<'_>,
    addr: SocketAddr,
    error: &io::Error,
    diagnosis: Option<&Diagnosis>,
    local_addresses: &[IpAddr],
) -> fmt::Result {
    let port = addr.port();
    f.write_str(". What to do: ")?;
    if let Some(diagnosis) = diagnosis {
        return match &diagnosis.holder {
            Holder::ThisProcess => f.write_str(
                "the listener was opened twice in this process; open it once and share the result",
            ),
            Holder::Dying(process) => write!(
                f,
                "wait for pid {} to finish exiting; a large core dump can take seconds \
                 (limit it with `ulimit -c` or LimitCORE=)",
                process.pid
            ),
            Holder::SameProgram(process) => write!(
                f,
                "another instance is running: stop it (`kill {}`) or give this one another port \
                 or a fallback",
                process.pid
            ),
            Holder::OtherProgram(process) => write!(
                f,
                "stop pid {} or configure another port for the metrics listener (or a fallback)",
                process.pid
            ),
            Holder::Hidden { uid } => write!(
                f,
                "run `ss -ltnp 'sport = :{port}'` as root to find the process of uid {uid}, or \
                 choose another port"
            ),
            Holder::NoListener { .. } if diagnosis.ephemeral_range.is_some() => write!(
                f,
                "choose a port outside ip_local_port_range, or reserve it with \
                 `sysctl net.ipv4.ip_local_reserved_ports={port}`"
            ),
            Holder::NoListener { .. } | Holder::Unknown { .. } => {
                write!(
                    f,
                    "check `ss -tanp 'sport = :{port}'`, or choose another port"
                )
            }
        };
    }
    match error.raw_os_error() {
        Some(sys::EACCES | sys::EPERM) => write!(
            f,
            "ports below 1024 need CAP_NET_BIND_SERVICE (or a lower \
             net.ipv4.ip_unprivileged_port_start); use a port of 1024 or more"
        ),
        Some(sys::EADDRNOTAVAIL) => {
            write!(
                f,
                "{} is not assigned to this machine; use one of: ",
                addr.ip()
            )?;
            if local_addresses.is_empty() {
                f.write_str("(no address found)")
            } else {
                let list: Vec<String> = local_addresses.iter().map(IpAddr::to_string).collect();
                f.write_str(&list.join(", "))
            }
        }
        Some(sys::EMFILE | sys::ENFILE) => f.write_str(
            "raise the open-file limit (`ulimit -n`, LimitNOFILE=) or close unused files",
        ),
        _ => f.write_str("check the address and the system's network configuration"),
    }
}
