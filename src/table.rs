//! The static table: every `#[metric]` static in the binary, gathered by the linker.
//!
//! # How registration works
//!
//! `#[metric]` leaves the user's static untouched and adds one more static next to it: an
//! [`Entry`] holding the metric's [`Descriptor`] (name, type, HELP escaped for both formats,
//! declaration site) and a `&'static dyn Metric` pointing at the user's static. That entry is
//! placed in a dedicated linker section through [`linkme`]'s distributed slice, and the linker
//! concatenates the sections of every object file into one array. At run time the table is a
//! plain `&'static [Entry]`: enumerating it takes no lock, allocates nothing, and needs no
//! registration call, so a metric that was never touched is still exported at zero. Users do
//! not depend on `linkme`; generated code reaches it through `promstatic::__private`.
//!
//! # Linker caveats
//!
//! * An object file that nothing references may be left out of the link, and its entries with
//!   it: a library crate that *only* declares metrics, and whose items the binary never uses,
//!   contributes nothing. Reference at least one item of such a crate from the binary
//!   (`use other_crate as _;` alone does not count).
//! * With `-z start-stop-gc` (GNU ld ≥ 2.37 on request; lld ≥ 13 by default under
//!   `--gc-sections`), a section reached only through its `__start_`/`__stop_` symbols is no
//!   longer kept alive by them. `linkme` marks each element `#[used]`, which keeps it in the
//!   object file, but not every toolchain turns that into a "retain" flag the linker honours.
//!   Rust's default Linux link (`cc` + GNU ld, or rustc's own lld) keeps the entries, as the
//!   tests show; if a custom linker setup loses them, link with `-z nostart-stop-gc`
//!   (`-C link-arg=-Wl,-z,nostart-stop-gc`).
//! * Platforms: `linkme` supports Linux, macOS/iOS, Windows, the BSDs, illumos, and
//!   `wasm32` only as documented by `linkme`; elsewhere the crate fails to build rather than
//!   silently exporting nothing.
//!
//! # Order and duplicate names
//!
//! Link order is not something a user controls, so the first render sorts the table once by
//! metric name, then by declaration site, and keeps that order (a leaked boxed index, published
//! with one atomic pointer swap; a concurrent first render that loses the race frees its own
//! copy — nobody waits). The same pass detects metrics whose names would collide in an
//! exposition (the same name twice, or names such as `x` and `x_total`, or a histogram `x`
//! and a gauge `x_count`, that produce the same family or sample names). Only the first by
//! declaration order is exported; the rest are left out until renamed, an error is logged
//! once, and [`check`] returns it.
//!
//! # Activation
//!
//! An entry may wait for a switch (declared with the hidden `#[metric(activation = PATH)]`
//! argument, `PATH` naming a `static` switch): it is left out of every exposition, in every
//! format, until code turns the switch on, and written in every exposition from then on. The
//! `tower` feature's families wait for the first layer this way, so a binary in which some
//! dependency enabled the feature but no layer was ever built exports no HTTP metrics (and
//! pays nothing for them per scrape). Such an entry is in the table all along: it takes its
//! place in the order, duplicate-name checks ([`check`], the exporter's) see it, and
//! [`exported`] lists it. A plan built while a switch was off notes it and is replaced by
//! the first scrape that finds it on (one more allocation then; see `encode::plan`).
//!
//! # Exposition plans
//!
//! The first render in each format also builds the table's exposition plan (the crate's
//! `encode::plan` module): every series' bytes up to its value, rendered once in this order,
//! and the cells that hold the values, so that a warm scrape copies a prefix and writes a
//! number per series. It is published like the order (one compare-exchange, nobody waits)
//! and is the one allocation a render makes after the first one in its format. What is not
//! fixed is encoded in its place at every render: a dynamic family's series (its HELP, TYPE
//! and overflow series are planned in the text formats), so new series appear at once, and
//! native histograms, exemplars outside text 0.0.4, sharded counters, and histograms and
//! dynamic families in protobuf; the bytes are the same as encoding each metric in turn.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::claim;
use crate::encode::plan::PlanBuilder;
use crate::encode::{Encoder, EscapedHelp, Family, Format, Help, Kind, Label, Suffix, Text, Value};

