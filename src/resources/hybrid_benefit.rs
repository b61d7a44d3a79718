//! The check before `RHEL_BYOS` is set on a VM (`rhelazure_vm_license`,
//! `rhelazure_atomic_host`). Azure accepts `RHEL_BYOS` on any RHEL VM: it
//! knows nothing of Red Hat Cloud Access, so a subscription that is not
//! enrolled would be billed as BYOS with no Red Hat entitlement behind it.
//! Red Hat's record of the subscription (RHSM's Cloud Access accounts) is
//! what says whether the subscription may use its own RHEL subscriptions.

use std::time::Instant;

use super::common::redhat_diag;
use crate::framework::{AttributePath, Diagnostic, Diagnostics};
use crate::provider::ProviderData;

/// Ok(None) when Red Hat grants the subscription gold image access; Ok(a
/// warning) when no Red Hat credentials are configured to ask; Err with the
/// fix otherwise. `at` names the attribute that asked for `RHEL_BYOS`.
pub async fn check_byos_allowed(
    data: &ProviderData,
    subscription_id: &str,
    path: AttributePath,
    deadline: Instant,
) -> Result<Option<Diagnostic>, Diagnostic> {
    let Ok(rh) = data.redhat() else {
        return Ok(Some(
            Diagnostic::warning(
                "RHEL_BYOS set without checking Cloud Access",
                format!(
                    "Without Red Hat credentials the provider cannot confirm that subscription {subscription_id} is \
                     enrolled in Red Hat Cloud Access. Azure accepts RHEL_BYOS regardless; if the subscription is not \
                     enrolled, its RHEL VMs run without a Red Hat entitlement. Configure the provider's Red Hat \
                     credentials (RH_OFFLINE_TOKEN or a service account) to have this checked."
                ),
            )
            .at(path),
        ));
    };
    let account = rh
        .azure_cloud_account(subscription_id, deadline)
        .await
        .map_err(|e| {
            redhat_diag("read the subscription's Cloud Access status", &e).at(path.clone())
        })?;
    let access = account
        .as_ref()
        .and_then(|a| a.gold_image_access.as_deref());
    if access.is_some_and(|a| a.eq_ignore_ascii_case("Granted")) {
        return Ok(None);
    }
    let state = match access {
        None => "is not enrolled in Red Hat Cloud Access".to_string(),
        Some(a) => format!("is enrolled in Red Hat Cloud Access, but its gold image access is {a}"),
    };
    Err(Diagnostic::error(
        "Subscription not enabled for Red Hat Cloud Access",
        format!(
            "RHEL_BYOS bills this VM as running on your own Red Hat subscription, and subscription {subscription_id} \
             {state}. Enrol it first (resource rhelazure_cloud_access, or console.redhat.com -> Cloud Access) and \
             apply again once access is granted; or choose a pay-as-you-go license type."
        ),
    )
    .at(path))
}

/// `check_byos_allowed` for a resource whose provider data may be missing
/// (an unconfigured provider): the warnings to add, or the error to fail
/// with, at `at` (the resource's `license_type`).
pub async fn check_license_type_byos(
    data: Result<&ProviderData, Diagnostic>,
    subscription_id: &str,
    at: AttributePath,
    deadline: Instant,
) -> Result<Diagnostics, Diagnostic> {
    let warning = check_byos_allowed(data?, subscription_id, at, deadline).await?;
    Ok(warning.into_iter().collect())
}
