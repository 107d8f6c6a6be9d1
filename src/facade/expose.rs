//! Writing the facade's series into an exposition, and its collisions for `check()`.
//!
//! A scrape walks the names in the order they were first registered; for each exported name
//! it walks that name's list of series (newest first: a series is pushed at the head of the
//! list when it is linked) and then the overflow series if it was ever used. Everything read
//! is atomics and bytes published before them; nothing is locked or allocated.

use std::sync::atomic::Ordering;

use crate::encode::{
    Encoder, EscapedLabelValue, Family, FamilyEncoder, Help, Kind, Label, Suffix, Text, Value,
};
use crate::table::{Collision, Site};

use super::Config;
use super::store::{ARENA, Buckets, MAX_KEY_LABELS, NameSlot, OVERFLOW_LABEL, Refusal, SeriesKind};

/// The HELP of a facade metric that was never described.
pub const DEFAULT_HELP: &str = "Recorded through the `metrics` facade; no description was given.";

/// The self-metric counting registrations that got no series of their own.
pub const REFUSED_METRIC: &str = "promstatic_facade_refused_total";

/// Names and label names come from validated keys and values were escaped when the series
/// was created: the one place this module builds encoder labels from stored text.
fn stored_label<'a>(name: &'a str, escaped_value: &'a str) -> Label<'a> {
    Label::prevalidated(
        name,
        Text::Escaped(EscapedLabelValue::trusted(escaped_value)),
    )
}

/// Writes every exported facade family, then the facade's self-metric.
pub(crate) fn encode(
    config: &'static Config,
    encoder: &mut Encoder<'_>,
    keeps: crate::table::FacadeFilter<'_>,
) {
    ARENA.names.for_each(|slot_index, mut parts| {
        let Some(slot) = ARENA.name_slots.get(slot_index) else {
            return;
        };
        // Acquire: pairs with the status store of the name's inserter.
        if slot.status.load(Ordering::Acquire) != NameSlot::EXPORTED {
            return;
        }
        let (Some(tag), Some(exported)) = (parts.next(), parts.next()) else {
            return;
        };
        let kind = match tag {
            "c" => SeriesKind::Counter,
            "g" => SeriesKind::Gauge,
            _ => SeriesKind::Histogram,
        };
        if keeps.is_some_and(|keeps| !keeps(slot_index, kind.kind(), exported)) {
            return;
        }
        encode_name(config, encoder, slot, kind, exported);
    });
    let family = Family::prevalidated(
        REFUSED_METRIC,
        Kind::Counter,
        Help::Raw(
            "Registrations through the `metrics` facade that got no series of their own, by \
             reason: refused (invalid_name, invalid_label, name_conflict, static_duplicate, \
             name_table_full; not recorded) or overflowed (series_cap, key_bytes; recorded \
             in the name's overflow series).",
        ),
    );
    let mut writer = encoder.family_trusted(&family);
    for refusal in Refusal::ALL {
        let count = ARENA.refused[refusal as usize].load(Ordering::Relaxed);
        let labels = [stored_label("reason", refusal.label())];
        writer.sample_trusted(Suffix::Bare, &labels, Value::Unsigned(count));
    }
}

fn encode_name(
    config: &'static Config,
    encoder: &mut Encoder<'_>,
    slot: &NameSlot,
    kind: SeriesKind,
    exported: &str,
) {
    // Acquire (in `head`): every linked series' link is visible (see `link`).
    let linked = slot.series.head() != 0;
    let overflow_used = slot.overflow_used.load(Ordering::Relaxed);
    if !linked && !overflow_used {
        // Described but never registered: no samples, so no family.
        return;
    }
    let help = slot.help.get().map_or(DEFAULT_HELP, |help| help);
    let family = Family::prevalidated(exported, kind.kind(), Help::Raw(help));
    let mut writer = encoder.family_trusted(&family);
    if let Some(unit) = slot.unit.get() {
        // A unit the name does not end with cannot be declared (OpenMetrics); it is left out
        // rather than renaming the metric.
        let _ = writer.unit(unit);
    }
    let bounds = config.bounds_for(kind, exported);
    slot.series.for_each(&ARENA.links, |series| {
        let (Some(cell), Some(buckets)) = (ARENA.cells.get(series), ARENA.buckets.get(series))
        else {
            return;
        };
        ARENA.series.with_parts(series, |mut parts| {
            // Skip the kind and the name; the rest are label name, value pairs.
            let _ = (parts.next(), parts.next());
            let mut labels = [stored_label("", ""); MAX_KEY_LABELS];
            let mut count = 0;
            while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
                if let Some(label) = labels.get_mut(count) {
                    *label = stored_label(name, value);
                    count += 1;
                }
            }
            write_series(&mut writer, kind, &labels[..count], cell, buckets, bounds);
        });
    });
    if overflow_used {
        let labels = [stored_label(OVERFLOW_LABEL, "true")];
        write_series(
            &mut writer,
            kind,
            &labels,
            &slot.overflow,
            &slot.overflow_buckets,
            bounds,
        );
    }
}

fn write_series(
    writer: &mut FamilyEncoder<'_, '_>,
    kind: SeriesKind,
    labels: &[Label<'_>],
    cell: &super::store::Cell,
    buckets: &Buckets,
    bounds: &[f64],
) {
    match kind {
        SeriesKind::Counter => writer.sample_trusted(
            Suffix::Bare,
            labels,
            Value::Unsigned(cell.value.load(Ordering::Relaxed)),
        ),
        SeriesKind::Gauge => writer.sample_trusted(
            Suffix::Bare,
            labels,
            Value::Float(f64::from_bits(cell.value.load(Ordering::Relaxed))),
        ),
        // The `#[metric]` histograms' writer, so both follow one set of rules: each bucket
        // loaded once, `_count` the `+Inf` bucket's total, and `_sum`/`_count` left out of
        // OpenMetrics once the sum is no longer a counter (see `crate::histogram`).
        SeriesKind::Histogram => crate::histogram::write_series(
            writer,
            labels,
            bounds,
            buckets
                .iter()
                .take(bounds.len() + 1)
                .map(|bucket| bucket.load(Ordering::Relaxed)),
            |_| None,
            || {
                // Acquire pairs with the observers' Release (`handle`): a sum lowered by a
                // negative value comes with the flag set before it.
                let sum = f64::from_bits(cell.value.load(Ordering::Acquire));
                let counter = bounds.first().is_none_or(|&lowest| lowest >= 0.0)
                    && !cell.below_zero.load(Ordering::Relaxed);
                (sum, counter)
            },
        ),
    }
}

/// What [`Site`] says for a facade metric: the file is this text and the line 0.
pub const FACADE_SITE: &str = "recorded through the `metrics` facade";

/// Facade names left out because a `#[metric]` static exports the same name.
pub(crate) fn static_collisions() -> Vec<Collision> {
    let mut collisions = Vec::new();
    ARENA.names.for_each(|slot_index, _| {
        let Some(slot) = ARENA.name_slots.get(slot_index) else {
            return;
        };
        if slot.status.load(Ordering::Acquire) != NameSlot::STATIC_DUPLICATE {
            return;
        }
        if let Some(conflict) = slot.static_conflict.get() {
            let (file, line) = conflict.descriptor.location();
            collisions.push(Collision {
                kept_name: conflict.descriptor.name(),
                kept: Site {
                    module_path: conflict.descriptor.module_path(),
                    file,
                    line,
                },
                dropped_name: conflict.name,
                dropped: Site {
                    module_path: conflict.module_path,
                    file: FACADE_SITE,
                    line: 0,
                },
            });
        }
    });
    collisions
}
