//! [`Authenticator`]: HTTP basic auth with bcrypt-hashed passwords, and bearer tokens, on
//! `/metrics` (and `/health` when asked). Feature `auth`.
//!
//! # Why bcrypt never slows a legitimate scrape
//!
//! bcrypt is slow on purpose (tens of milliseconds at the usual cost of 10), and checking a
//! password on the exporter's thread would stall every other connection. So:
//!
//! * **A verified password is cached.** Each user has one `AtomicU64` holding a keyed
//!   SipHash digest (random key per exporter) of the last password that bcrypt accepted. A
//!   scrape whose password hashes to that digest passes with one hash and one atomic load:
//!   no lock, no allocation (the `Authorization` header is decoded into a stack buffer), no
//!   bcrypt. Prometheus sends the same password on every scrape, so only its first scrape
//!   after start pays for bcrypt. The cache is bounded by the number of users; a wrong
//!   password never enters it.
//! * **bcrypt runs off the accept path,** on tokio's blocking pool (`spawn_blocking`), and
//!   at most [`MAX_VERIFYING`] at once. A request that would exceed that bound is answered
//!   429 at once (`Retry-After: 1`) instead of queueing, so a flood of wrong passwords costs
//!   the exporter at most that many busy blocking threads and never delays a cached scrape.
//! * **One failure per connection.** A 401 closes the connection (`Connection: close`), so a
//!   client must reconnect (and pass the allowlist and TLS again) for every guess.
//!
//! An unknown user name is checked against the first user's hash anyway, so the answer takes
//! as long as for a known user with a wrong password (no user enumeration by timing), and
//! names and tokens are compared in time that depends only on the client's input.
//! Failures are counted in `promstatic_auth_failures_total` and logged at debug level only.

use std::hash::BuildHasher;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use base64::Engine as _;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

use super::error::ConfigError;
use super::pool::ExporterBody;
use super::respond::fixed;
use super::self_metrics::Stats;

/// bcrypt verifications allowed at once (each occupies a blocking thread for the hash's
/// cost; two keep a 2-core host responsive).
pub(crate) const MAX_VERIFYING: usize = 2;

/// The longest `Authorization: Basic` payload accepted, decoded (user, `:`, password).
/// bcrypt reads at most 72 bytes of a password; this leaves room for long user names.
const MAX_CREDENTIALS: usize = 512;

const PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const UNAUTHORIZED: &[u8] =
    b"credentials required: send the configured basic auth or bearer token\n";
const BUSY: &[u8] = b"too many credential checks in progress; retry shortly\n";

/// Where users come from: a builder call or a file read at start.
#[derive(Debug, Clone)]
pub(crate) enum UserSource {
    Given(String, String),
    File(PathBuf),
}

/// Where bearer tokens come from: a builder call or a file read at start.
#[derive(Debug, Clone)]
pub(crate) enum TokenSource {
    Given(String),
    File(PathBuf),
}

/// The authentication settings as given to the builder.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuthConfig {
    pub(crate) users: Vec<UserSource>,
    pub(crate) tokens: Vec<TokenSource>,
    pub(crate) health: bool,
}

#[derive(Debug)]
struct User {
    name: Box<[u8]>,
    hash: String,
    /// Digest of the last password bcrypt accepted for this user; 0: none yet.
    verified: AtomicU64,
}

/// The checked credentials and the verification cache; see the module docs.
#[derive(Debug)]
pub(crate) struct Authenticator {
    users: Vec<User>,
    tokens: Vec<Box<[u8]>>,
    health: bool,
    /// The cache digests' key, random per exporter, so a digest cannot be precomputed.
    key: std::hash::RandomState,
    verifying: AtomicUsize,
}

/// The outcome of looking at a request's credentials without running bcrypt.
#[derive(Debug)]
pub(crate) enum Check {
    Pass,
    Fail,
    /// Only bcrypt can tell: a password not in the cache.
    Verify(Pending),
}

/// A password waiting for bcrypt, for user `user` (`None`: unknown name, checked against
/// the first user's hash only to take the same time, then refused).
#[derive(Debug)]
pub(crate) struct Pending {
    user: Option<usize>,
    password: Vec<u8>,
}

fn credentials_error(
    source: impl std::fmt::Display,
    reason: impl std::fmt::Display,
) -> ConfigError {
    ConfigError::Credentials {
        source: source.to_string(),
        reason: reason.to_string(),
    }
}

fn read_file(path: &PathBuf) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map_err(|error| credentials_error(format!("`{}`", path.display()), error))
}

