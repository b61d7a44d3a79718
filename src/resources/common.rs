//! What several resources share: deadlines from `timeouts`, turning client
//! errors into diagnostics that name the call and the service's own words,
//! and reading optional strings out of values.

use std::time::{Duration, Instant};

use crate::arm::ArmError;
use crate::framework::{timeouts, AttributePath, Diagnostic, Diagnostics, Value};
use crate::redhat::RedHatError;

/// When an operation must be done, from the resource's `timeouts` block.
/// How long a plan-time question to a service (image checks, terms,
/// distributions) may take before the plan gives up on it.
pub const PLAN_CHECK_TIMEOUT: Duration = Duration::from_secs(120);

pub fn deadline(resource: &Value, operation: &str, default: Duration) -> Instant {
    Instant::now() + timeouts::get(resource, operation, default)
}

/// Azure errors as diagnostics: what we tried, and ARM's code, message, target and ids.
pub fn arm_diag(action: &str, e: &ArmError) -> Diagnostic {
    let hint = match e.code() {
        Some("AuthorizationFailed") => "\n\nThe identity the provider uses lacks a role on this scope (Contributor on the resource group is enough for every rhelazure resource).",
        Some("MarketplacePurchaseEligibilityFailed") => "\n\nAccept the image's Marketplace terms first: add a rhelazure_marketplace_agreement for its plan (and, for rhel-byos, a rhelazure_cloud_access enrolment).",
        _ => "",
    };
    Diagnostic::error(format!("Could not {action}"), format!("{e}{hint}"))
}

pub fn redhat_diag(action: &str, e: &RedHatError) -> Diagnostic {
    Diagnostic::error(format!("Could not {action}"), e.to_string())
}

/// Sets a top-level attribute of an object value (state or plan).
pub fn set(v: &mut Value, attr: &str, x: impl Into<Value>) {
    if let Some(m) = v.as_object_mut() {
        m.insert(attr.into(), x.into());
    }
}

/// Sets a string attribute, or null for None.
pub fn set_str(v: &mut Value, attr: &str, x: Option<&str>) {
    set(
        v,
        attr,
        x.map(|s| Value::from(s.to_string())).unwrap_or(Value::Null),
    );
}

/// Lower-case hex SHA-256 of some bytes.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A known string attribute, or None when null or unknown.
pub fn opt_str(v: &Value, attr: &str) -> Option<String> {
    v.attr(attr).as_str().map(str::to_string)
}

/// A diagnostic at `attr` when a required client is missing.
pub fn need<T>(r: Result<T, Diagnostic>, attr: Option<&str>) -> Result<T, Diagnostics> {
    r.map_err(|d| match attr {
        Some(a) => d.at(AttributePath::attrs(&[a])).into(),
        None => d.into(),
    })
}

/// The ARM client for the subscription `v` names in `subscription_id` (the
/// provider's when it names none, as in states from before the attribute),
/// and that subscription.
pub fn arm_in_subscription(
    data: Result<&crate::provider::ProviderData, Diagnostic>,
    v: &Value,
) -> Result<(crate::arm::ArmClient, String), Diagnostic> {
    let arm = data?.arm()?;
    let sub = opt_str(v, "subscription_id").unwrap_or_else(|| arm.subscription_id().to_string());
    Ok((arm.in_subscription(&sub), sub))
}
