//! Recording a target's exchanges: starts `rhelazure-recorder` (the
//! emulator crate's recording proxy, see its `recorder` module) in front of
//! the services a target points at, and gives the provider and the harness
//! an environment that goes through it. What a recording holds, and what
//! it never holds, is said there; [`crate::shapes`] compares a recording
//! with the local cloud.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::repo_root;

/// Placeholders for the account's identifiers in recordings.
pub const SUBSCRIPTION_PLACEHOLDER: &str = "00000000-0000-0000-0000-00000000000a";
pub const TENANT_PLACEHOLDER: &str = "00000000-0000-0000-0000-00000000000b";
pub const CLIENT_PLACEHOLDER: &str = "00000000-0000-0000-0000-00000000000c";
pub const ORGANIZATION_PLACEHOLDER: &str = "99999999";

/// The services a target talks to, by the recorder's names, with the
/// environment variable that points the provider at each.
const SERVICES: [(&str, &str, &str); 4] = [
    ("arm", "ARM_ENDPOINT", "https://management.azure.com"),
    (
        "login",
        "ARM_AUTHORITY_HOST",
        "https://login.microsoftonline.com",
    ),
    ("redhat-api", "RH_API_URL", "https://console.redhat.com"),
    ("redhat-sso", "RH_SSO_URL", "https://sso.redhat.com"),
];

/// The base URL a recording writes for service `name` (the recorder's
/// `recorded_base`: recordings name no machine's host or port).
pub fn recorded_base(name: &str) -> String {
    format!("https://{name}.recorded")
}

/// A running recorder; stopped when dropped.
pub struct Recorder {
    child: Child,
    file: PathBuf,
    listeners: Vec<(String, String)>,
    bundle: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn var<'a>(env: &'a [(String, String)], k: &str) -> Option<&'a str> {
    env.iter()
        .find(|(n, v)| n == k && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

impl Recorder {
    /// A recorder in front of the services `env` names, writing a new
    /// recording in `dir`; `secrets` are masked, the account's identifiers
    /// (from `env`, plus `organization`) replaced by placeholders.
    pub fn start(
        env: &[(String, String)],
        secrets: &[String],
        dir: &Path,
        organization: Option<&str>,
    ) -> Recorder {
        std::fs::create_dir_all(dir).expect("the recordings directory");
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        // Scenarios of one process start recorders side by side.
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let file = dir.join(format!(
            "recording-{stamp}-{}-{n}.jsonl",
            std::process::id()
        ));
        let work = tempfile::tempdir().expect("temp dir");
        let ca = work.path().join("recorder-ca.pem");
        let bin = repo_root().join("target/debug/rhelazure-recorder");
        assert!(
            bin.exists(),
            "no {} (run `cargo build --workspace`)",
            bin.display()
        );
        let mut cmd = Command::new(bin);
        for (name, key, default) in SERVICES {
            cmd.arg("--upstream")
                .arg(format!("{name}={}", var(env, key).unwrap_or(default)));
        }
        let ids: Vec<String> = [
            ("ARM_SUBSCRIPTION_ID", SUBSCRIPTION_PLACEHOLDER),
            ("ARM_TENANT_ID", TENANT_PLACEHOLDER),
            ("ARM_CLIENT_ID", CLIENT_PLACEHOLDER),
        ]
        .iter()
        .filter_map(|(k, p)| var(env, k).map(|v| format!("{v}={p}")))
        .chain(organization.map(|o| format!("{o}={ORGANIZATION_PLACEHOLDER}")))
        .collect();
        cmd.arg("--log")
            .arg(&file)
            .arg("--tls-ca-file")
            .arg(&ca)
            .env_remove("SSL_CERT_FILE")
            .env("RHELAZURE_RECORD_SECRETS", secrets.join("\n"))
            .env("RHELAZURE_RECORD_IDS", ids.join("\n"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(trust) = var(env, "SSL_CERT_FILE") {
            cmd.env("SSL_CERT_FILE", trust);
        }
        let mut child = cmd.spawn().expect("rhelazure-recorder starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the recorder's first line");
        let listeners: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the recorder did not start ({e}): {line:?}"));
        let listeners = listeners
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
            .collect();
        // The provider trusts the recorder and, for what does not pass
        // through it (blob endpoints), what it trusted before.
        let mut bundle = std::fs::read(&ca).expect("the recorder's CA");
        match var(env, "SSL_CERT_FILE") {
            Some(f) => bundle.extend(std::fs::read(f).expect("SSL_CERT_FILE")),
            None => {
                use base64::Engine as _;
                for c in rustls_native_certs::load_native_certs().certs {
                    let b64 = base64::engine::general_purpose::STANDARD.encode(c.as_ref());
                    bundle.extend(b"-----BEGIN CERTIFICATE-----\n");
                    for chunk in b64.as_bytes().chunks(64) {
                        bundle.extend(chunk);
                        bundle.push(b'\n');
                    }
                    bundle.extend(b"-----END CERTIFICATE-----\n");
                }
            }
        }
        let bundle_path = work.path().join("trust.pem");
        std::fs::write(&bundle_path, bundle).expect("trust bundle");
        Recorder {
            child,
            file,
            listeners,
            bundle: bundle_path,
            _dir: work,
        }
    }

    /// `env` with every service URL pointing at the recorder, and the
    /// recorder's CA trusted.
    pub fn env_for_clients(&self, env: &[(String, String)]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = env
            .iter()
            .filter(|(k, _)| k != "SSL_CERT_FILE" && !SERVICES.iter().any(|(_, key, _)| key == k))
            .cloned()
            .collect();
        for (name, key, _) in SERVICES {
            if let Some((_, url)) = self.listeners.iter().find(|(n, _)| n == name) {
                out.push((key.to_string(), url.clone()));
            }
        }
        out.push(("SSL_CERT_FILE".into(), self.bundle.display().to_string()));
        out
    }

    /// The recording this recorder writes.
    pub fn file(&self) -> &Path {
        &self.file
    }
}
