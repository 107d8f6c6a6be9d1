//! Who this instance is in its `file_sd` target: a user-given name, claimed host-wide so that
//! two live instances never advertise the same `instance` label.
//!
//! # Why a lock file
//!
//! A name given with [`BindPolicy::instance`](super::BindPolicy::instance) is claimed by
//! taking an exclusive `flock` on `<claim dir>/<name>.lock` (through [`File::try_lock`]), held
//! for as long as the [`Binding`](super::Binding) lives. The alternatives fail in the cases
//! that matter:
//!
//! * a pid file alone goes stale on a crash, and the pid is reused by an unrelated process;
//! * probing the claimant's advertised address races when two instances start at once
//!   (neither is bound yet), and a hung claimant that does not answer would lose its name.
//!
//! The kernel releases an `flock` when the holder dies, however it dies (`kill -9`, a core
//! dump), so a crash never leaves a stale claim (only an unlocked file, which the next
//! claimant takes over), and the test is atomic: of two instances starting at once exactly
//! one gets the lock. A clean release removes the file while still holding the lock. The pid written into the file is only there for
//! the log line of the instance that was refused. The file is opened close-on-exec (as std
//! opens every file), so a program the instance starts does not inherit the claim.
//!
//! # A name already claimed
//!
//! The second instance to ask for `NAME` tries `NAME-2`, `NAME-3`, ... up to `NAME-64` and
//! says so in a warning; the suffix is not stable across restarts when several live instances
//! share one name, so give each instance its own name when the series must keep their identity.
//! If no claim can be made at all (the directory cannot be created, every suffix is taken),
//! the instance falls back to the default identity, the scraped address, which is unique
//! because two live listeners never share an address.
//!
//! # The claim directory
//!
//! `$XDG_RUNTIME_DIR/promstatic-instances` when `XDG_RUNTIME_DIR` is set (a per-user tmpfs),
//! otherwise `<temp dir>/promstatic-instances-<euid>`: one level, created with mode 0700 and
//! refused when it is not a directory owned by us (in a shared temp dir another user could
//! create it first to steal or block names);
//! [`BindPolicy::claim_dir`](super::BindPolicy::claim_dir) overrides it.
//! Claims are per directory: instances using different directories do not see each other.

use std::fs::{self, DirBuilder, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Suffixes tried after the name itself (`NAME-2` ... `NAME-64`).
const MAX_SUFFIX: u32 = 64;

/// A held claim on an instance name; released (lock file removed, then unlocked) on drop.
#[derive(Debug)]
pub(crate) struct Claim {
    name: String,
    path: PathBuf,
    file: Option<File>,
}

impl Claim {
    /// The claimed name (the wanted one, or a suffixed one).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        // Remove while still holding the lock: an instance that opened the old file and is
        // waiting for it finds after locking that the path no longer names its file, and
        // starts over (see `try_claim`). Removing after unlocking would let it hold a lock on
        // an unlinked file while a third instance locks a new file of the same name.
        let _ = fs::remove_file(&self.path);
        drop(self.file.take());
    }
}

/// What [`claim`] found.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The wanted name, or a suffixed one when the wanted name was taken.
    Claimed {
        claim: Claim,
        /// The pid written by the live holder of the wanted name, when it was taken.
        displaced: Option<Taken>,
    },
    /// No claim could be made; the caller uses the default identity.
    Failed { wanted: String, error: io::Error },
}

/// The wanted name was held by a live instance.
#[derive(Debug)]
pub(crate) struct Taken {
    /// The holder's pid as it wrote it (absent if it had not written it yet).
    pub(crate) pid: Option<u32>,
}

/// The default claim directory (see the module docs).
pub(crate) fn default_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(runtime) if runtime.is_absolute() => runtime.join("promstatic-instances"),
        _ => std::env::temp_dir().join(format!(
            "promstatic-instances-{}",
            crate::sys::effective_uid()
        )),
    }
}

/// Claims `wanted`, or the first free suffixed variant, in `dir`.
pub(crate) fn claim(dir: &Path, wanted: &str) -> Outcome {
    if let Err(error) = prepare(dir) {
        return Outcome::Failed {
            wanted: wanted.to_owned(),
            error,
        };
    }
    let mut displaced = None;
    for suffix in 1..=MAX_SUFFIX {
        let name = if suffix == 1 {
            wanted.to_owned()
        } else {
            format!("{wanted}-{suffix}")
        };
        match try_claim(dir, &name) {
            Ok(Some(claim)) => return Outcome::Claimed { claim, displaced },
            Ok(None) if suffix == 1 => {
                displaced = Some(Taken {
                    pid: holder_pid(&lock_path(dir, &name)),
                });
            }
            Ok(None) => {}
            Err(error) => {
                return Outcome::Failed {
                    wanted: wanted.to_owned(),
                    error,
                };
            }
        }
    }
    Outcome::Failed {
        wanted: wanted.to_owned(),
        error: io::Error::other(format!(
            "the name and its suffixes -2 to -{MAX_SUFFIX} are all held by live instances"
        )),
    }
}

/// [`claim`], with the outcome told in the log: a warning naming the holder when the name
/// was taken, or why no claim could be made (the caller then leaves `instance` to
/// Prometheus).
pub(crate) fn claim_or_warn(dir: &Path, wanted: &str) -> Option<Claim> {
    match claim(dir, wanted) {
        Outcome::Claimed { claim, displaced } => {
            if let Some(taken) = displaced {
                let holder = taken
                    .pid
                    .map_or_else(|| "a live instance".to_owned(), |pid| format!("pid {pid}"));
                log::warn!(
                    "instance name {wanted:?} is held by {holder} (claims in {}); this \
                     instance is {:?}",
                    dir.display(),
                    claim.name()
                );
            }
            Some(claim)
        }
        Outcome::Failed { wanted, error } => {
            log::warn!(
                "cannot claim the instance name {wanted:?} in {}: {error}; the file_sd target \
                 leaves `instance` to Prometheus (the scraped address)",
                dir.display()
            );
            None
        }
    }
}