/// What every metric type implements to be written by the encoder.
///
/// Implemented by the crate's metric types only (it is sealed: an implementation writes
/// exposition text past the encoder's checks); the `#[metric]` attribute requires it of the
/// static's type. A value known only at run time goes through the checked encoder API
/// instead (the exporter's `on_scrape` hook).
///
/// ```compile_fail,E0277
/// struct Mine;
/// impl promstatic::Metric for Mine {
///     fn encode(&self, _: &promstatic::table::Descriptor, _: &mut promstatic::encode::Encoder<'_>) {}
/// }
/// ```
pub trait Metric: Sync + crate::sealed::Sealed {
    /// Writes this metric's family (HELP, TYPE and samples) with `descriptor`'s name and HELP.
    fn encode(&self, descriptor: &Descriptor, encoder: &mut Encoder<'_>);

    /// For native histograms (and their families): what was clamped or rejected, summed
    /// over every series; `None` for every other metric. Feeds the self-metric
    /// `promstatic_native_observations_out_of_range_total`.
    #[doc(hidden)]
    fn native_out_of_range(&self) -> Option<crate::native::OutOfRange> {
        None
    }

    /// A dynamic family's overflow counts, for `promstatic_label_overflows_total`; `None`
    /// for every other metric.
    #[doc(hidden)]
    fn overflows(&self) -> Option<crate::dynamic::Overflows> {
        None
    }

    /// Writes this metric into an exposition plan (see `encode::plan`): its HELP and TYPE and
    /// each sample up to the value, with the cell that holds the value; `false`, planning
    /// nothing, for a metric whose bytes are not fixed (native histograms, sharded counters,
    /// histograms in protobuf…), which the plan then encodes the ordinary way at every scrape.
    #[doc(hidden)]
    fn plan(&'static self, _descriptor: &Descriptor, _plan: &mut PlanBuilder<'_, '_>) -> bool {
        false
    }

    /// For a metric whose plan holds its HELP and TYPE but not all its series (a dynamic
    /// family, whose series appear at run time): writes those series, after the HELP and
    /// TYPE the plan copied. Nothing for every other metric.
    #[doc(hidden)]
    fn encode_runtime_series(&self, _descriptor: &Descriptor, _encoder: &mut Encoder<'_>) {}
}

/// What `#[metric]` records about a declaration, prepared at compile time.
#[derive(Debug)]
pub struct Descriptor {
    name: &'static str,
    kind: Kind,
    help_text: &'static str,
    help_openmetrics: &'static str,
    labels: &'static [&'static str],
    module_path: &'static str,
    file: &'static str,
    line: u32,
}

impl Descriptor {
    /// Used by generated code (through `__private::descriptor`); the strings are validated
    /// and escaped by the macro, and checked again here, in the `static`'s constant
    /// evaluation, so a hand-written call with a bad name or unescaped HELP fails to compile
    /// instead of writing a broken line.
    #[allow(clippy::too_many_arguments)]
    pub(crate) const fn new(
        name: &'static str,
        kind: Kind,
        help_text: &'static str,
        help_openmetrics: &'static str,
        labels: &'static [&'static str],
        module_path: &'static str,
        file: &'static str,
        line: u32,
    ) -> Self {
        // The macro checked all of this; checking again in constant evaluation makes this
        // constructor a validating one (a failure is a compile error, never a run-time one).
        if crate::name::validate_metric_name(name).is_err() {
            panic!("a metric's name must be valid (see `promstatic::name`)");
        }
        let mut label = 0;
        while label < labels.len() {
            if crate::name::validate_label_name(labels[label]).is_err() {
                panic!("a family's label names must be valid (see `promstatic::name`)");
            }
            label += 1;
        }
        if EscapedHelp::new(help_text, help_openmetrics).is_err() {
            panic!("a metric's HELP must be escaped text for both formats (see `EscapedHelp`)");
        }
        Descriptor {
            name,
            kind,
            help_text,
            help_openmetrics,
            labels,
            module_path,
            file,
            line,
        }
    }

