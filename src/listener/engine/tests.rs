//! The decision loop with scripted socket results and virtual time.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::*;
use crate::listener::diagnose::Process;
use crate::listener::socket::Step;

/// A scripted system: each build pops the next errno (`None` = success, a real loopback
/// listener on port 0); every requested address is recorded.
struct Script {
    results: Mutex<VecDeque<Option<i32>>>,
    requested: Mutex<Vec<SocketAddr>>,
    /// Used once the script runs out.
    otherwise: Option<i32>,
}

fn process(pid: u32) -> Process {
    Process {
        pid,
        command: "holder --flag".into(),
        uid: Some(1000),
        exe: None,
        core_dumping: false,
        exiting: false,
        also_held_by: Vec::new(),
    }
}

fn run_with(script: &Arc<Script>, holder: Holder, fallback: Fallback, budget: Duration, addr: &str) -> Run {
    let build_script = Arc::clone(script);
    let env = Env {
        build: Box::new(move |addr, _| {
            build_script.requested.lock().unwrap().push(addr);
            let next = build_script.results.lock().unwrap().pop_front().unwrap_or(build_script.otherwise);
            match next {
                None => Ok(TcpListener::bind("127.0.0.1:0").unwrap()),
                Some(code) => Err(BuildError { step: Step::Bind, error: io::Error::from_raw_os_error(code) }),
            }
        }),
        diagnose: Box::new(move |_, _| Diagnosis { holder: holder.clone(), listening_on: None, ephemeral_range: None }),
        local_addresses: || vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
    };
    let options = Options { backlog: 8, dual_stack: true };
    Run::new(addr.parse().unwrap(), options, fallback, budget, env)
}

fn script(results: &[Option<i32>], otherwise: Option<i32>) -> Arc<Script> {
    Arc::new(Script {
        results: Mutex::new(results.iter().copied().collect()),
        requested: Mutex::new(Vec::new()),
        otherwise,
    })
}

#[derive(Default)]
struct VirtualClock {
    now: Duration,
    sleeps: Vec<Duration>,
}

impl Clock for VirtualClock {
    fn elapsed(&self) -> Duration {
        self.now
    }
    fn sleep(&mut self, delay: Duration) -> bool {
        self.now += delay;
        self.sleeps.push(delay);
        true
    }
}

fn go(run: &mut Run, clock: &mut VirtualClock) -> (Outcome, Vec<State>) {
    let mut states = Vec::new();
    let first = run.attempt();
    let outcome = run.drive(first, clock, &mut |state| states.push(state));
    (outcome, states)
}

const IN_USE: Option<i32> = Some(libc::EADDRINUSE);

#[test]
fn same_program_releasing_the_port_is_waited_for() {
    let script = script(&[IN_USE, IN_USE, IN_USE], None);
    let mut run = run_with(&script, Holder::SameProgram(process(7)), Fallback::Ephemeral, Duration::from_secs(10), "127.0.0.1:9100");
    let mut clock = VirtualClock::default();
    let (outcome, states) = go(&mut run, &mut clock);
    let Outcome::Bound { source: Source::Configured, attempts: 4, .. } = outcome else { panic!("{outcome:?}") };
    assert_eq!(states.len(), 3);
    assert!(matches!(&states[0], State::Retrying { attempt: 1, .. }));
    let expected_ceilings = [50, 100, 200];
    for (sleep, ceiling) in clock.sleeps.iter().zip(expected_ceilings) {
        let ceiling = Duration::from_millis(ceiling);
        assert!(*sleep >= ceiling / 2 && *sleep <= ceiling, "{sleep:?}");
    }
    assert!(script.requested.lock().unwrap().iter().all(|addr| addr.port() == 9100), "never another port");
}

