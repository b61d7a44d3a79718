//! The traffic checks `make test` runs over every request log the suite
//! leaves in `target/traffic/` are themselves tested, so they cannot
//! silently pass: Microsoft's oav LiveValidator for ARM
//! (`scripts/validate-arm-traffic.js`) and openapi-core for Red Hat's APIs
//! (`scripts/validate-redhat-traffic.py`) each pass a good exchange and fail
//! a bad request and a response of the wrong shape.

use std::process::Command;

use rhelazure_acceptance_tests::repo_root;
use serde_json::json;

const IMAGE: &str = "/subscriptions/5ab5c41d-0000-4000-a000-00000000d3e0/resourceGroups/rhel-demo/providers/Microsoft.Compute/images/probe";

fn image_body() -> serde_json::Value {
    json!({
        "id": IMAGE, "name": "probe", "type": "Microsoft.Compute/images", "location": "eastus", "tags": {},
        "properties": { "hyperVGeneration": "V2", "provisioningState": "Succeeded",
            "storageProfile": { "osDisk": { "osType": "Linux", "osState": "Generalized", "blobUri": "https://127.0.0.1:1/devstoreaccount1/vhds/x.vhd", "caching": "ReadWrite", "storageAccountType": "Standard_LRS" } } }
    })
}

fn exchange(
    method: &str,
    status: u16,
    request: serde_json::Value,
    response: serde_json::Value,
) -> serde_json::Value {
    json!({
        "method": method, "path": IMAGE, "api_version": "2024-03-01", "status": status,
        "request_body": request, "response_body": response,
        "response_headers": { "content-type": "application/json; charset=utf-8" },
    })
}

/// Runs the ARM check over one log; its exit status and output.
fn judge(log: &[serde_json::Value]) -> (bool, String) {
    run_check(
        Command::new("node").arg(repo_root().join("scripts/validate-arm-traffic.js")),
        log,
    )
}

/// Runs the Red Hat check over one log; its exit status and output.
fn judge_red_hat(log: &[serde_json::Value]) -> (bool, String) {
    run_check(
        Command::new(repo_root().join(".tools/openapi-venv/bin/python"))
            .arg(repo_root().join("scripts/validate-redhat-traffic.py")),
        log,
    )
}

fn run_check(cmd: &mut Command, log: &[serde_json::Value]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("probe.jsonl");
    let lines: Vec<String> = log.iter().map(|e| e.to_string()).collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = cmd
        .arg(&file)
        .output()
        .expect("the checker runs (make test installs it: scripts/install-oav.sh, scripts/install-openapi-validator.sh)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_spec_conformant_exchange_passes() {
    let request = json!({ "location": "eastus", "properties": { "hyperVGeneration": "V2", "storageProfile": { "osDisk": { "osType": "Linux", "osState": "Generalized", "blobUri": "https://127.0.0.1:1/devstoreaccount1/vhds/x.vhd" } } } });
    let (ok, out) = judge(&[exchange("PUT", 201, request, image_body())]);
    assert!(ok, "{out}");
    assert!(out.contains("1 exchanges, 0 invalid"), "{out}");
}

#[test]
fn a_request_without_location_fails() {
    let request = json!({ "properties": { "storageProfile": { "osDisk": { "osType": "Linux", "osState": "Generalized", "blobUri": "https://127.0.0.1:1/devstoreaccount1/vhds/x.vhd" } } } });
    let (ok, out) = judge(&[exchange("PUT", 201, request, image_body())]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("Images_CreateOrUpdate request") && out.contains("location"),
        "{out}"
    );
}

#[test]
fn a_response_with_a_wrong_type_fails() {
    let mut body = image_body();
    body["properties"]["storageProfile"]["osDisk"]["diskSizeGB"] = json!("thirty");
    let (ok, out) = judge(&[exchange("GET", 200, serde_json::Value::Null, body)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("Images_Get response") && out.contains("diskSizeGB"),
        "{out}"
    );
}

fn activation_key_exchange(
    request: serde_json::Value,
    response: serde_json::Value,
) -> serde_json::Value {
    json!({
        "method": "POST", "path": "/redhat/api/rhsm/v2/activation_keys", "api_version": null, "status": 200,
        "request_body": request, "response_body": response,
        "response_headers": { "content-type": "application/json" },
    })
}

#[test]
fn red_hat_a_spec_conformant_exchange_passes() {
    let (ok, out) = judge_red_hat(&[activation_key_exchange(
        json!({ "name": "probe-key", "role": "Red Hat Enterprise Linux Server", "serviceLevel": "Self-Support", "usage": "Development/Test" }),
        json!({ "body": { "id": "1", "name": "probe-key", "role": "Red Hat Enterprise Linux Server", "serviceLevel": "Self-Support", "usage": "Development/Test", "additionalRepositories": [] } }),
    )]);
    assert!(ok, "{out}");
    assert!(out.contains("total: 1 exchanges, 0 invalid"), "{out}");
}

#[test]
fn red_hat_a_request_of_the_wrong_type_fails() {
    let (ok, out) = judge_red_hat(&[activation_key_exchange(
        json!({ "name": 42 }),
        json!({ "body": { "id": "1", "name": "probe-key" } }),
    )]);
    assert!(!ok, "{out}");
    assert!(out.contains("request:") && out.contains("/name"), "{out}");
}

#[test]
fn red_hat_a_response_of_the_wrong_shape_fails() {
    let (ok, out) = judge_red_hat(&[activation_key_exchange(
        json!({ "name": "probe-key" }),
        json!({ "body": { "id": "1", "name": "probe-key", "additionalRepositories": "none" } }),
    )]);
    assert!(!ok, "{out}");
    assert!(out.contains("response:") && out.contains("array"), "{out}");
}
