//! Helpers shared by the conformance tests: the generated metric sets, the old names of the
//! strict oracle parser (now `promstatic::conformance`), and the rule for tests that depend on
//! files or tools outside the repository.

#![allow(dead_code, unreachable_pub)]

// The HTTP client, and through it the one `PROMSTATIC_REQUIRE_TOOLS` rule (`tools.rs`) and
// the free-port helper (`net.rs`): loaded once per test binary, here or by path.
pub mod http;
pub mod metric_set;
pub mod oracle;
pub mod protobuf;

use std::path::PathBuf;

#[allow(unused_imports)] // not every test binary uses every helper
pub use http::{free_port, require_python_module, require_tool, skip, tools_required};

/// The official OpenMetrics parser corpus, read in place from `../shared` (never copied).
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/openmetrics-parsers")
}
