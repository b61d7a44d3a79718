//! Storage accounts against a real Azurite: the blob endpoint the emulator
//! reports is Azurite's, and SAS tokens from `listAccountSas` / `listServiceSas`
//! are accepted by Azurite for container and page-blob calls.

mod support;

use rhelazure_emulator::azurite::Azurite;
use serde_json::json;
use support::*;

#[test]
fn sas_from_arm_works_against_azurite() {
    let az = Azurite::start().expect("Azurite starts");
    let c = Cloud::start_with(rhelazure_emulator::Options {
        blob_endpoint: Some(az.endpoint.clone()),
        lro_delay: std::time::Duration::from_millis(50),
        ..Default::default()
    });
    let t = c.arm_token();
    c.create_group(&t, "st");
    let acct = format!(
        "{}/providers/Microsoft.Storage/storageAccounts/rhelimages",
        Cloud::rg_path("st")
    );
    let r = c.request("PUT", &format!("{acct}?api-version=2023-05-01"), Some(&t), Some(&json!({ "location": "eastus", "sku": { "name": "Standard_LRS" }, "kind": "StorageV2" })));
    assert_eq!(r.status, 202, "{}", r.text);
    let loc = r.header("location").unwrap().to_string();
    c.wait_location(&t, &loc);
    let got = c.request(
        "GET",
        &format!("{acct}?api-version=2023-05-01"),
        Some(&t),
        None,
    );
    let blob = got.body["properties"]["primaryEndpoints"]["blob"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(blob, format!("{}/", az.endpoint));
    let keys = c.request(
        "POST",
        &format!("{acct}/listKeys?api-version=2023-05-01"),
        Some(&t),
        None,
    );
    assert_eq!(keys.body["keys"][0]["keyName"], "key1");

    let expiry = "2099-01-01T00:00:00Z";
    let account_sas = c.request("POST", &format!("{acct}/ListAccountSas?api-version=2023-05-01"), Some(&t), Some(&json!({
        "signedServices": "b", "signedResourceTypes": "sco", "signedPermission": "rwdlac", "signedProtocol": "https,http", "signedExpiry": expiry,
    }))).body["accountSasToken"].as_str().unwrap().to_string();
    let service_sas = c.request("POST", &format!("{acct}/ListServiceSas?api-version=2023-05-01"), Some(&t), Some(&json!({
        "canonicalizedResource": "/blob/rhelimages/vhds", "signedResource": "c", "signedPermission": "rcwdl", "signedProtocol": "https,http", "signedExpiry": expiry,
    }))).body["serviceSasToken"].as_str().unwrap().to_string();

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let status = |req: ureq::http::Request<Vec<u8>>| {
        let mut r = agent.run(req).unwrap();
        (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    };
    let put = |url: String| {
        ureq::http::Request::builder()
            .method("PUT")
            .uri(url)
            .header("x-ms-version", "2024-08-04")
    };
    let (s, body) = status(
        put(format!("{blob}vhds?restype=container&{account_sas}"))
            .body(Vec::new())
            .unwrap(),
    );
    assert_eq!(s, 201, "container create with the account SAS: {body}");
    let (s, body) = status(
        put(format!("{blob}vhds/disk.vhd?{service_sas}"))
            .header("x-ms-blob-type", "PageBlob")
            .header("x-ms-blob-content-length", "1024")
            .body(Vec::new())
            .unwrap(),
    );
    assert_eq!(s, 201, "page blob create with the service SAS: {body}");
    let (s, body) = status(
        put(format!("{blob}vhds/disk.vhd?comp=page&{service_sas}"))
            .header("x-ms-page-write", "update")
            .header("x-ms-range", "bytes=512-1023")
            .body(vec![7u8; 512])
            .unwrap(),
    );
    assert_eq!(s, 201, "{body}");
    let (s, body) = status(
        ureq::http::Request::builder()
            .method("GET")
            .uri(format!("{blob}vhds/disk.vhd?comp=pagelist&{service_sas}"))
            .header("x-ms-version", "2024-08-04")
            .body(Vec::new())
            .unwrap(),
    );
    assert_eq!(s, 200);
    assert!(body.contains("<Start>512</Start><End>1023</End>"), "{body}");

    // A tampered signature is refused by Azurite itself.
    let forged = service_sas.replace("sig=", "sig=AAAA");
    let (s, _) = status(
        ureq::http::Request::builder()
            .method("GET")
            .uri(format!("{blob}vhds/disk.vhd?comp=pagelist&{forged}"))
            .header("x-ms-version", "2024-08-04")
            .body(Vec::new())
            .unwrap(),
    );
    assert_eq!(s, 403);
}
