//! `rhelazure_gallery_image_version`: a version of a gallery image definition
//! (`Microsoft.Compute/galleries/images/versions`), made from a managed image
//! (`rhelazure_image`, `rhelazure_image_build`), straight from a fixed-VHD
//! page blob, or from a disk image on this machine (uploaded as a page blob
//! first, with no managed image in between, the blob removed once the version
//! has replicated), and replicated to its target regions. Target regions, replica
//! counts, `exclude_from_latest`, `end_of_life_date` and tags change in place
//! (replication runs again); the source and the name replace the version.
//!
//! Replication is a long-running operation: the create waits for it (the
//! `create` timeout), logging each region's progress as Azure reports it.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use azure_core::http::Method;

use super::common::{arm_diag, deadline, delete_arm, imported_state, kept_tags, need, region_key};
use super::creation_marker;
use super::disk_upload::{
    delete_uploaded_blob, plan_source_sha256, upload_file, Destination, HashedFile, HASHED_FILE,
};
use super::gallery::API;
use super::gallery_publish::replicated;
use crate::arm::models::compute::Image as ManagedImage;
use crate::arm::models::gallery::{
    GalleryArtifactVersionFullSource, GalleryDiskImageSource, GalleryImage,
    GalleryImageVersion as ArmVersion, GalleryImageVersionProperties,
    GalleryImageVersionPublishingProfile, GalleryImageVersionStorageProfile,
    GalleryImageVersionUpdate, GalleryOSDiskImage, StorageAccountType,
    TargetRegion as ArmTargetRegion,
};
use crate::arm::ArmClient;
use crate::framework::model;
use crate::framework::validators::{one_of, string_matches};
use crate::framework::{
    timeouts, ApplyOutcome, Attr, Ctx, Diagnostic, Diagnostics, Found, ListQuery, ListResource,
    ListResults, ObjectNesting, PlanContext, Private, Resource, ResourceSchema, Value,
};
use crate::provider::ProviderData;
use crate::{attr_name, attr_path};

pub struct GalleryImageVersion;

const CREATE_TIMEOUT: Duration = Duration::from_secs(3 * 3600);
const TIMEOUT: Duration = Duration::from_secs(60 * 60);
const COMPUTE_API: &str = "2024-03-01";

/// Azure's version names: `major.minor.patch`, each a 32-bit integer.
pub(super) fn valid_version_name(n: &str) -> bool {
    let parts: Vec<&str> = n.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<i32>().is_ok()
        })
}

/// The resource's configuration, plan and state.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct Model {
    id: Option<String>,
    name: Option<String>,
    gallery_name: Option<String>,
    image_name: Option<String>,
    resource_group_name: Option<String>,
    location: Option<String>,
    managed_image_id: Option<String>,
    blob_uri: Option<String>,
    storage_account_id: Option<String>,
    source_path: Option<String>,
    source_sha256: Option<String>,
    storage_container: Option<String>,
    blob_name: Option<String>,
    keep_uploaded_blob: Option<bool>,
    target_regions: Option<Vec<TargetRegion>>,
    exclude_from_latest: Option<bool>,
    end_of_life_date: Option<String>,
    tags: Option<std::collections::BTreeMap<String, String>>,
    published_date: Option<String>,
    replication_state: Option<String>,
    timeouts: Option<serde_json::Value>,
}

/// One of `target_regions`.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct TargetRegion {
    name: Option<String>,
    replica_count: Option<i64>,
    storage_account_type: Option<String>,
}

impl Model {
    fn of(v: &Value) -> Model {
        model::read(v)
    }

    fn to_value(&self) -> Value {
        model::write(self, crate::schema_type!(GalleryImageVersion.schema()))
    }

    fn definition_path(&self, arm: &ArmClient) -> String {
        let text = |x: &Option<String>| x.clone().unwrap_or_default();
        arm.sub_path(&format!(
            "/resourceGroups/{}/providers/Microsoft.Compute/galleries/{}/images/{}",
            text(&self.resource_group_name),
            text(&self.gallery_name),
            text(&self.image_name)
        ))
    }

    fn path(&self, arm: &ArmClient) -> String {
        format!(
            "{}/versions/{}",
            self.definition_path(arm),
            self.name.clone().unwrap_or_default()
        )
    }

