//! `rhelazure_image_build`: a custom RHEL image built by Red Hat's hosted
//! Image Builder and delivered as a managed image into the user's resource
//! group, or, with `gallery`, published from there as a gallery image
//! version (the managed image deleted once the version has replicated:
//! Image Builder uploads only managed images). Every argument forces a new
//! build. Read and delete act on what Azure holds (deleting the compose
//! record would not delete it).

use crate::{attr_name, attr_path};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::common::{
    all_of_type, all_pages, arm_diag, deadline, delete_arm, need, redhat_diag, PLAN_CHECK_TIMEOUT,
};
use super::creation_marker;
use super::gallery::API as GALLERY_API;
use super::gallery_publish::{
    delete_intermediate_image, publish_managed_image, replicated, version_path, Publication,
};
use crate::arm::models::compute::Image as ManagedImage;
use crate::arm::models::gallery::GalleryImageVersion as ArmVersion;
use crate::arm::ArmClient;
use crate::framework::model;
use crate::framework::validators::{one_of, string_matches};
use crate::framework::{
    timeouts, ApplyOutcome, Attr, AttributePath, Ctx, Diagnostic, Diagnostics, ObjectNesting,
    PlanContext, Private, Resource, ResourceSchema, Value,
};
use crate::provider::ProviderData;
use crate::redhat::models::image_builder::{
    AzureUploadRequestOptions, ComposeRequest, Customizations, Distributions, Filesystem,
    ImageRequest, ImageTypes, Services, Subscription, UploadRequest, UploadTypes, User,
};
use crate::redhat::RedHatClient;

/// The tag Image Builder puts on the images it delivers, naming the compose;
/// gallery versions published from them carry it too.
pub(super) const COMPOSE_ID_TAG: &str = "compose-id";

/// Client id of Red Hat's multi-tenant Image Builder application in Entra ID.
const IMAGE_BUILDER_APP: &str = "b94bb246-b02c-4985-9c22-d44e66f657f4";

pub struct ImageBuild;

pub const IMAGES_API: &str = "2024-03-01";
const CREATE_TIMEOUT: Duration = Duration::from_secs(2 * 3600);
const TIMEOUT: Duration = Duration::from_secs(1800);

fn valid_image_name(n: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    (1..=60).contains(&n.len())
        && n.starts_with(|c: char| c.is_ascii_alphanumeric())
        && (n.len() == 1 || n.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
        && n.chars().all(ok)
}

/// Every distribution Image Builder's spec defines (it mixes spellings:
/// `rhel-95`, `rhel-9.6`, `rhel-10.0`), as the schema's allowed values.
fn spec_distributions() -> Vec<&'static str> {
    Distributions::KNOWN.iter().map(|d| d.as_str()).collect()
}

/// The spec lists every distribution; an account may build only some (RHEL
/// nightlies, betas and Fedora are restricted). Asking the service at plan
/// time turns a compose refused after minutes into a plan-time error.
async fn offered_distribution(rh: &RedHatClient, d: &str, diags: &mut Diagnostics) {
    let at = attr_path!(Model.distribution);
    match rh.distributions(Instant::now() + PLAN_CHECK_TIMEOUT).await {
        Ok(offered) if offered.is_empty() || offered.iter().any(|o| o == d) => {}
        Ok(offered) => diags.push(
            Diagnostic::error(
                "Distribution not offered",
                format!("Image Builder does not build {d} for this account. It offers: {}.", offered.join(", ")),
            )
            .at(at),
        ),
        Err(e) => diags.push(
            Diagnostic::warning(
                "Distribution not checked",
                format!("Could not ask Image Builder which distributions this account may build ({e}); the compose will tell."),
            )
            .at(at),
        ),
    }
}

fn image_path(sub: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/images/{name}")
}

fn customizations_attr() -> Attr {
    Attr::nested(
        "customizations",
        ObjectNesting::Single,
        vec![
            Attr::string_list("packages")
                .optional()
                .description("Packages to install, such as `podman`."),
            Attr::nested(
                "users",
                ObjectNesting::List,
                vec![
                    Attr::string("name").required().description("User name."),
                    // Image Builder refuses a user with neither a password
                    // nor a key; this resource sets keys only (a password
                    // would sit in the state), so the key is required.
                    Attr::string("ssh_key")
                        .required()
                        .description("The user's SSH public key (Image Builder needs a password or a key for every user)."),
                    Attr::string_list("groups")
                        .optional()
                        .description("Supplementary groups, such as `wheel`."),
                ],
            )
            .optional()
            .description("Users to create."),
            Attr::nested(
                "subscription",
                ObjectNesting::Single,
                vec![
                    Attr::number("organization")
                        .required()
                        .description("Red Hat organization id."),
                    Attr::string("activation_key")
                        .required()
                        .sensitive()
                        .description("Activation key to register with."),
                    Attr::bool("insights")
                        .default(false)
                        .description("Connect to Red Hat Insights."),
                    Attr::bool("rhc")
                        .default(false)
                        .description("Register with rhc, which also enables Insights."),
                ],
            )
            .optional()
            .description("Register the image's hosts with Red Hat on first boot."),
            Attr::nested(
                "services",
                ObjectNesting::Single,
                vec![
                    Attr::string_list("enabled")
                        .optional()
                        .description("systemd units enabled at boot."),
                    Attr::string_list("disabled")
                        .optional()
                        .description("systemd units disabled."),
                    Attr::string_list("masked")
                        .optional()
                        .description("systemd units masked."),
                ],
            )
            .optional()
            .description("systemd units to enable, disable or mask."),
            Attr::nested(
                "filesystem",
                ObjectNesting::List,
                vec![
                    Attr::string("mountpoint")
                        .required()
                        .description("Mount point, such as `/var`."),
                    Attr::number("min_size").required().description("Bytes."),
                ],
            )
            .optional()
            .description("Minimum sizes of mount points."),
        ],
    )
    .optional()
    .force_new()
    .description("What Image Builder puts in the image.")
}

