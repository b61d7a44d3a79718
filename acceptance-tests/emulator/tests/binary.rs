//! The `rhelazure-emulator` binary: one JSON start-up line with base URLs and
//! the provider environment, fast; `env` prints export lines; SIGTERM stops it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rhelazure-emulator");

/// Starts the emulator on free ports; returns it with its start-up line.
fn start() -> (std::process::Child, serde_json::Value) {
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
    let v = serde_json::from_str(&line).expect("one JSON line");
    (child, v)
}

/// SIGTERM straight from this process (no `kill` child in between), so it
/// lands as close to the start-up line as anything could.
fn sigterm(child: &std::process::Child) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) with a pid we own and a valid signal number.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
}

/// Waits (up to 10 s) for the emulator to exit; panics if it does not.
fn exit_status(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("SIGTERM did not stop the emulator within 10 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn prints_one_json_line_and_stops_on_sigterm() {
    let started = Instant::now();
    let (mut child, v) = start();
    eprintln!("start-up line after {:?}", started.elapsed());
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
    sigterm(&child);
    assert!(exit_status(&mut child).success());
}

/// The start-up line promises that a SIGTERM is handled: one sent the moment
/// the line is read stops the emulator cleanly (exit 0), every time. Before
/// the handlers were installed ahead of the line, this failed on a busy machine.
#[test]
fn sigterm_right_after_the_start_up_line_is_a_clean_stop() {
    for run in 0..200 {
        let (mut child, _) = start();
        sigterm(&child);
        let status = exit_status(&mut child);
        assert!(
            status.success(),
            "run {run}: SIGTERM at once after the start-up line ended the emulator with {status}"
        );
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
