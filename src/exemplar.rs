//! Exemplars: one recent observation of a counter or a histogram bucket, with the labels
//! (typically a trace id) that tie it to one concrete request.
//!
//! # What is stored, and where
//!
//! An [`ExemplarSlot`] holds one exemplar inline, in static storage: a sequence word, the
//! value, the timestamp (nanoseconds since the Unix epoch), the byte length of the labels,
//! and the labels themselves in [`EXEMPLAR_WORDS`] 64-bit words ([`EXEMPLAR_CAPACITY`]
//! bytes: each pair as a name length byte, a value length byte, the name, the value). That is
//! 168 bytes per slot, so slots are **opt-in**: a plain [`Counter`](crate::Counter) or
//! [`Histogram`](crate::Histogram) carries a zero-sized [`NoExemplars`] and costs nothing; a
//! metric declared with the type argument [`ExemplarSlot`] (`Counter<ExemplarSlot>`,
//! `Histogram<B, ExemplarSlot>`) carries one slot per counter or per bucket. A histogram with
//! the 11 default bounds and slots is 12 × 168 bytes larger: fine for the few latency
//! histograms one links to traces, too much to impose on every histogram.
//!
//! # Declaring metrics with exemplars
//!
//! `#[metric(exemplars)]` gives a declaration its slots and writes the type argument and the
//! initializer, for every kind that OpenMetrics gives exemplars:
//!
//! | declaration | slots | stored by |
//! |---|---|---|
//! | `Counter` | 1 | `inc_with_exemplar`, `inc_by_with_exemplar` |
//! | `Histogram` (with or without `buckets`) | one per bucket, `+Inf` included | `observe_with_exemplar` |
//! | `NativeHistogram` | one per classic bucket, `+Inf` included (so 1 without `buckets`); see [`crate::native#exemplars`] | `observe_with_exemplar` |
//! | `CounterFamily`, `HistogramFamily`, `NativeHistogramFamily` (`labels(…)`) | as above, in every series | `with(…).inc_with_exemplar(…)` etc. |
//! | `DynCounterFamily`, `DynHistogramFamily` (`labels(…)`, `capacity`) | as above, in every series and the overflow series | `with(…).observe_with_exemplar(…)` etc. |
//!
//! The slots are inline in each series, so a family's storage stays one static whose size the
//! declaration fixes; families declared without `exemplars` carry zero-sized
//! [`NoExemplars`] and are exactly as large and as fast as before. Gauges (no exemplars in
//! OpenMetrics) and `ShardedCounter` (no one place for a slot) refuse `exemplars` with a
//! compile error on the word.
//!
//! ```
//! use promstatic::{metric, Counter, DynHistogramFamily, LabelValue, CounterFamily};
//! use promstatic::exemplar::ExemplarName;
//!
//! const TRACE_ID: ExemplarName = ExemplarName::new("trace_id");
//!
//! #[derive(LabelValue, Clone, Copy)]
//! enum Method { Get, Post }
//!
//! /// Orders placed.
//! #[metric(exemplars)]
//! static ORDERS_TOTAL: Counter = Counter::new();
//!
//! /// Requests by method.
//! #[metric(labels(method: Method), exemplars)]
//! static REQUESTS_TOTAL: CounterFamily = CounterFamily::new();
//!
//! /// Upstream latency.
//! #[metric(labels(upstream: &str), capacity = 16, buckets = [0.01, 0.1, 1.0], exemplars)]
//! static UPSTREAM_SECONDS: DynHistogramFamily = DynHistogramFamily::new();
//!
//! let trace = [(TRACE_ID, "4bf92f3577b34da6a3ce929d0e0e4736")];
//! let _ = ORDERS_TOTAL.inc_with_exemplar(&trace);
//! let _ = REQUESTS_TOTAL.with(Method::Post).inc_with_exemplar(&trace);
//! let _ = UPSTREAM_SECONDS.with(("db-1",)).observe_with_exemplar(0.004, &trace);
//! assert_eq!(REQUESTS_TOTAL.with(Method::Post).exemplar().map(|e| e.value()), Some(1.0));
//! ```
//!
//! # Limits
//!
//! OpenMetrics caps the combined length of an exemplar's label names and values at 128 UTF-8
//! characters ([`MAX_EXEMPLAR_CHARS`]). A longer set is refused with
//! [`ExemplarError::TooLong`], never truncated (a cut trace id links to the wrong trace, or to
//! none); so is a set whose encoding does not fit the slot's [`EXEMPLAR_CAPACITY`] bytes (only
//! possible with non-ASCII values, since 128 ASCII characters and their length bytes fit).
//! Label names are validated like every label name ([`crate::name`]); a literal name can be
//! checked when a constant is evaluated with [`ExemplarName::new`]. Every refusal is counted
//! in `promstatic_exemplars_refused_total`, and the observation itself is always counted.
//!
//! # Trace ids from `tracing` and OpenTelemetry
//!
//! There is no `tracing` feature: the recipe below is three lines against whichever
//! `opentelemetry` and `tracing-opentelemetry` versions the application already uses. A
//! feature would add those crates (and `tracing`) to our dependencies and tie every
//! promstatic release to one `opentelemetry` minor version, which `tracing-opentelemetry`
//! itself must match release by release; an application on another version would get two
//! copies of OpenTelemetry and a current span that the other copy cannot see.
//!
//! ```ignore
//! // Not compiled here (the OpenTelemetry crates are not our dependencies):
//! use opentelemetry::trace::TraceContextExt as _;          // `.span()` on a Context
//! use tracing_opentelemetry::OpenTelemetrySpanExt as _;    // `.context()` on a tracing Span
//!
//! let span = tracing::Span::current().context().span().span_context().clone();
//! let trace = TraceIdHex::from_bytes(span.trace_id().to_bytes());
//! if span.is_sampled() { let _ = REQUEST_SECONDS.observe_with_exemplar(secs, &[(TRACE_ID, trace.as_str())]); }
//! ```
//!
//! [`TraceIdHex`] formats the id on the stack, so the recipe allocates nothing; storing only
//! sampled traces keeps exemplars pointing at traces that exist. `examples/demo.rs` attaches
//! (fake) trace ids the same way, and a test checks that a real Prometheus stores them.
//!
//! # The slot protocol (a sequence lock whose writers never wait)
//!
//! The sequence word is even when the slot is stable and odd while a writer is in it; 0 means
//! no exemplar was ever stored.
//!
//! * A **writer** loads the sequence; if it is odd another writer is in the slot and this
//!   exemplar is skipped ([`Stored::Busy`]): a newer exemplar is being stored anyway, and
//!   waiting would put a spin on the hot path. Otherwise it moves the sequence from `s` to
//!   `s + 1` with an acquire compare-exchange (a writer that loses the race skips likewise;
//!   acquire, so that the previous writer's stores come before its own in every field), stores the
//!   value, timestamp, length and label words with release stores, and publishes with a
//!   release store of `s + 2`.
//! * A **reader** (a scrape) loads the sequence with acquire, loads every field with acquire
//!   loads into a stack copy, and loads the sequence again. If both loads saw the same even
//!   value, no writer touched the slot in between and the copy is exactly one writer's
//!   exemplar. Otherwise it retries, at most [`READ_ATTEMPTS`] times, and then leaves that
//!   exemplar out of this scrape.
//!
//! Why this suffices: if a reader's acquire load of a field returns a value stored by a later
//! writer, that release store synchronises with it, so the writer's claim (sequenced before
//! the store) happens before the reader's second sequence load, which therefore sees at least
//! the odd `s + 1`, and the copy is thrown away. If every field load returned values from
//! before the writer, the copy is the previous, complete exemplar, published by the release
//! store the first acquire load read. The classic formulation uses relaxed field accesses and
//! two fences (Boehm, "Can seqlocks get along with programming language memory models?",
//! 2012); per-field release/acquire is the same instructions on x86-64 (plain moves) and is
//! what `loom` models exactly. The loom model found a real bug in our first version: with a
//! relaxed claim, a second writer's field stores were not ordered after the first writer's,
//! so the slot could end up holding one word from each; the claim is now acquire, and the
//! model fails again when it is weakened back to relaxed.
//!
//! Every field is an atomic word: a seqlock that read its data with plain loads would race
//! with the writer, which is undefined behaviour in Rust's memory model even if the torn copy
//! is discarded. `tests/loom_exemplar.rs` runs this very code (built on `loom`'s atomics under
//! `--cfg promstatic_loom`, see `src/sync.rs`) through every interleaving with two writers
//! and a reader, and shows that the model fails when the claim or the field orderings are
//! weakened to `Relaxed`.

