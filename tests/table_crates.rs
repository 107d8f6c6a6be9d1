//! The static table spans modules and crates: every `#[metric]` static linked into the binary
//! appears exactly once, touched or not.

use promstatic::{Counter, Gauge, metric};

/// Top-level metric of this test crate.
#[metric]
static LOCAL_TOP_TOTAL: Counter = Counter::new();

mod first {
    use promstatic::{FloatGauge, metric};

    /// A float gauge in a module.
    #[metric]
    pub(crate) static LOCAL_RATIO: FloatGauge = FloatGauge::new();

    pub(crate) mod deeper {
        use promstatic::{Counter, metric};

        /// A counter two modules down.
        #[metric]
        pub(crate) static LOCAL_DEEP_TOTAL: Counter = Counter::new();
    }
}

mod second {
    use promstatic::{Gauge, metric};

    /// A gauge in another module, never touched.
    #[metric]
    pub(crate) static LOCAL_IDLE: Gauge = Gauge::new();
}

fn in_function() -> &'static Gauge {
    /// A gauge declared inside a function body.
    #[metric]
    static LOCAL_IN_FN: Gauge = Gauge::new();
    &LOCAL_IN_FN
}

const EXPECTED: [&str; 8] = [
    "local_top_total",
    "local_ratio",
    "local_deep_total",
    "local_idle",
    "local_in_fn",
    // From the second crate of the workspace (tests/extern-metrics).
    "extern_events_total",
    "extern_nested_level",
    "extern_untouched",
];

#[test]
fn every_static_of_every_crate_appears_exactly_once() {
    // Referencing the second crate keeps it in the link (see the `table` module docs).
    promstatic_extern_metrics::record_event();
    LOCAL_TOP_TOTAL.inc();
    first::LOCAL_RATIO.set(0.5);
    first::deeper::LOCAL_DEEP_TOTAL.inc_by(2);
    in_function().set(-4);

    let declared: Vec<&str> = promstatic::table::declarations()
        .map(|descriptor| descriptor.name())
        .collect();
    for name in EXPECTED {
        let times = declared
            .iter()
            .filter(|&&declared| declared == name)
            .count();
        assert_eq!(times, 1, "{name} appears {times} times in {declared:?}");
    }
    assert_eq!(declared.len(), EXPECTED.len(), "{declared:?}");
    assert_eq!(promstatic::check(), Ok(()));

    let mut out = Vec::new();
    promstatic::render_text(&mut out);
    let text = String::from_utf8(out).unwrap();
    for line in [
        "local_top_total 1\n",
        "local_ratio 0.5\n",
        "local_deep_total 2\n",
        "local_in_fn -4\n",
        "extern_events_total 1\n",
        // Never touched: still exported, at zero.
        "local_idle 0\n",
        "extern_untouched 0\n",
        "extern_nested_level 0\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert_eq!(text.matches("# TYPE ").count(), EXPECTED.len());
}

#[test]
fn declaration_sites_are_recorded() {
    let idle = promstatic::table::declarations()
        .find(|descriptor| descriptor.name() == "local_idle")
        .unwrap();
    assert_eq!(idle.module_path(), "table_crates::second");
    assert_eq!(idle.location().0, "tests/table_crates.rs");
    let nested = promstatic::table::declarations()
        .find(|descriptor| descriptor.name() == "extern_nested_level")
        .unwrap();
    assert_eq!(nested.module_path(), "promstatic_extern_metrics::nested");
}
