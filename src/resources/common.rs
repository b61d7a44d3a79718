//! What several resources share: deadlines from `timeouts`, turning client
//! errors into diagnostics that name the call and the service's own words,
//! reading optional strings out of values, and what list resources share
//! (managed images page by page, a listed object read as an import reads it).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::arm::{ArmClient, ArmError};
use crate::framework::{
    timeouts, Attr, AttributePath, Ctx, Diagnostic, Diagnostics, Found, IdentityDef,
    IdentityValues, ListQuery, ListResource, ListResults, Private, Resource, ResourceSchema, Value,
};
use crate::provider::ProviderData;
use crate::redhat::RedHatError;

/// Every resource of an ARM type (`Microsoft.Compute/images`, ...) in the
/// subscription, or in one resource group, all pages, at the api-version of
/// the type's resource provider.
pub async fn all_of_type(
    arm: &ArmClient,
    resource_type: &str,
    api_version: &str,
    group: Option<&str>,
    deadline: Instant,
) -> Result<Vec<serde_json::Value>, ArmError> {
    let path = match group {
        Some(g) => arm.sub_path(&format!("/resourceGroups/{g}/providers/{resource_type}")),
        None => arm.sub_path(&format!("/providers/{resource_type}")),
    };
    all_pages(arm, &path, api_version, deadline).await
}

/// Every item of an ARM list (`path`, such as a gallery's `/images`), all pages.
pub async fn all_pages(
    arm: &ArmClient,
    path: &str,
    api_version: &str,
    deadline: Instant,
) -> Result<Vec<serde_json::Value>, ArmError> {
    let (mut all, mut next) = arm.first_page(path, api_version, deadline).await?;
    while let Some(link) = next {
        let (items, more) = arm.next_page(&link, deadline).await?;
        all.extend(items);
        next = more;
    }
    Ok(all)
}

/// A list resource over managed images: those Image Builder made (they
/// carry its `compose-id` tag) or the others, each as `resource` imports it,
/// named by `what` the image is. `rhelazure_image` and
/// `rhelazure_image_build` are two of these.
pub struct ManagedImages {
    pub type_name: &'static str,
    pub description: &'static str,
    pub resource: &'static dyn Resource<ProviderData>,
    pub made_by_image_builder: bool,
    pub what: fn(&crate::arm::models::compute::Image) -> String,
}