use core::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::name::{self, NameError};
use crate::sync::{AtomicU64, Ordering};

/// The most UTF-8 characters an exemplar's label names and values may have together.
pub const MAX_EXEMPLAR_CHARS: usize = 128;

/// The 64-bit words of label data in an [`ExemplarSlot`].
pub const EXEMPLAR_WORDS: usize = 17;

/// The bytes of label data an [`ExemplarSlot`] holds: 128 ASCII characters plus the two
/// length bytes of each of a few pairs.
pub const EXEMPLAR_CAPACITY: usize = EXEMPLAR_WORDS * 8;

/// How many times a scrape tries to read a slot that writers keep changing before it leaves
/// that exemplar out.
pub const READ_ATTEMPTS: usize = 4;

/// An exemplar label name checked when the constant is evaluated.
///
/// ```
/// use promstatic::exemplar::ExemplarName;
///
/// const TRACE_ID: ExemplarName = ExemplarName::new("trace_id");
/// assert_eq!(TRACE_ID.as_str(), "trace_id");
/// ```
///
/// An invalid literal fails the build:
///
/// ```compile_fail
/// use promstatic::exemplar::ExemplarName;
///
/// const BAD: ExemplarName = ExemplarName::new("trace-id"); // `-` is not allowed
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExemplarName(&'static str);

impl ExemplarName {
    /// A checked name; panics (in a `const`, fails the build) unless `name` matches
    /// `[a-zA-Z_][a-zA-Z0-9_]*` and does not start with `__`.
    pub const fn new(name: &'static str) -> Self {
        // The one label-name validator, `const` like this constructor.
        if name::validate_label_name(name).is_err() {
            panic!(
                "invalid exemplar label name: use `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`"
            );
        }
        ExemplarName(name)
    }

    /// The name.
    pub const fn as_str(&self) -> &'static str {
        self.0
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for &str {}
    impl Sealed for super::ExemplarName {}
}

/// The name of an exemplar label: a `&str` (validated when the exemplar is stored) or an
/// [`ExemplarName`] (validated when its constant was evaluated). Sealed.
pub trait ExemplarLabelName: sealed::Sealed {
    /// The name.
    fn label_name(&self) -> &str;
    /// Whether the name still needs validating.
    #[doc(hidden)]
    fn needs_check(&self) -> bool;
}

impl ExemplarLabelName for &str {
    #[inline]
    fn label_name(&self) -> &str {
        self
    }
    #[inline]
    fn needs_check(&self) -> bool {
        true
    }
}

impl ExemplarLabelName for ExemplarName {
    #[inline]
    fn label_name(&self) -> &str {
        self.0
    }
    #[inline]
    fn needs_check(&self) -> bool {
        false
    }
}

/// A 128-bit trace id (W3C Trace Context, OpenTelemetry) as 32 lowercase hex digits, held
/// on the stack so that attaching it to an exemplar allocates nothing.
///
/// ```
/// use promstatic::exemplar::TraceIdHex;
///
/// let id = TraceIdHex::new(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736);
/// assert_eq!(id.as_str(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(TraceIdHex::from_bytes([0; 16]).as_str(), "00000000000000000000000000000000");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TraceIdHex([u8; 32]);

impl TraceIdHex {
    /// The id's digits, most significant first.
    pub const fn new(id: u128) -> Self {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 32];
        let mut index = 0;
        while index < 32 {
            hex[index] = DIGITS[((id >> (4 * (31 - index))) & 0xf) as usize];
            index += 1;
        }
        TraceIdHex(hex)
    }

    /// From the 16 bytes of an id in network order (`opentelemetry::trace::TraceId::to_bytes`).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        TraceIdHex::new(u128::from_be_bytes(bytes))
    }

    /// The 32 hex digits.
    pub fn as_str(&self) -> &str {
        // Always ASCII hex digits; the fallback is unreachable but keeps this panic-free.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Debug for TraceIdHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an exemplar was refused (the observation itself was counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExemplarError {
    /// A label name is invalid.
    InvalidName {
        /// Which pair (0-based).
        index: usize,
        /// What is wrong with it.
        error: NameError,
    },
    /// The same label name is given twice.
    DuplicateName {
        /// The second pair with that name (0-based).
        index: usize,
    },
    /// Names and values together exceed [`MAX_EXEMPLAR_CHARS`] characters.
    TooLong {
        /// Their combined length in characters.
        chars: usize,
    },
    /// The encoded labels exceed the slot's [`EXEMPLAR_CAPACITY`] bytes (non-ASCII text), or
    /// one name or value exceeds 255 bytes (possible only in a slot wider than a metric's).
    TooLarge {
        /// The bytes they would need.
        bytes: usize,
    },
}

