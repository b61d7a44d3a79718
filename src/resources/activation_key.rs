//! `rhelazure_activation_key`: an RHSM activation key hosts register with
//! (`/api/rhsm/v2/activation_keys`). The name is the key's identity (changing
//! it replaces the key); system purpose, release version, description and the
//! set of additional repositories change in place.
//!
//! Names are unique in an organization, so a create interrupted after RHSM
//! made the key (provider killed, connection lost) cannot duplicate it: the
//! re-run finds the name taken and adopts the key when it has exactly the
//! planned system purpose, release and description (what this configuration
//! would have made), or fails naming `terraform import` when it differs.
//!
//! Its list resource finds the organization's keys, for `terraform query`.

use crate::attr_path;
use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;

use super::common::{deadline, need, redhat_diag};
use crate::framework::model;
use crate::framework::validators::{length_between, one_of, string_matches};
use crate::framework::{
    timeouts, ApplyOutcome, Attr, Ctx, Diagnostic, Diagnostics, Found, ListQuery, ListResource,
    ListResults, Private, Resource, ResourceSchema, Value,
};
use crate::provider::ProviderData;
use crate::redhat::models::rhsm::{
    ActivationKeys as ApiKey, CreateActivationKey, UpdateActivationKey,
};

pub struct ActivationKey;

const ROLES: [&str; 3] = [
    "Red Hat Enterprise Linux Server",
    "Red Hat Enterprise Linux Workstation",
    "Red Hat Enterprise Linux Compute Node",
];
const SERVICE_LEVELS: [&str; 3] = ["Premium", "Standard", "Self-Support"];
const USAGES: [&str; 3] = ["Production", "Development/Test", "Disaster Recovery"];
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The resource's configuration, plan and state, typed (the schema's
/// attributes, checked against it in the tests below).
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Model {
    id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    release_version: Option<String>,
    role: Option<String>,
    service_level: Option<String>,
    usage: Option<String>,
    additional_repositories: Option<BTreeSet<String>>,
    timeouts: Option<serde_json::Value>,
}

impl Model {
    fn of(v: &Value) -> Model {
        model::read(v)
    }

    fn name(&self) -> String {
        self.name.clone().unwrap_or_default()
    }

    fn repos(&self) -> BTreeSet<String> {
        self.additional_repositories.clone().unwrap_or_default()
    }

    /// The settings PUT changes, as the API spells them.
    fn settings(&self) -> UpdateActivationKey {
        UpdateActivationKey {
            description: self.description.clone(),
            release_version: self.release_version.clone(),
            role: self.role.clone(),
            service_level: self.service_level.clone(),
            usage: self.usage.clone(),
        }
    }

    /// The state for an API key, keeping this model's timeouts and, when the
    /// key has no repositories, whether the configuration set an empty set
    /// (the API does not tell an empty set from none).
    fn with_key(&self, key: &ApiKey) -> Model {
        let text = |x: &Option<String>| x.clone().filter(|x| !x.is_empty());
        let repos: BTreeSet<String> = key
            .additional_repositories
            .iter()
            .flatten()
            .filter_map(|r| r.repository_label.clone())
            .collect();
        let additional_repositories = match (repos.is_empty(), &self.additional_repositories) {
            (true, None) => None,
            _ => Some(repos),
        };
        Model {
            id: text(&key.id),
            name: text(&key.name),
            description: text(&key.description),
            release_version: text(&key.release_version),
            role: text(&key.role),
            service_level: text(&key.service_level),
            usage: text(&key.usage),
            additional_repositories,
            timeouts: self.timeouts.clone(),
        }
    }

    fn to_value(&self) -> Value {
        model::write(self, crate::schema_type!(ActivationKey.schema()))
    }
}

/// The changeable settings of a key the API returned.
fn settings_of_key(key: &ApiKey) -> UpdateActivationKey {
    UpdateActivationKey {
        description: key.description.clone(),
        release_version: key.release_version.clone(),
        role: key.role.clone(),
        service_level: key.service_level.clone(),
        usage: key.usage.clone(),
    }
}

