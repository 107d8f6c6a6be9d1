//! Typed label values: [`LabelValue`] for one label, [`LabelSet`] for a tuple of them.
//!
//! A label's values are the variants of an enum, so a family has a fixed number of series
//! known at compile time and each series is a position in a dense array. The position is
//! computed from the variants' indices (mixed radix, first label most significant), so a
//! lookup is a few multiplications: no hashing, no comparison of strings, and two different
//! label combinations can never share a series (identity is by value, not by a hash).

/// One label's possible values: implemented by `#[derive(LabelValue)]` on a fieldless enum.
///
/// ```
/// use promstatic::LabelValue;
///
/// #[derive(LabelValue, Clone, Copy)]
/// enum Class {
///     #[label(rename = "2xx")]
///     Success,
///     #[label(rename = "5xx")]
///     ServerError,
///     /// Not renamed: snake_case of the variant.
///     NotModified,
/// }
///
/// assert_eq!(Class::VALUES, ["2xx", "5xx", "not_modified"]);
/// assert_eq!(Class::NotModified.index(), 2);
/// ```
///
/// # Implementing it by hand
///
/// The derive is the intended way; a hand-written implementation may exist (the trait cannot
/// be sealed, because the derive implements it in your crate) and must keep to what the
/// derive guarantees, which the crate checks where it can:
///
/// * `VALUES` is non-empty and each value is escaped label-value text (`\\`, `\n`, `\"`
///   for a backslash, newline and quote; no raw `"` or newline). A family built on values
///   that are not fails to compile, so no exposition can carry them:
///
/// ```compile_fail,E0080
/// use promstatic::{metric, CounterFamily, LabelValue};
///
/// #[derive(Clone, Copy)]
/// struct Evil;
/// impl LabelValue for Evil {
///     // A raw quote would close the label value and inject text into the sample line.
///     const VALUES: &'static [&'static str] = &["a\"} 1\nfake_total 9\n#"];
///     fn index(&self) -> usize { 0 }
/// }
///
/// /// Injected.
/// #[metric(labels(who: Evil))]
/// static HITS_TOTAL: CounterFamily = CounterFamily::new();
/// ```
///
/// * `index` is below `VALUES.len()`; a family built on one that is not counts into a wrong
///   series (`% len` keeps the position in range), never reads out of bounds;
/// * values are distinct (two equal values would be one series twice: the derive rejects
///   them; by hand it is your responsibility).
pub trait LabelValue {
    /// The value of each variant, in `index` order, already escaped for the inside of
    /// `"…"` in both exposition formats.
    const VALUES: &'static [&'static str];

    /// This value's position in [`LabelValue::VALUES`].
    fn index(&self) -> usize;

    /// This value's text as exported (escaped).
    fn as_label(&self) -> &'static str {
        Self::VALUES.get(self.index()).copied().unwrap_or("")
    }
}

/// A tuple of [`LabelValue`]s: the labels of a family, one element per label name (sealed:
/// implemented for tuples of up to [`MAX_LABELS`] `LabelValue`s only, whose values it
/// writes unchecked on the scrape path).
///
/// ```compile_fail,E0046
/// struct Mine;
/// impl promstatic::LabelSet for Mine {
///     const ARITY: usize = 1;
///     const COUNT: usize = 1;
///     fn series(&self) -> usize { 0 }
///     fn value(_: usize, _: usize) -> &'static str { "\"} 1\nevil 2\n" }
/// }
/// ```
pub trait LabelSet {
    /// Seals the trait: `Token` cannot be named outside the crate.
    #[doc(hidden)]
    fn sealed(_: crate::sealed::Token);

    /// The number of labels.
    const ARITY: usize;
    /// Whether every value of every label is escaped label-value text (checked when a family
    /// is built).
    #[doc(hidden)]
    const ESCAPED: bool;
    /// The number of combinations: the product of each label's number of values.
    const COUNT: usize;

    /// The combination's position in `0..COUNT`.
    fn series(&self) -> usize;

    /// The escaped value of label `position` in series `series`.
    fn value(series: usize, position: usize) -> &'static str;
}

/// The most labels a family can have; the `#[metric]` attribute enforces it.
pub const MAX_LABELS: usize = 8;

macro_rules! label_set {
    ($($name:ident $position:tt),+) => {
        impl<$($name: LabelValue),+> LabelSet for ($($name,)+) {
            fn sealed(_: crate::sealed::Token) {}

            const ARITY: usize = [$($position),+].len();
            const ESCAPED: bool = true $(&& crate::encode::all_label_values($name::VALUES))+;
            const COUNT: usize = 1 $(* $name::VALUES.len())+;

            #[inline]
            fn series(&self) -> usize {
                let mut series = 0;
                $(
                    // `% len` keeps a wrong hand-written `index` inside this label's range.
                    series = series * $name::VALUES.len()
                        + self.$position.index() % $name::VALUES.len().max(1);
                )+
                series
            }

            fn value(series: usize, position: usize) -> &'static str {
                // Strides: the product of the sizes of the labels after each one.
                let sizes = [$($name::VALUES.len().max(1)),+];
                let values = [$($name::VALUES),+];
                let mut stride = 1;
                for size in sizes.iter().skip(position + 1) {
                    stride *= size;
                }
                let index = match sizes.get(position) {
                    Some(size) => series / stride % size,
                    None => return "",
                };
                values
                    .get(position)
                    .and_then(|values| values.get(index))
                    .copied()
                    .unwrap_or("")
            }
        }
    };
}

label_set!(A 0);
label_set!(A 0, B 1);
label_set!(A 0, B 1, C 2);
label_set!(A 0, B 1, C 2, D 3);
label_set!(A 0, B 1, C 2, D 3, E 4);
label_set!(A 0, B 1, C 2, D 3, E 4, F 5);
label_set!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
label_set!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy)]
    enum Two {
        A,
        B,
    }

    impl LabelValue for Two {
        const VALUES: &'static [&'static str] = &["a", "b"];
        fn index(&self) -> usize {
            *self as usize
        }
    }

    #[derive(Clone, Copy)]
    enum Three {
        X,
        Y,
        Z,
    }

    impl LabelValue for Three {
        const VALUES: &'static [&'static str] = &["x", "y", "z"];
        fn index(&self) -> usize {
            *self as usize
        }
    }

    #[test]
    fn every_combination_has_its_own_series_and_decodes_back() {
        type Set = (Two, Three, Two);
        assert_eq!(Set::COUNT, 12);
        assert_eq!(Set::ARITY, 3);
        let mut seen = [false; 12];
        for a in [Two::A, Two::B] {
            for b in [Three::X, Three::Y, Three::Z] {
                for c in [Two::A, Two::B] {
                    let series = (a, b, c).series();
                    assert!(!seen[series]);
                    seen[series] = true;
                    assert_eq!(Set::value(series, 0), a.as_label());
                    assert_eq!(Set::value(series, 1), b.as_label());
                    assert_eq!(Set::value(series, 2), c.as_label());
                }
            }
        }
        assert_eq!((Two::A, Three::X, Two::A).series(), 0);
        assert_eq!((Two::B, Three::Z, Two::B).series(), 11);
        assert_eq!(Set::value(0, 3), "");
    }
}
