//! A real Prometheus server scrapes the running demo, found through the demo's file_sd file.
//!
//! Loopback only, a throwaway TSDB in a temp dir, a free port, `scrape_interval: 1s`. The
//! test reads `/api/v1/query` until `up == 1` and a counter's value has arrived, then checks
//! `/api/v1/metadata` for its type and HELP. The server it started is killed by its pid
//! (through `Child::kill`) when the test ends, pass or fail.

#![cfg(all(feature = "exporter", unix))]

#[path = "support/http.rs"]
mod support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Spawned, TempDir, demo_address, free_port, request, require_tool, spawn_demo};

/// Prometheus 2.42 may wait up to one scrape interval plus a start-up delay before its first
/// scrape; this bounds the whole wait.
const BUDGET: Duration = Duration::from_secs(25);

fn query(prometheus: SocketAddr, path: &str) -> String {
    let response = request(prometheus, "GET", path, &[]);
    assert_eq!(response.status, 200, "{}", response.text());
    response.text()
}

#[test]
fn prometheus_scrapes_the_demo() {
    let Some(binary) = require_tool("prometheus") else {
        return;
    };
    // Prometheus finds the demo through the file_sd target file the demo's listener writes.
    let directory = TempDir::new("prometheus");
    let targets = directory.0.join("targets.json");
    let mut demo = spawn_demo(&[
        "--bind",
        "127.0.0.1:0",
        "--file-sd",
        targets.to_str().unwrap(),
    ]);
    let target = demo_address(&mut demo);
    let listed = std::fs::read_to_string(&targets).unwrap();
    assert!(listed.contains(&format!("\"{target}\"")), "{listed}");
    let config = directory.0.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: demo\n    file_sd_configs:\n      - files: ['{}']\n",
            targets.display()
        ),
    )
    .unwrap();
    let web = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let server = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            directory.0.join("data").display()
        ))
        .arg(format!("--web.listen-address={web}"))
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Spawned { child: server };

    let started = Instant::now();
    let mut up = String::new();
    let mut requests = String::new();
    loop {
        assert!(
            started.elapsed() < BUDGET,
            "Prometheus did not report the demo in {BUDGET:?}; last answers:\n{up}\n{requests}"
        );
        if let Some(status) = server.child.try_wait().unwrap() {
            let mut stderr = String::new();
            use std::io::Read;
            let _ = server
                .child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr);
            panic!("prometheus exited early ({status}):\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(250));
        if std::net::TcpStream::connect(web).is_err() {
            continue;
        }
        up = query(web, "/api/v1/query?query=up");
        requests = query(web, "/api/v1/query?query=demo_requests_total");
        // The file_sd file sets `job="promstatic-demo"`, overriding the scrape job's name.
        let is_up = up.contains("\"job\":\"promstatic-demo\"") && up.contains(",\"1\"]");
        let has_value = requests.contains("\"__name__\":\"demo_requests_total\"")
            && requests.contains("\"value\":[");
        if is_up && has_value {
            break;
        }
    }
    println!("Prometheus reported the demo after {:?}", started.elapsed());

    // Prometheus keys metadata by the family name it parsed. In OpenMetrics a counter family
    // is named without `_total`, so the key `demo_requests` also proves that the exporter
    // negotiated OpenMetrics with this Prometheus (text 0.0.4 would give `demo_requests_total`).
    let metadata = query(web, "/api/v1/metadata");
    let at = metadata
        .find("\"demo_requests\":[")
        .unwrap_or_else(|| panic!("no metadata for the demo_requests family in {metadata}"));
    let entry = &metadata[at..];
    let entry = &entry[..entry.find(']').unwrap()];
    assert!(entry.contains("\"type\":\"counter\""), "{entry}");
    assert!(
        entry.contains("\"help\":\"Fake requests served since start.\""),
        "{entry}"
    );

    // Stop only what this test started: the server (by pid, via Child::kill) and the demo.
    drop(server);
    assert!(demo.terminate(Duration::from_secs(10)).unwrap().success());
}
