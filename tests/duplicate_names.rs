//! Two statics with colliding names never produce an invalid exposition: the first by
//! declaration order is exported, the other is left out, and `check()` names both.

mod alpha {
    use promstatic::{Counter, metric};

    /// Declared first (module `alpha` sorts before `beta`).
    #[metric(name = "jobs_total")]
    pub(crate) static JOBS: Counter = Counter::new();
}

mod beta {
    use promstatic::{Counter, Gauge, metric};

    /// Declared second, same name.
    #[metric(name = "jobs_total")]
    pub(crate) static JOBS: Counter = Counter::new();

    /// Its OpenMetrics family name `queue` collides with the gauge below.
    #[metric(name = "queue_total")]
    pub(crate) static QUEUE_TOTAL: Counter = Counter::new();

    /// Sorts before `queue_total`, so it is the one exported.
    #[metric(name = "queue")]
    pub(crate) static QUEUE: Gauge = Gauge::new();
}

#[test]
fn duplicates_are_reported_and_only_the_first_exported() {
    alpha::JOBS.inc_by(1);
    beta::JOBS.inc_by(100);
    beta::QUEUE_TOTAL.inc();
    beta::QUEUE.set(7);

    let error = promstatic::check().unwrap_err();
    assert_eq!(error.collisions.len(), 2, "{error}");
    let message = error.to_string();
    assert!(
        message.contains("metric `jobs_total` is declared twice"),
        "{message}"
    );
    assert!(
        message.contains("duplicate_names::alpha (tests/duplicate_names.rs:9) (exported)"),
        "{message}"
    );
    assert!(
        message.contains("duplicate_names::beta (tests/duplicate_names.rs:17) (left out"),
        "{message}"
    );
    assert!(
        message.contains("metrics `queue` and `queue_total` produce the same series names"),
        "{message}"
    );

    for format in [promstatic::Format::Text, promstatic::Format::OpenMetrics] {
        let mut out = Vec::new();
        promstatic::render(&mut out, format);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("# TYPE").count(), 2, "{text}");
        assert!(text.contains("\njobs_total 1\n"), "{text}");
        assert!(text.contains("\nqueue 7\n"), "{text}");
        assert!(
            !text.lines().any(|line| line.starts_with("queue_total")),
            "{text}"
        );
    }
}