/// The settings as (value in one, value in the other) pairs.
fn paired<'a>(
    a: &'a UpdateActivationKey,
    b: &'a UpdateActivationKey,
) -> [(Option<&'a str>, Option<&'a str>); 5] {
    [
        (a.description.as_deref(), b.description.as_deref()),
        (a.release_version.as_deref(), b.release_version.as_deref()),
        (a.role.as_deref(), b.role.as_deref()),
        (a.service_level.as_deref(), b.service_level.as_deref()),
        (a.usage.as_deref(), b.usage.as_deref()),
    ]
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The state for an API key, keeping the configuration's timeouts.
fn to_state(key: &ApiKey, prior: &Value) -> Value {
    Model::of(prior).with_key(key).to_value()
}

/// Whether an existing key has the settings `body` would give it (an unset
/// field reads back absent or empty).
fn same_fields(key: &ApiKey, body: &UpdateActivationKey) -> bool {
    let have = settings_of_key(key);
    paired(&have, body)
        .iter()
        .all(|(a, b)| a.unwrap_or_default() == b.unwrap_or_default())
}

/// The PUT body: unset fields are cleared (an empty string is how the API
/// removes them).
fn put_body(v: &Value) -> UpdateActivationKey {
    let settings = Model::of(v).settings();
    let cleared = |x: Option<String>| Some(x.unwrap_or_default());
    UpdateActivationKey {
        description: cleared(settings.description),
        release_version: cleared(settings.release_version),
        role: cleared(settings.role),
        service_level: cleared(settings.service_level),
        usage: cleared(settings.usage),
    }
}

/// The create body: the settings that are set, and the name.
fn create_body(name: &str, settings: &UpdateActivationKey) -> CreateActivationKey {
    let set = |x: &Option<String>| x.clone().filter(|x| !x.is_empty());
    CreateActivationKey {
        name: Some(name.to_string()),
        description: set(&settings.description),
        release_version: set(&settings.release_version),
        role: set(&settings.role),
        service_level: set(&settings.service_level),
        usage: set(&settings.usage),
        additional_repositories: None,
    }
}

#[async_trait]
impl Resource<ProviderData> for ActivationKey {
    fn type_name(&self) -> &'static str {
        "rhelazure_activation_key"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "An RHSM activation key: hosts register with Red Hat using it and their organization id. \
             System purpose values are checked against what RHSM accepts.",
            vec![
                Attr::string("id").computed().use_state_for_unknown().description("The key's RHSM id."),
                Attr::string("name")
                    .required()
                    .force_new()
                    .validate(string_matches("letters, digits, '_' and '-' only", valid_name))
                    .validate(length_between(1, 255))
                    .description("Name of the key (letters, digits, `_`, `-`). Changing it creates a new key."),
                Attr::string("description").optional().validate(length_between(1, 255)).description("Up to 255 characters."),
                Attr::string("release_version").optional().description("RHEL release to pin hosts to, such as `9.6`."),
                Attr::string("role").optional().validate(one_of(&ROLES)).description("System purpose role."),
                Attr::string("service_level").optional().validate(one_of(&SERVICE_LEVELS)).description("System purpose service level."),
                Attr::string("usage").optional().validate(one_of(&USAGES)).description("System purpose usage."),
                Attr::string_set("additional_repositories").optional().description("Repository labels enabled on registered hosts, such as `codeready-builder-for-rhel-9-x86_64-rpms`."),
            ],
        )
        .blocks(vec![timeouts::block(&["create", "update", "delete"])])
    }

    async fn modify_plan(
        &self,
        ctx: &Ctx<ProviderData>,
        plan: &mut crate::framework::PlanContext<'_>,
    ) {
        // Red Hat credentials are needed by this resource only: say so at plan time.
        if let Ok(data) = ctx.data() {
            if let Err(d) = data.redhat() {
                plan.diagnostics.push(d);
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
        let rh = match ctx.data().and_then(|d| d.redhat()) {
            Ok(r) => r,
            Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
        };
        let dl = deadline(planned, "create", DEFAULT_TIMEOUT);
        let name = Model::of(planned).name();
        let wanted_settings = put_body(planned);
        let body = create_body(&name, &wanted_settings);
        let created = match rh.create_activation_key(&body, dl).await {
            Ok(k) => k,
            Err(e) if e.status() == Some(400) && e.to_string().contains("already exists") => {
                match rh.get_activation_key(&name, dl).await {
                    Ok(Some(k)) if same_fields(&k, &wanted_settings) => {
                        tracing::info!(target: "rhelazure.resources", key = %name, "activation key already exists with the planned settings (an interrupted create): adopting it");
                        k
                    }
                    Ok(_) => {
                        return ApplyOutcome::failed(
                            Value::Null,
                            Diagnostic::error(
                                "Activation key already exists",
                                format!("An activation key named {name:?} already exists in the organization with other settings. Import it (terraform import with the name) or choose another name."),
                            )
                            .at(attr_path!(Model.name))
                            .into(),
                        )
                    }
                    Err(e) => {
                        return ApplyOutcome::failed(
                            Value::Null,
                            redhat_diag(&format!("read the existing activation key {name:?}"), &e).into(),
                        )
                    }
                }
            }
            Err(e) => {
                return ApplyOutcome::failed(
                    Value::Null,
                    redhat_diag(&format!("create activation key {name:?}"), &e).into(),
                )
            }
        };
        let wanted: Vec<String> = Model::of(planned).repos().into_iter().collect();
        if !wanted.is_empty() {
            if let Err(e) = rh.add_repositories(&name, &wanted, dl).await {
                // The key exists: hand it to Terraform (tainted) rather than lose it.
                return ApplyOutcome::failed(
                    to_state(&created, planned),
                    redhat_diag(&format!("add repositories to activation key {name:?}"), &e).into(),
                );
            }
        }
        // createActivationKeys answers with the key itself: read it back only
        // when repositories were added after it (or the answer was empty).
        if wanted.is_empty() && created.name.as_deref() == Some(name.as_str()) {
            return ApplyOutcome::ok(to_state(&created, planned));
        }
        match rh.get_activation_key(&name, dl).await {
            Ok(Some(k)) => ApplyOutcome::ok(to_state(&k, planned)),
            Ok(None) => ApplyOutcome::failed(
                Value::Null,
                Diagnostic::error(
                    "Activation key vanished",
                    format!("{name:?} was created but cannot be read back."),
                )
                .into(),
            ),
            Err(e) => ApplyOutcome::failed(
                to_state(&created, planned),
                redhat_diag("read the activation key back", &e).into(),
            ),
        }
    }

    async fn read(
        &self,
        ctx: &Ctx<ProviderData>,
        state: &Value,
        private: &Private,
    ) -> Result<Option<(Value, Private)>, Diagnostics> {
        let rh = need(ctx.data().and_then(|d| d.redhat()), None)?;
        let name = Model::of(state).name();
        match rh
            .get_activation_key(&name, deadline(state, "read", DEFAULT_TIMEOUT))
            .await
        {
            Ok(Some(k)) => Ok(Some((to_state(&k, state), private.clone()))),
            Ok(None) => Ok(None),
            Err(e) => Err(redhat_diag(&format!("read activation key {name:?}"), &e).into()),
        }
    }

    async fn update(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        private: &Private,
    ) -> ApplyOutcome {
        let rh = match ctx.data().and_then(|d| d.redhat()) {
            Ok(r) => r,
            Err(d) => return ApplyOutcome::failed(prior.clone(), d.into()),
        };
        let dl = deadline(planned, "update", DEFAULT_TIMEOUT);
        let (was, will) = (Model::of(prior), Model::of(planned));
        let name = will.name();
        let fields_changed = was.settings() != will.settings();
        if fields_changed {
            if let Err(e) = rh
                .update_activation_key(&name, &put_body(planned), dl)
                .await
            {
                return ApplyOutcome::failed(
                    prior.clone(),
                    redhat_diag(&format!("update activation key {name:?}"), &e).into(),
                );
            }
        }
        let (have, want) = (was.repos(), will.repos());
        let add: Vec<String> = want.difference(&have).cloned().collect();
        let remove: Vec<String> = have.difference(&want).cloned().collect();
        let mut diags = Diagnostics::new();
        if !add.is_empty() {
            if let Err(e) = rh.add_repositories(&name, &add, dl).await {
                diags.push(redhat_diag("add repositories", &e));
            }
        }
        if !remove.is_empty() {
            if let Err(e) = rh.remove_repositories(&name, &remove, dl).await {
                diags.push(redhat_diag("remove repositories", &e));
            }
        }
        match rh.get_activation_key(&name, dl).await {
            Ok(Some(k)) => ApplyOutcome {
                state: to_state(&k, planned),
                private: private.clone(),
                diagnostics: diags,
            },
            Ok(None) => ApplyOutcome::failed(
                Value::Null,
                Diagnostic::error(
                    "Activation key vanished",
                    format!("{name:?} was deleted while being updated."),
                )
                .into(),
            ),
            Err(e) => {
                diags.push(redhat_diag("read the activation key back", &e));
                ApplyOutcome {
                    state: prior.clone(),
                    private: private.clone(),
                    diagnostics: diags,
                }
            }
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
        let name = Model::of(prior).name();
        match rh
            .delete_activation_key(&name, deadline(prior, "delete", DEFAULT_TIMEOUT))
            .await
        {
            Ok(()) => Diagnostics::new(),
            Err(e) => redhat_diag(&format!("delete activation key {name:?}"), &e).into(),
        }
    }

    /// Imported by name: `terraform import rhelazure_activation_key.k my-key`.
    async fn import(&self, _ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        if !valid_name(id) {
            return Err(Diagnostic::error(
                "Invalid import id",
                format!(
                    "Import an activation key by its name (letters, digits, '_', '-'); got {id:?}."
                ),
            )
            .into());
        }
        let imported = Model {
            name: Some(id.to_string()),
            ..Default::default()
        };
        Ok(imported.to_value())
    }

    /// Resource identity: the key's name, unique in the Red Hat organization.
    fn identity(&self) -> Option<&dyn crate::framework::IdentityDef> {
        Some(&super::common::AttributeIdentity {
            attr: "name",
            description: "Activation key name (unique in the organization).",
        })
    }
}

/// The list resource: the organization's activation keys.
pub struct ActivationKeys;

/// The configuration of the `list` block.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct ListConfig {
    name_prefix: Option<String>,
}

#[async_trait]
impl ListResource<ProviderData> for ActivationKeys {
    fn type_name(&self) -> &'static str {
        "rhelazure_activation_key"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "The activation keys of the Red Hat organization, whoever made them.",
            vec![Attr::string("name_prefix")
                .optional()
                .description("Only the keys whose name starts with this.")],
        )
    }

    async fn list(
        &self,
        ctx: &Ctx<ProviderData>,
        query: &ListQuery<'_>,
        out: &mut ListResults<'_>,
    ) -> Result<(), Diagnostics> {
        let rh = need(ctx.data().and_then(|d| d.redhat()), None)?;
        let filter: ListConfig = model::read(query.config);
        let prefix = filter.name_prefix.as_deref().unwrap_or("");
        let keys = match rh
            .list_activation_keys(std::time::Instant::now() + DEFAULT_TIMEOUT)
            .await
        {
            Ok(k) => k,
            Err(e) => return Err(redhat_diag("list the activation keys", &e).into()),
        };
        for key in keys {
            let name = key.name.as_deref().unwrap_or_default();
            if !name.starts_with(prefix) {
                continue;
            }
            let purpose: Vec<&str> = [&key.service_level, &key.usage, &key.role]
                .into_iter()
                .filter_map(|f| f.as_deref().filter(|v| !v.is_empty()))
                .collect();
            let display_name = if purpose.is_empty() {
                name.to_string()
            } else {
                format!("{name}: {}", purpose.join(", "))
            };
            let state = to_state(&key, &Value::Null);
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
            model::mismatch::<ListConfig>(&crate::framework::ListResource::schema(&ActivationKeys)),
            None
        );
        assert_eq!(model::mismatch::<Model>(&ActivationKey.schema()), None);
    }

    #[test]
    fn state_keeps_an_empty_set_only_where_the_configuration_had_one() {
        let key = ApiKey {
            name: Some("hosts".into()),
            usage: Some(String::new()),
            ..Default::default()
        };
        let unset = Model::default().with_key(&key);
        assert_eq!(unset.additional_repositories, None);
        assert_eq!(unset.usage, None, "an empty setting reads as unset");
        let empty = Model {
            additional_repositories: Some(BTreeSet::new()),
            ..Default::default()
        };
        assert_eq!(
            empty.with_key(&key).additional_repositories,
            Some(BTreeSet::new())
        );
    }
}
