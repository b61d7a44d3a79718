//! `rhelazure_image`: a managed image (`Microsoft.Compute/images`) from a disk
//! image on the machine running Terraform (raw or fixed VHD, uploaded sparse,
//! in parallel and resumably as a page blob) or from an existing blob.
//!
//! The file's SHA-256 is tracked: a changed file plans a replacement. A create
//! that uploaded but could not register the image is simply run again: the
//! upload resumes (nothing is sent twice) and the image is created.

use crate::{attr_name, attr_path};
use std::time::Duration;

use async_trait::async_trait;
use azure_core::http::Method;

use super::common::{arm_diag, deadline, need};
use super::disk_upload::{
    delete_uploaded_blob, plan_source_sha256, upload_file, Destination, HashedFile, HASHED_FILE,
};
use crate::arm::models::compute::{
    HyperVGenerationTypes, Image as ManagedImage, ImageOSDisk, ImageProperties,
    ImageStorageProfile, ImageUpdate, OperatingSystemStateTypes, OperatingSystemTypes,
};
use crate::framework::model;
use crate::framework::validators::one_of;
use crate::framework::{
    timeouts, ApplyOutcome, Attr, Ctx, Diagnostic, Diagnostics, PlanContext, Private, Resource,
    ResourceSchema, Value,
};
use crate::provider::ProviderData;

pub struct Image;

const API: &str = "2024-03-01";
const CREATE_TIMEOUT: Duration = Duration::from_secs(3 * 3600);
const TIMEOUT: Duration = Duration::from_secs(1800);
const UPLOADED: &str = "uploaded_blob";

/// The resource's plan and state, typed (the schema's attributes, checked
/// against it in the tests below).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
struct Model {
    id: Option<String>,
    name: Option<String>,
    resource_group_name: Option<String>,
    location: Option<String>,
    hyper_v_generation: Option<String>,
    tags: Option<std::collections::BTreeMap<String, String>>,
    source_path: Option<String>,
    storage_account_id: Option<String>,
    storage_container: Option<String>,
    blob_name: Option<String>,
    source_blob_uri: Option<String>,
    source_sha256: Option<String>,
    blob_uri: Option<String>,
    uploaded_bytes: Option<u64>,
    skipped_zero_bytes: Option<u64>,
    timeouts: Option<serde_json::Value>,
}

impl Model {
    fn of(v: &Value) -> Model {
        model::read(v)
    }

    fn to_value(&self) -> Value {
        model::write(self, crate::schema_type!(Image.schema()))
    }
}

fn image_path(data: &ProviderData, m: &Model) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/images/{}",
        data.settings
            .azure
            .subscription_id
            .clone()
            .unwrap_or_default(),
        m.resource_group_name.clone().unwrap_or_default(),
        m.name.clone().unwrap_or_default()
    )
}

/// Resource identity: the ARM id's subscription, resource group and name.
const IDENTITY: super::common::ArmIdentity = super::common::ArmIdentity {
    id_attr: "id",
    resource_type: "Microsoft.Compute/images",
    name_attr: "name",
    name_description: "Managed image name (lower case).",
};

