//! Red Hat's APIs, the only way the provider talks to Red Hat: SSO tokens
//! ([`token`]: offline-token refresh or service-account client credentials,
//! cached until shortly before expiry, refreshed once on 401), and typed calls
//! for RHSM activation keys, Sources (Cloud Access enrolment) and hosted Image
//! Builder ([`RedHatClient`]). Calls go through an azure_core pipeline with the
//! same retry and logging policies as ARM.

mod client;
pub mod token;

pub use client::{Compose, ComposeStatus, RedHatClient, RedHatError};
