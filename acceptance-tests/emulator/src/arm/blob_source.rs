//! What Compute reads from a managed image's source blob (`osDisk.blobUri`)
//! before it accepts the image: the blob exists, is a page blob, and holds a
//! fixed VHD (a whole number of MiB of disk, then the 512-byte footer that
//! says so). The local cloud reads it from Azurite, with an account SAS of the
//! development key, as Compute reads a customer's storage with its own rights.
//!
//! Only blobs under the local cloud's blob endpoint can exist; any other URI
//! names storage the local cloud does not have, which Azure would not find
//! either. Without a configured blob endpoint (the emulator's own API tests,
//! which run no Azurite) nothing can be read, so nothing is checked.

use std::time::Duration;

use serde_json::json;

use crate::http::ArmError;

const MIB: u64 = 1024 * 1024;
const FOOTER: u64 = 512;
const STORAGE_VERSION: &str = "2024-08-04";
/// Where the error points, as Compute names it.
const TARGET: &str = "properties.storageProfile.osDisk.blobUri";

fn refused(code: &str, message: String) -> ArmError {
    ArmError::bad_request(code, message).target(TARGET)
}

/// Checks the source blob of an image, read from the local cloud's blob
/// endpoint (Azurite's `https://127.0.0.1:PORT/devstoreaccount1`).
pub fn check(emu: &crate::Emulator, uri: &str) -> Result<(), ArmError> {
    let Some(endpoint) = emu.blob_endpoint.as_deref() else {
        return Ok(());
    };
    let not_found = || {
        refused(
            "ImageBlobNotFound",
            format!("The blob '{uri}' of the image's OS disk was not found. Make sure the blob exists and the URI is right."),
        )
    };
    let prefix = endpoint.trim_end_matches('/');
    if !uri.starts_with(&format!("{prefix}/")) {
        return Err(not_found());
    }
    let sas = super::sas::account_sas(&json!({
        "signedServices": "b",
        "signedResourceTypes": "o",
        "signedPermission": "r",
        "signedExpiry": crate::http::rfc3339(crate::http::now_ms() + 3_600_000),
    }))?;
    let token = sas["accountSasToken"].as_str().unwrap_or_default();
    let url = format!("{}?{token}", uri.split('?').next().unwrap_or(uri));
    let agent = agent(emu.ca_file()).map_err(|e| {
        ArmError::new(
            500,
            "InternalServerError",
            format!("The local cloud's storage client: {e}"),
        )
    })?;
    let unreachable = |e: ureq::Error| {
        ArmError::new(
            500,
            "InternalServerError",
            format!("The local cloud could not read '{uri}' from its storage: {e}"),
        )
    };
    // Compute's handler runs inside the request; blocking here is the read.
    let head = tokio::task::block_in_place(|| {
        agent
            .head(&url)
            .header("x-ms-version", STORAGE_VERSION)
            .call()
    })
    .map_err(unreachable)?;
    match head.status().as_u16() {
        200 => {}
        404 => return Err(not_found()),
        s => {
            return Err(ArmError::new(
                500,
                "InternalServerError",
                format!("The local cloud's storage answered {s} for '{uri}'."),
            ))
        }
    }
    let header = |name: &str| {
        head.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let kind = header("x-ms-blob-type");
    if kind != "PageBlob" {
        return Err(refused(
            "IncorrectImageBlobType",
            format!("The blob '{uri}' is a {kind}; the OS disk of an image must be a page blob."),
        ));
    }
    let size: u64 = header("content-length").parse().unwrap_or(0);
    let invalid_size = |why: &str| {
        refused(
            "VHDSizeInvalid",
            format!("The blob '{uri}' is not a valid fixed VHD ({why}): its size must be a whole number of MiB plus the 512-byte VHD footer."),
        )
    };
    if size < MIB + FOOTER || size % MIB != FOOTER {
        return Err(invalid_size(&format!("{size} bytes")));
    }
    let mut tail = tokio::task::block_in_place(|| {
        agent
            .get(&url)
            .header("x-ms-version", STORAGE_VERSION)
            .header(
                "x-ms-range",
                format!("bytes={}-{}", size - FOOTER, size - 1),
            )
            .call()
    })
    .map_err(unreachable)?;
    let footer = tail.body_mut().read_to_vec().map_err(unreachable)?;
    if let Some(why) = fixed_vhd_footer_fault(&footer, size - FOOTER) {
        return Err(invalid_size(why));
    }
    Ok(())
}

/// A client for Azurite, trusting the local cloud's CA when it serves HTTPS.
fn agent(ca_file: Option<&std::path::Path>) -> Result<ureq::Agent, String> {
    let mut roots = Vec::new();
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        roots.push(
            ureq::tls::Certificate::from_pem(&pem)
                .map_err(|e| e.to_string())?
                .to_owned(),
        );
    }
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
        .unversioned_rustls_crypto_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .build();
    Ok(ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into())
}

/// Why `footer` is not the footer of a fixed VHD of `disk_size` bytes (the
/// VHD specification's hard disk footer: cookie `conectix`, current size at
/// byte 48, disk type 2 = fixed at byte 60, one's-complement checksum at 64).
fn fixed_vhd_footer_fault(footer: &[u8], disk_size: u64) -> Option<&'static str> {
    if footer.len() != FOOTER as usize || &footer[..8] != b"conectix" {
        return Some("no VHD footer");
    }
    let be32 = |at: usize| u32::from_be_bytes(footer[at..at + 4].try_into().expect("4 bytes"));
    let current = u64::from_be_bytes(footer[48..56].try_into().expect("8 bytes"));
    if be32(60) != 2 {
        return Some("not a fixed VHD");
    }
    if current != disk_size {
        return Some("the footer's disk size is not the blob's");
    }
    let sum = footer
        .iter()
        .enumerate()
        .filter(|(i, _)| !(64..68).contains(i))
        .fold(0u32, |s, (_, b)| s.wrapping_add(u32::from(*b)));
    if !sum != be32(64) {
        return Some("the footer's checksum is wrong");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn footer(disk_size: u64, disk_type: u32) -> Vec<u8> {
        let mut f = vec![0u8; 512];
        f[..8].copy_from_slice(b"conectix");
        f[48..56].copy_from_slice(&disk_size.to_be_bytes());
        f[60..64].copy_from_slice(&disk_type.to_be_bytes());
        let sum = f.iter().fold(0u32, |s, b| s.wrapping_add(u32::from(*b)));
        f[64..68].copy_from_slice(&(!sum).to_be_bytes());
        f
    }

    #[test]
    fn a_fixed_vhd_footer_is_told_from_others() {
        assert_eq!(fixed_vhd_footer_fault(&footer(MIB, 2), MIB), None);
        assert_eq!(
            fixed_vhd_footer_fault(&footer(MIB, 3), MIB),
            Some("not a fixed VHD")
        );
        assert!(fixed_vhd_footer_fault(&footer(2 * MIB, 2), MIB).is_some());
        let mut bad = footer(MIB, 2);
        bad[100] ^= 1;
        assert_eq!(
            fixed_vhd_footer_fault(&bad, MIB),
            Some("the footer's checksum is wrong")
        );
        assert_eq!(
            fixed_vhd_footer_fault(&[0; 512], MIB),
            Some("no VHD footer")
        );
    }
}