fn user(name: &str, hash: &str, source: &dyn Fn() -> String) -> Result<User, ConfigError> {
    if name.is_empty() {
        return Err(credentials_error(source(), "a user name is empty"));
    }
    if name.contains(':') {
        return Err(credentials_error(
            source(),
            format!("user name `{name}` contains `:`, which basic auth cannot carry"),
        ));
    }
    let hash = hash.trim();
    if let Err(error) = bcrypt::HashParts::from_str(hash) {
        return Err(credentials_error(
            source(),
            format!(
                "the password of `{name}` is not a bcrypt hash (`$2y$…`, as `htpasswd -nB` \
                 prints): {error}"
            ),
        ));
    }
    Ok(User {
        name: name.as_bytes().into(),
        hash: hash.to_owned(),
        verified: AtomicU64::new(0),
    })
}

/// Compares `input` (from the client) with `secret` in time that depends on `input`'s length
/// only.
fn constant_time_eq(input: &[u8], secret: &[u8]) -> bool {
    let mut difference = u8::from(input.len() != secret.len());
    for (index, byte) in input.iter().enumerate() {
        let expected = if secret.is_empty() {
            0
        } else {
            secret[index % secret.len()]
        };
        difference |= byte ^ expected;
    }
    difference == 0
}

impl Authenticator {
    /// Reads and checks every source; `None` when no credentials are configured.
    pub(crate) fn new(config: &AuthConfig) -> Result<Option<Authenticator>, ConfigError> {
        let mut users = Vec::new();
        for source in &config.users {
            match source {
                UserSource::Given(name, hash) => {
                    users.push(user(name, hash, &|| "basic_auth_user()".to_owned())?)
                }
                UserSource::File(path) => {
                    let text = read_file(path)?;
                    let before = users.len();
                    for (number, line) in text.lines().enumerate() {
                        let line = line.trim();
                        if line.is_empty() || line.starts_with('#') {
                            continue;
                        }
                        let describe = || format!("`{}` line {}", path.display(), number + 1);
                        let Some((name, hash)) = line.split_once(':') else {
                            return Err(credentials_error(
                                describe(),
                                "expected `user:bcrypt-hash`",
                            ));
                        };
                        users.push(user(name, hash, &describe)?);
                    }
                    if users.len() == before {
                        return Err(credentials_error(
                            format!("`{}`", path.display()),
                            "it names no user (expected lines of `user:bcrypt-hash`)",
                        ));
                    }
                }
            }
        }
        let mut tokens = Vec::new();
        for source in &config.tokens {
            let (token, origin) = match source {
                TokenSource::Given(token) => (token.clone(), "bearer_token()".to_owned()),
                TokenSource::File(path) => (read_file(path)?, format!("`{}`", path.display())),
            };
            let token = token.trim();
            if token.is_empty() {
                return Err(credentials_error(origin, "the bearer token is empty"));
            }
            tokens.push(token.as_bytes().into());
        }
        if users.is_empty() && tokens.is_empty() {
            return Ok(None);
        }
        Ok(Some(Authenticator {
            users,
            tokens,
            health: config.health,
            key: std::hash::RandomState::new(),
            verifying: AtomicUsize::new(0),
        }))
    }

    /// Whether requests for `path` need credentials.
    pub(crate) fn protects(&self, path: &str) -> bool {
        path == "/metrics" || (self.health && path == "/health")
    }

    /// The cache digest of `password` for user `index` (never 0, which means "none").
    fn digest(&self, index: usize, password: &[u8]) -> u64 {
        self.key.hash_one((index, password)) | 1
    }

