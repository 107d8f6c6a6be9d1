//! [`ConfigError`]: a configuration mistake, found before anything is bound.

use std::fmt;

use super::validate::OwnFamily;

use super::MAX_CONST_LABELS;
use crate::name::NameError;

/// A configuration mistake found when the exporter is built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The namespace is not a valid metric-name prefix.
    Namespace {
        /// The namespace given.
        namespace: String,
        /// Why it is invalid.
        error: NameError,
    },
    /// A constant label's name is invalid.
    LabelName {
        /// The label name given.
        name: String,
        /// Why it is invalid.
        error: NameError,
    },
    /// The same constant label name was given twice.
    DuplicateLabel {
        /// The repeated name.
        name: String,
    },
    /// More than [`MAX_CONST_LABELS`] constant labels.
    TooManyLabels {
        /// How many were given.
        count: usize,
    },
    /// The build-info application name does not make a valid metric name.
    BuildInfoName {
        /// The metric name it would produce.
        name: String,
        /// Why it is invalid.
        error: NameError,
    },
    /// An [`Exporter::allow`](super::Exporter::allow) range is not a CIDR range or address.
    Allowlist {
        /// The range given.
        rule: String,
        /// Why it is invalid.
        reason: String,
    },
    /// Credentials for HTTP authentication cannot be used: an unreadable or empty file, a
    /// malformed line, a hash that is not bcrypt, an empty token.
    Credentials {
        /// Where they came from (a file's path, or the builder call).
        source: String,
        /// What is wrong with them.
        reason: String,
    },
    /// The TLS certificate, key or client CA bundle cannot be used: unreadable, not PEM,
    /// no certificate or key in it, or a key that does not belong to the certificate.
    Tls {
        /// The file concerned.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// [`Exporter::service`](super::Exporter::service) was asked for with an access rule
    /// that only the built-in server enforces.
    NeedsBuiltInServer {
        /// What was configured (`"TLS"`, `"HTTP authentication"`, `"an IP allowlist"`).
        what: &'static str,
    },
    /// A declaration, with the namespace applied, would write or reserve a name that one of
    /// the exporter's own families writes or reserves: every scrape would hold two families
    /// of one name.
    NameClash {
        /// The declared metric name.
        metric: String,
        /// Where it is declared (module, file and line).
        declared_at: String,
        /// The namespace configured (may be empty).
        namespace: String,
        /// The name both would occupy (a family or sample name, in either format).
        name: String,
        /// The exporter's family.
        family: String,
        /// Which part of the exporter writes that family.
        owner: OwnFamily,
    },
    /// A constant label's name is one that some samples carry already (`le`, `quantile`, the
    /// build-info gauge's labels): those samples would have the label twice.
    ReservedLabel {
        /// The constant label's name.
        name: String,
        /// Which samples carry it.
        reason: &'static str,
    },
    /// A limit under which no scrape can ever be served.
    ImpossibleLimit {
        /// The builder method (`max_connections`, `max_header_bytes`, ...).
        setting: &'static str,
        /// The value given.
        value: String,
        /// Why nothing could be served, and what to give instead.
        why: &'static str,
    },
    /// A constant label's name is also a label of a declared family: its samples would have
    /// the label twice.
    LabelClash {
        /// The constant label's name.
        name: String,
        /// The family that declares a label of that name.
        metric: String,
        /// Where the family is declared (module, file and line).
        declared_at: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Namespace { namespace, error } => write!(
                f,
                "exporter namespace `{namespace}` is not a valid metric name prefix: {error}"
            ),
            ConfigError::LabelName { name, error } => {
                write!(f, "constant label name `{name}` is invalid: {error}")
            }
            ConfigError::DuplicateLabel { name } => write!(
                f,
                "constant label `{name}` is given twice; give each label once"
            ),
            ConfigError::TooManyLabels { count } => write!(
                f,
                "{count} constant labels given, at most {MAX_CONST_LABELS} are supported; \
                 move the rest into target labels in the Prometheus configuration"
            ),
            ConfigError::BuildInfoName { name, error } => {
                write!(f, "build-info metric name `{name}` is invalid: {error}")
            }
            ConfigError::Allowlist { rule, reason } => {
                write!(f, "allowlist entry `{rule}` is not a CIDR range: {reason}")
            }
            ConfigError::Credentials { source, reason } => {
                write!(
                    f,
                    "exporter credentials from {source} cannot be used: {reason}"
                )
            }
            ConfigError::Tls { file, reason } => {
                write!(f, "exporter TLS file `{file}` cannot be used: {reason}")
            }
            ConfigError::NeedsBuiltInServer { what } => write!(
                f,
                "{what} is enforced by the exporter's own server only, not by a service \
                 mounted on the host's server; use start() or into_future(), or enforce it \
                 in the host's server"
            ),
            ConfigError::NameClash {
                metric,
                declared_at,
                namespace,
                name,
                family,
                owner,
            } => {
                write!(f, "metric `{metric}` (declared at {declared_at})")?;
                if !namespace.is_empty() {
                    write!(f, " with namespace `{namespace}`")?;
                }
                let (part, fix) = owner.part_and_fix();
                write!(
                    f,
                    " would occupy `{name}`, as does `{family}` of the exporter's {part}: every \
                     scrape would hold two families of one name; rename the metric or change \
                     the namespace, {fix}"
                )
            }
            ConfigError::ImpossibleLimit {
                setting,
                value,
                why,
            } => write!(f, "`{setting}` of {value} can never serve a scrape: {why}"),
            ConfigError::ReservedLabel { name, reason } => write!(
                f,
                "constant label `{name}` cannot be used: `{name}` is {reason}, so those \
                 samples would carry it twice; choose another name"
            ),
            ConfigError::LabelClash {
                name,
                metric,
                declared_at,
            } => write!(
                f,
                "constant label `{name}` is also a label of family `{metric}` (declared at \
                 {declared_at}), whose samples would carry it twice; rename one of them"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

impl OwnFamily {
    /// What this part of the exporter is called in a message, and the fix a collision with
    /// it allows besides renaming (both read after "rename the metric or change the
    /// namespace, ").
    pub(crate) fn part_and_fix(self) -> (&'static str, &'static str) {
        match self {
            OwnFamily::Process => (
                "process metrics",
                "or turn them off with `process_metrics(false)`",
            ),
            OwnFamily::BuildInfo => (
                "build-info gauge",
                "or give `build_info` another application name",
            ),
            OwnFamily::SelfMetric => (
                "self-metrics",
                "(the `promstatic_` prefix is the exporter's own)",
            ),
        }
    }
}
