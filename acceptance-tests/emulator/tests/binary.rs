//! The `rhelazure-emulator` binary: one JSON start-up line with base URLs and
//! the provider environment, fast; `env` prints export lines; SIGTERM stops it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rhelazure-emulator");

#[test]
fn prints_one_json_line_and_stops_on_sigterm() {
    let start = Instant::now();
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--blob-endpoint",
            "http://127.0.0.1:10000/devstoreaccount1",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
    eprintln!("start-up line after {:?}", start.elapsed());
    let arm = v["arm"].as_str().unwrap();
    assert!(arm.starts_with("http://127.0.0.1:"));
    assert_eq!(v["redhat_sso"], format!("{arm}/sso"));
    assert_eq!(
        v["blob_endpoint"],
        "http://127.0.0.1:10000/devstoreaccount1"
    );
    for k in [
        "ARM_ENDPOINT",
        "ARM_AUTHORITY_HOST",
        "ARM_TENANT_ID",
        "ARM_SUBSCRIPTION_ID",
        "ARM_CLIENT_ID",
        "ARM_CLIENT_SECRET",
        "RH_API_URL",
        "RH_SSO_URL",
        "RH_OFFLINE_TOKEN",
    ] {
        assert!(v["env"][k].is_string(), "{k} in env");
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            assert!(s.success());
            break;
        }
        assert!(Instant::now() < deadline, "SIGTERM stops the emulator");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn env_prints_exports_for_a_running_emulator() {
    let out = Command::new(BIN)
        .args(["env", "--base-url", "http://127.0.0.1:4242/"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("export ARM_ENDPOINT='http://127.0.0.1:4242'"),
        "{text}"
    );
    assert!(text.contains("export RH_SSO_URL='http://127.0.0.1:4242/sso'"));
    assert!(text.contains("export ARM_AUTHORITY_HOST='http://127.0.0.1:4242'"));
    let bad = Command::new(BIN).arg("env").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
