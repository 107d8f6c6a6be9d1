//! The facade's storage: one static arena of series and names, and the registration path.
//!
//! See the [facade docs](crate::facade#storage) for the layout and its bounds. This module
//! turns a `metrics::Key` into a series: the key becomes the parts `[kind, base name, label
//! name, label value, …]` (labels sorted by name, so the order a call site lists them in does
//! not make a second series) and [`SeriesIndex`] finds or inserts them. A hit is that lookup
//! plus one `Arc` clone of the series' handle (most hits never get here: the cache of
//! `cache.rs` answers them first); everything else here runs once per series or once per
//! name. Linking a new series and publishing its handle is the protocol of `link.rs`.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::dynamic::{Full, LabelText, SeriesIndex};
use crate::encode::Kind;
use crate::name;

use super::Config;
use super::handle::Handle;
use super::link::{Link, List, Published};

/// The most series the arena holds; [`Builder::max_series`](super::Builder::max_series)
/// chooses a cap up to this.
pub const MAX_SERIES: usize = 8192;
/// The cap on series when none is configured.
pub const DEFAULT_MAX_SERIES: usize = 4096;
/// The most distinct metric names (each with its overflow series).
pub const MAX_NAMES: usize = 1024;
/// The most labels one key may have.
pub const MAX_KEY_LABELS: usize = 16;
/// The most bounds a histogram may have (`+Inf` not counted).
pub const MAX_BOUNDS: usize = 32;
/// The bytes all series keys may take (name and labels, escaped, two bytes more per part).
pub const KEY_BYTES: usize = 1 << 20;
/// The label of every name's overflow series; reserved, so no key may use it.
pub const OVERFLOW_LABEL: &str = "promstatic_overflow";

const NAME_BYTES: usize = 128 * 1024;
const CLAIMS: usize = 4 * MAX_NAMES;
const CLAIM_BYTES: usize = 256 * 1024;
const LOGGED: usize = 256;

/// Why a registration got no series of its own; the position in `Arena::refused`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The metric name is not a valid Prometheus name.
    InvalidName = 0,
    /// A label name is invalid, reserved, repeated, or there are too many labels.
    InvalidLabel = 1,
    /// The name collides with another facade metric's (another type, or `x` vs `x_total`).
    NameConflict = 2,
    /// The name collides with a `#[metric]` static's.
    StaticDuplicate = 3,
    /// Every name slot is taken.
    NameTableFull = 4,
    /// The series cap was reached: the update went to the name's overflow series.
    SeriesCap = 5,
    /// The key bytes ran out: the update went to the name's overflow series.
    KeyBytes = 6,
}

impl Refusal {
    pub(crate) const ALL: [Refusal; 7] = [
        Refusal::InvalidName,
        Refusal::InvalidLabel,
        Refusal::NameConflict,
        Refusal::StaticDuplicate,
        Refusal::NameTableFull,
        Refusal::SeriesCap,
        Refusal::KeyBytes,
    ];

    pub(crate) const fn label(self) -> &'static str {
        match self {
            Refusal::InvalidName => "invalid_name",
            Refusal::InvalidLabel => "invalid_label",
            Refusal::NameConflict => "name_conflict",
            Refusal::StaticDuplicate => "static_duplicate",
            Refusal::NameTableFull => "name_table_full",
            Refusal::SeriesCap => "series_cap",
            Refusal::KeyBytes => "key_bytes",
        }
    }
}

/// The three series types of the facade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeriesKind {
    Counter,
    Gauge,
    Histogram,
}