#[async_trait::async_trait]
impl ListResource<ProviderData> for ManagedImages {
    fn type_name(&self) -> &'static str {
        self.type_name
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            self.description,
            vec![Attr::string("resource_group_name")
                .optional()
                .description("Only the images of this resource group.")],
        )
    }

    async fn list(
        &self,
        ctx: &Ctx<ProviderData>,
        query: &ListQuery<'_>,
        out: &mut ListResults<'_>,
    ) -> Result<(), Diagnostics> {
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let filter: ResourceGroupFilter = crate::framework::model::read(query.config);
        let group = filter.resource_group_name.as_deref();
        let dl = Instant::now() + Duration::from_secs(1800);
        let images = all_of_type(arm, "Microsoft.Compute/images", "2024-03-01", group, dl)
            .await
            .map_err(|e| Diagnostics::from(arm_diag("list the managed images", &e)))?;
        let images = images
            .into_iter()
            .filter_map(|j| serde_json::from_value::<crate::arm::models::compute::Image>(j).ok());
        for image in images {
            if image.tag(super::image_build::COMPOSE_ID_TAG).is_some() != self.made_by_image_builder
            {
                continue;
            }
            let id = image.id.as_deref().unwrap_or_default();
            let Some(state) = imported_state(self.resource, ctx, id).await? else {
                continue;
            };
            let group = crate::arm::segment_after(id, "resourceGroups").unwrap_or_default();
            let name = image.name.as_deref().unwrap_or_default();
            let display_name = format!("{name} ({group}): {}", (self.what)(&image));
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

/// The state of the object `id` names, exactly as `terraform import` of that
/// id would leave it (the resource's import, then its read): how list
/// resources build results, so that adopting one changes nothing. None when
/// it is gone by now.
pub async fn imported_state(
    resource: &dyn Resource<ProviderData>,
    ctx: &Ctx<ProviderData>,
    id: &str,
) -> Result<Option<Value>, Diagnostics> {
    let partial = resource.import(ctx, id).await?;
    Ok(resource
        .read(ctx, &partial, &Private::default())
        .await?
        .map(|(state, _)| state))
}

/// When an operation must be done, from the resource's `timeouts` block.
/// How long a plan-time question to a service (image checks, terms,
/// distributions) may take before the plan gives up on it.
pub const PLAN_CHECK_TIMEOUT: Duration = Duration::from_secs(120);

pub fn deadline(resource: &Value, operation: &str, default: Duration) -> Instant {
    Instant::now() + timeouts::get(resource, operation, default)
}

/// Tags as state keeps them: what Azure holds, without this provider's
/// creation mark (`creation_marker::TAG`), and no tags and a configured
/// `tags = {}` are the same to Azure, so `{}` stays `{}`.
pub fn kept_tags(
    read: Option<BTreeMap<String, String>>,
    configured: &Option<BTreeMap<String, String>>,
) -> Option<BTreeMap<String, String>> {
    let read = read.map(|mut t| {
        t.remove(super::creation_marker::TAG);
        t
    });
    match (read.filter(|t| !t.is_empty()), configured) {
        (Some(t), _) => Some(t),
        (None, Some(_)) => Some(BTreeMap::new()),
        (None, None) => None,
    }
}

/// Regions as Azure spells them vary (`East US`, `eastus`): compared so.
pub fn region_key(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Deletes an ARM resource; one already gone counts as deleted.
pub async fn delete_arm(
    arm: &ArmClient,
    id: &str,
    api_version: &str,
    what: &str,
    deadline: Instant,
) -> Diagnostics {
    match arm
        .run(
            azure_core::http::Method::Delete,
            id,
            api_version,
            None,
            deadline,
        )
        .await
    {
        Ok(_) => Diagnostics::new(),
        Err(e) if e.is_not_found() => Diagnostics::new(),
        Err(e) => arm_diag(&format!("delete {what}"), &e).into(),
    }
}

/// Azure errors as diagnostics: what we tried, and ARM's code, message, target and ids.
pub fn arm_diag(action: &str, e: &ArmError) -> Diagnostic {
    let hint = match e.code() {
        Some("AuthorizationFailed") => "\n\nThe identity the provider uses lacks a role on this scope (Contributor on the resource group is enough for every rhelazure resource).",
        Some("MarketplacePurchaseEligibilityFailed") => "\n\nAccept the image's Marketplace terms first: add a rhelazure_marketplace_agreement for its plan (and, for rhel-byos, a rhelazure_cloud_access enrolment).",
        _ => "",
    };
    Diagnostic::error(format!("Could not {action}"), format!("{e}{hint}"))
}

pub fn redhat_diag(action: &str, e: &RedHatError) -> Diagnostic {
    Diagnostic::error(format!("Could not {action}"), e.to_string())
}

/// Lower-case hex SHA-256 of some bytes.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref())
}

/// Lower-case hex of some bytes (one spelling for every digest shown).
pub use crate::vhd::upload::hex;

/// A diagnostic at `attr` when a required client is missing.
pub fn need<T>(r: Result<T, Diagnostic>, attr: Option<&str>) -> Result<T, Diagnostics> {
    r.map_err(|d| match attr {
        Some(a) => d.at(AttributePath::attrs(&[a])).into(),
        None => d.into(),
    })
}

/// The ARM client for `subscription_id` (the provider's subscription when
/// none is named, as in states from before the attribute), and that
/// subscription.
pub fn arm_in_subscription(
    data: Result<&crate::provider::ProviderData, Diagnostic>,
    subscription_id: Option<&str>,
) -> Result<(crate::arm::ArmClient, String), Diagnostic> {
    let arm = data?.arm()?;
    let sub = subscription_id.map_or_else(|| arm.subscription_id().to_string(), str::to_string);
    Ok((arm.in_subscription(&sub), sub))
}

/// The configuration of a `list` block that filters by resource group.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ResourceGroupFilter {
    pub resource_group_name: Option<String>,
}

/// Resource identity of ARM resources (`subscription_id`,
/// `resource_group_name` and a name attribute), read from and turned back
/// into the resource's ARM id. Every part is lower-cased: ARM compares them
/// case-insensitively and answers in whatever case it likes (resource group
/// names especially), and an identity must never change.
pub struct ArmIdentity {
    /// The state attribute holding the ARM id.
    pub id_attr: &'static str,
    /// `Microsoft.Compute/images`, `Microsoft.Compute/virtualMachines`.
    pub resource_type: &'static str,
    /// The identity attribute holding the resource's name.
    pub name_attr: &'static str,
    pub name_description: &'static str,
}

impl ArmIdentity {
    /// From an ARM id of this type; None for anything else (unknown ids too).
    pub fn of_id(&self, id: &str) -> Option<IdentityValues> {
        let p: Vec<&str> = id.trim_start_matches('/').split('/').collect();
        let (namespace, kind) = self.resource_type.split_once('/')?;
        let shape = p.len() == 8
            && p[0].eq_ignore_ascii_case("subscriptions")
            && p[2].eq_ignore_ascii_case("resourceGroups")
            && p[4].eq_ignore_ascii_case("providers")
            && p[5].eq_ignore_ascii_case(namespace)
            && p[6].eq_ignore_ascii_case(kind)
            && p.iter().all(|s| !s.is_empty());
        shape.then(|| {
            [
                ("subscription_id", p[1]),
                ("resource_group_name", p[3]),
                (self.name_attr, p[7]),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_ascii_lowercase()))
            .collect()
        })
    }

    /// The ARM id the identity names (the resource's import id).
    pub fn id(&self, identity: &IdentityValues) -> Result<String, Diagnostic> {
        let get = |k: &str| {
            identity.get(k).cloned().ok_or_else(|| {
                Diagnostic::error("Incomplete identity", format!("The identity needs {k}."))
            })
        };
        Ok(format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{}/{}",
            get("subscription_id")?,
            get("resource_group_name")?,
            self.resource_type,
            get(self.name_attr)?
        ))
    }
}