    /// The metric name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The family type.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The label names of a family, in declaration order (empty for a plain metric).
    pub fn labels(&self) -> &'static [&'static str] {
        self.labels
    }

    /// The module that declared the static.
    pub fn module_path(&self) -> &'static str {
        self.module_path
    }

    /// The source file and line of the declaration.
    pub fn location(&self) -> (&'static str, u32) {
        (self.file, self.line)
    }

    /// The family header for the encoder, with HELP already escaped for both formats.
    pub fn family(&self) -> Family<'static> {
        Family::prevalidated(
            self.name,
            self.kind,
            Help::Escaped(EscapedHelp::trusted(self.help_text, self.help_openmetrics)),
        )
    }

    fn site(&self) -> Site {
        Site {
            module_path: self.module_path,
            file: self.file,
            line: self.line,
        }
    }
}

pub(crate) use self::link::{Activation, Entry, METRICS};

#[doc(hidden)]
pub use crate::encode::plan::PlanCache;

/// The table's link-time parts. Public items in a private module: generated code reaches
/// them only through `promstatic::__private`, which is not an API; `promstatic::table` does
/// not expose them.
pub(crate) mod link {
    use super::{Descriptor, Metric, fmt};
    use std::sync::atomic::{AtomicBool, Ordering};

    /// One element of the static table.
    pub struct Entry {
        pub(crate) descriptor: Descriptor,
        pub(crate) metric: &'static dyn Metric,
        /// The switch the entry waits for before it is written, if any (see
        /// [`Activation`]).
        pub(crate) activation: Option<&'static Activation>,
    }

    impl Entry {
        /// Used by generated code.
        pub const fn new(descriptor: Descriptor, metric: &'static dyn Metric) -> Self {
            Entry {
                descriptor,
                metric,
                activation: None,
            }
        }

        /// This entry, written into expositions only once `activation` is on (generated
        /// code, for `#[metric(activation = PATH)]`).
        pub const fn activated_by(self, activation: &'static Activation) -> Self {
            Entry {
                activation: Some(activation),
                ..self
            }
        }

        /// Whether expositions write this entry now: it waits for no activation, or its
        /// activation is on.
        #[inline]
        pub(crate) fn is_written(&self) -> bool {
            self.activation.is_none_or(Activation::is_active)
        }
    }

    /// A switch that keeps the table entries declared with it (`#[metric(activation =
    /// PATH)]`, a hidden argument) out of every exposition until it is turned on, and in
    /// every exposition from then on; see the [table docs](crate::table#activation).
    ///
    /// The entries are in the table all along: duplicate-name checks see them, and
    /// [`exported`](crate::table::exported) lists them.
    #[derive(Debug)]
    pub struct Activation {
        on: AtomicBool,
    }

    impl Activation {
        /// Off.
        pub const fn new() -> Self {
            Activation {
                on: AtomicBool::new(false),
            }
        }

        /// Turns the switch on (for good); cheap when it already is.
        #[inline]
        pub fn activate(&self) {
            if !self.is_active() {
                self.turn_on();
            }
        }

        #[cold]
        #[inline(never)]
        fn turn_on(&self) {
            // Relaxed: the flag publishes nothing but itself (the entries are static), and a
            // scrape that misses it for a moment writes what it wrote before.
            self.on.store(true, Ordering::Relaxed);
        }

        /// Whether the switch is on.
        #[inline]
        pub(crate) fn is_active(&self) -> bool {
            self.on.load(Ordering::Relaxed)
        }
    }

    impl Default for Activation {
        fn default() -> Self {
            Activation::new()
        }
    }

