//! Helpers shared by the conformance tests: the strict oracle parser, the generated metric
//! sets, and the rule for tests that depend on files or tools outside the repository.

#![allow(dead_code, unreachable_pub)]

pub mod metric_set;
pub mod oracle;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// True when `PROMSTATIC_REQUIRE_TOOLS=1`: CI sets it so that a missing tool or corpus fails
/// the test instead of skipping it.
pub fn tools_required() -> bool {
    std::env::var("PROMSTATIC_REQUIRE_TOOLS").is_ok_and(|value| value == "1")
}

/// Skips (returns) with a printed reason, or fails when tools are required.
pub fn skip(reason: &str) {
    assert!(!tools_required(), "PROMSTATIC_REQUIRE_TOOLS=1 but {reason}");
    println!("skipped: {reason}");
}

/// The official OpenMetrics parser corpus, read in place from `../shared` (never copied).
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/openmetrics-parsers")
}

/// Runs `program args` with `input` on stdin: whether it succeeded and its stdout + stderr,
/// or `None` if the program is not installed.
pub fn run_with_input(program: &str, args: &[&str], input: &[u8]) -> Option<(bool, String)> {
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => panic!("cannot run {program}: {error}"),
    };
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some((output.status.success(), text))
}
