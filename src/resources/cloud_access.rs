//! `rhelazure_cloud_access`: enrols an Azure subscription in Red Hat Cloud
//! Access (Sources: an `azure` source with the RHEL management application and
//! a `lighthouse_subscription_id` authentication), so RHEL subscriptions the
//! organization owns can be used on Azure; optionally waits until Red Hat
//! grants gold image access (RHSM's Cloud Access account: `Granted`; `Failed`
//! ends with the reason) and the gold images (`rhel-byos`) are listed in the
//! subscription's Marketplace.
//!
//! A re-run after a half-finished create adopts the source it already made
//! (same name, same subscription and tenant) instead of enrolling twice; a
//! source of that name enrolling anything else is refused and left alone.
//!
//! Its list resource finds the organization's Cloud Access enrolments.

use crate::{attr_name, attr_path};
use std::time::Duration;

use super::common::{arm_diag, deadline, need, redhat_diag};
use crate::framework::model;
use crate::framework::{
    timeouts, ApplyOutcome, Attr, Ctx, Diagnostic, Diagnostics, Found, ListQuery, ListResource,
    ListResults, PlanContext, Private, Resource, ResourceSchema, Value,
};
use crate::provider::ProviderData;
use crate::redhat::models::sources::SourceAvailabilityStatus;
use crate::redhat::Enrolment;
use async_trait::async_trait;

pub struct CloudAccess;

/// Red Hat documents that enablement can take hours.
const CREATE_TIMEOUT: Duration = Duration::from_secs(4 * 3600);
const TIMEOUT: Duration = Duration::from_secs(300);

/// The first reason Red Hat gives for a source's applications being
/// unavailable (Sources keeps it per application, not on the source).
async fn availability_error(
    rh: &crate::redhat::RedHatClient,
    source_id: &str,
    deadline: std::time::Instant,
) -> Option<String> {
    let apps = rh.source_applications(source_id, deadline).await.ok()?;
    apps.iter()
        .filter_map(|a| a.availability_status_error.clone())
        .find(|e| !e.is_empty())
}

/// The resource's plan and state, typed (the schema's attributes, checked
/// against it in the tests below).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
struct Model {
    id: Option<String>,
    azure_subscription_id: Option<String>,
    name: Option<String>,
    wait_for_gold_images: Option<bool>,
    location: Option<String>,
    availability_status: Option<String>,
    gold_image_access: Option<String>,
    gold_images_available: Option<bool>,
    byos_skus: Option<Vec<String>>,
    timeouts: Option<serde_json::Value>,
}

impl Model {
    fn of(v: &Value) -> Model {
        model::read(v)
    }

    /// The region whose Marketplace shows the gold images.
    fn location(&self) -> String {
        self.location.clone().unwrap_or_else(|| "eastus".into())
    }

    fn to_value(&self) -> Value {
        model::write(self, crate::schema_type!(CloudAccess.schema()))
    }
}

fn default_name(sub: &str) -> String {
    format!("azure-{sub}")
}

/// A source of the wanted name exists but enrols another subscription or
/// tenant (or nothing): adopting it would take over someone else's enrolment.
fn conflicting_source(
    name: &str,
    id: &str,
    found: Option<&Enrolment>,
    wanted: &Enrolment,
) -> Diagnostic {
    let what = match found {
        Some(Enrolment {
            subscription_id,
            tenant_id: Some(t),
        }) => {
            format!("subscription {subscription_id} of tenant {t}")
        }
        Some(Enrolment {
            subscription_id,
            tenant_id: None,
        }) => {
            format!("subscription {subscription_id}")
        }
        None => {
            "no Azure subscription (it has no lighthouse_subscription_id authentication)".into()
        }
    };
    let want = match &wanted.tenant_id {
        Some(t) => format!("subscription {} of tenant {t}", wanted.subscription_id),
        None => format!("subscription {}", wanted.subscription_id),
    };
    Diagnostic::error(
        "A Cloud Access source of this name enrols something else",
        format!(
            "Red Hat already has a source named \"{name}\" (id {id}); it enrols {what}, not {want}. \
             It was left untouched. Choose another name, or, if that source is the one you mean, \
             set azure_subscription_id to match and import it (terraform import with id {id})."
        ),
    )
    .at(attr_path!(Model.name))
}

