//! Errors a user can act on: when the clouds refuse a call, every resource's
//! diagnostic names the call (method and path), the service's answer and the
//! request id support asks for (`x-ms-request-id` for Azure,
//! `x-rh-insights-request-id` for Red Hat), and Terraform ties it to the
//! resource. Exercised on `examples/quickstart`, which touches every API
//! family, with one refused write per resource; the next apply converges.

use rhelazure_acceptance_tests::{terraforms, LocalCloud, Workspace};
use serde_json::json;

/// The text of the Terraform error block about `address`.
fn error_block<'a>(all: &'a str, address: &str) -> &'a str {
    all.split("Error: ")
        .find(|b| b.contains(&format!("with {address}")))
        .unwrap_or_else(|| panic!("no error about {address} in:\n{all}"))
}

#[test]
fn every_refused_call_is_named_with_its_request_id() {
    let cloud = LocalCloud::start();
    let tf = &terraforms()[0];
    let ws = Workspace::quickstart(tf, &cloud);
    for (method, path, status, code) in [
        ("POST", "/api/rhsm/v2/activation_keys", 403, "Forbidden"),
        // bulk_create declares 201 and 400 only: refused with what it declares.
        ("POST", "/api/sources/v3.1/bulk_create", 400, "Bad Request"),
        ("POST", "/api/image-builder/v1/compose", 403, "Forbidden"),
        (
            "PUT",
            "/networkInterfaces/quickstart-host-nic",
            403,
            "AuthorizationFailed",
        ),
        (
            "PUT",
            "/microsoft.marketplaceordering",
            403,
            "AuthorizationFailed",
        ),
    ] {
        cloud.inject_fault(
            json!({ "method": method, "path": path, "status": status, "code": code, "count": 1 }),
        );
    }
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(r.code, 1);
    let all = r.all();

    let key = error_block(&all, "rhelazure_activation_key.hosts");
    let access = error_block(&all, "rhelazure_cloud_access.this");
    let build = error_block(&all, "rhelazure_image_build.custom");
    for (block, call) in [
        (key, "POST /api/rhsm/v2/activation_keys answered 403"),
        (access, "POST /api/sources/v3.1/bulk_create answered 400"),
        (build, "POST /api/image-builder/v1/compose answered 403"),
    ] {
        assert!(block.starts_with("Could not "), "{block}");
        assert!(block.contains(call), "{block}");
        assert!(block.contains("x-rh-insights-request-id: "), "{block}");
    }
    let host = error_block(&all, "rhelazure_atomic_host.demo");
    assert!(
        host.contains("PUT /subscriptions/")
            && host.contains("/networkInterfaces/quickstart-host-nic"),
        "{host}"
    );
    assert!(host.contains("x-ms-request-id: "), "{host}");
    assert!(host.contains("x-ms-client-request-id: "), "{host}");
    // The attribute the failing call was about, and the fix for this code.
    assert!(host.contains("subnet_id"), "{host}");
    assert!(host.contains("lacks a role"), "{host}");
    // The agreement is behind the failed enrolment, so it is not tried yet.
    assert!(
        !all.contains("with rhelazure_marketplace_agreement.gold"),
        "{all}"
    );

    // Next apply: the enrolment succeeds, so the agreement is tried and meets
    // its refusal.
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(r.code, 1, "{}", r.all());
    let all = r.all();
    let terms = error_block(&all, "rhelazure_marketplace_agreement.gold");
    assert!(terms.contains("Could not accept the terms"), "{terms}");
    assert!(
        terms.contains("PUT") && terms.contains("/agreements/current"),
        "{terms}"
    );
    assert!(
        terms.contains("x-ms-request-id: ") && terms.contains("lacks a role"),
        "{terms}"
    );

    // Nothing half-made is lost: the next apply converges. At TF_LOG=debug
    // each API call is one line: method, path, status, duration, attempts.
    let earlier = cloud.request_log().len();
    let log = ws.path().join("debug.log");
    let ws = ws
        .env("TF_LOG", "debug")
        .env("TF_LOG_PATH", log.to_str().unwrap());
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let text = std::fs::read_to_string(&log).unwrap();
    let requests = cloud.request_log().split_off(earlier);
    let count = |prefix: &str| {
        requests
            .iter()
            .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with(prefix)))
            .count()
    };
    let field = |line: &str, name: &str| -> Option<String> {
        let at = line.find(&format!("{name}="))? + name.len() + 1;
        Some(
            line[at..]
                .split_whitespace()
                .next()?
                .trim_matches('"')
                .to_string(),
        )
    };
    let arm_lines: Vec<&str> = text.lines().filter(|l| l.contains("ARM call")).collect();
    let mut arm_attempts = 0;
    for l in &arm_lines {
        for f in ["method", "path", "status", "duration_ms", "attempts"] {
            assert!(field(l, f).is_some(), "{f} missing in: {l}");
        }
        arm_attempts += field(l, "attempts").unwrap().parse::<usize>().unwrap();
    }
    let all_paths: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}", r["method"], r["path"]))
        .collect();
    assert_eq!(
        arm_attempts,
        count("/subscriptions/"),
        "every ARM request is logged:\n{}\n\nrequests:\n{}",
        arm_lines.len(),
        all_paths.join("\n")
    );
    let rh_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("Red Hat call"))
        .collect();
    for l in &rh_lines {
        for f in [
            "method",
            "path",
            "status",
            "duration_ms",
            "attempt",
            "request_id",
        ] {
            assert!(field(l, f).is_some(), "{f} missing in: {l}");
        }
    }
    assert_eq!(
        rh_lines.len(),
        count("/redhat/"),
        "every Red Hat request is logged"
    );
    ws.assert_no_changes();
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
}

