//! `make release` (scripts/release.sh) artifacts are what a registry serves:
//! the checksums match, the manifest declares protocol 6.0, and Terraform
//! installs the zip from a filesystem mirror, packed (the zip itself) and
//! unpacked (the binary extracted from it), pinning the same hash for both.

use std::path::Path;
use std::process::Command;

use rhelazure_acceptance_tests::{
    baseline_provider_bin, provider_dir, repo_root, terraforms, Terraform,
};

const CONFIG: &str = r#"
terraform {
  required_providers {
    rhelazure = { source = "rhel-on-azure/rhelazure" }
  }
}
output "urn" { value = provider::rhelazure::build_image_urn({ publisher = "RedHat", offer = "RHEL", sku = "9-lvm-gen2" }) }
"#;

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// `terraform init` + `plan` with only `mirror` as the installation source;
/// returns the lock file.
fn init_and_plan(tf: &Terraform, mirror: &Path) -> String {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("cli.tfrc"),
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n    include = [\"rhel-on-azure/*\"]\n  }}\n}}\n",
            mirror.display()
        ),
    )
    .unwrap();
    std::fs::write(work.path().join("main.tf"), CONFIG).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(&tf.path)
            .args(args)
            .current_dir(work.path())
            .env("TF_CLI_CONFIG_FILE", work.path().join("cli.tfrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "terraform {} {args:?}:\n{}{}",
            tf.version,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    run(&["init", "-no-color", "-input=false"]);
    assert!(run(&["plan", "-no-color", "-input=false"]).contains("RedHat:RHEL:9-lvm-gen2:latest"));
    std::fs::read_to_string(work.path().join(".terraform.lock.hcl")).unwrap()
}

#[test]
fn release_zip_installs_from_a_filesystem_mirror() {
    let dist = tempfile::tempdir().unwrap();
    let status = Command::new(repo_root().join("scripts/release.sh"))
        .arg(dist.path())
        .env("RHELAZURE_RELEASE_BIN", baseline_provider_bin())
        .env_remove("RHELAZURE_GPG_KEY")
        .status()
        .unwrap();
    assert!(status.success());

    let version = env!("CARGO_PKG_VERSION");
    let target = format!(
        "linux_{}",
        if cfg!(target_arch = "aarch64") {
            "arm64"
        } else {
            "amd64"
        }
    );
    let zip = dist.path().join(format!(
        "terraform-provider-rhelazure_{version}_{target}.zip"
    ));
    let manifest = dist.path().join(format!(
        "terraform-provider-rhelazure_{version}_manifest.json"
    ));
    let sums = std::fs::read_to_string(
        dist.path()
            .join(format!("terraform-provider-rhelazure_{version}_SHA256SUMS")),
    )
    .unwrap();
    for file in [&zip, &manifest] {
        let line = format!(
            "{}  {}",
            sha256(file),
            file.file_name().unwrap().to_string_lossy()
        );
        assert!(
            sums.lines().any(|l| l == line),
            "{line} in SHA256SUMS:\n{sums}"
        );
    }
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(
        m["metadata"]["protocol_versions"],
        serde_json::json!(["6.0"])
    );

    // Packed layout: the zip itself; Terraform records its hash in the lock file.
    let packed = tempfile::tempdir().unwrap();
    let dir = packed
        .path()
        .join("registry.terraform.io/rhel-on-azure/rhelazure");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&zip, dir.join(zip.file_name().unwrap())).unwrap();

    // Unpacked layout: the binary extracted from the zip, mode kept.
    let unpacked = tempfile::tempdir().unwrap();
    let dir = unpacked.path().join(format!(
        "registry.terraform.io/rhel-on-azure/rhelazure/{version}/{target}"
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let ok = Command::new("python3")
        .args(["-c", "import sys, zipfile, os\nz = zipfile.ZipFile(sys.argv[1])\nfor i in z.infolist():\n    p = z.extract(i, sys.argv[2]); os.chmod(p, i.external_attr >> 16)"])
        .arg(&zip)
        .arg(&dir)
        .status()
        .unwrap();
    assert!(ok.success());
    assert!(dir
        .join(format!("terraform-provider-rhelazure_v{version}"))
        .exists());

    for tf in terraforms() {
        // A mirror yields the h1: hash (of the package's contents): the same
        // for the zip and for what was extracted from it.
        let packed_lock = init_and_plan(&tf, packed.path());
        let unpacked_lock = init_and_plan(&tf, unpacked.path());
        assert!(
            packed_lock.contains("\"h1:"),
            "terraform {}:\n{packed_lock}",
            tf.version
        );
        assert_eq!(packed_lock, unpacked_lock, "terraform {}", tf.version);
    }
}

/// The highest glibc symbol version `bin` needs (scripts/glibc-needed.sh).
fn glibc_needed(bin: &Path) -> String {
    let out = Command::new(repo_root().join("scripts/glibc-needed.sh"))
        .arg(bin)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn version_key(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap()).collect()
}

/// Released binaries run on RHEL 8 (glibc 2.28): the build linked the way
/// releases are needs nothing newer, and starts. `make release` refuses a
/// binary that needs more (the build machine's own glibc is newer here).
#[test]
fn the_release_build_runs_on_rhel_8() {
    let baseline = baseline_provider_bin();
    let needed = glibc_needed(&baseline);
    assert!(
        version_key(&needed) <= version_key("2.28"),
        "the baseline build needs glibc {needed}"
    );
    let out = Command::new(&baseline).arg("--version").output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")),
        "{out:?}"
    );

    let native = provider_dir().join("terraform-provider-rhelazure");
    let native_needs = glibc_needed(&native);
    if version_key(&native_needs) > version_key("2.28") {
        let dist = tempfile::tempdir().unwrap();
        let out = Command::new(repo_root().join("scripts/release.sh"))
            .arg(dist.path())
            .env("RHELAZURE_RELEASE_BIN", &native)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("needs glibc {native_needs}")) && err.contains("2.28"),
            "{err}"
        );
    }
}