#[test]
fn same_program_that_stays_leads_to_the_fallback_at_the_budget() {
    let script = script(&[], IN_USE);
    // The fallback (port 0) succeeds: only the configured port is scripted as in use.
    let fallback_script = Arc::clone(&script);
    let mut run = run_with(&script, Holder::SameProgram(process(7)), Fallback::Ephemeral, Duration::from_secs(2), "127.0.0.1:9100");
    let original = std::mem::replace(&mut run.env.build, Box::new(|_, _| unreachable!()));
    let mut original = original;
    run.env.build = Box::new(move |addr, options| {
        if addr.port() == 0 {
            fallback_script.requested.lock().unwrap().push(addr);
            return Ok(TcpListener::bind("127.0.0.1:0").unwrap());
        }
        original(addr, options)
    });
    let mut clock = VirtualClock::default();
    let (outcome, states) = go(&mut run, &mut clock);
    assert_eq!(clock.now, Duration::from_secs(2), "gave up exactly at the budget");
    let Outcome::Bound { source: Source::Fallback { reason }, attempts, .. } = outcome else { panic!() };
    assert!(attempts > 5 && attempts == states.len() as u32 + 1, "{attempts}");
    let message = reason.to_string();
    assert!(message.contains(&format!("gave up after {attempts} attempts")), "{message}");
    assert!(message.contains("another instance of this program"), "{message}");
    assert!(message.contains("kill 7"), "{message}");
}

#[test]
fn dying_holder_extends_the_budget_to_30_seconds() {
    let script = script(&[], IN_USE);
    let dying = Process { core_dumping: true, ..process(9) };
    let mut run = run_with(&script, Holder::Dying(dying), Fallback::None, Duration::from_secs(3), "127.0.0.1:9100");
    let mut clock = VirtualClock::default();
    let (outcome, _) = go(&mut run, &mut clock);
    assert_eq!(clock.now, DYING_BUDGET);
    let Outcome::Disabled(error) = outcome else { panic!() };
    assert!(error.to_string().contains("writing a core dump"), "{error}");
}

#[test]
fn another_program_means_fallback_at_once() {
    let script = script(&[IN_USE, IN_USE], None);
    let mut run = run_with(&script, Holder::OtherProgram(process(4242)), Fallback::Ports(9100..=9105), Duration::from_secs(10), "127.0.0.1:9100");
    let mut clock = VirtualClock::default();
    let (outcome, states) = go(&mut run, &mut clock);
    assert!(states.is_empty() && clock.sleeps.is_empty(), "no retry");
    let Outcome::Bound { source: Source::Fallback { reason }, attempts: 1, .. } = outcome else { panic!() };
    let ports: Vec<u16> = script.requested.lock().unwrap().iter().map(SocketAddr::port).collect();
    assert_eq!(ports, [9100, 9101, 9102], "skips the configured port, goes on while in use");
    assert!(reason.to_string().contains("held by another program: pid 4242 `holder --flag` (uid 1000)"));
    assert!(reason.to_string().contains("not retried"));
}

#[test]
fn this_process_is_an_error_without_fallback() {
    let script = script(&[IN_USE], None);
    let mut run = run_with(&script, Holder::ThisProcess, Fallback::Ephemeral, Duration::from_secs(10), "127.0.0.1:9100");
    let (outcome, states) = go(&mut run, &mut VirtualClock::default());
    assert!(states.is_empty());
    let Outcome::Disabled(error) = outcome else { panic!() };
    assert_eq!(error.raw_os_error(), Some(libc::EADDRINUSE));
    assert_eq!(script.requested.lock().unwrap().len(), 1);
    assert!(error.to_string().contains("opened twice in this process"), "{error}");
}

