//! Out of file descriptors: the accept loop backs off instead of spinning, and recovers.
//!
//! Its own test binary, because it lowers the process-wide `RLIMIT_NOFILE`.

#![cfg(all(feature = "exporter", target_os = "linux"))]

#[path = "support/http.rs"]
mod support;

use std::fs::File;
use std::io::Write;
use std::time::Duration;

use promstatic::exporter::Exporter;
use support::{read_response, start};

/// CPU seconds this process has used (user + system); `getrusage` needs no descriptor.
fn cpu_seconds() -> f64 {
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage`.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

#[test]
fn accept_backs_off_on_emfile_and_recovers() {
    let (handle, address) = start(Exporter::new());

    // Lower the soft limit so exhausting it is cheap, then use up every descriptor.
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit`.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    let original = limit;
    limit.rlim_cur = limit.rlim_cur.min(256);
    // SAFETY: `limit` is a valid `rlimit` with the soft limit at or below the hard one.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let mut fillers = Vec::new();
    while let Ok(file) = File::open("/dev/null") {
        fillers.push(file);
        assert!(fillers.len() < 100_000);
    }
    // One descriptor for the client; the server then has none to accept it with.
    fillers.pop();
    let mut client = std::net::TcpStream::connect(address).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    client
        .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();

    // While exhausted, a spinning accept loop would burn a whole core.
    let before = cpu_seconds();
    std::thread::sleep(Duration::from_secs(1));
    let burned = cpu_seconds() - before;
    println!("CPU used by the process while out of descriptors: {burned:.3} s in 1 s");
    assert!(
        burned < 0.1,
        "the accept loop used {burned} s of CPU in 1 s while out of fds"
    );

    // Descriptors come back: the waiting client is served.
    drop(fillers);
    // SAFETY: restoring the limits read above.
    assert_eq!(
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &original) },
        0
    );
    let response = read_response(&mut client, false);
    assert_eq!(response.status, 200);
    handle.shutdown();
}
