//! Typed calls for the RHEL Marketplace: image versions under
//! `locations/{l}/publishers/{p}/artifacttypes/vmimage/...` (Compute
//! 2024-03-01) and Marketplace terms (MarketplaceOrdering 2021-01-01).

use std::cmp::Ordering;
use std::time::Instant;

use super::models::compute::{VirtualMachineImage, VirtualMachineImageResource};
use super::models::marketplace_ordering::{AgreementProperties, AgreementTerms, OldAgreementTerms};
use super::{ArmClient, ArmError};
use azure_core::http::Method;

pub const COMPUTE_API: &str = "2024-03-01";
pub const MARKETPLACE_API: &str = "2021-01-01";

/// Marketplace versions compare component by component as numbers: 9.10 > 9.9.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let parse = |s: &str| {
        s.split('.')
            .map(|c| c.parse::<u64>().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    parse(a).cmp(&parse(b))
}

/// A Marketplace purchase plan (all three parts are required in the spec).
#[derive(Debug, Clone, PartialEq)]
pub struct PurchasePlan {
    pub publisher: String,
    pub name: String,
    pub product: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImageVersion {
    pub publisher: String,
    pub offer: String,
    pub sku: String,
    pub version: String,
    pub id: String,
    pub hyper_v_generation: Option<String>,
    pub architecture: Option<String>,
    /// The image's `SecurityType` feature (`TrustedLaunchSupported`, ...).
    pub security_type: Option<String>,
    /// Every feature the image declares, by name (`SecurityType`,
    /// `IsAcceleratedNetworkSupported`, `DiskControllerTypes`, ...).
    pub features: std::collections::BTreeMap<String, String>,
    pub plan: Option<PurchasePlan>,
    pub image_state: Option<String>,
    pub scheduled_deprecation_time: Option<String>,
}

impl ArmClient {
    fn publisher_path(&self, location: &str, publisher: &str) -> String {
        self.sub_path(&format!("/providers/Microsoft.Compute/locations/{location}/publishers/{publisher}/artifacttypes/vmimage"))
    }

    async fn names(&self, path: &str, deadline: Instant) -> Result<Vec<String>, ArmError> {
        let listed: Vec<VirtualMachineImageResource> = self
            .get_as(path, COMPUTE_API, deadline)
            .await?
            .unwrap_or_default();
        Ok(listed.into_iter().filter_map(|r| r.name).collect())
    }

    pub async fn list_offers(
        &self,
        location: &str,
        publisher: &str,
        deadline: Instant,
    ) -> Result<Vec<String>, ArmError> {
        self.names(
            &format!("{}/offers", self.publisher_path(location, publisher)),
            deadline,
        )
        .await
    }

    pub async fn list_skus(
        &self,
        location: &str,
        publisher: &str,
        offer: &str,
        deadline: Instant,
    ) -> Result<Vec<String>, ArmError> {
        self.names(
            &format!(
                "{}/offers/{offer}/skus",
                self.publisher_path(location, publisher)
            ),
            deadline,
        )
        .await
    }

    /// Versions, oldest first (numeric order).
    pub async fn list_versions(
        &self,
        location: &str,
        publisher: &str,
        offer: &str,
        sku: &str,
        deadline: Instant,
    ) -> Result<Vec<String>, ArmError> {
        let mut v = self
            .names(
                &format!(
                    "{}/offers/{offer}/skus/{sku}/versions",
                    self.publisher_path(location, publisher)
                ),
                deadline,
            )
            .await?;
        v.sort_by(|a, b| compare_versions(a, b));
        Ok(v)
    }

