//! The simulated guest behind Run Command: a tiny interpreter for the shell
//! the provider's scripts use, over a guest state (files, booted bootc image,
//! units restarted, registration). It makes in-place updates observable: a
//! script that rewrites a quadlet file or switches the bootc image changes
//! what the next status script reads back (`sha256sum`, `bootc status`), and
//! the control API can change those facts to simulate drift.
//!
//! Supported: `#` comments, `set ...`, `mkdir -p`, `cat > FILE <<'TAG'` heredocs,
//! `rm -f`, `systemctl daemon-reload|restart|start|stop|enable [--now]|disable`,
//! `bootc switch [--apply] [--transport T] REF`, `bootc upgrade [--apply]`
//! (to `latest_digest` when the control API set one), `bootc status --format json`,
//! `dnf -y upgrade` (package mode only: image mode's /usr is read-only),
//! `sha256sum FILE...`, `echo`, `exit N`, `subscription-manager
//! register --org=O --activationkey=K | identity | unregister`, `rhc connect
//! --organization O --activation-key K | disconnect`, `systemctl reboot` and
//! `reboot` (counted in `reboots`), `insights-client`, `cloud-init` (no-ops),
//! `true`, `a && b`, `cmd || true`. Any other command is
//! recorded in `unknown_commands` and treated as a successful no-op (a real
//! host has every command; tests can assert the list stays empty).

use serde_json::{json, Value as Json};

/// A fresh guest booted from `image` (a bootc reference, or null for package mode).
pub fn new_guest(image: Option<&str>) -> Json {
    // Not registered: a VM made without this provider's first boot (a
    // pay-as-you-go VM gets its content from RHUI, not from Red Hat's CDN).
    let mut g = json!({ "files": {}, "booted_image": null, "booted_digest": null, "restarted": [], "enabled": [], "registered": false, "registered_org": null, "unknown_commands": [] });
    if let Some(i) = image {
        g["booted_image"] = json!(i);
        g["booted_digest"] = json!(digest_of(i));
    }
    g
}

/// A fresh guest after cloud-init ran the VM's `customData` on first boot:
/// `write_files` written, `runcmd` run (units started there are recorded in
/// `first_boot_started`, not `restarted`), registered when `rh_subscription`
/// asks. Cloud-configs in JSON form (which is YAML) are understood; anything
/// else boots a guest with no files and records `cloud_init_error`.
pub fn after_first_boot(custom_data_b64: Option<&str>) -> Json {
    use base64::Engine as _;
    let mut g = new_guest(None);
    g["registered"] = json!(false);
    let Some(b64) = custom_data_b64 else { return g };
    let text = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let Some(body) = text.strip_prefix("#cloud-config") else {
        g["cloud_init_error"] = json!("customData is not a #cloud-config");
        return g;
    };
    let cfg: Json = match serde_json::from_str(body.trim()) {
        Ok(c) => c,
        Err(e) => {
            g["cloud_init_error"] = json!(format!(
                "the local cloud reads JSON cloud-configs only: {e}"
            ));
            return g;
        }
    };
    let sub = &cfg["rh_subscription"];
    g["registered"] = json!(sub["activation-key"].is_string() && !sub["org"].is_null());
    if g["registered"] == json!(true) {
        g["registered_org"] = json!(sub["org"].to_string().trim_matches('"'));
    }
    for f in cfg["write_files"].as_array().into_iter().flatten() {
        if let (Some(path), Some(content)) = (f["path"].as_str(), f["content"].as_str()) {
            g["files"][path] = json!(content);
        }
    }
    for cmd in cfg["runcmd"].as_array().into_iter().flatten() {
        let line = match cmd {
            Json::Array(words) => words
                .iter()
                .map(|w| format!("'{}'", w.as_str().unwrap_or_default().replace('\'', "")))
                .collect::<Vec<_>>()
                .join(" "),
            Json::String(s) => s.clone(),
            _ => continue,
        };
        let o = run(&mut g, &line);
        if o.exit_code != 0 {
            g["cloud_init_error"] =
                json!(format!("runcmd {line}: exit {}: {}", o.exit_code, o.stderr));
            break;
        }
    }
    g["first_boot_started"] = std::mem::replace(&mut g["restarted"], json!([]));
    g
}