#[async_trait]
impl Resource<ProviderData> for CloudAccess {
    fn type_name(&self) -> &'static str {
        "rhelazure_cloud_access"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "Enrols an Azure subscription in Red Hat Cloud Access, so RHEL subscriptions you own can be used on Azure \
             (bring-your-own-subscription gold images, offer `rhel-byos`). Needs Red Hat credentials and, to wait for the \
             gold images, Azure credentials.",
            vec![
                Attr::string("id").computed().use_state_for_unknown().description("The Sources id of the enrolment."),
                Attr::string("azure_subscription_id").optional_computed().force_new().use_state_for_unknown().description("Subscription to enrol (default: the provider's)."),
                Attr::string("name").optional_computed().use_state_for_unknown().description("Name of the Red Hat source (default `azure-<subscription id>`); changes in place."),
                Attr::bool("wait_for_gold_images").default(true).description("Wait until the gold images are visible in the subscription's Marketplace."),
                Attr::string("location").default("eastus").description("Region whose Marketplace is checked for the gold images."),
                // Computed values keep their state value in plans (a rename or a
                // timeouts edit changes none of them), so nothing that refers to
                // them is re-planned; modify_plan re-opens the gold-image ones
                // when `location` changes.
                Attr::string("availability_status").computed().use_state_for_unknown().description("What Red Hat reports for the enrolment (`available`, `in_progress`, `unavailable`)."),
                Attr::string("gold_image_access").computed().use_state_for_unknown().description("Red Hat's gold image access for the subscription (`Requested`, `Granted`, `Failed`); gold images can be bought only once it is `Granted`."),
                Attr::bool("gold_images_available").computed().use_state_for_unknown().description("Whether the `rhel-byos` offer is visible in the subscription."),
                Attr::string_list("byos_skus").computed().use_state_for_unknown().description("The gold image SKUs visible in `location`."),
            ],
        )
        .blocks(vec![timeouts::block(&["create", "update", "delete"])])
    }

    async fn modify_plan(&self, ctx: &Ctx<ProviderData>, plan: &mut PlanContext<'_>) {
        let Ok(data) = ctx.data() else { return };
        if let Err(d) = data.redhat() {
            plan.diagnostics.push(d);
        }
        if plan
            .config
            .attr(attr_name!(Model.azure_subscription_id))
            .is_null()
            && plan.is_create()
        {
            match &data.settings.azure.subscription_id {
                Some(s) => plan.set(attr_name!(Model.azure_subscription_id), s.clone()),
                None if !data.settings.partially_unknown => plan.diagnostics.push(Diagnostic::error(
                    "No subscription to enrol",
                    "Set azure_subscription_id, or the provider's subscription_id (ARM_SUBSCRIPTION_ID).",
                )),
                None => {}
            }
        }
        if !plan.is_create()
            && plan.prior.attr(attr_name!(Model.location))
                != plan.planned.attr(attr_name!(Model.location))
        {
            // Another region's Marketplace is checked: what it shows is read anew.
            plan.set(attr_name!(Model.gold_images_available), Value::unknown());
            plan.set(attr_name!(Model.byos_skus), Value::unknown());
        }
        if plan.config.attr(attr_name!(Model.name)).is_null() && plan.is_create() {
            if let Some(s) = plan
                .planned
                .attr(attr_name!(Model.azure_subscription_id))
                .as_str()
                .map(default_name)
            {
                plan.set(attr_name!(Model.name), s);
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
        let data = match ctx.data() {
            Ok(d) => d,
            Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
        };
        let rh = match data.redhat() {
            Ok(r) => r,
            Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
        };
        let dl = deadline(planned, "create", CREATE_TIMEOUT);
        let mut state = Model::of(planned);
        let sub = state.azure_subscription_id.clone().unwrap_or_default();
        let name = state.name.clone().unwrap_or_else(|| default_name(&sub));
        let wanted = Enrolment {
            subscription_id: sub.clone(),
            tenant_id: data.settings.azure.tenant_id.clone(),
        };
        // Adopt our own earlier, half-finished enrolment; a source of that
        // name enrolling anything else is someone else's and stays untouched.
        let source = match rh.find_source(&name, dl).await {
            Ok(Some(s)) => {
                let id = s.id.as_deref().unwrap_or_default();
                match rh.source_enrolment(id, dl).await {
                    Ok(Some(e)) if e.same_as(&wanted) => s,
                    Ok(other) => {
                        return ApplyOutcome::failed(
                            Value::Null,
                            conflicting_source(&name, id, other.as_ref(), &wanted).into(),
                        )
                    }
                    Err(e) => {
                        return ApplyOutcome::failed(
                            Value::Null,
                            redhat_diag("read what the existing source enrols", &e).into(),
                        )
                    }
                }
            }
            Ok(None) => match rh.enrol_azure_subscription(&name, &wanted, dl).await {
                Ok(s) => s,
                Err(e) => {
                    return ApplyOutcome::failed(
                        Value::Null,
                        redhat_diag(&format!("enrol subscription {sub} in Cloud Access"), &e)
                            .into(),
                    )
                }
            },
            Err(e) => {
                return ApplyOutcome::failed(
                    Value::Null,
                    redhat_diag("look for an existing enrolment", &e).into(),
                )
            }
        };
        state.id = source.id.clone();
        state.name = source.name.clone();
        state.availability_status = source
            .availability_status
            .as_ref()
            .map(|s| s.as_str().to_string());
        if source.availability_status == Some(SourceAvailabilityStatus::Unavailable) {
            let why = availability_error(rh, source.id.as_deref().unwrap_or(""), dl)
                .await
                .unwrap_or_else(|| "no reason given".into());
            return ApplyOutcome::failed(
                state.to_value(),
                Diagnostic::error(
                    "Cloud Access enrolment is unavailable",
                    format!("Red Hat reports the enrolment of {sub} as unavailable: {why}"),
                )
                .into(),
            );
        }
        if state.wait_for_gold_images.unwrap_or(true) {
            // The gold images appear in the enrolled subscription, which need not be the provider's.
            let arm = match data.arm() {
                Ok(a) => a.in_subscription(&sub),
                Err(d) => return ApplyOutcome::failed(state.to_value(), d.into()),
            };
            let location = state.location();
            let started = std::time::Instant::now();
            let mut wait = Duration::from_millis(200);
            // Ready when Red Hat has granted gold image access (RHSM) and
            // the gold images are listed in the subscription's Marketplace:
            // a listing alone does not make them purchasable.
            loop {
                let access = match rh.azure_cloud_account(&sub, dl).await {
                    Ok(a) => a.and_then(|a| a.gold_image_access),
                    Err(e) => {
                        return ApplyOutcome::failed(
                            state.to_value(),
                            redhat_diag("read the gold image access", &e).into(),
                        )
                    }
                };
                state.gold_image_access = access.clone();
                if access
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case("Failed"))
                {
                    let id = state.id.clone().unwrap_or_default();
                    let why = availability_error(rh, &id, dl).await.unwrap_or_else(|| {
                        "Red Hat gave no reason; see console.redhat.com -> Cloud Access".into()
                    });
                    return ApplyOutcome::failed(
                        state.to_value(),
                        Diagnostic::error(
                            "Gold image access failed",
                            format!("Subscription {sub} is enrolled in Cloud Access, but Red Hat reports its gold image access as Failed: {why}. Check that the organization holds RHEL subscriptions eligible for Cloud Access, then apply again (the enrolment is kept)."),
                        )
                        .into(),
                    );
                }
                if access
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case("Granted"))
                {
                    match arm.list_skus(&location, "RedHat", "rhel-byos", dl).await {
                        Ok(skus) if !skus.is_empty() => break,
                        Ok(_) => {}
                        Err(e) => {
                            return ApplyOutcome::failed(
                                state.to_value(),
                                arm_diag("list the gold images", &e).into(),
                            )
                        }
                    }
                }
                if std::time::Instant::now() + wait > dl {
                    return ApplyOutcome::failed(state.to_value(), Diagnostic::error("Gold images not ready yet", format!("Subscription {sub} is enrolled, but within the create timeout ({} s) Red Hat's gold image access is {} and the rhel-byos images are {}. Red Hat documents that this can take hours; apply again later, or raise timeouts.create.", started.elapsed().as_secs(), access.as_deref().unwrap_or("not recorded yet"), if access.as_deref() == Some("Granted") { "not listed yet" } else { "not purchasable yet" })).into());
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(60));
            }
        }
        let read_dl = deadline(planned, "read", TIMEOUT);
        match self.refresh(data, state.clone(), read_dl).await {
            Ok(Some(s)) => ApplyOutcome::ok(s),
            Ok(None) => ApplyOutcome::failed(
                Value::Null,
                Diagnostic::error(
                    "Enrolment vanished",
                    "The source was deleted while being created.",
                )
                .into(),
            ),
            Err(d) => ApplyOutcome::failed(state.to_value(), d),
        }
    }

    async fn read(
        &self,
        ctx: &Ctx<ProviderData>,
        state: &Value,
        private: &Private,
    ) -> Result<Option<(Value, Private)>, Diagnostics> {
        let data = need(ctx.data(), None)?;
        Ok(self
            .refresh(data, Model::of(state), deadline(state, "read", TIMEOUT))
            .await?
            .map(|s| (s, private.clone())))
    }

    async fn update(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        private: &Private,
    ) -> ApplyOutcome {
        let data = match ctx.data() {
            Ok(d) => d,
            Err(d) => return ApplyOutcome::failed(prior.clone(), d.into()),
        };
        let rh = match data.redhat() {
            Ok(r) => r,
            Err(d) => return ApplyOutcome::failed(prior.clone(), d.into()),
        };
        let (was, will) = (Model::of(prior), Model::of(planned));
        let id = was.id.clone().unwrap_or_default();
        if was.name != will.name {
            if let Err(e) = rh
                .rename_source(
                    &id,
                    &will.name.clone().unwrap_or_default(),
                    deadline(planned, "update", TIMEOUT),
                )
                .await
            {
                return ApplyOutcome::failed(
                    prior.clone(),
                    redhat_diag("rename the Cloud Access source", &e).into(),
                );
            }
        }
        let next = Model {
            availability_status: was.availability_status,
            gold_images_available: was.gold_images_available,
            byos_skus: was.byos_skus,
            ..will
        };
        match self
            .refresh(data, next, deadline(planned, "read", TIMEOUT))
            .await
        {
            Ok(Some(s)) => ApplyOutcome {
                state: s,
                private: private.clone(),
                diagnostics: Diagnostics::new(),
            },
            Ok(None) => ApplyOutcome::failed(
                Value::Null,
                Diagnostic::error(
                    "Enrolment vanished",
                    "The source was deleted during the update.",
                )
                .into(),
            ),
            Err(d) => ApplyOutcome {
                state: prior.clone(),
                private: private.clone(),
                diagnostics: d,
            },
        }
    }

    async fn delete(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        _private: &Private,
    ) -> Diagnostics {
        let rh = match need(ctx.data().and_then(|d| d.redhat()), None) {
            Ok(r) => r,
            Err(d) => return d,
        };
        let id = Model::of(prior).id.unwrap_or_default();
        match rh
            .delete_source(&id, deadline(prior, "delete", TIMEOUT))
            .await
        {
            Ok(()) => Diagnostics::new(),
            Err(e) => redhat_diag("delete the Cloud Access source", &e).into(),
        }
    }

    /// Imported by the Sources id: `terraform import rhelazure_cloud_access.c 101`.
    async fn import(&self, _ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
            return Err(Diagnostic::error("Invalid import id", format!("Import a Cloud Access enrolment by its Red Hat Sources id (digits); got {id:?}.")).into());
        }
        let imported = Model {
            id: Some(id.to_string()),
            wait_for_gold_images: Some(true),
            location: Some("eastus".into()),
            ..Default::default()
        };
        Ok(imported.to_value())
    }

    /// Resource identity: the Red Hat Sources id of the enrolment.
    fn identity(&self) -> Option<&dyn crate::framework::IdentityDef> {
        Some(&super::common::AttributeIdentity {
            attr: "id",
            description: "Red Hat Sources id of the enrolment.",
        })
    }
}

