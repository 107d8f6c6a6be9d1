//! The strict oracle parser moved to the public conformance kit, `promstatic::conformance`
//! (feature `conformance`, on for this package's tests). New tests use that module directly;
//! these names stay for tests written against the old oracle.

// Re-exported for tests written against the old oracle; a test binary may use none of them.
#[allow(unused_imports)]
pub use promstatic::conformance::{
    Exemplar, Exposition, Family, FamilyType, Labels, Number, Rule, Sample,
    Violation as OracleError,
};
/// The old name of the format to parse as (its variants are the same: `Text`, `OpenMetrics`).
#[allow(unused_imports)]
pub use promstatic::encode::Format as Dialect;

/// Part of the message for a series that repeats; prefer `error.rule == Rule::RepeatedSeries`.
pub const REPEATED_SERIES: &str = "appears twice";

/// Parses `input` strictly as `dialect` (the old argument order of `conformance::parse`).
pub fn parse(input: &[u8], dialect: Dialect) -> Result<Exposition, OracleError> {
    promstatic::conformance::parse(dialect, input)
}