impl fmt::Display for ExemplarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ExemplarError::InvalidName { index, error } => {
                write!(f, "exemplar label {index} has an invalid name: {error}")
            }
            ExemplarError::DuplicateName { index } => write!(
                f,
                "exemplar label {index} repeats an earlier label's name; give each name once"
            ),
            ExemplarError::TooLong { chars } => write!(
                f,
                "exemplar labels have {chars} characters, OpenMetrics allows at most \
                 {MAX_EXEMPLAR_CHARS} (names and values together); the exemplar was not stored"
            ),
            ExemplarError::TooLarge { bytes } => write!(
                f,
                "exemplar labels need {bytes} bytes, more than a slot holds ({EXEMPLAR_CAPACITY} \
                 in a metric's, and at most 255 for one name or value); the exemplar was not \
                 stored"
            ),
        }
    }
}

impl std::error::Error for ExemplarError {}

/// What happened to an exemplar that passed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "an exemplar may be skipped while another thread stores one"]
pub enum Stored {
    /// It is in the slot (until a later one replaces it).
    Stored,
    /// Another thread was storing an exemplar in the same slot, so this one was skipped.
    Busy,
    /// The metric has no exemplar slots ([`NoExemplars`]); nothing was stored.
    NoSlot,
    /// The observation was rejected (a native histogram's negative, `NaN` or infinite
    /// value), so no bucket holds it and no exemplar was stored.
    NotCounted,
}