impl CloudAccess {
    /// The current state of an enrolment, or None if the source is gone.
    async fn refresh(
        &self,
        data: &ProviderData,
        mut state: Model,
        dl: std::time::Instant,
    ) -> Result<Option<Value>, Diagnostics> {
        let rh = need(data.redhat(), None)?;
        let id = state.id.clone().unwrap_or_default();
        let Some(source) = rh
            .get_source(&id, dl)
            .await
            .map_err(|e| Diagnostics::from(redhat_diag("read the Cloud Access source", &e)))?
        else {
            return Ok(None);
        };
        let auths_sub = rh
            .source_enrolment(&id, dl)
            .await
            .map_err(|e| Diagnostics::from(redhat_diag("read the enrolled subscription", &e)))?
            .map(|e| e.subscription_id)
            .or_else(|| state.azure_subscription_id.clone());
        state.name = source.name;
        state.availability_status = source.availability_status.map(|s| s.as_str().to_string());
        let sub = auths_sub.or_else(|| data.settings.azure.subscription_id.clone());
        state.azure_subscription_id = sub.clone();
        if let Some(sub) = &sub {
            state.gold_image_access = rh
                .azure_cloud_account(sub, dl)
                .await
                .map_err(|e| Diagnostics::from(redhat_diag("read the gold image access", &e)))?
                .and_then(|a| a.gold_image_access);
        }
        let location = state.location();
        let skus = match (data.arm(), &sub) {
            (Ok(arm), Some(sub)) => arm
                .in_subscription(sub)
                .list_skus(&location, "RedHat", "rhel-byos", dl)
                .await
                .map_err(|e| Diagnostics::from(arm_diag("list the gold images", &e)))?,
            _ => Vec::new(),
        };
        state.gold_images_available = Some(!skus.is_empty());
        state.byos_skus = Some(skus);
        Ok(Some(state.to_value()))
    }
}

