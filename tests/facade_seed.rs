//! The seed scenario as real processes: a program written against `metrics::counter!`,
//! started on a port a live foreign process holds, does not panic, names the holder, falls
//! back (or stays disabled) and keeps recording; killed with SIGKILL and restarted at once on
//! its own port, it binds that port on the first attempt.

#![cfg(all(feature = "facade", target_os = "linux"))]

#[path = "support/http.rs"]
mod http;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Generous: the machine is shared and loaded.
const DEADLINE: Duration = Duration::from_secs(60);

/// The `facade` example's binary, built if `cargo test` did not build it already.
fn example_binary() -> std::path::PathBuf {
    let executable = std::env::current_exe().unwrap();
    let profile = executable.parent().unwrap().parent().unwrap();
    let binary = profile.join("examples").join("facade");
    if !binary.is_file() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--example", "facade", "--features", "facade"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success());
    }
    binary
}

/// A running process whose stdout and stderr lines are collected by two threads; killed (by
/// its own pid) when dropped.
struct Process {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Process {
    fn spawn(command: &mut Command) -> Process {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let collect = |stream: Box<dyn std::io::Read + Send>| {
            let lines = Arc::new(Mutex::new(Vec::new()));
            let sink = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
            lines
        };
        let stdout = collect(Box::new(child.stdout.take().unwrap()));
        let stderr = collect(Box::new(child.stderr.take().unwrap()));
        Process {
            child,
            stdout,
            stderr,
        }
    }

    /// The first stdout line that `pick` accepts, waiting up to the deadline.
    fn wait_stdout<T>(&self, mut pick: impl FnMut(&str) -> Option<T>) -> T {
        let started = Instant::now();
        loop {
            if let Some(found) = self
                .stdout
                .lock()
                .unwrap()
                .iter()
                .find_map(|line| pick(line))
            {
                return found;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "nothing expected on stdout within {DEADLINE:?}: {:?}\nstderr: {:?}",
                self.stdout.lock().unwrap(),
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stderr_text(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Waits until stderr contains every one of `needles`.
    fn wait_stderr(&self, needles: &[&str]) -> String {
        let started = Instant::now();
        loop {
            let text = self.stderr_text();
            if needles.iter().all(|needle| text.contains(needle)) {
                return text;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "{needles:?} not in stderr:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn assert_alive(&mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the process exited: {}",
            self.stderr_text()
        );
    }

    /// The `recorded N` lines so far.
    fn recorded(&self) -> Vec<u64> {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .filter_map(|line| line.strip_prefix("recorded ")?.parse().ok())
            .collect()
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL, to our own child by its pid
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.kill();
        }
    }
}

/// Waits (bounded) until the process reports more recorded frames than `than`.
fn wait_recorded_more_than(process: &Process, than: u64) -> u64 {
    let started = Instant::now();
    loop {
        if let Some(&last) = process.recorded().last()
            && last > than
        {
            return last;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "recording stopped at {:?}\nstderr: {}",
            process.recorded().last(),
            process.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A live foreign program (python3) listening on a loopback port; `None` (skipped, or a
/// failure under PROMSTATIC_REQUIRE_TOOLS=1) without python3.
fn foreign_holder() -> Option<(Process, SocketAddr)> {
    let python = http::require_tool("python3")?;
    let holder = Process::spawn(Command::new(python).args([
        "-c",
        "import socket, time\n\
         s = socket.socket()\n\
         s.bind(('127.0.0.1', 0))\n\
         s.listen(16)\n\
         print(s.getsockname()[1], flush=True)\n\
         time.sleep(300)\n",
    ]));
    let port: u16 = holder.wait_stdout(|line| line.trim().parse().ok());
    Some((holder, SocketAddr::from(([127, 0, 0, 1], port))))
}

fn served_at(line: &str) -> Option<SocketAddr> {
    line.strip_prefix("metrics at http://")?
        .strip_suffix("/metrics")?
        .parse()
        .ok()
}

fn frames(address: SocketAddr) -> u64 {
    let text = http::request(address, "GET", "/metrics", &[]).text();
    text.lines()
        .filter(|line| line.starts_with("frames_rendered_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn a_port_held_by_a_foreign_process_falls_back_names_the_holder_and_keeps_recording() {
    let Some((holder, taken)) = foreign_holder() else {
        return;
    };
    let holder_pid = holder.child.id().to_string();
    let mut game = Process::spawn(Command::new(example_binary()).args([
        "--bind",
        &taken.to_string(),
        "--fallback",
        "ephemeral",
    ]));
    let served = game.wait_stdout(served_at);
    assert_eq!(served.ip(), taken.ip());
    assert_ne!(
        served.port(),
        taken.port(),
        "never co-bound with the holder"
    );
    let log = game.wait_stderr(&[&holder_pid, "python3"]);
    assert!(!log.contains("panicked"), "{log}");
    // Recording goes on, and the fallback endpoint serves it.
    let first = frames(served);
    let started = Instant::now();
    while frames(served) <= first {
        assert!(
            started.elapsed() < DEADLINE,
            "the counter stopped at {first}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    game.assert_alive();
    drop(holder);
}

#[test]
fn with_no_fallback_it_stays_disabled_names_the_holder_and_keeps_recording() {
    let Some((holder, taken)) = foreign_holder() else {
        return;
    };
    let holder_pid = holder.child.id().to_string();
    let mut game = Process::spawn(Command::new(example_binary()).args([
        "--bind",
        &taken.to_string(),
        "--fallback",
        "none",
    ]));
    let reason =
        game.wait_stdout(|line| line.strip_prefix("metrics disabled: ").map(str::to_owned));
    assert!(reason.contains(&holder_pid), "{reason}");
    let log = game.wait_stderr(&[&holder_pid, "python3"]);
    assert!(!log.contains("panicked"), "{log}");
    let now = wait_recorded_more_than(&game, 0);
    wait_recorded_more_than(&game, now);
    game.assert_alive();
    drop(holder);
}

#[test]
fn killed_and_restarted_at_once_it_binds_its_own_port_on_the_first_attempt() {
    // A free port for this test (the suite's one helper for it), released for the program.
    let port = http::free_port();
    let own = SocketAddr::from(([127, 0, 0, 1], port));
    let spawn = || {
        Process::spawn(Command::new(example_binary()).args([
            "--bind",
            &own.to_string(),
            "--fallback",
            "none",
        ]))
    };
    let mut first = spawn();
    assert_eq!(first.wait_stdout(served_at), own);
    // A scrape leaves a connection behind in TIME_WAIT on the server's port.
    assert!(frames(own) > 0 || wait_recorded_more_than(&first, 0) > 0);
    first.kill();

    let mut second = spawn();
    assert_eq!(
        second.wait_stdout(served_at),
        own,
        "{}",
        second.stderr_text()
    );
    let text = http::request(own, "GET", "/metrics", &[]).text();
    assert!(
        text.contains("\npromstatic_bind_attempts_total 1\n"),
        "bound on the first attempt:\n{text}"
    );
    let log = second.stderr_text();
    assert!(!log.contains("retry") && !log.contains("in use"), "{log}");
    second.assert_alive();
}