/// The resource's plan and state, typed (the schema's attributes, checked
/// against it in the tests below).
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Model {
    id: Option<String>,
    distribution: Option<String>,
    architecture: Option<String>,
    image_name: Option<String>,
    resource_group_name: Option<String>,
    tenant_id: Option<String>,
    subscription_id: Option<String>,
    hyper_v_generation: Option<String>,
    customizations: Option<CustomizationsModel>,
    compose_id: Option<String>,
    status: Option<String>,
    location: Option<String>,
    gallery: Option<GalleryModel>,
    gallery_image_version_id: Option<String>,
    timeouts: Option<serde_json::Value>,
}

/// `gallery`: where the build is published.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct GalleryModel {
    resource_group_name: Option<String>,
    gallery_name: Option<String>,
    image_name: Option<String>,
    version: Option<String>,
    target_regions: Option<Vec<String>>,
}

/// `customizations`.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct CustomizationsModel {
    packages: Option<Vec<String>>,
    users: Option<Vec<UserModel>>,
    subscription: Option<SubscriptionModel>,
    services: Option<ServicesModel>,
    filesystem: Option<Vec<FilesystemModel>>,
}

/// `customizations.users`.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct UserModel {
    name: Option<String>,
    ssh_key: Option<String>,
    groups: Option<Vec<String>>,
}

/// `customizations.subscription`.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct SubscriptionModel {
    organization: Option<i64>,
    activation_key: Option<String>,
    insights: Option<bool>,
    rhc: Option<bool>,
}

/// `customizations.services`.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct ServicesModel {
    enabled: Option<Vec<String>>,
    disabled: Option<Vec<String>>,
    masked: Option<Vec<String>>,
}

/// `customizations.filesystem`.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct FilesystemModel {
    mountpoint: Option<String>,
    min_size: Option<u64>,
}

impl Model {
    fn of(v: &Value) -> Model {
        model::read(v)
    }

    /// With `gallery`: the version's ARM id.
    fn version_path(&self, arm: &ArmClient) -> Option<String> {
        let g = self.gallery.as_ref()?;
        let rg = g
            .resource_group_name
            .as_ref()
            .or(self.resource_group_name.as_ref())?;
        Some(version_path(
            arm,
            rg,
            g.gallery_name.as_deref()?,
            g.image_name.as_deref()?,
            g.version.as_deref()?,
        ))
    }

    fn to_value(&self) -> Value {
        model::write(self, crate::schema_type!(ImageBuild.schema()))
    }
}

/// With `gallery`, on create: the definition's generation and architecture
/// against the build's (Azure would refuse the version after the whole
/// compose); without it, no version id.
async fn check_gallery_definition(data: &ProviderData, plan: &mut PlanContext<'_>) {
    let gallery = plan.config.attr(attr_name!(Model.gallery)).clone();
    if gallery.is_null() {
        plan.set(attr_name!(Model.gallery_image_version_id), Value::Null);
        return;
    }
    let Ok(arm) = data.arm() else { return };
    let planned: Model = model::read(&plan.planned);
    let g = planned.gallery.clone().unwrap_or_default();
    let (Some(rg), Some(gallery), Some(definition)) = (
        g.resource_group_name
            .or(planned.resource_group_name.clone()),
        g.gallery_name,
        g.image_name,
    ) else {
        return;
    };
    let path = arm.sub_path(&format!(
        "/resourceGroups/{rg}/providers/Microsoft.Compute/galleries/{gallery}/images/{definition}"
    ));
    let dl = Instant::now() + PLAN_CHECK_TIMEOUT;
    // Missing (made in the same apply) or unreadable: Azure says so at apply.
    let Ok(Some(found)) = arm
        .get_as::<crate::arm::models::gallery::GalleryImage>(&path, GALLERY_API, dl)
        .await
    else {
        return;
    };
    let p = found.properties.unwrap_or_default();
    let want_gen = p
        .hyper_v_generation
        .map_or_else(|| "V1".to_string(), |x| x.to_string());
    let want_arch = p
        .architecture
        .map_or_else(|| "x64".to_string(), |x| x.to_string());
    let have_gen = planned
        .hyper_v_generation
        .clone()
        .unwrap_or_else(|| "V2".into());
    // Image Builder's names for the same architectures.
    let have_arch = match planned.architecture.as_deref() {
        Some("aarch64") => "Arm64",
        _ => "x64",
    };
    let at = attr_path!(Model.gallery, GalleryModel.image_name);
    if !want_gen.eq_ignore_ascii_case(&have_gen) {
        plan.diagnostics.push(Diagnostic::error("Build and definition do not match", format!("The definition {definition} is Hyper-V generation {want_gen}, but this build makes {have_gen} (hyper_v_generation): a version must be of its definition's generation.")).at(at.clone()));
    }
    if !want_arch.eq_ignore_ascii_case(have_arch) {
        plan.diagnostics.push(Diagnostic::error("Build and definition do not match", format!("The definition {definition} is for {want_arch}, but this build is {have_arch} (architecture): a version must be of its definition's architecture.")).at(at));
    }
}

