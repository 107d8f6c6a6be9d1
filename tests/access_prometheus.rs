//! The Debian Prometheus 2.42 scrapes the demo over TLS: with basic auth (a `$2y$` bcrypt
//! hash, as `htpasswd -nB` writes), with a client certificate, with a wrong password (it
//! must see `up == 0` and the 401), and with a bearer token while the demo's certificate is
//! rotated (every scrape on a new connection, all of them healthy).
//!
//! Loopback only, certificates made in the test, a throwaway TSDB, free ports. The servers
//! it started are killed by their pids (through `Child::kill`) when the test ends.

#![cfg(all(feature = "auth", feature = "tls", unix))]

#[path = "support/http.rs"]
mod support;
#[path = "support/tls.rs"]
mod tls;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use support::{Prometheus, TempDir, demo_address, require_tool, spawn_demo};
use tls::{Authority, client_config};

const BUDGET: Duration = Duration::from_secs(40);

/// One target's entry in `/api/v1/targets`, by job name.
fn target(server: &mut Prometheus, job: &str) -> Option<serde_json::Value> {
    let body = server.get("/api/v1/targets?state=active")?;
    let parsed: serde_json::Value = serde_json::from_str(&body).ok()?;
    parsed["data"]["activeTargets"]
        .as_array()?
        .iter()
        .find(|entry| entry["labels"]["job"] == job)
        .cloned()
}

fn job(name: &str, target: SocketAddr, extra: &str) -> String {
    format!(
        "  - job_name: {name}\n    scheme: https\n{extra}    static_configs:\n      - targets: ['{target}']\n"
    )
}

