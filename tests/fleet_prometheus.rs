//! A fleet of demos on one host, found by a real Prometheus through file_sd files in one
//! watched directory: every live instance is one distinct target, and the targets follow
//! crashes, restarts on new ports and clean exits.
//!
//! One Prometheus (loopback, a free port, a throwaway TSDB, 1 s scrape interval, file_sd
//! `refresh_interval: 1s`) watches `targets/*.json`; the phases share it to keep the test's
//! time modest on a shared machine:
//!
//! * (a) 20 demos on `127.0.0.1:0`, half with the default identity (Prometheus' `instance` =
//!   the scraped address), half all asking for the same `--instance` name: 20 targets up with
//!   20 distinct `instance` values, `job` from the scrape config, and `demo_requests_total`
//!   readable per instance through the query API;
//! * (b) two demos configured for one port, the second with `--fallback ephemeral` (and an
//!   explicit `--job`): both up with distinct instances, the first on its configured port;
//! * (c) `kill -9` a third of the fleet (their files stay behind, pointing at dead ports) and
//!   start them again on new ports: the active targets are exactly the live addresses again;
//! * (d) SIGTERM one demo: its file is removed and its target leaves the active targets.
//!
//! Every wait polls against a deadline. Processes are killed by pid when the test ends.

#![cfg(all(feature = "exporter", unix))]

#[path = "support/http.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::{
    Prometheus, Spawned, TempDir, demo_address, free_port, require_tool, spawn_demo_with_env,
};

const FLEET: usize = 20;
/// The scrape config's job name, which the targets must carry (the files set no `job`).
const JOB: &str = "fleet";
/// Prometheus start-up, first file_sd read and first scrape of 20 targets.
const ALL_UP_WITHIN: Duration = Duration::from_secs(40);
/// Prometheus' discovery manager forwards target changes at most every 5 s; then a refresh
/// (1 s, or at once through inotify) and a scrape (1 s). ~5 s measured; the rest is room for
/// a loaded 2-core machine.
const FOLLOW_WITHIN: Duration = Duration::from_secs(20);

/// One demo of the fleet and the file_sd file it writes.
struct Member {
    file: PathBuf,
    /// `XDG_RUNTIME_DIR` for the demo: its instance-name claims stay in the test's directory.
    runtime: PathBuf,
    arguments: Vec<String>,
    demo: Spawned,
    address: SocketAddr,
}

impl Member {
    fn start(directory: &Path, runtime: &Path, name: &str, extra: &[&str]) -> Member {
        let file = directory.join(format!("{name}.json"));
        let mut arguments: Vec<String> = ["--bind", "127.0.0.1:0", "--file-sd"]
            .iter()
            .map(|&argument| argument.to_owned())
            .collect();
        arguments.push(file.display().to_string());
        arguments.extend(extra.iter().map(|&argument| argument.to_owned()));
        Member::spawn(file, runtime.to_owned(), arguments)
    }

    fn spawn(file: PathBuf, runtime: PathBuf, arguments: Vec<String>) -> Member {
        let borrowed: Vec<&str> = arguments.iter().map(String::as_str).collect();
        let mut demo = spawn_demo_with_env(&borrowed, &[("XDG_RUNTIME_DIR", &runtime)]);
        let address = demo_address(&mut demo);
        Member {
            file,
            runtime,
            arguments,
            demo,
            address,
        }
    }

    /// `kill -9`, then the same command again (same file_sd file, a new port).
    fn crash_and_restart(self) -> (SocketAddr, Member) {
        let Member {
            file,
            runtime,
            arguments,
            mut demo,
            address,
        } = self;
        demo.child.kill().unwrap();
        demo.child.wait().unwrap();
        drop(demo);
        (address, Member::spawn(file, runtime, arguments))
    }
}

/// One active target as Prometheus reports it.
#[derive(Debug, Clone)]
struct Target {
    instance: String,
    job: String,
    health: String,
}

