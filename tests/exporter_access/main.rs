//! Who may scrape (features `auth` and `tls`): basic auth and bearer tokens, TLS with
//! client certificates and rotation, one module each, in one test binary. The IP allowlist
//! needs only the exporter and is tested in `tests/exporter/allowlist.rs`; a real Prometheus
//! through all of them in `tests/access_prometheus.rs`.

#![cfg(all(feature = "auth", feature = "tls"))]

#[path = "../support/http.rs"]
mod support;

mod auth;
mod tls;
