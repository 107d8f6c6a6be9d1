//! HTTP authentication on the built-in server: basic auth with bcrypt hashes, bearer tokens,
//! 401 with a challenge, the failure counter, and wrong passwords that cannot slow a
//! legitimate (cached) scrape.

#![cfg(feature = "auth")]

use crate::support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use promstatic::exporter::{ConfigError, Exporter};
use support::{Response, connect, request, start, unlabelled_value};

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn get(address: SocketAddr, path: &str, authorization: Option<&str>) -> Response {
    match authorization {
        Some(value) => request(address, "GET", path, &[("Authorization", value)]),
        None => request(address, "GET", path, &[]),
    }
}

#[test]
fn basic_auth_accepts_the_bcrypt_password_only() {
    let hash = bcrypt::hash("secret", 4).unwrap();
    let (handle, address) = start(Exporter::new().basic_auth_user("prometheus", &hash));
    let missing = get(address, "/metrics", None);
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Basic realm=\"metrics\", charset=\"UTF-8\"")
    );
    assert_eq!(missing.header("connection"), Some("close"));
    for wrong in [
        basic("prometheus", "guess"),
        basic("nobody", "secret"),
        "Bearer secret".into(),
    ] {
        assert_eq!(
            get(address, "/metrics", Some(&wrong)).status,
            401,
            "{wrong}"
        );
    }
    // Twice: once through bcrypt, once from the cache.
    for _ in 0..2 {
        let ok = get(address, "/metrics", Some(&basic("prometheus", "secret")));
        assert_eq!(ok.status, 200);
        assert_eq!(
            unlabelled_value(&ok.text(), "promstatic_auth_failures_total"),
            4
        );
    }
    // `/health` stays open unless asked, `/` (a static index) too.
    assert_eq!(get(address, "/health", None).status, 200);
    assert_eq!(get(address, "/", None).status, 200);
    handle.shutdown();
}

#[test]
fn bearer_tokens_from_a_file_and_a_protected_health_check() {
    let directory = support::TempDir::new("auth-token");
    let file = directory.0.join("token");
    std::fs::write(&file, "  t0ken-from-file\n").unwrap();
    let (handle, address) = start(
        Exporter::new()
            .bearer_token_file(&file)
            .bearer_token("second")
            .auth_health(true),
    );
    let refused = get(address, "/health", None);
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.header("www-authenticate"),
        Some("Bearer realm=\"metrics\"")
    );
    assert_eq!(
        get(address, "/metrics", Some("Bearer t0ken-from-fil")).status,
        401
    );
    assert_eq!(
        get(address, "/metrics", Some("Bearer t0ken-from-file")).status,
        200
    );
    assert_eq!(get(address, "/health", Some("Bearer second")).status, 200);
    handle.shutdown();
}

#[test]
fn unusable_credentials_fail_start() {
    let directory = support::TempDir::new("auth-config");
    let empty = directory.0.join("users");
    std::fs::write(&empty, "# no users yet\n").unwrap();
    let cases = [
        Exporter::new().basic_auth_file(directory.0.join("missing")),
        Exporter::new().basic_auth_file(&empty),
        Exporter::new().basic_auth_user("prometheus", "not-a-hash"),
        Exporter::new().bearer_token(""),
    ];
    for exporter in cases {
        let error = exporter
            .address("127.0.0.1:0".parse().unwrap())
            .start()
            .unwrap_err();
        assert!(
            matches!(error, ConfigError::Credentials { .. }),
            "{error:?}"
        );
        println!("{error}");
    }
    let error = Exporter::new().bearer_token("x").service().unwrap_err();
    assert_eq!(
        error,
        ConfigError::NeedsBuiltInServer {
            what: "HTTP authentication"
        }
    );
}

/// Clients hammering the exporter with wrong passwords (each one a bcrypt run at cost 8,
/// hundreds of milliseconds) take every bcrypt place; a scrape with the cached password is
/// still answered at once, and a guess beyond the bound gets 429 instead of a queue.
#[test]
fn wrong_passwords_cannot_slow_a_cached_scrape() {
    let hash = bcrypt::hash("secret", 8).unwrap();
    let (handle, address) = start(Exporter::new().basic_auth_user("prometheus", &hash));
    let good = basic("prometheus", "secret");
    // Warms the cache (one bcrypt run, not timed).
    assert_eq!(get(address, "/metrics", Some(&good)).status, 200);
    let stop = Arc::new(AtomicBool::new(false));
    let attackers: Vec<_> = (0..4)
        .map(|index| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let wrong = basic("prometheus", &format!("guess-{index}"));
                    statuses.push(get(address, "/metrics", Some(&wrong)).status);
                }
                statuses
            })
        })
        .collect();
    // Waits (bounded) until the attackers are being turned away with 429: every place busy.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let probe = get(address, "/metrics", Some(&basic("prometheus", "probe")));
        if probe.status == 429 {
            assert_eq!(probe.header("retry-after"), Some("1"));
            break;
        }
        assert!(Instant::now() < deadline, "bcrypt places never filled up");
    }
    let mut timings = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let mut stream = connect(address);
        stream
            .write_all(
                format!(
                    "GET /metrics HTTP/1.1\r\nHost: t\r\nAuthorization: {good}\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            )
            .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        timings.push(started.elapsed());
        assert!(raw.starts_with(b"HTTP/1.1 200 OK\r\n"));
    }
    stop.store(true, Ordering::Relaxed);
    let mut statuses = Vec::new();
    for attacker in attackers {
        statuses.extend(attacker.join().unwrap());
    }
    assert!(
        statuses
            .iter()
            .all(|&status| status == 401 || status == 429)
    );
    timings.sort();
    println!("cached scrapes under a password flood: {timings:?}");
    assert!(
        timings[2] < Duration::from_millis(200),
        "median cached scrape took {:?}",
        timings[2]
    );
    handle.shutdown();
}

/// A refusal ends the connection, so every guess costs a new connection (which the
/// allowlist and TLS see first); a kept-alive client with a valid password keeps its own.
#[test]
fn a_refusal_closes_a_kept_alive_connection() {
    let hash = bcrypt::hash("secret", 4).unwrap();
    let (handle, address) = start(Exporter::new().basic_auth_user("prometheus", &hash));
    let head = |authorization: &str| {
        format!("GET /metrics HTTP/1.1\r\nHost: t\r\nAuthorization: {authorization}\r\n\r\n")
    };
    let mut guesser = connect(address);
    guesser
        .write_all(head(&basic("prometheus", "guess")).as_bytes())
        .unwrap();
    assert_eq!(support::read_response(&mut guesser, false).status, 401);
    assert!(support::closed_within(
        &mut guesser,
        Duration::from_secs(10)
    ));
    let mut scraper = connect(address);
    for _ in 0..2 {
        scraper
            .write_all(head(&basic("prometheus", "secret")).as_bytes())
            .unwrap();
        assert_eq!(support::read_response(&mut scraper, false).status, 200);
    }
    handle.shutdown();
}
