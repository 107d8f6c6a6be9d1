//! Compile-time diagnostics of `#[metric]` and `derive(LabelValue)`: one case per error.
#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