impl IdentityDef for ArmIdentity {
    fn attributes(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("subscription_id", "Azure subscription id (lower case)."),
            ("resource_group_name", "Resource group name (lower case)."),
            (self.name_attr, self.name_description),
        ]
    }

    fn of_state(&self, state: &Value) -> Option<IdentityValues> {
        self.of_id(state.attr(self.id_attr).as_str()?)
    }

    fn import_id(&self, identity: &IdentityValues) -> Result<String, Diagnostic> {
        self.id(identity)
    }
}

/// Resource identity of an ARM child resource (a gallery's image
/// definition): subscription, resource group, the parent's name and the
/// child's, lower-cased as `ArmIdentity` does.
pub struct ArmChildIdentity {
    /// The state attribute holding the ARM id.
    pub id_attr: &'static str,
    /// `Microsoft.Compute/galleries`
    pub parent_type: &'static str,
    pub parent_attr: &'static str,
    pub parent_description: &'static str,
    /// `images`
    pub child_type: &'static str,
    pub name_attr: &'static str,
    pub name_description: &'static str,
}

impl ArmChildIdentity {
    /// The identity of an ARM id of this type, or None for any other id.
    pub fn of_id(&self, id: &str) -> Option<IdentityValues> {
        let p: Vec<&str> = id.trim_start_matches('/').split('/').collect();
        let (namespace, kind) = self.parent_type.split_once('/')?;
        let shape = p.len() == 10
            && p[0].eq_ignore_ascii_case("subscriptions")
            && p[2].eq_ignore_ascii_case("resourceGroups")
            && p[4].eq_ignore_ascii_case("providers")
            && p[5].eq_ignore_ascii_case(namespace)
            && p[6].eq_ignore_ascii_case(kind)
            && p[8].eq_ignore_ascii_case(self.child_type)
            && p.iter().all(|s| !s.is_empty());
        shape.then(|| {
            [
                ("subscription_id", p[1]),
                ("resource_group_name", p[3]),
                (self.parent_attr, p[7]),
                (self.name_attr, p[9]),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_ascii_lowercase()))
            .collect()
        })
    }
}