/// Creates `dir` (mode 0700) and checks that it is ours: in a shared temp dir another user
/// could have created it first to steal or block names.
fn prepare(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let metadata = fs::symlink_metadata(dir)?;
    let euid = crate::sys::effective_uid();
    if !metadata.is_dir() || metadata.uid() != euid {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is not a directory owned by uid {euid}; set another claim directory",
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// `Ok(None)` when a live instance holds `name`.
fn try_claim(dir: &Path, name: &str) -> io::Result<Option<Claim>> {
    let path = lock_path(dir, name);
    // A holder releasing its claim removes the file while we wait on it; a few rounds settle
    // that race (each round means another instance released or took the name meanwhile).
    for _ in 0..16 {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(error)) => return Err(error),
        }
        // Locked: is it still the file the path names?
        let ours = file.metadata()?;
        match fs::metadata(&path) {
            Ok(current) if current.dev() == ours.dev() && current.ino() == ours.ino() => {
                let mut file = file;
                file.set_len(0)?;
                file.write_all(format!("{}\n", std::process::id()).as_bytes())?;
                return Ok(Some(Claim {
                    name: name.to_owned(),
                    path,
                    file: Some(file),
                }));
            }
            Ok(_) => continue,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        }
    }
    Ok(None)
}

fn holder_pid(path: &Path) -> Option<u32> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// `<dir>/<name>.lock`, the name made safe as a file name: ASCII letters, digits, `-` and `_`
/// are kept, every other byte (including `.` and `/`) becomes `%XX`, so distinct names map to
/// distinct files and no name escapes the directory.
fn lock_path(dir: &Path, name: &str) -> PathBuf {
    let mut file = String::with_capacity(name.len() + 5);
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            file.push(char::from(byte));
        } else {
            file.push_str(&format!("%{byte:02X}"));
        }
    }
    file.push_str(".lock");
    dir.join(file)
}

/// A fresh directory under the temp dir for one test, removed on drop (shared by the
/// listener's unit tests that write files).
#[cfg(test)]
pub(super) struct Scratch(pub(super) PathBuf);

#[cfg(test)]
impl Scratch {
    pub(super) fn new(tag: &str) -> Scratch {
        let path =
            std::env::temp_dir().join(format!("promstatic-unit-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create a scratch directory");
        Scratch(path)
    }
}

#[cfg(test)]
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed(outcome: Outcome) -> (Claim, Option<Taken>) {
        match outcome {
            Outcome::Claimed { claim, displaced } => (claim, displaced),
            Outcome::Failed { error, .. } => panic!("no claim: {error}"),
        }
    }

    #[test]
    fn a_held_name_gives_the_next_claimant_a_suffix_and_the_holder_pid() {
        let scratch = Scratch::new("suffix");
        let (first, displaced) = claimed(claim(&scratch.0, "worker"));
        assert_eq!(first.name(), "worker");
        assert!(displaced.is_none());
        // A second claim from this process: flock locks belong to the open file, so a second
        // open in the same process is refused like another process would be.
        let (second, displaced) = claimed(claim(&scratch.0, "worker"));
        assert_eq!(second.name(), "worker-2");
        assert_eq!(displaced.unwrap().pid, Some(std::process::id()));
        let (third, _) = claimed(claim(&scratch.0, "worker"));
        assert_eq!(third.name(), "worker-3");
        // Releasing the first frees the name itself for the next start.
        drop(first);
        let (again, displaced) = claimed(claim(&scratch.0, "worker"));
        assert_eq!(again.name(), "worker");
        assert!(displaced.is_none());
        drop((second, third, again));
        let left: Vec<_> = fs::read_dir(&scratch.0).unwrap().collect();
        assert!(left.is_empty(), "released claims leave no files: {left:?}");
    }

    #[test]
    fn a_leftover_lock_file_without_a_holder_is_claimed() {
        let scratch = Scratch::new("leftover");
        prepare(&scratch.0).unwrap();
        // What a crashed holder leaves: the file with its pid, no lock.
        fs::write(lock_path(&scratch.0, "game"), "999999\n").unwrap();
        let (claim, displaced) = claimed(claim(&scratch.0, "game"));
        assert_eq!(claim.name(), "game");
        assert!(displaced.is_none());
        let written = fs::read_to_string(lock_path(&scratch.0, "game")).unwrap();
        assert_eq!(written, format!("{}\n", std::process::id()));
    }

    #[test]
    fn names_map_to_distinct_safe_file_names() {
        let dir = Path::new("/d");
        assert_eq!(lock_path(dir, "web-1_a"), Path::new("/d/web-1_a.lock"));
        assert_eq!(lock_path(dir, "../x"), Path::new("/d/%2E%2E%2Fx.lock"));
        assert_eq!(lock_path(dir, "a.b"), Path::new("/d/a%2Eb.lock"));
        assert_ne!(lock_path(dir, "a%2Eb"), lock_path(dir, "a.b"));
        assert_eq!(lock_path(dir, "é"), Path::new("/d/%C3%A9.lock"));
    }

    #[test]
    fn an_unusable_directory_fails_without_a_claim() {
        let scratch = Scratch::new("unusable");
        let file = scratch.0.join("file");
        fs::write(&file, "a file, not a directory").unwrap();
        assert!(matches!(claim(&file, "x"), Outcome::Failed { .. }));
    }
}
