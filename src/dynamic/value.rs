//! The label types of a dynamic family, and how a lookup turns values into key parts.
//!
//! A family's labels are declared as a tuple of *label types* (`(&'static str, u16)` for
//! `labels(route: &str, code: u16)`), and a lookup passes a tuple of their values
//! ([`DynLabel::Value`]: `(&str, u16)`). Strings are compared as they are and escaped once,
//! when their series is created; integers and `bool` are formatted into a stack buffer
//! (`itoa`) for the comparison; enum labels ([`LabelValue`]) use their escaped text from the
//! derive. So a lookup allocates nothing and escapes nothing.

use crate::dynamic::key::LabelText;
use crate::label::{LabelValue, MAX_LABELS};

/// A type that can be one label of a dynamic family: `&'static str` (values of any
/// lifetime), the integer types, `bool`, and every [`LabelValue`] enum.
pub trait DynLabel: 'static {
    /// What a lookup passes for this label.
    type Value<'a>;
    /// Scratch space the value is formatted into (nothing for text).
    type Buffer: Default;

    /// The value as a key part, formatted into `buffer` if needed.
    fn text<'a>(value: &'a Self::Value<'_>, buffer: &'a mut Self::Buffer) -> LabelText<'a>;
}

impl DynLabel for &'static str {
    type Value<'a> = &'a str;
    type Buffer = ();

    #[inline]
    fn text<'a>(value: &'a &str, _: &'a mut ()) -> LabelText<'a> {
        LabelText::Raw(value)
    }
}

impl DynLabel for bool {
    type Value<'a> = bool;
    type Buffer = ();

    #[inline]
    fn text<'a>(value: &'a bool, _: &'a mut ()) -> LabelText<'a> {
        LabelText::Escaped(if *value { "true" } else { "false" })
    }
}

macro_rules! integer_label {
    ($($type:ty),+) => {$(
        impl DynLabel for $type {
            type Value<'a> = $type;
            type Buffer = itoa::Buffer;

            #[inline]
            fn text<'a>(value: &'a $type, buffer: &'a mut itoa::Buffer) -> LabelText<'a> {
                // Digits and `-` need no escaping.
                LabelText::Escaped(buffer.format(*value))
            }
        }
    )+};
}

integer_label!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl<T: LabelValue + 'static> DynLabel for T {
    type Value<'a> = T;
    type Buffer = ();

    #[inline]
    fn text<'a>(value: &'a T, _: &'a mut ()) -> LabelText<'a> {
        LabelText::Escaped(value.as_label())
    }
}

/// The labels of a dynamic family: a tuple of up to [`MAX_LABELS`] [`DynLabel`]s.
pub trait DynLabelSet: 'static {
    /// The number of labels.
    const ARITY: usize;
    /// What a lookup passes: a tuple of the labels' values.
    type Values<'a>;

    /// Calls `visit` with the values as key parts, in declaration order.
    fn with_parts<R>(values: &Self::Values<'_>, visit: impl FnOnce(&[LabelText<'_>]) -> R) -> R;
}

macro_rules! label_set {
    ($($name:ident $position:tt $buffer:ident),+) => {
        impl<$($name: DynLabel),+> DynLabelSet for ($($name,)+) {
            const ARITY: usize = [$($position),+].len();
            type Values<'a> = ($($name::Value<'a>,)+);

            #[inline(always)]
            fn with_parts<R>(
                values: &Self::Values<'_>,
                visit: impl FnOnce(&[LabelText<'_>]) -> R,
            ) -> R {
                $(let mut $buffer = $name::Buffer::default();)+
                visit(&[$($name::text(&values.$position, &mut $buffer)),+])
            }
        }
    };
}

label_set!(A 0 a);
label_set!(A 0 a, B 1 b);
label_set!(A 0 a, B 1 b, C 2 c);
label_set!(A 0 a, B 1 b, C 2 c, D 3 d);
label_set!(A 0 a, B 1 b, C 2 c, D 3 d, E 4 e);
label_set!(A 0 a, B 1 b, C 2 c, D 3 d, E 4 e, F 5 f);
label_set!(A 0 a, B 1 b, C 2 c, D 3 d, E 4 e, F 5 f, G 6 g);
label_set!(A 0 a, B 1 b, C 2 c, D 3 d, E 4 e, F 5 f, G 6 g, H 7 h);

const _: () = assert!(
    MAX_LABELS == 8,
    "one `label_set!` per arity up to MAX_LABELS"
);
