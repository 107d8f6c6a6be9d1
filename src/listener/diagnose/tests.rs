//! The `/proc` parsers and the classification, on fixture text (`tests/fixtures/proc/host`).

use super::*;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/proc/host");

fn fixture() -> ProcFs {
    ProcFs {
        root: PathBuf::from(FIXTURE),
        self_pid: 777,
        bound_inactive: |_| Ok(Vec::new()),
    }
}

fn read(path: &str) -> String {
    fs::read_to_string(Path::new(FIXTURE).join(path)).unwrap()
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

#[test]
fn net_tcp_rows_are_parsed_and_garbage_skipped() {
    let rows = parse_net_tcp(&read("net/tcp"), false);
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert_eq!(
        rows[0],
        SocketRow {
            local: addr("127.0.0.1:9100"),
            state: TCP_LISTEN,
            uid: 1000,
            inode: 1001
        }
    );
    assert_eq!(rows[1].local, addr("0.0.0.0:9200"));
    assert_eq!(rows[2].state, TCP_TIME_WAIT);
    assert_eq!(
        rows[4],
        SocketRow {
            local: addr("192.0.2.2:32862"),
            state: 0x01,
            uid: 0,
            inode: 18364
        }
    );
}

#[test]
fn net_tcp6_rows_are_parsed() {
    let rows = parse_net_tcp(&read("net/tcp6"), true);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].local, addr("[::]:9500"));
    assert_eq!(
        rows[1],
        SocketRow {
            local: addr("[::1]:9600"),
            state: TCP_LISTEN,
            uid: 65534,
            inode: 1004
        }
    );
    assert_eq!(rows[2].local, addr("[::ffff:127.0.0.1]:10000"));
}

#[test]
fn addresses_of_the_wrong_width_are_rejected() {
    assert_eq!(parse_address("0100007F", true), None);
    assert_eq!(parse_address("0100007", false), None);
    assert_eq!(parse_address("0100007G", false), None);
}

#[test]
fn status_gives_name_real_uid_and_core_dumping() {
    let status = parse_status(&read("888/status"));
    assert_eq!(
        status,
        Status {
            name: "exporter".into(),
            uid: Some(0),
            core_dumping: true
        }
    );
    let status = parse_status(&read("4242/status"));
    assert_eq!(
        status,
        Status {
            name: "python3".into(),
            uid: Some(1000),
            core_dumping: false
        }
    );
    assert_eq!(parse_status("garbage"), Status::default());
}

#[test]
fn stat_fields_are_counted_after_the_last_parenthesis() {
    let stat = parse_stat(&read("stat_hostile_comm")).unwrap();
    assert_eq!(
        stat,
        Stat {
            state: 'Z',
            flags: 4_194_308
        }
    );
    assert_ne!(stat.flags & PF_EXITING, 0);
    let stat = parse_stat(&read("5001/stat")).unwrap();
    assert_eq!(stat.state, 'S');
    assert_ne!(stat.flags & PF_EXITING, 0);
    assert_eq!(
        parse_stat(&read("4242/stat")).unwrap().flags & PF_EXITING,
        0
    );
    assert_eq!(parse_stat("12 (x) S 1"), None);
}

#[test]
fn cmdline_and_port_range() {
    assert_eq!(
        parse_cmdline(&fs::read(Path::new(FIXTURE).join("4242/cmdline")).unwrap()),
        "python3 -m http.server 9100 --bind 127.0.0.1"
    );
    assert_eq!(parse_cmdline(b""), "");
    assert_eq!(
        parse_port_range(&read("sys/net/ipv4/ip_local_port_range")),
        Some((32768, 60999))
    );
    assert_eq!(parse_port_range("32768"), None);
}

