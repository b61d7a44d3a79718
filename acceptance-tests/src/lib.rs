//! The acceptance-test harness: runs the **real** Terraform CLI against the
//! freshly built provider, through a `dev_overrides` CLI configuration, in a
//! throwaway working directory.
//!
//! Every Terraform the machine offers is used: `terraform` (or `tofu`) on PATH
//! and `.tools/bin/terraform-1.15` (installed by `scripts/install-terraform-1.15.sh`,
//! which `make test` runs). `RHELAZURE_TERRAFORM` (colon-separated paths)
//! overrides the list.

pub mod crash;
pub mod leaks;
pub mod recorder;
pub mod services;
pub mod shapes;
pub mod sweep;
pub mod target;

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

/// The debug provider linked against the glibc baseline by
/// `scripts/build-baseline.sh` (run by `make build`), as release builds are.
pub fn baseline_provider_bin() -> PathBuf {
    let bin = repo_root()
        .join("target")
        .join(format!("{}-unknown-linux-gnu", std::env::consts::ARCH))
        .join("debug")
        .join("terraform-provider-rhelazure");
    assert!(
        bin.exists(),
        "no baseline build at {} (run `make build` or scripts/build-baseline.sh first)",
        bin.display()
    );
    bin
}

#[derive(Clone, Debug)]
pub struct Terraform {
    pub path: PathBuf,
    /// e.g. "1.11.4"
    pub version: String,
}

impl Terraform {
    /// Whether this Terraform is `major.minor` or newer (OpenTofu counts by its own numbers).
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        let mut parts = self
            .version
            .split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        have >= (major, minor)
    }

    /// Resource identity: Terraform 1.12 and later.
    pub fn has_resource_identity(&self) -> bool {
        self.at_least(1, 12)
    }
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

/// The first Terraform here that has `terraform query` and actions (1.14+),
/// or None (tests of those features then report themselves skipped).
pub fn terraform_with_query() -> Option<Terraform> {
    terraforms().into_iter().find(|t| t.at_least(1, 14))
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

/// Polls `ok` until it holds, for up to `within`; panics naming `what` when it
/// never does. Tests wait for an outcome this way, never with a fixed sleep:
/// a sleep that is long enough on an idle machine is too short on a busy one.
pub fn eventually(what: &str, within: std::time::Duration, mut ok: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    let mut pause = std::time::Duration::from_millis(10);
    loop {
        if ok() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(200));
    }
}

/// How long out-of-band changes to the local cloud may take to settle in
/// tests: far above its 200 ms operations, so only a real hang fails.
pub const SETTLE: std::time::Duration = std::time::Duration::from_secs(60);

/// How long a Terraform command a test drives step by step may run before it
/// counts as hung: on a loaded 2-core machine a debug build hashing and
/// uploading gigabytes takes minutes, and only a hang should fail a test.
pub const COMMAND_DEADLINE: std::time::Duration = std::time::Duration::from_secs(900);

/// A throwaway Terraform working directory wired to the local provider build.
pub struct Workspace {
    pub tf: Terraform,
    pub dir: tempfile::TempDir,
    extra_env: Vec<(String, String)>,
    /// Credentials this workspace's Terraform may hold; see [`leaks`].
    secrets: Vec<String>,
}

/// The trace log every command writes unless a test sets `TF_LOG` itself.
const TRACE_LOG: &str = "terraform-trace.log";

