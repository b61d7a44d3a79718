//! What `rhelazure_atomic_host` puts on a host: the first-boot cloud-config
//! (Red Hat registration, Podman quadlet units, update timers, the bootc image)
//! and the shell scripts Run Command executes for in-place changes. Pure
//! functions of the typed host model, so they are unit-tested and validated
//! with the real `cloud-init schema` and `shellcheck`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where Podman's quadlet generator reads `.container` units from.
pub const QUADLET_DIR: &str = "/etc/containers/systemd";

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Container {
    pub name: String,
    pub image: String,
    #[serde(default)]
    pub ports: Option<Vec<String>>,
    #[serde(default)]
    pub environment: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub command: Option<Vec<String>>,
}

#[derive(Clone, Default, PartialEq, Deserialize)]
pub struct Registration {
    pub organization: Option<serde_json::Number>,
    /// Sensitive: whoever holds it can register hosts to the organization.
    pub activation_key: Option<String>,
    pub insights: Option<bool>,
}

/// Never the activation key.
impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("organization", &self.organization)
            .field(
                "activation_key",
                &self.activation_key.as_ref().map(|_| "[redacted]"),
            )
            .field("insights", &self.insights)
            .finish()
    }
}

/// What the host runs: the parts of the resource that end up inside it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct HostSpec {
    #[serde(default)]
    pub containers: Option<Vec<Container>>,
    #[serde(default)]
    pub registration: Option<Registration>,
    #[serde(default)]
    pub bootc_image: Option<String>,
    #[serde(default)]
    pub auto_update: Option<bool>,
}

impl HostSpec {
    pub fn containers(&self) -> &[Container] {
        self.containers.as_deref().unwrap_or_default()
    }
}