/// The compose's managed image at `path`: adopted from an interrupted
/// create (its compose succeeded, or is still running), or built now.
/// `Err` is the apply's outcome (nothing to track: a failed compose makes
/// nothing in Azure).
async fn deliver(
    rh: &RedHatClient,
    arm: &ArmClient,
    state: &mut Model,
    path: &str,
    dl: Instant,
) -> Result<(String, ManagedImage), ApplyOutcome> {
    let name = state.image_name.clone().unwrap_or_default();
    let rg = state.resource_group_name.clone().unwrap_or_default();
    let failed = |d: Diagnostic| ApplyOutcome::failed(Value::Null, d.into());
    let request = compose_request(state);
    let earlier = compose_for_target(rh, &request, dl).await;
    match arm.get_as::<ManagedImage>(path, IMAGES_API, dl).await {
        Ok(Some(img)) => {
            // Made by a compose of an interrupted create: adopt it. That
            // compose may have delivered the image between the two reads
            // above (it read as still running): wait for it to say so.
            let ours = match earlier {
                Some((id, status)) if status == "success" => Some(id),
                Some((id, _)) => rh.wait_compose(&id, dl).await.ok().map(|_| id),
                None => None,
            };
            let Some(id) = ours else {
                return Err(failed(Diagnostic::error("Image already exists", format!("{path} already exists. Import it (terraform import with this id) or choose another image_name.")).at(attr_path!(Model.image_name))));
            };
            tracing::info!(target: "rhelazure.resources", compose = %id, image = %name, "adopting the image an interrupted create's compose delivered");
            return Ok((id, img));
        }
        Ok(None) => {}
        Err(e) => {
            return Err(failed(arm_diag(
                &format!("check the resource group {rg}"),
                &e,
            )))
        }
    }
    // A succeeded compose whose image is gone (deleted out of band) is not
    // adopted: the image is built again.
    let compose = match earlier.filter(|(_, status)| status != "success") {
        Some((id, _)) => {
            // An interrupted create (provider killed, connection lost)
            // left its compose running: wait for it rather than build twice.
            tracing::info!(target: "rhelazure.resources", compose = %id, image = %name, "adopting the running Image Builder compose of an interrupted create");
            crate::redhat::Compose { id }
        }
        None => match rh.compose(&request, dl).await {
            Ok(c) => {
                tracing::info!(target: "rhelazure.resources", compose = %c.id, image = %name, "Image Builder compose started");
                c
            }
            Err(e) => return Err(failed(redhat_diag("start the Image Builder compose", &e))),
        },
    };
    if let Err(e) = rh.wait_compose(&compose.id, dl).await {
        let mut d = redhat_diag(&format!("build {name}"), &e);
        if e.to_string().contains("not authorized") {
            d.detail.push_str(&format!(
                "\n\nAuthorize Image Builder in your Azure tenant: consent to Red Hat's Image Builder application and give its service principal the Contributor role on the resource group, e.g.\n  az ad sp create --id {IMAGE_BUILDER_APP}\n  az role assignment create --assignee {IMAGE_BUILDER_APP} --role Contributor --scope <resource group id>"
            ));
        }
        // Nothing exists in Azure after a failed compose: no state to keep.
        return Err(failed(d));
    }
    match arm.get_as::<ManagedImage>(path, IMAGES_API, dl).await {
        Ok(Some(img)) => Ok((compose.id, img)),
        Ok(None) => Err(failed(Diagnostic::error(
            "Image not delivered",
            format!(
                "Compose {} succeeded but {path} does not exist.",
                compose.id
            ),
        ))),
        Err(e) => {
            state.compose_id = Some(compose.id);
            state.status = Some("success".into());
            state.id = Some(path.to_string());
            state.location = None;
            Err(ApplyOutcome::failed(
                state.to_value(),
                arm_diag("read the delivered image", &e).into(),
            ))
        }
    }
}

/// A version an interrupted create published (its mark says so): its
/// replication waited for, the intermediate image deleted if still there,
/// the state rebuilt from what it carries.
async fn adopt_published(
    arm: &ArmClient,
    mut state: Model,
    image: &str,
    version: &str,
    dl: Instant,
) -> ApplyOutcome {
    let v = match replicated(arm, version, dl).await {
        Ok(Some(v)) => v,
        Ok(None) => {
            return ApplyOutcome::failed(
                Value::Null,
                Diagnostic::error(
                    "Image version vanished",
                    format!("{version} disappeared while being adopted; apply again."),
                )
                .into(),
            )
        }
        Err(d) => {
            state.gallery_image_version_id = Some(version.to_string());
            return ApplyOutcome::failed(state.to_value(), d.into());
        }
    };
    state.compose_id = v.tags.as_ref().and_then(|t| t.get(COMPOSE_ID_TAG).cloned());
    state.status = Some("success".into());
    state.id = Some(image.to_string());
    state.location = v.location.clone();
    state.gallery_image_version_id = Some(version.to_string());
    let mut outcome = ApplyOutcome::ok(state.to_value());
    outcome
        .diagnostics
        .extend(delete_intermediate_image(arm, image, IMAGES_API, dl).await);
    outcome
}

