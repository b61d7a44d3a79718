//! `rhelazure_gallery`: an Azure Compute Gallery (`Microsoft.Compute/galleries`),
//! the home of image definitions and their replicated versions, which is
//! where Azure wants images to come from for Trusted Launch and Confidential
//! VMs. Description and tags change in place; name, group and region replace.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use azure_core::http::Method;

use super::common::{
    all_of_type, arm_diag, deadline, delete_arm, imported_state, kept_tags, need, region_key,
    ArmIdentity, ResourceGroupFilter,
};
use super::creation_marker;
use crate::arm::models::gallery::{Gallery as ArmGallery, GalleryProperties, GalleryUpdate};
use crate::arm::ArmClient;
use crate::attr_path;
use crate::framework::model;
use crate::framework::validators::string_matches;
use crate::framework::{
    timeouts, ApplyOutcome, Attr, Ctx, Diagnostic, Diagnostics, Found, ListQuery, ListResource,
    ListResults, Private, Resource, ResourceSchema, Value,
};
use crate::provider::ProviderData;

pub struct Gallery;

pub(super) const API: &str = "2023-07-03";
const TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Azure's rule for gallery names (unlike most resources, no '-'): 1-80
/// letters, digits, '_' and '.', not starting or ending with '_' or '.'.
pub(super) fn valid_gallery_name(n: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    (1..=80).contains(&n.len())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && edge(n.chars().next())
        && edge(n.chars().last())
}

/// The resource's configuration, plan and state.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct Model {
    id: Option<String>,
    name: Option<String>,
    resource_group_name: Option<String>,
    location: Option<String>,
    description: Option<String>,
    tags: Option<std::collections::BTreeMap<String, String>>,
    unique_name: Option<String>,
    timeouts: Option<serde_json::Value>,
}

impl Model {
    fn of(v: &Value) -> Model {
        model::read(v)
    }

    fn to_value(&self) -> Value {
        model::write(self, crate::schema_type!(Gallery.schema()))
    }

    /// The state for what Azure holds; `tags = {}` configured and no tags
    /// are the same to Azure, so the configured form is kept.
    fn with(&self, g: &ArmGallery) -> Model {
        let props = g.properties.clone().unwrap_or_default();
        let tags = g.tags.clone();
        Model {
            description: props.description.filter(|d| !d.is_empty()),
            unique_name: props.identifier.and_then(|i| i.unique_name),
            location: g.location.clone().or_else(|| self.location.clone()),
            tags: kept_tags(tags, &self.tags),
            ..self.clone()
        }
    }

    /// The creation mark: the gallery's id and region (what never changes in place).
    fn marker(&self, id: &str) -> String {
        let region = self.location.as_deref().map(region_key);
        creation_marker::marker(id, &region)
    }

    fn path(&self, arm: &ArmClient) -> String {
        let text = |x: &Option<String>| x.clone().unwrap_or_default();
        arm.sub_path(&format!(
            "/resourceGroups/{}/providers/Microsoft.Compute/galleries/{}",
            text(&self.resource_group_name),
            text(&self.name)
        ))
    }
}

const IDENTITY: ArmIdentity = ArmIdentity {
    id_attr: "id",
    resource_type: "Microsoft.Compute/galleries",
    name_attr: "name",
    name_description: "Gallery name (lower case).",
};

