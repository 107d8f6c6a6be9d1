//! Building the listening socket, knob by knob.
//!
//! | knob | Linux / BSD / macOS | Windows | why |
//! |------|---------------------|---------|-----|
//! | close-on-exec | `SOCK_CLOEXEC` at creation (socket2 sets it; `fcntl(FD_CLOEXEC)` where the flag does not exist) | handles are created non-inheritable | a child we spawn must not keep our port after we exit |
//! | `SO_REUSEADDR` | on | **never** (there it lets another process steal a bound port) | lets a restarted instance bind while TIME_WAIT leftovers of the previous one remain; it does *not* let two live listeners share the port |
//! | `SO_EXCLUSIVEADDRUSE` | — | not set yet (socket2 has no wrapper; a Windows build would need `windows-sys`) | Windows' way to refuse port hijacking; Windows is not a supported target of this module today |
//! | `SO_REUSEPORT` | **never set** | — | with it, two live processes both bind and listen, the kernel splits connections (and scrapes) between them, and a real "already running" conflict is hidden |
//! | `IPV6_V6ONLY` | set explicitly: off for `[::]` when dual-stack is wanted and for IPv4-mapped addresses, on otherwise | same | the OS default differs (Linux 0, BSD/Windows 1); we do not inherit it |
//! | backlog | `listen(fd, backlog)` | same | room for a burst of connects until the exporter's connection policy sees them |
//! | non-blocking | `O_NONBLOCK` | `FIONBIO` | tokio's `TcpListener::from_std` requires it |
//!
//! Every step reports which system call failed: a failing `listen()` (for example
//! `EADDRINUSE` when another socket bound without `SO_REUSEADDR` is listening) goes through
//! the same diagnosis and policy as a failing `bind()`.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

/// The system call that failed while building a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// `socket()`: creating the socket.
    Socket,
    /// `setsockopt()`, `fcntl()` or `ioctl()`: setting an option before binding.
    Configure,
    /// `bind()`.
    Bind,
    /// `listen()`.
    Listen,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Socket => "socket()",
            Step::Configure => "setting socket options",
            Step::Bind => "bind()",
            Step::Listen => "listen()",
        })
    }
}

/// A failed construction: which step, and the OS error.
#[derive(Debug)]
pub(crate) struct BuildError {
    pub(crate) step: Step,
    pub(crate) error: io::Error,
}

/// Options for [`build`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub(crate) backlog: i32,
    /// For an IPv6 wildcard address: also accept IPv4 (`IPV6_V6ONLY` off).
    pub(crate) dual_stack: bool,
}

/// Creates, configures, binds and starts listening on `addr`; the result is non-blocking.
pub(crate) fn build(addr: SocketAddr, options: Options) -> Result<TcpListener, BuildError> {
    let at = |step| move |error| BuildError { step, error };
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(at(Step::Socket))?;
    configure(&socket, addr, options).map_err(at(Step::Configure))?;
    socket.bind(&addr.into()).map_err(at(Step::Bind))?;
    socket.listen(options.backlog).map_err(at(Step::Listen))?;
    Ok(socket.into())
}

fn configure(socket: &Socket, addr: SocketAddr, options: Options) -> io::Result<()> {
    // Close-on-exec: socket2 creates the socket with SOCK_CLOEXEC where the OS has it, and
    // sets FD_CLOEXEC right after creation elsewhere on Unix. Nothing left to do here.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    if let SocketAddr::V6(v6) = addr {
        // An IPv4-mapped address (`::ffff:a.b.c.d`) can only be bound with IPV6_V6ONLY off.
        let mapped = v6.ip().to_ipv4_mapped().is_some();
        let only_v6 = !(mapped || options.dual_stack && v6.ip().is_unspecified());
        socket.set_only_v6(only_v6)?;
    }
    socket.set_nonblocking(true)
}
