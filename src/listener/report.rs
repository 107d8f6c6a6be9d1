//! Telling the outside world where we listen: a port file and a Prometheus `file_sd` target,
//! written once bound and withdrawn when the [`Binding`](super::Binding) is dropped.
//!
//! Both files are written atomically: the content goes to a temporary file in the same
//! directory (named after the pid and a per-process counter, so concurrent writers never
//! share one), is flushed to disk, and is renamed over the target, so a reader (a script, or
//! Prometheus watching the file) sees the old content or the new one, never half of it. A
//! file left by a crashed instance is simply renamed over by the next start.
//!
//! The `file_sd` target has no `instance` label unless the user names the instance, so
//! Prometheus applies its own convention (`instance` = the scraped address), which is unique
//! among live instances; a user-given name is claimed through [`identity`](super::identity).
//! It has no `job` label unless asked for: Prometheus lets a target's labels win over the
//! scrape config, and the `job_name` belongs to the user's scrape config.
//!
//! On withdrawal (a clean shutdown) each file is removed if it still holds what this
//! instance wrote: a successor that already rewrote it (a restart overlapping our shutdown)
//! keeps its advertisement. Prometheus drops the targets of a removed file at its next
//! file_sd refresh (at once when it watches the directory with inotify).

use std::fs;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::identity::Claim;

/// Where and how to write the `file_sd` target file.
#[derive(Debug)]
pub(crate) struct FileSd {
    pub(crate) path: PathBuf,
    /// `job` label, only when asked for.
    pub(crate) job: Option<String>,
    /// The claimed instance name; `None` leaves `instance` to Prometheus (the address).
    pub(crate) instance: Option<Claim>,
}

/// The files written for one bound listener, and the claim on its name.
#[derive(Debug, Default)]
pub(crate) struct Advertisement {
    written: Vec<(PathBuf, Vec<u8>)>,
    claim: Option<Claim>,
}

impl Advertisement {
    /// Writes the port file and the `file_sd` target for `bound`; failures are logged and
    /// leave the other file alone.
    pub(crate) fn write(
        port_file: Option<PathBuf>,
        file_sd: Option<FileSd>,
        bound: SocketAddr,
    ) -> Self {
        let mut advertisement = Advertisement::default();
        if let Some(path) = port_file {
            let contents = format!("{}\n", bound.port()).into_bytes();
            match write_atomically(&path, &contents) {
                Ok(()) => advertisement.written.push((path, contents)),
                Err(error) => {
                    log::warn!("cannot write the port file {}: {error}", path.display());
                }
            }
        }
        if let Some(file_sd) = file_sd {
            let instance = file_sd.instance.as_ref().map(Claim::name);
            let contents = file_sd_json(&scraped_address(bound), file_sd.job.as_deref(), instance)
                .into_bytes();
            match write_atomically(&file_sd.path, &contents) {
                Ok(()) => advertisement.written.push((file_sd.path, contents)),
                Err(error) => log::warn!(
                    "cannot write the file_sd target file {}: {error}",
                    file_sd.path.display()
                ),
            }
            advertisement.claim = file_sd.instance;
        }
        advertisement
    }

    /// Removes the files that still hold what was written, then releases the name.
    pub(crate) fn withdraw(self) {
        for (path, contents) in &self.written {
            if fs::read(path).is_ok_and(|current| current == *contents)
                && let Err(error) = fs::remove_file(path)
            {
                log::warn!("cannot remove {}: {error}", path.display());
            }
        }
        drop(self.claim);
    }
}

/// The address Prometheus is told to scrape for a listener bound to `bound`.
pub(crate) fn scraped_address(bound: SocketAddr) -> String {
    let target = SocketAddr::new(target_ip(bound.ip()), bound.port());
    target_text(target, bound.ip(), &crate::sys::hostname())
}

/// A wildcard address is not something to scrape: the hostname is used instead.
fn target_text(target: SocketAddr, bound_ip: IpAddr, host: &str) -> String {
    if bound_ip.is_unspecified() && !host.is_empty() {
        format!("{host}:{}", target.port())
    } else {
        target.to_string()
    }
}

fn target_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    }
}

/// A one-target `file_sd` list; `job` and `instance` only when given.
pub(crate) fn file_sd_json(target: &str, job: Option<&str>, instance: Option<&str>) -> String {
    let mut json = String::from("[\n  {\n    \"targets\": [");
    push_json_string(&mut json, target);
    json.push_str("],\n    \"labels\": {");
    let labels = [("job", job), ("instance", instance)];
    let mut first = true;
    for (name, value) in labels {
        let Some(value) = value else { continue };
        if !first {
            json.push_str(", ");
        }
        first = false;
        push_json_string(&mut json, name);
        json.push_str(": ");
        push_json_string(&mut json, value);
    }
    json.push_str("}\n  }\n]\n");
    json
}

fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    // Unique per write in this process (two bindings may share a path), and per process.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let temporary = path.with_file_name(format!(
        ".{}.{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::super::identity::Scratch;
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn json_escapes_what_it_must() {
        let json = file_sd_json("127.0.0.1:9464", Some("a\"b\\c\nd\u{1}"), Some("host:9100"));
        assert_eq!(
            json,
            "[\n  {\n    \"targets\": [\"127.0.0.1:9464\"],\n    \"labels\": {\"job\": \"a\\\"b\\\\c\\nd\\u0001\", \
             \"instance\": \"host:9100\"}\n  }\n]\n"
        );
    }

    #[test]
    fn job_and_instance_are_left_out_unless_given() {
        let parse = |json: String| serde_json::from_str::<serde_json::Value>(&json).unwrap();
        assert_eq!(
            parse(file_sd_json("127.0.0.1:1", None, None)),
            serde_json::json!([{"targets": ["127.0.0.1:1"], "labels": {}}])
        );
        assert_eq!(
            parse(file_sd_json("127.0.0.1:1", None, Some("a"))),
            serde_json::json!([{"targets": ["127.0.0.1:1"], "labels": {"instance": "a"}}])
        );
        assert_eq!(
            parse(file_sd_json("127.0.0.1:1", Some("j"), None)),
            serde_json::json!([{"targets": ["127.0.0.1:1"], "labels": {"job": "j"}}])
        );
    }

    #[test]
    fn wildcard_targets_use_the_hostname() {
        let bound: SocketAddr = "0.0.0.0:9464".parse().unwrap();
        assert_eq!(
            target_text(
                SocketAddr::new(target_ip(bound.ip()), 9464),
                bound.ip(),
                "box"
            ),
            "box:9464"
        );
        assert_eq!(
            target_text(SocketAddr::new(target_ip(bound.ip()), 9464), bound.ip(), ""),
            "127.0.0.1:9464"
        );
        let v6: SocketAddr = "[::1]:9464".parse().unwrap();
        assert_eq!(target_text(v6, v6.ip(), "box"), "[::1]:9464");
    }

    #[test]
    fn failed_write_leaves_no_temporary_file() {
        let path = Path::new("/nonexistent-dir-promstatic/port");
        assert!(write_atomically(path, b"1\n").is_err());
        assert!(write_atomically(Path::new("/"), b"x").is_err());
    }

    fn file_sd(path: &Path, job: Option<&str>) -> FileSd {
        FileSd {
            path: path.to_owned(),
            job: job.map(str::to_owned),
            instance: None,
        }
    }

    #[test]
    fn withdrawal_removes_only_what_this_instance_wrote() {
        let scratch = Scratch::new("withdraw");
        let port = scratch.0.join("port");
        let targets = scratch.0.join("targets.json");
        let bound: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        // A crash leftover is overwritten.
        fs::write(&targets, "[{\"targets\": [\"127.0.0.1:1\"]}]").unwrap();
        let first = Advertisement::write(Some(port.clone()), Some(file_sd(&targets, None)), bound);
        assert_eq!(fs::read_to_string(&port).unwrap(), "4000\n");
        assert!(
            fs::read_to_string(&targets)
                .unwrap()
                .contains("\"127.0.0.1:4000\"")
        );
        first.withdraw();
        assert!(!port.exists() && !targets.exists());

        // A successor rewrote the files before this instance withdrew: they stay.
        let old = Advertisement::write(Some(port.clone()), Some(file_sd(&targets, None)), bound);
        let successor: SocketAddr = "127.0.0.1:4001".parse().unwrap();
        let new =
            Advertisement::write(Some(port.clone()), Some(file_sd(&targets, None)), successor);
        old.withdraw();
        assert_eq!(fs::read_to_string(&port).unwrap(), "4001\n");
        assert!(
            fs::read_to_string(&targets)
                .unwrap()
                .contains("\"127.0.0.1:4001\"")
        );
        new.withdraw();
        let left: Vec<_> = fs::read_dir(&scratch.0).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    /// Readers racing rapid rewrites of both files (contents of very different sizes, so a
    /// torn read would show) only ever see a complete old or new version.
    #[test]
    fn concurrent_readers_never_see_a_partial_file() {
        const REWRITES: u16 = 200;
        let scratch = Scratch::new("torn");
        let port = scratch.0.join("port");
        let targets = scratch.0.join("targets.json");
        let long_job = "j".repeat(20_000);
        let _ = Advertisement::write(
            Some(port.clone()),
            Some(file_sd(&targets, None)),
            "127.0.0.1:1".parse().unwrap(),
        );
        let done = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (port, targets, done) = (port.clone(), targets.clone(), Arc::clone(&done));
                let long_job = long_job.clone();
                std::thread::spawn(move || {
                    let mut reads = 0u64;
                    while !done.load(Ordering::Relaxed) {
                        let text = fs::read_to_string(&port).unwrap();
                        let number: u16 = text.strip_suffix('\n').unwrap().parse().unwrap();
                        assert!((1..=REWRITES).contains(&number), "{text:?}");
                        let json = fs::read_to_string(&targets).unwrap();
                        let value: serde_json::Value = serde_json::from_str(&json)
                            .unwrap_or_else(|error| panic!("torn file_sd ({error}): {json:?}"));
                        let job = &value[0]["labels"]["job"];
                        assert!(job.is_null() || *job == long_job.as_str(), "{json:?}");
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();
        for rewrite in 1..=REWRITES {
            let job = (rewrite % 2 == 0).then_some(long_job.as_str());
            let bound = SocketAddr::from(([127, 0, 0, 1], rewrite));
            let _ = Advertisement::write(Some(port.clone()), Some(file_sd(&targets, job)), bound);
        }
        done.store(true, Ordering::Relaxed);
        let reads: u64 = readers
            .into_iter()
            .map(|reader| reader.join().unwrap())
            .sum();
        assert!(reads > 0);
        let left: Vec<_> = fs::read_dir(&scratch.0).unwrap().collect();
        assert_eq!(left.len(), 2, "no temporary file left: {left:?}");
    }
}