    fn publishing(&self) -> GalleryImageVersionPublishingProfile {
        let targets = self
            .target_regions
            .iter()
            .flatten()
            .map(|t| ArmTargetRegion {
                name: t.name.clone(),
                regional_replica_count: t.replica_count.and_then(|n| i32::try_from(n).ok()),
                storage_account_type: t
                    .storage_account_type
                    .as_deref()
                    .map(StorageAccountType::from),
                ..Default::default()
            })
            .collect();
        GalleryImageVersionPublishingProfile {
            target_regions: Some(targets),
            exclude_from_latest: self.exclude_from_latest,
            end_of_life_date: self.end_of_life_date.clone(),
            ..Default::default()
        }
    }

    /// The creation mark: the version's id, region and source (what
    /// replaces it when changed), not its replication or tags. An uploaded
    /// file's blob is known only after the upload: the file's hash and
    /// destination stand for it.
    fn marker(&self, id: &str) -> String {
        let region = self.location.as_deref().map(region_key);
        let source = match &self.source_path {
            Some(_) => (
                None,
                self.source_sha256.clone(),
                self.storage_container.clone(),
                self.blob_name.clone(),
            ),
            None => (self.blob_uri.clone(), None, None, None),
        };
        creation_marker::marker(
            id,
            &(
                region,
                &self.managed_image_id,
                &self.storage_account_id,
                source,
            ),
        )
    }

    /// The blob this resource uploaded `source_path` to, if it did.
    fn uploaded_blob(&self) -> Option<(&str, &str)> {
        self.source_path.as_ref()?;
        Some((
            self.storage_account_id.as_deref()?,
            self.blob_uri.as_deref()?,
        ))
    }

