//! How an ARM object this provider made for one resource is told from one it
//! did not make, so that a create interrupted after Azure acted (provider
//! killed, connection lost, Terraform stopped) is adopted by the next apply
//! instead of failing on "already exists", while an object someone else made
//! under the same name is still refused.
//!
//! The mark is a tag, [`TAG`], whose value hashes the object's id and what
//! the resource can never change in place (its region, its source, its
//! definition's identity). It is hidden from `tags` in state; updates keep it.
//! `rhelazure_atomic_host` has its own mark (it also covers the first boot).

use std::collections::BTreeMap;
use std::time::Instant;

use super::common::{arm_diag, sha256_hex};
use crate::arm::ArmClient;
use crate::framework::Diagnostic;

/// The tag that carries the mark.
pub const TAG: &str = "rhelazure-created";

/// The mark of an object at `id` whose fixed settings are `fixed`.
pub fn marker(id: &str, fixed: &impl serde::Serialize) -> String {
    let fixed = serde_json::to_string(fixed).unwrap_or_default();
    sha256_hex(format!("{}\n{fixed}", id.to_ascii_lowercase()).as_bytes())[..16].to_string()
}

/// The configured tags plus the mark: what create and update send.
pub fn with_mark(
    tags: &Option<BTreeMap<String, String>>,
    marker: &str,
) -> Option<BTreeMap<String, String>> {
    let mut tags = tags.clone().unwrap_or_default();
    tags.insert(TAG.to_string(), marker.to_string());
    Some(tags)
}

/// Any ARM object's tags, which is all [`claim`] reads.
#[derive(serde::Deserialize)]
struct Tagged {
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
}

/// Whether the name at `id` is free to create (false) or holds this
/// resource's own object from an interrupted create (true: adopt it; the
/// create's PUT then makes it what is planned). An object without the mark,
/// or with another, is refused with a diagnostic naming the fix.
pub async fn claim(
    arm: &ArmClient,
    id: &str,
    api_version: &str,
    marker: &str,
    what: &str,
    deadline: Instant,
) -> Result<bool, Diagnostic> {
    match arm.get_as::<Tagged>(id, api_version, deadline).await {
        Ok(None) => Ok(false),
        Ok(Some(found)) => {
            let mark = found.tags.as_ref().and_then(|t| t.get(TAG));
            if mark.map(String::as_str) == Some(marker) {
                tracing::info!(target: "rhelazure.resources", id = %id, "{what} made by an interrupted create of this resource: adopting it");
                return Ok(true);
            }
            let capitalized = what[..1].to_ascii_uppercase() + &what[1..];
            Err(Diagnostic::error(
                format!("{capitalized} already exists"),
                format!("{id} already exists and was not made by this configuration. Import it (terraform import with this id, or an import block) or choose another name."),
            ))
        }
        Err(e) => Err(arm_diag(&format!("check for the {what}"), &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_follows_the_id_and_the_fixed_settings() {
        let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g";
        let m = marker(id, &"eastus");
        assert_eq!(m.len(), 16);
        assert_eq!(m, marker(&id.to_ascii_uppercase(), &"eastus"));
        assert_ne!(m, marker(id, &"westus"));
        assert_ne!(m, marker(&format!("{id}2"), &"eastus"));
        let tags = with_mark(&Some([("team".into(), "a".into())].into()), &m).unwrap();
        assert_eq!(tags.get(TAG), Some(&m));
        assert_eq!(tags.get("team").map(String::as_str), Some("a"));
    }
}
