//! Red Hat API models generated from the vendored specs (`make models`;
//! `codegen/` says how). Hand-written code goes elsewhere: these files are
//! overwritten.

// Generated layout is the generator's business, not rustfmt's: a reformat
// would make the regeneration test fail.
#[rustfmt::skip]
pub mod image_builder;

/// A string the spec's enum does not have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a value the API defines")]
pub struct UnknownValue(pub String);
