//! `rhelazure_marketplace_agreement`: accepted Marketplace terms for a plan
//! image (needed once per subscription and plan, e.g. every `rhel-byos` SKU).
//!
//! Terms belong to one subscription: the provider's, or `subscription_id` (so
//! one provider block can accept terms in several subscriptions of its tenant).
//!
//! Create is idempotent: terms already accepted are adopted, not re-signed.
//! Destroy cancels only terms this resource accepted (private state says so),
//! so adopting someone else's acceptance never withdraws it. Terms cancelled
//! out of band show as gone, and the next apply accepts them again.
//!
//! Its list resource finds the Red Hat terms accepted in the subscription.

use crate::{attr_name, attr_path};
use std::time::Duration;

use crate::arm::models::marketplace_ordering::{AgreementTerms, State};
use async_trait::async_trait;

use super::common::{arm_diag, arm_in_subscription, deadline, need};
use crate::framework::model;
use crate::framework::validators::string_matches;
use crate::framework::{
    timeouts, ApplyOutcome, Attr, Ctx, Diagnostic, Diagnostics, Found, ListQuery, ListResource,
    ListResults, PlanContext, Private, Resource, ResourceSchema, Value,
};
use crate::provider::ProviderData;

pub struct MarketplaceAgreement;

const TIMEOUT: Duration = Duration::from_secs(300);
const ACCEPTED_BY_US: &str = "accepted_by_this_resource";

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn part(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The resource's configuration, plan and state, typed (the schema's
/// attributes, checked against it in the tests below).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
struct Model {
    id: Option<String>,
    subscription_id: Option<String>,
    publisher: Option<String>,
    offer: Option<String>,
    plan: Option<String>,
    license_text_link: Option<String>,
    privacy_policy_link: Option<String>,
    timeouts: Option<serde_json::Value>,
}

impl Model {
    fn of(v: &Value) -> Model {
        model::read(v)
    }

    /// Publisher (lower case, as Azure keeps it), offer and plan.
    fn names(&self) -> (String, String, String) {
        let part = |x: &Option<String>| x.clone().unwrap_or_default();
        (
            part(&self.publisher).to_ascii_lowercase(),
            part(&self.offer),
            part(&self.plan),
        )
    }

    /// The state for `terms`: names kept as configured (the service may
    /// answer in other casing), links and id from the terms.
    fn with_terms(&self, terms: &AgreementTerms, sub: &str) -> Model {
        let p = terms.properties.clone().unwrap_or_default();
        Model {
            id: terms.id.clone(),
            subscription_id: Some(sub.to_string()),
            license_text_link: p.license_text_link,
            privacy_policy_link: p.privacy_policy_link,
            ..self.clone()
        }
    }

    fn to_value(&self) -> Value {
        model::write(self, crate::schema_type!(MarketplaceAgreement.schema()))
    }
}

fn state(terms: &AgreementTerms, prior: &Value, sub: &str) -> Value {
    Model::of(prior).with_terms(terms, sub).to_value()
}

fn names(v: &Value) -> (String, String, String) {
    Model::of(v).names()
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
                Attr::string("subscription_id").optional_computed().force_new().use_state_for_unknown()
                    .validate(string_matches("a subscription id (GUID)", is_guid))
                    .description("Subscription whose terms these are (default: the provider's). Must be in the provider's tenant."),
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
        if let Some(p) = config.attr(attr_name!(Model.publisher)).as_str() {
            if p != p.to_ascii_lowercase() {
                diags.push(
                    Diagnostic::warning(
                        "Publisher is compared in lower case",
                        format!(
                            "Azure stores plan publishers in lower case; {p:?} is treated as {:?}.",
                            p.to_ascii_lowercase()
                        ),
                    )
                    .at(attr_path!(Model.publisher)),
                );
            }
        }
    }

    async fn modify_plan(&self, ctx: &Ctx<ProviderData>, plan: &mut PlanContext<'_>) {
        if plan
            .config
            .attr(attr_name!(Model.subscription_id))
            .is_null()
            && plan.is_create()
        {
            if let Some(s) = ctx
                .data()
                .ok()
                .and_then(|d| d.settings.azure.subscription_id.clone())
            {
                plan.set(attr_name!(Model.subscription_id), s);
            }
        }
    }

    async fn create(
        &self,
        ctx: &Ctx<ProviderData>,
        planned: &Value,
        _config: &Value,
        _private: &Private,
    ) -> ApplyOutcome {
        let (arm, sub) =
            match arm_in_subscription(ctx.data(), Model::of(planned).subscription_id.as_deref()) {
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
        let terms = if current.is_accepted() {
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
            state: state(&terms, planned, &sub),
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
        let (arm, sub) = need(
            arm_in_subscription(ctx.data(), Model::of(st).subscription_id.as_deref()),
            None,
        )?;
        let (p, o, plan) = names(st);
        match arm
            .get_terms(&p, &o, &plan, deadline(st, "read", TIMEOUT))
            .await
        {
            // Cancelled out of band: gone, so the next apply accepts again.
            Ok(Some(t)) if t.is_accepted() => Ok(Some((state(&t, st, &sub), private.clone()))),
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
        let (arm, _) = match need(
            arm_in_subscription(ctx.data(), Model::of(prior).subscription_id.as_deref()),
            None,
        ) {
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
    /// (the provider's subscription), or the agreement's ARM id (its subscription).
    /// Imported terms are treated as adopted: destroy will not cancel them.
    async fn import(&self, _ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let (sub, parts): (Option<&str>, Vec<&str>) = match arm_id_parts(id) {
            Some((sub, p, o, plan)) => (Some(sub), vec![p, o, plan]),
            None => (None, id.split(':').collect()),
        };
        if parts.len() != 3 || !parts.iter().all(|x| part(x)) || sub.is_some_and(|s| !is_guid(s)) {
            return Err(Diagnostic::error("Invalid import id", format!("Import Marketplace terms as publisher:offer:plan, such as redhat:rhel-byos:rhel-lvm96-gen2 (terms of the provider's subscription), or by the agreement's ARM id (/subscriptions/{{id}}/providers/Microsoft.MarketplaceOrdering/offerTypes/virtualmachine/publishers/{{publisher}}/offers/{{offer}}/plans/{{plan}}/agreements/current); got {id:?}.")).into());
        }
        let mut fields = vec![
            ("publisher", parts[0].to_ascii_lowercase()),
            ("offer", parts[1].to_string()),
            ("plan", parts[2].to_string()),
        ];
        if let Some(s) = sub {
            fields.push(("subscription_id", s.to_string()));
        }
        Ok(Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::from(v)))
                .collect(),
        ))
    }

    fn identity(&self) -> Option<&dyn crate::framework::IdentityDef> {
        Some(&TermsIdentity)
    }
}

/// `(subscription, publisher, offer, plan)` of an agreement's ARM id.
fn arm_id_parts(id: &str) -> Option<(&str, &str, &str, &str)> {
    let s: Vec<&str> = id.trim_start_matches('/').split('/').collect();
    let is = |i: usize, name: &str| s.get(i).is_some_and(|x| x.eq_ignore_ascii_case(name));
    let shape = s.len() == 14
        && is(0, "subscriptions")
        && is(2, "providers")
        && is(3, "Microsoft.MarketplaceOrdering")
        && is(4, "offerTypes")
        && is(5, "virtualmachine")
        && is(6, "publishers")
        && is(8, "offers")
        && is(10, "plans")
        && is(12, "agreements")
        && is(13, "current");
    shape.then(|| (s[1], s[7], s[9], s[11]))
}

/// Resource identity of terms: the subscription and the plan they are for,
/// lower-cased (ARM compares them case-insensitively).
struct TermsIdentity;

impl crate::framework::IdentityDef for TermsIdentity {
    fn attributes(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("subscription_id", "Azure subscription id (lower case)."),
            ("publisher", "Image publisher (lower case)."),
            ("offer", "Image offer (lower case)."),
            ("plan", "Purchase plan (lower case)."),
        ]
    }

    fn of_state(&self, state: &Value) -> Option<crate::framework::IdentityValues> {
        ["subscription_id", "publisher", "offer", "plan"]
            .into_iter()
            .map(|k| Some((k.to_string(), state.attr(k).as_str()?.to_ascii_lowercase())))
            .collect()
    }

    fn import_id(&self, identity: &crate::framework::IdentityValues) -> Result<String, Diagnostic> {
        let get = |k: &str| {
            identity.get(k).cloned().ok_or_else(|| {
                Diagnostic::error("Incomplete identity", format!("The identity needs {k}."))
            })
        };
        Ok(format!(
            "/subscriptions/{}/providers/Microsoft.MarketplaceOrdering/offerTypes/virtualmachine/publishers/{}/offers/{}/plans/{}/agreements/current",
            get("subscription_id")?,
            get("publisher")?,
            get("offer")?,
            get("plan")?
        ))
    }
}

/// The list resource: the Red Hat Marketplace terms accepted in the
/// provider's subscription.
pub struct MarketplaceAgreements;

/// The configuration of the `list` block.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct ListConfig {
    offer: Option<String>,
}