impl SeriesKind {
    /// The first part of every key: keeps a counter and a gauge of one name apart.
    const fn tag(self) -> &'static str {
        match self {
            SeriesKind::Counter => "c",
            SeriesKind::Gauge => "g",
            SeriesKind::Histogram => "h",
        }
    }

    pub(crate) const fn kind(self) -> Kind {
        match self {
            SeriesKind::Counter => Kind::Counter,
            SeriesKind::Gauge => Kind::Gauge,
            SeriesKind::Histogram => Kind::Histogram,
        }
    }

    /// The part of a name that identifies the family: a counter's name without `_total`,
    /// so `requests` and `requests_total` are one counter (exported as `requests_total`).
    pub(crate) fn base(self, name: &str) -> &str {
        match self {
            SeriesKind::Counter => name
                .strip_suffix("_total")
                .filter(|base| !base.is_empty())
                .unwrap_or(name),
            SeriesKind::Gauge | SeriesKind::Histogram => name,
        }
    }

    /// The name the family is exported under (text 0.0.4 spelling).
    pub(crate) fn exported(self, base: &str) -> String {
        match self {
            SeriesKind::Counter => format!("{base}_total"),
            SeriesKind::Gauge | SeriesKind::Histogram => base.to_owned(),
        }
    }

    /// Every family and sample name the family writes, in either format.
    fn claims(self, base: &str) -> Vec<String> {
        let suffixes: &[&str] = match self {
            SeriesKind::Counter => &["", "_total"],
            SeriesKind::Gauge => &[""],
            SeriesKind::Histogram => &["", "_bucket", "_sum", "_count"],
        };
        suffixes
            .iter()
            .map(|suffix| format!("{base}{suffix}"))
            .collect()
    }
}

/// One series' storage besides its histogram buckets and its link.
#[derive(Debug)]
pub(crate) struct Cell {
    /// A counter's total, a gauge's `f64` bits, or a histogram's sum as `f64` bits.
    pub(crate) value: AtomicU64,
    /// A histogram's "observed a value below zero" flag: from then on its sum is no longer
    /// a counter (see [`crate::histogram`]). Unused by counters and gauges.
    pub(crate) below_zero: AtomicBool,
    /// The handle every registration clones, set once, never freed.
    handle: Published<Handle>,
}

impl Cell {
    const fn new() -> Self {
        Cell {
            value: AtomicU64::new(0),
            below_zero: AtomicBool::new(false),
            handle: Published::new(),
        }
    }
}

/// Buckets of one histogram series: not cumulative, the last one past every bound.
pub(crate) type Buckets = [AtomicU64; MAX_BOUNDS + 1];

/// One metric name: its state, description, series list and overflow series.
#[derive(Debug)]
pub(crate) struct NameSlot {
    /// `NameSlot::PENDING` until its inserter has checked it for collisions.
    pub(crate) status: AtomicU8,
    /// The name's series, newest first (links in `Arena::links`).
    pub(crate) series: List,
    pub(crate) help: OnceLock<Box<str>>,
    pub(crate) unit: OnceLock<&'static str>,
    /// Where the colliding `#[metric]` is, for `check()`; set with `STATIC_DUPLICATE`.
    pub(crate) static_conflict: OnceLock<StaticConflict>,
    pub(crate) overflow: Cell,
    pub(crate) overflow_buckets: Buckets,
    pub(crate) overflow_used: AtomicBool,
    /// A counter's spelling: `SPELLED_TOTAL` (`x_total`) or `SPELLED_BARE` (`x`), fixed by
    /// its first registration (0 until then).
    spelling: AtomicU8,
}

/// A facade name that a `#[metric]` static already exports.
#[derive(Debug)]
pub(crate) struct StaticConflict {
    pub(crate) descriptor: &'static crate::table::Descriptor,
    pub(crate) name: &'static str,
    pub(crate) module_path: &'static str,
}

impl NameSlot {
    pub(crate) const PENDING: u8 = 0;
    pub(crate) const EXPORTED: u8 = 1;
    pub(crate) const NAME_CONFLICT: u8 = 2;
    pub(crate) const STATIC_DUPLICATE: u8 = 3;
    const SPELLED_TOTAL: u8 = 1;
    const SPELLED_BARE: u8 = 2;

