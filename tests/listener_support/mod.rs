//! Shared helpers for the listener tests: socket option checks, child processes that are
//! always killed and reaped, the holder helper, and a socket-activation launcher.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use promstatic::listener::{self, BindPolicy};

#[path = "../support/net.rs"]
mod net;
#[path = "../support/tools.rs"]
mod tools;

#[allow(unused_imports)] // not every listener test binary needs a port number
pub use net::free_port;
pub use tools::tools_required;

/// Environment variable that turns a test binary's `helper_entry` test into a helper role.
pub const ROLE: &str = "PROMSTATIC_LISTENER_HELPER";
/// How long any helper lives at most, whatever happens to the parent.
pub const HELPER_LIFETIME: Duration = Duration::from_secs(20);

/// SO_REUSEADDR on, SO_REUSEPORT off, close-on-exec on, non-blocking.
pub fn assert_socket_options(listener: &TcpListener) {
    let socket = socket2::SockRef::from(listener);
    assert!(socket.reuse_address().unwrap(), "SO_REUSEADDR must be 1");
    assert!(!socket.reuse_port().unwrap(), "SO_REUSEPORT must be 0");
    assert!(
        is_cloexec(listener.as_raw_fd()),
        "close-on-exec must be set"
    );
    assert!(
        socket.nonblocking().unwrap(),
        "the listener must be non-blocking"
    );
    assert!(socket.is_listener().unwrap());
}

pub fn is_cloexec(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads descriptor flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    flags != -1 && flags & libc::FD_CLOEXEC != 0
}

/// A child that is killed and reaped when dropped; its stdout lines arrive on a channel.
pub struct ChildGuard {
    pub child: Child,
    lines: Option<mpsc::Receiver<String>>,
}

impl ChildGuard {
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines: Some(receiver),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The rest of the first line starting with `HELPER <key> `, within `timeout`.
    pub fn expect(&mut self, key: &str, timeout: Duration) -> String {
        let prefix = format!("HELPER {key} ");
        let deadline = Instant::now() + timeout;
        let lines = self.lines.as_ref().unwrap();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    // The harness may have printed `test helper_entry ... ` on the same line.
                    if let Some(start) = line.find(&prefix) {
                        return line[start + prefix.len()..].to_owned();
                    }
                }
                Err(error) => {
                    panic!("no `{prefix}` line from the child within {timeout:?}: {error}")
                }
            }
        }
    }

    /// Waits for the child to exit by itself, within `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "child {} did not exit within {timeout:?}",
                self.pid()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Only our own child, by pid; reaped so no zombie is left behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// This test binary running only its `helper_entry` test, in `role`.
pub fn helper_command(role: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "helper_entry", "--nocapture", "--test-threads=1"])
        .env(ROLE, role);
    command
}

/// Starts another instance of this program holding `addr` (through the listener module)
/// for `hold` (or until killed), answering each connection with `HOLDER <pid>`.
pub fn spawn_instance(addr: SocketAddr, hold: Option<Duration>) -> ChildGuard {
    let mut command = helper_command("hold");
    command.env("PROMSTATIC_HOLD_ADDR", addr.to_string());
    command.env(
        "PROMSTATIC_HOLD_MS",
        hold.map_or(0, |hold| hold.as_millis()).to_string(),
    );
    let mut child = ChildGuard::spawn(command);
    let ready = child.expect("READY", Duration::from_secs(10));
    assert_eq!(ready, addr.to_string());
    child
}

/// The `hold` role: bind with the listener module, answer connections, exit on time.
pub fn hold_role() {
    let addr: SocketAddr = std::env::var("PROMSTATIC_HOLD_ADDR")
        .unwrap()
        .parse()
        .unwrap();
    let hold_ms: u64 = std::env::var("PROMSTATIC_HOLD_MS")
        .unwrap()
        .parse()
        .unwrap();
    let lifetime = if hold_ms == 0 {
        HELPER_LIFETIME
    } else {
        Duration::from_millis(hold_ms)
    };
    let binding = listener::open(
        BindPolicy::new(addr)
            .socket_activation(false)
            .budget(Duration::from_secs(5)),
    );
    let listener = binding.wait(Some(Duration::from_secs(6))).unwrap();
    assert_socket_options(&listener);
    println!("HELPER READY {}", listener.local_addr().unwrap());
    let deadline = Instant::now() + lifetime;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((mut stream, _)) => {
                use std::io::Write;
                let _ = stream.set_nonblocking(false);
                let _ = writeln!(stream, "HOLDER {}", std::process::id());
            }
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    // Exiting closes the socket: the port is released.
    std::process::exit(0);
}

/// Connects to `addr` and returns the greeting line, or `None` when nobody answers
/// within 1 s (a listener that never accepts, or a refused connection).
pub fn greeting(addr: SocketAddr) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    Some(text.trim().to_owned())
}

/// `python3 -m http.server` on 127.0.0.1:`port`, once it accepts connections; `None`
/// (after printing why) when python3 is absent and tools are not required.
pub fn spawn_python_http_server(port: u16) -> Option<ChildGuard> {
    let mut command = Command::new("python3");
    command.args([
        "-m",
        "http.server",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
    ]);
    let spawned = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match spawned {
        Ok(child) => ChildGuard { child, lines: None },
        Err(error) if !tools_required() => {
            println!("skipped: python3 is not available ({error})");
            return None;
        }
        Err(error) => panic!("python3 is required (PROMSTATIC_REQUIRE_TOOLS=1): {error}"),
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "python3 -m http.server did not start listening on {addr}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child)
}

/// How the launcher sets `LISTEN_PID`.
#[derive(Clone, Copy)]
pub enum ListenPid {
    /// The pid of the launched program (the shell's `$$`, kept across `exec`).
    Child,
    /// Some other pid.
    Other(u32),
}

/// A socket-activation launcher (what systemd does): `fd` becomes fd 3 of the child, without
/// close-on-exec, and `LISTEN_PID`/`LISTEN_FDS`/`LISTEN_FDNAMES` are set. A shell sets
/// `LISTEN_PID=$$` and `exec`s the program, so the pid is the program's own.
pub fn launch_activated(fd: RawFd, pid: ListenPid, names: &str, role: &str) -> ChildGuard {
    let inner = helper_command(role);
    let mut command = Command::new("/bin/sh");
    let script = match pid {
        ListenPid::Child => r#"LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@""#.to_owned(),
        ListenPid::Other(other) => {
            format!(r#"LISTEN_PID={other}; export LISTEN_PID; exec "$0" "$@""#)
        }
    };
    command
        .arg("-c")
        .arg(script)
        .arg(inner.get_program())
        .args(inner.get_args());
    command
        .env(ROLE, role)
        .env("LISTEN_FDS", "1")
        .env("LISTEN_FDNAMES", names);
    // SAFETY: the closure only calls dup2 and fcntl, which are async-signal-safe, on fds
    // that exist in the forked child.
    unsafe {
        command.pre_exec(move || {
            if libc::dup2(fd, 3) == -1 || libc::fcntl(3, libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    ChildGuard::spawn(command)
}

/// A scratch directory under the system temp dir, removed on drop.
pub struct Scratch(pub std::path::PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("promstatic-listener-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