impl IdentityDef for ArmChildIdentity {
    fn attributes(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("subscription_id", "Azure subscription id (lower case)."),
            ("resource_group_name", "Resource group name (lower case)."),
            (self.parent_attr, self.parent_description),
            (self.name_attr, self.name_description),
        ]
    }

    fn of_state(&self, state: &Value) -> Option<IdentityValues> {
        self.of_id(state.attr(self.id_attr).as_str()?)
    }

    fn import_id(&self, identity: &IdentityValues) -> Result<String, Diagnostic> {
        let get = |k: &str| {
            identity.get(k).cloned().ok_or_else(|| {
                Diagnostic::error("Incomplete identity", format!("The identity needs {k}."))
            })
        };
        Ok(format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{}/{}/{}/{}",
            get("subscription_id")?,
            get("resource_group_name")?,
            self.parent_type,
            get(self.parent_attr)?,
            self.child_type,
            get(self.name_attr)?
        ))
    }
}

/// A resource identity that is one state attribute, as the service spells
/// it (a Red Hat name or id), and the resource's import id.
pub struct AttributeIdentity {
    pub attr: &'static str,
    pub description: &'static str,
}

impl IdentityDef for AttributeIdentity {
    fn attributes(&self) -> Vec<(&'static str, &'static str)> {
        vec![(self.attr, self.description)]
    }

    fn of_state(&self, state: &Value) -> Option<IdentityValues> {
        let v = state.attr(self.attr).as_str()?;
        Some(
            [(self.attr.to_string(), v.to_string())]
                .into_iter()
                .collect(),
        )
    }

    fn import_id(&self, identity: &IdentityValues) -> Result<String, Diagnostic> {
        identity.get(self.attr).cloned().ok_or_else(|| {
            Diagnostic::error(
                "Incomplete identity",
                format!("The identity needs {}.", self.attr),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VM: ArmIdentity = ArmIdentity {
        id_attr: "id",
        resource_type: "Microsoft.Compute/virtualMachines",
        name_attr: "name",
        name_description: "",
    };

    #[test]
    fn arm_identities_are_lower_case_and_round_trip() {
        let id = "/subscriptions/5AB5C41D-0000-4000-A000-00000000D3E0/resourceGroups/RHEL-Demo/providers/microsoft.compute/virtualMachines/Web-1";
        let identity = VM.of_id(id).unwrap();
        assert_eq!(
            identity["subscription_id"],
            "5ab5c41d-0000-4000-a000-00000000d3e0"
        );
        assert_eq!(identity["resource_group_name"], "rhel-demo");
        assert_eq!(identity["name"], "web-1");
        // The same object as ARM spells it another time: the same identity.
        assert_eq!(VM.of_id(&id.to_ascii_lowercase()), Some(identity.clone()));
        let back = VM.id(&identity).unwrap();
        assert!(back.eq_ignore_ascii_case(id), "{back}");
        assert_eq!(VM.of_id(&back), Some(identity));
    }

    #[test]
    fn configured_empty_tags_stay_empty() {
        let some = Some(BTreeMap::from([("env".to_string(), "prod".to_string())]));
        assert_eq!(kept_tags(some.clone(), &None), some);
        assert_eq!(
            kept_tags(Some(BTreeMap::new()), &Some(BTreeMap::new())),
            Some(BTreeMap::new())
        );
        assert_eq!(
            kept_tags(None, &Some(BTreeMap::new())),
            Some(BTreeMap::new())
        );
        assert_eq!(kept_tags(Some(BTreeMap::new()), &None), None);
    }

    #[test]
    fn other_ids_have_no_arm_identity() {
        for id in [
            "",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/i",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v/extensions/e",
        ] {
            assert_eq!(VM.of_id(id), None, "{id}");
        }
        let e = VM.id(&Default::default()).unwrap_err();
        assert!(e.detail.contains("subscription_id"), "{e:?}");
    }
}
