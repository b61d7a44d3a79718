//! data source `rhelazure_gallery_image_version`: a version of a gallery
//! image definition, by name or, by default, the latest: the highest version
//! not excluded from latest, which is what Azure boots when a VM names the
//! definition. Hosts pin it by `id`, so a new version is a planned change.

use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::common::{arm_diag, need};
use super::gallery::API;
use crate::arm::models::gallery::GalleryImageVersion;
use crate::attr_path;
use crate::framework::model;
use crate::framework::{Attr, Ctx, DataSource, Diagnostic, Diagnostics, ResourceSchema, Value};
use crate::provider::ProviderData;

pub struct GalleryImageVersionData;

const TIMEOUT: Duration = Duration::from_secs(120);

/// The data source's configuration and result.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct Model {
    resource_group_name: Option<String>,
    gallery_name: Option<String>,
    image_name: Option<String>,
    name: Option<String>,
    id: Option<String>,
    location: Option<String>,
    published_date: Option<String>,
    exclude_from_latest: Option<bool>,
    target_regions: Option<Vec<String>>,
}

/// `major.minor.patch` as numbers, so `1.10.0` is after `1.9.0`.
fn version_key(name: &str) -> Option<(i64, i64, i64)> {
    let mut parts = name.split('.').map(|p| p.parse::<i64>().ok());
    let key = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(key)
}

/// The latest of `versions`: the highest not excluded from latest.
fn latest(versions: Vec<GalleryImageVersion>) -> Option<GalleryImageVersion> {
    versions
        .into_iter()
        .filter(|v| {
            let excluded = v
                .properties
                .as_ref()
                .and_then(|p| p.publishing_profile.as_ref())
                .and_then(|p| p.exclude_from_latest);
            excluded != Some(true)
        })
        .filter_map(|v| Some((version_key(v.name.as_deref()?)?, v)))
        .max_by_key(|(k, _)| *k)
        .map(|(_, v)| v)
}

#[async_trait]
impl DataSource<ProviderData> for GalleryImageVersionData {
    fn type_name(&self) -> &'static str {
        "rhelazure_gallery_image_version"
    }

    fn schema(&self) -> ResourceSchema {
        let out = |a: Attr| a.computed();
        ResourceSchema::new(
            "A version of a gallery image definition: the one named, or the latest (the highest version not \
             excluded from latest, which Azure boots when a VM names the definition). Give its `id` to \
             `rhelazure_atomic_host.source_image_id` to pin it, so that a new version is a planned change.",
            vec![
                Attr::string("resource_group_name").required().description("The gallery's resource group."),
                Attr::string("gallery_name").required().description("The gallery."),
                Attr::string("image_name").required().description("The image definition."),
                Attr::string("name").optional_computed().description("A version (`1.0.0`); the latest when unset."),
                out(Attr::string("id")).description("ARM id of the version."),
                out(Attr::string("location")).description("Region of the version."),
                out(Attr::string("published_date")).description("When Azure published the version."),
                out(Attr::bool("exclude_from_latest")).description("Whether the version is excluded from latest."),
                out(Attr::string_list("target_regions")).description("Regions the version is replicated to."),
            ],
        )
    }

    async fn read(&self, ctx: &Ctx<ProviderData>, config: &Value) -> Result<Value, Diagnostics> {
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let configured: Model = model::read(config);
        let text = |x: &Option<String>| x.clone().unwrap_or_default();
        let definition = arm.sub_path(&format!(
            "/resourceGroups/{}/providers/Microsoft.Compute/galleries/{}/images/{}",
            text(&configured.resource_group_name),
            text(&configured.gallery_name),
            text(&configured.image_name)
        ));
        let dl = Instant::now() + TIMEOUT;
        let found = match &configured.name {
            Some(name) => arm
                .get_as::<GalleryImageVersion>(&format!("{definition}/versions/{name}"), API, dl)
                .await
                .map_err(|e| Diagnostics::from(arm_diag("read the image version", &e)))?,
            None => {
                let mut all = Vec::new();
                let mut page = arm
                    .first_page(&format!("{definition}/versions"), API, dl)
                    .await;
                loop {
                    let (items, next) = page.map_err(|e| {
                        Diagnostics::from(
                            arm_diag("list the image versions", &e)
                                .at(attr_path!(Model.image_name)),
                        )
                    })?;
                    all.extend(
                        items
                            .into_iter()
                            .filter_map(|j| serde_json::from_value(j).ok()),
                    );
                    let Some(next) = next else { break };
                    page = arm.next_page(&next, dl).await;
                }
                latest(all)
            }
        };
        let Some(v) = found else {
            let what = match &configured.name {
                Some(n) => format!("{definition} has no version {n}."),
                None => format!("{definition} has no version that is not excluded from latest."),
            };
            return Err(Diagnostic::error("No such image version", what)
                .at(attr_path!(Model.image_name))
                .into());
        };
        let publishing = v
            .properties
            .clone()
            .and_then(|p| p.publishing_profile)
            .unwrap_or_default();
        let result = Model {
            name: v.name.clone(),
            id: v.id.clone(),
            location: v.location.clone(),
            published_date: publishing.published_date,
            exclude_from_latest: Some(publishing.exclude_from_latest.unwrap_or(false)),
            target_regions: Some(
                publishing
                    .target_regions
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|t| t.name)
                    .collect(),
            ),
            ..configured
        };
        model::encode(&result, &self.schema().value_type()).map_err(Diagnostics::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_has_the_schemas_attributes() {
        assert_eq!(
            model::mismatch::<Model>(&GalleryImageVersionData.schema()),
            None
        );
    }

    #[test]
    fn the_latest_is_the_highest_not_excluded() {
        use crate::arm::models::gallery::{
            GalleryImageVersionProperties, GalleryImageVersionPublishingProfile,
        };
        let v = |name: &str, excluded: bool| GalleryImageVersion {
            name: Some(name.into()),
            properties: Some(GalleryImageVersionProperties {
                publishing_profile: Some(GalleryImageVersionPublishingProfile {
                    exclude_from_latest: Some(excluded),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let pick = |all: Vec<GalleryImageVersion>| latest(all).and_then(|v| v.name);
        assert_eq!(
            pick(vec![
                v("1.9.0", false),
                v("1.10.0", false),
                v("2.0.0", true)
            ]),
            Some("1.10.0".into())
        );
        assert_eq!(pick(vec![v("1.0.0", true)]), None);
        assert_eq!(version_key("1.2"), None);
    }
}