/// The systemd-escaped form of one `Exec=` / `Environment=` word: quadlet
/// splits on spaces and honours double quotes with C-style escapes; `%` is a
/// specifier everywhere, `$` expands only in command lines (`exec`).
fn quote(word: &str, exec: bool) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,".contains(c))
    {
        return word.to_string();
    }
    let mut s = String::from("\"");
    for c in word.chars() {
        match c {
            '"' | '\\' => {
                s.push('\\');
                s.push(c)
            }
            '\n' => s.push_str("\\n"),
            '$' if exec => s.push_str("$$"),
            '%' => s.push_str("%%"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// The quadlet `.container` unit of one container.
pub fn quadlet(c: &Container) -> String {
    let mut u = format!(
        "# Managed by terraform-provider-rhelazure: changes are overwritten.\n[Unit]\nDescription={} container\nWants=network-online.target\nAfter=network-online.target\n\n[Container]\nContainerName={}\nImage={}\nLabel=io.containers.autoupdate=registry\n",
        c.name, c.name, c.image
    );
    for p in c.ports.iter().flatten() {
        u.push_str(&format!("PublishPort={p}\n"));
    }
    for (k, v) in c.environment.iter().flatten() {
        u.push_str(&format!(
            "Environment={}\n",
            quote(&format!("{k}={v}"), false)
        ));
    }
    if let Some(cmd) = c.command.as_ref().filter(|c| !c.is_empty()) {
        let words: Vec<String> = cmd.iter().map(|w| quote(w, true)).collect();
        u.push_str(&format!("Exec={}\n", words.join(" ")));
    }
    u.push_str(
        "\n[Service]\nRestart=always\n\n[Install]\nWantedBy=multi-user.target default.target\n",
    );
    u
}

pub fn unit_path(c: &Container) -> String {
    format!("{QUADLET_DIR}/{}.container", c.name)
}

const TIMERS: [&str; 2] = [
    "podman-auto-update.timer",
    "bootc-fetch-apply-updates.timer",
];

/// The part of cloud-init's cloud-config schema this provider writes. Field
/// order is the output order, kept alphabetical as it always was: the text
/// is hashed into `first_boot_sha256` and the creation marker.
#[derive(Serialize)]
struct CloudConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    rh_subscription: Option<RhSubscription<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    runcmd: Vec<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    write_files: Vec<WriteFile>,
}

/// cloud-init's `rh_subscription` module.
#[derive(Serialize)]
struct RhSubscription<'a> {
    #[serde(rename = "activation-key")]
    activation_key: &'a str,
    org: &'a serde_json::Number,
}

/// One entry of cloud-init's `write_files` module.
#[derive(Serialize)]
struct WriteFile {
    content: String,
    owner: &'static str,
    path: String,
    permissions: &'static str,
}

/// The first-boot cloud-config. Emitted as JSON after the `#cloud-config`
/// header: JSON is YAML, and serde_json escapes every string correctly, which
/// no YAML emitter crate we would trust does with less weight.
pub fn cloud_config(spec: &HostSpec) -> String {
    let words = |w: &[&str]| w.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // No auto-attach: Simple Content Access hosts need none, and RHEL 10
    // removed `subscription-manager attach`.
    let rh_subscription = spec.registration.as_ref().and_then(|r| {
        Some(RhSubscription {
            activation_key: r.activation_key.as_deref()?,
            org: r.organization.as_ref()?,
        })
    });
    let write_files = spec
        .containers()
        .iter()
        .map(|c| WriteFile {
            content: quadlet(c),
            owner: "root:root",
            path: unit_path(c),
            permissions: "0644",
        })
        .collect();
    let mut runcmd = Vec::new();
    if spec.registration.as_ref().and_then(|r| r.insights) == Some(true) {
        runcmd.push(words(&["insights-client", "--register"]));
    }
    if !spec.containers().is_empty() {
        runcmd.push(words(&["systemctl", "daemon-reload"]));
        for c in spec.containers() {
            runcmd.push(words(&[
                "systemctl",
                "start",
                &format!("{}.service", c.name),
            ]));
        }
    }
    if spec.auto_update.unwrap_or(true) {
        for t in TIMERS {
            runcmd.push(words(&["systemctl", "enable", "--now", t]));
        }
    }
    if let Some(img) = &spec.bootc_image {
        // Last: switching applies the new image with a reboot.
        runcmd.push(words(&["bootc", "switch", "--apply", img]));
    }
    let cfg = CloudConfig {
        rh_subscription,
        runcmd,
        write_files,
    };
    format!(
        "#cloud-config\n{}\n",
        serde_json::to_string_pretty(&cfg).unwrap_or_default()
    )
}

/// Single-quoted for sh.
fn sh(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// The Run Command script that takes a host from `old` to `new` in place:
/// rewrites changed units, removes dropped ones, restarts only what changed,
/// toggles the update timers and switches the bootc image.
pub fn update_script(old: &HostSpec, new: &HostSpec) -> String {
    let mut s = String::from("#!/bin/sh\n# rhelazure_atomic_host: in-place update\nset -eu\n");
    let old_by_name: BTreeMap<&str, &Container> = old
        .containers()
        .iter()
        .map(|c| (c.name.as_str(), c))
        .collect();
    let new_names: Vec<&str> = new.containers().iter().map(|c| c.name.as_str()).collect();
    let changed: Vec<&Container> = new
        .containers()
        .iter()
        .filter(|c| old_by_name.get(c.name.as_str()) != Some(c))
        .collect();
    let removed: Vec<&&Container> = old_by_name
        .iter()
        .filter(|(n, _)| !new_names.contains(n))
        .map(|(_, c)| c)
        .collect();
    if !changed.is_empty() || !removed.is_empty() {
        s.push_str(&format!("mkdir -p {QUADLET_DIR}\n"));
    }
    for c in &removed {
        s.push_str(&format!(
            "systemctl stop {} || true\nrm -f {}\n",
            sh(&format!("{}.service", c.name)),
            sh(&unit_path(c))
        ));
    }
    for c in &changed {
        s.push_str(&format!(
            "cat > {} <<'RHELAZURE_UNIT'\n{}RHELAZURE_UNIT\n",
            sh(&unit_path(c)),
            quadlet(c)
        ));
    }
    if !changed.is_empty() || !removed.is_empty() {
        s.push_str("systemctl daemon-reload\n");
    }
    for c in &changed {
        s.push_str(&format!(
            "systemctl restart {}\n",
            sh(&format!("{}.service", c.name))
        ));
    }
    let (was, now) = (
        old.auto_update.unwrap_or(true),
        new.auto_update.unwrap_or(true),
    );
    if was != now {
        for t in TIMERS {
            if now {
                s.push_str(&format!("systemctl enable --now {t}\n"));
            } else {
                s.push_str(&format!("systemctl disable --now {t}\n"));
            }
        }
    }
    if new.bootc_image != old.bootc_image {
        if let Some(img) = &new.bootc_image {
            s.push_str(&format!("bootc switch --apply {}\n", sh(img)));
        }
    }
    s.push_str("echo 'update applied'\n");
    s
}

/// What a host reports about itself: the booted bootc image (null in package
/// mode or when `bootc` is absent) and the SHA-256 of each quadlet unit found.
#[derive(Debug, Default, PartialEq)]
pub struct HostReport {
    pub booted_image: Option<String>,
    pub booted_digest: Option<String>,
    /// False when the `bootc status` output could not be read (for example,
    /// cut by Run Command's 4 KiB output tail): then nothing is said about it.
    pub bootc_known: bool,
    pub unit_sha256: BTreeMap<String, String>,
}

/// A read-only script reporting the booted image and the hashes of the
/// units `spec` manages, between markers [`parse_status`] looks for. The
/// unit hashes come last so Run Command's output tail always keeps them.
pub fn status_script(spec: &HostSpec) -> String {
    let mut s = String::from(
        "#!/bin/sh\n# rhelazure_atomic_host: report the booted image and unit hashes (read-only)\n# After first boot's cloud-init, so a new host is not read half-written.\ncloud-init status --wait >/dev/null 2>&1 || true\necho '--- bootc'\nbootc status --format json || true\necho '--- units'\n",
    );
    for c in spec.containers() {
        s.push_str(&format!("sha256sum {} || true\n", sh(&unit_path(c))));
    }
    s.push_str("echo '--- end'\n");
    s
}

/// What `bootc status --format json` reports (bootc's `Host` resource, the
/// `org.containers.bootc/v1` schema), as far as this provider reads it.
#[derive(Default, Deserialize)]
#[serde(default)]
struct BootcHost {
    status: BootcStatus,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct BootcStatus {
    booted: Option<BootEntry>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct BootEntry {
    image: Option<BootEntryImage>,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct BootEntryImage {
    image: ImageReference,
    image_digest: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ImageReference {
    image: Option<String>,
}

/// Reads the output of [`status_script`].
pub fn parse_status(stdout: &str) -> HostReport {
    let mut r = HostReport::default();
    let section = |from: &str, to: &str| -> Option<String> {
        let start = stdout.find(from)? + from.len();
        let end = stdout[start..].find(to).map_or(stdout.len(), |e| start + e);
        Some(stdout[start..end].to_string())
    };
    if let Some(text) = section("--- bootc\n", "--- units") {
        let text = text.trim();
        if text.is_empty() {
            r.bootc_known = true; // no bootc: a package-mode host
        } else if let Ok(status) = serde_json::from_str::<BootcHost>(text) {
            let booted = status.status.booted.and_then(|b| b.image);
            r.booted_image = booted.as_ref().and_then(|b| b.image.image.clone());
            r.booted_digest = booted.and_then(|b| b.image_digest);
            r.bootc_known = true;
        }
    }
    for line in section("--- units\n", "--- end")
        .unwrap_or_default()
        .lines()
    {
        if let Some((hash, path)) = line.split_once("  ") {
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                r.unit_sha256
                    .insert(path.trim().to_string(), hash.to_string());
            }
        }
    }
    r
}

/// Best-effort unregistration before the VM is deleted, so the host does not
/// linger in Red Hat's inventory.
pub const UNREGISTER_SCRIPT: &str =
    "#!/bin/sh\n# rhelazure_atomic_host: leave Red Hat's inventory before deletion\nrhc disconnect || true\nsubscription-manager unregister || true\n";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    fn web() -> Container {
        Container {
            name: "web".into(),
            image: "registry.access.redhat.com/ubi9/httpd-24:latest".into(),
            ports: Some(vec!["8080:8080".into()]),
            environment: Some(
                [("GREETING".to_string(), "hello \"world\" $HOME".to_string())].into(),
            ),
            command: Some(vec!["run-httpd".into(), "-D".into(), "FOREGROUND".into()]),
        }
    }

    fn spec() -> HostSpec {
        HostSpec {
            containers: Some(vec![web()]),
            registration: Some(Registration {
                organization: Some(11009103.into()),
                activation_key: Some("hosts".into()),
                insights: Some(true),
            }),
            bootc_image: Some("registry.redhat.io/rhel9/rhel-bootc:9.6".into()),
            auto_update: Some(true),
        }
    }

    #[test]
    fn quadlet_escapes_environment_and_command() {
        let u = quadlet(&web());
        assert!(
            u.contains("Environment=\"GREETING=hello \\\"world\\\" $HOME\"\n"),
            "{u}"
        );
        assert!(u.contains("Exec=run-httpd -D FOREGROUND\n"));
        assert!(u.contains("PublishPort=8080:8080\n"));
    }

    /// `first_boot_sha256` and the creation marker hash this text: a host
    /// made by an earlier release must hash the same.
    #[test]
    fn the_cloud_config_text_is_stable() {
        let hash = crate::resources::common::sha256_hex(cloud_config(&spec()).as_bytes());
        assert_eq!(
            hash,
            "4afb6c65f62308bfe28d7c2e2cabece072065aa607fc55fc72da2d7129ec9da3"
        );
        let bare = cloud_config(&HostSpec::default());
        assert_eq!(
            bare,
            "#cloud-config\n{\n  \"runcmd\": [\n    [\n      \"systemctl\",\n      \"enable\",\n      \"--now\",\n      \"podman-auto-update.timer\"\n    ],\n    [\n      \"systemctl\",\n      \"enable\",\n      \"--now\",\n      \"bootc-fetch-apply-updates.timer\"\n    ]\n  ]\n}\n"
        );
    }

    #[test]
    fn cloud_config_registers_without_auto_attach() {
        let c = cloud_config(&spec());
        assert!(c.starts_with("#cloud-config\n"));
        let j: Json = serde_json::from_str(c.trim_start_matches("#cloud-config\n")).unwrap();
        assert_eq!(j["rh_subscription"]["org"], 11009103);
        assert!(j["rh_subscription"].get("auto-attach").is_none());
        assert_eq!(
            j["write_files"][0]["path"],
            "/etc/containers/systemd/web.container"
        );
        assert_eq!(j["runcmd"].as_array().unwrap().last().unwrap()[0], "bootc");
    }

    #[test]
    fn update_restarts_only_what_changed() {
        let old = spec();
        let mut new = spec();
        let mut db = web();
        db.name = "db".into();
        db.image = "registry.redhat.io/rhel9/postgresql-16".into();
        new.containers.as_mut().unwrap().push(db);
        let s = update_script(&old, &new);
        assert!(s.contains("systemctl restart 'db.service'"));
        assert!(!s.contains("restart 'web.service'"), "{s}");
        let none = update_script(&new, &new);
        assert!(!none.contains("daemon-reload"), "{none}");
        let gone = update_script(&new, &old);
        assert!(gone.contains("rm -f '/etc/containers/systemd/db.container'"));
    }

    /// The real validators, installed by `make tools` (scripts/install-host-tools.sh).
    #[test]
    fn status_report_is_parsed_and_tolerates_a_cut_bootc_section() {
        let web = web();
        let hash = "ab".repeat(32);
        let out = format!(
            "--- bootc\n{{\"status\":{{\"booted\":{{\"image\":{{\"image\":{{\"image\":\"quay.io/me/os:2\",\"transport\":\"registry\"}},\"imageDigest\":\"sha256:1234\"}}}}}}}}\n--- units\n{hash}  {}\nsha256sum: /x: No such file\n--- end\n",
            unit_path(&web)
        );
        let r = parse_status(&out);
        assert!(r.bootc_known);
        assert_eq!(r.booted_image.as_deref(), Some("quay.io/me/os:2"));
        assert_eq!(r.booted_digest.as_deref(), Some("sha256:1234"));
        assert_eq!(r.unit_sha256.get(&unit_path(&web)), Some(&hash));
        assert_eq!(r.unit_sha256.len(), 1);
        // Package mode: no bootc output at all.
        let pkg = parse_status("--- bootc\n--- units\n--- end\n");
        assert!(pkg.bootc_known && pkg.booted_image.is_none());
        // Output tail cut inside the JSON: bootc unknown, units still read.
        let cut = parse_status(&format!("ed\":\"x\"}}\n--- units\n{hash}  /a\n--- end\n"));
        assert!(!cut.bootc_known);
        assert_eq!(cut.unit_sha256.len(), 1);
    }

    #[test]
    fn rendered_files_pass_cloud_init_schema_and_shellcheck() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("user-data");
        std::fs::write(&cfg, cloud_config(&spec())).unwrap();
        let out = std::process::Command::new("cloud-init")
            .args(["schema", "--config-file"])
            .arg(&cfg)
            .output()
            .expect("cloud-init is installed (make tools)");
        assert!(
            out.status.success(),
            "cloud-init schema: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut other = spec();
        other.containers = None;
        other.auto_update = Some(false);
        for (i, script) in [
            update_script(&HostSpec::default(), &spec()),
            update_script(&spec(), &other),
            UNREGISTER_SCRIPT.to_string(),
            status_script(&spec()),
        ]
        .iter()
        .enumerate()
        {
            let f = dir.path().join(format!("script{i}.sh"));
            std::fs::write(&f, script).unwrap();
            let out = std::process::Command::new("shellcheck")
                .arg(&f)
                .output()
                .expect("shellcheck is installed (make tools)");
            assert!(
                out.status.success(),
                "shellcheck:\n{script}\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}
