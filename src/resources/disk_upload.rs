//! A disk image on the machine running Terraform, uploaded as a page blob:
//! what `rhelazure_image` and `rhelazure_gallery_image_version` share. The
//! file's SHA-256 at plan time (recorded against the file's identity, so a
//! multi-GiB file is not re-read by every plan), the account's blob endpoint
//! and SAS through ARM, the container, the resumable upload
//! (`crate::vhd::upload`), and deleting the blob afterwards.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use azure_core::http::Method;

use super::common::{arm_diag, hex};
use crate::arm::models::storage::{
    AccountSasParameters, HttpProtocol, ListAccountSasResponse, Permissions, Services,
    SignedResourceTypes, StorageAccount,
};
use crate::arm::ArmClient;
use crate::framework::{AttributePath, Diagnostic, PlanContext, Value};
use crate::vhd::upload::{Report, Target, Uploader};

const STORAGE_API: &str = "2023-05-01";
/// Private state: the file identity the planned SHA-256 was computed from.
pub(super) const HASHED_FILE: &str = "hashed_file";

/// What identifies one version of a file without reading it: a plan reuses
/// the recorded hash while this is unchanged, so planning does not re-read a
/// multi-GiB disk image every time (tools that rewrite a file change its
/// modification time or inode).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct FileIdentity {
    path: String,
    len: u64,
    modified_ns: i128,
    inode: u64,
    device: u64,
}

impl FileIdentity {
    pub(super) fn of(path: &str) -> Option<FileIdentity> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(FileIdentity {
            path: path.to_string(),
            len: m.len(),
            modified_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            inode: m.ino(),
            device: m.dev(),
        })
    }
}

/// A hash and the file identity it was computed from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct HashedFile {
    file: FileIdentity,
    sha256: String,
}

impl HashedFile {
    /// A record of `sha256`, read from `path` between `before` and now, when
    /// the file did not change meanwhile (else nothing can be trusted to it).
    pub(super) fn if_unchanged(
        path: &str,
        before: Option<FileIdentity>,
        sha256: &str,
    ) -> Option<HashedFile> {
        let after = FileIdentity::of(path)?;
        (before? == after).then(|| HashedFile {
            file: after,
            sha256: sha256.to_string(),
        })
    }
}

/// The file's SHA-256 at plan time: the one recorded for the same file
/// identity when there is one, else read from the file (and recorded, when
/// the file did not change while it was read).
pub(super) fn planned_sha256(
    path: &str,
    recorded: Option<HashedFile>,
) -> Result<(String, Option<HashedFile>), String> {
    let before = FileIdentity::of(path);
    if let (Some(r), Some(now)) = (&recorded, &before) {
        if r.file == *now {
            return Ok((r.sha256.clone(), recorded));
        }
    }
    let sha256 = sha256_of(path)?;
    let record = HashedFile::if_unchanged(path, before, &sha256);
    Ok((sha256, record))
}

pub(super) fn sha256_of(path: &str) -> Result<String, String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| format!("{path}: {e}"))?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    Ok(hex(ctx.finish().as_ref()))
}

/// Deletes a blob this resource uploaded; a warning when it could not
/// (the blob costs storage, but the destroy goes on).
pub(super) async fn delete_uploaded_blob(
    http: &reqwest::Client,
    arm: &ArmClient,
    account: &str,
    blob: &str,
    dl: Instant,
) -> Option<Diagnostic> {
    let left = |why: String| {
        Some(Diagnostic::warning(
            "Blob left behind",
            format!("{blob} could not be deleted: {why}. Delete it by hand."),
        ))
    };
    let (_, sas) = match blob_access(arm, account, dl).await {
        Ok(x) => x,
        Err(d) => return left(d.detail),
    };
    let r = http
        .delete(format!("{blob}?{sas}"))
        .header("x-ms-version", crate::vhd::upload::BLOB_API_VERSION)
        .send()
        .await;
    match r.map(|r| r.status().as_u16()) {
        Ok(202 | 404) => None,
        Ok(s) => left(format!("the storage service answered {s}")),
        Err(e) => left(e.without_url().to_string()),
    }
}

/// The account's blob endpoint and a SAS for it (ARM `listAccountSas`).
async fn blob_access(
    arm: &ArmClient,
    account_id: &str,
    dl: Instant,
) -> Result<(String, String), Diagnostic> {
    let acct = arm
        .get_as::<StorageAccount>(account_id, STORAGE_API, dl)
        .await
        .map_err(|e| arm_diag("read the storage account", &e))?
        .ok_or_else(|| {
            Diagnostic::error(
                "No such storage account",
                format!("{account_id} does not exist."),
            )
        })?;
    let endpoint = acct
        .properties
        .and_then(|p| p.primary_endpoints?.blob)
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    let expiry =
        humantime::format_rfc3339_seconds(SystemTime::now() + Duration::from_secs(12 * 3600))
            .to_string();
    // Blob service; container and object; read, write, delete, list, add,
    // create; HTTPS only. The spec's enums list single letters and the
    // service takes combinations of them, which the open enums carry as such.
    let body = AccountSasParameters {
        signed_services: Some(Services::B),
        signed_resource_types: Some(SignedResourceTypes::from("co")),
        signed_permission: Some(Permissions::from("rwdlac")),
        signed_protocol: Some(HttpProtocol::Https),
        signed_expiry: Some(expiry),
        ..Default::default()
    };
    let answer = arm
        .run_with(
            Method::Post,
            &format!("{account_id}/ListAccountSas"),
            STORAGE_API,
            &body,
            dl,
        )
        .await
        .map_err(|e| arm_diag("get a SAS for the storage account", &e))?
        .unwrap_or_default();
    let sas = serde_json::from_value::<ListAccountSasResponse>(answer)
        .ok()
        .and_then(|r| r.account_sas_token)
        .unwrap_or_default();
    Ok((endpoint, sas))
}