impl Drop for Workspace {
    /// The secret-leak check of [`leaks`] over the logs and state files
    /// (skipped when the test already failed: its own message matters more).
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let mut leaks = Vec::new();
        let mut logs = vec![self.dir.path().join(TRACE_LOG)];
        logs.extend(
            self.extra_env
                .iter()
                .filter(|(k, _)| k == "TF_LOG_PATH")
                .map(|(_, v)| PathBuf::from(v)),
        );
        for log in logs {
            if let Ok(text) = std::fs::read(&log) {
                let text = String::from_utf8_lossy(&text);
                leaks.extend(leaks::in_text(
                    &text,
                    &self.secrets,
                    &log.display().to_string(),
                ));
            }
        }
        for state in ["terraform.tfstate", "terraform.tfstate.backup"] {
            let path = self.dir.path().join(state);
            if let Some(doc) = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
            {
                leaks.extend(leaks::in_terraform_json(&doc, &self.secrets, state));
            }
        }
        assert!(
            leaks.is_empty(),
            "secrets leaked (terraform {}):\n{}",
            self.tf.version,
            leaks
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
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
    /// The result lines `terraform query` printed for the list block
    /// `address` (`rhelazure_vm_license.all`), one per object found.
    pub fn listed(&self, address: &str) -> Vec<String> {
        let prefix = format!("list.{address} ");
        self.stdout
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .map(str::to_string)
            .collect()
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
        let ws = Workspace::empty(tf);
        ws.write_config(config);
        ws
    }

    /// `examples/quickstart` on the local cloud, with a throwaway SSH key.
    pub fn quickstart(tf: &Terraform, cloud: &LocalCloud) -> Workspace {
        Workspace::from_example(tf, "quickstart").cloud(cloud).env(
            "TF_VAR_ssh_public_key",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIQuickstartKey ops@example",
        )
    }

    /// A workspace whose `main.tf` is `config` as given, without this
    /// provider in `required_providers` (Terraform's floor: built-ins only).
    pub fn plain(tf: &Terraform, config: &str) -> Workspace {
        let ws = Workspace::empty(tf);
        std::fs::write(ws.path().join("main.tf"), config).unwrap();
        ws
    }

    /// A workspace holding the `*.tf` files of `examples/<name>` unchanged, so
    /// the examples users copy are the ones the tests apply.
    pub fn from_example(tf: &Terraform, name: &str) -> Workspace {
        let ws = Workspace::empty(tf);
        let src = repo_root().join("examples").join(name);
        for entry in std::fs::read_dir(&src).expect("example exists") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "tf") {
                std::fs::copy(&path, ws.path().join(path.file_name().unwrap())).unwrap();
            }
        }
        ws
    }

    /// A workspace holding a copy of the repository's directory `dir` (a
    /// module with its tests and examples), files and subdirectories alike.
    pub fn from_dir(tf: &Terraform, dir: &str) -> Workspace {
        fn copy(from: &std::path::Path, to: &std::path::Path) {
            for entry in std::fs::read_dir(from).expect("directory exists") {
                let path = entry.unwrap().path();
                let target = to.join(path.file_name().unwrap());
                if path.is_dir() {
                    std::fs::create_dir_all(&target).unwrap();
                    copy(&path, &target);
                } else {
                    std::fs::copy(&path, &target).unwrap();
                }
            }
        }
        let ws = Workspace::empty(tf);
        copy(&repo_root().join(dir), ws.path());
        ws
    }

    fn empty(tf: &Terraform) -> Workspace {
        let dir = tempfile::tempdir().expect("temp dir");
        let cli = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            provider_dir().display()
        );
        std::fs::write(dir.path().join("cli.tfrc"), cli).unwrap();
        Workspace {
            tf: tf.clone(),
            dir,
            extra_env: Vec::new(),
            secrets: Vec::new(),
        }
    }

    /// Writes the query file `name.tfquery.hcl` (`list` blocks).
    pub fn write_query(&self, name: &str, hcl: impl AsRef<str>) {
        std::fs::write(
            self.dir.path().join(format!("{name}.tfquery.hcl")),
            hcl.as_ref(),
        )
        .unwrap();
    }

    /// `terraform query` over the workspace's query files; it must succeed.
    pub fn query(&self) -> Run {
        let r = self.run(&["query", "-no-color"]);
        r.ok();
        r
    }

    /// `terraform query -generate-config-out=generated.tf`: the configuration
    /// (a `resource` and an `import` block per object found) it wrote.
    pub fn generate_config(&self) -> String {
        self.run(&["query", "-no-color", "-generate-config-out=generated.tf"])
            .ok();
        std::fs::read_to_string(self.dir.path().join("generated.tf")).unwrap()
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

    /// A credential this workspace uses that must never show up in logs,
    /// outputs or state outside sensitive attributes (see [`leaks`]).
    pub fn secret(mut self, value: &str) -> Self {
        self.secrets.push(value.to_string());
        self
    }

    /// `terraform <args>` in the workspace, colourless and non-interactive.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.tf.path);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
            .env("TF_DATA_DIR", self.dir.path().join(".terraform"))
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env("NO_COLOR", "1")
            .env_remove("TF_LOG_PROVIDER")
            // The whole suite runs at trace level, so the leak check sees everything.
            .env("TF_LOG", "trace")
            .env("TF_LOG_PATH", self.dir.path().join(TRACE_LOG));
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `terraform <args>` in the workspace; its output is checked for leaks.
    pub fn run(&self, args: &[&str]) -> Run {
        let run: Run = self.command(args).output().expect("terraform runs").into();
        let place = format!("the output of `terraform {}`", args.join(" "));
        let mut leaks = match serde_json::from_str::<serde_json::Value>(&run.stdout) {
            Ok(doc) => leaks::in_terraform_json(&doc, &self.secrets, &place),
            Err(_) => leaks::in_text(&run.stdout, &self.secrets, &place),
        };
        leaks.extend(leaks::in_text(&run.stderr, &self.secrets, &place));
        assert!(
            leaks.is_empty(),
            "secrets leaked:\n{}",
            leaks
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
        run
    }

    /// Runs `terraform apply` and SIGKILLs our provider process (a child of
    /// that terraform) as soon as `when()` holds, polled every 20 ms.
    /// Returns whether it was killed and whether the apply still succeeded.
    pub fn apply_killing_provider_when(
        &self,
        timeout: std::time::Duration,
        when: impl FnMut() -> bool,
    ) -> (bool, bool) {
        self.apply_killing_provider_when_args(
            &["apply", "-auto-approve", "-no-color"],
            timeout,
            when,
        )
    }

    /// Terraform's trace log of every command run in the workspace so far
    /// (the provider's log lines included).
    pub fn trace_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(TRACE_LOG)).unwrap_or_default()
    }

    /// What the last [`Self::apply_killing_provider_when`] run printed, for
    /// assertion messages when it did not go as the test planned.
    pub fn killed_run_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("killed-run.log")).unwrap_or_default()
    }

    /// [`Self::apply_killing_provider_when`] for any command (`destroy`...).
    pub fn apply_killing_provider_when_args(
        &self,
        args: &[&str],
        timeout: std::time::Duration,
        mut when: impl FnMut() -> bool,
    ) -> (bool, bool) {
        // Output goes to killed-run.log, for tests to show when a run failed on its own.
        let log = std::fs::File::create(self.dir.path().join("killed-run.log")).expect("log file");
        let mut apply = self
            .command(args)
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("terraform starts");
        let deadline = std::time::Instant::now() + timeout;
        let mut killed = false;
        while !killed && std::time::Instant::now() < deadline {
            if apply.try_wait().expect("wait").is_some() {
                break;
            }
            if when() {
                let out = Command::new("pgrep")
                    .args([
                        "-P",
                        &apply.id().to_string(),
                        "-f",
                        "terraform-provider-rhelazure",
                    ])
                    .output()
                    .expect("pgrep runs");
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    killed |= Command::new("kill")
                        .args(["-9", pid])
                        .status()
                        .is_ok_and(|s| s.success());
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if !killed {
            let _ = apply.kill();
        }
        let ok = apply.wait().expect("wait").success();
        (killed, ok)
    }
}

/// The local cloud (Azurite + emulator over HTTPS) started by
/// `scripts/local-cloud.sh` for one test, stopped when dropped. It also talks
/// to the clouds directly, "as another tool would", to change things out of band.
pub struct LocalCloud {
    dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
    services: services::Services,
    /// Account SAS tokens by storage account id: listAccountSas is a write
    /// ARM counts against the subscription budget, so it is asked once.
    sas: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

/// Where every local cloud leaves its request log when it stops, for the
/// spec validators `make test` runs over the whole suite's traffic
/// (`scripts/validate-arm-traffic.js`). `RHELAZURE_TRAFFIC_DIR` overrides it.
pub fn traffic_dir() -> PathBuf {
    std::env::var_os("RHELAZURE_TRAFFIC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/traffic"))
}

impl Drop for LocalCloud {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("scripts/local-cloud.sh"))
            .arg("stop")
            .arg(self.dir.path())
            .status();
        // The test's traffic, kept for the validators (a unique name: tests
        // run in parallel and in several processes).
        let log = self.dir.path().join("requests.jsonl");
        let name = self
            .dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = traffic_dir();
        if log.exists() && std::fs::create_dir_all(&dir).is_ok() {
            let test = std::thread::current()
                .name()
                .unwrap_or("test")
                .replace("::", "-");
            let _ = std::fs::copy(&log, dir.join(format!("{test}-{name}.jsonl")));
        }
    }
}

