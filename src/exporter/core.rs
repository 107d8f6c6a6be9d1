//! [`ExporterCore`]: the validated configuration and the state that the server, every
//! connection and every [`MetricsService`](super::MetricsService) clone share.

use super::MAX_CONST_LABELS;
use super::access::Access;
use super::builder::Config;
use super::error::ConfigError;
use super::pool::{HasPool, Pool};
use super::self_metrics::{DEFAULT_BUILD_INFO, Stats};
use super::shutdown::Shutdown;
use crate::name;

/// What the server, its connections and the service share (behind one `Arc`).
#[derive(Debug)]
pub(crate) struct ExporterCore {
    pub(crate) config: Config,
    pub(crate) build_info_name: String,
    pub(crate) stats: Stats,
    pub(crate) pool: Pool,
    pub(crate) shutdown: Shutdown,
    /// Who may scrape: allowlist, authentication, TLS.
    pub(crate) access: Access,
    /// The exposition plans for this exporter's namespace and constant labels (see
    /// `encode::plan`), built by the first scrape in each format.
    pub(crate) plans: crate::table::PlanCache,
    /// Which `metrics` facade names this exporter leaves out, because with its namespace
    /// they would occupy a name of its own families.
    #[cfg(all(feature = "facade", not(promstatic_loom)))]
    pub(crate) facade_names: super::validate::FacadeNames,
}

impl HasPool for ExporterCore {
    fn pool(&self) -> &Pool {
        &self.pool
    }
}

impl ExporterCore {
    pub(super) fn new(config: Config) -> Result<Self, ConfigError> {
        if !config.namespace.is_empty() {
            name::validate_metric_name(&config.namespace).map_err(|error| {
                ConfigError::Namespace {
                    namespace: config.namespace.clone(),
                    error,
                }
            })?;
        }
        if config.const_labels.len() > MAX_CONST_LABELS {
            return Err(ConfigError::TooManyLabels {
                count: config.const_labels.len(),
            });
        }
        for (index, (label, _)) in config.const_labels.iter().enumerate() {
            name::validate_label_name(label).map_err(|error| ConfigError::LabelName {
                name: label.clone(),
                error,
            })?;
            if config.const_labels[..index]
                .iter()
                .any(|(earlier, _)| earlier == label)
            {
                return Err(ConfigError::DuplicateLabel {
                    name: label.clone(),
                });
            }
        }
        let build_info_name = match &config.build_info {
            Some((application, _)) => format!("{application}_build_info"),
            None => DEFAULT_BUILD_INFO.to_owned(),
        };
        name::validate_metric_name(&build_info_name).map_err(|error| {
            ConfigError::BuildInfoName {
                name: build_info_name.clone(),
                error,
            }
        })?;
        let own_claims = super::validate::own_claims(&config, &build_info_name);
        super::validate::names(&config, config.table, &own_claims)?;
        super::validate::const_labels(&config, config.table)?;
        super::validate::limits(&config)?;
        // Last: it reads the credential and TLS files.
        let access = Access::new(&config.access)?;
        if let Err(error) = config.table.check() {
            log::error!(target: "promstatic", "{error}");
        }
        Ok(ExporterCore {
            config,
            build_info_name,
            stats: Stats::default(),
            pool: Pool::new(),
            shutdown: Shutdown::default(),
            access,
            plans: crate::table::PlanCache::new(),
            #[cfg(all(feature = "facade", not(promstatic_loom)))]
            facade_names: super::validate::FacadeNames::new(own_claims),
        })
    }
}