    const fn new() -> Self {
        NameSlot {
            status: AtomicU8::new(Self::PENDING),
            series: List::new(),
            help: OnceLock::new(),
            unit: OnceLock::new(),
            static_conflict: OnceLock::new(),
            overflow: Cell::new(),
            overflow_buckets: [const { AtomicU64::new(0) }; MAX_BOUNDS + 1],
            overflow_used: AtomicBool::new(false),
            spelling: AtomicU8::new(0),
        }
    }
}

/// Everything the facade stores; one static, zero-initialised (so it costs address space,
/// not memory, until series are used).
pub(crate) struct Arena {
    pub(crate) series: SeriesIndex<MAX_SERIES, { 2 * MAX_SERIES }, KEY_BYTES>,
    pub(crate) cells: [Cell; MAX_SERIES],
    /// Each series' place in its name's list.
    pub(crate) links: [Link; MAX_SERIES],
    pub(crate) buckets: [Buckets; MAX_SERIES],
    /// Names keyed by `[kind, exported name]`.
    pub(crate) names: SeriesIndex<MAX_NAMES, { 2 * MAX_NAMES }, NAME_BYTES>,
    pub(crate) name_slots: [NameSlot; MAX_NAMES],
    /// Every family and sample name a facade name writes, keyed by `[name]`, and the name
    /// slot (plus one) that owns it: the lock-free check that two facade names never write
    /// the same sample name.
    claims: SeriesIndex<CLAIMS, { 2 * CLAIMS }, CLAIM_BYTES>,
    claim_owners: [AtomicU32; CLAIMS],
    /// Names already logged as refused, so each is logged once.
    logged: SeriesIndex<LOGGED, { 2 * LOGGED }, { LOGGED * 96 }>,
    logged_full: AtomicBool,
    /// Series admitted so far, checked against the configured cap.
    admitted: AtomicU32,
    /// Registrations by `Refusal`.
    pub(crate) refused: [AtomicU64; 7],
}

impl std::fmt::Debug for Arena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arena")
            .field("series", &self.series)
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

pub(crate) static ARENA: Arena = Arena {
    series: SeriesIndex::new(),
    cells: [const { Cell::new() }; MAX_SERIES],
    links: [const { Link::new() }; MAX_SERIES],
    buckets: [const { [const { AtomicU64::new(0) }; MAX_BOUNDS + 1] }; MAX_SERIES],
    names: SeriesIndex::new(),
    name_slots: [const { NameSlot::new() }; MAX_NAMES],
    claims: SeriesIndex::new(),
    claim_owners: [const { AtomicU32::new(0) }; CLAIMS],
    logged: SeriesIndex::new(),
    logged_full: AtomicBool::new(false),
    admitted: AtomicU32::new(0),
    refused: [const { AtomicU64::new(0) }; 7],
};

/// What a registration resolves to.
pub(crate) enum Registered {
    /// The series' handle.
    Handle(Arc<Handle>),
    /// The name's overflow series' handle (the registration was counted as refused).
    Overflow(Arc<Handle>),
    /// Nothing: the registration was refused and is counted.
    Refused,
}

/// The label pairs of a key, as `metrics` hands them over.
pub(crate) type Labels<'k> = &'k [metrics::Label];

/// Resolves a key to its series' handle; see the module docs.
///
/// `hash` is `metrics::Key::get_hash()`: computed when the key was built (at compile time
/// for the macros' static keys) and independent of label order, so it is a function of the
/// key's value as the index requires, and the hit path hashes nothing.
#[inline]
pub(crate) fn register(
    config: &'static Config,
    kind: SeriesKind,
    hash: u64,
    name: &str,
    labels: Labels<'_>,
    module_path: Option<&str>,
) -> Registered {
    // Most keys have a few labels: a short array to fill, the long one only when needed.
    if labels.len() <= 4 {
        register_with::<10>(config, kind, hash, name, labels, module_path)
    } else {
        register_with::<{ 2 + 2 * MAX_KEY_LABELS }>(config, kind, hash, name, labels, module_path)
    }
}

