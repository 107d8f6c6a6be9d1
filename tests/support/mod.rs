//! Helpers shared by the conformance tests: the generated metric sets, the old names of the
//! strict oracle parser (now `promstatic::conformance`), and the rule for tests that depend on
//! files or tools outside the repository.

#![allow(dead_code, unreachable_pub)]

pub mod metric_set;
pub mod oracle;

use std::path::PathBuf;

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