    /// The version as ARM takes it.
    fn body(&self) -> ArmVersion {
        let storage = match (&self.managed_image_id, &self.blob_uri) {
            (Some(id), _) => GalleryImageVersionStorageProfile {
                source: Some(GalleryArtifactVersionFullSource {
                    id: Some(id.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            (None, uri) => GalleryImageVersionStorageProfile {
                os_disk_image: Some(GalleryOSDiskImage {
                    source: Some(GalleryDiskImageSource {
                        uri: uri.clone(),
                        storage_account_id: self.storage_account_id.clone(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
        };
        ArmVersion {
            location: self.location.clone(),
            tags: self.tags.clone(),
            properties: Some(GalleryImageVersionProperties {
                publishing_profile: Some(self.publishing()),
                storage_profile: Some(storage),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The state for what Azure holds; region names keep the configured
    /// spelling when Azure means the same region.
    fn with(&self, v: &ArmVersion) -> Model {
        let p = v.properties.clone().unwrap_or_default();
        let publishing = p.publishing_profile.unwrap_or_default();
        let storage = p.storage_profile.unwrap_or_default();
        let configured: Vec<TargetRegion> = self.target_regions.clone().unwrap_or_default();
        let targets = publishing
            .target_regions
            .unwrap_or_default()
            .into_iter()
            .map(|t| {
                let name = t.name.unwrap_or_default();
                let spelt = configured
                    .iter()
                    .filter_map(|c| c.name.clone())
                    .find(|c| region_key(c) == region_key(&name))
                    .unwrap_or(name);
                TargetRegion {
                    name: Some(spelt),
                    replica_count: t.regional_replica_count.map(i64::from),
                    storage_account_type: t.storage_account_type.map(|s| s.to_string()),
                }
            })
            .collect();
        let tags = v.tags.clone();
        let vhd = storage.os_disk_image.and_then(|o| o.source);
        Model {
            location: v.location.clone().or_else(|| self.location.clone()),
            managed_image_id: storage
                .source
                .and_then(|s| s.id)
                .or_else(|| self.managed_image_id.clone().filter(|_| vhd.is_none())),
            blob_uri: vhd.as_ref().and_then(|s| s.uri.clone()),
            storage_account_id: vhd.and_then(|s| s.storage_account_id),
            target_regions: Some(targets),
            exclude_from_latest: Some(publishing.exclude_from_latest.unwrap_or(false)),
            end_of_life_date: publishing.end_of_life_date,
            published_date: publishing.published_date,
            replication_state: p
                .replication_status
                .and_then(|r| r.aggregated_state)
                .map(|s| s.to_string())
                .or_else(|| self.replication_state.clone()),
            tags: kept_tags(tags, &self.tags),
            // Imported versions and states from before the attribute.
            keep_uploaded_blob: self.keep_uploaded_blob.or(Some(false)),
            ..self.clone()
        }
    }
}

const IDENTITY: VersionIdentity = VersionIdentity;

/// Resource identity: subscription, resource group, gallery, definition and
/// version, lower-cased as ARM compares them.
struct VersionIdentity;

impl VersionIdentity {
    fn of_id(id: &str) -> Option<crate::framework::IdentityValues> {
        let p: Vec<&str> = id.trim_start_matches('/').split('/').collect();
        let shape = p.len() == 12
            && p[0].eq_ignore_ascii_case("subscriptions")
            && p[2].eq_ignore_ascii_case("resourceGroups")
            && p[4].eq_ignore_ascii_case("providers")
            && p[5].eq_ignore_ascii_case("Microsoft.Compute")
            && p[6].eq_ignore_ascii_case("galleries")
            && p[8].eq_ignore_ascii_case("images")
            && p[10].eq_ignore_ascii_case("versions")
            && p.iter().all(|s| !s.is_empty());
        shape.then(|| {
            [
                ("subscription_id", p[1]),
                ("resource_group_name", p[3]),
                (attr_name!(Model.gallery_name), p[7]),
                (attr_name!(Model.image_name), p[9]),
                (attr_name!(Model.name), p[11]),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_ascii_lowercase()))
            .collect()
        })
    }
}

impl crate::framework::IdentityDef for VersionIdentity {
    fn attributes(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("subscription_id", "Azure subscription id (lower case)."),
            ("resource_group_name", "Resource group name (lower case)."),
            (attr_name!(Model.gallery_name), "Gallery name (lower case)."),
            (
                attr_name!(Model.image_name),
                "Image definition name (lower case).",
            ),
            (attr_name!(Model.name), "Version name."),
        ]
    }

    fn of_state(&self, state: &Value) -> Option<crate::framework::IdentityValues> {
        Self::of_id(Model::of(state).id.as_deref()?)
    }

    fn import_id(&self, identity: &crate::framework::IdentityValues) -> Result<String, Diagnostic> {
        let get = |k: &str| {
            identity.get(k).cloned().ok_or_else(|| {
                Diagnostic::error("Incomplete identity", format!("The identity needs {k}."))
            })
        };
        Ok(format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/galleries/{}/images/{}/versions/{}",
            get("subscription_id")?,
            get("resource_group_name")?,
            get(attr_name!(Model.gallery_name))?,
            get(attr_name!(Model.image_name))?,
            get(attr_name!(Model.name))?,
        ))
    }
}

#[async_trait]
impl Resource<ProviderData> for GalleryImageVersion {
    fn type_name(&self) -> &'static str {
        "rhelazure_gallery_image_version"
    }

    fn schema(&self) -> ResourceSchema {
        let fixed = |a: Attr| a.force_new();
        ResourceSchema::new(
            "A version of a gallery image definition, made from a managed image (`rhelazure_image`, \
             `rhelazure_image_build`) or straight from a fixed-VHD page blob, replicated to its target regions. \
             Target regions, replica counts, `exclude_from_latest`, `end_of_life_date` and `tags` change in place; \
             the source replaces the version. A `rhelazure-created` tag marks what this resource made (it is not shown in `tags`): a create interrupted after Azure acted is adopted by the next apply, while an object of the same name without the mark is refused (import it instead).",
            vec![
                Attr::string("id").computed().use_state_for_unknown().description("ARM id of the image version."),
                fixed(Attr::string("name").required()).validate(string_matches("major.minor.patch, such as 1.0.0", valid_version_name)).description("Version name, `major.minor.patch` (each a 32-bit integer); the highest not excluded is the definition's latest."),
                fixed(Attr::string("gallery_name").required()).description("The gallery."),
                fixed(Attr::string("image_name").required()).description("The image definition (`rhelazure_gallery_image.name`)."),
                fixed(Attr::string("resource_group_name").required()).description("The gallery's resource group."),
                fixed(Attr::string("location").required()).description("Azure region of the version (the gallery's); it must be one of `target_regions`."),
                fixed(Attr::string("managed_image_id").optional()).description("Source: a managed image (`rhelazure_image.id`, `rhelazure_image_build.id`). Exactly one of this, `blob_uri` and `source_path`."),
                fixed(Attr::string("blob_uri").optional_computed().use_state_for_unknown()).description("Source: a fixed-VHD page blob (a whole number of MiB and the VHD footer), with `storage_account_id`; no managed image in between. With `source_path`, the blob the file was uploaded to."),
                fixed(Attr::string("storage_account_id").optional()).description("The storage account holding `blob_uri`, or the one `source_path` is uploaded to."),
                fixed(Attr::string("source_path").optional()).description("Source: a raw or fixed-VHD disk image on the machine running Terraform, uploaded to `storage_account_id` as a page blob (only its non-zero pages, resuming an interrupted upload); the version is made straight from that blob."),
                Attr::string("source_sha256").computed().force_new().description("SHA-256 of `source_path`; a changed file plans a replacement."),
                fixed(Attr::string("storage_container").optional()).description("Blob container `source_path` is uploaded to (default `vhds`; created when missing)."),
                fixed(Attr::string("blob_name").optional_computed().use_state_for_unknown()).description("Blob `source_path` is uploaded to (default `<image_name>-<name>.vhd`)."),
                Attr::bool("keep_uploaded_blob").default(false).description("Keep the blob `source_path` was uploaded to once the version has replicated (by default it is deleted then: the version holds its own copies). A kept blob is deleted with the version; setting this back to false deletes it."),
                Attr::nested("target_regions", ObjectNesting::List, vec![
                    Attr::string("name").required().description("Region, such as `eastus`."),
                    Attr::number("replica_count").default(1i64).description("Replicas in the region (more serve more VMs created at once)."),
                    Attr::string("storage_account_type").default("Standard_LRS").validate(one_of(&StorageAccountType::known_names())).description("Storage of the replicas."),
                ]).required().description("Where the version is replicated; must include `location`. Changes in place."),
                Attr::bool("exclude_from_latest").default(false).description("Keep this version from being the definition's latest (VMs made from the definition then take another)."),
                Attr::string("end_of_life_date").optional().description("RFC 3339 date after which the version should no longer be used (informational)."),
                Attr::string_map("tags").optional().description("Tags on the version."),
                Attr::string("published_date").computed().use_state_for_unknown().description("When Azure published the version."),
                Attr::string("replication_state").computed().description("Replication across the target regions: `Completed`, `InProgress`, `Failed`."),
            ],
        )
        .blocks(vec![timeouts::block(&["create", "update", "delete"])])
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        // Values may be unknown here: read by name, not decoded.
        let sources = [
            config.attr(attr_name!(Model.managed_image_id)),
            config.attr(attr_name!(Model.blob_uri)),
            config.attr(attr_name!(Model.source_path)),
        ];
        let [_, blob, file] = &sources;
        let set = sources.iter().filter(|v| !v.is_null()).count();
        if sources.iter().all(|v| !v.is_unknown()) && set != 1 {
            diags.push(
                Diagnostic::error(
                    "One source",
                    "Set exactly one of managed_image_id (a managed image), blob_uri (a fixed-VHD page blob, with storage_account_id) and source_path (a disk image on this machine, uploaded to storage_account_id).",
                )
                .at(attr_path!(Model.managed_image_id)),
            );
        }
        let account = config.attr(attr_name!(Model.storage_account_id));
        if (!blob.is_null() || !file.is_null()) && account.is_null() {
            diags.push(
                Diagnostic::error(
                    "Where the blob is",
                    "blob_uri and source_path need storage_account_id: the account that holds the blob, or the one the file is uploaded to.",
                )
                .at(attr_path!(Model.storage_account_id)),
            );
        }
        if let Some(p) = file.as_str() {
            // A file made earlier in the same run may not exist yet: the
            // plan reads it, and says so if it is still missing.
            let result = crate::vhd::inspect(std::path::Path::new(p));
            let missing = matches!(&result, Err(crate::vhd::VhdError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound);
            if let (Err(e), false) = (result, missing) {
                diags.push(
                    Diagnostic::error("Unusable disk image", e.to_string())
                        .at(attr_path!(Model.source_path)),
                );
            }
        }
        let location = config.attr(attr_name!(Model.location)).as_str();
        let regions = config.attr(attr_name!(Model.target_regions));
        if let (Some(location), Some(list)) = (location, regions.as_elements()) {
            let names: Vec<Option<&str>> = list
                .iter()
                .map(|t| t.attr(attr_name!(TargetRegion.name)).as_str())
                .collect();
            let known = names.iter().all(Option::is_some);
            if known
                && !names
                    .iter()
                    .flatten()
                    .any(|n| region_key(n) == region_key(location))
            {
                diags.push(
                    Diagnostic::error(
                        "The version's own region is a target",
                        format!("target_regions must include the version's location, {location}: Azure replicates from there."),
                    )
                    .at(attr_path!(Model.target_regions)),
                );
            }
        }
    }

    async fn modify_plan(&self, ctx: &Ctx<ProviderData>, plan: &mut PlanContext<'_>) {
        // A changed file plans a replacement.
        plan_source_sha256(
            plan,
            attr_name!(Model.source_path),
            attr_name!(Model.source_sha256),
        )
        .await;
        if plan.is_create() && !plan.config.attr(attr_name!(Model.source_path)).is_null() {
            if let (true, Some(definition), Some(version)) = (
                plan.config.attr(attr_name!(Model.blob_name)).is_null(),
                plan.config.attr(attr_name!(Model.image_name)).as_str(),
                plan.config.attr(attr_name!(Model.name)).as_str(),
            ) {
                let blob = format!("{definition}-{version}.vhd");
                plan.set(attr_name!(Model.blob_name), blob);
            }
        } else if plan.config.attr(attr_name!(Model.source_path)).is_null() {
            // Nothing is uploaded: no blob name, and the blob is the configured one.
            for attr in [attr_name!(Model.blob_name), attr_name!(Model.blob_uri)] {
                if plan.config.attr(attr).is_null() {
                    plan.set(attr, Value::Null);
                }
            }
        }
        // The source's generation against the definition's: Azure would
        // refuse a managed image of another generation after the wait, and
        // a BIOS-only disk would be published and then never boot.
        if !plan.is_create() {
            return;
        }
        let Ok(arm) = ctx.data().and_then(|d| d.arm()) else {
            return;
        };
        let config: Model = model::read(plan.config);
        let (Some(_), Some(_), Some(_)) = (
            &config.resource_group_name,
            &config.gallery_name,
            &config.image_name,
        ) else {
            return;
        };
        let dl = Instant::now() + super::common::PLAN_CHECK_TIMEOUT;
        let Ok(Some(definition)) = arm
            .get_as::<GalleryImage>(&config.definition_path(arm), API, dl)
            .await
        else {
            return;
        };
        let want = definition
            .properties
            .and_then(|p| p.hyper_v_generation)
            .map_or_else(|| "V1".to_string(), |g| g.to_string());
        if let (Some(file), "V2") = (config.source_path.clone(), want.as_str()) {
            if super::disk_upload::boots_by_bios_only(file).await {
                plan.diagnostics.push(
                    Diagnostic::error(
                        "Disk and definition do not match",
                        format!("The disk's partition table has no EFI system partition, so it boots by BIOS only (Hyper-V generation 1), but the definition {} is generation 2 (UEFI). Build the image with UEFI boot (an EFI system partition), or publish it to a definition with hyper_v_generation = \"V1\".", config.image_name.clone().unwrap_or_default()),
                    )
                    .at(attr_path!(Model.source_path)),
                );
            }
            return;
        }
        let Some(image_id) = config.managed_image_id.clone() else {
            return;
        };
        let Ok(Some(image)) = arm.get_as::<ManagedImage>(&image_id, COMPUTE_API, dl).await else {
            return;
        };
        let have = image
            .properties
            .and_then(|p| p.hyper_v_generation)
            .map_or_else(|| "V1".to_string(), |g| g.to_string());
        if want != have {
            plan.diagnostics.push(
                Diagnostic::error(
                    "Image and definition do not match",
                    format!("{image_id} is Hyper-V generation {have}, but the definition {} is {want}: a version must be of its definition's generation. Use an image of generation {want} (rhelazure_image and rhelazure_image_build make V2 when asked), or a definition of {have}.", config.image_name.clone().unwrap_or_default()),
                )
                .at(attr_path!(Model.managed_image_id)),
            );
        }
    }

    async fn create(
        &self,
        ctx: &Ctx<ProviderData>,
        planned: &Value,
        _config: &Value,
        planned_private: &Private,
    ) -> ApplyOutcome {
        let dl = deadline(planned, "create", CREATE_TIMEOUT);
        let mut planned = Model::of(planned);
        let data = match ctx.data() {
            Ok(d) => d,
            Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
        };
        let arm = match data.arm() {
            Ok(a) => a,
            Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
        };
        let path = planned.path(arm);
        let mut private = Private::default();
        // A version this configuration did not make is refused; one its
        // interrupted create made (perhaps still replicating) is adopted.
        let marker = planned.marker(&path);
        let adopted =
            match creation_marker::claim(arm, &path, API, &marker, "image version", dl).await {
                Ok(adopted) => adopted,
                Err(d) => {
                    return ApplyOutcome::failed(Value::Null, d.at(attr_path!(Model.name)).into())
                }
            };
        if adopted {
            // Azure takes no change while a version replicates: the
            // interrupted replication ends first, then the PUT below makes
            // the version what is planned now (from the blob it was made from).
            match replicated(arm, &path, dl).await {
                Ok(Some(v)) => planned.blob_uri = planned.with(&v).blob_uri,
                Ok(None) => {}
                Err(d) => {
                    let state = Model {
                        id: Some(path.clone()),
                        ..planned.clone()
                    };
                    return ApplyOutcome::failed(state.to_value(), d.into());
                }
            }
        } else if let Some(file) = planned.source_path.clone() {
            let to = Destination {
                account_id: planned.storage_account_id.as_deref().unwrap_or_default(),
                container: planned.storage_container.as_deref().unwrap_or("vhds"),
                blob_name: planned.blob_name.as_deref().unwrap_or_default(),
                path_attr: attr_path!(Model.source_path),
                account_attr: attr_path!(Model.storage_account_id),
            };
            let planned_hash = planned_private.get::<HashedFile>(HASHED_FILE);
            match upload_file(&data.http, arm, &file, planned_hash, to, dl).await {
                Ok(up) => {
                    // Later plans reuse the upload's hash while the file is the same.
                    if let Some(r) = up.hashed {
                        private.set(HASHED_FILE, r);
                    }
                    planned.blob_uri = Some(up.blob_uri);
                    planned.source_sha256 = Some(up.report.sha256);
                }
                // Nothing made yet; a re-run resumes the upload.
                Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
            }
        }
        let mut body = planned.body();
        body.tags = creation_marker::with_mark(&planned.tags, &marker);
        let put = arm.run_with(Method::Put, &path, API, &body, dl).await;
        let made = match replicated(arm, &path, dl).await {
            Ok(made) => made,
            Err(d) if put.is_ok() => {
                // Made but not replicated everywhere: tracked, tainted.
                let state = Model {
                    id: Some(path.clone()),
                    ..planned.clone()
                };
                return ApplyOutcome::failed(state.to_value(), d.into());
            }
            Err(_) => None,
        };
        let mut diagnostics = Diagnostics::new();
        if let (Ok(_), Some(_), Some((account, blob))) = (&put, &made, planned.uploaded_blob()) {
            // Replicated: the version holds its own copies of the disk.
            if planned.keep_uploaded_blob != Some(true) {
                if let Some(w) = delete_uploaded_blob(&data.http, arm, account, blob, dl).await {
                    diagnostics.push(w);
                }
            }
        }
        let state = made.map(|v| {
            Model {
                id: Some(path.clone()),
                ..planned.clone()
            }
            .with(&v)
            .to_value()
        });
        match (put, state) {
            (Ok(_), Some(s)) => ApplyOutcome {
                state: s,
                private,
                diagnostics,
            },
            (Ok(_), None) => ApplyOutcome::failed(
                Value::Null,
                Diagnostic::error(
                    "Image version vanished",
                    format!("{path} was created but cannot be read back."),
                )
                .into(),
            ),
            (Err(e), s) => ApplyOutcome::failed(
                s.unwrap_or(Value::Null),
                arm_diag("create the image version", &e).into(),
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
            .get_as::<ArmVersion>(
                &format!("{id}?$expand=ReplicationStatus"),
                API,
                deadline(state, "read", TIMEOUT),
            )
            .await
            .map_err(|e| Diagnostics::from(arm_diag("read the image version", &e)))?;
        Ok(found.map(|v| (prior.with(&v).to_value(), private.clone())))
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
        let data = match ctx.data() {
            Ok(d) => d,
            Err(d) => return fail(d),
        };
        let arm = match data.arm() {
            Ok(a) => a,
            Err(d) => return fail(d),
        };
        let (was, will) = (Model::of(prior), Model::of(planned));
        let id = was.id.clone().unwrap_or_default();
        // A kept upload no longer wanted goes now (the version has its copies).
        let mut warnings = Diagnostics::new();
        if was.keep_uploaded_blob == Some(true) && will.keep_uploaded_blob != Some(true) {
            if let Some((account, blob)) = was.uploaded_blob() {
                if let Some(w) = delete_uploaded_blob(&data.http, arm, account, blob, dl).await {
                    warnings.push(w);
                }
            }
        }
        // The spec requires the storage profile in an update too; it is the
        // version's own (a change of source replaces the version).
        let storage_profile = was.body().properties.and_then(|p| p.storage_profile);
        let patch = GalleryImageVersionUpdate {
            tags: creation_marker::with_mark(&will.tags, &will.marker(&id)),
            properties: Some(GalleryImageVersionProperties {
                publishing_profile: Some(will.publishing()),
                storage_profile,
                ..Default::default()
            }),
            ..Default::default()
        };
        if let Err(e) = arm.run_with(Method::Patch, &id, API, &patch, dl).await {
            return fail(arm_diag("update the image version", &e));
        }
        match replicated(arm, &id, dl).await {
            Ok(Some(v)) => ApplyOutcome {
                state: Model {
                    id: was.id.clone(),
                    ..will
                }
                .with(&v)
                .to_value(),
                private: private.clone(),
                diagnostics: warnings,
            },
            Ok(None) => fail(Diagnostic::error(
                "Image version vanished",
                format!("{id} disappeared during the update."),
            )),
            Err(d) => fail(d),
        }
    }

    async fn delete(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        _private: &Private,
    ) -> Diagnostics {
        let data = match need(ctx.data(), None) {
            Ok(d) => d,
            Err(d) => return d,
        };
        let arm = match need(data.arm(), None) {
            Ok(a) => a,
            Err(d) => return d,
        };
        let was = Model::of(prior);
        let dl = deadline(prior, "delete", TIMEOUT);
        // A kept upload first: a destroy interrupted after the version was
        // gone would find nothing left to delete on its re-run (Terraform
        // drops a resource that reads as gone) and leave the blob behind.
        let mut diags = Diagnostics::new();
        if let Some((account, blob)) = was.uploaded_blob() {
            if let Some(w) = delete_uploaded_blob(&data.http, arm, account, blob, dl).await {
                diags.push(w);
            }
        }
        let id = was.id.unwrap_or_default();
        diags.extend(delete_arm(arm, &id, API, "the image version", dl).await);
        diags
    }

    async fn import(&self, ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        if VersionIdentity::of_id(id).is_none() {
            return Err(Diagnostic::error("Invalid import id", format!("Import an image version by its id, /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/galleries/<gallery>/images/<definition>/versions/<version>; got {id:?}.")).into());
        }
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let v = arm
            .get_as::<ArmVersion>(id, API, Instant::now() + TIMEOUT)
            .await
            .map_err(|e| Diagnostics::from(arm_diag("read the image version", &e)))?
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "No such image version",
                    format!("{id} does not exist."),
                ))
            })?;
        let p: Vec<&str> = id.trim_start_matches('/').split('/').collect();
        let imported = Model {
            id: Some(id.to_string()),
            name: Some(p[11].to_string()),
            image_name: Some(p[9].to_string()),
            gallery_name: Some(p[7].to_string()),
            resource_group_name: Some(p[3].to_string()),
            ..Default::default()
        };
        Ok(imported.with(&v).to_value())
    }

    fn identity(&self) -> Option<&dyn crate::framework::IdentityDef> {
        Some(&IDENTITY)
    }
}

/// The list resource: the versions of one image definition.
pub struct GalleryImageVersions;

/// The `list` block's configuration.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct ListConfig {
    resource_group_name: Option<String>,
    gallery_name: Option<String>,
    image_name: Option<String>,
}

#[async_trait]
impl ListResource<ProviderData> for GalleryImageVersions {
    fn type_name(&self) -> &'static str {
        "rhelazure_gallery_image_version"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "The versions of a gallery image definition, whoever made them.",
            vec![
                Attr::string("resource_group_name")
                    .required()
                    .description("The gallery's resource group."),
                Attr::string("gallery_name")
                    .required()
                    .description("The gallery."),
                Attr::string("image_name")
                    .required()
                    .description("The image definition."),
            ],
        )
    }

    async fn list(
        &self,
        ctx: &Ctx<ProviderData>,
        query: &ListQuery<'_>,
        out: &mut ListResults<'_>,
    ) -> Result<(), Diagnostics> {
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let filter: ListConfig = model::read(query.config);
        let definition = Model {
            resource_group_name: filter.resource_group_name,
            gallery_name: filter.gallery_name,
            image_name: filter.image_name,
            ..Default::default()
        };
        let path = format!("{}/versions", definition.definition_path(arm));
        let dl = Instant::now() + TIMEOUT;
        let mut page = arm.first_page(&path, API, dl).await;
        loop {
            let (items, next) = page.map_err(|e| {
                Diagnostics::from(
                    arm_diag("list the image versions", &e).at(attr_path!(ListConfig.image_name)),
                )
            })?;
            for v in items
                .into_iter()
                .filter_map(|j| serde_json::from_value::<ArmVersion>(j).ok())
            {
                let id = v.id.as_deref().unwrap_or_default();
                let Some(state) = imported_state(&GalleryImageVersion, ctx, id).await? else {
                    continue;
                };
                let published = v
                    .properties
                    .and_then(|p| p.publishing_profile)
                    .and_then(|p| p.published_date)
                    .unwrap_or_default();
                let display_name = format!(
                    "{} (published {published})",
                    v.name.as_deref().unwrap_or_default()
                );
                if !out
                    .send(Found {
                        state,
                        display_name,
                    })
                    .await
                {
                    return Ok(());
                }
            }
            let Some(next) = next else { break };
            page = arm.next_page(&next, dl).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::IdentityDef;

    #[test]
    fn the_models_have_the_schemas_attributes() {
        let schema = GalleryImageVersion.schema();
        assert_eq!(model::mismatch::<Model>(&schema), None);
        assert_eq!(
            model::mismatch_at::<TargetRegion>(&schema, &["target_regions"]),
            None
        );
        assert_eq!(
            model::mismatch::<ListConfig>(&ListResource::schema(&GalleryImageVersions)),
            None
        );
    }

    #[test]
    fn version_names_and_identities() {
        for ok in ["1.0.0", "2026.12.1", "0.0.2147483647"] {
            assert!(valid_version_name(ok), "{ok}");
        }
        for bad in ["1.0", "1.0.0.0", "v1.0.0", "1..0", "1.0.2147483648"] {
            assert!(!valid_version_name(bad), "{bad}");
        }
        let id = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/galleries/G/images/Def/versions/1.0.0";
        let identity = VersionIdentity::of_id(id).unwrap();
        assert_eq!(identity["image_name"], "def");
        let back = IDENTITY.import_id(&identity).unwrap();
        assert!(back.eq_ignore_ascii_case(id), "{back}");
        assert_eq!(
            VersionIdentity::of_id(&id.replace("/versions/1.0.0", "")),
            None
        );
    }

    #[test]
    fn regions_keep_their_configured_spelling() {
        let configured = Model {
            target_regions: Some(vec![TargetRegion {
                name: Some("eastus".into()),
                replica_count: Some(1),
                storage_account_type: Some("Standard_LRS".into()),
            }]),
            ..Default::default()
        };
        let azure = ArmVersion {
            properties: Some(GalleryImageVersionProperties {
                publishing_profile: Some(GalleryImageVersionPublishingProfile {
                    target_regions: Some(vec![ArmTargetRegion {
                        name: Some("East US".into()),
                        regional_replica_count: Some(1),
                        storage_account_type: Some(StorageAccountType::StandardLrs),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            configured.with(&azure).target_regions,
            configured.target_regions
        );
    }
}
