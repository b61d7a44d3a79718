//! Red Hat's APIs, the only way the provider talks to Red Hat: SSO tokens
//! ([`token`]: offline-token refresh or service-account client credentials,
//! cached until shortly before expiry, refreshed once on 401), and typed calls
//! for RHSM activation keys, Sources (Cloud Access enrolment) and hosted Image
//! Builder ([`RedHatClient`]). Token requests and API calls share one retry
//! rule ([`retry`]), with ARM's hint and backoff rules. [`settings`] holds
//! what the client is built from.

mod client;
pub mod models;
mod retry;
pub mod settings;
pub mod token;

pub use client::{CloudAccount, Compose, ComposeStatus, Enrolment, RedHatClient, RedHatError};
pub use settings::RedHatSettings;