/// Exemplars refused since start (invalid names, too long), for the self-metric.
static REFUSED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The number of exemplars refused since start (`promstatic_exemplars_refused_total`).
pub fn refused_total() -> u64 {
    REFUSED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Validated labels, encoded as they are stored in a slot.
#[derive(Debug, Clone, Copy)]
pub struct EncodedLabels<const W: usize> {
    words: [u64; W],
    len: usize,
}

impl<const W: usize> EncodedLabels<W> {
    /// Validates `labels` and encodes them; a refusal is counted in the self-metric.
    pub fn new<N: ExemplarLabelName>(labels: &[(N, &str)]) -> Result<Self, ExemplarError> {
        let result = Self::encode(labels);
        if result.is_err() {
            REFUSED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        result
    }

    fn encode<N: ExemplarLabelName>(labels: &[(N, &str)]) -> Result<Self, ExemplarError> {
        let mut chars = 0usize;
        let mut bytes = 0usize;
        // Each length is stored in one byte: a slot wider than the default (`W` above 32)
        // holds more than 255 bytes, and 128 characters can take up to 512.
        let mut longest = 0usize;
        for (index, (label, value)) in labels.iter().enumerate() {
            let label = label_check(index, label)?;
            if labels[..index]
                .iter()
                .any(|(earlier, _)| earlier.label_name() == label)
            {
                return Err(ExemplarError::DuplicateName { index });
            }
            chars += label.chars().count() + value.chars().count();
            bytes += 2 + label.len() + value.len();
            longest = longest.max(label.len()).max(value.len());
        }
        if chars > MAX_EXEMPLAR_CHARS {
            return Err(ExemplarError::TooLong { chars });
        }
        if bytes > W * 8 || longest > usize::from(u8::MAX) {
            return Err(ExemplarError::TooLarge { bytes });
        }
        let mut encoded = EncodedLabels {
            words: [0; W],
            len: 0,
        };
        for (label, value) in labels {
            let label = label.label_name();
            // Both lengths are at most 255 (checked above), so each fits a byte.
            encoded.push(label.len() as u8);
            encoded.push(value.len() as u8);
            label.bytes().for_each(|byte| encoded.push(byte));
            value.bytes().for_each(|byte| encoded.push(byte));
        }
        Ok(encoded)
    }

    fn push(&mut self, byte: u8) {
        // Native byte order, so that a snapshot's words read as these bytes in memory.
        if let Some(word) = self.words.get_mut(self.len / 8) {
            let mut bytes = word.to_ne_bytes();
            if let Some(slot) = bytes.get_mut(self.len % 8) {
                *slot = byte;
            }
            *word = u64::from_ne_bytes(bytes);
            self.len += 1;
        }
    }
}

fn label_check<N: ExemplarLabelName>(index: usize, label: &N) -> Result<&str, ExemplarError> {
    let name = label.label_name();
    if label.needs_check() {
        name::validate_label_name(name)
            .map_err(|error| ExemplarError::InvalidName { index, error })?;
    }
    Ok(name)
}

/// The current time as nanoseconds since the Unix epoch; 0 (no timestamp) if the clock is
/// before 1970 or beyond 2554.
fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|since| u64::try_from(since.as_nanos()).ok())
        .unwrap_or(0)
}

