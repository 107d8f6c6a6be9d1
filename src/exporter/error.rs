//! [`ConfigError`]: a configuration mistake, found before anything is bound.

use std::fmt;

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
        }
    }
}

impl std::error::Error for ConfigError {}
