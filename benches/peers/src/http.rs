//! A minimal blocking HTTP/1.1 client: `GET` over one keep-alive connection.
//!
//! The HTTP bench measures servers, so the client does as little as possible: it writes a
//! fixed request, reads the head, then exactly the body (`Content-Length` or chunked).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One keep-alive connection to a server.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<TcpStream>,
    request: Vec<u8>,
    body: Vec<u8>,
    line: String,
}

impl Client {
    /// Connects to `address`, which will be asked for `path`.
    pub fn connect(address: SocketAddr, path: &str) -> io::Result<Client> {
        let stream = TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        // A server that stops answering fails the bench instead of hanging it.
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: */*\r\n\r\n").into_bytes();
        Ok(Client {
            reader: BufReader::with_capacity(64 * 1024, stream),
            request,
            body: Vec::new(),
            line: String::new(),
        })
    }

    /// Connects to `address` for `GET /metrics`, retrying for up to 2 s while the server
    /// starts; a bench set-up step, so it panics with the last error if the server never
    /// answers.
    pub fn connect_when_ready(address: SocketAddr) -> Client {
        let mut last_error = None;
        for _ in 0..100 {
            match Client::connect(address, "/metrics") {
                Ok(client) => return client,
                Err(error) => last_error = Some(error),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("cannot connect to {address}: {last_error:?}");
    }

    /// Sends one request and reads the whole response; the body.
    pub fn get(&mut self) -> io::Result<&[u8]> {
        self.reader.get_mut().write_all(&self.request)?;
        self.body.clear();
        let mut content_length = None;
        let mut chunked = false;
        let mut status_line = true;
        loop {
            self.line.clear();
            if self.reader.read_line(&mut self.line)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ));
            }
            let line = self.line.trim_end();
            if status_line {
                status_line = false;
                if !line.starts_with("HTTP/1.1 200") {
                    return Err(io::Error::other(format!("unexpected status: {line}")));
                }
                continue;
            }
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    content_length = value.parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding")
                    && value.eq_ignore_ascii_case("chunked")
                {
                    chunked = true;
                }
            }
        }
        if chunked {
            self.read_chunks()?;
        } else if let Some(length) = content_length {
            self.body.resize(length, 0);
            self.reader.read_exact(&mut self.body)?;
        } else {
            return Err(io::Error::other(
                "response has neither Content-Length nor chunked encoding",
            ));
        }
        Ok(&self.body)
    }

    fn read_chunks(&mut self) -> io::Result<()> {
        loop {
            self.line.clear();
            self.reader.read_line(&mut self.line)?;
            let size = self.line.trim_end().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| io::Error::other(format!("bad chunk size line {:?}", self.line)))?;
            let start = self.body.len();
            self.body.resize(start + size, 0);
            self.reader.read_exact(&mut self.body[start..])?;
            // The CRLF after the chunk (after the last, empty one: the end of the trailers).
            self.line.clear();
            self.reader.read_line(&mut self.line)?;
            if size == 0 {
                return Ok(());
            }
        }
    }
}

/// A loopback address with a port that was free a moment ago, for servers that cannot be
/// given port 0 and report the port they bound.
pub fn free_loopback_address() -> io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.local_addr()
}

/// The HTTP floor: a thread per connection answering every request with the same
/// pre-rendered response, read and written with blocking std sockets. No server can do less.
#[derive(Debug)]
pub struct PrerenderedServer {
    address: SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl PrerenderedServer {
    /// Serves `body` as `text/plain` on a loopback port chosen by the OS.
    pub fn start(body: &[u8]) -> io::Result<PrerenderedServer> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let mut response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(body);
        let response: std::sync::Arc<[u8]> = response.into();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let accept_stop = std::sync::Arc::clone(&stop);
        let accept = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_stop.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let response = std::sync::Arc::clone(&response);
                std::thread::spawn(move || {
                    // A closed or failed connection just ends its thread.
                    let _ = answer_every_request(stream, &response);
                });
            }
        });
        Ok(PrerenderedServer {
            address,
            stop,
            accept: Some(accept),
        })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for PrerenderedServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn answer_every_request(stream: TcpStream, response: &[u8]) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        // Skip the request head: lines up to the empty one.
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
        }
        writer.write_all(response)?;
    }
}
