//! The acceptance-test harness: runs the **real** Terraform CLI against the
//! freshly built provider, through a `dev_overrides` CLI configuration, in a
//! throwaway working directory.
//!
//! Every Terraform the machine offers is used: `terraform` (or `tofu`) on PATH
//! and `.tools/bin/terraform-1.15` (installed by `scripts/install-terraform-1.15.sh`,
//! which `make test` runs). `RHELAZURE_TERRAFORM` (colon-separated paths)
//! overrides the list.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const PROVIDER_SOURCE: &str = "rhel-on-azure/rhelazure";
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/rhel-on-azure/rhelazure";

/// The repository root (one level above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crate lives in the repo")
        .to_path_buf()
}

/// Directory holding the built `terraform-provider-rhelazure`.
pub fn provider_dir() -> PathBuf {
    let dir = std::env::var_os("RHELAZURE_PROVIDER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target").join("debug"));
    assert!(
        dir.join("terraform-provider-rhelazure").exists(),
        "no provider binary in {} (run `cargo build` or `make build` first)",
        dir.display()
    );
    dir
}

#[derive(Clone, Debug)]
pub struct Terraform {
    pub path: PathBuf,
    /// e.g. "1.11.4"
    pub version: String,
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|c| c.is_file())
    })
}

fn version_of(path: &Path) -> Option<String> {
    let out = Command::new(path)
        .arg("version")
        .arg("-json")
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["terraform_version"].as_str().map(str::to_string)
}

/// Every Terraform CLI available here. Panics (with the fix) when there is none.
pub fn terraforms() -> Vec<Terraform> {
    let candidates: Vec<PathBuf> = match std::env::var("RHELAZURE_TERRAFORM") {
        Ok(list) if !list.is_empty() => list.split(':').map(PathBuf::from).collect(),
        _ => [
            on_path("terraform"),
            on_path("tofu"),
            Some(repo_root().join(".tools/bin/terraform-1.15")),
        ]
        .into_iter()
        .flatten()
        .filter(|p| p.exists())
        .collect(),
    };
    let mut found: Vec<Terraform> = Vec::new();
    for path in candidates {
        if let Some(version) = version_of(&path) {
            if !found.iter().any(|t| t.version == version) {
                found.push(Terraform { path, version });
            }
        }
    }
    assert!(
        !found.is_empty(),
        "no Terraform CLI found: install one on PATH or run scripts/install-terraform-1.15.sh (make test does)"
    );
    found
}

/// A throwaway Terraform working directory wired to the local provider build.
pub struct Workspace {
    pub tf: Terraform,
    pub dir: tempfile::TempDir,
    extra_env: Vec<(String, String)>,
}

/// The result of one Terraform command.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "terraform failed:\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
    /// stdout and stderr together, for message assertions (diagnostics go to either).
    pub fn all(&self) -> String {
        // Terraform wraps long diagnostic lines; join them so messages can be matched whole.
        let joined = format!("{}\n{}", self.stdout, self.stderr);
        joined
            .lines()
            .map(|l| l.trim_start_matches(['│', ' ', '╷', '╵']))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Workspace {
    /// A directory with `main.tf` = `config` (a `terraform { required_providers }`
    /// block is added) and a CLI config whose `dev_overrides` point at our build.
    pub fn new(tf: &Terraform, config: &str) -> Workspace {
        let dir = tempfile::tempdir().expect("temp dir");
        let cli = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            provider_dir().display()
        );
        std::fs::write(dir.path().join("cli.tfrc"), cli).unwrap();
        let ws = Workspace {
            tf: tf.clone(),
            dir,
            extra_env: Vec::new(),
        };
        ws.write_config(config);
        ws
    }

    pub fn write_config(&self, config: &str) {
        let header = format!(
            "terraform {{\n  required_providers {{\n    rhelazure = {{ source = \"{PROVIDER_SOURCE}\" }}\n  }}\n}}\n\n"
        );
        std::fs::write(self.dir.path().join("main.tf"), header + config).unwrap();
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.extra_env.push((key.into(), value.into()));
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `terraform <args>` in the workspace, colourless and non-interactive.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(&self.tf.path);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
            .env("TF_DATA_DIR", self.dir.path().join(".terraform"))
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env("NO_COLOR", "1")
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PATH")
            .env_remove("TF_LOG_PROVIDER");
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd.output().expect("terraform runs").into()
    }
}
