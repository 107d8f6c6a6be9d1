//! The example at the top of `promstatic::conformance`'s docs is `doc_example.rs` of this
//! crate, line for line, so the property users are shown is one CI runs.

use std::fs;
use std::path::Path;

#[test]
fn the_module_docs_show_the_example_this_crate_runs() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs = fs::read_to_string(here.join("../../src/conformance.rs")).expect("the module");
    let example = fs::read_to_string(here.join("tests/doc_example.rs")).expect("the example");
    // The example file: its `//!` header, a blank line, then the code.
    let (_, code) = example.split_once("\n\n").expect("a header, then the code");
    // The docs: the first code block of the module docs, without the `//! ` prefix.
    let shown: Vec<&str> = docs
        .lines()
        .map_while(|line| line.strip_prefix("//!"))
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .skip_while(|line| *line != "```")
        .skip(1)
        .take_while(|line| *line != "```" && !line.starts_with("# "))
        .collect();
    let code: Vec<&str> = code.lines().collect();
    assert_eq!(
        shown, code,
        "src/conformance.rs's example and tests/doc_example.rs differ"
    );
}
