//! The suite-wide secret-leak check (`rhelazure_acceptance_tests::leaks`,
//! run when every workspace is dropped and after every command) is itself
//! tested here, so it cannot silently pass: every workspace of the suite logs
//! at trace level, a credential Terraform keeps in the clear fails the
//! workspace, and the same credential in a sensitive output does not; and
//! so does each encoding of it (base64, URL-safe base64, inside a base64
//! blob, percent-encoded, JSON-escaped).

use rhelazure_acceptance_tests::{terraforms, LocalCloud, Workspace};

/// The text a caught panic carried.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn config(secret: &str, sensitive: bool) -> String {
    format!(
        "data \"rhelazure_client_config\" \"c\" {{}}\n\
         output \"s\" {{\n  value     = \"{secret}\"\n  sensitive = {sensitive}\n}}\n"
    )
}

#[test]
fn a_credential_kept_in_the_clear_fails_the_workspace() {
    let tf = &terraforms()[0];
    let cloud = LocalCloud::start();
    let secret = cloud.get("ARM_CLIENT_SECRET");

    // Kept as sensitive by Terraform: allowed. And the log is at trace level,
    // with the provider's own lines in it.
    {
        let ws = Workspace::new(tf, &config(&secret, true)).cloud(&cloud);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        let log = std::fs::read_to_string(ws.path().join("terraform-trace.log")).unwrap();
        assert!(log.contains("[TRACE]"), "workspaces log at trace level");
        assert!(
            log.contains("provider.terraform-provider-rhelazure"),
            "the provider's lines are in the scanned log"
        );
    }

    // In the clear (a non-sensitive output): the leak check fails, naming the
    // place without repeating the secret.
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let ws = Workspace::new(tf, &config(&secret, false)).cloud(&cloud);
        let _ = ws.run(&["apply", "-auto-approve", "-no-color"]);
    }));
    let payload = caught.expect_err("the leak check must fail this workspace");
    let message = panic_message(&*payload);
    assert!(
        message.contains("secrets leaked") && message.contains("a credential of the test"),
        "{message}"
    );
    assert!(
        !message.contains(&secret),
        "the failure must not print the secret"
    );
}

/// Each encoding a credential takes on its way through payloads fails the
/// workspace too, through real Terraform: base64 (standard and URL-safe),
/// inside a larger base64 blob (a cloud-config, as `customData` carries
/// it), percent-encoded and JSON-escaped.
#[test]
fn every_encoding_of_a_credential_fails_the_workspace() {
    let tf = &terraforms()[0];
    let cloud = LocalCloud::start();
    // A credential with characters that percent- and JSON-encoding change.
    let secret = "Fz9~q.W3\"x/+y=Local-Cloud-Leak";
    let hcl = secret.replace('\\', "\\\\").replace('"', "\\\"");
    for (form, expr) in [
        ("base64", format!("base64encode(\"{hcl}\")")),
        (
            "base64url",
            format!("replace(replace(base64encode(\"..{hcl}\"), \"+\", \"-\"), \"/\", \"_\")"),
        ),
        (
            "base64",
            format!(
                "base64encode(\"#cloud-config\\nrh_subscription:\\n  activation-key: {hcl}\\n\")"
            ),
        ),
        ("percent-encoded", format!("urlencode(\"{hcl}\")")),
        ("JSON-escaped", format!("jsonencode({{ key = \"{hcl}\" }})")),
    ] {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let ws = Workspace::new(
                tf,
                &format!("data \"rhelazure_client_config\" \"c\" {{}}\noutput \"s\" {{\n  value = {expr}\n}}\n"),
            )
            .cloud(&cloud)
            .secret(secret);
            let _ = ws.run(&["apply", "-auto-approve", "-no-color"]);
        }));
        let payload = caught.expect_err(&format!("the leak check must catch {expr}"));
        let message = panic_message(&*payload);
        assert!(
            message.contains("secrets leaked") && message.contains(&format!("({form})")),
            "{expr} is found as {form}: {message}"
        );
    }
}