    impl fmt::Debug for Entry {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Entry")
                .field("descriptor", &self.descriptor)
                .finish_non_exhaustive()
        }
    }

    /// The link-time table. Generated code adds to it; nothing else should.
    #[linkme::distributed_slice]
    pub static METRICS: [Entry];
}

/// Every declaration in the table, in link order, duplicates included.
pub fn declarations() -> impl ExactSizeIterator<Item = &'static Descriptor> {
    METRICS.iter().map(|entry| &entry.descriptor)
}

/// The declarations that are exported, in exposition order (duplicates left out), those
/// waiting for their [activation](crate::table#activation) included.
pub fn exported() -> impl Iterator<Item = &'static Descriptor> {
    Table::linked().exported()
}

/// The table entry of the static at `metric`'s address (found by address, so two statics
/// with equal values are told apart), if it is a `#[metric]` static the linker kept.
pub(crate) fn entry_of(metric: *const ()) -> Option<(&'static Descriptor, &'static dyn Metric)> {
    METRICS
        .iter()
        .find(|entry| std::ptr::addr_eq(entry.metric as *const dyn Metric, metric))
        .map(|entry| (&entry.descriptor, entry.metric))
}

/// The exported metric named `name` (a duplicate left out of scrapes is not found).
pub(crate) fn exported_entry(name: &str) -> Option<(&'static Descriptor, &'static dyn Metric)> {
    let table = Table::linked();
    let entries = table.entries();
    table
        .order()
        .indices
        .iter()
        .filter_map(|&index| entries.get(index as usize))
        .find(|entry| entry.descriptor.name == name)
        .map(|entry| (&entry.descriptor, entry.metric))
}

/// Writes every exported metric as one exposition in `format`, appending to `out`.
///
/// After the first call, rendering into a buffer that kept its capacity does not allocate.
pub fn render(out: &mut Vec<u8>, format: Format) {
    let mut encoder = Encoder::new(out, format);
    render_into(&mut encoder);
    render_native_out_of_range(&mut encoder);
    encoder.finish();
}

/// [`render`] in the Prometheus text format 0.0.4.
///
/// ```
/// use promstatic::{metric, Counter};
///
/// /// Widgets made.
/// #[metric]
/// static WIDGETS_TOTAL: Counter = Counter::new();
///
/// WIDGETS_TOTAL.inc();
/// let mut out = Vec::new();
/// promstatic::render_text(&mut out);
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.contains("# TYPE widgets_total counter\nwidgets_total 1\n"));
/// ```
pub fn render_text(out: &mut Vec<u8>) {
    render(out, Format::Text);
}

/// Writes every exported metric's family into `encoder` without ending the exposition, so a
/// caller can add families of its own before [`Encoder::finish`].
pub fn render_into(encoder: &mut Encoder<'_>) {
    Table::linked().render_into(encoder);
}

/// Writes the self-metric of native histograms, `promstatic_native_observations_out_of_range_total`
/// (one series per native histogram and reason, `clamped` or `rejected`; see
/// [`crate::native`]), if the table has any native histogram. [`render`] and the exporter
/// write it after the table, without the namespace; a caller of [`render_into`] may too.
pub fn render_native_out_of_range(encoder: &mut Encoder<'_>) {
    let table = Table::linked();
    let entries = table.entries();
    // The native histograms, found once in exposition order (not a walk over every metric).
    let indices = &table.order().natives;
    let natives = || {
        indices.iter().filter_map(|&index| {
            let entry = entries
                .get(index as usize)
                .filter(|entry| entry.is_written())?;
            Some((entry.descriptor.name, entry.metric.native_out_of_range()?))
        })
    };
    if natives().next().is_none() {
        return;
    }
    let family = Family::prevalidated(
        "promstatic_native_observations_out_of_range_total",
        Kind::Counter,
        Help::Raw(
            "Observations of a native histogram outside its declared range: clamped into \
             an edge bucket, or rejected (negative, NaN, infinite).",
        ),
    );
    let mut writer = encoder.family_trusted(&family);
    for (name, counts) in natives() {
        for (reason, value) in [("clamped", counts.clamped), ("rejected", counts.rejected)] {
            // Metric names have nothing to escape: `Raw` copies them as they are.
            let labels = [
                Label::prevalidated("histogram", Text::Raw(name)),
                Label::prevalidated("reason", Text::Raw(reason)),
            ];
            writer.sample_trusted(Suffix::Bare, &labels, Value::Unsigned(value));
        }
    }
}