#[test]
fn permission_denied_falls_back_to_unprivileged_ports_only() {
    let script = script(&[Some(libc::EACCES)], Some(libc::EACCES));
    let mut run = run_with(&script, Holder::ThisProcess, Fallback::Ports(1020..=1030), Duration::from_secs(10), "127.0.0.1:80");
    // Ports ≥ 1024 succeed from the third one on.
    let results = [IN_USE, IN_USE, None];
    script.results.lock().unwrap().extend(results);
    let (outcome, states) = go(&mut run, &mut VirtualClock::default());
    assert!(states.is_empty());
    let Outcome::Bound { source: Source::Fallback { reason }, .. } = outcome else { panic!("{outcome:?}") };
    let ports: Vec<u16> = script.requested.lock().unwrap().iter().map(SocketAddr::port).collect();
    assert_eq!(ports, [80, 1024, 1025, 1026]);
    assert_eq!(reason.raw_os_error(), Some(libc::EACCES));
    assert!(reason.to_string().contains("CAP_NET_BIND_SERVICE"), "{reason}");
}

#[test]
fn address_not_available_is_final_and_lists_local_addresses() {
    let script = script(&[Some(libc::EADDRNOTAVAIL)], None);
    let mut run = run_with(&script, Holder::ThisProcess, Fallback::Ephemeral, Duration::from_secs(10), "192.0.2.1:9100");
    let (outcome, _) = go(&mut run, &mut VirtualClock::default());
    let Outcome::Disabled(error) = outcome else { panic!() };
    assert_eq!(script.requested.lock().unwrap().len(), 1, "no port fallback for an address problem");
    assert!(error.to_string().ends_with("192.0.2.1 is not assigned to this machine; use one of: 127.0.0.1, ::1"), "{error}");
}

#[test]
fn ipv6_unsupported_switches_the_wildcard_to_ipv4() {
    let script = script(&[Some(libc::EAFNOSUPPORT)], None);
    let mut run = run_with(&script, Holder::ThisProcess, Fallback::None, Duration::from_secs(10), "[::]:9100");
    let (outcome, _) = go(&mut run, &mut VirtualClock::default());
    assert!(matches!(outcome, Outcome::Bound { attempts: 1, .. }), "{outcome:?}");
    let requested = script.requested.lock().unwrap().clone();
    assert_eq!(requested, ["[::]:9100".parse().unwrap(), "0.0.0.0:9100".parse().unwrap()]);
}

#[test]
fn too_many_open_files_retries_then_disables_without_fallback() {
    let script = script(&[], Some(libc::EMFILE));
    let mut run = run_with(&script, Holder::ThisProcess, Fallback::Ephemeral, Duration::from_secs(1), "127.0.0.1:9100");
    let mut clock = VirtualClock::default();
    let (outcome, states) = go(&mut run, &mut clock);
    assert!(!states.is_empty());
    assert_eq!(clock.now, Duration::from_secs(1));
    let Outcome::Disabled(error) = outcome else { panic!() };
    assert!(script.requested.lock().unwrap().iter().all(|addr| addr.port() == 9100));
    assert!(error.to_string().contains("ulimit -n"), "{error}");
}

#[test]
fn exhausted_fallback_range_reports_both_failures() {
    let script = script(&[], IN_USE);
    let mut run = run_with(&script, Holder::OtherProgram(process(1)), Fallback::Ports(9100..=9102), Duration::from_secs(1), "127.0.0.1:9100");
    let (outcome, _) = go(&mut run, &mut VirtualClock::default());
    let Outcome::Disabled(error) = outcome else { panic!() };
    assert!(matches!(error, ListenerError::Fallback { .. }));
    let message = error.to_string();
    assert!(message.contains(". The fallback (ports 9100-9102) failed too: Address already in use"), "{message}");
    assert_eq!(error.diagnosis().map(|diagnosis| &diagnosis.holder), Some(&Holder::OtherProgram(process(1))));
}

#[test]
fn other_errors_are_final() {
    let script = script(&[Some(libc::EINVAL)], None);
    let mut run = run_with(&script, Holder::ThisProcess, Fallback::Ephemeral, Duration::from_secs(1), "127.0.0.1:9100");
    let (outcome, states) = go(&mut run, &mut VirtualClock::default());
    assert!(states.is_empty());
    assert!(matches!(outcome, Outcome::Disabled(ListenerError::Bind { gave_up: true, attempts: 1, .. })));
}
