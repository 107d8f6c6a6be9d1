//! What the examples share that is not about metrics: the `--bind ADDR:PORT` argument and,
//! for the async ones, waiting for Ctrl-C or SIGTERM. Each example includes it with
//! `mod common;` (a folder with `mod.rs`, so cargo does not take it for an example).

use std::net::SocketAddr;

/// The address from `--bind ADDR:PORT`, else `default` (every example binds loopback by
/// default; only an explicit `--bind` exposes it further).
pub(crate) fn parse_bind(default: SocketAddr) -> Result<SocketAddr, String> {
    let mut arguments = std::env::args().skip(1);
    let mut bind = default;
    while let Some(argument) = arguments.next() {
        match argument.as_str() {
            "--bind" => {
                let value = arguments.next().ok_or("--bind needs ADDR:PORT")?;
                bind = value
                    .parse()
                    .map_err(|error| format!("--bind {value}: {error}"))?;
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(bind)
}

/// Resolves on Ctrl-C or SIGTERM (what a service manager sends to stop a program).
// The blocking example has no runtime to wait on it.
#[allow(dead_code)]
pub(crate) async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            // Without a SIGTERM handler, Ctrl-C still stops the server.
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