/// Checks the table for metric names that collide; see the module docs.
///
/// This checks the declarations among themselves. The exporter checks them against its own
/// families (`process_*`, `*_build_info`, `promstatic_*`) with its namespace applied when it
/// starts, and refuses a configuration under which they would collide.
///
/// With the `facade` feature, a name recorded through the `metrics` facade that a
/// `#[metric]` static also writes is reported too: the static is exported, the facade metric
/// is the one left out, and its [`Site`] says it came through the facade (line 0).
pub fn check() -> Result<(), DuplicateMetricNames> {
    #[allow(unused_mut)]
    let mut collisions = match Table::linked().check() {
        Ok(()) => Vec::new(),
        Err(error) => error.collisions,
    };
    #[cfg(all(feature = "facade", not(promstatic_loom)))]
    collisions.extend(crate::facade::static_collisions());
    if collisions.is_empty() {
        return Ok(());
    }
    Err(DuplicateMetricNames { collisions })
}

/// Which `metrics` facade names a render writes: called with a name's slot, type and
/// exported name; `None` writes every one.
pub(crate) type FacadeFilter<'f> = Option<&'f dyn Fn(usize, Kind, &str) -> bool>;

/// A table of metrics: the one the linker gathered ([`METRICS`]), or one built at run time
/// (tests generate declarations with [`Table::leak`]). Everything the exporter renders comes
/// from a `Table`.
#[doc(hidden)]
pub struct Table {
    source: Source,
    /// The exposition order and collisions, computed once (see `Table::order`).
    order: AtomicPtr<Order>,
    /// The exposition plans of [`Table::render_into`] (see `encode::plan`).
    plans: PlanCache,
}

enum Source {
    Linked,
    Given(&'static [Entry]),
}

static LINKED: Table = Table {
    source: Source::Linked,
    order: AtomicPtr::new(std::ptr::null_mut()),
    plans: PlanCache::new(),
};

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("entries", &self.entries().len())
            .finish_non_exhaustive()
    }
}

