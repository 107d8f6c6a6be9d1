//! The one rule for tests that need something from outside the repository (promtool, a
//! Prometheus server, python3 and its `prometheus_client`, the OpenMetrics corpus): skip with
//! a printed reason when it is missing, and fail instead when `PROMSTATIC_REQUIRE_TOOLS=1`,
//! as CI sets it. Included by path wherever tests need it (`support/mod.rs`, `support/http.rs`,
//! `listener_support/mod.rs`, `reliability/support.rs`).
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::Command;

/// True when `PROMSTATIC_REQUIRE_TOOLS=1`: a missing tool or corpus fails the test instead of
/// skipping it.
pub fn tools_required() -> bool {
    std::env::var("PROMSTATIC_REQUIRE_TOOLS").is_ok_and(|value| value == "1")
}

/// Skips with a printed reason (the caller returns), or fails when tools are required.
pub fn skip(reason: &str) {
    assert!(!tools_required(), "PROMSTATIC_REQUIRE_TOOLS=1 but {reason}");
    println!("skipped: {reason}");
}

/// How to install a tool the tests use.
fn install_hint(name: &str) -> &'static str {
    match name {
        "promtool" | "prometheus" => "install the Debian package `prometheus`",
        "python3" => "install python3",
        _ => "install it",
    }
}

/// The path of an external program on `PATH`, or `None` after [`skip`]ping.
pub fn require_tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|directory| directory.join(name))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        skip(&format!("`{name}` is not on PATH ({})", install_hint(name)));
    }
    found
}

/// The path of python3 when it can import `module`, or `None` after [`skip`]ping.
pub fn require_python_module(module: &str) -> Option<PathBuf> {
    let python = require_tool("python3")?;
    let imports = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|output| output.status.success());
    if !imports {
        skip(&format!(
            "the Python package {module} is not installed (pip install {module})"
        ));
        return None;
    }
    Some(python)
}