/// Where a metric keeps its exemplars: [`NoExemplars`] (nothing, zero-sized) or
/// [`ExemplarSlot`]. Sealed; implemented by this crate only.
pub trait ExemplarStorage: Sync + fmt::Debug + private::Sealed {
    /// One exemplar of this slot, if it holds a consistent one.
    #[doc(hidden)]
    fn snapshot(&self) -> Option<Snapshot>;
}

mod private {
    pub trait Sealed {}
}

/// No exemplar storage: the default of every metric, zero bytes.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoExemplars;

impl NoExemplars {
    /// The (only) value.
    pub const fn new() -> Self {
        NoExemplars
    }
}

impl private::Sealed for NoExemplars {}

impl ExemplarStorage for NoExemplars {
    #[inline]
    fn snapshot(&self) -> Option<Snapshot> {
        None
    }
}

/// One exemplar slot: a sequence lock whose writers never wait (see the [module
/// docs](self#the-slot-protocol-a-sequence-lock-whose-writers-never-wait)).
///
/// `W` is the number of label words; metrics use the default [`EXEMPLAR_WORDS`] (the loom
/// model uses a smaller slot to keep the number of interleavings tractable).
pub struct ExemplarSlot<const W: usize = EXEMPLAR_WORDS> {
    /// Even: stable; odd: being written; 0: never written.
    sequence: AtomicU64,
    value: AtomicU64,
    timestamp: AtomicU64,
    len: AtomicU64,
    words: [AtomicU64; W],
}

impl<const W: usize> fmt::Debug for ExemplarSlot<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExemplarSlot")
            .field("exemplar", &self.read())
            .finish()
    }
}

impl<const W: usize> private::Sealed for ExemplarSlot<W> {}

impl ExemplarStorage for ExemplarSlot {
    #[inline]
    fn snapshot(&self) -> Option<Snapshot> {
        self.read()
    }
}

#[cfg(not(promstatic_loom))]
impl<const W: usize> ExemplarSlot<W> {
    /// An empty slot.
    pub const fn new() -> Self {
        ExemplarSlot {
            sequence: AtomicU64::new(0),
            value: AtomicU64::new(0),
            timestamp: AtomicU64::new(0),
            len: AtomicU64::new(0),
            words: [const { AtomicU64::new(0) }; W],
        }
    }
}

#[cfg(not(promstatic_loom))]
impl<const W: usize> Default for ExemplarSlot<W> {
    fn default() -> Self {
        ExemplarSlot::new()
    }
}