/// A finished upload: the blob, what was sent, and the file's hash recorded
/// against its identity when the file did not change during the upload.
pub(super) struct Uploaded {
    pub blob_uri: String,
    pub report: Report,
    pub hashed: Option<HashedFile>,
}

/// Where a file goes: the storage account (ARM id), container and blob, with
/// the attributes diagnostics name (the resource's `source_path` and
/// `storage_account_id`).
pub(super) struct Destination<'a> {
    pub account_id: &'a str,
    pub container: &'a str,
    pub blob_name: &'a str,
    pub path_attr: AttributePath,
    pub account_attr: AttributePath,
}

/// Uploads the file at `path` to the destination, creating the container
/// when missing. An interrupted upload resumes: pages already there are not
/// sent again. `planned` is the plan's record of the file's hash: while the
/// file is the same one, the upload trusts it, as later plans do, instead
/// of reading and hashing the whole file again.
pub(super) async fn upload_file(
    http: &reqwest::Client,
    arm: &ArmClient,
    path: &str,
    planned: Option<HashedFile>,
    to: Destination<'_>,
    dl: Instant,
) -> Result<Uploaded, Diagnostic> {
    let (endpoint, sas) = blob_access(arm, to.account_id, dl)
        .await
        .map_err(|d| d.at(to.account_attr.clone()))?;
    let container = to.container;
    let made = http
        .put(format!("{endpoint}/{container}?restype=container&{sas}"))
        .header("x-ms-version", crate::vhd::upload::BLOB_API_VERSION)
        .header("content-length", "0")
        .send()
        .await;
    match made.map(|r| r.status().as_u16()) {
        Ok(201 | 409) => {}
        Ok(s) => {
            return Err(Diagnostic::error(
                "Could not create the blob container",
                format!("{endpoint}/{container} answered {s}."),
            ))
        }
        Err(e) => {
            return Err(Diagnostic::error(
                "Could not reach the storage account",
                e.without_url().to_string(),
            ))
        }
    }
    let blob_uri = format!("{endpoint}/{container}/{}", to.blob_name);
    let identity_before = FileIdentity::of(path);
    let known_sha256 = planned
        .filter(|r| identity_before.as_ref() == Some(&r.file))
        .map(|r| r.sha256);
    let report = Uploader::new(http.clone())
        .upload(
            &PathBuf::from(path),
            &Target {
                blob_url: blob_uri.clone(),
                sas,
            },
            dl,
            known_sha256.as_deref(),
        )
        .await
        .map_err(|e| {
            Diagnostic::error(
                "Upload failed",
                format!("{e}\nRun apply again: the upload resumes where it stopped."),
            )
            .at(to.path_attr)
        })?;
    // The upload hashed the file: later plans reuse that while the file is
    // the same one.
    let hashed = HashedFile::if_unchanged(path, identity_before, &report.sha256);
    Ok(Uploaded {
        blob_uri,
        report,
        hashed,
    })
}

/// Whether the disk image at `path` boots by BIOS only (its partition table
/// has no EFI system partition): such a disk never boots as Hyper-V
/// generation 2. An unreadable or unpartitioned file says nothing.
pub(super) async fn boots_by_bios_only(path: String) -> bool {
    let firmware =
        tokio::task::spawn_blocking(move || crate::vhd::boot_firmware(std::path::Path::new(&path)))
            .await;
    matches!(firmware, Ok(Ok(crate::vhd::Firmware::BiosOnly)))
}

/// Plan-time hashing of `source` (a configured file path) into `sha256`: a
/// changed file plans a replacement. Records the hash in private state.
pub(super) async fn plan_source_sha256(plan: &mut PlanContext<'_>, source: &str, sha256: &str) {
    let Some(p) = plan.config.attr(source).as_str().map(str::to_string) else {
        if plan.config.attr(source).is_null() {
            plan.set(sha256, Value::Null);
        }
        return;
    };
    let recorded = plan.private.get::<HashedFile>(HASHED_FILE);
    match tokio::task::spawn_blocking(move || planned_sha256(&p, recorded)).await {
        Ok(Ok((h, record))) => {
            match record {
                Some(r) => plan.private.set(HASHED_FILE, &r),
                None => plan.private.remove(HASHED_FILE),
            }
            let changed = plan.prior.attr(sha256).as_str().is_some_and(|old| old != h);
            plan.set(sha256, h);
            if changed {
                plan.require_replace(sha256);
            }
        }
        Ok(Err(e)) => plan.diagnostics.push(
            Diagnostic::error("Cannot read the disk image", e).at(AttributePath::attrs(&[source])),
        ),
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_reuses_the_hash_of_the_same_file_and_rereads_a_changed_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.raw");
        let p = path.to_str().unwrap();
        std::fs::write(&path, vec![7u8; 4096]).unwrap();
        let (real, record) = planned_sha256(p, None).unwrap();
        let record = record.expect("an unchanged file is recorded");
        assert_eq!(real, sha256_of(p).unwrap());

        // Same identity: the recorded value is used, the file is not read.
        let marked = HashedFile {
            sha256: "recorded".into(),
            ..record.clone()
        };
        assert_eq!(planned_sha256(p, Some(marked)).unwrap().0, "recorded");

        // Rewritten (new size and modification time): read again.
        std::fs::write(&path, vec![8u8; 8192]).unwrap();
        let stale = HashedFile {
            sha256: "recorded".into(),
            ..record
        };
        let (again, _) = planned_sha256(p, Some(stale)).unwrap();
        assert_eq!(again, sha256_of(p).unwrap());
        assert_ne!(again, real);
    }
}
