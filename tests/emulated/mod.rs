//! The emulator started in-process over HTTPS for client tests
//! (`arm_client.rs`, `redhat_client.rs`), with an HTTP client that trusts its
//! throwaway CA. Each test binary uses a different subset of it.
#![allow(dead_code)]

#[path = "../support/local_https.rs"]
mod local_https;

use std::time::Duration;

pub struct EmulatedCloud {
    pub rt: tokio::runtime::Runtime,
    running: Option<rhelazure_emulator::Running>,
    /// Trusts the emulator's CA.
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Drop for EmulatedCloud {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.stop());
        }
    }
}

impl EmulatedCloud {
    /// `lro_delay`: how long the emulator's long-running operations take.
    pub fn start(lro_delay: Duration) -> EmulatedCloud {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let rt = local_https::runtime();
        let running = rt
            .block_on(rhelazure_emulator::start(rhelazure_emulator::Options {
                tls_ca_file: Some(ca.clone()),
                lro_delay,
                ..Default::default()
            }))
            .unwrap();
        let http = local_https::client_trusting(&ca);
        EmulatedCloud {
            rt,
            running: Some(running),
            http,
            _dir: dir,
        }
    }

    /// One variable of the environment that points a provider at the emulator.
    pub fn env(&self, k: &str) -> String {
        self.running
            .as_ref()
            .unwrap()
            .emulator
            .env()
            .into_iter()
            .find(|(n, _)| n == k)
            .unwrap_or_else(|| panic!("the emulator sets {k}"))
            .1
    }

    /// The whole environment that points a provider at the emulator.
    pub fn all_env(&self) -> Vec<(String, String)> {
        self.running.as_ref().unwrap().emulator.env()
    }

    /// The request log (`GET /_emulator/requests`, JSON lines).
    pub fn requests(&self) -> Vec<serde_json::Value> {
        let url = format!("{}/_emulator/requests", self.env("ARM_ENDPOINT"));
        let text = self.rt.block_on(async {
            self.http
                .get(url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        });
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Calls the control API (`/_emulator/<path>`); it must succeed.
    pub fn control(&self, method: &str, path: &str, body: serde_json::Value) {
        let url = format!("{}/_emulator/{path}", self.env("ARM_ENDPOINT"));
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let status = self.rt.block_on(async {
            self.http
                .request(m, url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .unwrap()
                .status()
        });
        assert!(status.is_success(), "control {path}: {status}");
    }

    pub fn run<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}