    /// One version; `latest` resolves to the numerically greatest. None if absent.
    pub async fn get_image_version(
        &self,
        location: &str,
        publisher: &str,
        offer: &str,
        sku: &str,
        version: &str,
        deadline: Instant,
    ) -> Result<Option<ImageVersion>, ArmError> {
        let version = if version.eq_ignore_ascii_case("latest") {
            match self
                .list_versions(location, publisher, offer, sku, deadline)
                .await?
                .pop()
            {
                Some(v) => v,
                None => return Ok(None),
            }
        } else {
            version.to_string()
        };
        let path = format!(
            "{}/offers/{offer}/skus/{sku}/versions/{version}",
            self.publisher_path(location, publisher)
        );
        let Some(image) = self
            .get_as::<VirtualMachineImage>(&path, COMPUTE_API, deadline)
            .await?
        else {
            return Ok(None);
        };
        let p = image.properties.unwrap_or_default();
        let deprecation = p.image_deprecation_status.unwrap_or_default();
        let features = p
            .features
            .unwrap_or_default()
            .into_iter()
            .filter_map(|f| Some((f.name?, f.value?)))
            .collect::<std::collections::BTreeMap<_, _>>();
        let plan = p.plan.and_then(|plan| {
            Some(PurchasePlan {
                publisher: plan.publisher?,
                name: plan.name?,
                product: plan.product?,
            })
        });
        Ok(Some(ImageVersion {
            publisher: publisher.to_string(),
            offer: offer.to_string(),
            sku: sku.to_string(),
            version,
            id: image.id.unwrap_or_default(),
            hyper_v_generation: p.hyper_v_generation.map(|g| g.to_string()),
            architecture: p.architecture.map(|a| a.to_string()),
            security_type: features.get("SecurityType").cloned(),
            features,
            plan,
            image_state: deprecation.image_state.map(|s| s.to_string()),
            scheduled_deprecation_time: deprecation.scheduled_deprecation_time,
        }))
    }

    fn terms_path(&self, publisher: &str, offer: &str, plan: &str) -> String {
        self.sub_path(&format!("/providers/Microsoft.MarketplaceOrdering/offerTypes/virtualmachine/publishers/{publisher}/offers/{offer}/plans/{plan}/agreements/current"))
    }

    /// The agreements signed in this subscription, accepted or cancelled
    /// (`MarketplaceAgreements_List`, not paged: the whole list at once).
    pub async fn list_agreements(
        &self,
        deadline: Instant,
    ) -> Result<Vec<OldAgreementTerms>, ArmError> {
        let path = self.sub_path("/providers/Microsoft.MarketplaceOrdering/agreements");
        let (items, _) = self.first_page(&path, MARKETPLACE_API, deadline).await?;
        serde_json::from_value(serde_json::Value::Array(items)).map_err(|e| ArmError::Decode {
            path,
            message: e.to_string(),
        })
    }

    /// The current terms of a plan (`properties.accepted` says whether they are accepted).
    pub async fn get_terms(
        &self,
        publisher: &str,
        offer: &str,
        plan: &str,
        deadline: Instant,
    ) -> Result<Option<AgreementTerms>, ArmError> {
        self.get_as(
            &self.terms_path(publisher, offer, plan),
            MARKETPLACE_API,
            deadline,
        )
        .await
    }

    /// Accepts the terms: the GET body's properties sent back with
    /// `accepted: true`, as the service requires. `id`, `name`, `type` and
    /// `systemData` are read-only in the spec (`AgreementTerms`), so they
    /// stay out of the request, as Microsoft's SDKs leave them out.
    pub async fn accept_terms(
        &self,
        publisher: &str,
        offer: &str,
        plan: &str,
        deadline: Instant,
    ) -> Result<AgreementTerms, ArmError> {
        let path = self.terms_path(publisher, offer, plan);
        let terms = self
            .get_terms(publisher, offer, plan, deadline)
            .await?
            .ok_or_else(|| ArmError::Decode {
                path: path.clone(),
                message: "no terms for this plan".into(),
            })?;
        let body = AgreementTerms {
            properties: Some(AgreementProperties {
                accepted: Some(true),
                ..terms.properties.unwrap_or_default()
            }),
            ..Default::default()
        };
        let accepted = self
            .run_with(Method::Put, &path, MARKETPLACE_API, &body, deadline)
            .await?
            .ok_or_else(|| ArmError::Decode {
                path: path.clone(),
                message: "no body".into(),
            })?;
        serde_json::from_value(accepted).map_err(|e| ArmError::Decode {
            path,
            message: e.to_string(),
        })
    }

    pub async fn cancel_terms(
        &self,
        publisher: &str,
        offer: &str,
        plan: &str,
        deadline: Instant,
    ) -> Result<(), ArmError> {
        let path = self.sub_path(&format!("/providers/Microsoft.MarketplaceOrdering/agreements/{publisher}/offers/{offer}/plans/{plan}/cancel"));
        self.call(Method::Post, &path, Some(MARKETPLACE_API), None, deadline)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numeric_versions() {
        let mut v = vec!["8.9.1", "8.10.0", "8.2.5"];
        v.sort_by(|a, b| super::compare_versions(a, b));
        assert_eq!(v, vec!["8.2.5", "8.9.1", "8.10.0"]);
    }
}
