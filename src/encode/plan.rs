//! The exposition plan: a table's scrape, rendered once up to each value, replayed per scrape.
//!
//! # Why
//!
//! The profile in `benches/peers/README.md` ("Profile of the scrape path") shows where a warm
//! scrape of plain counters went before this module: a dozen short appends per series (`# HELP
//! `, the name, HELP, `\n# TYPE `, the name again, the type word, then the sample's name,
//! suffix, label loop, space), each its own capacity check and `memcpy` call, plus a virtual
//! call, a `Family` built per series and the walk through the sorted index. None of that
//! depends on the values. A plan does that work once: for every series it holds the bytes that
//! precede the value, contiguous and in exposition order (the previous line's `\n` included),
//! and a reference to the value's atomic cell. A warm scrape is then "copy the prefix, write
//! the number" per series over two arrays walked front to back, with the output's capacity
//! reserved once per run of integer series, so the copies do not grow the buffer one by one.
//!
//! # What is planned, what is not
//!
//! A metric takes part through [`Metric::plan`](crate::table::Metric::plan): counters (without
//! exemplars, or in text 0.0.4, which never shows them), integer and float gauges, and typed
//! families of those, whose series are fixed at compile time; in text 0.0.4 and OpenMetrics
//! also classic histograms (without exemplar slots, or in text) and their typed families.
//! A histogram series' lines are planned whole (buckets, `_sum`, `_count`); at scrape the
//! first line's step takes the series' snapshot with the loads its own encoder makes (each
//! bucket once, then the sum: `+Inf == _count`, nothing backwards), and the `_sum` and
//! `_count` steps write nothing, their bytes included, when OpenMetrics leaves them out
//! (see [`crate::histogram`]). Dynamic families, in those two formats, are planned up to
//! what appears at run time: their HELP and TYPE and their overflow series are static
//! bytes and cells, and between them a step calls the family to write the series created
//! so far, so they are always current. The dynamic families' self-metric,
//! `promstatic_label_overflows_total`, which follows the table, is planned too: its lines
//! are fixed by the families and its values are their overflow counters, which the
//! families hand over while the plan is built (`PlanBuilder::overflow_counts`). Everything
//! else is a step that calls the metric's own encoder at scrape time, exactly as the
//! unplanned path does: native histograms, exemplar-carrying counters and histograms in
//! OpenMetrics and protobuf, histograms and dynamic families in protobuf, and sharded
//! counters. The order is the table's (sorted by name, then declaration site; duplicates
//! left out), so a planned scrape writes the same bytes as the unplanned one; the tests
//! compare them byte for byte in every format.
//!
//! In protobuf every planned value is a fixed-width `double`, so a plan step copies the
//! message bytes up to the value and writes its eight bytes: message lengths never change.
//!
//! # Memory and publication
//!
//! A plan is built on the first scrape of a table in a format with a given namespace and
//! constant labels, and kept for the table's (or the exporter's) life: its bytes are the
//! exposition's static text (about what the planned part of a scrape weighs) plus 32 bytes per
//! step. It is the one allocation a scrape makes after warm-up, once per format; the
//! allocation tests warm each format up once. It is published with one compare-exchange on an
//! [`AtomicPtr`]: a scraper that finds no plan builds one and tries to publish it; one that
//! loses that race frees its copy and uses the winner's. Nobody waits and nothing locks.
//! A scrape whose encoder has another namespace or other constant labels than the published
//! plan takes the unplanned path (still correct, just slower).
//!
//! A plan leaves out the entries whose [activation](crate::table#activation) was off when it
//! was built, and notes those activations; a scrape checks them (one relaxed load each, none
//! once they are all on) and, finding one on, builds a plan that writes the entries and swaps
//! it in with the same compare-exchange: the one more allocation of that scrape. The replaced
//! plan stays alive (a scrape may still be reading it) and is freed with its successor.

use std::sync::atomic::{AtomicI64, AtomicPtr, AtomicU64, Ordering};

use super::{Encoder, Format, Label, Suffix, Text, Value, number, protobuf};
use crate::table::{Activation, Descriptor, Metric};

/// The widest integer the plan writes: `u64::MAX` and `i64::MIN` both take 20 bytes.
const MAX_INTEGER_DIGITS: usize = 20;

