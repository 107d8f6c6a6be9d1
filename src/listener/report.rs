//! Telling the outside world where we listen: a port file and a Prometheus `file_sd` target.
//!
//! Both files are written atomically: the content goes to a temporary file in the same
//! directory, is flushed to disk, and is renamed over the target, so a reader (a script, or
//! Prometheus watching the file) sees the old content or the new one, never half of it.
//!
//! The `file_sd` target carries an `instance` label that does not change when a fallback
//! changes the port (by default `<hostname>:<configured port>`), so the series of this
//! program keep their identity across restarts that land on different ports.

use std::fs;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// Where and how to write the `file_sd` target file.
#[derive(Debug, Clone)]
pub(crate) struct FileSd {
    pub(crate) path: PathBuf,
    pub(crate) job: String,
    pub(crate) instance: Option<String>,
}

/// Writes `port` followed by a newline.
pub(crate) fn write_port_file(path: &Path, port: u16) -> io::Result<()> {
    write_atomically(path, format!("{port}\n").as_bytes())
}

/// Writes a one-target `file_sd` JSON list for `bound`.
pub(crate) fn write_file_sd(
    file_sd: &FileSd,
    bound: SocketAddr,
    configured_port: u16,
) -> io::Result<()> {
    let target = SocketAddr::new(target_ip(bound.ip()), bound.port());
    let host = crate::sys::hostname();
    let instance = file_sd
        .instance
        .clone()
        .unwrap_or_else(|| format!("{host}:{configured_port}"));
    let json = file_sd_json(
        &target_text(target, bound.ip(), &host),
        &file_sd.job,
        &instance,
    );
    write_atomically(&file_sd.path, json.as_bytes())
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

pub(crate) fn file_sd_json(target: &str, job: &str, instance: &str) -> String {
    let mut json = String::from("[\n  {\n    \"targets\": [");
    push_json_string(&mut json, target);
    json.push_str("],\n    \"labels\": {\"job\": ");
    push_json_string(&mut json, job);
    json.push_str(", \"instance\": ");
    push_json_string(&mut json, instance);
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
    let temporary = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
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
    use super::*;

    #[test]
    fn json_escapes_what_it_must() {
        let json = file_sd_json("127.0.0.1:9464", "a\"b\\c\nd\u{1}", "host:9100");
        assert_eq!(
            json,
            "[\n  {\n    \"targets\": [\"127.0.0.1:9464\"],\n    \"labels\": {\"job\": \"a\\\"b\\\\c\\nd\\u0001\", \
             \"instance\": \"host:9100\"}\n  }\n]\n"
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
        assert!(write_port_file(path, 1).is_err());
        assert!(write_atomically(Path::new("/"), b"x").is_err());
    }
}
