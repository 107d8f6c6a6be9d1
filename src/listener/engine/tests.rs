//! The decision loop with scripted socket results and virtual time.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::*;
use crate::listener::diagnose::Process;
use crate::listener::socket::Step;

/// A scripted system: each build of a non-zero port pops the next errno (`None` = success);
/// once the script runs out, `otherwise` answers. Port 0 (the OS-chosen fallback) always
/// succeeds. Successes are real loopback listeners on port 0; every requested address is
/// recorded.
struct Script {
    results: Mutex<VecDeque<Option<i32>>>,
    requested: Mutex<Vec<SocketAddr>>,
    otherwise: Option<i32>,
    /// The step that fails (`listen()` failures must be treated like `bind()` ones).
    step: Step,
}

impl Script {
    fn build(&self, addr: SocketAddr) -> Result<TcpListener, BuildError> {
        self.requested.lock().unwrap().push(addr);
        let next = match addr.port() {
            0 => None,
            _ => self
                .results
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or(self.otherwise),
        };
        match next {
            None => Ok(TcpListener::bind("127.0.0.1:0").unwrap()),
            Some(code) => Err(BuildError {
                step: self.step,
                error: io::Error::from_raw_os_error(code),
            }),
        }
    }

    fn ports(&self) -> Vec<u16> {
        self.requested
            .lock()
            .unwrap()
            .iter()
            .map(SocketAddr::port)
            .collect()
    }
}

/// One scenario; `Case { .., ..Case::default() }.start()` gives the script and the run.
struct Case {
    results: Vec<Option<i32>>,
    otherwise: Option<i32>,
    holder: Holder,
    fallback: Fallback,
    budget: Duration,
    addr: &'static str,
    step: Step,
}

impl Default for Case {
    fn default() -> Self {
        Self {
            results: Vec::new(),
            otherwise: None,
            holder: Holder::ThisProcess,
            fallback: Fallback::None,
            budget: Duration::from_secs(10),
            addr: "127.0.0.1:9100",
            step: Step::Bind,
        }
    }
}

