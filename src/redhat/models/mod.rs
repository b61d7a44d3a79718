//! Red Hat API models generated from the vendored specs (`make models`;
//! `codegen/` says how). Hand-written code goes elsewhere: these files are
//! overwritten.

/// `FromStr` (refusing what the spec does not define) and `Display` (the API's
/// spelling) for a generated enum with `ALL` and `as_str`.
macro_rules! string_enum_impls {
    ($name:ident) => {
        impl std::str::FromStr for $name {
            type Err = super::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| super::UnknownValue(s.to_string()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
use string_enum_impls;

// Generated layout is the generator's business, not rustfmt's: a reformat
// would make the regeneration test fail.
#[rustfmt::skip]
pub mod image_builder;

/// A string the spec's enum does not have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a value the API defines")]
pub struct UnknownValue(pub String);