#[inline(always)]
fn register_with<const PARTS: usize>(
    config: &'static Config,
    kind: SeriesKind,
    hash: u64,
    name: &str,
    labels: Labels<'_>,
    module_path: Option<&str>,
) -> Registered {
    let mut parts = [LabelText::Raw(""); PARTS];
    let Some(used) = key_parts(kind, name, labels, &mut parts) else {
        return refuse(
            Refusal::InvalidLabel,
            name,
            Some("it has more than 16 labels"),
        );
    };
    let parts = parts.get(..used).unwrap_or(&[]);
    let mut refused = None;
    let found = ARENA.series.find_or_insert_hashed(hash, parts, |parts| {
        // Only a key not seen before gets here: validation stays off the hit path.
        if let Err(reason) = admit(kind, name, parts) {
            refused = Some(reason);
            return Err(Full::Refused);
        }
        // The cap: a claim below it, or the key overflows.
        ARENA
            .admitted
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |admitted| {
                ((admitted as usize) < config.max_series).then_some(admitted + 1)
            })
            .map(|_| ())
            .map_err(|_| Full::Capacity)
    });
    match found {
        Ok(found) => {
            let Some(cell) = ARENA.cells.get(found.series) else {
                return Registered::Refused;
            };
            if let Some(handle) = cell.handle.get() {
                return Registered::Handle(handle);
            }
            first_registration(config, kind, name, found.series, module_path)
        }
        Err(Full::Refused) => match refused {
            Some((refusal, why)) => refuse(refusal, name, Some(&why)),
            None => Registered::Refused,
        },
        Err(Full::Capacity) => overflow(config, kind, name, Refusal::SeriesCap, module_path),
        Err(Full::LabelBytes | Full::ValueLength) => {
            overflow(config, kind, name, Refusal::KeyBytes, module_path)
        }
    }
}

/// Writes `[kind, name, label name, label value, …]` into `parts`, labels sorted by name;
/// `None` if they do not fit.
#[inline]
fn key_parts<'k>(
    kind: SeriesKind,
    name: &'k str,
    labels: Labels<'k>,
    parts: &mut [LabelText<'k>],
) -> Option<usize> {
    let used = 2 + 2 * labels.len();
    if labels.len() > MAX_KEY_LABELS || used > parts.len() {
        return None;
    }
    let (head, pairs) = parts.split_at_mut(2);
    head[0] = LabelText::Raw(kind.tag());
    head[1] = LabelText::Raw(name);
    let sorted = labels
        .windows(2)
        .all(|pair| !label_less(pair[1].key(), pair[0].key()));
    if sorted {
        for (pair, label) in pairs.chunks_exact_mut(2).zip(labels) {
            pair[0] = LabelText::Raw(label.key());
            pair[1] = LabelText::Raw(label.value());
        }
    } else {
        // Insertion sort of positions on the stack: at most 16 labels, no allocation.
        let mut order = [0u8; MAX_KEY_LABELS];
        for (position, slot) in order.iter_mut().enumerate().take(labels.len()) {
            *slot = position as u8;
        }
        let order = order.get_mut(..labels.len())?;
        for i in 1..order.len() {
            let mut j = i;
            while j > 0
                && label_less(
                    labels[order[j] as usize].key(),
                    labels[order[j - 1] as usize].key(),
                )
            {
                order.swap(j - 1, j);
                j -= 1;
            }
        }
        for (pair, &position) in pairs.chunks_exact_mut(2).zip(order.iter()) {
            let label = labels.get(position as usize)?;
            pair[0] = LabelText::Raw(label.key());
            pair[1] = LabelText::Raw(label.value());
        }
    }
    Some(used)
}

/// `left < right` as strings; the first bytes decide without a `memcmp` call in the usual
/// case of label names that start differently.
#[inline]
fn label_less(left: &str, right: &str) -> bool {
    match (left.as_bytes().first(), right.as_bytes().first()) {
        (Some(a), Some(b)) if a != b => a < b,
        _ => left < right,
    }
}