fn path(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn prometheus_scrapes_over_tls_with_credentials_and_through_a_rotation() {
    let Some(binary) = require_tool("prometheus") else {
        return;
    };
    let directory = TempDir::new("access-prometheus");
    let dir = &directory.0;
    let authority = Authority::new("exporter CA");
    let next_authority = Authority::new("next exporter CA");
    // Prometheus trusts both, so the rotated certificate (from the second CA) verifies too.
    let bundle = dir.join("exporter-cas.pem");
    std::fs::write(&bundle, authority.pem() + &next_authority.pem()).unwrap();
    let (cert, key) = authority.server("demo").write(dir, "server");
    let (rotating_cert, rotating_key) = authority.server("rotating").write(dir, "rotating");
    let clients = Authority::new("client CA");
    let client_ca = clients.write(dir, "client-ca");
    let (client_cert, client_key) = clients.client("prometheus").write(dir, "prometheus");

    let hash = bcrypt::hash_with_result("s3cret", 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoY);
    let users = dir.join("users");
    std::fs::write(
        &users,
        format!("# htpasswd -nB prometheus\nprometheus:{hash}\n"),
    )
    .unwrap();
    let token = dir.join("token");
    std::fs::write(&token, "bearer-t0ken\n").unwrap();

    let tls_flags = ["--tls-cert", &path(&cert), "--tls-key", &path(&key)];
    let mut basic_demo = spawn_demo(
        &[
            &["--bind", "127.0.0.1:0", "--basic-auth-file", &path(&users)],
            &tls_flags[..],
            // Prometheus scrapes from loopback: admitted.
            &["--allow", "127.0.0.0/8", "--allow", "::1"],
        ]
        .concat(),
    );
    let basic_target = demo_address(&mut basic_demo);
    let mut client_cert_demo = spawn_demo(
        &[
            &["--bind", "127.0.0.1:0", "--basic-auth-file", &path(&users)],
            &tls_flags[..],
            &["--client-ca", &path(&client_ca)],
        ]
        .concat(),
    );
    let client_cert_target = demo_address(&mut client_cert_demo);
    let mut rotating_demo = spawn_demo(&[
        "--bind",
        "127.0.0.1:0",
        "--bearer-token-file",
        &path(&token),
        "--tls-cert",
        &path(&rotating_cert),
        "--tls-key",
        &path(&rotating_key),
        "--idle-timeout",
        "0",
    ]);
    let rotating_target = demo_address(&mut rotating_demo);

    let ca = format!("    tls_config:\n      ca_file: {}\n", path(&bundle));
    let basic = |password: &str| {
        format!("    basic_auth:\n      username: prometheus\n      password: {password}\n")
    };
    let scrape_configs = [
        job("basic", basic_target, &(ca.clone() + &basic("s3cret"))),
        job(
            "wrong_password",
            basic_target,
            &(ca.clone() + &basic("guess")),
        ),
        job(
            "client_cert",
            client_cert_target,
            &format!(
                "{ca}      cert_file: {}\n      key_file: {}\n{}",
                path(&client_cert),
                path(&client_key),
                basic("s3cret")
            ),
        ),
        job(
            "bearer_rotation",
            rotating_target,
            &format!(
                "{ca}    authorization:\n      credentials_file: {}\n",
                path(&token)
            ),
        ),
    ]
    .concat();
    let mut server = Prometheus::start(&binary, dir, &scrape_configs);

    // Every job scraped at least once, each with the expected health.
    let started = Instant::now();
    let expected = [
        ("basic", "up"),
        ("wrong_password", "down"),
        ("client_cert", "up"),
        ("bearer_rotation", "up"),
    ];
    let mut seen = Vec::new();
    loop {
        assert!(
            started.elapsed() < BUDGET,
            "Prometheus did not report every job in {BUDGET:?}; last: {seen:#?}"
        );
        std::thread::sleep(Duration::from_millis(250));
        seen = expected
            .iter()
            .filter_map(|(name, _)| target(&mut server, name))
            .collect();
        let settled = expected.iter().all(|(name, health)| {
            seen.iter()
                .any(|entry| entry["labels"]["job"] == *name && entry["health"] == *health)
        });
        if settled {
            break;
        }
    }
    for entry in &seen {
        println!(
            "job {}: health {}, lastError {:?}",
            entry["labels"]["job"], entry["health"], entry["lastError"]
        );
    }
    let wrong = seen
        .iter()
        .find(|entry| entry["labels"]["job"] == "wrong_password")
        .unwrap();
    let last_error = wrong["lastError"].as_str().unwrap_or_default();
    assert!(last_error.contains("401"), "{last_error}");
    // `up` as Prometheus stored it.
    let up = server.get("/api/v1/query?query=up").expect("ready");
    println!("up: {up}");
    for (name, value) in [
        ("basic", "1"),
        ("wrong_password", "0"),
        ("client_cert", "1"),
    ] {
        let parsed: serde_json::Value = serde_json::from_str(&up).unwrap();
        let sample = parsed["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .find(|series| series["metric"]["job"] == name)
            .unwrap_or_else(|| panic!("no up for {name}: {up}"));
        assert_eq!(sample["value"][1], value, "{name}: {up}");
    }

    // Rotation: a new pair from the second CA, key first (a half-done rotation keeps the
    // old pair), then the certificate.
    let next = next_authority.server("rotated");
    std::fs::write(&rotating_key, &next.key_pem).unwrap();
    std::fs::write(&rotating_cert, &next.cert_pem).unwrap();
    let probe = client_config(&next_authority, None);
    let rotated_at = Instant::now();
    loop {
        let exchange = tls::get(rotating_target, &probe, "/health", &[]);
        if exchange.peer_certificate.as_deref() == Some(next.der.as_slice()) {
            break;
        }
        assert!(
            rotated_at.elapsed() < BUDGET,
            "the demo never served the rotated certificate"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Three more scrapes by Prometheus, each on a new connection (idle timeout 0), so each
    // with a handshake on the new certificate: all healthy.
    let mut scrapes = Vec::new();
    while scrapes.len() < 3 {
        assert!(
            rotated_at.elapsed() < BUDGET,
            "Prometheus scraped {scrapes:?} after the rotation"
        );
        std::thread::sleep(Duration::from_millis(200));
        let Some(entry) = target(&mut server, "bearer_rotation") else {
            continue;
        };
        let last = entry["lastScrape"].as_str().unwrap_or_default().to_owned();
        if scrapes.last() == Some(&last) {
            continue;
        }
        assert_eq!(entry["health"], "up", "after the rotation: {entry}");
        scrapes.push(last);
    }
    println!("scrapes after the rotation, all up: {scrapes:?}");

    drop(server);
    for mut demo in [basic_demo, client_cert_demo, rotating_demo] {
        assert!(demo.terminate(Duration::from_secs(10)).unwrap().success());
    }
}
