//! Start, bind failure, shutdown, the host-runtime future and the mountable service.

#![cfg(feature = "exporter")]

use crate::support;

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use promstatic::exporter::{ConfigError, Exporter, ListenerState};
use support::{connect, read_response, request, start};

#[test]
fn port_zero_reports_the_real_port() {
    let (handle, address) = start(Exporter::new());
    assert_ne!(address.port(), 0);
    assert_eq!(handle.state(), ListenerState::Bound { address });
    handle.shutdown();
}

#[test]
fn shutdown_frees_the_port_at_once() {
    let (handle, address) = start(Exporter::new());
    // A kept-alive connection must not hold the port either.
    let mut stream = connect(address);
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut stream, false).status, 200);
    handle.shutdown();
    let again = TcpListener::bind(address).expect("the port is free right after shutdown");
    drop(again);
}

#[test]
fn shutdown_lets_an_in_flight_request_finish() {
    let (handle, address) = start(Exporter::new());
    let mut stream = connect(address);
    // Half a request head: the request is in flight when shutdown starts.
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: te")
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let stopper = std::thread::spawn(move || handle.shutdown());
    std::thread::sleep(Duration::from_millis(50));
    stream.write_all(b"st\r\n\r\n").unwrap();
    let response = read_response(&mut stream, false);
    assert_eq!(response.status, 200);
    assert!(response.text().contains("promstatic_scrapes_total 1\n"));
    stopper.join().unwrap();
}

#[test]
fn a_taken_port_disables_the_exporter_without_failing_the_host() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap();
    let handle = Exporter::new().address(address).start().unwrap();
    assert_eq!(handle.local_addr(), None);
    match handle.state() {
        ListenerState::Disabled { reason } => {
            let reason = reason.to_string();
            assert!(reason.contains(&address.to_string()), "{reason}");
            assert!(
                reason.contains("in use") || reason.contains("another process"),
                "{reason}"
            );
        }
        other => panic!("expected disabled, got {other:?}"),
    }
    let started = Instant::now();
    handle.shutdown();
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn configuration_mistakes_are_typed_errors() {
    let error = Exporter::new().namespace("my app").start().unwrap_err();
    assert!(matches!(error, ConfigError::Namespace { .. }));
    assert!(error.to_string().contains("my app"), "{error}");
    let error = Exporter::new()
        .const_label("__x", "v")
        .service()
        .unwrap_err();
    assert!(matches!(error, ConfigError::LabelName { .. }), "{error}");
    let error = Exporter::new()
        .const_label("a", "1")
        .const_label("a", "2")
        .service()
        .unwrap_err();
    assert!(
        matches!(error, ConfigError::DuplicateLabel { .. }),
        "{error}"
    );
    let mut many = Exporter::new();
    for index in 0..=promstatic::exporter::MAX_CONST_LABELS {
        many = many.const_label(&format!("l{index}"), "v");
    }
    assert!(matches!(
        many.service().unwrap_err(),
        ConfigError::TooManyLabels { .. }
    ));
}

#[test]
fn namespace_and_const_labels_are_applied() {
    let (handle, address) = start(
        Exporter::new()
            .namespace("app_")
            .const_label("region", "eu \"west\"")
            .build_info("demo", "1.2.3"),
    );
    let text = request(address, "GET", "/metrics", &[]).text();
    handle.shutdown();
    assert!(
        text.contains(
            "demo_build_info{region=\"eu \\\"west\\\"\",version=\"1.2.3\",promstatic_version=\""
        ),
        "{text}"
    );
    assert!(
        text.contains("promstatic_scrapes_total{region=\"eu \\\"west\\\"\"} 1\n"),
        "{text}"
    );
    // Process metrics keep their standard names.
    #[cfg(target_os = "linux")]
    assert!(text.contains("\nprocess_threads{region="), "{text}");
}

#[test]
fn into_future_runs_on_the_hosts_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (handle, server) = Exporter::new()
        .address("127.0.0.1:0".parse().unwrap())
        .into_future()
        .unwrap();
    let address = handle.local_addr().unwrap();
    let task = runtime.spawn(server);
    let client = std::thread::spawn(move || request(address, "GET", "/metrics", &[]));
    let response = runtime.block_on(async {
        while !client.is_finished() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        client.join().unwrap()
    });
    assert_eq!(response.status, 200);
    handle.signal_shutdown();
    runtime.block_on(task).unwrap();
    TcpListener::bind(address).expect("port free after the future ended");
}

#[test]
fn the_service_mounts_on_a_hosts_own_server() {
    use hyper::server::conn::http1;
    use hyper_util::rt::TokioIo;

    let service = Exporter::new().service().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    // The host's server: its own routes, with /metrics handed to the exporter's handler.
    let host = runtime.spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let route =
            hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let service = service.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(if request.uri().path() == "/metrics" {
                        service.metrics(&request)
                    } else {
                        service.respond(&request)
                    })
                }
            });
        http1::Builder::new()
            .serve_connection(TokioIo::new(stream), route)
            .await
            .unwrap();
    });
    let client = std::thread::spawn(move || request(address, "GET", "/metrics", &[]));
    let response = runtime.block_on(async {
        while !client.is_finished() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        client.join().unwrap()
    });
    runtime.block_on(host).unwrap();
    assert_eq!(response.status, 200);
    assert!(response.text().contains("promstatic_scrapes_total 1\n"));
}

#[test]
fn dropping_the_handle_leaves_the_exporter_running() {
    let (handle, address) = start(Exporter::new());
    drop(handle);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(request(address, "GET", "/health", &[]).status, 200);
}

#[cfg(unix)]
#[test]
fn a_port_held_by_another_program_falls_back_and_says_why() {
    use promstatic::listener::{BindPolicy, Fallback};
    // Another program (the demo) holds the port.
    let mut holder = support::spawn_demo(&["--bind", "127.0.0.1:0"]);
    let held = support::demo_address(&mut holder);
    let handle = Exporter::new()
        .listener_policy(BindPolicy::new(held).fallback(Fallback::Ephemeral))
        .start()
        .unwrap();
    match handle.state() {
        ListenerState::Fallback { address, reason } => {
            let reason = reason.to_string();
            assert_ne!(address.port(), held.port());
            assert!(reason.contains(&held.port().to_string()), "{reason}");
            assert_eq!(handle.local_addr(), Some(address));
            assert_eq!(request(address, "GET", "/health", &[]).status, 200);
            let text = request(address, "GET", "/metrics", &[]).text();
            assert!(text.contains("\npromstatic_bind_attempts_total "), "{text}");
        }
        other => panic!("expected a fallback, got {other:?}"),
    }
    handle.shutdown();
    assert!(holder.terminate(Duration::from_secs(10)).unwrap().success());
}

#[test]
fn serves_on_ipv6_loopback() {
    if TcpListener::bind("[::1]:0").is_err() {
        println!("skipped: this host has no IPv6 loopback");
        return;
    }
    let handle = Exporter::new()
        .address("[::1]:0".parse().unwrap())
        .start()
        .unwrap();
    let address = handle.local_addr().expect("bound on ::1");
    assert!(address.is_ipv6());
    assert_eq!(request(address, "GET", "/health", &[]).status, 200);
    handle.shutdown();
}