#[test]
fn overlap_rules() {
    let cases = [
        ("127.0.0.1:1", false, "127.0.0.1:1", true),
        ("127.0.0.1:1", false, "127.0.0.1:2", false),
        ("127.0.0.1:1", false, "127.0.0.2:1", false),
        ("127.0.0.1:1", false, "0.0.0.0:1", true),
        ("0.0.0.0:1", false, "127.0.0.1:1", true),
        ("127.0.0.1:1", false, "[::]:1", true),
        ("127.0.0.1:1", false, "[::1]:1", false),
        ("127.0.0.1:1", false, "[::ffff:127.0.0.1]:1", true),
        ("[::]:1", true, "127.0.0.1:1", true),
        ("[::]:1", false, "127.0.0.1:1", false),
        ("[::1]:1", false, "[::]:1", true),
        ("[::1]:1", true, "127.0.0.1:1", false),
        ("[::ffff:127.0.0.1]:1", false, "0.0.0.0:1", true),
    ];
    for (ours, dual, theirs, expected) in cases {
        assert_eq!(
            overlaps(addr(ours), dual, addr(theirs)),
            expected,
            "{ours} (dual {dual}) vs {theirs}"
        );
    }
}

fn diagnose_fixture(text: &str, dual: bool) -> Diagnosis {
    diagnose_in(&fixture(), addr(text), dual)
}

#[test]
fn another_program_is_named_with_pid_command_and_uid() {
    let diagnosis = diagnose_fixture("127.0.0.1:9100", false);
    let Holder::OtherProgram(process) = &diagnosis.holder else {
        panic!("{diagnosis:?}")
    };
    assert_eq!(process.pid, 4242);
    assert_eq!(process.uid, Some(1000));
    assert_eq!(
        process.exe.as_deref(),
        Some(Path::new("/usr/bin/python3.11"))
    );
    assert_eq!(diagnosis.listening_on, Some(addr("127.0.0.1:9100")));
    assert_eq!(diagnosis.ephemeral_range, None);
    assert_eq!(
        diagnosis.holder.to_string(),
        "held by another program: pid 4242 `python3 -m http.server 9100 --bind 127.0.0.1` (uid 1000)"
    );
}

#[test]
fn wildcard_listener_blocks_a_specific_address_and_it_is_us() {
    let diagnosis = diagnose_fixture("127.0.0.1:9200", false);
    assert_eq!(diagnosis.holder, Holder::ThisProcess);
    assert_eq!(diagnosis.listening_on, Some(addr("0.0.0.0:9200")));
}

#[test]
fn core_dumping_instance_of_an_upgraded_binary_is_dying() {
    // Our `[::]` is dual-stack, theirs is the `[::]` row; their exe carries " (deleted)".
    let diagnosis = diagnose_fixture("0.0.0.0:9500", false);
    let Holder::Dying(process) = &diagnosis.holder else {
        panic!("{diagnosis:?}")
    };
    assert!(process.core_dumping);
    assert_eq!(process.pid, 888);
    // cmdline is not read from a dumping process (it would block until the dump ends).
    assert_eq!(process.command, "[exporter]");
    assert!(
        diagnosis.holder.to_string().contains("writing a core dump"),
        "{}",
        diagnosis.holder
    );
}

#[test]
fn live_instance_of_the_same_executable_through_a_mapped_address() {
    let diagnosis = diagnose_fixture("127.0.0.1:10000", false);
    let Holder::SameProgram(process) = &diagnosis.holder else {
        panic!("{diagnosis:?}")
    };
    assert_eq!(process.pid, 889);
}

#[test]
fn socket_without_a_visible_process_is_hidden_with_its_uid() {
    let diagnosis = diagnose_fixture("[::1]:9600", false);
    assert_eq!(diagnosis.holder, Holder::Hidden { uid: 65534 });
}

#[test]
fn inherited_socket_lists_every_holder() {
    let diagnosis = diagnose_fixture("127.0.0.1:9800", false);
    let Holder::OtherProgram(process) = &diagnosis.holder else {
        panic!("{diagnosis:?}")
    };
    assert_eq!(
        (process.pid, process.also_held_by.clone()),
        (5000, vec![5001])
    );
    assert!(
        diagnosis
            .holder
            .to_string()
            .ends_with("also held by pid 5001"),
        "{}",
        diagnosis.holder
    );
}

