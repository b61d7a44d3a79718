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

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value as Json};

use super::common::{deadline, need, opt_str, redhat_diag};
use crate::framework::validators::{length_between, one_of, string_matches};
use crate::framework::{
    timeouts, ApplyOutcome, Attr, Ctx, Diagnostic, Diagnostics, Found, ListQuery, ListResource,
    ListResults, Private, Resource, ResourceSchema, Value,
};
use crate::provider::ProviderData;

pub struct ActivationKey;

const ROLES: [&str; 3] = [
    "Red Hat Enterprise Linux Server",
    "Red Hat Enterprise Linux Workstation",
    "Red Hat Enterprise Linux Compute Node",
];
const SERVICE_LEVELS: [&str; 3] = ["Premium", "Standard", "Self-Support"];
const USAGES: [&str; 3] = ["Production", "Development/Test", "Disaster Recovery"];
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// (attribute, API field) of the fields PUT can change.
const FIELDS: [(&str, &str); 5] = [
    ("description", "description"),
    ("release_version", "releaseVersion"),
    ("role", "role"),
    ("service_level", "serviceLevel"),
    ("usage", "usage"),
];

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn repos(v: &Value) -> BTreeSet<String> {
    v.attr("additional_repositories")
        .as_elements()
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect()
}

/// The state for an API key, keeping the configuration's timeouts.
fn to_state(key: &Json, prior: &Value) -> Value {
    let s = |f: &str| {
        key.get(f)
            .and_then(Json::as_str)
            .filter(|x| !x.is_empty())
            .map(|x| Value::from(x.to_string()))
            .unwrap_or(Value::Null)
    };
    let repos: Vec<Value> = key["additionalRepositories"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    r["repositoryLabel"]
                        .as_str()
                        .map(|l| Value::from(l.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut m = std::collections::BTreeMap::new();
    m.insert("id".to_string(), s("id"));
    m.insert("name".to_string(), s("name"));
    for (attr, field) in FIELDS {
        m.insert(attr.to_string(), s(field));
    }
    // An empty set and "not set" are the same for the API: keep what the configuration said.
    let repos_value = if repos.is_empty() && prior.attr("additional_repositories").is_null() {
        Value::Null
    } else {
        Value::Set(repos)
    };
    m.insert("additional_repositories".to_string(), repos_value);
    m.insert("timeouts".to_string(), prior.attr("timeouts").clone());
    Value::Object(m)
}

/// Whether an existing key has the settings `body` would give it (an unset
/// field reads back absent or empty).
fn same_fields(key: &Json, body: &Json) -> bool {
    FIELDS.iter().all(|(_, f)| {
        key.get(f).and_then(Json::as_str).unwrap_or_default()
            == body.get(f).and_then(Json::as_str).unwrap_or_default()
    })
}

fn put_body(v: &Value) -> Json {
    let mut b = serde_json::Map::new();
    for (attr, field) in FIELDS {
        // Unset fields are cleared (an empty string is how the API removes them).
        b.insert(
            field.to_string(),
            json!(opt_str(v, attr).unwrap_or_default()),
        );
    }
    Json::Object(b)
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
    ) -> ApplyOutcome {
        let rh = match ctx.data().and_then(|d| d.redhat()) {
            Ok(r) => r,
            Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
        };
        let dl = deadline(planned, "create", DEFAULT_TIMEOUT);
        let name = opt_str(planned, "name").unwrap_or_default();
        let mut body = put_body(planned);
        body["name"] = json!(name);
        if let Some(m) = body.as_object_mut() {
            m.retain(|_, v| v.as_str() != Some(""));
        }
        let created = match rh.create_activation_key(&body, dl).await {
            Ok(k) => k,
            Err(e) if e.status() == Some(400) && e.to_string().contains("already exists") => {
                match rh.get_activation_key(&name, dl).await {
                    Ok(Some(k)) if same_fields(&k, &body) => {
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
                            .at(crate::framework::AttributePath::attrs(&["name"]))
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
        let wanted: Vec<String> = repos(planned).into_iter().collect();
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
        if wanted.is_empty() && created["name"].as_str() == Some(name.as_str()) {
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
        let name = opt_str(state, "name").unwrap_or_default();
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
        let name = opt_str(planned, "name").unwrap_or_default();
        let fields_changed = FIELDS.iter().any(|(a, _)| prior.attr(a) != planned.attr(a));
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
        let (have, want) = (repos(prior), repos(planned));
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
        let name = opt_str(prior, "name").unwrap_or_default();
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
        Ok(Value::Object(
            [("name".to_string(), Value::from(id))]
                .into_iter()
                .collect(),
        ))
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
        let prefix = query.config.attr("name_prefix").as_str().unwrap_or("");
        let keys = match rh
            .list_activation_keys(std::time::Instant::now() + DEFAULT_TIMEOUT)
            .await
        {
            Ok(k) => k,
            Err(e) => return Err(redhat_diag("list the activation keys", &e).into()),
        };
        for key in keys {
            let name = key["name"].as_str().unwrap_or_default();
            if !name.starts_with(prefix) {
                continue;
            }
            let purpose: Vec<&str> = ["serviceLevel", "usage", "role"]
                .iter()
                .filter_map(|f| key[*f].as_str().filter(|v| !v.is_empty()))
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
