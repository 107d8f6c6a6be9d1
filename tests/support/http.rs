//! HTTP and process helpers for the exporter tests: the one HTTP/1.1 client of the test suite
//! (on std sockets, so the tests see exactly the bytes the exporter sends), and the demo and
//! tool launchers. Loaded as `support::http` by `support/mod.rs`, or on its own by path
//! (`#[path = "support/http.rs"] mod support;`, and from `reliability/support.rs`); either way
//! once per test binary, with the tool rule (`tools.rs`) and the free-port helper (`net.rs`).
#![allow(dead_code, unreachable_pub)]

#[path = "net.rs"]
mod net;
#[path = "tools.rs"]
mod tools;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use promstatic::exporter::{Exporter, ExporterHandle};

#[allow(unused_imports)] // not every test binary uses every helper
pub use net::free_port;
#[allow(unused_imports)]
pub use tools::{require_python_module, require_tool, skip, tools_required};

/// How long the panicking helpers wait for each step: generous, for a loaded machine.
const TIMEOUT: Duration = Duration::from_secs(10);
/// A parsed response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

/// Starts an exporter on a free loopback port.
pub fn start(exporter: Exporter) -> (ExporterHandle, SocketAddr) {
    let handle = exporter
        .address("127.0.0.1:0".parse().unwrap())
        .start()
        .unwrap();
    let address = handle.local_addr().expect("bound");
    (handle, address)
}

/// An exporter whose exposition is far larger than the socket buffers (16 constant labels of
/// 60 kB on every sample, ~1 MB in all), so a client that does not read keeps its response
/// in flight.
pub fn large_exposition(exporter: Exporter) -> Exporter {
    let value = "v".repeat(60_000);
    let mut exporter = exporter.process_metrics(false);
    for index in 0..16 {
        exporter = exporter.const_label(&format!("label_{index}"), &value);
    }
    exporter
}

/// Splits raw bytes read from a connection into the lower-cased response head, the
/// `Content-Length` it announces, and the body bytes received.
pub fn split_response(raw: &[u8]) -> (String, usize, &[u8]) {
    let head_end = find(raw, b"\r\n\r\n").expect("a complete response head");
    let head = String::from_utf8_lossy(&raw[..head_end]).to_lowercase();
    let announced = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .expect("a Content-Length header")
        .parse()
        .expect("a numeric Content-Length");
    (head, announced, &raw[head_end + 4..])
}

/// Connects with `timeout` on the connection and on every read and write.
pub fn try_connect(address: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// [`try_connect`] with the default timeout; panics on failure.
pub fn connect(address: SocketAddr) -> TcpStream {
    try_connect(address, TIMEOUT).unwrap_or_else(|error| panic!("connect to {address}: {error}"))
}

/// Sends `method path` with extra header lines and `Connection: close`, reads the response,
/// then waits for the server to close (so its connection bookkeeping is done on return).
pub fn try_request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> io::Result<Response> {
    let mut stream = try_connect(address, timeout)?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    let response = try_read_response(&mut stream, method == "HEAD")?;
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest)?;
    if !rest.is_empty() {
        return Err(io::Error::other(format!(
            "{} bytes after the response: {:?}",
            rest.len(),
            String::from_utf8_lossy(&rest)
        )));
    }
    Ok(response)
}

/// [`try_request`] with the default timeout; panics on failure.
pub fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Response {
    try_request(address, method, path, headers, TIMEOUT)
        .unwrap_or_else(|error| panic!("{method} {path} on {address}: {error}"))
}

/// Sends `GET path` on a kept-alive `stream` and reads one response.
pub fn get_on(stream: &mut TcpStream, path: &str) -> io::Result<Response> {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
    try_read_response(stream, false)
}

/// One `GET path` on a fresh kept-alive connection, dropped after the response.
pub fn try_get(address: SocketAddr, path: &str, timeout: Duration) -> io::Result<Response> {
    let mut stream = try_connect(address, timeout)?;
    get_on(&mut stream, path)
}

/// Reads one response from `stream`: the head, then a body of `Content-Length` bytes, or
/// chunked, or up to the end of the connection; none for a `HEAD` request.
pub fn try_read_response(stream: &mut TcpStream, head_request: bool) -> io::Result<Response> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        // One byte at a time: nothing of a next response on a kept-alive connection is
        // consumed, and heads are small.
        head.push(read_byte(stream)?);
        if head.len() > 64 * 1024 {
            return Err(io::Error::other("response head too large"));
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {status_line:?}")))?;
    let headers = lines
        .filter(|line| !line.is_empty())
        .map(|line| {
            line.split_once(':')
                .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
                .ok_or_else(|| io::Error::other(format!("bad header line {line:?}")))
        })
        .collect::<io::Result<Vec<_>>>()?;
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if head_request {
        return Ok(response);
    }
    if let Some(length) = response.header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| io::Error::other(format!("bad Content-Length {length:?}")))?;
        response.body.resize(length, 0);
        stream.read_exact(&mut response.body)?;
    } else if response
        .header("transfer-encoding")
        .is_some_and(|value| value.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size_line = Vec::new();
            while !size_line.ends_with(b"\r\n") {
                size_line.push(read_byte(stream)?);
            }
            let size_text = String::from_utf8_lossy(&size_line);
            let size = usize::from_str_radix(size_text.trim(), 16)
                .map_err(|_| io::Error::other(format!("bad chunk size {size_text:?}")))?;
            let mut chunk = vec![0u8; size + 2];
            stream.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            response.body.extend_from_slice(&chunk[..size]);
        }
    } else {
        stream.read_to_end(&mut response.body)?;
    }
    Ok(response)
}