/// A value cell a plan reads at scrape time.
#[derive(Debug, Clone, Copy)]
pub enum ValueCell {
    /// An unsigned integer (a counter).
    Unsigned(&'static AtomicU64),
    /// A signed integer (an integer gauge).
    Signed(&'static AtomicI64),
    /// The bits of an `f64` (a float gauge).
    FloatBits(&'static AtomicU64),
}

impl ValueCell {
    fn value(self) -> Value {
        match self {
            ValueCell::Unsigned(cell) => Value::Unsigned(cell.load(Ordering::Relaxed)),
            ValueCell::Signed(cell) => Value::Signed(cell.load(Ordering::Relaxed)),
            ValueCell::FloatBits(cell) => {
                Value::Float(f64::from_bits(cell.load(Ordering::Relaxed)))
            }
        }
    }
}

/// The most buckets (the `+Inf` one included) of a histogram series a plan writes; a
/// histogram with more is encoded at every scrape.
const MAX_PLANNED_BUCKETS: usize = 64;

/// A classic histogram series as a plan reads it: one consistent snapshot per scrape.
pub(crate) trait HistogramCells: Sync {
    /// Loads the bucket counts once each, in bound order, and stores their running sums in
    /// `cumulative` (one per bucket, `+Inf` last); then loads the sum. `None` if `format`
    /// leaves `_sum` and `_count` out for what was observed (OpenMetrics, once the sum may
    /// have decreased); the same rules as the histogram's own encoder.
    fn snapshot(&self, format: Format, cumulative: &mut [u64]) -> Option<f64>;
}

/// A histogram series a plan writes: its cells and its number of buckets (`+Inf` included).
#[derive(Clone, Copy)]
struct PlannedHistogram {
    series: &'static dyn HistogramCells,
    buckets: u32,
}

/// What a step does after copying its static bytes.
#[derive(Clone, Copy)]
enum Action {
    /// Writes one value.
    Value(ValueCell),
    /// Writes line `line` of the histogram series [`Plan::histograms`]`[series]`: its
    /// buckets, then `_sum` and `_count`. The first line takes the series' snapshot; the
    /// `_sum` and `_count` steps write nothing (not even their bytes) when the snapshot
    /// leaves them out, and the `\n` that followed `_count` ends the `+Inf` line instead.
    HistogramLine { series: u32, line: u32 },
    /// Calls the metric's own encoder (what cannot be planned): an index into
    /// [`Plan::encoded`], which keeps the steps small.
    Metric(u32),
    /// Calls the metric's encoder of its run-time series (a dynamic family's series, between
    /// the HELP and TYPE and the overflow series the plan holds): an index into
    /// [`Plan::encoded`].
    RuntimeSeries(u32),
}

/// One step: copy `bytes[start..end]`, then act.
#[derive(Clone, Copy)]
struct Step {
    start: u32,
    end: u32,
    /// Bytes to reserve before this step, for the run of integer steps it starts (0 inside a
    /// run and before a step that writes through the growing `Vec` API anyway).
    reserve: u32,
    action: Action,
}

/// The configuration a plan was built for; a scrape with another one does not use it.
#[derive(Debug, PartialEq)]
struct Key {
    namespace: Box<str>,
    const_labels: Box<[ConstLabel]>,
}

/// A constant label as the plan's key holds it: `(name, value, whether the value is escaped)`.
type ConstLabel = (Box<str>, Box<str>, bool);

impl Key {
    fn of(encoder: &Encoder<'_>) -> Key {
        Key {
            namespace: encoder.namespace.into(),
            const_labels: encoder
                .const_labels
                .iter()
                .map(|label| {
                    let (value, escaped) = text_parts(label.value);
                    (label.name.into(), value.into(), escaped)
                })
                .collect(),
        }
    }

    /// Whether `encoder` writes with this configuration (compared without allocating).
    fn matches(&self, encoder: &Encoder<'_>) -> bool {
        *self.namespace == *encoder.namespace
            && self.const_labels.len() == encoder.const_labels.len()
            && self.const_labels.iter().zip(encoder.const_labels).all(
                |((name, value, escaped), label)| {
                    let (other, other_escaped) = text_parts(label.value);
                    **name == *label.name && **value == *other && *escaped == other_escaped
                },
            )
    }
}

fn text_parts(text: Text<'_>) -> (&str, bool) {
    match text {
        Text::Raw(value) => (value, false),
        Text::Escaped(value) => (value.as_str(), true),
    }
}

/// A table's exposition in one format, rendered up to each value; see the module docs.
pub(crate) struct Plan {
    key: Key,
    format: Format,
    bytes: Box<[u8]>,
    steps: Box<[Step]>,
    /// The metrics encoded at every scrape, in the order of their steps.
    encoded: Box<[(&'static Descriptor, &'static dyn Metric)]>,
    /// The histogram series the steps write.
    histograms: Box<[PlannedHistogram]>,
    /// Where the bytes after the last step start.
    tail: u32,
    /// Whether the steps also write `promstatic_label_overflows_total` (the dynamic
    /// families' self-metric that follows the table), so the caller does not.
    overflows_planned: bool,
    /// The activations that were off when the plan was built (their entries are not in
    /// it): once one is on, the plan is replaced.
    waiting: Box<[&'static Activation]>,
    /// The plan this one replaced, kept alive (a scrape may still be reading it) and freed
    /// with this one.
    retired: AtomicPtr<Plan>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("format", &self.format)
            .field("bytes", &self.bytes.len())
            .field("steps", &self.steps.len())
            .finish_non_exhaustive()
    }
}

impl Plan {
    /// Builds the plan of `metrics` (the table's exported entries, in exposition order) for
    /// `encoder`'s format, namespace and constant labels.
    pub(crate) fn build(
        encoder: &Encoder<'_>,
        waiting: Box<[&'static Activation]>,
        metrics: impl Iterator<Item = (&'static Descriptor, &'static dyn Metric)>,
    ) -> Plan {
        let mut bytes = Vec::new();
        let mut steps = Vec::new();
        let mut encoded = Vec::new();
        let mut covered = 0;
        let mut overflow_counts = Vec::new();
        let mut histograms = Vec::new();
        let mut dynamic_families = 0;
        let overflows_planned;
        {
            let mut planner = Encoder::new(&mut bytes, encoder.format)
                .with_namespace(encoder.namespace)
                .with_const_labels(encoder.const_labels);
            for (descriptor, metric) in metrics {
                dynamic_families += usize::from(metric.overflows().is_some());
                let shared = (&mut overflow_counts, &mut histograms);
                let (start, cells, mut inserts, planned) =
                    run_builder(&mut planner, shared, |builder| {
                        metric.plan(descriptor, builder)
                    });
                // A run-time series step calls this metric: it joins `encoded`.
                let index = u32::try_from(encoded.len()).unwrap_or(u32::MAX);
                for (_, action) in &mut inserts {
                    if let Action::RuntimeSeries(slot) = action {
                        *slot = index;
                    }
                }
                let runtime = !inserts.is_empty();
                let written = (start, cells, inserts);
                if add_values(&mut planner, &mut steps, &mut covered, written, planned) {
                    if runtime {
                        encoded.push((descriptor, metric));
                    }
                } else {
                    // Not plannable (or not as expected): the metric writes itself.
                    let index = u32::try_from(encoded.len()).unwrap_or(u32::MAX);
                    encoded.push((descriptor, metric));
                    steps.push(step(covered, start, Action::Metric(index)));
                    covered = start;
                }
            }
            // The dynamic families' self-metric, whose values are their overflow counters;
            // left to the caller if a family did not give its counters (none does not).
            overflows_planned =
                if overflow_counts.is_empty() || dynamic_families != overflow_counts.len() {
                    dynamic_families == 0
                } else {
                    let counts = std::mem::take(&mut overflow_counts);
                    let shared = (&mut overflow_counts, &mut histograms);
                    let (start, cells, inserts, _) = run_builder(&mut planner, shared, |builder| {
                        crate::dynamic::plan_overflows(builder, &counts);
                        true
                    });
                    let written = (start, cells, inserts);
                    add_values(&mut planner, &mut steps, &mut covered, written, true)
                };
        }
        let format = encoder.format;
        mark_runs(&mut steps, format, bytes.len());
        Plan {
            key: Key::of(encoder),
            format,
            bytes: bytes.into_boxed_slice(),
            steps: steps.into_boxed_slice(),
            encoded: encoded.into_boxed_slice(),
            histograms: histograms.into_boxed_slice(),
            tail: u32::try_from(covered).unwrap_or(u32::MAX),
            overflows_planned,
            waiting,
            retired: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Whether an activation this plan left out is on now: the plan must be replaced.
    #[inline]
    fn outdated(&self) -> bool {
        self.waiting.iter().any(|activation| activation.is_active())
    }

    /// Whether [`Plan::write`] also writes the dynamic families' self-metric (always, but
    /// for a table whose dynamic families' counters could not be planned).
    pub(crate) fn writes_overflows(&self) -> bool {
        self.overflows_planned
    }

    /// Whether this plan writes what `encoder` would.
    pub(crate) fn fits(&self, encoder: &Encoder<'_>) -> bool {
        self.format == encoder.format && self.key.matches(encoder)
    }

    /// Writes the planned exposition into `encoder` (its families, not `# EOF`).
    pub(crate) fn write(&self, encoder: &mut Encoder<'_>) {
        // A protobuf family the caller left open is completed before raw bytes follow it.
        encoder.protobuf.finish(encoder.out);
        let bytes = &self.bytes[..];
        let mut digits = itoa::Buffer::new();
        let mut histogram = HistogramSnapshot {
            cumulative: [0; MAX_PLANNED_BUCKETS],
            sum: None,
        };
        for step in &self.steps {
            let prefix = bytes
                .get(step.start as usize..step.end as usize)
                .unwrap_or_default();
            let out = &mut *encoder.out;
            if step.reserve != 0 {
                out.reserve(step.reserve as usize);
            }
            match (step.action, self.format) {
                (Action::Value(cell), Format::Protobuf) => {
                    let number = match cell.value() {
                        Value::Unsigned(value) => value as f64,
                        Value::Signed(value) => value as f64,
                        Value::Float(value) => value,
                    };
                    append(out, prefix, &number.to_bits().to_le_bytes());
                }
                (Action::Value(ValueCell::Unsigned(cell)), _) => {
                    append(
                        out,
                        prefix,
                        digits.format(cell.load(Ordering::Relaxed)).as_bytes(),
                    );
                }
                (Action::Value(ValueCell::Signed(cell)), _) => {
                    append(
                        out,
                        prefix,
                        digits.format(cell.load(Ordering::Relaxed)).as_bytes(),
                    );
                }
                // The rest, out of line, so the loop over plain values stays small.
                (action, _) => self.write_other(encoder, prefix, action, &mut histogram),
            }
        }
        let tail = bytes.get(self.tail as usize..).unwrap_or_default();
        encoder.out.extend_from_slice(tail);
    }
}

/// The histogram series a plan is writing: its cumulative counts and its sum (`None`: its
/// `_sum` and `_count` are left out of this scrape).
struct HistogramSnapshot {
    cumulative: [u64; MAX_PLANNED_BUCKETS],
    sum: Option<f64>,
}

impl Plan {
    /// A step that is not an integer value: a float, a histogram line, or a call into a
    /// metric's encoder.
    #[cold]
    #[inline(never)]
    fn write_other(
        &self,
        encoder: &mut Encoder<'_>,
        prefix: &[u8],
        action: Action,
        histogram: &mut HistogramSnapshot,
    ) {
        let out = &mut *encoder.out;
        match action {
            Action::Value(cell) => {
                out.extend_from_slice(prefix);
                match cell.value() {
                    Value::Float(value) => number::write_f64(out, value),
                    Value::Unsigned(value) => number::write_u64(out, value),
                    Value::Signed(value) => number::write_i64(out, value),
                }
            }
            Action::HistogramLine { series, line } => {
                let Some(planned) = self.histograms.get(series as usize) else {
                    return;
                };
                let buckets = (planned.buckets as usize).clamp(1, MAX_PLANNED_BUCKETS);
                let line = line as usize;
                if line == 0 {
                    let cumulative = &mut histogram.cumulative[..buckets];
                    histogram.sum = planned.series.snapshot(self.format, cumulative);
                }
                let count = histogram.cumulative[line.min(buckets - 1)];
                match (line.cmp(&buckets), histogram.sum) {
                    (std::cmp::Ordering::Less, _) | (std::cmp::Ordering::Greater, Some(_)) => {
                        append(out, prefix, itoa::Buffer::new().format(count).as_bytes());
                    }
                    (std::cmp::Ordering::Equal, Some(sum)) => {
                        out.extend_from_slice(prefix);
                        number::write_f64(out, sum);
                    }
                    // `_sum` and `_count` left out: neither their bytes nor a value.
                    _ => {}
                }
            }
            Action::RuntimeSeries(index) => {
                out.extend_from_slice(prefix);
                if let Some((descriptor, metric)) = self.encoded.get(index as usize) {
                    metric.encode_runtime_series(descriptor, encoder);
                }
            }
            Action::Metric(index) => {
                out.extend_from_slice(prefix);
                if let Some((descriptor, metric)) = self.encoded.get(index as usize) {
                    metric.encode(descriptor, encoder);
                }
                encoder.protobuf.finish(encoder.out);
            }
        }
    }
}

/// Runs `plan` with a builder writing into `planner`: where its bytes start, the action of
/// each value position, the actions at given offsets, and whether its plan can be used.
fn run_builder(
    planner: &mut Encoder<'_>,
    (overflow_counts, histograms): (&mut Vec<OverflowCounts>, &mut Vec<PlannedHistogram>),
    plan: impl FnOnce(&mut PlanBuilder<'_, '_>) -> bool,
) -> (usize, Vec<Action>, Vec<(usize, Action)>, bool) {
    let mut builder = PlanBuilder {
        encoder: planner,
        cells: Vec::new(),
        inserts: Vec::new(),
        refused: false,
        overflow_counts,
        histograms,
    };
    let start = builder.encoder.out.len();
    let planned = plan(&mut builder) && !builder.refused;
    (start, builder.cells, builder.inserts, planned)
}

/// Turns what a builder wrote since `start` into steps: one per value position (`cells`, in
/// order) and one per insert (an action at an offset of the output, in order); `false`,
/// with those bytes removed, if it is not `planned` or its values are not where expected.
fn add_values(
    planner: &mut Encoder<'_>,
    steps: &mut Vec<Step>,
    covered: &mut usize,
    (start, cells, inserts): (usize, Vec<Action>, Vec<(usize, Action)>),
    planned: bool,
) -> bool {
    // A family is complete (protobuf: its length stored) before its values are found.
    planner.protobuf.finish(planner.out);
    let positions = if planned {
        value_positions(planner.format, &planner.out[start..], cells.len())
    } else {
        None
    };
    let Some(positions) = positions else {
        planner.out.truncate(start);
        return false;
    };
    let mut inserts = inserts.into_iter().peekable();
    for ((end, skip), cell) in positions.into_iter().zip(cells) {
        let end = start + end;
        while let Some((at, action)) = inserts.next_if(|&(at, _)| at <= end) {
            steps.push(step(*covered, at, action));
            *covered = at;
        }
        steps.push(step(*covered, end, cell));
        *covered = end + skip;
    }
    for (at, action) in inserts {
        steps.push(step(*covered, at, action));
        *covered = at;
    }
    true
}

fn step(start: usize, end: usize, action: Action) -> Step {
    // A plan over 4 GiB of exposition text cannot be built in practice; saturating keeps
    // every index in range of `bytes` (a range past it copies nothing).
    let index = |at: usize| u32::try_from(at).unwrap_or(u32::MAX);
    Step {
        start: index(start),
        end: index(end),
        reserve: 0,
        action,
    }
}

/// Marks the first step of each run of integer steps (protobuf: of value steps) with the
/// capacity the run needs: its static bytes plus the widest value of each step, so that the
/// run's copies never grow the buffer one by one.
fn mark_runs(steps: &mut [Step], format: Format, total_bytes: usize) {
    let widest = |action: Action| match (action, format) {
        (Action::Value(_), Format::Protobuf) => Some(8),
        (Action::Value(ValueCell::Unsigned(_) | ValueCell::Signed(_)), _) => {
            Some(MAX_INTEGER_DIGITS)
        }
        _ => None,
    };
    let mut index = 0;
    while index < steps.len() {
        let Some(_) = widest(steps[index].action) else {
            index += 1;
            continue;
        };
        let first = index;
        let mut need = 0usize;
        while let Some(step) = steps.get(index)
            && let Some(width) = widest(step.action)
        {
            need += (step.end as usize).saturating_sub(step.start as usize) + width;
            index += 1;
        }
        // The static bytes that follow the run (the next step's, or the tail) are reserved
        // with it: they are appended right after.
        let next = steps.get(index).map_or(
            total_bytes.saturating_sub(steps[index - 1].end as usize),
            |step| (step.end as usize).saturating_sub(step.start as usize),
        );
        need += next;
        steps[first].reserve = u32::try_from(need).unwrap_or(u32::MAX);
    }
}

/// Appends `prefix` then `value` into capacity reserved for them (one comparison, no growth
/// path on the way); grows the buffer like `extend_from_slice` if there is not enough, which
/// a reserved run never leaves.
#[inline]
fn append(out: &mut Vec<u8>, prefix: &[u8], value: &[u8]) {
    let length = out.len();
    let total = prefix.len() + value.len();
    let spare = out.spare_capacity_mut();
    if spare.len() < total {
        out.extend_from_slice(prefix);
        out.extend_from_slice(value);
        return;
    }
    let (head, rest) = spare.split_at_mut(prefix.len());
    head.write_copy_of_slice(prefix);
    rest[..value.len()].write_copy_of_slice(value);
    // SAFETY: the `total` bytes after `length` are within the capacity (checked above) and
    // were initialised by the two copies just made.
    unsafe { out.set_len(length + total) };
}

/// Where each value of a planned metric's bytes goes: `(offset of the value, bytes of the
/// placeholder to skip after it)`, in sample order; `None` if there are not `expected`.
fn value_positions(format: Format, written: &[u8], expected: usize) -> Option<Vec<(usize, usize)>> {
    let positions = if format == Format::Protobuf {
        protobuf::value_offsets(written)?
            .into_iter()
            .map(|at| (at, 8))
            .collect::<Vec<_>>()
    } else {
        // The builder writes every sample's line without its value: the value goes before
        // each `\n` that ends a sample line (not a `#` line).
        let mut positions = Vec::with_capacity(expected);
        let mut line_start = 0;
        for (at, &byte) in written.iter().enumerate() {
            if byte == b'\n' {
                if written.get(line_start) != Some(&b'#') {
                    positions.push((at, 0));
                }
                line_start = at + 1;
            }
        }
        positions
    };
    (positions.len() == expected).then_some(positions)
}

/// What [`Metric::plan`](crate::table::Metric::plan) writes a metric's plan with.
pub struct PlanBuilder<'p, 'a> {
    encoder: &'p mut Encoder<'a>,
    /// What each value position written so far does, in order.
    cells: Vec<Action>,
    /// Actions at offsets of the output (not at a value), in order.
    inserts: Vec<(usize, Action)>,
    /// Set when a metric's plan cannot be used after all (the metric is encoded at scrape).
    refused: bool,
    /// The dynamic families' names and overflow counters, in exposition order, for the
    /// self-metric planned after the table.
    overflow_counts: &'p mut Vec<OverflowCounts>,
    /// The histogram series planned so far (of every metric: the steps index into it).
    histograms: &'p mut Vec<PlannedHistogram>,
}

/// A dynamic family's name and its overflow counters by reason (see `crate::dynamic`).
pub(crate) type OverflowCounts = (&'static str, &'static [AtomicU64; 4]);

impl std::fmt::Debug for PlanBuilder<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanBuilder")
            .field("format", &self.encoder.format)
            .finish_non_exhaustive()
    }
}

impl PlanBuilder<'_, '_> {
    /// The format being planned.
    pub fn format(&self) -> Format {
        self.encoder.format
    }

    /// Plans `descriptor`'s family: its HELP and TYPE lines, then each sample `series` adds.
    pub(crate) fn family(
        &mut self,
        descriptor: &Descriptor,
        series: impl FnOnce(&mut PlanFamily<'_, '_, '_>),
    ) {
        self.family_of(&descriptor.family(), series);
    }

    /// Gives a dynamic family's overflow counters to the self-metric's plan (the family
    /// itself is encoded at every scrape).
    pub(crate) fn overflow_counts(&mut self, name: &'static str, counts: &'static [AtomicU64; 4]) {
        self.overflow_counts.push((name, counts));
    }

    /// [`PlanBuilder::family`] of a family the crate writes itself.
    pub(crate) fn family_of(
        &mut self,
        family: &super::Family<'_>,
        series: impl FnOnce(&mut PlanFamily<'_, '_, '_>),
    ) {
        let mut writer = PlanFamily {
            writer: self.encoder.family_trusted(family),
            cells: &mut self.cells,
            inserts: &mut self.inserts,
            histograms: &mut *self.histograms,
        };
        series(&mut writer);
    }
}

/// The samples of one planned family.
pub struct PlanFamily<'w, 'e, 'a> {
    writer: super::FamilyEncoder<'e, 'a>,
    cells: &'w mut Vec<Action>,
    inserts: &'w mut Vec<(usize, Action)>,
    histograms: &'w mut Vec<PlannedHistogram>,
}

impl std::fmt::Debug for PlanFamily<'_, '_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanFamily").finish_non_exhaustive()
    }
}

impl PlanFamily<'_, '_, '_> {
    /// The format being planned.
    pub(crate) fn format(&self) -> Format {
        self.writer.format()
    }

    /// A step, here, that calls the metric's
    /// [`encode_runtime_series`](crate::table::Metric::encode_runtime_series) at every scrape.
    pub(crate) fn runtime_series(&mut self) {
        let at = self.writer.encoder.out.len();
        // The metric's index in `Plan::encoded` is set when the plan takes the metric's steps.
        self.inserts.push((at, Action::RuntimeSeries(u32::MAX)));
    }

    /// One classic histogram series with `labels` and `bounds` (its finite ones), whose
    /// values `series` snapshots at scrape time: every line its encoder writes, `_sum` and
    /// `_count` included (skipped at scrape when the snapshot leaves them out). `false`,
    /// writing nothing, in protobuf (its messages hold the counts as varints) or for more
    /// than [`MAX_PLANNED_BUCKETS`] buckets.
    pub(crate) fn histogram(
        &mut self,
        labels: &[Label<'_>],
        bounds: &[f64],
        series: &'static dyn HistogramCells,
    ) -> bool {
        let buckets = bounds.len() + 1;
        if self.writer.format() == Format::Protobuf || buckets > MAX_PLANNED_BUCKETS {
            return false;
        }
        let index = u32::try_from(self.histograms.len()).unwrap_or(u32::MAX);
        self.histograms.push(PlannedHistogram {
            series,
            buckets: buckets as u32,
        });
        let mut shared = super::SeriesLabels::default();
        let les = bounds.iter().chain(std::iter::once(&f64::INFINITY));
        for &le in les {
            // `+ 0.0`: a `-0.0` bound is written `0`, as the histogram's encoder does.
            let le = Some(super::Extra::Le(le + 0.0));
            self.writer
                .write_prefix("_bucket", labels, le, Some(&mut shared));
            self.writer.encoder.out.push(b'\n');
        }
        for suffix in [Suffix::Sum, Suffix::Count] {
            let suffix = suffix.as_str();
            self.writer
                .write_prefix(suffix, labels, None, Some(&mut shared));
            self.writer.encoder.out.push(b'\n');
        }
        for line in 0..buckets as u32 + 2 {
            self.cells.push(Action::HistogramLine {
                series: index,
                line,
            });
        }
        true
    }

    /// One sample (no suffix) whose value `cell` holds.
    pub(crate) fn sample(&mut self, labels: &[Label<'_>], cell: ValueCell) {
        if self.writer.format() == Format::Protobuf {
            // The value is a fixed-width double: a placeholder the plan overwrites.
            self.writer
                .sample_trusted(Suffix::Bare, labels, Value::Float(0.0));
        } else {
            self.writer.write_prefix("", labels, None, None);
            self.writer.encoder.out.push(b'\n');
        }
        self.cells.push(Action::Value(cell));
    }
}

/// A table's plans, one per format, each published once; see the module docs.
#[derive(Debug)]
pub struct PlanCache {
    plans: [AtomicPtr<Plan>; 3],
}

impl Default for PlanCache {
    fn default() -> Self {
        PlanCache::new()
    }
}

impl PlanCache {
    /// No plan yet.
    pub const fn new() -> Self {
        PlanCache {
            plans: [
                AtomicPtr::new(std::ptr::null_mut()),
                AtomicPtr::new(std::ptr::null_mut()),
                AtomicPtr::new(std::ptr::null_mut()),
            ],
        }
    }

    fn slot(&self, format: Format) -> &AtomicPtr<Plan> {
        &self.plans[match format {
            Format::Text => 0,
            Format::OpenMetrics => 1,
            Format::Protobuf => 2,
        }]
    }

    /// The plan for `encoder`'s format, built from `metrics` if there is none yet, or if the
    /// published one waits for an activation that is now on (see the table's
    /// [activation](crate::table#activation)); `None` if the published plan was built for
    /// another namespace or other constant labels. `metrics` gives the activations still off,
    /// read first, and the metrics to plan.
    pub(crate) fn get<I>(
        &self,
        encoder: &Encoder<'_>,
        metrics: impl FnOnce() -> (Box<[&'static Activation]>, I),
    ) -> Option<&Plan>
    where
        I: Iterator<Item = (&'static Descriptor, &'static dyn Metric)>,
    {
        let slot = self.slot(encoder.format);
        // Acquire pairs with the release of the publishing exchange: the plan is complete.
        let mut published = slot.load(Ordering::Acquire);
        // SAFETY: a non-null slot holds a pointer from `Box::into_raw` in `publish`, freed
        // only by `drop` (which `&self` rules out) or with the plan that replaced it, which
        // the slot keeps until `drop`.
        if published.is_null() || unsafe { &*published }.outdated() {
            let (waiting, metrics) = metrics();
            published = self.publish(slot, published, Plan::build(encoder, waiting, metrics));
        }
        // SAFETY: as above; `published` is non-null now.
        let plan = unsafe { &*published };
        plan.fits(encoder).then_some(plan)
    }

    /// Publishes `plan` in place of `current` (null, or an outdated plan, which the new one
    /// keeps alive); the plan already published if another scrape got there first.
    #[cold]
    #[inline(never)]
    fn publish(&self, slot: &AtomicPtr<Plan>, current: *mut Plan, plan: Plan) -> *mut Plan {
        // Owned by the new plan once it is published: a scrape may still be reading it.
        plan.retired.store(current, Ordering::Relaxed);
        let built = Box::into_raw(Box::new(plan));
        match slot.compare_exchange(
            current,
            built,
            // Release publishes the complete plan to the acquire loads in `get`.
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => built,
            Err(winner) => {
                // SAFETY: `built` came from `Box::into_raw` above and was not published:
                // this thread still owns it. It does not own `current`, which stays where
                // the winner put it.
                let lost = unsafe { Box::from_raw(built) };
                lost.retired.store(std::ptr::null_mut(), Ordering::Relaxed);
                drop(lost);
                winner
            }
        }
    }
}

impl Drop for Plan {
    fn drop(&mut self) {
        let retired = *self.retired.get_mut();
        if !retired.is_null() {
            // SAFETY: `retired` came from `Box::into_raw` in `publish`, and this plan became
            // its only owner when it replaced it in the slot; dropping this plan means no
            // scrape borrows either any more.
            drop(unsafe { Box::from_raw(retired) });
        }
    }
}

impl Drop for PlanCache {
    fn drop(&mut self) {
        for slot in &mut self.plans {
            let plan = *slot.get_mut();
            if !plan.is_null() {
                // SAFETY: the pointer came from `Box::into_raw` in `publish`; `&mut self`
                // means no scrape borrows it any more.
                drop(unsafe { Box::from_raw(plan) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Kind;
    use crate::table::{Entry, Table};
    use crate::{Counter, FloatGauge, Gauge, Histogram};

    fn leak<M: Metric + 'static>(metric: M) -> &'static dyn Metric {
        Box::leak(Box::new(metric))
    }

    /// A table of a counter, a gauge, a float gauge and a histogram, with HELP to escape.
    fn table() -> &'static Table {
        const fn descriptor(name: &'static str, kind: Kind) -> Descriptor {
            Descriptor::new(
                name,
                kind,
                "a \\\\ b",
                "a \\\\ b",
                &[],
                "tests",
                "plan.rs",
                1,
            )
        }
        let counter = Counter::new();
        counter.inc_by(u64::MAX);
        let gauge = Gauge::new();
        gauge.set(i64::MIN);
        let float = FloatGauge::new();
        float.set(-1.5e-9);
        let histogram: Histogram<2> = Histogram::with_bounds(&[0.5, 1.0]);
        histogram.observe(0.7);
        Table::leak(vec![
            Entry::new(descriptor("c_total", Kind::Counter), leak(counter)),
            Entry::new(descriptor("g", Kind::Gauge), leak(gauge)),
            Entry::new(descriptor("f", Kind::Gauge), leak(float)),
            Entry::new(descriptor("h", Kind::Histogram), leak(histogram)),
        ])
    }

    /// One exposition of `table` through `cache`'s plan and one without a plan.
    fn planned_and_unplanned(
        table: &'static Table,
        cache: &PlanCache,
        format: Format,
    ) -> (Vec<u8>, Vec<u8>) {
        let mut planned = Vec::new();
        let mut encoder = Encoder::new(&mut planned, format);
        table.render_into_planned(&mut encoder, cache);
        encoder.finish();
        let mut unplanned = Vec::new();
        let mut encoder = Encoder::new(&mut unplanned, format);
        table.render_into_unplanned(&mut encoder);
        encoder.finish();
        (planned, unplanned)
    }

    #[test]
    fn values_are_planned_and_histograms_encoded_with_the_same_bytes() {
        let table = table();
        for format in [Format::Text, Format::OpenMetrics, Format::Protobuf] {
            let cache = PlanCache::new();
            let (mut planned, unplanned) = planned_and_unplanned(table, &cache, format);
            assert_eq!(planned, unplanned, "{format:?}");
            // The plan is the one that wrote it: three value steps; the histogram's five
            // lines (two bounds, `+Inf`, `_sum`, `_count`) planned in text and OpenMetrics,
            // encoded in protobuf (its counts are varints there).
            let encoder = Encoder::new(&mut planned, format);
            let plan = cache
                .get(&encoder, || (Box::default(), std::iter::empty()))
                .unwrap();
            let count = |wanted: fn(&Action) -> bool| {
                plan.steps
                    .iter()
                    .filter(|step| wanted(&step.action))
                    .count()
            };
            let values = count(|action| matches!(action, Action::Value(_)));
            let lines = count(|action| matches!(action, Action::HistogramLine { .. }));
            if format == Format::Protobuf {
                assert_eq!((values, lines, plan.encoded.len()), (3, 0, 1));
                assert_eq!(plan.encoded[0].0.name(), "h");
            } else {
                assert_eq!((values, lines, plan.encoded.len()), (3, 5, 0), "{format:?}");
            }
        }
    }

    #[test]
    fn a_planned_histogram_leaves_out_what_its_encoder_leaves_out() {
        // A negative observation: `_sum` may decrease, so OpenMetrics drops `_sum` and
        // `_count` from this scrape on; text 0.0.4 keeps them.
        let histogram: &'static Histogram<2> =
            Box::leak(Box::new(Histogram::with_bounds(&[0.5, 1.0])));
        histogram.observe(0.25);
        let table = Table::leak(vec![Entry::new(
            Descriptor::new("n", Kind::Histogram, "x", "x", &[], "tests", "plan.rs", 2),
            histogram,
        )]);
        let cache = PlanCache::new();
        for negative in [false, true] {
            if negative {
                histogram.observe(-3.0);
            }
            for format in [Format::Text, Format::OpenMetrics] {
                let (planned, unplanned) = planned_and_unplanned(table, &cache, format);
                assert_eq!(
                    String::from_utf8_lossy(&planned),
                    String::from_utf8_lossy(&unplanned),
                    "{format:?}"
                );
                let has_sum = planned.windows(6).any(|window| window == b"n_sum ");
                assert_eq!(has_sum, format == Format::Text || !negative, "{format:?}");
            }
        }
    }

    /// The module docs quote a step's size (the plan's memory per series).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_step_is_the_size_the_docs_say() {
        assert_eq!(std::mem::size_of::<Step>(), 32);
    }

    #[test]
    fn runs_reserve_their_bytes() {
        let table = table();
        let cache = PlanCache::new();
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, Format::Text);
        table.render_into_planned(&mut encoder, &cache);
        let plan = cache
            .get(&encoder, || (Box::default(), std::iter::empty()))
            .unwrap();
        // In name order: `c_total`, `f`, `g`, `h` (five lines). The counter is a run of its
        // own (the float gauge ends it), the gauge another (the histogram ends it); each
        // reserves its prefix, 20 bytes for the value and the prefix of the step that ends it.
        let [counter, float, gauge, histogram, ..] = &plan.steps[..] else {
            panic!("eight steps expected: {plan:?}");
        };
        assert_eq!(plan.steps.len(), 8);
        let length = |step: &Step| (step.end - step.start) as usize;
        assert_eq!(
            counter.reserve as usize,
            length(counter) + 20 + length(float)
        );
        assert_eq!(
            gauge.reserve as usize,
            length(gauge) + 20 + length(histogram)
        );
        assert_eq!((float.reserve, histogram.reserve), (0, 0));
    }

    #[test]
    fn a_plan_built_before_an_activation_is_replaced_and_keeps_the_old_one() {
        const fn descriptor(name: &'static str) -> Descriptor {
            Descriptor::new(name, Kind::Counter, "h", "h", &[], "tests", "plan.rs", 1)
        }
        for format in [Format::Text, Format::OpenMetrics, Format::Protobuf] {
            // A switch and a table per format: a switch never turns off.
            let activation: &'static Activation = Box::leak(Box::new(Activation::new()));
            let waiting = Counter::new();
            waiting.inc_by(3);
            let table = Table::leak(vec![
                Entry::new(descriptor("always_total"), leak(Counter::new())),
                Entry::new(descriptor("waiting_total"), leak(waiting)).activated_by(activation),
            ]);
            let cache = PlanCache::new();
            let (before, unplanned) = planned_and_unplanned(table, &cache, format);
            assert_eq!(before, unplanned, "{format:?}");
            let mentions = |bytes: &[u8], name: &str| {
                bytes
                    .windows(name.len())
                    .any(|window| window == name.as_bytes())
            };
            assert!(mentions(&before, "always_total"), "{format:?}");
            assert!(!mentions(&before, "waiting_total"), "{format:?}");
            let first = cache.slot(format).load(Ordering::Acquire);

            activation.activate();
            let (after, unplanned) = planned_and_unplanned(table, &cache, format);
            assert_eq!(after, unplanned, "{format:?}");
            assert!(mentions(&after, "waiting_total"), "{format:?}");
            // Replaced once, the first kept alive by its successor (freed with the cache).
            let second = cache.slot(format).load(Ordering::Acquire);
            assert!(!std::ptr::eq(first, second), "{format:?}");
            // SAFETY: the cache lives, so its published plan does.
            let replaced = unsafe { &*second };
            assert!(std::ptr::eq(
                replaced.retired.load(Ordering::Relaxed),
                first
            ));
            assert!(replaced.waiting.is_empty(), "{format:?}");
            let _ = planned_and_unplanned(table, &cache, format);
            assert!(std::ptr::eq(
                cache.slot(format).load(Ordering::Acquire),
                second
            ));
        }
    }
}