#[cfg(promstatic_loom)]
impl<const W: usize> ExemplarSlot<W> {
    /// An empty slot (loom's atomics have no `const fn new`).
    pub fn new() -> Self {
        ExemplarSlot {
            sequence: AtomicU64::new(0),
            value: AtomicU64::new(0),
            timestamp: AtomicU64::new(0),
            len: AtomicU64::new(0),
            words: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Test-only weakenings of the slot protocol, to show that the loom model can fail.
#[cfg(promstatic_loom)]
pub mod weaken {
    use std::sync::atomic::{AtomicU8, Ordering};

    /// The protocol as documented.
    pub const NONE: u8 = 0;
    /// The writer stores the fields, and the reader loads them, with `Relaxed` instead of
    /// `Release` and `Acquire`.
    pub const ORDERINGS: u8 = 1;
    /// The writer claims the slot with a `Relaxed` compare-exchange instead of `Acquire`.
    pub const CLAIM: u8 = 2;

    static MODE: AtomicU8 = AtomicU8::new(NONE);

    /// Selects a weakening for the following models.
    pub fn set(mode: u8) {
        MODE.store(mode, Ordering::SeqCst);
    }

    pub(crate) fn orderings() -> bool {
        MODE.load(Ordering::SeqCst) == ORDERINGS
    }

    pub(crate) fn claim() -> bool {
        MODE.load(Ordering::SeqCst) == CLAIM
    }
}

/// How a writer claims the slot: `Acquire` (`Relaxed` under the test-only weakening).
#[inline]
fn claim_order() -> Ordering {
    #[cfg(promstatic_loom)]
    if weaken::claim() {
        return Ordering::Relaxed;
    }
    Ordering::Acquire
}

/// How a writer stores the fields: `Release` (`Relaxed` under the test-only weakening).
#[inline]
fn field_store_order() -> Ordering {
    #[cfg(promstatic_loom)]
    if weaken::orderings() {
        return Ordering::Relaxed;
    }
    Ordering::Release
}

/// How a reader loads the fields: `Acquire` (`Relaxed` under the test-only weakening).
#[inline]
fn field_load_order() -> Ordering {
    #[cfg(promstatic_loom)]
    if weaken::orderings() {
        return Ordering::Relaxed;
    }
    Ordering::Acquire
}

impl<const W: usize> ExemplarSlot<W> {
    /// Stores an exemplar with the current time, unless another thread is storing one.
    #[inline]
    pub fn store(&self, value: f64, labels: &EncodedLabels<W>) -> Stored {
        // Seen busy: skip before reading the clock.
        if self.sequence.load(Ordering::Relaxed) & 1 == 1 {
            return Stored::Busy;
        }
        self.store_at(value, now_nanos(), labels)
    }

    /// Stores an exemplar with this timestamp (nanoseconds since the Unix epoch; 0 for none),
    /// unless another thread is storing one.
    pub fn store_at(&self, value: f64, timestamp_nanos: u64, labels: &EncodedLabels<W>) -> Stored {
        let sequence = self.sequence.load(Ordering::Relaxed);
        if sequence & 1 == 1 {
            return Stored::Busy;
        }
        // Acquire: the previous writer's field stores (published by its release store of
        // `sequence`) happen before ours, so ours are later in every field's modification
        // order; with a relaxed claim two writers' stores could interleave per field and
        // leave the slot itself torn (the loom model found this).
        if self
            .sequence
            .compare_exchange(
                sequence,
                sequence.wrapping_add(1),
                claim_order(),
                Ordering::Relaxed,
            )
            .is_err()
        {
            return Stored::Busy;
        }
        // Release on every field: a reader whose acquire load returns any of these values
        // also sees the odd sequence stored above (see the module docs).
        let publish = field_store_order();
        self.value.store(value.to_bits(), publish);
        self.timestamp.store(timestamp_nanos, publish);
        self.len.store(labels.len as u64, publish);
        for (word, &bits) in self.words.iter().zip(labels.words.iter()) {
            word.store(bits, publish);
        }
        // Publishes the fields above to a reader whose acquire load sees this value. The
        // sequence only ever wraps after 2^63 exemplars; it never returns to 0.
        self.sequence
            .store(sequence.wrapping_add(2).max(2), Ordering::Release);
        Stored::Stored
    }

    /// A consistent copy of the exemplar, or `None` if there is none or writers kept
    /// changing it for [`READ_ATTEMPTS`] tries.
    pub fn read(&self) -> Option<Snapshot<W>> {
        for _ in 0..READ_ATTEMPTS {
            // Acquire: pairs with the writer's release store of this even value.
            let before = self.sequence.load(Ordering::Acquire);
            if before == 0 {
                return None;
            }
            if before & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            // Acquire on every field: if one returns a newer writer's value, that writer's
            // claim (the odd sequence) is visible to the second sequence load below.
            let observe = field_load_order();
            let mut snapshot = Snapshot {
                value: f64::from_bits(self.value.load(observe)),
                timestamp_nanos: self.timestamp.load(observe),
                len: 0,
                words: [0; W],
            };
            let len = self.len.load(observe);
            for (copy, word) in snapshot.words.iter_mut().zip(self.words.iter()) {
                *copy = word.load(observe);
            }
            let after = self.sequence.load(Ordering::Relaxed);
            if after == before {
                snapshot.len = usize::try_from(len).unwrap_or(usize::MAX).min(W * 8);
                return Some(snapshot);
            }
        }
        None
    }
}

/// A consistent copy of one exemplar.
#[derive(Clone, Copy)]
pub struct Snapshot<const W: usize = EXEMPLAR_WORDS> {
    value: f64,
    timestamp_nanos: u64,
    len: usize,
    words: [u64; W],
}

impl<const W: usize> fmt::Debug for Snapshot<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_struct("Snapshot");
        list.field("value", &self.value)
            .field("timestamp_nanos", &self.timestamp_nanos);
        for (name, value) in self.labels() {
            list.field(name, &value);
        }
        list.finish()
    }
}

impl<const W: usize> Snapshot<W> {
    /// The exemplar's value (the observation, or a counter's increment).
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Nanoseconds since the Unix epoch when it was stored; `None` if the clock was unusable.
    pub fn timestamp_nanos(&self) -> Option<u64> {
        (self.timestamp_nanos != 0).then_some(self.timestamp_nanos)
    }