impl Table {
    /// The table of every `#[metric]` in the binary.
    pub fn linked() -> &'static Table {
        &LINKED
    }

    /// A table of `entries`, leaked: for tests and tools that build declarations at run time.
    pub fn leak(entries: Vec<Entry>) -> &'static Table {
        Box::leak(Box::new(Table {
            source: Source::Given(Box::leak(entries.into_boxed_slice())),
            order: AtomicPtr::new(std::ptr::null_mut()),
            plans: PlanCache::new(),
        }))
    }

    fn entries(&self) -> &'static [Entry] {
        match self.source {
            Source::Linked => &METRICS,
            Source::Given(entries) => entries,
        }
    }

    /// The declarations that are exported, in exposition order (duplicates left out), those
    /// waiting for their [activation](crate::table#activation) included.
    pub fn exported(&'static self) -> impl Iterator<Item = &'static Descriptor> {
        let entries = self.entries();
        self.order()
            .indices
            .iter()
            .filter_map(move |&index| entries.get(index as usize))
            .map(|entry| &entry.descriptor)
    }

    /// Writes every exported metric's family into `encoder`; see [`render_into`].
    ///
    /// The first call in each format builds the table's exposition plan (see
    /// `encode::plan`), later ones replay it; an encoder with a namespace or constant labels
    /// other than the first one's takes the unplanned path.
    pub fn render_into(&'static self, encoder: &mut Encoder<'_>) {
        self.render_into_planned(encoder, &self.plans);
    }

    /// [`Table::render_into`] with the plans kept in `plans` (an exporter keeps its own, for
    /// its namespace and constant labels).
    pub fn render_into_planned(&'static self, encoder: &mut Encoder<'_>, plans: &PlanCache) {
        self.render_for_exporter(encoder, plans, None);
    }

    /// [`Table::render_into_planned`], with `facade` deciding which `metrics` facade names
    /// are written (an exporter leaves out those that collide with its own families).
    pub(crate) fn render_for_exporter(
        &'static self,
        encoder: &mut Encoder<'_>,
        plans: &PlanCache,
        facade: FacadeFilter<'_>,
    ) {
        match plans.get(encoder, || (self.waiting(), self.exported_metrics())) {
            Some(plan) => {
                plan.write(encoder);
                if !plan.writes_overflows() {
                    self.render_overflows(encoder);
                }
            }
            None => {
                self.encode_each(encoder);
                self.render_overflows(encoder);
            }
        }
        self.render_facade(encoder, facade);
    }

    /// [`Table::render_into`] without a plan: every metric encoded one by one, as the plan's
    /// bytes are checked against (tests compare the two).
    pub fn render_into_unplanned(&'static self, encoder: &mut Encoder<'_>) {
        self.encode_each(encoder);
        self.render_overflows(encoder);
        self.render_facade(encoder, None);
    }

    /// The exported metrics an exposition writes now, in exposition order: those waiting
    /// for an [`Activation`] that is still off are left out (each is checked as the iterator
    /// reaches it).
    fn exported_metrics(
        &'static self,
    ) -> impl Iterator<Item = (&'static Descriptor, &'static dyn Metric)> + Clone {
        let entries = self.entries();
        self.order()
            .indices
            .iter()
            .filter_map(|&index| entries.get(index as usize))
            .filter(|entry| entry.is_written())
            .map(|entry| (&entry.descriptor, entry.metric))
    }

    /// The activations that exported entries wait for and that are still off, each once: a
    /// plan built now leaves those entries out, and is replaced once one is on. Read before
    /// the plan's metrics, so an activation in between only costs a rebuild.
    fn waiting(&'static self) -> Box<[&'static Activation]> {
        let entries = self.entries();
        let mut waiting: Vec<&'static Activation> = Vec::new();
        for &index in &self.order().activated {
            let Some(activation) = entries
                .get(index as usize)
                .and_then(|entry| entry.activation)
            else {
                continue;
            };
            if !activation.is_active()
                && !waiting.iter().any(|&seen| std::ptr::eq(seen, activation))
            {
                waiting.push(activation);
            }
        }
        waiting.into_boxed_slice()
    }

    fn encode_each(&'static self, encoder: &mut Encoder<'_>) {
        for (descriptor, metric) in self.exported_metrics() {
            metric.encode(descriptor, encoder);
        }
    }

    /// What follows the table's own families in every exposition: the self-metric of dynamic
    /// families (written only if there is one), from the list of them found once (not a walk
    /// over every metric per scrape); a plan writes it itself.
    fn render_overflows(&'static self, encoder: &mut Encoder<'_>) {
        let entries = self.entries();
        let dynamic = self
            .order()
            .dynamic
            .iter()
            .filter_map(|&index| entries.get(index as usize))
            .filter(|entry| entry.is_written())
            .map(|entry| (&entry.descriptor, entry.metric));
        crate::dynamic::encode_overflows(encoder, dynamic);
    }

    /// After the dynamic families' self-metric: the `metrics` facade's families, once it is
    /// installed.
    fn render_facade(&'static self, encoder: &mut Encoder<'_>, facade: FacadeFilter<'_>) {
        #[cfg(all(feature = "facade", not(promstatic_loom)))]
        crate::facade::encode(encoder, facade);
        #[cfg(not(all(feature = "facade", not(promstatic_loom))))]
        let _ = (encoder, facade);
    }

    /// The collisions among the declarations; see [`check`].
    pub fn check(&'static self) -> Result<(), DuplicateMetricNames> {
        let order = self.order();
        if order.duplicates.is_empty() {
            return Ok(());
        }
        let entries = self.entries();
        Err(DuplicateMetricNames {
            collisions: order
                .duplicates
                .iter()
                .filter_map(|&(kept, dropped)| {
                    let kept = &entries.get(kept as usize)?.descriptor;
                    let dropped = &entries.get(dropped as usize)?.descriptor;
                    Some(Collision {
                        kept_name: kept.name,
                        kept: kept.site(),
                        dropped_name: dropped.name,
                        dropped: dropped.site(),
                    })
                })
                .collect(),
        })
    }

    fn order(&'static self) -> &'static Order {
        // Acquire pairs with the release in `build_order`: it makes the boxed `Order` visible.
        let published = self.order.load(Ordering::Acquire);
        if published.is_null() {
            return self.build_order();
        }
        // SAFETY: a non-null `order` was produced by `Box::into_raw` in `build_order`,
        // published once with a successful compare-exchange, and is never freed or written
        // again, so it is a valid `&'static Order`.
        unsafe { &*published }
    }

    #[cold]
    #[inline(never)]
    fn build_order(&'static self) -> &'static Order {
        let built = Box::into_raw(Box::new(Order::compute(self.entries())));
        match self.order.compare_exchange(
            std::ptr::null_mut(),
            built,
            // Release publishes the fully built `Order` to the acquire loads in `order`.
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                // SAFETY: `built` came from `Box::into_raw` above and now belongs to
                // `self.order`, which never frees it.
                let order = unsafe { &*built };
                // Log the collisions once, from the thread whose order was published.
                if let Err(error) = self.check() {
                    log::error!(target: "promstatic", "{error}");
                }
                order
            }
            Err(winner) => {
                // SAFETY: `built` came from `Box::into_raw` above and was not published, so
                // this thread still owns it.
                drop(unsafe { Box::from_raw(built) });
                // SAFETY: `winner` is the published pointer; see `order`.
                unsafe { &*winner }
            }
        }
    }
}

/// Where a metric was declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Site {
    /// `module_path!()` of the declaration.
    pub module_path: &'static str,
    /// `file!()` of the declaration.
    pub file: &'static str,
    /// `line!()` of the declaration.
    pub line: u32,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0 is no source line: a metric created at run time (the `metrics` facade),
        // whose `file` says how it was made.
        if self.line == 0 {
            return write!(f, "{} ({})", self.module_path, self.file);
        }
        write!(f, "{} ({}:{})", self.module_path, self.file, self.line)
    }
}