/// The Azure upload options of a compose request (the spec's `options` is
/// one of several upload targets; ours is always Azure).
fn azure_options(request: &ComposeRequest) -> AzureUploadRequestOptions {
    request
        .image_requests
        .as_ref()
        .and_then(|r| r.first())
        .and_then(|r| r.upload_request.as_ref()?.options.clone())
        .and_then(|o| serde_json::from_value(o).ok())
        .unwrap_or_default()
}

/// The latest compose, running or succeeded, that uploads to the same Azure
/// target (subscription, resource group, image name: unique in Azure, so it
/// is the one making this image), with its status. Best effort: a failed
/// lookup just means a new compose.
async fn compose_for_target(
    rh: &crate::redhat::RedHatClient,
    request: &ComposeRequest,
    dl: std::time::Instant,
) -> Option<(String, String)> {
    let target = |r: &ComposeRequest| {
        let o = azure_options(r);
        (
            o.subscription_id.map(|s| s.to_ascii_lowercase()),
            o.resource_group.map(|g| g.to_ascii_lowercase()),
            o.image_name,
        )
    };
    let wanted = target(request);
    let composes = rh.recent_composes(dl).await.ok()?;
    for (id, _) in composes.into_iter().filter(|(_, r)| target(r) == wanted) {
        match rh.compose_status(&id, dl).await {
            Ok(Some(s)) if s.status != "failure" => return Some((id, s.status)),
            _ => {}
        }
    }
    None
}

/// The compose request of the configuration.
fn compose_request(v: &Model) -> ComposeRequest {
    let c = v.customizations.clone().unwrap_or_default();
    let users = c.users.map(|users| {
        users
            .into_iter()
            .map(|u| User {
                name: u.name,
                ssh_key: u.ssh_key,
                groups: u.groups,
                ..Default::default()
            })
            .collect()
    });
    let subscription = c.subscription.map(|sub| Subscription {
        organization: sub.organization,
        activation_key: sub.activation_key,
        server_url: Some("subscription.rhsm.redhat.com".into()),
        base_url: Some("https://cdn.redhat.com/".into()),
        insights: Some(sub.insights.unwrap_or(false)),
        rhc: Some(sub.rhc.unwrap_or(false)),
        ..Default::default()
    });
    let services = c.services.map(|svc| Services {
        enabled: svc.enabled,
        disabled: svc.disabled,
        masked: svc.masked,
    });
    let filesystem = c.filesystem.map(|fs| {
        fs.into_iter()
            .map(|f| Filesystem {
                mountpoint: f.mountpoint,
                min_size: f.min_size.map(serde_json::Value::from),
            })
            .collect()
    });
    let customizations = Customizations {
        packages: c.packages,
        users,
        subscription,
        services,
        filesystem,
        ..Default::default()
    };
    let name = v.image_name.clone().unwrap_or_default();
    let generation = v.hyper_v_generation.clone().unwrap_or_else(|| "V2".into());
    let options = AzureUploadRequestOptions {
        tenant_id: v.tenant_id.clone(),
        subscription_id: v.subscription_id.clone(),
        resource_group: v.resource_group_name.clone(),
        image_name: Some(name.clone()),
        hyper_v_generation: Some(generation.as_str().into()),
    };
    let architecture = v.architecture.clone().unwrap_or_else(|| "x86_64".into());
    ComposeRequest {
        distribution: v.distribution.as_deref().map(Into::into),
        image_name: Some(name),
        image_requests: Some(vec![ImageRequest {
            architecture: Some(architecture.as_str().into()),
            image_type: Some(ImageTypes::Azure),
            upload_request: Some(UploadRequest {
                r#type: Some(UploadTypes::Azure),
                // `options` is one of several targets in the spec: JSON there.
                options: serde_json::to_value(options).ok(),
            }),
            ..Default::default()
        }]),
        customizations: (customizations != Customizations::default()).then_some(customizations),
        ..Default::default()
    }
}

/// Resource identity: the ARM id's subscription, resource group and name.
const IDENTITY: super::common::ArmIdentity = super::common::ArmIdentity {
    id_attr: "id",
    resource_type: "Microsoft.Compute/images",
    name_attr: "name",
    name_description: "Managed image name (lower case).",
};

