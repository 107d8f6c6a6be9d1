//! The demo: one stdout line with the real port, bind failure, fallback, files, signals.

#![cfg(all(feature = "exporter", unix))]

use crate::support;

use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use support::{TempDir, demo_address, request, spawn_demo, spawn_demo_with_env};

#[test]
fn prints_one_line_with_the_real_port_and_exits_0_on_sigterm() {
    let directory = TempDir::new("demo");
    let port_file = directory.0.join("port");
    let file_sd = directory.0.join("targets.json");
    let mut demo = spawn_demo(&[
        "--bind",
        "127.0.0.1:0",
        "--port-file",
        port_file.to_str().unwrap(),
        "--file-sd",
        file_sd.to_str().unwrap(),
    ]);
    let address = demo_address(&mut demo);
    assert_ne!(address.port(), 0);
    let response = request(address, "GET", "/metrics", &[]);
    assert_eq!(response.status, 200);
    assert!(response.text().contains("demo_build_info{version=\""));
    // The dynamic family fills up (1,000 users, room for 100) and overflows: polled, with a
    // generous deadline, since the workload's pace depends on the machine.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let text = request(address, "GET", "/metrics", &[]).text();
        let series = text.matches("demo_user_requests_total{user=\"").count();
        let overflowing = text.contains(
            "demo_user_requests_total{user=\"__overflow__\",route=\"__overflow__\"} ",
        ) && text.contains(
            "promstatic_label_overflows_total{metric=\"demo_user_requests_total\",reason=\"capacity\"} ",
        );
        if series == 101 && overflowing && !text.contains("reason=\"capacity\"} 0\n") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the demo's dynamic family did not fill and overflow: {series} series\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(
        std::fs::read_to_string(&port_file).unwrap(),
        format!("{}\n", address.port())
    );
    let targets: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file_sd).unwrap()).unwrap();
    assert_eq!(targets[0]["targets"][0], address.to_string(), "{targets}");
    // No `job` and no `instance` unless asked for: the scrape config names the job, and
    // Prometheus uses the scraped address as the instance.
    assert_eq!(targets[0]["labels"], serde_json::json!({}), "{targets}");

    let status = demo
        .terminate(Duration::from_secs(10))
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    demo.child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut rest)
        .unwrap();
    assert_eq!(rest, "", "exactly one stdout line");
    assert!(TcpListener::bind(address).is_ok(), "port released");
    assert!(
        !port_file.exists() && !file_sd.exists(),
        "a clean exit removes the port file and the file_sd target"
    );
}

#[test]
fn instance_and_job_flags_label_the_target() {
    let directory = TempDir::new("demo-labels");
    let file_sd = directory.0.join("targets.json");
    let runtime = directory.0.join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    let arguments = [
        "--bind",
        "127.0.0.1:0",
        "--file-sd",
        file_sd.to_str().unwrap(),
        "--instance",
        "game-client",
        "--job",
        "games",
    ];
    let mut demo = spawn_demo_with_env(&arguments, &[("XDG_RUNTIME_DIR", &runtime)]);
    demo_address(&mut demo);
    let targets: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file_sd).unwrap()).unwrap();
    assert_eq!(
        targets[0]["labels"],
        serde_json::json!({"job": "games", "instance": "game-client"}),
        "{targets}"
    );
    assert!(demo.terminate(Duration::from_secs(10)).unwrap().success());
}

#[test]
fn a_taken_port_is_diagnosed_and_the_demo_keeps_running() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let mut demo = spawn_demo(&["--bind", &address, "--fallback", "none"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(demo.child.try_wait().unwrap().is_none(), "still running");
    let status = demo
        .terminate(Duration::from_secs(10))
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    let mut stdout = String::new();
    demo.child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    demo.child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(stdout, "");
    assert!(stderr.contains(&address), "{stderr}");
    assert!(stderr.contains("metrics disabled"), "{stderr}");
}

#[test]
fn ephemeral_fallback_serves_on_another_port() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let wanted = taken.local_addr().unwrap();
    let mut demo = spawn_demo(&["--bind", &wanted.to_string(), "--fallback", "ephemeral"]);
    let address = demo_address(&mut demo);
    assert_ne!(address.port(), wanted.port());
    assert_eq!(request(address, "GET", "/health", &[]).status, 200);
    assert!(demo.terminate(Duration::from_secs(10)).unwrap().success());
}