impl LocalCloud {
    pub fn start() -> LocalCloud {
        LocalCloud::start_with(&[])
    }

    /// A local cloud started with `env` for `scripts/local-cloud.sh` (e.g.
    /// `RHELAZURE_EMULATOR_IMDS_LISTEN`).
    pub fn start_with(env: &[(&str, &str)]) -> LocalCloud {
        let dir = tempfile::tempdir().expect("temp dir");
        let ok = Command::new(repo_root().join("scripts/local-cloud.sh"))
            .arg("start")
            .arg(dir.path())
            .envs(env.iter().copied())
            .status()
            .expect("local-cloud.sh runs");
        assert!(ok.success(), "the local cloud did not start");
        let env: Vec<(String, String)> = std::fs::read_to_string(dir.path().join("env"))
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
            .collect();
        let services = services::Services::new(env.clone());
        LocalCloud {
            dir,
            env,
            services,
            sas: Default::default(),
        }
    }

    pub fn get(&self, k: &str) -> String {
        self.services.get(k)
    }

    /// The directory the local cloud keeps its files in (state, logs, CA).
    pub fn dir_path(&self) -> &Path {
        self.dir.path()
    }

    /// The local cloud's services, called as another tool would call them.
    pub fn services(&self) -> &services::Services {
        &self.services
    }

