//! Who may scrape: the builder methods for the IP allowlist, HTTP authentication (feature
//! `auth`) and TLS (feature `tls`), and their validation into [`Access`] at `start()`.
//!
//! Each layer is checked at its own point of a connection's life: the allowlist in the
//! accept loop (before anything is read), TLS in the connection's task (its handshake inside
//! the header timeout), authentication per request (after routing, before rendering). A
//! configuration that names a rule, a file or a credential that cannot be used is a
//! [`ConfigError`] from `start()`, `into_future()` or `service()`: the exporter never falls
//! back to an open endpoint.
//!
//! The matching Prometheus `scrape_config` of each mode is in the
//! [module docs](crate::exporter#who-may-scrape).

#[cfg(feature = "auth")]
use std::path::PathBuf;

use super::Exporter;
use super::allowlist::Allowlist;
use super::error::ConfigError;

/// The access settings as given to the builder, checked by [`Access::new`].
#[derive(Debug, Clone, Default)]
pub(crate) struct AccessConfig {
    pub(crate) allow: Vec<String>,
    #[cfg(feature = "auth")]
    pub(crate) auth: super::auth::AuthConfig,
    #[cfg(feature = "tls")]
    pub(crate) tls: super::tls::TlsConfig,
}

/// The checked access settings, shared by the server and its connections.
#[derive(Debug, Default)]
pub(crate) struct Access {
    pub(crate) allowlist: Allowlist,
    #[cfg(feature = "auth")]
    pub(crate) auth: Option<super::auth::Authenticator>,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<super::tls::Tls>,
}

impl Access {
    pub(crate) fn new(config: &AccessConfig) -> Result<Access, ConfigError> {
        let allowlist = Allowlist::parse(config.allow.iter().map(String::as_str)).map_err(
            |(rule, error)| ConfigError::Allowlist {
                rule: rule.to_owned(),
                reason: error.to_string(),
            },
        )?;
        Ok(Access {
            allowlist,
            #[cfg(feature = "auth")]
            auth: super::auth::Authenticator::new(&config.auth)?,
            #[cfg(feature = "tls")]
            tls: super::tls::Tls::new(&config.tls)?,
        })
    }

    /// Whether anything is configured that only the built-in server enforces (a host that
    /// mounts [`MetricsService`](super::MetricsService) on its own server must not believe
    /// its endpoint is protected).
    pub(crate) fn needs_own_server(&self) -> Option<&'static str> {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return Some("TLS");
        }
        #[cfg(feature = "auth")]
        if self.auth.is_some() {
            return Some("HTTP authentication");
        }
        if !self.allowlist.is_empty() {
            return Some("an IP allowlist");
        }
        None
    }
}

impl Exporter {
    /// Admits connections only from peers in `cidr` (`10.0.0.0/8`, `2001:db8::/32`, or one
    /// address such as `192.0.2.7`); may be called several times, and a peer in any of the
    /// ranges is admitted. Without any call every peer is admitted.
    ///
    /// A refused peer is closed before anything is read from it and counted in
    /// `promstatic_refused_peers_total` (not logged: a flood must not flood the log). IPv4
    /// clients of a dual-stack listener (`::ffff:a.b.c.d`) match IPv4 ranges. A malformed
    /// range is a [`ConfigError::Allowlist`] at start. See the
    /// [module docs](crate::exporter#who-may-scrape).
    pub fn allow(mut self, cidr: &str) -> Self {
        self.config.access.allow.push(cidr.to_owned());
        self
    }

    /// Requires HTTP basic auth: `user` with a password matching `bcrypt_hash` (`$2a$`,
    /// `$2b$` or `$2y$`, as in exporter-toolkit's `basic_auth_users` and `htpasswd -nB`).
    /// May be called for several users.
    ///
    /// A hash that is not bcrypt is a [`ConfigError::Credentials`] at start.
    #[cfg(feature = "auth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
    pub fn basic_auth_user(mut self, user: &str, bcrypt_hash: &str) -> Self {
        self.config
            .access
            .auth
            .users
            .push(super::auth::UserSource::Given(
                user.to_owned(),
                bcrypt_hash.to_owned(),
            ));
        self
    }

    /// Requires HTTP basic auth with the users of `path`, read at start: one `user:hash`
    /// per line (`htpasswd -nB user` prints one), blank lines and `#` comments ignored.
    ///
    /// An unreadable file, a malformed line, a hash that is not bcrypt or a file without any
    /// user is a [`ConfigError::Credentials`] at start.
    #[cfg(feature = "auth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
    pub fn basic_auth_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config
            .access
            .auth
            .users
            .push(super::auth::UserSource::File(path.into()));
        self
    }

    /// Accepts `Authorization: Bearer <token>` (Prometheus' `authorization` block). May be
    /// called several times, and combined with basic auth (either is enough).
    ///
    /// An empty token is a [`ConfigError::Credentials`] at start.
    #[cfg(feature = "auth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
    pub fn bearer_token(mut self, token: &str) -> Self {
        self.config
            .access
            .auth
            .tokens
            .push(super::auth::TokenSource::Given(token.to_owned()));
        self
    }

    /// Accepts the bearer token in `path`, read at start (surrounding whitespace removed,
    /// as Prometheus does with `credentials_file`).
    ///
    /// An unreadable or empty file is a [`ConfigError::Credentials`] at start.
    #[cfg(feature = "auth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
    pub fn bearer_token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config
            .access
            .auth
            .tokens
            .push(super::auth::TokenSource::File(path.into()));
        self
    }

    /// Whether `/health` requires the credentials too (default: no, so a load balancer's
    /// health check needs none). `/metrics` always does once credentials are configured.
    #[cfg(feature = "auth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
    pub fn auth_health(mut self, protected: bool) -> Self {
        self.config.access.auth.health = protected;
        self
    }
}
