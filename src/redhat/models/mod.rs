//! Red Hat API models generated from the vendored specs (`make models`;
//! `codegen/` says how). Hand-written code goes elsewhere: these files are
//! overwritten.

pub(crate) use crate::api_enums::open_enum_impls;

// Generated layout is the generator's business, not rustfmt's: a reformat
// would make the regeneration test fail.
#[rustfmt::skip]
pub mod image_builder;
#[rustfmt::skip]
pub mod rhsm;
#[rustfmt::skip]
pub mod sources;

pub use crate::api_enums::UnknownValue;
