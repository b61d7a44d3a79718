//! Azure Resource Manager, the only way the provider talks to Azure:
//! [`ArmClient`] (one azure_core pipeline with auth, retries, throttling,
//! request ids and logging; long-running operations; on-demand provider
//! registration), credentials ([`credential`]), the pipeline policies
//! ([`policy`]), typed errors ([`ArmError`]), models generated from the specs ([`models`]) and the typed calls resources use
//! ([`catalog`]), and the settings it is built from ([`settings`]).

pub mod catalog;
mod certificate;
mod client;
pub mod credential;
mod error;
pub mod models;
pub mod policy;
pub mod settings;

pub use client::{segment_after, subscription_in, Answer, ArmClient, Operation, RESOURCES_API};
pub use error::{ApiError, ArmError, OperationError};
pub use settings::{AzureSettings, ProviderRegistrations};