/// Two declarations whose names collide in an exposition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    /// The name of the declaration that is exported.
    pub kept_name: &'static str,
    /// Where it is declared.
    pub kept: Site,
    /// The name of the declaration that is left out.
    pub dropped_name: &'static str,
    /// Where it is declared.
    pub dropped: Site,
}

/// The error of [`check`]: metrics left out of every exposition because their names collide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateMetricNames {
    /// Each collision, in exposition order.
    pub collisions: Vec<Collision>,
}

impl fmt::Display for DuplicateMetricNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (number, collision) in self.collisions.iter().enumerate() {
            if number > 0 {
                f.write_str("; ")?;
            }
            if collision.kept_name == collision.dropped_name {
                write!(f, "metric `{}` is declared twice", collision.kept_name)?;
            } else {
                write!(
                    f,
                    "metrics `{}` and `{}` produce the same series names",
                    collision.kept_name, collision.dropped_name
                )?;
            }
            write!(
                f,
                ": at {} (exported) and at {} (left out of every scrape); rename one of them",
                collision.kept, collision.dropped
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for DuplicateMetricNames {}

/// The exposition order and the collisions of a table.
#[derive(Debug)]
struct Order {
    indices: Box<[u32]>,
    duplicates: Box<[(u32, u32)]>,
    /// The exported native histograms (native or not is a property of the type), in order.
    natives: Box<[u32]>,
    /// The exported dynamic families (those with overflow counts), in order.
    dynamic: Box<[u32]>,
    /// The exported entries that wait for an [`Activation`], in order.
    activated: Box<[u32]>,
}

impl Order {
    fn compute(entries: &[Entry]) -> Order {
        let descriptors: Vec<&Descriptor> = entries.iter().map(|entry| &entry.descriptor).collect();
        let mut order = compute_order(&descriptors);
        let having = |has: fn(&Entry) -> bool| -> Box<[u32]> {
            order
                .indices
                .iter()
                .copied()
                .filter(|&index| entries.get(index as usize).is_some_and(has))
                .collect()
        };
        let natives = having(|entry| entry.metric.native_out_of_range().is_some());
        let dynamic = having(|entry| entry.metric.overflows().is_some());
        let activated = having(|entry| entry.activation.is_some());
        order.natives = natives;
        order.dynamic = dynamic;
        order.activated = activated;
        order
    }
}

/// Sorts by name then declaration site, and finds declarations whose exposition names collide
/// with an earlier one's. Separate from the global table so it can be tested directly.
fn compute_order(descriptors: &[&Descriptor]) -> Order {
    let mut sorted: Vec<u32> = (0..descriptors.len() as u32).collect();
    let key = |index: &u32| {
        let descriptor = descriptors[*index as usize];
        (
            descriptor.name,
            descriptor.module_path,
            descriptor.file,
            descriptor.line,
        )
    };
    sorted.sort_by_key(key);

    // Walk the declarations in order; each claims every name it puts into an exposition (in
    // either format). One that claims a name already held by an exported declaration is
    // left out, and the pair is recorded.
    let mut owners: HashMap<String, u32> = HashMap::new();
    let mut dropped = vec![false; descriptors.len()];
    let mut duplicates = Vec::new();
    for &index in &sorted {
        let descriptor = descriptors[index as usize];
        let claims = claim::claims("", descriptor.name, descriptor.kind);
        if let Some(&owner) = claims.iter().find_map(|claim| owners.get(claim)) {
            dropped[index as usize] = true;
            duplicates.push((owner, index));
            continue;
        }
        for claim in claims {
            owners.insert(claim, index);
        }
    }
    let indices: Vec<u32> = sorted
        .into_iter()
        .filter(|&index| !dropped[index as usize])
        .collect();
    Order {
        indices: indices.into_boxed_slice(),
        duplicates: duplicates.into_boxed_slice(),
        natives: Box::default(),
        dynamic: Box::default(),
        activated: Box::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn descriptor(name: &'static str, kind: Kind, line: u32) -> Descriptor {
        Descriptor::new(name, kind, "h", "h", &[], "tests", "table.rs", line)
    }

    fn names(order: &Order, descriptors: &[&Descriptor]) -> Vec<&'static str> {
        order
            .indices
            .iter()
            .map(|&i| descriptors[i as usize].name)
            .collect()
    }

    #[test]
    fn sorted_by_name_and_duplicates_dropped_after_the_first() {
        let a = descriptor("b_total", Kind::Counter, 30);
        let b = descriptor("a", Kind::Gauge, 20);
        let c = descriptor("b_total", Kind::Counter, 10);
        let list = [&a, &b, &c];
        let order = compute_order(&list);
        assert_eq!(names(&order, &list), ["a", "b_total"]);
        // The kept one is the earlier declaration (line 10), index 2.
        assert_eq!(&*order.duplicates, &[(2, 0)]);
    }

    #[test]
    fn names_that_collide_through_suffixes() {
        let counter = descriptor("x_total", Kind::Counter, 1);
        let gauge = descriptor("x", Kind::Gauge, 2);
        let histogram = descriptor("h", Kind::Histogram, 3);
        let count = descriptor("h_count", Kind::Gauge, 4);
        let fine = descriptor("h_counts", Kind::Gauge, 5);
        let list = [&counter, &gauge, &histogram, &count, &fine];
        let order = compute_order(&list);
        assert_eq!(names(&order, &list), ["h", "h_counts", "x"]);
        assert_eq!(order.duplicates.len(), 2);
    }
}