pub fn sha256_hex(data: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The digest a registry would report for an image reference (stable per reference).
pub fn digest_of(image: &str) -> String {
    format!("sha256:{}", sha256_hex(image.as_bytes()))
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches(|c| c == '\'' || c == '"').to_string()
}

/// Words of a command line (quotes removed; no expansion).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

pub struct Outcome {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `script` against `guest`, changing it as the commands would.
pub fn run(guest: &mut Json, script: &str) -> Outcome {
    let mut out = Outcome {
        exit_code: 0,
        stdout: String::new(),
        stderr: String::new(),
    };
    let lines: Vec<&str> = script.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Heredoc: cat > FILE <<'TAG' ... TAG
        if let Some(rest) = line.strip_prefix("cat >") {
            if let Some((file, tag)) = rest.split_once("<<") {
                let file = unquote(file);
                let tag = unquote(tag.trim_start_matches('-'));
                let mut body = String::new();
                while i < lines.len() && lines[i].trim_end() != tag {
                    body.push_str(lines[i]);
                    body.push('\n');
                    i += 1;
                }
                i += 1;
                guest["files"][file] = json!(body);
                continue;
            }
        }
        for part in line.split("&&") {
            let (cmd, tolerant) = match part.trim().strip_suffix("|| true") {
                Some(c) => (c.trim(), true),
                None => (part.trim(), false),
            };
            let code = command(guest, cmd, &mut out);
            if code != 0 && !tolerant {
                out.exit_code = code;
                return out;
            }
            if out.exit_code != 0 {
                return out;
            }
        }
    }
    out
}

fn command(guest: &mut Json, cmd: &str, out: &mut Outcome) -> i64 {
    let w = words(cmd);
    let Some(first) = w.first() else { return 0 };
    let args: Vec<&str> = w[1..].iter().map(String::as_str).collect();
    match first.as_str() {
        "set" | "true" | "mkdir" | ":" | "insights-client" | "cloud-init" => 0,
        "exit" => {
            out.exit_code = args.first().and_then(|a| a.parse().ok()).unwrap_or(0);
            out.exit_code
        }
        "echo" => {
            out.stdout.push_str(&args.join(" "));
            out.stdout.push('\n');
            0
        }
        "rm" => {
            for f in args.iter().filter(|a| !a.starts_with('-')) {
                if let Some(files) = guest["files"].as_object_mut() {
                    files.remove(*f);
                }
            }
            0
        }
        "systemctl" if args.first() == Some(&"reboot") => {
            reboot(guest);
            0
        }
        "systemctl" => {
            let verb = args.first().copied().unwrap_or("");
            let units: Vec<String> = args
                .iter()
                .skip(1)
                .filter(|a| !a.starts_with('-'))
                .map(|s| s.to_string())
                .collect();
            match verb {
                "restart" | "start" | "try-restart" | "reload-or-restart" => {
                    for u in units {
                        guest["restarted"]
                            .as_array_mut()
                            .expect("array")
                            .push(json!(u));
                    }
                }
                "enable" => {
                    for u in units {
                        guest["enabled"]
                            .as_array_mut()
                            .expect("array")
                            .push(json!(u));
                    }
                }
                _ => {}
            }
            0
        }
        "bootc" => match args.first().copied() {
            Some("switch") => {
                let Some(image) = args.iter().skip(1).rfind(|a| !a.starts_with("--")) else {
                    out.stderr
                        .push_str("error: switch: missing image reference\n");
                    return 2;
                };
                // `--transport X` takes a value; the last bare word is the reference.
                guest["booted_image"] = json!(image);
                guest["booted_digest"] = json!(digest_of(image));
                0
            }
            Some("upgrade") => {
                if guest["booted_image"].is_null() {
                    out.stderr
                        .push_str("error: Upgrading: Not booted into a bootc deployment\n");
                    return 1;
                }
                match guest["latest_digest"].as_str().map(str::to_string) {
                    Some(d) if guest["booted_digest"] != json!(d) => {
                        out.stdout.push_str(&format!("Queued for next boot: {d}\n"));
                        guest["booted_digest"] = json!(d);
                    }
                    _ => out.stdout.push_str("No changes in: the booted image\n"),
                }
                0
            }
            Some("status") => {
                let status = match guest["booted_image"].as_str() {
                    Some(img) => {
                        json!({ "apiVersion": "org.containers.bootc/v1", "kind": "BootcHost",
                        "status": { "booted": { "image": { "image": { "image": img, "transport": "registry" }, "imageDigest": guest["booted_digest"] } } } })
                    }
                    None => {
                        json!({ "apiVersion": "org.containers.bootc/v1", "kind": "BootcHost", "status": { "booted": null } })
                    }
                };
                out.stdout.push_str(&status.to_string());
                out.stdout.push('\n');
                0
            }
            _ => {
                out.stderr
                    .push_str("bootc: unsupported subcommand in the local cloud\n");
                2
            }
        },
        "sha256sum" => {
            let mut code = 0;
            for f in args.iter().filter(|a| !a.starts_with('-')) {
                match guest["files"][*f].as_str() {
                    Some(content) => out
                        .stdout
                        .push_str(&format!("{}  {f}\n", sha256_hex(content.as_bytes()))),
                    None => {
                        out.stderr
                            .push_str(&format!("sha256sum: {f}: No such file or directory\n"));
                        code = 1;
                    }
                }
            }
            code
        }
        "subscription-manager" | "rhc" => registration(guest, first, &args, out),
        "dnf" | "yum" => {
            if args.contains(&"upgrade") || args.contains(&"update") {
                if !guest["booted_image"].is_null() {
                    out.stderr.push_str("error: dnf can not upgrade an image mode system: /usr is read-only; use bootc upgrade\n");
                    return 1;
                }
                let n = guest["dnf_upgrades"].as_u64().unwrap_or(0) + 1;
                guest["dnf_upgrades"] = json!(n);
                out.stdout.push_str("Complete!\n");
            }
            0
        }
        "reboot" => {
            reboot(guest);
            0
        }

        other => {
            guest["unknown_commands"]
                .as_array_mut()
                .expect("array")
                .push(json!(other));
            0
        }
    }
}

fn reboot(guest: &mut Json) {
    let n = guest["reboots"].as_u64().unwrap_or(0) + 1;
    guest["reboots"] = json!(n);
}

/// `subscription-manager` and `rhc`: registration with an organization and
/// an activation key, the identity of a registered system, unregistration.
fn registration(guest: &mut Json, tool: &str, args: &[&str], out: &mut Outcome) -> i64 {
    // `--org=X`, `--org X`, `--organization X`, `--activationkey=K`, `--activation-key K`
    let value = |names: &[&str]| -> Option<String> {
        args.iter().enumerate().find_map(|(i, a)| {
            names.iter().find_map(|n| {
                a.strip_prefix(&format!("{n}="))
                    .map(str::to_string)
                    .or_else(|| {
                        (a == n)
                            .then(|| args.get(i + 1).map(|v| v.to_string()))
                            .flatten()
                    })
            })
        })
    };
    match args.first().copied() {
        Some("register" | "connect") => {
            let org = value(&["--org", "--organization"]);
            let key = value(&["--activationkey", "--activation-key"]);
            let (Some(org), Some(_key)) = (org, key) else {
                out.stderr.push_str(&format!(
                    "{tool}: an organization and an activation key are required\n"
                ));
                return 64;
            };
            if guest["registered"] == json!(true) && guest["registered_org"] == json!(org) {
                out.stderr.push_str("This system is already registered.\n");
                return 64;
            }
            guest["registered"] = json!(true);
            guest["registered_org"] = json!(org);
            out.stdout.push_str(&format!(
                "The system has been registered with ID: {}\n",
                crate::http::guid()
            ));
            0
        }
        Some("identity") | Some("status") => {
            if guest["registered"] != json!(true) {
                out.stderr.push_str("This system is not yet registered. Try 'subscription-manager register --help' for more information.\n");
                return 1;
            }
            let org = guest["registered_org"].as_str().unwrap_or("");
            out.stdout.push_str(&format!(
                "system identity: {}\nname: host\norg name: {org}\norg ID: {org}\n",
                guest["system_id"]
                    .as_str()
                    .unwrap_or("0b0b0b0b-0000-4000-8000-000000000001")
            ));
            0
        }
        Some("unregister" | "disconnect") => {
            guest["registered"] = json!(false);
            guest["registered_org"] = Json::Null;
            0
        }
        _ => 0,
    }
}

/// `script` with `$NAME`, `${NAME}` and `"$NAME"` of the given environment
/// replaced by their values, as the shell would expand them.
pub fn with_environment(script: &str, env: &[(String, String)]) -> String {
    let mut out = script.to_string();
    for (name, value) in env {
        for form in [
            format!("\"${{{name}}}\""),
            format!("\"${name}\""),
            format!("${{{name}}}"),
            format!("${name}"),
        ] {
            out = out.replace(&form, value);
        }
    }
    out
}

/// The last 4 KiB, as Run Command reports output.
pub fn tail(s: &str) -> String {
    if s.len() <= 4096 {
        return s.to_string();
    }
    let mut start = s.len() - 4096;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    s[start..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_boot_applies_a_json_cloud_config() {
        use base64::Engine as _;
        let cfg = r#"#cloud-config
{"rh_subscription": {"activation-key": "k", "org": 42},
 "write_files": [{"path": "/etc/containers/systemd/web.container", "content": "[Container]\nImage=ubi9\n"}],
 "runcmd": [["systemctl", "daemon-reload"], ["systemctl", "start", "web.service"], ["bootc", "switch", "--apply", "quay.io/me/os:1"]]}
"#;
        let g = after_first_boot(Some(&base64::engine::general_purpose::STANDARD.encode(cfg)));
        assert_eq!(
            g["files"]["/etc/containers/systemd/web.container"],
            "[Container]\nImage=ubi9\n"
        );
        assert_eq!(g["first_boot_started"], json!(["web.service"]));
        assert_eq!(g["restarted"], json!([]));
        assert_eq!(g["booted_image"], "quay.io/me/os:1");
        assert_eq!(g["registered"], true);
        assert_eq!(g["unknown_commands"], json!([]));
        let bad = after_first_boot(Some(
            &base64::engine::general_purpose::STANDARD.encode("#cloud-config\nusers: []\n"),
        ));
        assert!(bad["cloud_init_error"].is_string());
        assert_eq!(bad["registered"], false);
    }

    #[test]
    fn quadlets_bootc_and_status() {
        let mut g = new_guest(Some("registry.redhat.io/rhel9/rhel-bootc:9.6"));
        let script = "#!/bin/bash\nset -euo pipefail\nmkdir -p /etc/containers/systemd\ncat > /etc/containers/systemd/web.container <<'EOF'\n[Container]\nImage=ubi9\nEOF\nsystemctl daemon-reload\nsystemctl restart web.service\nbootc switch --apply quay.io/me/app:2\nsha256sum /etc/containers/systemd/web.container\n";
        let o = run(&mut g, script);
        assert_eq!(o.exit_code, 0, "{}", o.stderr);
        assert_eq!(g["restarted"], json!(["web.service"]));
        assert_eq!(g["booted_image"], "quay.io/me/app:2");
        assert!(o.stdout.contains(&sha256_hex(b"[Container]\nImage=ubi9\n")));
        let s = run(&mut g, "bootc status --format json");
        assert!(s.stdout.contains("quay.io/me/app:2"));
        let f = run(&mut g, "sha256sum /nope\necho after");
        assert_eq!(f.exit_code, 1);
        assert!(!f.stdout.contains("after"), "stops at the first failure");
        assert_eq!(
            run(&mut g, "sha256sum /nope || true\necho after").exit_code,
            0
        );
        assert_eq!(run(&mut g, "exit 3").exit_code, 3);
    }
}
