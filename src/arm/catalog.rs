//! Typed calls for the RHEL Marketplace: image versions under
//! `locations/{l}/publishers/{p}/artifacttypes/vmimage/...` (Compute
//! 2024-03-01) and Marketplace terms (MarketplaceOrdering 2021-01-01).

use std::cmp::Ordering;
use std::time::Instant;

use azure_core::http::Method;
use serde::Deserialize;
use serde_json::Value as Json;

use super::{ArmClient, ArmError};

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

#[derive(Debug, Clone, Deserialize, PartialEq)]
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
    pub plan: Option<PurchasePlan>,
    pub image_state: Option<String>,
    pub scheduled_deprecation_time: Option<String>,
}

impl ArmClient {
    fn publisher_path(&self, location: &str, publisher: &str) -> String {
        self.sub_path(&format!("/providers/Microsoft.Compute/locations/{location}/publishers/{publisher}/artifacttypes/vmimage"))
    }

    async fn names(&self, path: &str, deadline: Instant) -> Result<Vec<String>, ArmError> {
        let j = self
            .get(path, COMPUTE_API, deadline)
            .await?
            .unwrap_or(Json::Array(vec![]));
        Ok(j.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
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
        let Some(j) = self.get(&path, COMPUTE_API, deadline).await? else {
            return Ok(None);
        };
        let p = &j["properties"];
        Ok(Some(ImageVersion {
            publisher: publisher.to_string(),
            offer: offer.to_string(),
            sku: sku.to_string(),
            version,
            id: j["id"].as_str().unwrap_or_default().to_string(),
            hyper_v_generation: p["hyperVGeneration"].as_str().map(str::to_string),
            architecture: p["architecture"].as_str().map(str::to_string),
            plan: serde_json::from_value(p["plan"].clone()).ok(),
            image_state: p["imageDeprecationStatus"]["imageState"]
                .as_str()
                .map(str::to_string),
            scheduled_deprecation_time: p["imageDeprecationStatus"]["scheduledDeprecationTime"]
                .as_str()
                .map(str::to_string),
        }))
    }

    fn terms_path(&self, publisher: &str, offer: &str, plan: &str) -> String {
        self.sub_path(&format!("/providers/Microsoft.MarketplaceOrdering/offerTypes/virtualmachine/publishers/{publisher}/offers/{offer}/plans/{plan}/agreements/current"))
    }

    /// The agreements signed in this subscription, accepted or cancelled
    /// (`MarketplaceAgreements_List`, not paged: the whole list at once).
    pub async fn list_agreements(&self, deadline: Instant) -> Result<Vec<Json>, ArmError> {
        let path = self.sub_path("/providers/Microsoft.MarketplaceOrdering/agreements");
        let (items, _) = self.first_page(&path, MARKETPLACE_API, deadline).await?;
        Ok(items)
    }

    /// The current terms of a plan (`properties.accepted` says whether they are accepted).
    pub async fn get_terms(
        &self,
        publisher: &str,
        offer: &str,
        plan: &str,
        deadline: Instant,
    ) -> Result<Option<Json>, ArmError> {
        self.get(
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
    ) -> Result<Json, ArmError> {
        let mut terms = self
            .get_terms(publisher, offer, plan, deadline)
            .await?
            .ok_or_else(|| ArmError::Decode {
                path: self.terms_path(publisher, offer, plan),
                message: "no terms for this plan".into(),
            })?;
        terms["properties"]["accepted"] = Json::Bool(true);
        let terms = serde_json::json!({ "properties": terms["properties"] });
        let a = self
            .call(
                Method::Put,
                &self.terms_path(publisher, offer, plan),
                Some(MARKETPLACE_API),
                Some(&terms),
                deadline,
            )
            .await?;
        a.json().ok_or_else(|| ArmError::Decode {
            path: self.terms_path(publisher, offer, plan),
            message: "not JSON".into(),
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
