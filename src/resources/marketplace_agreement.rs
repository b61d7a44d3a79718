//! `rhelazure_marketplace_agreement`: accepted Marketplace terms for a plan
//! image (needed once per subscription and plan, e.g. every `rhel-byos` SKU).
//!
//! Create is idempotent: terms already accepted are adopted, not re-signed.
//! Destroy cancels only terms this resource accepted (private state says so),
//! so adopting someone else's acceptance never withdraws it. Terms cancelled
//! out of band show as gone, and the next apply accepts them again.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;

use super::common::{arm_diag, deadline, need, opt_str};
use crate::framework::validators::string_matches;
use crate::framework::{
    timeouts, ApplyOutcome, Attr, Ctx, Diagnostic, Diagnostics, Private, Resource, ResourceSchema,
    Value,
};
use crate::provider::ProviderData;

pub struct MarketplaceAgreement;

const TIMEOUT: Duration = Duration::from_secs(300);
const ACCEPTED_BY_US: &str = "accepted_by_this_resource";

fn part(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn state(terms: &Json, prior: &Value) -> Value {
    let p = &terms["properties"];
    let s = |k: &str| {
        p[k].as_str()
            .map(|x| Value::from(x.to_string()))
            .unwrap_or(Value::Null)
    };
    Value::Object(
        [
            (
                "id".to_string(),
                terms["id"]
                    .as_str()
                    .map(|x| Value::from(x.to_string()))
                    .unwrap_or(Value::Null),
            ),
            // Kept as configured: the service may answer in other casing.
            ("publisher".to_string(), prior.attr("publisher").clone()),
            ("offer".to_string(), prior.attr("offer").clone()),
            ("plan".to_string(), prior.attr("plan").clone()),
            ("license_text_link".to_string(), s("licenseTextLink")),
            ("privacy_policy_link".to_string(), s("privacyPolicyLink")),
            ("timeouts".to_string(), prior.attr("timeouts").clone()),
        ]
        .into_iter()
        .collect(),
    )
}

fn names(v: &Value) -> (String, String, String) {
    (
        opt_str(v, "publisher")
            .unwrap_or_default()
            .to_ascii_lowercase(),
        opt_str(v, "offer").unwrap_or_default(),
        opt_str(v, "plan").unwrap_or_default(),
    )
}

#[async_trait]
impl Resource<ProviderData> for MarketplaceAgreement {
    fn type_name(&self) -> &'static str {
        "rhelazure_marketplace_agreement"
    }

    fn schema(&self) -> ResourceSchema {
        let name = |n: &str, d: &str| {
            Attr::string(n)
                .required()
                .force_new()
                .validate(string_matches("letters, digits, '-', '_' and '.'", part))
                .description(d)
        };
        ResourceSchema::new(
            "Accepted Azure Marketplace terms for a plan image, such as the `rhel-byos` gold images. Adopts terms that are \
             already accepted; on destroy, cancels only terms this resource accepted itself.",
            vec![
                Attr::string("id").computed().use_state_for_unknown().description("ARM id of the agreement."),
                name("publisher", "Image publisher, e.g. `redhat` (compared in lower case)."),
                name("offer", "Offer (product), e.g. `rhel-byos`."),
                name("plan", "Plan: the image SKU, e.g. `rhel-lvm96-gen2`."),
                Attr::string("license_text_link").computed().use_state_for_unknown().description("Link to the license terms."),
                Attr::string("privacy_policy_link").computed().use_state_for_unknown().description("Link to the publisher's privacy policy."),
            ],
        )
        .blocks(vec![timeouts::block(&["create", "delete"])])
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Some(p) = config.attr("publisher").as_str() {
            if p != p.to_ascii_lowercase() {
                diags.push(
                    Diagnostic::warning(
                        "Publisher is compared in lower case",
                        format!(
                            "Azure stores plan publishers in lower case; {p:?} is treated as {:?}.",
                            p.to_ascii_lowercase()
                        ),
                    )
                    .at(crate::framework::AttributePath::attrs(&["publisher"])),
                );
            }
        }
    }

    async fn create(
        &self,
        ctx: &Ctx<ProviderData>,
        planned: &Value,
        _config: &Value,
    ) -> ApplyOutcome {
        let arm = match ctx.data().and_then(|d| d.arm()) {
            Ok(a) => a,
            Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
        };
        let (p, o, plan) = names(planned);
        let dl = deadline(planned, "create", TIMEOUT);
        let current = match arm.get_terms(&p, &o, &plan, dl).await {
            Ok(Some(t)) => t,
            Ok(None) => return ApplyOutcome::failed(Value::Null, Diagnostic::error("No such Marketplace plan", format!("Azure has no terms for {p}:{o}:{plan}. Check the publisher, offer and plan (the image SKU).")).into()),
            Err(e) => return ApplyOutcome::failed(Value::Null, arm_diag(&format!("read the terms of {p}:{o}:{plan}"), &e).into()),
        };
        let mut private = Private::default();
        let terms = if current["properties"]["accepted"] == Json::Bool(true) {
            tracing::info!(target: "rhelazure.resources", publisher = %p, offer = %o, plan = %plan, "terms already accepted: adopting them");
            private.set(ACCEPTED_BY_US, false);
            current
        } else {
            match arm.accept_terms(&p, &o, &plan, dl).await {
                Ok(t) => {
                    private.set(ACCEPTED_BY_US, true);
                    t
                }
                Err(e) => {
                    return ApplyOutcome::failed(
                        Value::Null,
                        arm_diag(&format!("accept the terms of {p}:{o}:{plan}"), &e).into(),
                    )
                }
            }
        };
        ApplyOutcome {
            state: state(&terms, planned),
            private,
            diagnostics: Diagnostics::new(),
        }
    }

    async fn read(
        &self,
        ctx: &Ctx<ProviderData>,
        st: &Value,
        private: &Private,
    ) -> Result<Option<(Value, Private)>, Diagnostics> {
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let (p, o, plan) = names(st);
        match arm
            .get_terms(&p, &o, &plan, deadline(st, "read", TIMEOUT))
            .await
        {
            // Cancelled out of band: gone, so the next apply accepts again.
            Ok(Some(t)) if t["properties"]["accepted"] == Json::Bool(true) => {
                Ok(Some((state(&t, st), private.clone())))
            }
            Ok(_) => Ok(None),
            Err(e) => Err(arm_diag(&format!("read the terms of {p}:{o}:{plan}"), &e).into()),
        }
    }

    async fn update(
        &self,
        _ctx: &Ctx<ProviderData>,
        _prior: &Value,
        planned: &Value,
        _config: &Value,
        private: &Private,
    ) -> ApplyOutcome {
        // Every argument forces replacement; only timeouts can change in place.
        ApplyOutcome {
            state: planned.clone(),
            private: private.clone(),
            diagnostics: Diagnostics::new(),
        }
    }

    async fn delete(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        private: &Private,
    ) -> Diagnostics {
        let (p, o, plan) = names(prior);
        if !private.get::<bool>(ACCEPTED_BY_US).unwrap_or(false) {
            return Diagnostic::warning(
                "Terms left accepted",
                format!("The terms of {p}:{o}:{plan} were already accepted when this resource adopted them, so they stay accepted."),
            )
            .into();
        }
        let arm = match need(ctx.data().and_then(|d| d.arm()), None) {
            Ok(a) => a,
            Err(d) => return d,
        };
        match arm
            .cancel_terms(&p, &o, &plan, deadline(prior, "delete", TIMEOUT))
            .await
        {
            Ok(()) => Diagnostics::new(),
            Err(e) => arm_diag(&format!("cancel the terms of {p}:{o}:{plan}"), &e).into(),
        }
    }

    /// `terraform import rhelazure_marketplace_agreement.a redhat:rhel-byos:rhel-lvm96-gen2`
    /// (imported terms are treated as adopted: destroy will not cancel them).
    async fn import(&self, _ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let parts: Vec<&str> = id.split(':').collect();
        if parts.len() != 3 || !parts.iter().all(|x| part(x)) {
            return Err(Diagnostic::error("Invalid import id", format!("Import Marketplace terms as publisher:offer:plan, such as redhat:rhel-byos:rhel-lvm96-gen2; got {id:?}.")).into());
        }
        Ok(Value::Object(
            [
                ("publisher", parts[0].to_ascii_lowercase()),
                ("offer", parts[1].to_string()),
                ("plan", parts[2].to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect(),
        ))
    }
}
