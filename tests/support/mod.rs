//! Helpers shared by the conformance tests: the generated metric sets, the old names of the
//! strict oracle parser (now `promstatic::conformance`), and the rule for tests that depend on
//! files or tools outside the repository.

#![allow(dead_code, unreachable_pub)]

pub mod metric_set;
pub mod net;
pub mod oracle;
pub mod tools;

use std::path::PathBuf;

#[allow(unused_imports)] // not every test binary uses every helper
pub use net::free_port;
#[allow(unused_imports)]
pub use tools::{require_python_module, require_tool, skip, tools_required};

/// The official OpenMetrics parser corpus, read in place from `../shared` (never copied).
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/openmetrics-parsers")
}