/// [`try_read_response`]; panics on failure, with what was received.
pub fn read_response(stream: &mut TcpStream, head_request: bool) -> Response {
    try_read_response(stream, head_request)
        .unwrap_or_else(|error| panic!("reading a response: {error}"))
}

fn read_byte(stream: &mut TcpStream) -> io::Result<u8> {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte)? {
        0 => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed mid-response",
        )),
        _ => Ok(byte[0]),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Whether the peer closed the connection (EOF or reset) within `within`.
pub fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => matches!(
            error.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
        ),
    }
}

/// The Accept headers real Prometheus servers send (see `src/exporter/negotiate.rs`).
pub const PROMETHEUS_2_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
pub const PROMETHEUS_2_49_ACCEPT: &str = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
pub const PROMETHEUS_3_ACCEPT: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
/// Prometheus 2.40 to 2.48 with `--enable-feature=native-histograms` (`scrapeAcceptHeaderWithProtobuf`).
pub const PROMETHEUS_2_NATIVE_ACCEPT: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// Prometheus 3.x with native histograms (`DefaultProtoFirstScrapeProtocols`, weights from 0.6).
pub const PROMETHEUS_3_NATIVE_ACCEPT: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";

/// The demo example's binary, built (or brought up to date) once per test binary.
///
/// `cargo test` builds examples, but `cargo test --test NAME` alone does not, and a stale
/// demo would test old code: so ask cargo once, which is instant when it is current.
pub fn demo_binary() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let executable = std::env::current_exe().unwrap();
            // target/<profile>/deps/<test> -> target/<profile>/examples/demo
            let profile = executable.parent().unwrap().parent().unwrap();
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut build = std::process::Command::new(cargo);
            build
                .args(["build", "--example", "demo"])
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            if profile.file_name().is_some_and(|name| name == "release") {
                build.arg("--release");
            }
            assert!(
                build.status().unwrap().success(),
                "building the demo failed"
            );
            profile
                .join("examples")
                .join(format!("demo{}", std::env::consts::EXE_SUFFIX))
        })
        .clone()
}

/// A child process that is killed (by its pid, through `Child::kill`) if the test ends early.
pub struct Spawned {
    pub child: std::process::Child,
}

impl Spawned {
    /// Sends SIGTERM and waits up to `within` for the exit status.
    #[cfg(unix)]
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: `kill` has no memory preconditions; the pid is our own child, not yet reaped.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts the demo with `arguments`; stdout and stderr are piped.
pub fn spawn_demo(arguments: &[&str]) -> Spawned {
    spawn_demo_with_env(arguments, &[])
}

/// [`spawn_demo`] with extra environment variables.
pub fn spawn_demo_with_env(arguments: &[&str], env: &[(&str, &std::path::Path)]) -> Spawned {
    let child = std::process::Command::new(demo_binary())
        .args(arguments)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    Spawned { child }
}

/// Reads the demo's first stdout line and returns the address in its URL.
pub fn demo_address(demo: &mut Spawned) -> SocketAddr {
    // Byte by byte, so nothing after the line is consumed (tests check what follows).
    let stdout = demo.child.stdout.as_mut().unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    let line = String::from_utf8(line).unwrap();
    let start = line.find("http://").expect("a URL on the line") + "http://".len();
    let end = line[start..].find("/metrics").unwrap() + start;
    line[start..end].parse().unwrap()
}

/// A fresh empty directory under the system temp dir, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let path =
            std::env::temp_dir().join(format!("promstatic-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A Prometheus server started by a test: loopback, a free port, its TSDB in `directory`,
/// its stderr kept for the failure message. Killed by its pid (through `Child::kill`) when
/// dropped, pass or fail.
pub struct Prometheus {
    pub web: SocketAddr,
    server: Spawned,
}

impl Prometheus {
    /// Starts `binary` with 1 s scrape and evaluation intervals and `scrape_configs` (YAML
    /// list items, indented by two spaces) as its scrape configs.
    pub fn start(
        binary: &std::path::Path,
        directory: &std::path::Path,
        scrape_configs: &str,
    ) -> Prometheus {
        Prometheus::start_with_flags(binary, directory, scrape_configs, &[])
    }

    /// [`Prometheus::start`] with extra command-line `flags` (`--enable-feature=…`).
    pub fn start_with_flags(
        binary: &std::path::Path,
        directory: &std::path::Path,
        scrape_configs: &str,
        flags: &[&str],
    ) -> Prometheus {
        let config = directory.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n{scrape_configs}"
            ),
        )
        .unwrap();
        let web = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let child = std::process::Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                directory.join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .arg("--log.level=warn")
            .args(flags)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        Prometheus {
            web,
            server: Spawned { child },
        }
    }

    /// The body of `GET path` on the web API; `None` while the server does not accept
    /// connections or is not ready yet (503). Panics with its stderr if it has exited.
    pub fn get(&mut self, path: &str) -> Option<String> {
        if let Some(status) = self.server.child.try_wait().unwrap() {
            let mut stderr = String::new();
            if let Some(mut pipe) = self.server.child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            panic!("prometheus exited early ({status}):\n{stderr}");
        }
        TcpStream::connect_timeout(&self.web, Duration::from_secs(2)).ok()?;
        let response = request(self.web, "GET", path, &[]);
        match response.status {
            200 => Some(response.text()),
            503 => None,
            status => panic!("GET {path}: status {status}: {}", response.text()),
        }
    }
}