    /// The control API (`/_emulator/...`).
    pub fn control(
        &self,
        method: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        self.services.send(
            method,
            &format!("{}/_emulator/{path}", self.get("ARM_ENDPOINT")),
            None,
            Some(("application/json", body.to_string())),
        )
    }

    /// An ARM call with a token of the seeded service principal; `path` is relative to the endpoint.
    pub fn arm(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        self.services.arm(method, path, body)
    }

    /// An ARM write made "by another tool" that waits, as such a tool would,
    /// until Azure has finished it (see [`services::Services::arm_settled`]).
    pub fn arm_settled(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        self.services.arm_settled_locally(method, path, body)
    }

    /// A Red Hat API call (`path` below the API base URL).
    pub fn redhat(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        self.services.redhat(method, path, body)
    }

    /// A GET against Azurite (or any URL of the local cloud), as text.
    pub fn blob_get(&self, url: &str) -> String {
        let req = ureq::http::Request::builder()
            .method("GET")
            .uri(url)
            .header("x-ms-version", "2024-08-04")
            .body(String::new())
            .unwrap();
        let mut resp = self.services.agent().run(req).expect("Azurite answers");
        resp.body_mut().read_to_string().unwrap_or_default()
    }

    /// Every request the local cloud served so far (its request log).
    pub fn request_log(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Every request the provider made (in the local cloud's request log) is
    /// an operation of the official specs: method, path template, and
    /// api-version (ARM) or versioned base path (Red Hat). ARM's generic
    /// `Resources_*` templates (`.../{resourceProviderNamespace}/
    /// {parentResourcePath}/{resourceType}/{resourceName}`, `/{resourceId}`)
    /// fit almost any path, so they do not count: a request must fit the
    /// operation of its own resource provider. An operation-status URL
    /// (ARM defines no operation for it) must be one the local cloud handed
    /// out earlier in an `Azure-AsyncOperation` or `Location` header. Token
    /// endpoints have no spec here and are skipped.
    pub fn assert_requests_in_spec(&self) {
        let routes = spec_routes();
        let misses = unspecified_requests(&routes, &self.request_log());
        assert!(
            misses.is_empty(),
            "requests outside the specs (spec-routes.json) or to operation URLs never handed out:\n{}",
            misses.join("\n")
        );
    }

    /// Changes the emulator's run-time settings (`PUT /_emulator/config`:
    /// only the fields given), asserting it took them.
    pub fn configure(&self, settings: serde_json::Value) {
        let (status, body) = self.control("PUT", "config", settings.clone());
        assert_eq!(status, 204, "emulator config {settings}: {body}");
    }

    /// Adds a fault (`POST /_emulator/faults`; fields in the emulator's
    /// `control.rs`), asserting the emulator took it.
    pub fn inject_fault(&self, fault: serde_json::Value) {
        let (status, body) = self.control("POST", "faults", fault.clone());
        assert_eq!(status, 201, "fault {fault}: {body}");
    }

    /// `count` pay-as-you-go RHEL VMs (`{prefix}{i}`, each with its NIC) in
    /// the seeded resource group, made through ARM as another tool would
    /// make them, eight writers at once, with the write budget lifted (what
    /// follows is about reading them). Returns nothing: the VMs are there.
    pub fn seed_rhel_vms(&self, prefix: &str, count: usize) {
        let (st, _) = self.control(
            "PUT",
            "throttle",
            serde_json::json!({ "writes": { "capacity": 1.0e9, "per_second": 1.0e9 } }),
        );
        assert!(st < 300);
        let sub = self.get("ARM_SUBSCRIPTION_ID");
        let rg = format!("/subscriptions/{sub}/resourceGroups/rhel-demo");
        let subnet = format!(
            "{rg}/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts"
        );
        std::thread::scope(|s| {
            for w in 0..8 {
                let (rg, subnet) = (&rg, &subnet);
                s.spawn(move || {
                    for i in (w..count).step_by(8) {
                        let nic = format!(
                            "{rg}/providers/Microsoft.Network/networkInterfaces/{prefix}{i}-nic"
                        );
                        let (st, b) = self.arm("PUT", &format!("{nic}?api-version=2024-01-01"), Some(serde_json::json!({ "location": "eastus", "properties": { "ipConfigurations": [{ "name": "p", "properties": { "subnet": { "id": subnet } } }] } })));
                        assert!(st < 300, "{b}");
                        let vm = format!("{rg}/providers/Microsoft.Compute/virtualMachines/{prefix}{i}");
                        let (st, b) = self.arm("PUT", &format!("{vm}?api-version=2024-03-01"), Some(serde_json::json!({
                            "location": "eastus",
                            "properties": {
                                "hardwareProfile": { "vmSize": "Standard_B1s" },
                                "storageProfile": { "imageReference": { "publisher": "RedHat", "offer": "RHEL", "sku": "9-lvm-gen2", "version": "latest" }, "osDisk": { "createOption": "FromImage" } },
                                "osProfile": { "computerName": format!("{prefix}{i}"), "adminUsername": "cloud-user", "linuxConfiguration": { "disablePasswordAuthentication": true, "ssh": { "publicKeys": [{ "path": "/home/cloud-user/.ssh/authorized_keys", "keyData": "ssh-ed25519 AAAA k" }] } } },
                                "networkProfile": { "networkInterfaces": [{ "id": nic }] }
                            }
                        })));
                        assert!(st < 300, "{b}");
                    }
                });
            }
        });
    }

    /// A managed image `image_id` (in eastus) made "by another tool" from a
    /// fixed VHD in Azurite, as Compute wants its source blob; the blob is
    /// put there first. Returns ARM's settled answer.
    pub fn managed_image(&self, image_id: &str) -> (u16, serde_json::Value) {
        let name = image_id.rsplit('/').next().unwrap_or("image");
        let blob = self.vhd_blob(&format!("{name}.vhd"), BlobShape::FixedVhd);
        let body = serde_json::json!({ "location": "eastus", "properties": { "hyperVGeneration": "V2", "storageProfile": { "osDisk": { "osType": "Linux", "osState": "Generalized", "blobUri": blob } } } });
        self.arm_settled(
            "PUT",
            &format!("{image_id}?api-version=2024-03-01"),
            Some(body),
        )
    }

    /// The storage account `name` of `rhel-demo` (eastus), made "by another
    /// tool" unless it is there already; returns its ARM id.
    pub fn storage_account(&self, name: &str) -> String {
        let sub = self.get("ARM_SUBSCRIPTION_ID");
        let account = format!("/subscriptions/{sub}/resourceGroups/rhel-demo/providers/Microsoft.Storage/storageAccounts/{name}");
        // Made (202), or already there (200).
        let (s, b) = self.arm_settled(
            "PUT",
            &format!("{account}?api-version=2023-05-01"),
            Some(serde_json::json!({ "location": "eastus", "sku": { "name": "Standard_LRS" }, "kind": "StorageV2" })),
        );
        assert!(s < 300, "storage account: {b}");
        account
    }

    /// A blob `vhds/{name}` of `shape` in Azurite, put there "by another
    /// tool" (through the storage account `vhdsource` of `rhel-demo` and its
    /// SAS); returns its URI (without the SAS).
    pub fn vhd_blob(&self, name: &str, shape: BlobShape) -> String {
        const MIB: u64 = 1 << 20;
        let account = self.storage_account("vhdsource");
        let sas = self.account_sas(&account);
        let endpoint = self.get("RHELAZURE_BLOB_ENDPOINT");
        let uri = format!("{}/vhds/{name}", endpoint.trim_end_matches('/'));
        let put = |url: String, headers: &[(&str, String)], body: Vec<u8>| {
            let mut req = ureq::http::Request::builder()
                .method("PUT")
                .uri(url)
                .header("x-ms-version", "2024-08-04");
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            let resp = self
                .services
                .agent()
                .run(req.body(body).unwrap())
                .expect("Azurite answers");
            resp.status().as_u16()
        };
        let container = put(
            format!("{endpoint}/vhds?restype=container&{sas}"),
            &[],
            Vec::new(),
        );
        assert!(matches!(container, 201 | 409), "container: {container}");
        let (disk, footer) = match shape {
            BlobShape::FixedVhd => (MIB, Some(vhd_footer(MIB, 2))),
            BlobShape::DynamicVhd => (MIB, Some(vhd_footer(MIB, 3))),
            BlobShape::OddSize => (MIB + 4096, None),
            BlobShape::BlockBlob => {
                let s = put(
                    format!("{uri}?{sas}"),
                    &[("x-ms-blob-type", "BlockBlob".into())],
                    vec![0; 1024],
                );
                assert_eq!(s, 201, "block blob");
                return uri;
            }
        };
        let size = disk + footer.as_ref().map_or(0, |_| 512);
        let s = put(
            format!("{uri}?{sas}"),
            &[
                ("x-ms-blob-type", "PageBlob".into()),
                ("x-ms-blob-content-length", size.to_string()),
            ],
            Vec::new(),
        );
        assert_eq!(s, 201, "page blob");
        if let Some(f) = footer {
            let s = put(
                format!("{uri}?comp=page&{sas}"),
                &[
                    ("x-ms-page-write", "update".into()),
                    ("x-ms-range", format!("bytes={disk}-{}", size - 1)),
                ],
                f,
            );
            assert_eq!(s, 201, "footer page");
        }
        uri
    }

    /// A VM from a custom image (with its image and NIC) in the seeded
    /// resource group, made "by another tool" through ARM; returns its id.
    /// Made again, it is left as it is.
    pub fn custom_image_vm(&self, name: &str) -> String {
        use serde_json::json;
        let sub = self.get("ARM_SUBSCRIPTION_ID");
        let rg = format!("/subscriptions/{sub}/resourceGroups/rhel-demo");
        let image = format!("{rg}/providers/Microsoft.Compute/images/{name}-img");
        self.managed_image(&image);
        let nic = format!("{rg}/providers/Microsoft.Network/networkInterfaces/{name}-nic");
        self.arm_settled("PUT", &format!("{nic}?api-version=2024-01-01"), Some(json!({ "location": "eastus", "properties": { "ipConfigurations": [{ "name": "p", "properties": { "subnet": { "id": format!("{rg}/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts") } } }] } })));
        let id = format!("{rg}/providers/Microsoft.Compute/virtualMachines/{name}");
        if self
            .arm("GET", &format!("{id}?api-version=2024-03-01"), None)
            .0
            == 200
        {
            return id;
        }
        let (s, body) = self.arm_settled("PUT", &format!("{id}?api-version=2024-03-01"), Some(json!({
            "location": "eastus",
            "properties": {
                "hardwareProfile": { "vmSize": "Standard_D2s_v5" },
                "storageProfile": { "imageReference": { "id": image }, "osDisk": { "createOption": "FromImage", "deleteOption": "Delete" } },
                "osProfile": { "adminUsername": "cloud-user", "linuxConfiguration": { "disablePasswordAuthentication": true, "ssh": { "publicKeys": [{ "path": "/home/cloud-user/.ssh/authorized_keys", "keyData": "ssh-ed25519 AAAA k" }] } } },
                "networkProfile": { "networkInterfaces": [{ "id": nic }] }
            }
        })));
        assert_eq!(s, 201, "{body}");
        id
    }

    /// How many ARM writes (PUT, PATCH, DELETE, POST under `/subscriptions/`,
    /// the calls ARM's write budget counts) `log` holds.
    pub fn arm_writes(log: &[serde_json::Value]) -> usize {
        log.iter()
            .filter(|e| {
                matches!(
                    e["method"].as_str(),
                    Some("PUT" | "PATCH" | "DELETE" | "POST")
                ) && e["path"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("/subscriptions/")
            })
            .count()
    }

    /// Every credential of the emulator's seed (client secrets, offline
    /// tokens, service-account secrets), for the leak check.
    pub fn secrets(&self) -> Vec<String> {
        let (status, list) = self.control("GET", "secrets", serde_json::Value::Null);
        assert_eq!(status, 200, "the emulator lists its secrets");
        serde_json::from_value(list).expect("a list of strings")
    }

    /// The emulator's whole state (for "nothing left behind").
    pub fn state(&self) -> serde_json::Value {
        self.control("GET", "state", serde_json::Value::Null).1
    }
}

impl Workspace {
    /// Points this workspace's Terraform (and so the provider) at the local cloud.
    pub fn cloud(mut self, cloud: &LocalCloud) -> Self {
        for (k, v) in &cloud.env {
            self.extra_env.push((k.clone(), v.clone()));
        }
        self.secrets.extend(cloud.secrets());
        self
    }

    /// The plan JSON of `terraform plan -out` + `show -json`.
    pub fn plan_json(&self) -> serde_json::Value {
        self.run(&["plan", "-out=tf.plan", "-input=false", "-no-color"])
            .ok();
        self.run(&["show", "-json", "tf.plan"]).ok().json()
    }

    /// Actions planned for `address` (["create"], ["update"], ["delete","create"], ["no-op"]...).
    pub fn planned_actions(&self, address: &str) -> Vec<String> {
        let plan = self.plan_json();
        plan["resource_changes"]
            .as_array()
            .and_then(|rc| rc.iter().find(|c| c["address"] == address))
            .map(|c| {
                c["change"]["actions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The root module's resources in state, from `terraform show -json`:
    /// each with its `address`, `type`, `values`, `tainted`, `identity`.
    pub fn state_resources(&self) -> Vec<serde_json::Value> {
        let shown = self.run(&["show", "-json", "-no-color"]).ok().json();
        shown["values"]["root_module"]["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The values in state of the first resource of `resource_type`.
    pub fn values_of_type(&self, resource_type: &str) -> serde_json::Value {
        self.state_resources()
            .into_iter()
            .find(|r| r["type"] == resource_type)
            .map(|r| r["values"].clone())
            .unwrap_or_else(|| panic!("no {resource_type} in state"))
    }

    /// The resource identity of `address` that Terraform keeps in state
    /// (1.12+); Null when there is none.
    pub fn identity(&self, address: &str) -> serde_json::Value {
        self.state_resources()
            .into_iter()
            .find(|r| r["address"] == address)
            .map(|r| r["identity"].clone())
            .unwrap_or(serde_json::Value::Null)
    }

    /// Import by identity (Terraform 1.12+): the identity this workspace
    /// holds for `address` imports the same object into a fresh workspace
    /// with `config` through `import { to = address, identity = { ... } }`;
    /// the apply imports one object and changes nothing, the plan after is
    /// empty, and the imported object has the same identity.
    pub fn assert_imports_by_identity(&self, cloud: &LocalCloud, config: &str, address: &str) {
        self.assert_imports_by_identity_updating(cloud, config, address, 0)
    }

    /// [`Self::assert_imports_by_identity`] for a resource whose first apply
    /// after an import completes it in place (`changed` updates).
    pub fn assert_imports_by_identity_updating(
        &self,
        cloud: &LocalCloud,
        config: &str,
        address: &str,
        changed: usize,
    ) {
        let identity = self.identity(address);
        let fields = identity
            .as_object()
            .unwrap_or_else(|| panic!("terraform {}: no identity for {address}", self.tf.version));
        let hcl: String = fields
            .iter()
            .map(|(k, v)| format!("    {k} = {v}\n"))
            .collect();
        let mut fresh = Workspace::new(
            &self.tf,
            &format!("{config}\nimport {{\n  to = {address}\n  identity = {{\n{hcl}  }}\n}}\n"),
        )
        .cloud(cloud);
        fresh.secrets.extend(self.secrets.iter().cloned());
        let r = fresh.run(&["apply", "-auto-approve", "-no-color"]);
        r.ok();
        assert!(
            r.stdout.contains(&format!(
                "1 imported, 0 added, {changed} changed, 0 destroyed"
            )),
            "terraform {}: import of {address} by identity {identity}:\n{}",
            self.tf.version,
            r.stdout
        );
        fresh.assert_no_changes();
        assert_eq!(
            fresh.identity(address),
            identity,
            "terraform {}: the imported object's identity",
            self.tf.version
        );
    }

    pub fn assert_no_changes(&self) {
        let r = self.run(&["plan", "-detailed-exitcode", "-input=false", "-no-color"]);
        assert_eq!(
            r.code, 0,
            "terraform {}: expected no changes:\n{}{}",
            self.tf.version, r.stdout, r.stderr
        );
    }
}

/// The operations of `acceptance-tests/emulator/spec-routes.json` a request
/// may fit: all but ARM's generic `Resources_*` templates, which fit almost
/// any path (`.../{resourceProviderNamespace}/{parentResourcePath}/
/// {resourceType}/{resourceName}`, `/{resourceId}`). The Resources
/// provider's operations on a namespace (`Providers_Get`, `_Register`:
/// `.../providers/{resourceProviderNamespace}[/register]`) stay: they are
/// what any namespace is registered and read with.
pub fn spec_routes() -> Vec<serde_json::Value> {
    const GENERIC: [&str; 3] = ["{parentResourcePath}", "{resourceType}", "{resourceId}"];
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("acceptance-tests/emulator/spec-routes.json"))
            .expect("spec-routes.json"),
    )
    .expect("spec-routes.json is JSON");
    doc["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            let p = r["path"].as_str().unwrap_or("");
            !GENERIC.iter().any(|g| p.contains(g))
        })
        .cloned()
        .collect()
}

/// The requests of `log` no route of `routes` fits (see
/// [`LocalCloud::assert_requests_in_spec`]), one line each, deduplicated.
pub fn unspecified_requests(
    routes: &[serde_json::Value],
    log: &[serde_json::Value],
) -> Vec<String> {
    let fits = |template: &str, path: &str| {
        let t: Vec<&str> = template.trim_matches('/').split('/').collect();
        let p: Vec<&str> = path.trim_matches('/').split('/').collect();
        t.len() == p.len()
            && t.iter()
                .zip(&p)
                .all(|(a, b)| (a.starts_with('{') && a.ends_with('}')) || a.eq_ignore_ascii_case(b))
    };
    let mut handed_out = std::collections::HashSet::new();
    let mut misses = Vec::new();
    let mut checked = 0;
    for e in log {
        let path = e["path"].as_str().unwrap_or("");
        let lower = path.to_ascii_lowercase();
        let method = e["method"].as_str().unwrap_or("");
        if lower.ends_with("/oauth2/v2.0/token") || lower.starts_with("/sso/") {
            continue;
        }
        checked += 1;
        if lower.contains("/operations/")
            || lower.contains("/operationresults/")
            || lower.contains("/operationstatuses/")
            || lower.contains("/asyncoperations/")
        {
            if !(method == "GET" && handed_out.contains(&lower)) {
                misses.push(format!(
                    "{method} {path}: an operation URL the local cloud never handed out"
                ));
            }
        } else {
            let (p, rh) = match path.strip_prefix("/redhat") {
                Some(p) => (p, true),
                None => (path, false),
            };
            let ok = routes.iter().any(|r| {
                r["method"] == e["method"]
                    && fits(r["path"].as_str().unwrap_or(""), p)
                    && (rh || r["api_version"] == e["api_version"])
            });
            if !ok {
                misses.push(format!("{method} {path} api-version={}", e["api_version"]));
            }
        }
        for url in e["operation_urls"].as_array().into_iter().flatten() {
            if let Some(u) = url.as_str() {
                // The path of an absolute URL (scheme://host/path?query).
                let after_scheme = u.split_once("://").map_or(u, |(_, rest)| rest);
                let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
                let path = path.split('?').next().unwrap_or("");
                handed_out.insert(path.to_ascii_lowercase());
            }
        }
    }
    if checked == 0 {
        misses.push("no requests were logged".into());
    }
    misses.sort();
    misses.dedup();
    misses
}

#[cfg(test)]
mod route_check_tests {
    use serde_json::json;

    fn check(log: &[serde_json::Value]) -> Vec<String> {
        super::unspecified_requests(&super::spec_routes(), log)
    }

    const SUB: &str = "/subscriptions/5ab5c41d-0000-4000-a000-00000000d3e0";

    #[test]
    fn a_path_only_the_generic_templates_fit_is_refused() {
        let bad = json!({ "method": "PUT", "path": format!("{SUB}/resourceGroups/rg/providers/Microsoft.Foo/bar/baz/qux"), "api_version": "2024-03-01" });
        let good = json!({ "method": "PUT", "path": format!("{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/x"), "api_version": "2024-03-01" });
        let wrong_version = json!({ "method": "PUT", "path": format!("{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/x"), "api_version": "2099-01-01" });
        assert_eq!(check(std::slice::from_ref(&good)), Vec::<String>::new());
        assert_eq!(check(&[bad]).len(), 1);
        assert_eq!(check(&[wrong_version]).len(), 1);
    }

    #[test]
    fn registering_a_namespace_fits_the_resources_provider() {
        let register = json!({ "method": "POST", "path": format!("{SUB}/providers/Microsoft.Compute/register"), "api_version": "2024-03-01" });
        let read = json!({ "method": "GET", "path": format!("{SUB}/providers/Microsoft.Network"), "api_version": "2024-03-01" });
        assert_eq!(check(&[register, read]), Vec::<String>::new());
    }

    #[test]
    fn an_operation_url_must_have_been_handed_out() {
        let op = format!("{SUB}/providers/Microsoft.Compute/locations/eastus/operations/abc");
        let put = json!({ "method": "PUT", "path": format!("{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/x"), "api_version": "2024-03-01", "operation_urls": [format!("https://127.0.0.1:1{op}?api-version=2024-03-01")] });
        let poll = json!({ "method": "GET", "path": op, "api_version": "2024-03-01" });
        let invented = json!({ "method": "GET", "path": format!("{SUB}/providers/Microsoft.Compute/locations/eastus/operations/other"), "api_version": "2024-03-01" });
        assert_eq!(check(&[put.clone(), poll.clone()]), Vec::<String>::new());
        assert_eq!(check(&[poll]).len(), 1, "polled before it was handed out");
        assert_eq!(check(&[put, invented]).len(), 1);
    }

    #[test]
    fn red_hat_paths_are_checked_with_their_version() {
        let good = json!({ "method": "POST", "path": "/redhat/api/image-builder/v1/compose" });
        let old = json!({ "method": "POST", "path": "/redhat/api/image-builder/v0/compose" });
        assert_eq!(check(std::slice::from_ref(&good)), Vec::<String>::new());
        assert_eq!(check(&[old]).len(), 1);
    }
}

/// What `LocalCloud::vhd_blob` puts in Azurite: the source blob Compute
/// accepts for a managed image, and the ones it refuses.
#[derive(Clone, Copy, Debug)]
pub enum BlobShape {
    /// A page blob of 1 MiB of disk and a fixed-VHD footer.
    FixedVhd,
    /// A page blob whose footer says "dynamic" (Azure takes fixed VHDs only).
    DynamicVhd,
    /// A page blob of 1 MiB + 4 KiB: not a whole number of MiB and a footer.
    OddSize,
    /// A block blob.
    BlockBlob,
}

/// A VHD hard disk footer (the VHD specification's: cookie, current size,
/// disk type, one's-complement checksum), for a disk of `disk_size` bytes.
fn vhd_footer(disk_size: u64, disk_type: u32) -> Vec<u8> {
    let mut f = vec![0u8; 512];
    f[..8].copy_from_slice(b"conectix");
    f[40..48].copy_from_slice(&disk_size.to_be_bytes());
    f[48..56].copy_from_slice(&disk_size.to_be_bytes());
    f[60..64].copy_from_slice(&disk_type.to_be_bytes());
    let sum = f.iter().fold(0u32, |s, b| s.wrapping_add(u32::from(*b)));
    f[64..68].copy_from_slice(&(!sum).to_be_bytes());
    f
}