/// Checks a new key: a valid name, valid distinct label names, none reserved.
#[cold]
fn admit(kind: SeriesKind, base: &str, parts: &[LabelText<'_>]) -> Result<(), (Refusal, String)> {
    name::validate_metric_name(base).map_err(|error| {
        (
            Refusal::InvalidName,
            format!("the name is invalid: {error}"),
        )
    })?;
    let mut previous: Option<&str> = None;
    for pair in parts.get(2..).unwrap_or(&[]).chunks_exact(2) {
        let (LabelText::Raw(label) | LabelText::Escaped(label)) = pair[0];
        name::validate_label_name(label).map_err(|error| {
            (
                Refusal::InvalidLabel,
                format!("label name `{label}` is invalid: {error}"),
            )
        })?;
        if previous == Some(label) {
            return Err((
                Refusal::InvalidLabel,
                format!("label `{label}` is given twice"),
            ));
        }
        if label == OVERFLOW_LABEL || (kind == SeriesKind::Histogram && label == "le") {
            return Err((
                Refusal::InvalidLabel,
                format!("label name `{label}` is reserved"),
            ));
        }
        previous = Some(label);
    }
    Ok(())
}

/// The first registration of a series (or a later one that found no handle yet): resolve its
/// name, link it into the name's list, publish its handle.
#[cold]
#[inline(never)]
fn first_registration(
    config: &'static Config,
    kind: SeriesKind,
    name: &str,
    series: usize,
    module_path: Option<&str>,
) -> Registered {
    let (slot, name_slot) = match resolve_name(config, kind, name, module_path) {
        Ok(found) => found,
        Err(refusal) => return refuse_name(refusal, name),
    };
    // Series numbers come from the index, below its capacity: always in bounds.
    let (Some(cell), Some(buckets)) = (ARENA.cells.get(series), ARENA.buckets.get(series)) else {
        return Registered::Refused;
    };
    // One thread links the series (the first to claim it); the others go on at once.
    if let Some(link) = ARENA.links.get(series)
        && link.claim(slot as u32 + 1)
    {
        name_slot.series.push(&ARENA.links, series);
    }
    let bounds = config.bounds_for(kind, name);
    let built = Arc::new(Handle::new(&cell.value, &cell.below_zero, buckets, bounds));
    Registered::Handle(cell.handle.publish(built))
}

/// A registration whose key has no series: the name's overflow series, counted.
#[cold]
#[inline(never)]
fn overflow(
    config: &'static Config,
    kind: SeriesKind,
    name: &str,
    refusal: Refusal,
    module_path: Option<&str>,
) -> Registered {
    count(refusal);
    let slot = match resolve_name(config, kind, name, module_path) {
        Ok((_, slot)) => slot,
        Err(other) => return refuse_name(other, name),
    };
    // The load keeps the common case a read of a shared line; the swap makes the warning
    // once per name even when threads overflow together.
    if !slot.overflow_used.load(Ordering::Relaxed)
        && !slot.overflow_used.swap(true, Ordering::Relaxed)
    {
        log::warn!(
            target: "promstatic",
            "metric `{name}` (metrics facade): a label set got no series ({}); its updates go \
             to the overflow series `{{{OVERFLOW_LABEL}=\"true\"}}`. Raise the facade's \
             `max_series` or use fewer distinct label values. Logged once per name; \
             promstatic_facade_refused_total counts every such registration.",
            refusal.label(),
        );
    }
    if let Some(handle) = slot.overflow.handle.get() {
        return Registered::Overflow(handle);
    }
    let bounds = config.bounds_for(kind, name);
    let built = Arc::new(Handle::new(
        &slot.overflow.value,
        &slot.overflow.below_zero,
        &slot.overflow_buckets,
        bounds,
    ));
    Registered::Overflow(slot.overflow.handle.publish(built))
}

/// The name slot of `name` as `kind`, creating and checking it if it is new; `Err` if the
/// name cannot be exported.
pub(crate) fn resolve_name(
    config: &'static Config,
    kind: SeriesKind,
    name: &str,
    module_path: Option<&str>,
) -> Result<(usize, &'static NameSlot), Refusal> {
    let base = kind.base(name);
    let exported = kind.exported(base);
    let parts = [LabelText::Raw(kind.tag()), LabelText::Raw(&exported)];
    let found = match ARENA.names.find_or_insert_reporting(&parts, |_| {
        name::validate_metric_name(base).map_err(|_| Full::Refused)
    }) {
        Ok(found) => found,
        Err(Full::Refused) => return Err(Refusal::InvalidName),
        Err(_) => return Err(Refusal::NameTableFull),
    };
    // Slot numbers come from the index, below its capacity: always in bounds.
    let Some(slot) = ARENA.name_slots.get(found.series) else {
        return Err(Refusal::NameTableFull);
    };
    if found.inserted {
        let status = check_new_name(config, kind, base, &exported, found.series, module_path);
        // Release: a scrape that sees EXPORTED (Acquire) sees the rest of the slot.
        slot.status.store(status, Ordering::Release);
    }
    if kind == SeriesKind::Counter {
        check_spelling(slot, name, &exported)?;
    }
    match slot.status.load(Ordering::Acquire) {
        NameSlot::NAME_CONFLICT => Err(Refusal::NameConflict),
        NameSlot::STATIC_DUPLICATE => Err(Refusal::StaticDuplicate),
        // PENDING: its inserter is checking it right now; this registration goes on (if the
        // name turns out to collide, the series is simply never exported).
        _ => Ok((found.series, slot)),
    }
}

/// `x` and `x_total` are one counter in Prometheus (both are exported as `x_total`): the
/// first spelling registered is kept and the other refused, since their series would have
/// the same names and could not both be exported.
fn check_spelling(slot: &NameSlot, name: &str, exported: &str) -> Result<(), Refusal> {
    let mine = if name == exported {
        NameSlot::SPELLED_TOTAL
    } else {
        NameSlot::SPELLED_BARE
    };
    match slot
        .spelling
        .compare_exchange(0, mine, Ordering::Relaxed, Ordering::Relaxed)
    {
        Ok(_) => Ok(()),
        Err(first) if first == mine => Ok(()),
        Err(_) => {
            log_once(Refusal::NameConflict, name, |name| {
                log::error!(
                    target: "promstatic",
                    "counter `{name}` recorded through the `metrics` facade is exported as \
                     `{exported}`, and the other spelling of that name is already registered; \
                     its updates are not recorded: use one spelling at every call site \
                     (`{exported}` is the Prometheus convention)"
                )
            });
            Err(Refusal::NameConflict)
        }
    }
}

/// Decides whether a new name is exported: it must not write a sample name that a
/// `#[metric]` static or another facade name writes.
fn check_new_name(
    config: &'static Config,
    kind: SeriesKind,
    base: &str,
    exported: &str,
    slot: usize,
    module_path: Option<&str>,
) -> u8 {
    let claims = kind.claims(base);
    if let Some(descriptor) = claims
        .iter()
        .find_map(|claim| config.static_claims.get(claim.as_str()))
    {
        let module_path = module_path.unwrap_or("(module unknown)");
        let conflict = StaticConflict {
            descriptor,
            // Leaked once per colliding name (bounded by MAX_NAMES): `check()` reports them
            // as `&'static str` like every other collision.
            name: Box::leak(exported.to_owned().into_boxed_str()),
            module_path: Box::leak(module_path.to_owned().into_boxed_str()),
        };
        let (file, line) = descriptor.location();
        log::error!(
            target: "promstatic",
            "metric `{exported}` recorded through the `metrics` facade (in {module_path}) \
             collides with the #[metric] static `{}` at {} ({file}:{line}); the static is \
             exported, the facade metric is left out of every scrape: rename one of them",
            descriptor.name(),
            descriptor.module_path(),
        );
        if let Some(slot) = ARENA.name_slots.get(slot) {
            let _ = slot.static_conflict.set(conflict);
        }
        return NameSlot::STATIC_DUPLICATE;
    }
    for claim in &claims {
        let parts = [LabelText::Raw(claim)];
        let Ok(index) = ARENA.claims.find_or_insert(&parts) else {
            // Not reached: a name makes at most 4 claims and there are 4 per name slot.
            continue;
        };
        let Some(owner) = ARENA.claim_owners.get(index) else {
            continue;
        };
        match owner.compare_exchange(0, slot as u32 + 1, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => {}
            Err(other) if other == slot as u32 + 1 => {}
            Err(_) => {
                log::error!(
                    target: "promstatic",
                    "metric `{exported}` recorded through the `metrics` facade as a {kind:?} \
                     writes the sample name `{claim}`, which another facade metric (another \
                     type, or the same name with or without `_total`) already writes; it is \
                     left out of every scrape: give the two metrics distinct names",
                );
                return NameSlot::NAME_CONFLICT;
            }
        }
    }
    NameSlot::EXPORTED
}

/// Sets HELP (first description wins, as in `metrics-exporter-prometheus`) and the unit.
pub(crate) fn describe(
    config: &'static Config,
    kind: SeriesKind,
    name: &str,
    unit: Option<metrics::Unit>,
    description: &str,
) {
    match resolve_name(config, kind, name, None) {
        Ok((_, slot)) => {
            let _ = slot.help.set(description.into());
            if let Some(unit) = unit {
                let _ = slot.unit.set(unit.as_str());
            }
        }
        Err(refusal) => {
            let _ = refuse_name(refusal, name);
        }
    }
}

fn count(refusal: Refusal) {
    ARENA.refused[refusal as usize].fetch_add(1, Ordering::Relaxed);
}

/// Counts a refused registration and, with `why`, logs it once per name and reason.
#[cold]
#[inline(never)]
fn refuse(refusal: Refusal, name: &str, why: Option<&str>) -> Registered {
    count(refusal);
    if let Some(why) = why {
        log_once(refusal, name, |name| {
            log::error!(
                target: "promstatic",
                "metric `{name}` recorded through the `metrics` facade is not exported: {why} \
                 ({}). Names and label names must match [a-zA-Z_][a-zA-Z0-9_]* and not start \
                 with `__`; nothing is renamed for you. Logged once per name; \
                 promstatic_facade_refused_total counts every refused registration.",
                refusal.label(),
            )
        });
    }
    Registered::Refused
}

/// A registration refused because its name cannot be exported (the reason was logged when
/// the name was checked, or is logged here for the reasons that are not checked there).
fn refuse_name(refusal: Refusal, name: &str) -> Registered {
    let why = match refusal {
        Refusal::NameTableFull => Some("every one of the facade's name slots is taken"),
        Refusal::InvalidName => Some("the name is invalid"),
        _ => None,
    };
    refuse(refusal, name, why)
}

/// Runs `log` the first time `(refusal, name)` is seen (up to `LOGGED` of them).
fn log_once(refusal: Refusal, name: &str, log: impl FnOnce(std::str::EscapeDebug<'_>)) {
    let parts = [refusal.label(), name].map(LabelText::Raw);
    match ARENA.logged.find_or_insert_reporting(&parts, |_| Ok(())) {
        Ok(found) if found.inserted => log(name.escape_debug()),
        Ok(_) => {}
        Err(_) => {
            if !ARENA.logged_full.swap(true, Ordering::Relaxed) {
                log::error!(
                    target: "promstatic",
                    "more than {LOGGED} metric names were refused by the `metrics` facade; \
                     further ones are counted in promstatic_facade_refused_total but not logged"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts_of(labels: &[metrics::Label]) -> Option<Vec<String>> {
        let mut parts = [LabelText::Raw(""); 2 + 2 * MAX_KEY_LABELS];
        let used = key_parts(SeriesKind::Counter, "jobs_total", labels, &mut parts)?;
        Some(
            parts[..used]
                .iter()
                .map(|part| match part {
                    LabelText::Raw(text) | LabelText::Escaped(text) => (*text).to_owned(),
                })
                .collect(),
        )
    }

    #[test]
    fn labels_are_sorted_by_name_whatever_the_call_site_order() {
        let given = [
            metrics::Label::new("zone", "b"),
            metrics::Label::new("a", "1"),
            metrics::Label::new("ab", "2"),
            metrics::Label::new("aa", "3"),
        ];
        let expected = [
            "c",
            "jobs_total",
            "a",
            "1",
            "aa",
            "3",
            "ab",
            "2",
            "zone",
            "b",
        ];
        assert_eq!(parts_of(&given).unwrap(), expected);
        let mut reversed = given.clone();
        reversed.reverse();
        assert_eq!(parts_of(&reversed).unwrap(), expected);
        assert_eq!(parts_of(&[]).unwrap(), ["c", "jobs_total"]);
    }

    #[test]
    fn too_many_labels_do_not_fit() {
        let labels: Vec<metrics::Label> = (0..=MAX_KEY_LABELS)
            .map(|index| metrics::Label::new(format!("l{index}"), "v"))
            .collect();
        assert_eq!(parts_of(&labels), None);
        assert!(parts_of(&labels[..MAX_KEY_LABELS]).is_some());
        let mut short = [LabelText::Raw(""); 10];
        assert_eq!(
            key_parts(SeriesKind::Gauge, "g", &labels[..5], &mut short),
            None,
            "five labels need the long array"
        );
    }

    #[test]
    fn label_order_is_string_order() {
        for (left, right) in [("a", "b"), ("a", "ab"), ("", "a"), ("ab", "b"), ("Z", "a")] {
            assert!(label_less(left, right), "{left} < {right}");
            assert!(!label_less(right, left), "{right} > {left}");
        }
        assert!(!label_less("same", "same"));
    }

    #[test]
    fn admission_refuses_bad_and_reserved_names() {
        let key = |labels: &[&str]| -> Vec<LabelText<'static>> {
            let mut parts = vec![LabelText::Raw("h"), LabelText::Raw("x")];
            for label in labels {
                let label: &'static str = Box::leak(label.to_string().into_boxed_str());
                parts.extend([LabelText::Raw(label), LabelText::Raw("v")]);
            }
            parts
        };
        let refusal =
            |kind, name, labels: &[&str]| admit(kind, name, &key(labels)).err().map(|e| e.0);
        assert_eq!(refusal(SeriesKind::Histogram, "x", &["a", "b"]), None);
        assert_eq!(
            refusal(SeriesKind::Histogram, "x.y", &[]),
            Some(Refusal::InvalidName)
        );
        assert_eq!(
            refusal(SeriesKind::Histogram, "__x", &[]),
            Some(Refusal::InvalidName)
        );
        assert_eq!(
            refusal(SeriesKind::Histogram, "x", &["le"]),
            Some(Refusal::InvalidLabel)
        );
        assert_eq!(refusal(SeriesKind::Gauge, "x", &["le"]), None);
        assert_eq!(
            refusal(SeriesKind::Gauge, "x", &[OVERFLOW_LABEL]),
            Some(Refusal::InvalidLabel)
        );
        assert_eq!(
            refusal(SeriesKind::Gauge, "x", &["a", "a"]),
            Some(Refusal::InvalidLabel)
        );
        assert_eq!(
            refusal(SeriesKind::Gauge, "x", &["bad label"]),
            Some(Refusal::InvalidLabel)
        );
        assert_eq!(refusal(SeriesKind::Counter, "x_total", &[]), None);
    }
}

#[cfg(test)]
mod size {
    /// The figure the facade docs quote (address space; pages are touched only as used).
    #[test]
    fn the_arena_is_about_four_and_a_half_mebibytes() {
        let size = std::mem::size_of::<super::Arena>();
        assert!((4 << 20..5 << 20).contains(&size), "{size} bytes");
    }
}