    /// Looks at the `Authorization` header: passes a valid token or a cached password,
    /// fails anything malformed or unknown, and leaves the rest to bcrypt. No allocation
    /// unless bcrypt is needed.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Check {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Check::Fail;
        };
        let value = value.as_bytes();
        let Some(space) = value.iter().position(|&byte| byte == b' ') else {
            return Check::Fail;
        };
        let (scheme, payload) = (&value[..space], value[space + 1..].trim_ascii());
        if scheme.eq_ignore_ascii_case(b"bearer") {
            // Every token is compared (no early exit), so the time says nothing about which.
            let matched = self.tokens.iter().fold(false, |found, token| {
                found | constant_time_eq(payload, token)
            });
            return if matched { Check::Pass } else { Check::Fail };
        }
        if !scheme.eq_ignore_ascii_case(b"basic") || self.users.is_empty() {
            return Check::Fail;
        }
        let mut decoded = [0u8; MAX_CREDENTIALS];
        let Ok(length) =
            base64::engine::general_purpose::STANDARD.decode_slice(payload, &mut decoded)
        else {
            return Check::Fail;
        };
        let decoded = &decoded[..length];
        let Some(colon) = decoded.iter().position(|&byte| byte == b':') else {
            return Check::Fail;
        };
        let (name, password) = (&decoded[..colon], &decoded[colon + 1..]);
        let mut found = None;
        for (index, user) in self.users.iter().enumerate() {
            if constant_time_eq(name, &user.name) && found.is_none() {
                found = Some(index);
            }
        }
        if let Some(index) = found {
            // Relaxed: the digest is the whole message; nothing else is published with it.
            let cached = self.users[index].verified.load(Ordering::Relaxed);
            if constant_time_eq(
                &self.digest(index, password).to_ne_bytes(),
                &cached.to_ne_bytes(),
            ) {
                return Check::Pass;
            }
        }
        Check::Verify(Pending {
            user: found,
            password: password.to_vec(),
        })
    }

    /// Reserves one of the [`MAX_VERIFYING`] bcrypt places; `false` when all are taken.
    pub(crate) fn begin_verify(&self) -> bool {
        self.verifying
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |busy| {
                (busy < MAX_VERIFYING).then_some(busy + 1)
            })
            .is_ok()
    }

    /// Runs bcrypt (blocking: call it on a blocking thread, after a successful
    /// [`Authenticator::begin_verify`], whose place it releases). A match enters the cache.
    pub(crate) fn verify(&self, pending: Pending) -> bool {
        struct Release<'a>(&'a AtomicUsize);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let _release = Release(&self.verifying);
        let Some(first) = self.users.first() else {
            return false;
        };
        let hash = pending
            .user
            .map_or(first.hash.as_str(), |index| self.users[index].hash.as_str());
        // A malformed hash cannot happen (checked at start); treat it as a mismatch anyway.
        let matched = bcrypt::verify(&pending.password, hash).unwrap_or(false);
        match pending.user {
            Some(index) if matched => {
                let digest = self.digest(index, &pending.password);
                self.users[index].verified.store(digest, Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }

    /// The 401 answer: a challenge for each configured scheme, and the connection closed.
    pub(crate) fn refuse(&self, stats: &Stats) -> Response<ExporterBody> {
        stats.auth_failures.fetch_add(1, Ordering::Relaxed);
        log::debug!(target: "promstatic", "refused a scrape without valid credentials");
        let mut response = fixed(StatusCode::UNAUTHORIZED, PLAIN, UNAUTHORIZED);
        let headers = response.headers_mut();
        if !self.users.is_empty() {
            headers.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"metrics\", charset=\"UTF-8\""),
            );
        }
        if !self.tokens.is_empty() {
            headers.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
        }
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    }

    /// The 429 answer when every bcrypt place is taken.
    pub(crate) fn busy(&self, stats: &Stats) -> Response<ExporterBody> {
        stats.auth_failures.fetch_add(1, Ordering::Relaxed);
        let mut response = fixed(StatusCode::TOO_MANY_REQUESTS, PLAIN, BUSY);
        let headers = response.headers_mut();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(users: &[(&str, &str)], tokens: &[&str]) -> AuthConfig {
        AuthConfig {
            users: users
                .iter()
                .map(|(name, hash)| UserSource::Given(name.to_string(), hash.to_string()))
                .collect(),
            tokens: tokens
                .iter()
                .map(|token| TokenSource::Given(token.to_string()))
                .collect(),
            health: false,
        }
    }

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(authorization).unwrap(),
        );
        headers
    }

    fn basic(user: &str, password: &str) -> HeaderMap {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        headers(&format!("Basic {encoded}"))
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"token", b"token"));
        assert!(!constant_time_eq(b"token", b"tokem"));
        assert!(!constant_time_eq(b"tok", b"token"));
        assert!(!constant_time_eq(b"tokentoken", b"token"));
        assert!(!constant_time_eq(b"", b"token"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn a_password_is_verified_once_then_served_from_the_cache() {
        // Cost 4 (the minimum) keeps the test quick.
        let hash = bcrypt::hash("secret", 4).unwrap();
        let auth = Authenticator::new(&config(&[("prometheus", &hash)], &[]))
            .unwrap()
            .unwrap();
        let Check::Verify(pending) = auth.check(&basic("prometheus", "secret")) else {
            panic!("an unverified password passed without bcrypt");
        };
        assert!(auth.begin_verify());
        assert!(auth.verify(pending));
        assert!(matches!(
            auth.check(&basic("prometheus", "secret")),
            Check::Pass
        ));
        // A wrong password is not in the cache, and bcrypt refuses it.
        let Check::Verify(wrong) = auth.check(&basic("prometheus", "guess")) else {
            panic!("a wrong password was not sent to bcrypt");
        };
        assert!(auth.begin_verify());
        assert!(!auth.verify(wrong));
        assert!(matches!(
            auth.check(&basic("prometheus", "secret")),
            Check::Pass
        ));
        // An unknown user goes to bcrypt too (same time), and is refused.
        let Check::Verify(stranger) = auth.check(&basic("stranger", "secret")) else {
            panic!("an unknown user was refused faster than a known one");
        };
        assert!(auth.begin_verify());
        assert!(!auth.verify(stranger));
        assert_eq!(auth.verifying.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn verifications_are_bounded() {
        let hash = bcrypt::hash("secret", 4).unwrap();
        let auth = Authenticator::new(&config(&[("p", &hash)], &[]))
            .unwrap()
            .unwrap();
        for _ in 0..MAX_VERIFYING {
            assert!(auth.begin_verify());
        }
        assert!(!auth.begin_verify());
    }

    #[test]
    fn bearer_tokens_and_malformed_headers() {
        let auth = Authenticator::new(&config(&[], &["s3cret", "other"]))
            .unwrap()
            .unwrap();
        assert!(matches!(auth.check(&headers("Bearer s3cret")), Check::Pass));
        assert!(matches!(auth.check(&headers("bearer other")), Check::Pass));
        for refused in [
            "Bearer s3cre",
            "Bearer",
            "Token s3cret",
            "Basic cDpz",
            "s3cret",
        ] {
            assert!(
                matches!(auth.check(&headers(refused)), Check::Fail),
                "{refused}"
            );
        }
        assert!(matches!(auth.check(&HeaderMap::new()), Check::Fail));
        let hash = bcrypt::hash("x", 4).unwrap();
        let basic_only = Authenticator::new(&config(&[("p", &hash)], &[]))
            .unwrap()
            .unwrap();
        for refused in ["Basic !!!", "Basic cA==", "Bearer x"] {
            assert!(
                matches!(basic_only.check(&headers(refused)), Check::Fail),
                "{refused}"
            );
        }
        let long = format!("Basic {}", "QUFB".repeat(200));
        assert!(matches!(basic_only.check(&headers(&long)), Check::Fail));
    }

    #[test]
    fn unusable_credentials_are_config_errors() {
        for (users, tokens) in [
            (vec![("p", "plain-password")], vec![]),
            (
                vec![(
                    "",
                    "$2y$04$abcdefghijklmnopqrstuu5Y1ZgNKMyEMdrXZE/jJ4lUQuHPGDrdK",
                )],
                vec![],
            ),
            (
                vec![(
                    "a:b",
                    "$2y$04$abcdefghijklmnopqrstuu5Y1ZgNKMyEMdrXZE/jJ4lUQuHPGDrdK",
                )],
                vec![],
            ),
            (vec![], vec![" "]),
        ] {
            let error = Authenticator::new(&config(&users, &tokens)).unwrap_err();
            assert!(
                matches!(error, ConfigError::Credentials { .. }),
                "{error:?}"
            );
        }
        assert!(
            Authenticator::new(&AuthConfig::default())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn files_are_read_at_start() {
        let directory =
            std::env::temp_dir().join(format!("promstatic-auth-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let hash = bcrypt::hash("secret", 4).unwrap();
        let users = directory.join("users");
        std::fs::write(&users, format!("# comment\n\nprometheus:{hash}\n")).unwrap();
        let empty = directory.join("empty");
        std::fs::write(&empty, "# nobody\n").unwrap();
        let broken = directory.join("broken");
        std::fs::write(&broken, "prometheus\n").unwrap();
        let from_file = |path: &PathBuf| {
            Authenticator::new(&AuthConfig {
                users: vec![UserSource::File(path.clone())],
                ..AuthConfig::default()
            })
        };
        assert_eq!(from_file(&users).unwrap().unwrap().users.len(), 1);
        for (path, expected) in [
            (&empty, "names no user"),
            (&broken, "line 1"),
            (&directory.join("missing"), "missing"),
        ] {
            let error = from_file(path).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
        let _ = std::fs::remove_dir_all(&directory);
    }
}
