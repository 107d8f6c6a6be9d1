//! Mounting the exporter's handler in a plain hyper server: one port for the application
//! and `/metrics`, no second listener.
//!
//! ```text
//! cargo run --example hyper_service                                  # http://127.0.0.1:3001/metrics
//! cargo run --example hyper_service -- --bind 127.0.0.1:0            # any free port; the line says which
//! curl -s http://127.0.0.1:3001/hello && curl -s http://127.0.0.1:3001/metrics | grep hello
//! ```
//!
//! `/hello` is the application (it counts its calls); `/metrics` is answered by
//! [`MetricsService::metrics`](promstatic::exporter::MetricsService::metrics), which
//! negotiates the format and gzip like the built-in server. Once bound, one line on stdout
//! gives `http://HOST:PORT/metrics`. Ctrl-C or SIGTERM stops accepting, lets each open
//! connection finish its request, and exits with 0.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use promstatic::exporter::{BytesBody, Exporter, MetricsService};
use promstatic::{Counter, metric};

/// Calls of `/hello`.
#[metric]
static HELLO_REQUESTS_TOTAL: Counter = Counter::new();

/// The exporter's body for `/metrics`, the application's own for the rest. Both arms need
/// the same chunk type: `into_bytes` gives the exposition `Bytes` chunks without a copy.
type AppBody = Either<BytesBody, Full<Bytes>>;

fn route(metrics: &MetricsService, request: &Request<Incoming>) -> Response<AppBody> {
    match request.uri().path() {
        "/metrics" => metrics
            .metrics(request)
            .map(|body| Either::Left(body.into_bytes())),
        "/hello" => {
            HELLO_REQUESTS_TOTAL.inc();
            Response::new(Either::Right(Full::new(Bytes::from_static(b"hello\n"))))
        }
        _ => {
            let mut response =
                Response::new(Either::Right(Full::new(Bytes::from_static(b"not found\n"))));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let bind = match common::parse_bind(SocketAddr::from(([127, 0, 0, 1], 3001))) {
        Ok(bind) => bind,
        Err(message) => {
            eprintln!("{message}\nusage: hyper_service [--bind ADDR:PORT]");
            return ExitCode::from(2);
        }
    };
    let metrics = match Exporter::new().service() {
        Ok(metrics) => metrics,
        Err(error) => {
            eprintln!("metrics configuration: {error}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(bind).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {bind}: {error}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(address) => println!("hyper example listening on http://{address}/metrics"),
        Err(error) => eprintln!("listening, at an address the OS does not report: {error}"),
    }

    // Connections watch this to finish their request and close on shutdown.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let shutdown = common::shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // A failed accept (the peer reset, or no file descriptors left) concerns
                // that connection only.
                Err(error) => {
                    eprintln!("accept: {error}");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let metrics = metrics.clone();
        let mut stopping = stopping.clone();
        connections.spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let response = route(&metrics, &request);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                // A connection error is the client's (it went away mid-request): it ends
                // this connection only.
                _ = connection.as_mut() => {}
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(listener);
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    ExitCode::SUCCESS
}
