//! A gallery image version made from a managed image, replicated: what
//! `rhelazure_gallery_image_version` does, and what `rhelazure_image_build`
//! does with a `gallery` destination (the intermediate managed image then
//! deleted). The wait for replication logs each region's progress.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use azure_core::http::Method;

use super::common::{arm_diag, delete_arm};
use super::creation_marker;
use super::gallery::API;
use crate::arm::models::gallery::{
    GalleryArtifactVersionFullSource, GalleryImageVersion as ArmVersion,
    GalleryImageVersionProperties, GalleryImageVersionPublishingProfile,
    GalleryImageVersionStorageProfile, TargetRegion,
};
use crate::arm::ArmClient;
use crate::framework::{Diagnostic, Diagnostics};

/// The ARM id of a gallery image version.
pub(super) fn version_path(
    arm: &ArmClient,
    resource_group: &str,
    gallery: &str,
    definition: &str,
    version: &str,
) -> String {
    arm.sub_path(&format!(
        "/resourceGroups/{resource_group}/providers/Microsoft.Compute/galleries/{gallery}/images/{definition}/versions/{version}"
    ))
}

/// A managed image to publish as a gallery image version.
pub(super) struct Publication<'a> {
    /// The version's ARM id.
    pub version_id: &'a str,
    /// The managed image's ARM id.
    pub image_id: &'a str,
    /// The version's region: the image's.
    pub location: &'a str,
    /// Where it is replicated, one replica each.
    pub regions: &'a [String],
    /// Tags besides the creation mark.
    pub tags: BTreeMap<String, String>,
    /// The creation mark (`creation_marker`).
    pub marker: &'a str,
}

/// Publishes the image and waits for the replication. `Err` carries whether
/// the version exists (then it is tracked, tainted).
pub(super) async fn publish_managed_image(
    arm: &ArmClient,
    p: &Publication<'_>,
    dl: Instant,
) -> Result<ArmVersion, (Diagnostic, bool)> {
    let version_id = p.version_id;
    let body = ArmVersion {
        location: Some(p.location.to_string()),
        tags: creation_marker::with_mark(&Some(p.tags.clone()), p.marker),
        properties: Some(GalleryImageVersionProperties {
            publishing_profile: Some(GalleryImageVersionPublishingProfile {
                target_regions: Some(
                    p.regions
                        .iter()
                        .map(|r| TargetRegion {
                            name: Some(r.clone()),
                            regional_replica_count: Some(1),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            storage_profile: Some(GalleryImageVersionStorageProfile {
                source: Some(GalleryArtifactVersionFullSource {
                    id: Some(p.image_id.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let put = arm.run_with(Method::Put, version_id, API, &body, dl).await;
    match (put, replicated(arm, version_id, dl).await) {
        (Ok(_), Ok(Some(v))) => Ok(v),
        (Ok(_), Ok(None)) => Err((
            Diagnostic::error(
                "Image version vanished",
                format!("{version_id} was created but cannot be read back."),
            ),
            false,
        )),
        (Ok(_), Err(d)) => Err((d, true)),
        (Err(e), read) => Err((
            arm_diag("publish the image to the gallery", &e),
            matches!(read, Ok(Some(_))),
        )),
    }
}

/// Deletes a managed image that only fed a gallery version; one already
/// gone counts as deleted. A warning when it stays (it costs storage).
pub(super) async fn delete_intermediate_image(
    arm: &ArmClient,
    image_id: &str,
    api_version: &str,
    dl: Instant,
) -> Diagnostics {
    let diags = delete_arm(
        arm,
        image_id,
        api_version,
        "the intermediate managed image",
        dl,
    )
    .await;
    Diagnostics(
        diags
            .0
            .into_iter()
            .map(|d| {
                Diagnostic::warning(
                    "Intermediate image left behind",
                    format!(
                        "{}\n{image_id} only fed the gallery version: delete it by hand.",
                        d.detail
                    ),
                )
            })
            .collect(),
    )
}

/// Waits for the version's replication to end, logging each region's
/// progress as Azure reports it; the final read.
pub(super) async fn replicated(
    arm: &ArmClient,
    id: &str,
    dl: Instant,
) -> Result<Option<ArmVersion>, Diagnostic> {
    let expand = format!("{id}?$expand=ReplicationStatus");
    let mut last = String::new();
    loop {
        let v = arm
            .get_as::<ArmVersion>(&expand, API, dl)
            .await
            .map_err(|e| arm_diag("read the image version", &e))?;
        let Some(v) = v else { return Ok(None) };
        let status = v
            .properties
            .as_ref()
            .and_then(|p| p.replication_status.clone())
            .unwrap_or_default();
        let regions: Vec<String> = status
            .summary
            .iter()
            .flatten()
            .map(|r| {
                format!(
                    "{} {} {}%",
                    r.region.clone().unwrap_or_default(),
                    r.state.as_ref().map(|s| s.to_string()).unwrap_or_default(),
                    r.progress.unwrap_or(0)
                )
            })
            .collect();
        let now = regions.join(", ");
        if now != last {
            tracing::info!(target: "rhelazure.resources", version = %id, regions = %now, "replication");
            last = now;
        }
        let state = status.aggregated_state.map(|s| s.to_string());
        match state.as_deref() {
            Some("InProgress") if Instant::now() < dl => {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Some("Failed") => {
                return Err(Diagnostic::error(
                    "Replication failed",
                    format!("{id} did not replicate to every target region ({last})."),
                ))
            }
            _ => return Ok(Some(v)),
        }
    }
}