/// Stops the gpg-agent that gpg started for a throwaway keyring, when the
/// test ends, passed or not (tests leave no process behind).
struct KeyringAgent<'a>(&'a Path);

impl Drop for KeyringAgent<'_> {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.0)
            .status();
    }
}

/// With RHELAZURE_GPG_KEY, `make release` signs the SHA256SUMS with a
/// detached signature that `gpg --verify` accepts, and that fails once the
/// sums are changed. A throwaway key in a throwaway keyring.
#[test]
fn release_checksums_are_signed_with_the_given_key() {
    let home = tempfile::tempdir().unwrap();
    let _agent = KeyringAgent(home.path());
    let gpg = |args: &[&str]| {
        Command::new("gpg")
            .args([
                "--batch",
                "--no-tty",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args)
            .env("GNUPGHOME", home.path())
            .output()
            .unwrap()
    };
    let made = gpg(&[
        "--quick-generate-key",
        "rhelazure release test <release-test@example.invalid>",
        "ed25519",
        "sign",
        "1d",
    ]);
    assert!(made.status.success(), "{made:?}");
    let dist = tempfile::tempdir().unwrap();
    let out = Command::new(repo_root().join("scripts/release.sh"))
        .arg(dist.path())
        .env("RHELAZURE_RELEASE_BIN", baseline_provider_bin())
        .env("RHELAZURE_GPG_KEY", "release-test@example.invalid")
        .env("GNUPGHOME", home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let version = env!("CARGO_PKG_VERSION");
    let sums = dist
        .path()
        .join(format!("terraform-provider-rhelazure_{version}_SHA256SUMS"));
    let sig = dist.path().join(format!(
        "terraform-provider-rhelazure_{version}_SHA256SUMS.sig"
    ));
    let verify = || gpg(&["--verify", sig.to_str().unwrap(), sums.to_str().unwrap()]);
    let verified = verify();
    assert!(verified.status.success(), "{verified:?}");
    std::fs::write(&sums, "0000  tampered.zip\n").unwrap();
    assert!(
        !verify().status.success(),
        "a changed SHA256SUMS must not verify"
    );
}