#[test]
fn time_wait_only_means_no_listener() {
    let diagnosis = diagnose_fixture("127.0.0.1:9300", false);
    assert_eq!(
        diagnosis.holder,
        Holder::NoListener {
            time_wait: 2,
            connections: 0
        }
    );
}

#[test]
fn outgoing_connection_inside_the_ephemeral_range_is_reported() {
    let diagnosis = diagnose_fixture("192.0.2.2:32862", false);
    assert_eq!(
        diagnosis.holder,
        Holder::NoListener {
            time_wait: 0,
            connections: 1
        }
    );
    assert_eq!(diagnosis.ephemeral_range, Some((32768, 60999)));
}

#[test]
fn unreadable_proc_is_unknown_not_an_error() {
    let proc = ProcFs {
        root: PathBuf::from("/nonexistent/proc"),
        self_pid: 1,
        bound_inactive: |_| Ok(Vec::new()),
    };
    let diagnosis = diagnose_in(&proc, addr("127.0.0.1:1"), false);
    assert!(
        matches!(diagnosis.holder, Holder::Unknown { .. }),
        "{diagnosis:?}"
    );
}

/// A bound-only socket on 127.0.0.1:9911 held by pid 4242 (its fd 3 is socket 1001), as the
/// kernel's bound-inactive dump reports it.
fn bound_only_dump(port: u16) -> io::Result<Vec<SocketRow>> {
    Ok(vec![SocketRow {
        local: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        state: TCP_BOUND_INACTIVE,
        uid: 1000,
        inode: if port == 9911 { 1001 } else { 99_999 },
    }])
}

#[test]
fn a_bound_only_socket_from_the_kernel_dump_names_its_holder() {
    let proc = ProcFs {
        bound_inactive: bound_only_dump,
        ..fixture()
    };
    let diagnosis = diagnose_in(&proc, addr("127.0.0.1:9911"), false);
    let Holder::OtherProgram(process) = &diagnosis.holder else {
        panic!("{diagnosis:?}")
    };
    assert_eq!(process.pid, 4242);
    assert_eq!(diagnosis.listening_on, None);
    assert_eq!(diagnosis.bound_not_listening, Some(addr("127.0.0.1:9911")));
}

#[test]
fn a_bound_only_socket_without_a_visible_process_says_so() {
    let proc = ProcFs {
        bound_inactive: bound_only_dump,
        ..fixture()
    };
    // Inode 99999 is in no visible process's fd table.
    let diagnosis = diagnose_in(&proc, addr("127.0.0.1:9912"), false);
    assert_eq!(
        diagnosis.holder,
        Holder::BoundNotListening { uid: Some(1000) }
    );
    assert!(
        diagnosis
            .holder
            .to_string()
            .starts_with("bound by some process but not listening (a socket of uid 1000"),
        "{}",
        diagnosis.holder
    );
}

#[test]
fn an_invisible_holder_on_an_older_kernel_is_a_bound_only_socket() {
    let proc = ProcFs {
        bound_inactive: |_| Err(io::Error::from(io::ErrorKind::Unsupported)),
        ..fixture()
    };
    let diagnosis = diagnose_in(&proc, addr("127.0.0.1:9913"), false);
    assert_eq!(diagnosis.holder, Holder::BoundNotListening { uid: None });
    assert_eq!(
        diagnosis.holder.to_string(),
        "bound by some process but not listening"
    );
    // With rows on the port (TIME_WAIT, connections) the old diagnosis stands.
    let diagnosis = diagnose_in(&proc, addr("127.0.0.1:9300"), false);
    assert!(
        matches!(diagnosis.holder, Holder::NoListener { .. }),
        "{diagnosis:?}"
    );
}
