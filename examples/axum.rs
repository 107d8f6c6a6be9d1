//! An axum server whose every request is measured by `promstatic::tower::HttpMetricsLayer`,
//! with `/metrics` served from the same router.
//!
//! ```text
//! cargo run --example axum --features tower                         # http://127.0.0.1:3000/metrics
//! cargo run --example axum --features tower -- --bind 127.0.0.1:0   # any free port; the line says which
//! curl -s http://127.0.0.1:3000/users/7 && curl -s http://127.0.0.1:3000/metrics | grep http_server
//! ```
//!
//! Routes: `/` (200), `/users/{id}` (200; recorded as the template `/users/{id}`, never the
//! id), `/fail` (500), `/metrics`; anything else is a 404 from the fallback, recorded with an
//! empty route. Once bound, it prints one line on stdout with `http://HOST:PORT/metrics`.
//! Ctrl-C or SIGTERM stops accepting, lets requests in flight finish, and exits with 0.

mod common;

use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Path, Request};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use promstatic::exporter::{Exporter, MetricsService};
use promstatic::tower::HttpMetricsLayer;

#[tokio::main]
async fn main() -> ExitCode {
    let bind = match common::parse_bind(SocketAddr::from(([127, 0, 0, 1], 3000))) {
        Ok(bind) => bind,
        Err(message) => {
            eprintln!("{message}\nusage: axum [--bind ADDR:PORT]");
            return ExitCode::from(2);
        }
    };

    // The exporter's handler, without its own server: this program's router serves it.
    // Only a bad namespace or constant label is an error here, and there are none.
    let metrics = match Exporter::new().service() {
        Ok(metrics) => metrics,
        Err(error) => {
            eprintln!("metrics configuration: {error}");
            return ExitCode::FAILURE;
        }
    };

    let app = Router::new()
        .route("/", get(|| async { "hello\n" }))
        .route("/users/{id}", get(user))
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "failed\n") }),
        )
        .route(
            "/metrics",
            get(move |request: Request| scrape(metrics.clone(), request)),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such page\n") })
        // `Router::layer` wraps every route and the fallback, after routing: `MatchedPath`
        // is set for routes (the template, e.g. `/users/{id}`) and absent for the fallback,
        // whose requests get the layer's fixed empty route. Cloning it is a refcount bump.
        .layer(HttpMetricsLayer::new().route(|request: &Request| {
            request
                .extensions()
                .get::<MatchedPath>()
                .cloned()
                .map(Route)
        }));

    // The application's own listener: a taken port is this program's error to report.
    let listener = match tokio::net::TcpListener::bind(bind).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {bind}: {error}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(address) => println!("axum example listening on http://{address}/metrics"),
        Err(error) => eprintln!("listening, at an address the OS does not report: {error}"),
    }

    // `with_graceful_shutdown`: on the signal, stop accepting and finish the requests in
    // flight (their metrics are recorded as usual), then return.
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(common::shutdown_signal())
        .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("server error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The route the layer keeps until the request ends: axum's `MatchedPath` has `as_str`
/// but not the `AsRef<str>` the layer asks for, so it is wrapped (no copy, no allocation).
#[derive(Clone)]
struct Route(MatchedPath);

impl AsRef<str> for Route {
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

async fn user(Path(id): Path<u64>) -> String {
    format!("user {id}\n")
}

/// Serves the exposition. axum wants bodies of `Bytes` chunks: `into_bytes` wraps the
/// exporter's pooled buffer without copying it and keeps its exact length.
async fn scrape(metrics: MetricsService, request: Request) -> Response {
    metrics
        .metrics(&request)
        .map(|body| Body::new(body.into_bytes()))
}