/// The list resource: the organization's Cloud Access enrolments (its
/// `azure` sources), each read as an import would read it.
pub struct CloudAccesses;

/// The configuration of the `list` block.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct ListConfig {
    azure_subscription_id: Option<String>,
}

#[async_trait]
impl ListResource<ProviderData> for CloudAccesses {
    fn type_name(&self) -> &'static str {
        "rhelazure_cloud_access"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "The Red Hat organization's Cloud Access enrolments of Azure subscriptions (its `azure` sources), whoever made them.",
            vec![Attr::string("azure_subscription_id")
                .optional()
                .description("Only the enrolment of this subscription.")],
        )
    }

    async fn list(
        &self,
        ctx: &Ctx<ProviderData>,
        query: &ListQuery<'_>,
        out: &mut ListResults<'_>,
    ) -> Result<(), Diagnostics> {
        let data = need(ctx.data(), None)?;
        let rh = need(data.redhat(), None)?;
        let ids = match rh
            .azure_source_ids(std::time::Instant::now() + TIMEOUT)
            .await
        {
            Ok(ids) => ids,
            Err(e) => return Err(redhat_diag("list the Cloud Access sources", &e).into()),
        };
        let filter: ListConfig = model::read(query.config);
        let wanted = filter.azure_subscription_id.as_deref();
        for id in ids {
            let partial = CloudAccess.import(ctx, &id).await?;
            let dl = deadline(&partial, "read", TIMEOUT);
            let state = match CloudAccess.refresh(data, Model::of(&partial), dl).await {
                Ok(Some(s)) => s,
                Ok(None) => continue,
                Err(d) => return Err(d),
            };
            let read = Model::of(&state);
            let sub = read.azure_subscription_id.clone().unwrap_or_default();
            if wanted.is_some_and(|w| !w.eq_ignore_ascii_case(&sub)) {
                continue;
            }
            let display_name = format!(
                "{} (subscription {sub}): {}",
                read.name.as_deref().unwrap_or(&id),
                read.availability_status.as_deref().unwrap_or("unknown")
            );
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
            model::mismatch::<ListConfig>(&crate::framework::ListResource::schema(&CloudAccesses)),
            None
        );
        assert_eq!(model::mismatch::<Model>(&CloudAccess.schema()), None);
    }

    #[test]
    fn an_imported_enrolment_checks_the_default_region() {
        let imported = Model::of(
            &Model {
                id: Some("101".into()),
                ..Default::default()
            }
            .to_value(),
        );
        assert_eq!(imported.id.as_deref(), Some("101"));
        assert_eq!(imported.location(), "eastus");
    }
}
