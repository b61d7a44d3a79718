//! `scripts/local-cloud.sh start|stop` (what `make emulator`, `make demo` and
//! the resource scenarios use): Azurite and the emulator come up wired
//! together, the printed environment works, and stop leaves no process behind.

use std::process::Command;

use rhelazure_acceptance_tests::repo_root;

fn env_file(dir: &std::path::Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("env"))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

fn alive(pid: &str) -> bool {
    Command::new("kill")
        .args(["-0", pid])
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[test]
fn start_use_and_stop_the_local_cloud() {
    let dir = tempfile::tempdir().unwrap();
    let script = repo_root().join("scripts/local-cloud.sh");
    assert!(Command::new(&script)
        .arg("start")
        .arg(dir.path())
        .status()
        .unwrap()
        .success());
    let pids: Vec<String> = std::fs::read_to_string(dir.path().join("pids"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(pids.len(), 2, "Azurite and the emulator");
    let env = env_file(dir.path());
    let get = |k: &str| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{k} in env"))
    };

    // The storage accounts of the emulator report the Azurite it started.
    let emu: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("emulator.json")).unwrap())
            .unwrap();
    assert_eq!(
        emu["blob_endpoint"].as_str(),
        Some(get("RHELAZURE_BLOB_ENDPOINT").as_str())
    );
    let blob = get("RHELAZURE_BLOB_ENDPOINT");
    let port = blob
        .trim_start_matches("https://127.0.0.1:")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert!(
        std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_ok(),
        "Azurite answers"
    );

    // Azurite answers over HTTPS with the same CA.
    // The credentials in env get a token.
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
        get("ARM_CLIENT_ID"),
        get("ARM_CLIENT_SECRET")
    );
    // HTTPS, trusting exactly the local cloud's CA (SSL_CERT_FILE).
    let ca = std::fs::read(get("SSL_CERT_FILE")).unwrap();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&[
            ureq::tls::Certificate::from_pem(&ca).unwrap(),
        ]))
        .unversioned_rustls_crypto_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder().tls_config(tls).build().into();
    assert!(get("ARM_ENDPOINT").starts_with("https://"));
    assert!(blob.starts_with("https://"));
    let mut resp = agent
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            get("ARM_AUTHORITY_HOST"),
            get("ARM_TENANT_ID")
        ))
        .content_type("application/x-www-form-urlencoded")
        .send(form)
        .expect("token endpoint answers");
    assert!(resp
        .body_mut()
        .read_to_string()
        .unwrap()
        .contains("access_token"));

    assert!(Command::new(&script)
        .arg("stop")
        .arg(dir.path())
        .status()
        .unwrap()
        .success());
    for pid in &pids {
        assert!(!alive(pid), "process {pid} stopped");
    }
}