#[async_trait]
impl Resource<ProviderData> for Image {
    fn type_name(&self) -> &'static str {
        "rhelazure_image"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "A managed image from a disk image you have (built with osbuild, bootc-image-builder or by hand): a raw image or a \
             fixed VHD on the machine running Terraform is uploaded to a storage account (only its non-zero pages, resuming an \
             interrupted upload), or an existing page blob is used.",
            vec![
                Attr::string("id").computed().use_state_for_unknown().description("ARM id of the managed image."),
                Attr::string("name").required().force_new().description("Name of the managed image."),
                Attr::string("resource_group_name").required().force_new().description("Resource group the image is created in."),
                Attr::string("location").required().force_new().description("Azure region of the image, such as `eastus`."),
                Attr::string("hyper_v_generation").default("V2").force_new().validate(one_of(&HyperVGenerationTypes::known_names())).description("Hyper-V generation the disk boots as: `V2` (UEFI) or `V1` (BIOS); it must match the disk."),
                Attr::string_map("tags").optional().description("Tags (change in place)."),
                Attr::string("source_path").optional().force_new().description("A raw or fixed-VHD disk image on this machine."),
                Attr::string("storage_account_id").optional().force_new().description("Storage account the file is uploaded to (with source_path)."),
                Attr::string("storage_container").default("vhds").force_new().description("Blob container (created when missing)."),
                Attr::string("blob_name").optional_computed().force_new().use_state_for_unknown().description("Blob name (default `<name>.vhd`)."),
                Attr::string("source_blob_uri").optional().force_new().description("An existing fixed-VHD page blob instead of source_path."),
                Attr::string("source_sha256").computed().force_new().description("SHA-256 of source_path; a changed file plans a replacement."),
                Attr::string("blob_uri").computed().use_state_for_unknown().description("The page blob the image is made from."),
                Attr::number("uploaded_bytes").computed().use_state_for_unknown().description("Bytes sent by the last upload."),
                Attr::number("skipped_zero_bytes").computed().use_state_for_unknown().description("Zero bytes the upload did not send."),
            ],
        )
        .blocks(vec![timeouts::block(&["create", "update", "delete"])])
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let path = config.attr(attr_name!(Model.source_path));
        let blob = config.attr(attr_name!(Model.source_blob_uri));
        if path.is_null() == blob.is_null() && !path.is_unknown() && !blob.is_unknown() {
            diags.push(Diagnostic::error("One image source", "Set exactly one of source_path (a file to upload) and source_blob_uri (an existing blob).").at(attr_path!(Model.source_path)));
        }
        if !path.is_null() && config.attr(attr_name!(Model.storage_account_id)).is_null() {
            diags.push(
                Diagnostic::error(
                    "Where to upload",
                    "source_path needs storage_account_id (the account the file is uploaded to).",
                )
                .at(attr_path!(Model.storage_account_id)),
            );
        }
        if let Some(p) = path.as_str() {
            // A file that does not exist yet (made earlier in the same run) is
            // not an error here: the plan reads it, and says so if it is missing.
            let result = crate::vhd::inspect(std::path::Path::new(p));
            let missing = matches!(&result, Err(crate::vhd::VhdError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound);
            if let (Err(e), false) = (result, missing) {
                diags.push(
                    Diagnostic::error("Unusable disk image", e.to_string())
                        .at(attr_path!(Model.source_path)),
                );
            }
        }
    }

    async fn modify_plan(&self, _ctx: &Ctx<ProviderData>, plan: &mut PlanContext<'_>) {
        // A BIOS-only disk registered as generation 2 would never boot:
        // Azure takes the image, and every VM from it hangs at firmware.
        let generation = plan
            .planned
            .attr(attr_name!(Model.hyper_v_generation))
            .as_str()
            .map(str::to_string);
        if let (true, Some("V2"), Some(file)) = (
            plan.is_create(),
            generation.as_deref(),
            plan.config
                .attr(attr_name!(Model.source_path))
                .as_str()
                .map(str::to_string),
        ) {
            if super::disk_upload::boots_by_bios_only(file).await {
                plan.diagnostics.push(
                    Diagnostic::error(
                        "Disk and generation do not match",
                        "The disk's partition table has no EFI system partition, so it boots by BIOS only, but hyper_v_generation is V2 (UEFI). Set hyper_v_generation = \"V1\", or build the image with UEFI boot (an EFI system partition).",
                    )
                    .at(attr_path!(Model.hyper_v_generation)),
                );
            }
        }
        // Hash the file at plan time so a changed file plans a replacement.
        plan_source_sha256(
            plan,
            attr_name!(Model.source_path),
            attr_name!(Model.source_sha256),
        )
        .await;
        if plan.is_create()
            && plan.config.attr(attr_name!(Model.blob_name)).is_null()
            && !plan.config.attr(attr_name!(Model.source_path)).is_null()
        {
            if let Some(n) = plan.config.attr(attr_name!(Model.name)).as_str() {
                plan.set(attr_name!(Model.blob_name), format!("{n}.vhd"));
            }
        }
        if !plan
            .config
            .attr(attr_name!(Model.source_blob_uri))
            .is_null()
        {
            plan.set(attr_name!(Model.uploaded_bytes), Value::from(0i64));
            plan.set(attr_name!(Model.skipped_zero_bytes), Value::from(0i64));
            if plan.config.attr(attr_name!(Model.blob_name)).is_null() {
                plan.set(attr_name!(Model.blob_name), Value::Null);
            }
        }
    }

    async fn create(
        &self,
        ctx: &Ctx<ProviderData>,
        planned: &Value,
        _config: &Value,
        planned_private: &Private,
    ) -> ApplyOutcome {
        let data = match ctx.data() {
            Ok(d) => d,
            Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
        };
        let arm = match data.arm() {
            Ok(a) => a,
            Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
        };
        let dl = deadline(planned, "create", CREATE_TIMEOUT);
        let mut state = Model::of(planned);
        let mut private = Private::default();
        let blob_uri = match (state.source_path.clone(), state.source_blob_uri.clone()) {
            (Some(path), _) => {
                let to = Destination {
                    account_id: state.storage_account_id.as_deref().unwrap_or_default(),
                    container: state.storage_container.as_deref().unwrap_or("vhds"),
                    blob_name: state.blob_name.as_deref().unwrap_or_default(),
                    path_attr: attr_path!(Model.source_path),
                    account_attr: attr_path!(Model.storage_account_id),
                };
                let planned_hash = planned_private.get::<HashedFile>(HASHED_FILE);
                let up = match upload_file(&data.http, arm, &path, planned_hash, to, dl).await {
                    Ok(up) => up,
                    Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
                };
                private.set(UPLOADED, &up.blob_uri);
                if let Some(r) = up.hashed {
                    private.set(HASHED_FILE, r);
                }
                state.source_sha256 = Some(up.report.sha256);
                state.uploaded_bytes = Some(up.report.uploaded_bytes);
                state.skipped_zero_bytes = Some(up.report.skipped_zero_bytes);
                up.blob_uri
            }
            (None, Some(uri)) => uri,
            (None, None) => {
                return ApplyOutcome::failed(
                    Value::Null,
                    Diagnostic::error("One image source", "Set source_path or source_blob_uri.")
                        .into(),
                )
            }
        };
        state.blob_uri = Some(blob_uri.clone());
        let generation = state
            .hyper_v_generation
            .clone()
            .unwrap_or_else(|| "V2".into());
        let body = ManagedImage {
            location: state.location.clone(),
            tags: state.tags.clone(),
            properties: Some(ImageProperties {
                hyper_v_generation: Some(HyperVGenerationTypes::from(generation.as_str())),
                storage_profile: Some(ImageStorageProfile {
                    os_disk: Some(ImageOSDisk {
                        os_type: Some(OperatingSystemTypes::Linux),
                        os_state: Some(OperatingSystemStateTypes::Generalized),
                        blob_uri: Some(blob_uri),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let path = image_path(data, &state);
        match arm.run_with(Method::Put, &path, API, &body, dl).await {
            Ok(img) => {
                let made = img.and_then(|j| serde_json::from_value::<ManagedImage>(j).ok());
                state.id = Some(made.and_then(|i| i.id).unwrap_or(path));
                ApplyOutcome {
                    state: state.to_value(),
                    private,
                    diagnostics: Diagnostics::new(),
                }
            }
            // The blob stays; a re-run resumes (sends nothing) and creates the image.
            Err(e) => ApplyOutcome {
                state: Value::Null,
                private,
                diagnostics: arm_diag("create the managed image", &e).into(),
            },
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
        let Some(img) = arm
            .get_as::<ManagedImage>(&id, API, deadline(state, "read", TIMEOUT))
            .await
            .map_err(|e| Diagnostics::from(arm_diag("read the image", &e)))?
        else {
            return Ok(None);
        };
        let read = Model {
            tags: super::common::kept_tags(img.tags.clone(), &prior.tags),
            blob_uri: img.os_blob_uri().map(str::to_string),
            // Azure's default when an image says none.
            hyper_v_generation: Some(img.hyper_v_generation().unwrap_or("V1").to_string()),
            location: img.location.clone(),
            ..prior
        };
        Ok(Some((read.to_value(), private.clone())))
    }

    async fn update(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        private: &Private,
    ) -> ApplyOutcome {
        let arm = match ctx.data().and_then(|d| d.arm()) {
            Ok(a) => a,
            Err(d) => return ApplyOutcome::failed(prior.clone(), d.into()),
        };
        let (was, will) = (Model::of(prior), Model::of(planned));
        if was.tags != will.tags {
            let patch = ImageUpdate {
                tags: Some(will.tags.clone().unwrap_or_default()),
                ..Default::default()
            };
            if let Err(e) = arm
                .run_with(
                    Method::Patch,
                    &was.id.clone().unwrap_or_default(),
                    API,
                    &patch,
                    deadline(planned, "update", TIMEOUT),
                )
                .await
            {
                return ApplyOutcome {
                    state: prior.clone(),
                    private: private.clone(),
                    diagnostics: arm_diag("update the image's tags", &e).into(),
                };
            }
        }
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
        let data = match need(ctx.data(), None) {
            Ok(d) => d,
            Err(d) => return d,
        };
        let arm = match need(data.arm(), None) {
            Ok(a) => a,
            Err(d) => return d,
        };
        let dl = deadline(prior, "delete", TIMEOUT);
        // The uploaded blob goes first: a managed image holds its own copy
        // of the disk, and a destroy interrupted after the image was gone
        // would find nothing left to delete on its re-run (the image reads
        // as gone, so Terraform drops it) and leave the blob behind.
        let mut diags = Diagnostics::new();
        let prior_model = Model::of(prior);
        if let (Some(blob), Some(account)) = (
            private.get::<String>(UPLOADED),
            prior_model.storage_account_id.clone(),
        ) {
            if let Some(w) = delete_uploaded_blob(&data.http, arm, &account, &blob, dl).await {
                diags.push(w);
            }
        }
        let id = prior_model.id.clone().unwrap_or_default();
        diags.extend(super::common::delete_arm(arm, &id, API, "the image", dl).await);
        diags
    }

    /// Imported by the image's ARM id; the state names its blob as `source_blob_uri`.
    async fn import(&self, ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let parts: Vec<&str> = id.split('/').collect();
        if parts.len() != 9 || !parts[7].eq_ignore_ascii_case("images") {
            return Err(Diagnostic::error("Invalid import id", format!("Import an image by its id, /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/images/<name>; got {id:?}.")).into());
        }
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let img = arm
            .get_as::<ManagedImage>(id, API, std::time::Instant::now() + TIMEOUT)
            .await
            .map_err(|e| Diagnostics::from(arm_diag("read the image", &e)))?
            .ok_or_else(|| Diagnostics::from(Diagnostic::error("No such image", id.to_string())))?;
        let imported = Model {
            id: Some(id.to_string()),
            name: Some(parts[8].to_string()),
            resource_group_name: Some(parts[4].to_string()),
            source_blob_uri: img.os_blob_uri().map(str::to_string),
            storage_container: Some("vhds".into()),
            uploaded_bytes: Some(0),
            skipped_zero_bytes: Some(0),
            ..Default::default()
        };
        Ok(imported.to_value())
    }

    fn identity(&self) -> Option<&dyn crate::framework::IdentityDef> {
        Some(&IDENTITY)
    }
}

/// The list resource: the managed images of the subscription that Image Builder did not make (those are `rhelazure_image_build`), whoever made them.
pub const IMAGES: super::common::ManagedImages = super::common::ManagedImages {
    type_name: "rhelazure_image",
    description: "The managed images of the subscription that Image Builder did not make (those are `rhelazure_image_build`), whoever made them.",
    resource: &Image,
    made_by_image_builder: false,
    what: |image| {
        image
            .hyper_v_generation()
            .map_or("managed image".to_string(), |g| format!("managed image, Hyper-V {g}"))
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_has_the_schemas_attributes() {
        assert_eq!(model::mismatch::<Model>(&Image.schema()), None);
    }

    #[test]
    fn byte_counts_round_trip_as_numbers() {
        let m = Model {
            uploaded_bytes: Some(u64::MAX),
            skipped_zero_bytes: Some(0),
            tags: Some(Default::default()),
            ..Default::default()
        };
        let back = Model::of(&m.to_value());
        assert_eq!(back.uploaded_bytes, Some(u64::MAX));
        assert_eq!(back.skipped_zero_bytes, Some(0));
        assert_eq!(
            back.tags,
            Some(Default::default()),
            "an empty map stays one"
        );
    }
}