/// Active targets by scraped address, or `None` while Prometheus is not ready.
fn active_targets(prometheus: &mut Prometheus) -> Option<BTreeMap<SocketAddr, Target>> {
    let body = prometheus.get("/api/v1/targets?state=active")?;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let list = json["data"]["activeTargets"].as_array().unwrap();
    Some(
        list.iter()
            .map(|target| {
                let address = target["discoveredLabels"]["__address__"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                let text =
                    |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
                let labels = &target["labels"];
                let target = Target {
                    instance: text(&labels["instance"]),
                    job: text(&labels["job"]),
                    health: text(&target["health"]),
                };
                (address, target)
            })
            .collect(),
    )
}

/// Polls until the active targets are exactly `expected`, all scraped successfully; returns
/// them and the time it took.
fn wait_for_targets(
    prometheus: &mut Prometheus,
    expected: &BTreeSet<SocketAddr>,
    within: Duration,
    what: &str,
) -> (BTreeMap<SocketAddr, Target>, Duration) {
    let started = Instant::now();
    let mut last = None;
    loop {
        if let Some(targets) = active_targets(prometheus) {
            let addresses: BTreeSet<SocketAddr> = targets.keys().copied().collect();
            if addresses == *expected && targets.values().all(|target| target.health == "up") {
                return (targets, started.elapsed());
            }
            last = Some(targets);
        }
        assert!(
            started.elapsed() < within,
            "{what}: the active targets are not the {} live addresses, all up, after {within:?}\n\
             expected {expected:?}\nlast seen {last:#?}",
            expected.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn live_addresses(members: &[Member]) -> BTreeSet<SocketAddr> {
    members.iter().map(|member| member.address).collect()
}

/// Checks the identity rules on what Prometheus reports and returns the instance values.
fn check_identities(
    targets: &BTreeMap<SocketAddr, Target>,
    named: &BTreeSet<SocketAddr>,
    name: &str,
) -> BTreeSet<String> {
    let instances: BTreeSet<String> = targets
        .values()
        .map(|target| target.instance.clone())
        .collect();
    assert_eq!(
        instances.len(),
        targets.len(),
        "every target has its own instance: {targets:#?}"
    );
    for (address, target) in targets {
        if named.contains(address) {
            assert!(
                target.instance == name || target.instance.starts_with(&format!("{name}-")),
                "{address}: {target:?}"
            );
        } else {
            assert_eq!(target.instance, address.to_string(), "default identity");
        }
    }
    instances
}

#[test]
fn a_fleet_of_demos_is_one_target_per_live_instance() {
    let Some(binary) = require_tool("prometheus") else {
        return;
    };
    let directory = TempDir::new("fleet");
    let targets_dir = directory.0.join("targets");
    std::fs::create_dir_all(&targets_dir).unwrap();
    let mut prometheus = Prometheus::start(
        &binary,
        &directory.0,
        &format!(
            "  - job_name: {JOB}\n    file_sd_configs:\n      - files: ['{}/*.json']\n        \
             refresh_interval: 1s\n",
            targets_dir.display()
        ),
    );

    // (a) The fleet: odd members all ask for one name, even members keep the default
    // identity. Their claims go to the test's own runtime directory.
    let runtime = directory.0.join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    let started = Instant::now();
    let name = "worker".to_owned();
    let mut members: Vec<Member> = (0..FLEET)
        .map(|index| {
            let extra: &[&str] = if index % 2 == 1 {
                &["--instance", &name]
            } else {
                &[]
            };
            Member::start(&targets_dir, &runtime, &format!("demo-{index}"), extra)
        })
        .collect();
    let mut named: BTreeSet<SocketAddr> = members
        .iter()
        .enumerate()
        .filter(|(index, _)| index % 2 == 1)
        .map(|(_, member)| member.address)
        .collect();
    let (targets, _) = wait_for_targets(
        &mut prometheus,
        &live_addresses(&members),
        ALL_UP_WITHIN,
        "fleet start",
    );
    let all_up = started.elapsed();
    let instances = check_identities(&targets, &named, &name);
    assert!(
        targets.values().all(|target| target.job == JOB),
        "{targets:#?}"
    );

    // A counter per instance through the query API.
    let counted = Instant::now();
    loop {
        let body = prometheus
            .get("/api/v1/query?query=demo_requests_total")
            .expect("Prometheus is ready");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        let per_instance: BTreeMap<String, f64> = json["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sample| {
                let instance = sample["metric"]["instance"].as_str().unwrap().to_owned();
                let value = sample["value"][1].as_str().unwrap().parse().unwrap();
                (instance, value)
            })
            .collect();
        if per_instance.keys().cloned().collect::<BTreeSet<_>>() == instances {
            assert!(per_instance.values().all(|value| *value >= 0.0));
            break;
        }
        assert!(
            counted.elapsed() < FOLLOW_WITHIN,
            "demo_requests_total is not readable for each of the {FLEET} instances: {per_instance:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // (b) Two demos configured for one port; the second falls back to a port of the OS's
    // choosing after its retry budget (3 s: the first is the same program, alive).
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let first = Member::start(
        &targets_dir,
        &runtime,
        "same-port-1",
        &["--bind", &bind, "--fallback", "none"],
    );
    let second = Member::start(
        &targets_dir,
        &runtime,
        "same-port-2",
        &[
            "--bind",
            &bind,
            "--fallback",
            "ephemeral",
            "--job",
            "explicit",
        ],
    );
    assert_eq!(first.address.port(), port, "the first keeps its port");
    assert_ne!(second.address.port(), port);
    let (first_address, second_address) = (first.address, second.address);
    members.push(first);
    members.push(second);
    let (targets, _) = wait_for_targets(
        &mut prometheus,
        &live_addresses(&members),
        FOLLOW_WITHIN,
        "same-port pair",
    );
    check_identities(&targets, &named, &name);
    assert_eq!(targets[&first_address].job, JOB);
    assert_eq!(
        targets[&second_address].job, "explicit",
        "--job is asked for"
    );

    // (c) kill -9 a third of the fleet and start it again: the files the crashed demos left
    // point at dead ports until the restarts overwrite them.
    let crashed = FLEET.div_ceil(3);
    let mut dead = BTreeSet::new();
    let restarted_at = Instant::now();
    for index in 0..crashed {
        let member = members.remove(index);
        let (old, restarted) = member.crash_and_restart();
        dead.insert(old);
        if named.remove(&old) {
            named.insert(restarted.address);
        }
        members.insert(index, restarted);
    }
    let live = live_addresses(&members);
    let (targets, _) = wait_for_targets(&mut prometheus, &live, FOLLOW_WITHIN, "restarts");
    let followed = restarted_at.elapsed();
    // Exactly the live set, so none on a dead port (unless the OS gave a port back).
    assert!(
        targets
            .keys()
            .all(|address| !dead.contains(address) || live.contains(address))
    );
    check_identities(&targets, &named, &name);

    // (d) A clean exit withdraws the advertisement.
    let mut leaving = members.pop().unwrap();
    let terminated_at = Instant::now();
    let status = leaving.demo.terminate(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
    assert!(
        !leaving.file.exists(),
        "the file_sd file is removed on a clean exit"
    );
    let (targets, _) = wait_for_targets(
        &mut prometheus,
        &live_addresses(&members),
        FOLLOW_WITHIN,
        "clean exit",
    );
    let left = terminated_at.elapsed();

    println!(
        "fleet: {FLEET} demos + 2 on one port up as {} distinct targets; all up {all_up:?} after \
         start; {crashed} kill -9 + restarts followed in {followed:?}; clean exit gone in {left:?}",
        FLEET + 2
    );
    drop(prometheus);
    // Every named demo that did not get the name itself said so in its log line.
    let mut suffixed = 0;
    for mut member in members {
        assert!(
            member.demo.terminate(Duration::from_secs(10)).is_some(),
            "a demo did not exit on SIGTERM"
        );
        let instance = &targets[&member.address].instance;
        if named.contains(&member.address) && *instance != name {
            let mut stderr = String::new();
            use std::io::Read;
            let _ = member
                .demo
                .child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr);
            let said = format!("instance name {name:?} is held by");
            assert!(
                stderr.contains(&said)
                    && stderr.contains(&format!("this instance is {instance:?}")),
                "{stderr}"
            );
            suffixed += 1;
        }
    }
    assert!(suffixed >= FLEET / 2 - 1, "{suffixed} suffixed names");
    let left: Vec<_> = std::fs::read_dir(&targets_dir).unwrap().collect();
    assert!(left.is_empty(), "clean exits leave no files: {left:?}");
    // The claims of the demos that exited cleanly are released and removed; the crashed
    // demos' lock files were taken over by their restarts.
    let claims: Vec<_> = std::fs::read_dir(runtime.join("promstatic-instances"))
        .unwrap()
        .collect();
    assert!(
        claims.is_empty(),
        "released claims leave no files: {claims:?}"
    );
}