impl Case {
    fn start(self) -> (Arc<Script>, Run) {
        let script = Arc::new(Script {
            results: Mutex::new(self.results.into()),
            requested: Mutex::new(Vec::new()),
            otherwise: self.otherwise,
            step: self.step,
        });
        let build_script = Arc::clone(&script);
        let holder = self.holder;
        let env = Env {
            build: Box::new(move |addr, _| build_script.build(addr)),
            diagnose: Box::new(move |_, _| Diagnosis {
                holder: holder.clone(),
                listening_on: None,
                ephemeral_range: None,
            }),
            local_addresses: || vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
        };
        let options = Options {
            backlog: 8,
            dual_stack: true,
        };
        let run = Run::new(
            self.addr.parse().unwrap(),
            options,
            self.fallback,
            self.budget,
            env,
        );
        (script, run)
    }
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

/// Runs to the end; returns the outcome, the published `Retrying` states and the clock.
fn go(run: &mut Run) -> (Outcome, Vec<State>, VirtualClock) {
    let mut clock = VirtualClock::default();
    let mut states = Vec::new();
    let first = run.attempt();
    let outcome = run.drive(first, &mut clock, &mut |state| states.push(state));
    (outcome, states, clock)
}

const IN_USE: Option<i32> = Some(sys::EADDRINUSE);

#[test]
fn same_program_releasing_the_port_is_waited_for() {
    let holder = Holder::SameProgram(process(7));
    let case = Case {
        results: vec![IN_USE; 3],
        holder,
        fallback: Fallback::Ephemeral,
        ..Case::default()
    };
    let (script, mut run) = case.start();
    let (outcome, states, clock) = go(&mut run);
    let Outcome::Bound {
        source: Source::Configured,
        attempts: 4,
        ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(states.len(), 3);
    assert!(matches!(&states[0], State::Retrying { attempt: 1, .. }));
    for (sleep, ceiling) in clock.sleeps.iter().zip([50, 100, 200]) {
        let ceiling = Duration::from_millis(ceiling);
        assert!(*sleep >= ceiling / 2 && *sleep <= ceiling, "{sleep:?}");
    }
    assert_eq!(script.ports(), [9100; 4], "never another port");
}

#[test]
fn same_program_that_stays_leads_to_the_fallback_at_the_budget() {
    let holder = Holder::SameProgram(process(7));
    let budget = Duration::from_secs(2);
    let case = Case {
        otherwise: IN_USE,
        holder,
        fallback: Fallback::Ephemeral,
        budget,
        ..Case::default()
    };
    let (script, mut run) = case.start();
    let (outcome, states, clock) = go(&mut run);
    assert_eq!(clock.now, budget, "gave up exactly at the budget");
    let Outcome::Bound {
        source: Source::Fallback { reason },
        attempts,
        ..
    } = outcome
    else {
        panic!()
    };
    assert!(
        attempts > 5 && attempts == states.len() as u32 + 1,
        "{attempts}"
    );
    assert_eq!(script.ports().last(), Some(&0));
    let message = reason.to_string();
    assert!(
        message.contains(&format!("gave up after {attempts} attempts")),
        "{message}"
    );
    assert!(
        message.contains("another instance of this program"),
        "{message}"
    );
    assert!(message.contains("kill 7"), "{message}");
}

#[test]
fn dying_holder_extends_the_budget_to_30_seconds() {
    let holder = Holder::Dying(Process {
        core_dumping: true,
        ..process(9)
    });
    let budget = Duration::from_secs(3);
    let (_, mut run) = Case {
        otherwise: IN_USE,
        holder,
        budget,
        ..Case::default()
    }
    .start();
    let (outcome, _, clock) = go(&mut run);
    assert_eq!(clock.now, DYING_BUDGET);
    let Outcome::Disabled(error) = outcome else {
        panic!()
    };
    assert!(error.to_string().contains("writing a core dump"), "{error}");
}

#[test]
fn another_program_means_fallback_at_once() {
    let holder = Holder::OtherProgram(process(4242));
    let fallback = Fallback::Ports(9100..=9105);
    let (script, mut run) = Case {
        results: vec![IN_USE; 2],
        holder,
        fallback,
        ..Case::default()
    }
    .start();
    let (outcome, states, clock) = go(&mut run);
    assert!(states.is_empty() && clock.sleeps.is_empty(), "no retry");
    let Outcome::Bound {
        source: Source::Fallback { reason },
        attempts: 1,
        ..
    } = outcome
    else {
        panic!()
    };
    assert_eq!(
        script.ports(),
        [9100, 9101, 9102],
        "skips the configured port, goes on while in use"
    );
    let message = reason.to_string();
    assert!(
        message.contains("held by another program: pid 4242 `holder --flag` (uid 1000)"),
        "{message}"
    );
    assert!(message.contains("not retried"), "{message}");
}

#[test]
fn this_process_is_an_error_without_fallback() {
    let (script, mut run) = Case {
        results: vec![IN_USE],
        fallback: Fallback::Ephemeral,
        ..Case::default()
    }
    .start();
    let (outcome, states, _) = go(&mut run);
    assert!(states.is_empty());
    let Outcome::Disabled(error) = outcome else {
        panic!()
    };
    assert_eq!(error.raw_os_error(), Some(sys::EADDRINUSE));
    assert_eq!(script.ports(), [9100]);
    assert!(
        error.to_string().contains("opened twice in this process"),
        "{error}"
    );
}

#[test]
fn permission_denied_falls_back_to_unprivileged_ports_only() {
    // Port 80 is refused; ports ≥ 1024 are in use twice, then free.
    let results = vec![Some(sys::EACCES), IN_USE, IN_USE, None];
    let fallback = Fallback::Ports(1020..=1030);
    let (script, mut run) = Case {
        results,
        fallback,
        addr: "127.0.0.1:80",
        ..Case::default()
    }
    .start();
    let (outcome, states, _) = go(&mut run);
    assert!(states.is_empty());
    let Outcome::Bound {
        source: Source::Fallback { reason },
        ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(script.ports(), [80, 1024, 1025, 1026]);
    assert_eq!(reason.raw_os_error(), Some(sys::EACCES));
    assert!(
        reason.to_string().contains("CAP_NET_BIND_SERVICE"),
        "{reason}"
    );
}

#[test]
fn address_not_available_is_final_and_lists_local_addresses() {
    let results = vec![Some(sys::EADDRNOTAVAIL)];
    let case = Case {
        results,
        fallback: Fallback::Ephemeral,
        addr: "192.0.2.1:9100",
        ..Case::default()
    };
    let (script, mut run) = case.start();
    let (outcome, _, _) = go(&mut run);
    let Outcome::Disabled(error) = outcome else {
        panic!()
    };
    assert_eq!(
        script.ports(),
        [9100],
        "no port fallback for an address problem"
    );
    let message = error.to_string();
    assert!(
        message.ends_with("192.0.2.1 is not assigned to this machine; use one of: 127.0.0.1, ::1"),
        "{message}"
    );
}

#[test]
fn ipv6_unsupported_switches_the_wildcard_to_ipv4() {
    let (script, mut run) = Case {
        results: vec![Some(sys::EAFNOSUPPORT)],
        addr: "[::]:9100",
        ..Case::default()
    }
    .start();
    let (outcome, _, _) = go(&mut run);
    assert!(
        matches!(outcome, Outcome::Bound { attempts: 1, .. }),
        "{outcome:?}"
    );
    let requested = script.requested.lock().unwrap().clone();
    assert_eq!(
        requested,
        [
            "[::]:9100".parse().unwrap(),
            "0.0.0.0:9100".parse().unwrap()
        ]
    );
}

#[test]
fn too_many_open_files_retries_then_disables_without_fallback() {
    let budget = Duration::from_secs(1);
    let case = Case {
        otherwise: Some(sys::EMFILE),
        fallback: Fallback::Ephemeral,
        budget,
        ..Case::default()
    };
    let (script, mut run) = case.start();
    let (outcome, states, clock) = go(&mut run);
    assert!(!states.is_empty());
    assert_eq!(clock.now, budget);
    let Outcome::Disabled(error) = outcome else {
        panic!()
    };
    assert!(script.ports().iter().all(|&port| port == 9100));
    assert!(error.to_string().contains("ulimit -n"), "{error}");
}

#[test]
fn exhausted_fallback_range_reports_both_failures() {
    let holder = Holder::OtherProgram(process(1));
    let fallback = Fallback::Ports(9100..=9102);
    let (_, mut run) = Case {
        otherwise: IN_USE,
        holder: holder.clone(),
        fallback,
        ..Case::default()
    }
    .start();
    let (outcome, _, _) = go(&mut run);
    let Outcome::Disabled(error) = outcome else {
        panic!()
    };
    assert!(matches!(error, ListenerError::Fallback { .. }));
    let message = error.to_string();
    assert!(
        message.contains(". The fallback (ports 9100-9102) failed too: Address already in use"),
        "{message}"
    );
    assert_eq!(
        error.diagnosis().map(|diagnosis| &diagnosis.holder),
        Some(&holder)
    );
}

#[test]
fn other_errors_are_final() {
    let (_, mut run) = Case {
        results: vec![Some(sys::EINVAL)],
        fallback: Fallback::Ephemeral,
        ..Case::default()
    }
    .start();
    let (outcome, states, _) = go(&mut run);
    assert!(states.is_empty());
    assert!(matches!(
        outcome,
        Outcome::Disabled(ListenerError::Bind {
            gave_up: true,
            attempts: 1,
            ..
        })
    ));
}

#[test]
fn listen_failure_is_handled_like_bind_failure() {
    let holder = Holder::SameProgram(process(7));
    let case = Case {
        results: vec![IN_USE],
        holder,
        step: Step::Listen,
        ..Case::default()
    };
    let (script, mut run) = case.start();
    let (outcome, states, _) = go(&mut run);
    assert!(
        matches!(
            outcome,
            Outcome::Bound {
                source: Source::Configured,
                attempts: 2,
                ..
            }
        ),
        "{outcome:?}"
    );
    let State::Retrying { last_error, .. } = &states[0] else {
        panic!()
    };
    assert!(
        last_error.to_string().starts_with(
            "cannot listen on 127.0.0.1:9100: listen() failed: Address already in use"
        )
    );
    assert!(
        last_error.diagnosis().is_some(),
        "diagnosed like a bind() failure"
    );
    assert_eq!(script.ports(), [9100, 9100]);
}
