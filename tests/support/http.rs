//! HTTP and process helpers for the exporter tests: a tiny HTTP/1.1 client on std sockets,
//! so the tests see exactly the bytes the exporter sends, and the demo and tool launchers.
//! (Included by path, next to the conformance helpers in `mod.rs`.)
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use promstatic::exporter::{Exporter, ExporterHandle};

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

/// The value of the unlabelled sample `name` in a text exposition (panics, with the text,
/// if it is missing).
pub fn unlabelled_value(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .parse()
        .unwrap()
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

pub fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Sends `method path` with extra header lines and `Connection: close`, reads the response.
pub fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Response {
    let mut stream = connect(address);
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let mut response = parse(&raw, method == "HEAD").0;
    if response
        .header("transfer-encoding")
        .is_some_and(|value| value.eq_ignore_ascii_case("chunked"))
    {
        // Servers other than ours (Prometheus' API) stream large bodies in chunks.
        response.body = dechunk(&response.body);
    }
    response
}

/// The payload of a complete chunked body (chunk extensions and trailers ignored).
fn dechunk(mut chunked: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = find(chunked, b"\r\n").expect("a chunk-size line");
        let size_text = std::str::from_utf8(&chunked[..line_end]).unwrap();
        let size_text = size_text.split(';').next().unwrap().trim();
        let size = usize::from_str_radix(size_text, 16).expect("a hexadecimal chunk size");
        if size == 0 {
            return body;
        }
        let data = &chunked[line_end + 2..];
        body.extend_from_slice(&data[..size]);
        chunked = &data[size + 2..];
    }
}

/// Reads one response from a kept-alive connection.
pub fn read_response(stream: &mut TcpStream, head_request: bool) -> Response {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = find(&raw, b"\r\n\r\n") {
            let (response, _) = parse(&raw, true);
            let length: usize = if head_request {
                0
            } else {
                response
                    .header("content-length")
                    .map_or(0, |value| value.parse().unwrap())
            };
            if raw.len() >= end + 4 + length {
                return parse(&raw[..end + 4 + length], head_request).0;
            }
        }
        let read = stream.read(&mut chunk).unwrap();
        assert!(
            read > 0,
            "connection closed mid-response: {:?}",
            String::from_utf8_lossy(&raw)
        );
        raw.extend_from_slice(&chunk[..read]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn parse(raw: &[u8], head_request: bool) -> (Response, usize) {
    let end = find(raw, b"\r\n\r\n").expect("a complete head");
    let head = std::str::from_utf8(&raw[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    let body = if head_request {
        Vec::new()
    } else {
        raw[end + 4..].to_vec()
    };
    (
        Response {
            status,
            headers,
            body,
        },
        end + 4,
    )
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

/// The path of an external tool, or `None` after printing why the test is skipped. Under
/// `PROMSTATIC_REQUIRE_TOOLS=1` (CI) a missing tool fails the test instead.
pub fn require_tool(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|directory| directory.join(name))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        let required = std::env::var("PROMSTATIC_REQUIRE_TOOLS").is_ok_and(|value| value == "1");
        assert!(
            !required,
            "`{name}` is not installed and PROMSTATIC_REQUIRE_TOOLS=1; install the Debian \
             package `prometheus`"
        );
        println!("skipped: `{name}` is not on PATH (install the Debian package `prometheus`)");
    }
    found
}

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
            // The same optional features as this test build, so every test of one run
            // builds (and finds) the same demo, with the access flags when they exist.
            let features: Vec<&str> = [
                ("auth", cfg!(feature = "auth")),
                ("tls", cfg!(feature = "tls")),
            ]
            .into_iter()
            .filter_map(|(name, on)| on.then_some(name))
            .collect();
            if !features.is_empty() {
                build.args(["--features", &features.join(",")]);
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
    // `http://` or, with TLS, `https://`.
    let start = line.find("://").expect("a URL on the line") + "://".len();
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

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