#[async_trait]
impl Resource<ProviderData> for ImageBuild {
    fn type_name(&self) -> &'static str {
        "rhelazure_image_build"
    }

    fn schema(&self) -> ResourceSchema {
        let fn_str = |n: &str, d: &str| Attr::string(n).required().force_new().description(d);
        ResourceSchema::new(
            "A custom RHEL image built by Red Hat's hosted Image Builder and delivered as a managed image into your resource \
             group. Needs Red Hat credentials, and Image Builder authorized in the Azure tenant (Red Hat's Image Builder \
             application with Contributor on the resource group).",
            vec![
                Attr::string("id").computed().use_state_for_unknown().description("ARM id of the managed image Image Builder delivers (with `gallery`, deleted once the version has replicated; the resource's identity all the same)."),
                fn_str("distribution", "A distribution of Image Builder's API, such as `rhel-9.6`, `rhel-10.0` or `rhel-10` (the API spells older minors without a dot: `rhel-95`); checked at plan time against what your account may build.").validate(one_of(&spec_distributions())),
                Attr::string("architecture").default("x86_64").force_new().validate(one_of(&crate::redhat::models::image_builder::ImageRequestArchitecture::known_names())).description("CPU architecture of the image."),
                fn_str("image_name", "Name of the managed image in Azure.").validate(string_matches("1-60 letters, digits, '_', '.', '-', starting with a letter or digit", valid_image_name)),
                fn_str("resource_group_name", "Resource group the image is delivered to."),
                Attr::string("tenant_id").optional_computed().force_new().use_state_for_unknown().description("Entra tenant (default: the provider's)."),
                Attr::string("subscription_id").optional_computed().force_new().use_state_for_unknown().description("Subscription (default: the provider's)."),
                Attr::string("hyper_v_generation").default("V2").force_new().validate(one_of(&crate::arm::models::compute::HyperVGenerationTypes::known_names())).description("Hyper-V generation of the image."),
                customizations_attr(),
                Attr::string("compose_id").computed().use_state_for_unknown().description("Image Builder compose id."),
                Attr::string("status").computed().use_state_for_unknown().description("Final compose status (`success`)."),
                Attr::string("location").computed().use_state_for_unknown().description("Region of the managed image."),
                Attr::nested("gallery", ObjectNesting::Single, vec![
                    Attr::string("gallery_name").required().description("The gallery (`rhelazure_gallery.name`)."),
                    Attr::string("image_name").required().description("The image definition (`rhelazure_gallery_image.name`); its Hyper-V generation and architecture must be the build's."),
                    Attr::string("version").required().validate(string_matches("major.minor.patch, such as 1.0.0", super::gallery_image_version::valid_version_name)).description("The version to publish, `major.minor.patch`."),
                    Attr::string("resource_group_name").optional().description("The gallery's resource group (default: `resource_group_name`)."),
                    Attr::string_list("target_regions").optional().description("Regions the version is replicated to, one replica each (default: the image's region)."),
                ]).optional().force_new().description("Publish the build to an Azure Compute Gallery: the compose's managed image becomes this gallery image version, replicated, and is then deleted (Azure runs Trusted Launch and Confidential VMs from gallery images, not managed images). For replica counts, end-of-life dates and the like, use `rhelazure_gallery_image_version` with `managed_image_id` instead."),
                Attr::string("gallery_image_version_id").computed().use_state_for_unknown().description("With `gallery`: ARM id of the published version (for `rhelazure_atomic_host.source_image_id`); null otherwise."),
            ],
        )
        .blocks(vec![timeouts::block(&["create", "delete"])])
    }

    async fn modify_plan(&self, ctx: &Ctx<ProviderData>, plan: &mut PlanContext<'_>) {
        let Ok(data) = ctx.data() else { return };
        match data.redhat() {
            Err(d) => plan.diagnostics.push(d),
            Ok(rh) => {
                let distribution = plan
                    .planned
                    .attr(attr_name!(Model.distribution))
                    .as_str()
                    .map(str::to_string);
                let changed = plan.is_create()
                    || plan.prior.attr(attr_name!(Model.distribution))
                        != plan.planned.attr(attr_name!(Model.distribution));
                if let (Some(d), true) = (distribution, changed) {
                    offered_distribution(rh, &d, &mut plan.diagnostics).await;
                }
            }
        }
        if plan.is_create() {
            check_gallery_definition(data, plan).await;
            for (attr, v, env) in [
                ("tenant_id", &data.settings.azure.tenant_id, "ARM_TENANT_ID"),
                (
                    "subscription_id",
                    &data.settings.azure.subscription_id,
                    "ARM_SUBSCRIPTION_ID",
                ),
            ] {
                if plan.config.attr(attr).is_null() {
                    match v {
                        Some(x) => plan.set(attr, x.clone()),
                        None if !data.settings.partially_unknown => plan.diagnostics.push(
                            Diagnostic::error(
                                "Missing Azure setting",
                                format!("Set {attr} here or in the provider ({env})."),
                            )
                            .at(AttributePath::attrs(&[attr])),
                        ),
                        None => {}
                    }
                }
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
        let (rh, arm) = match (data.redhat(), data.arm()) {
            (Ok(r), Ok(a)) => (r, a),
            (Err(d), _) | (_, Err(d)) => return ApplyOutcome::failed(Value::Null, d.into()),
        };
        let dl = deadline(planned, "create", CREATE_TIMEOUT);
        let mut state = Model::of(planned);
        let (sub, rg, name) = (
            state.subscription_id.clone().unwrap_or_default(),
            state.resource_group_name.clone().unwrap_or_default(),
            state.image_name.clone().unwrap_or_default(),
        );
        let path = image_path(&sub, &rg, &name);
        // Published to a gallery by an interrupted create: adopted (its
        // managed image may be gone already).
        let version = state.version_path(arm);
        let marker = version
            .as_ref()
            .map(|v| creation_marker::marker(v, &(&sub, &rg, &name)));
        if let (Some(v), Some(m)) = (&version, &marker) {
            match creation_marker::claim(arm, v, GALLERY_API, m, "image version", dl).await {
                Ok(false) => {}
                Ok(true) => return adopt_published(arm, state, &path, v, dl).await,
                Err(d) => {
                    return ApplyOutcome::failed(
                        Value::Null,
                        d.at(attr_path!(Model.gallery)).into(),
                    )
                }
            }
        }
        let (compose_id, img) = match deliver(rh, arm, &mut state, &path, dl).await {
            Ok(delivered) => delivered,
            Err(outcome) => return outcome,
        };
        state.compose_id = Some(compose_id.clone());
        state.status = Some("success".into());
        state.id = img.id.clone();
        state.location = img.location.clone();
        let (Some(version), Some(marker)) = (version, marker) else {
            return ApplyOutcome::ok(state.to_value());
        };
        let location = img.location.clone().unwrap_or_default();
        let regions = state
            .gallery
            .as_ref()
            .and_then(|g| g.target_regions.clone())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| vec![location.clone()]);
        // The compose id travels with the version, as Image Builder tags its images.
        let tags = [(COMPOSE_ID_TAG.to_string(), compose_id)].into();
        let publication = Publication {
            version_id: &version,
            image_id: &path,
            location: &location,
            regions: &regions,
            tags,
            marker: &marker,
        };
        match publish_managed_image(arm, &publication, dl).await {
            Ok(_) => {
                state.gallery_image_version_id = Some(version);
                let mut outcome = ApplyOutcome::ok(state.to_value());
                outcome
                    .diagnostics
                    .extend(delete_intermediate_image(arm, &path, IMAGES_API, dl).await);
                outcome
            }
            // Made but not replicated: tracked, tainted.
            Err((d, true)) => {
                state.gallery_image_version_id = Some(version);
                ApplyOutcome::failed(state.to_value(), d.into())
            }
            // Nothing published: the next apply adopts the delivered image
            // (its compose succeeded) and publishes it.
            Err((d, false)) => ApplyOutcome::failed(Value::Null, d.into()),
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
        let dl = deadline(state, "read", TIMEOUT);
        // Published to a gallery: the version is what the build left.
        if let Some(version) = prior.gallery_image_version_id.clone() {
            return match arm.get_as::<ArmVersion>(&version, GALLERY_API, dl).await {
                Ok(Some(v)) => {
                    let read = Model {
                        location: v.location.clone().or(prior.location.clone()),
                        ..prior
                    };
                    Ok(Some((read.to_value(), private.clone())))
                }
                Ok(None) => Ok(None),
                Err(e) => Err(arm_diag("read the image version", &e).into()),
            };
        }
        let id = prior.id.clone().unwrap_or_default();
        match arm.get_as::<ManagedImage>(&id, IMAGES_API, dl).await {
            Ok(Some(img)) => {
                let read = Model {
                    location: img.location.clone(),
                    hyper_v_generation: img.hyper_v_generation().map(str::to_string),
                    ..prior
                };
                Ok(Some((read.to_value(), private.clone())))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(arm_diag("read the image", &e).into()),
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
        // Only timeouts can change without a new build.
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
        _private: &Private,
    ) -> Diagnostics {
        let arm = match need(ctx.data().and_then(|d| d.arm()), None) {
            Ok(a) => a,
            Err(d) => return d,
        };
        let was = Model::of(prior);
        let dl = deadline(prior, "delete", TIMEOUT);
        let mut diags = Diagnostics::new();
        if let Some(version) = &was.gallery_image_version_id {
            diags.extend(delete_arm(arm, version, GALLERY_API, "the image version", dl).await);
        }
        // The managed image (with a gallery, only left by an interrupted create).
        let id = was.id.unwrap_or_default();
        diags.extend(delete_arm(arm, &id, IMAGES_API, "the image", dl).await);
        diags
    }

    /// Imported by the managed image's ARM id; the compose request is recovered
    /// from Image Builder's record of the compose that delivered it.
    async fn import(&self, ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        if id
            .to_ascii_lowercase()
            .contains("/providers/microsoft.compute/galleries/")
        {
            return import_published(ctx, id).await;
        }
        let parts: Vec<&str> = id.split('/').collect();
        if parts.len() != 9 || !parts[7].eq_ignore_ascii_case("images") {
            return Err(Diagnostic::error("Invalid import id", format!("Import an image build by its managed image id, /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/images/<name>; got {id:?}.")).into());
        }
        let data = need(ctx.data(), None)?;
        let rh = need(data.redhat(), None)?;
        let arm = need(data.arm(), None)?;
        let dl = std::time::Instant::now() + TIMEOUT;
        let img = arm
            .get_as::<ManagedImage>(id, IMAGES_API, dl)
            .await
            .map_err(|e| Diagnostics::from(arm_diag("read the image", &e)))?;
        let Some(img) = img else {
            // Published to a gallery, its managed image deleted: the build is
            // the version made from it (how identity-based import finds it).
            return match version_made_from(arm, id, dl).await? {
                Some(version) => import_published(ctx, &version).await,
                None => Err(Diagnostic::error("No such image", format!("{id} does not exist, and no gallery image version of the subscription was made from it.")).into()),
            };
        };
        let compose_id = img.tag(COMPOSE_ID_TAG).map(str::to_string);
        let request = compose_request_of(rh, compose_id.as_deref(), dl).await?;
        let Some(req) = request else {
            return Err(Diagnostic::error("Not an Image Builder image", format!("{id} has no compose-id tag from Image Builder; manage it with rhelazure_image instead.")).into());
        };
        Ok(state_from_request(
            &req,
            id,
            parts[2],
            parts[4],
            compose_id.as_deref().unwrap_or_default(),
            img.location.as_deref(),
        )
        .to_value())
    }

    fn identity(&self) -> Option<&dyn crate::framework::IdentityDef> {
        Some(&IDENTITY)
    }
}

/// The gallery image version of the subscription made from the managed
/// image `image_id`, if any: every gallery, definition and version is listed
/// (import is rare; ARM has no index from a source to its versions).
async fn version_made_from(
    arm: &ArmClient,
    image_id: &str,
    dl: Instant,
) -> Result<Option<String>, Diagnostics> {
    let listed =
        |what: &'static str| move |e: crate::arm::ArmError| Diagnostics::from(arm_diag(what, &e));
    let ids = |items: Vec<serde_json::Value>| -> Vec<String> {
        items
            .into_iter()
            .filter_map(|j| j.get("id").and_then(|i| i.as_str()).map(str::to_string))
            .collect()
    };
    let galleries = all_of_type(arm, "Microsoft.Compute/galleries", GALLERY_API, None, dl)
        .await
        .map_err(listed("list the galleries"))?;
    for gallery in ids(galleries) {
        let definitions = all_pages(arm, &format!("{gallery}/images"), GALLERY_API, dl)
            .await
            .map_err(listed("list the image definitions"))?;
        for definition in ids(definitions) {
            let versions = all_pages(arm, &format!("{definition}/versions"), GALLERY_API, dl)
                .await
                .map_err(listed("list the image versions"))?;
            for v in versions
                .into_iter()
                .filter_map(|j| serde_json::from_value::<ArmVersion>(j).ok())
            {
                let source = v
                    .properties
                    .as_ref()
                    .and_then(|p| p.storage_profile.as_ref())
                    .and_then(|s| s.source.as_ref())
                    .and_then(|s| s.id.as_deref());
                if source.is_some_and(|s| s.eq_ignore_ascii_case(image_id)) {
                    return Ok(v.id);
                }
            }
        }
    }
    Ok(None)
}

/// The request of the compose `compose_id` (from an image's or version's
/// tag), as Image Builder recorded it; none without a compose id.
async fn compose_request_of(
    rh: &RedHatClient,
    compose_id: Option<&str>,
    dl: Instant,
) -> Result<Option<ComposeRequest>, Diagnostics> {
    let Some(c) = compose_id else { return Ok(None) };
    rh.compose_request(c, dl)
        .await
        .map_err(|e| Diagnostics::from(redhat_diag("read the compose", &e)))
}

/// A build published to a gallery, imported by its version's ARM id: the
/// version carries the compose id (as Image Builder's images do) and its
/// source, the managed image the compose delivered.
async fn import_published(ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
    let p: Vec<&str> = id.trim_start_matches('/').split('/').collect();
    if p.len() != 12 || !p[10].eq_ignore_ascii_case("versions") {
        return Err(Diagnostic::error("Invalid import id", format!("Import a build published to a gallery by its version id, /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/galleries/<gallery>/images/<definition>/versions/<version>; got {id:?}.")).into());
    }
    let data = need(ctx.data(), None)?;
    let rh = need(data.redhat(), None)?;
    let arm = need(data.arm(), None)?;
    let dl = Instant::now() + TIMEOUT;
    let v = arm
        .get_as::<ArmVersion>(id, GALLERY_API, dl)
        .await
        .map_err(|e| Diagnostics::from(arm_diag("read the image version", &e)))?
        .ok_or_else(|| {
            Diagnostics::from(Diagnostic::error("No such image version", id.to_string()))
        })?;
    let compose_id = v.tags.as_ref().and_then(|t| t.get(COMPOSE_ID_TAG).cloned());
    let props = v.properties.clone().unwrap_or_default();
    let image = props
        .storage_profile
        .and_then(|s| s.source)
        .and_then(|s| s.id);
    let request = compose_request_of(rh, compose_id.as_deref(), dl).await?;
    let (Some(req), Some(image)) = (request, image) else {
        return Err(Diagnostic::error("Not an Image Builder build", format!("{id} carries no compose-id tag and managed-image source from an Image Builder build; manage it with rhelazure_gallery_image_version instead.")).into());
    };
    let rg = azure_options(&req).resource_group.unwrap_or_default();
    let mut state = state_from_request(
        &req,
        &image,
        p[1],
        &rg,
        compose_id.as_deref().unwrap_or_default(),
        v.location.as_deref(),
    );
    // Only the image's own region is what an unset target_regions means.
    let regions: Option<Vec<String>> = props
        .publishing_profile
        .and_then(|pp| pp.target_regions)
        .map(|ts| ts.into_iter().filter_map(|t| t.name).collect::<Vec<_>>())
        .filter(|r| !(r.len() == 1 && Some(r[0].as_str()) == v.location.as_deref()));
    state.gallery = Some(GalleryModel {
        resource_group_name: (!p[3].eq_ignore_ascii_case(&rg)).then(|| p[3].to_string()),
        gallery_name: Some(p[7].to_string()),
        image_name: Some(p[9].to_string()),
        version: Some(p[11].to_string()),
        target_regions: regions,
    });
    state.gallery_image_version_id = Some(id.to_string());
    Ok(state.to_value())
}

/// State rebuilt from a compose request (import).
fn state_from_request(
    req: &ComposeRequest,
    id: &str,
    sub: &str,
    rg: &str,
    compose_id: &str,
    location: Option<&str>,
) -> Model {
    let image_request = req
        .image_requests
        .as_ref()
        .and_then(|r| r.first())
        .cloned()
        .unwrap_or_default();
    let o = azure_options(req);
    let customizations = req.customizations.clone().map(|c| CustomizationsModel {
        packages: c.packages,
        users: c.users.map(|users| {
            users
                .into_iter()
                .map(|u| UserModel {
                    name: u.name,
                    ssh_key: u.ssh_key,
                    groups: u.groups,
                })
                .collect()
        }),
        subscription: c.subscription.map(|s| SubscriptionModel {
            organization: s.organization,
            activation_key: s.activation_key,
            insights: s.insights,
            rhc: s.rhc,
        }),
        services: c.services.map(|s| ServicesModel {
            enabled: s.enabled,
            disabled: s.disabled,
            masked: s.masked,
        }),
        filesystem: c.filesystem.map(|f| {
            f.into_iter()
                .map(|x| FilesystemModel {
                    mountpoint: x.mountpoint,
                    min_size: x.min_size.and_then(|m| m.as_u64()),
                })
                .collect()
        }),
    });
    Model {
        id: Some(id.to_string()),
        distribution: req.distribution.as_ref().map(|d| d.as_str().to_string()),
        architecture: image_request.architecture.map(|a| a.as_str().to_string()),
        image_name: o.image_name,
        resource_group_name: Some(rg.to_string()),
        tenant_id: o.tenant_id,
        subscription_id: Some(sub.to_string()),
        hyper_v_generation: o.hyper_v_generation.map(|g| g.as_str().to_string()),
        customizations,
        compose_id: Some(compose_id.to_string()),
        status: Some("success".into()),
        location: location.map(str::to_string),
        gallery: None,
        gallery_image_version_id: None,
        timeouts: None,
    }
}

/// The list resource: the managed images of the subscription that Red Hat's Image Builder delivered (they carry its `compose-id` tag), each with the compose request that made it.
pub const IMAGE_BUILDS: super::common::ManagedImages = super::common::ManagedImages {
    type_name: "rhelazure_image_build",
    description: "The managed images of the subscription that Red Hat's Image Builder delivered (they carry its `compose-id` tag), each with the compose request that made it.",
    resource: &ImageBuild,
    made_by_image_builder: true,
    what: |image| {
        format!("compose {}", image.tag(COMPOSE_ID_TAG).unwrap_or_default())
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_has_the_schemas_attributes() {
        let schema = ImageBuild.schema();
        assert_eq!(model::mismatch::<Model>(&schema), None);
        use model::mismatch_at;
        assert_eq!(
            mismatch_at::<CustomizationsModel>(&schema, &["customizations"]),
            None
        );
        let inner = |name| ["customizations", name];
        assert_eq!(mismatch_at::<UserModel>(&schema, &inner("users")), None);
        assert_eq!(
            mismatch_at::<SubscriptionModel>(&schema, &inner("subscription")),
            None
        );
        assert_eq!(
            mismatch_at::<ServicesModel>(&schema, &inner("services")),
            None
        );
        assert_eq!(
            mismatch_at::<FilesystemModel>(&schema, &inner("filesystem")),
            None
        );
    }

    /// Every nested field set: encoding refuses an attribute the schema does
    /// not have, so a misspelt nested field fails here.
    #[test]
    fn a_full_model_round_trips_through_the_schema() {
        let full = Model {
            id: Some("/i".into()),
            distribution: Some("rhel-9.6".into()),
            customizations: Some(CustomizationsModel {
                packages: Some(vec!["podman".into()]),
                users: Some(vec![UserModel {
                    name: Some("ops".into()),
                    ssh_key: Some("ssh-ed25519 AAAA".into()),
                    groups: Some(vec!["wheel".into()]),
                }]),
                subscription: Some(SubscriptionModel {
                    organization: Some(11009103),
                    activation_key: Some("hosts".into()),
                    insights: Some(true),
                    rhc: Some(false),
                }),
                services: Some(ServicesModel {
                    enabled: Some(vec!["podman.socket".into()]),
                    disabled: Some(vec![]),
                    masked: None,
                }),
                filesystem: Some(vec![FilesystemModel {
                    mountpoint: Some("/var".into()),
                    min_size: Some(10 << 30),
                }]),
            }),
            ..Default::default()
        };
        let value = full.to_value();
        assert_ne!(value, Value::Null);
        assert_eq!(Model::of(&value), full);
        let request = compose_request(&full);
        let c = request.customizations.unwrap();
        assert_eq!(c.subscription.unwrap().organization, Some(11009103));
        assert_eq!(
            c.filesystem.unwrap()[0].min_size,
            Some(serde_json::json!(10u64 << 30))
        );
    }
}
