//! What a PUT of a Microsoft.Storage resource must hold, and what ARM stores
//! and returns for it: one function per type, called by `build`.

use super::*;

/// `microsoft.storage/storageaccounts`.
pub(super) fn storage_account(
    Cx {
        emu,
        st,
        id,
        body,
        existing,
        location,
        ..
    }: Cx<'_>,
    props: &Json,
    out: &mut Json,
) -> Result<(), ArmError> {
    let sku = one_of(
        &body["sku"]["name"],
        &[
            "Standard_LRS",
            "Standard_GRS",
            "Standard_RAGRS",
            "Standard_ZRS",
            "Premium_LRS",
            "Premium_ZRS",
            "Standard_GZRS",
            "Standard_RAGZRS",
        ],
        "sku.name",
        "",
    )?;
    if sku.is_empty() {
        return Err(invalid(
            "sku",
            "Required parameter 'sku' is missing (null).",
        ));
    }
    let kind = one_of(
        &body["kind"],
        &[
            "Storage",
            "StorageV2",
            "BlobStorage",
            "FileStorage",
            "BlockBlobStorage",
        ],
        "kind",
        "",
    )?;
    if kind.is_empty() {
        return Err(invalid(
            "kind",
            "Required parameter 'kind' is missing (null).",
        ));
    }
    // Storage account names are global in Azure: taken anywhere means taken.
    let name = name_of(id);
    let suffix = format!(
        "/providers/microsoft.storage/storageaccounts/{}",
        lower(&name)
    );
    let taken = st
        .subscriptions
        .values()
        .flat_map(|x| x.resources.keys())
        .any(|k| k.ends_with(&suffix) && *k != lower(id));
    if taken {
        return Err(ArmError::new(
            409,
            "StorageAccountAlreadyTaken",
            format!("The storage account named {name} is already taken."),
        ));
    }
    out["sku"] = json!({ "name": sku, "tier": if sku.starts_with("Premium") { "Premium" } else { "Standard" } });
    out["kind"] = json!(kind);
    let blob = emu
        .blob_endpoint
        .clone()
        .map(|b| format!("{}/", b.trim_end_matches('/')))
        .unwrap_or_else(|| format!("http://127.0.0.1:10000/{AZURITE_ACCOUNT}/"));
    out["properties"]["primaryEndpoints"] = json!({ "blob": blob });
    out["properties"]["primaryLocation"] = json!(location);
    out["properties"]["statusOfPrimary"] = json!("available");
    out["properties"]["creationTime"] = existing
        .map(|r| r.body["properties"]["creationTime"].clone())
        .unwrap_or(json!(crate::http::rfc3339(crate::http::now_ms())));
    out["properties"]["supportsHttpsTrafficOnly"] = props
        .get("supportsHttpsTrafficOnly")
        .cloned()
        .unwrap_or(json!(true));
    out["properties"]["allowSharedKeyAccess"] = props
        .get("allowSharedKeyAccess")
        .cloned()
        .unwrap_or(json!(true));
    // Azurite holds every local storage account's blobs under its one development account.
    out["_azuriteAccount"] = json!(AZURITE_ACCOUNT);
    Ok(())
}