#[test]
fn a_refused_lookup_at_plan_names_the_call() {
    let cloud = LocalCloud::start();
    let tf = &terraforms()[0];
    let ws = Workspace::quickstart(tf, &cloud);
    cloud.inject_fault(
        json!({ "method": "GET", "path": "/offers/RHEL/skus", "status": 403, "code": "AuthorizationFailed" }),
    );
    let r = ws.run(&["plan", "-no-color"]);
    assert_eq!(r.code, 1);
    let all = r.all();
    let block = error_block(&all, "data.rhelazure_marketplace_image.payg");
    assert!(block.contains("GET /subscriptions/"), "{block}");
    assert!(block.contains("/offers/RHEL/skus"), "{block}");
    assert!(block.contains("x-ms-request-id: "), "{block}");
}

#[test]
fn long_waits_report_progress_every_thirty_seconds() {
    let cloud = LocalCloud::start();
    let tf = &terraforms()[0];
    // Every ARM long-running operation takes 31 s, and an Image Builder
    // compose 4 phases of 12 s: each wait crosses the 30 s reporting interval
    // (compose polls back off to 15 s, so the first report lands near 40 s).
    cloud.configure(json!({ "lro_delay_ms": 31_000, "compose_phase_ms": 12_000 }));
    let ws = Workspace::quickstart(tf, &cloud);
    let log = ws.path().join("info.log");
    let ws = ws
        .env("TF_LOG", "info")
        .env("TF_LOG_PATH", log.to_str().unwrap());
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let text = std::fs::read_to_string(&log).unwrap();
    let arm: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("still waiting for the operation"))
        .collect();
    assert!(
        arm.iter()
            .any(|l| l.contains("networkInterfaces/quickstart-host-nic"))
            && arm
                .iter()
                .any(|l| l.contains("virtualMachines/quickstart-host")),
        "ARM operations report progress: {arm:?}"
    );
    assert!(arm.iter().all(|l| l.contains("elapsed_s=")), "{arm:?}");
    assert!(
        text.lines()
            .any(|l| l.contains("Image Builder compose still running") && l.contains("phase=")),
        "composes report progress"
    );
    cloud.configure(json!({ "lro_delay_ms": 0 }));
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
}