    /// The encoded label bytes.
    fn bytes(&self) -> &[u8] {
        // SAFETY: `[u64; W]` is `W * 8` initialised bytes, `u8` has alignment 1, and the
        // slice borrows `self`, so it lives no longer than the words.
        let all = unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), W * 8) };
        all.get(..self.len).unwrap_or(all)
    }

    /// The label pairs, in the order given. A copy is exactly what one writer stored, so
    /// every pair decodes; the decoder still stops, rather than panicking, at anything else.
    pub fn labels(&self) -> Labels<'_> {
        Labels {
            bytes: self.bytes(),
        }
    }
}

/// The label pairs of a [`Snapshot`].
#[derive(Debug, Clone)]
pub struct Labels<'s> {
    bytes: &'s [u8],
}

impl<'s> Iterator for Labels<'s> {
    type Item = (&'s str, &'s str);

    fn next(&mut self) -> Option<Self::Item> {
        let (&name_len, rest) = self.bytes.split_first()?;
        let (&value_len, rest) = rest.split_first()?;
        let (name, rest) = rest.split_at_checked(usize::from(name_len))?;
        let (value, rest) = rest.split_at_checked(usize::from(value_len))?;
        self.bytes = rest;
        Some((
            std::str::from_utf8(name).ok()?,
            std::str::from_utf8(value).ok()?,
        ))
    }
}

#[cfg(all(test, not(promstatic_loom)))]
mod tests {
    use super::*;

    fn labels(snapshot: &Snapshot) -> Vec<(String, String)> {
        snapshot
            .labels()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()
    }

    #[test]
    fn stores_and_reads_back() {
        let slot: ExemplarSlot = ExemplarSlot::new();
        assert!(slot.read().is_none());
        let encoded = EncodedLabels::new(&[("trace_id", "abc"), ("span_id", "é1")]).unwrap();
        assert_eq!(
            slot.store_at(0.25, 1_700_000_000_123_000_000, &encoded),
            Stored::Stored
        );
        let snapshot = slot.read().unwrap();
        assert_eq!(snapshot.value(), 0.25);
        assert_eq!(snapshot.timestamp_nanos(), Some(1_700_000_000_123_000_000));
        assert_eq!(
            labels(&snapshot),
            [
                ("trace_id".into(), "abc".into()),
                ("span_id".into(), "é1".into())
            ]
        );
        // A later exemplar replaces it whole, even a shorter one.
        let shorter = EncodedLabels::new(&[("t", "z")]).unwrap();
        assert_eq!(slot.store(1.0, &shorter), Stored::Stored);
        let snapshot = slot.read().unwrap();
        assert_eq!(labels(&snapshot), [("t".into(), "z".into())]);
        assert!(snapshot.timestamp_nanos().is_some());
    }

    #[test]
    fn empty_label_set_is_allowed() {
        let slot: ExemplarSlot = ExemplarSlot::new();
        let none: [(&str, &str); 0] = [];
        let encoded = EncodedLabels::new(&none).unwrap();
        assert_eq!(slot.store_at(3.0, 0, &encoded), Stored::Stored);
        let snapshot = slot.read().unwrap();
        assert_eq!(snapshot.labels().count(), 0);
        assert_eq!(snapshot.timestamp_nanos(), None);
    }