#[async_trait]
impl ListResource<ProviderData> for MarketplaceAgreements {
    fn type_name(&self) -> &'static str {
        "rhelazure_marketplace_agreement"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "The Marketplace terms of Red Hat's plans (publisher `redhat`, such as the `rhel-byos` gold images) \
             accepted in the provider's subscription, whoever accepted them.",
            vec![Attr::string("offer")
                .optional()
                .description("Only the terms of this offer (such as `rhel-byos`).")],
        )
    }

    async fn list(
        &self,
        ctx: &Ctx<ProviderData>,
        query: &ListQuery<'_>,
        out: &mut ListResults<'_>,
    ) -> Result<(), Diagnostics> {
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let dl = std::time::Instant::now() + TIMEOUT;
        let agreements = match arm.list_agreements(dl).await {
            Ok(a) => a,
            Err(e) => return Err(arm_diag("list the Marketplace agreements", &e).into()),
        };
        let filter: ListConfig = model::read(query.config);
        let wanted_offer = filter.offer.as_deref();
        for a in agreements {
            let p = a.properties.unwrap_or_default();
            let (publisher, offer, plan) = (
                p.publisher.unwrap_or_default(),
                p.offer.unwrap_or_default(),
                a.name.unwrap_or_default(),
            );
            if !publisher.eq_ignore_ascii_case("redhat")
                || p.state != Some(State::Active)
                || wanted_offer.is_some_and(|o| !o.eq_ignore_ascii_case(&offer))
            {
                continue;
            }
            // The list has no links; the terms themselves do (as `read` gives them).
            let terms = match arm.get_terms(&publisher, &offer, &plan, dl).await {
                Ok(Some(t)) if t.is_accepted() => t,
                Ok(_) => continue,
                Err(e) => {
                    return Err(arm_diag(
                        &format!("read the terms of {publisher}:{offer}:{plan}"),
                        &e,
                    )
                    .into())
                }
            };
            let named = Model {
                publisher: Some(publisher.to_ascii_lowercase()),
                offer: Some(offer.to_ascii_lowercase()),
                plan: Some(plan.to_ascii_lowercase()),
                ..Default::default()
            };
            let state = named.with_terms(&terms, arm.subscription_id()).to_value();
            let display_name =
                format!("{publisher}:{offer}:{plan} (accepted)").to_ascii_lowercase();
            if !out
                .send(Found {
                    state,
                    display_name,
                })
                .await
            {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_has_the_schemas_attributes() {
        assert_eq!(
            model::mismatch::<ListConfig>(&crate::framework::ListResource::schema(
                &MarketplaceAgreements
            )),
            None
        );
        assert_eq!(
            model::mismatch::<Model>(&MarketplaceAgreement.schema()),
            None
        );
    }

    #[test]
    fn agreement_ids_and_guids() {
        let id = "/subscriptions/5ab5c41d-0000-4000-a000-0000000fe5e5/providers/Microsoft.MarketplaceOrdering/offerTypes/virtualmachine/publishers/redhat/offers/rhel-byos/plans/rhel-lvm96-gen2/agreements/current";
        assert_eq!(
            arm_id_parts(id),
            Some((
                "5ab5c41d-0000-4000-a000-0000000fe5e5",
                "redhat",
                "rhel-byos",
                "rhel-lvm96-gen2"
            ))
        );
        assert_eq!(arm_id_parts("redhat:rhel-byos:rhel-lvm96-gen2"), None);
        assert_eq!(arm_id_parts(&id.replace("/current", "/other")), None);
        assert!(is_guid("5ab5c41d-0000-4000-a000-0000000fe5e5"));
        assert!(!is_guid("5ab5c41d-0000-4000-a000-0000000fe5e") && !is_guid("not-a-guid"));
    }
}