#[async_trait]
impl Resource<ProviderData> for Gallery {
    fn type_name(&self) -> &'static str {
        "rhelazure_gallery"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "An Azure Compute Gallery: where image definitions (`rhelazure_gallery_image`) and their replicated \
             versions live. Azure boots Trusted Launch and Confidential VMs from gallery images, not from managed \
             images. `description` and `tags` change in place. A `rhelazure-created` tag marks what this resource made (it is not shown in `tags`): a create interrupted after Azure acted is adopted by the next apply, while an object of the same name without the mark is refused (import it instead).",
            vec![
                Attr::string("id").computed().use_state_for_unknown().description("ARM id of the gallery."),
                Attr::string("name").required().force_new().validate(string_matches("1-80 letters, digits, '_' and '.', starting and ending with a letter or digit (no '-')", valid_gallery_name)).description("Gallery name, unique in the resource group. Azure allows no '-' in gallery names."),
                Attr::string("resource_group_name").required().force_new().description("Existing resource group."),
                Attr::string("location").required().force_new().description("Azure region of the gallery (its image versions can be replicated to others)."),
                Attr::string("description").optional().description("Description of the gallery."),
                Attr::string_map("tags").optional().description("Tags on the gallery."),
                Attr::string("unique_name").computed().use_state_for_unknown().description("The gallery's unique name across Azure (`<subscription id>-<NAME>`)."),
            ],
        )
        .blocks(vec![timeouts::block(&["create", "update", "delete"])])
    }

    async fn create(
        &self,
        ctx: &Ctx<ProviderData>,
        planned: &Value,
        _config: &Value,
        _private: &Private,
    ) -> ApplyOutcome {
        let dl = deadline(planned, "create", TIMEOUT);
        let planned = Model::of(planned);
        let arm = match ctx.data().and_then(|d| d.arm()) {
            Ok(a) => a,
            Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
        };
        let path = planned.path(arm);
        // PUT would silently take over a gallery this configuration did not
        // make; one its interrupted create made is adopted.
        let marker = planned.marker(&path);
        if let Err(d) = creation_marker::claim(arm, &path, API, &marker, "gallery", dl).await {
            return ApplyOutcome::failed(Value::Null, d.at(attr_path!(Model.name)).into());
        }
        let body = ArmGallery {
            location: planned.location.clone(),
            tags: creation_marker::with_mark(&planned.tags, &marker),
            properties: Some(GalleryProperties {
                description: planned.description.clone(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let put = arm.run_with(Method::Put, &path, API, &body, dl).await;
        // A failed create may still have made the gallery: track it (tainted).
        let made = match arm.get_as::<ArmGallery>(&path, API, dl).await {
            Ok(made) => made,
            Err(e) if put.is_ok() => {
                return ApplyOutcome::failed(Value::Null, arm_diag("read the gallery", &e).into())
            }
            Err(_) => None,
        };
        let state = made.map(|g| {
            Model {
                id: Some(g.id.clone().unwrap_or_else(|| path.clone())),
                ..planned.clone()
            }
            .with(&g)
            .to_value()
        });
        match (put, state) {
            (Ok(_), Some(s)) => ApplyOutcome::ok(s),
            (Ok(_), None) => ApplyOutcome::failed(
                Value::Null,
                Diagnostic::error(
                    "Gallery vanished",
                    format!("{path} was created but cannot be read back."),
                )
                .into(),
            ),
            (Err(e), s) => ApplyOutcome::failed(
                s.unwrap_or(Value::Null),
                arm_diag("create the gallery", &e).into(),
            ),
        }
    }

    async fn read(
        &self,
        ctx: &Ctx<ProviderData>,
        state: &Value,
        private: &Private,
    ) -> Result<Option<(Value, Private)>, Diagnostics> {
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let prior = Model::of(state);
        let id = prior.id.clone().unwrap_or_default();
        let found = arm
            .get_as::<ArmGallery>(&id, API, deadline(state, "read", TIMEOUT))
            .await
            .map_err(|e| Diagnostics::from(arm_diag("read the gallery", &e)))?;
        Ok(found.map(|g| (prior.with(&g).to_value(), private.clone())))
    }

    async fn update(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        private: &Private,
    ) -> ApplyOutcome {
        let dl = deadline(planned, "update", TIMEOUT);
        let fail = |d: Diagnostic| ApplyOutcome {
            state: prior.clone(),
            private: private.clone(),
            diagnostics: d.into(),
        };
        let arm = match ctx.data().and_then(|d| d.arm()) {
            Ok(a) => a,
            Err(d) => return fail(d),
        };
        let (was, will) = (Model::of(prior), Model::of(planned));
        let id = was.id.clone().unwrap_or_default();
        let patch = GalleryUpdate {
            tags: creation_marker::with_mark(&will.tags, &will.marker(&id)),
            properties: Some(GalleryProperties {
                // PATCH merges: a description removed from the configuration
                // is sent as "" to clear it (and reads back as unset).
                description: match (&was.description, &will.description) {
                    (Some(_), None) => Some(String::new()),
                    _ => will.description.clone(),
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        if let Err(e) = arm.run_with(Method::Patch, &id, API, &patch, dl).await {
            return fail(arm_diag("update the gallery", &e));
        }
        match arm.get_as::<ArmGallery>(&id, API, dl).await {
            Ok(Some(g)) => ApplyOutcome {
                state: Model {
                    id: was.id.clone(),
                    ..will
                }
                .with(&g)
                .to_value(),
                private: private.clone(),
                diagnostics: Diagnostics::new(),
            },
            Ok(None) => fail(Diagnostic::error(
                "Gallery vanished",
                format!("{id} disappeared during the update."),
            )),
            Err(e) => fail(arm_diag("read the gallery", &e)),
        }
    }

    async fn delete(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        _private: &Private,
    ) -> Diagnostics {
        let arm = match need(ctx.data().and_then(|d| d.arm()), None) {
            Ok(a) => a,
            Err(d) => return d,
        };
        let id = Model::of(prior).id.unwrap_or_default();
        let dl = deadline(prior, "delete", TIMEOUT);
        delete_arm(arm, &id, API, "the gallery", dl).await
    }

    async fn import(&self, ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        if IDENTITY.of_id(id).is_none() {
            return Err(Diagnostic::error("Invalid import id", format!("Import a gallery by its id, /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/galleries/<name>; got {id:?}.")).into());
        }
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let g = arm
            .get_as::<ArmGallery>(id, API, Instant::now() + TIMEOUT)
            .await
            .map_err(|e| Diagnostics::from(arm_diag("read the gallery", &e)))?
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "No such gallery",
                    format!("{id} does not exist."),
                ))
            })?;
        let parts: Vec<&str> = id.split('/').collect();
        let imported = Model {
            id: Some(id.to_string()),
            name: g.name.clone().or_else(|| Some(parts[8].to_string())),
            resource_group_name: Some(parts[4].to_string()),
            ..Default::default()
        };
        Ok(imported.with(&g).to_value())
    }

    fn identity(&self) -> Option<&dyn crate::framework::IdentityDef> {
        Some(&IDENTITY)
    }
}

/// The list resource: the subscription's galleries, whoever made them.
pub struct Galleries;

#[async_trait]
impl ListResource<ProviderData> for Galleries {
    fn type_name(&self) -> &'static str {
        "rhelazure_gallery"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "The Azure Compute Galleries of the subscription, whoever made them.",
            vec![Attr::string("resource_group_name")
                .optional()
                .description("Only the galleries of this resource group.")],
        )
    }

    async fn list(
        &self,
        ctx: &Ctx<ProviderData>,
        query: &ListQuery<'_>,
        out: &mut ListResults<'_>,
    ) -> Result<(), Diagnostics> {
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let filter: ResourceGroupFilter = model::read(query.config);
        let found = all_of_type(
            arm,
            "Microsoft.Compute/galleries",
            API,
            filter.resource_group_name.as_deref(),
            Instant::now() + TIMEOUT,
        )
        .await
        .map_err(|e| Diagnostics::from(arm_diag("list the galleries", &e)))?;
        let galleries = found
            .into_iter()
            .filter_map(|j| serde_json::from_value::<ArmGallery>(j).ok());
        for g in galleries {
            let id = g.id.as_deref().unwrap_or_default();
            let Some(state) = imported_state(&Gallery, ctx, id).await? else {
                continue;
            };
            let group = crate::arm::segment_after(id, "resourceGroups").unwrap_or_default();
            let display_name = format!("{} ({group})", g.name.as_deref().unwrap_or_default());
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
        assert_eq!(model::mismatch::<Model>(&Gallery.schema()), None);
        assert_eq!(
            model::mismatch::<ResourceGroupFilter>(&ListResource::schema(&Galleries)),
            None
        );
    }

    #[test]
    fn gallery_names_follow_azures_rule() {
        for ok in ["rhel", "rhel_images", "rhel.images.2026", "A1"] {
            assert!(valid_gallery_name(ok), "{ok}");
        }
        for bad in [
            "",
            "rhel-images",
            "_rhel",
            "rhel.",
            "rhel images",
            &"a".repeat(81),
        ] {
            assert!(!valid_gallery_name(bad), "{bad}");
        }
    }
}