    #[test]
    fn a_writer_in_the_slot_makes_others_skip_and_readers_give_up() {
        let slot: ExemplarSlot = ExemplarSlot::new();
        let encoded = EncodedLabels::new(&[("a", "1")]).unwrap();
        assert_eq!(slot.store_at(1.0, 0, &encoded), Stored::Stored);
        // Simulate a writer stopped between its claim and its publication.
        slot.sequence.fetch_add(1, Ordering::Relaxed);
        assert_eq!(slot.store(2.0, &encoded), Stored::Busy);
        assert_eq!(slot.store_at(2.0, 0, &encoded), Stored::Busy);
        assert!(slot.read().is_none(), "a slot mid-write must be left out");
        slot.sequence.fetch_add(1, Ordering::Relaxed);
        assert_eq!(slot.read().unwrap().value(), 1.0);
    }

    #[test]
    fn limits_are_refused_and_counted() {
        let before = refused_total();
        let long = "x".repeat(MAX_EXEMPLAR_CHARS - 8);
        // "trace_id" (8) + 120 = 128: accepted; one more: refused.
        assert!(EncodedLabels::<EXEMPLAR_WORDS>::new(&[("trace_id", long.as_str())]).is_ok());
        let longer = format!("{long}y");
        assert_eq!(
            EncodedLabels::<EXEMPLAR_WORDS>::new(&[("trace_id", longer.as_str())]).unwrap_err(),
            ExemplarError::TooLong { chars: 129 }
        );
        // 128 characters of two bytes each do not fit the slot's bytes.
        let wide = "é".repeat(MAX_EXEMPLAR_CHARS - 1);
        assert!(matches!(
            EncodedLabels::<EXEMPLAR_WORDS>::new(&[("t", wide.as_str())]),
            Err(ExemplarError::TooLarge { bytes: 257 })
        ));
        assert!(matches!(
            EncodedLabels::<EXEMPLAR_WORDS>::new(&[("trace-id", "1")]),
            Err(ExemplarError::InvalidName { index: 0, .. })
        ));
        assert_eq!(
            EncodedLabels::<EXEMPLAR_WORDS>::new(&[("a", "1"), ("a", "2")]).unwrap_err(),
            ExemplarError::DuplicateName { index: 1 }
        );
        // Other tests may refuse exemplars concurrently: at least these four.
        assert!(refused_total() >= before + 4);
        let message = ExemplarError::TooLong { chars: 129 }.to_string();
        assert!(message.contains("at most 128"), "{message}");
    }

    /// In a slot wider than the default, a name or value longer than 255 bytes (within the
    /// character cap) is refused: its length would not fit the byte that stores it, and the
    /// labels would decode as other text.
    #[test]
    fn a_length_that_does_not_fit_a_byte_is_refused_in_a_wide_slot() {
        // 101 characters, 3 bytes each but one: 303 bytes, within the 512 of 64 words.
        let wide = "€".repeat(100);
        assert!(matches!(
            EncodedLabels::<64>::new(&[("t", wide.as_str())]),
            Err(ExemplarError::TooLarge { bytes: 303 })
        ));
        // 254 bytes (127 characters) still fit, and read back as given.
        let widest = "é".repeat(127);
        let slot: ExemplarSlot<64> = ExemplarSlot::new();
        let encoded = EncodedLabels::<64>::new(&[("t", widest.as_str())]).unwrap();
        assert_eq!(slot.store_at(1.0, 0, &encoded), Stored::Stored);
        let snapshot = slot.read().unwrap();
        assert_eq!(
            snapshot.labels().collect::<Vec<_>>(),
            [("t", widest.as_str())]
        );
    }

    #[test]
    fn const_names_skip_the_run_time_check() {
        const TRACE_ID: ExemplarName = ExemplarName::new("trace_id");
        let encoded = EncodedLabels::<EXEMPLAR_WORDS>::new(&[(TRACE_ID, "1")]).unwrap();
        assert_eq!(encoded.len, 2 + 8 + 1);
    }

    #[test]
    #[should_panic(expected = "invalid exemplar label name")]
    fn invalid_const_name_panics_outside_const() {
        let name = String::from("__reserved").leak();
        let _ = ExemplarName::new(name);
    }
}
