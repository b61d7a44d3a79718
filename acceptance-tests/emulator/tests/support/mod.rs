//! A local cloud started in-process for a test, and a small blocking client.
#![allow(dead_code)]

use std::time::Duration;

use rhelazure_emulator::{Options, Running};
use serde_json::{json, Value as Json};

pub const SUB: &str = "5ab5c41d-0000-4000-a000-00000000d3e0";
pub const FRESH_SUB: &str = "5ab5c41d-0000-4000-a000-0000000fe5e5";
pub const TENANT: &str = "c0ffee00-0000-4000-a000-00000000e1a0";
pub const OTHER_TENANT: &str = "0ther000-0000-4000-a000-0000000000ff";
pub const CLIENT: (&str, &str) = (
    "5e7ab1e0-0000-4000-a000-0000000000a1",
    "local-cloud-client-secret-3f9a6c2e",
);
pub const OTHER_CLIENT: (&str, &str) = (
    "0ther000-0000-4000-a000-0000000000c3",
    "other-tenant-secret-9a8b7c6d",
);
/// From the Customer Portal's API Tokens page: bound to the `rhsm-api` client.
pub const OFFLINE_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0eXAiOiJPZmZsaW5lIiwiYXpwIjoicmhzbS1hcGkiLCJzdWIiOiJmOmxvY2FsLWNsb3VkOm9mZmxpbmUtdG9rZW4tdXNlciIsImp0aSI6IjNmMGMyZThhLTAwMDAtNDAwMC1hMDAwLTAwMDAwMDAwMDBhMSIsImlzcyI6Imh0dHBzOi8vc3NvLnJlZGhhdC5jb20vYXV0aC9yZWFsbXMvcmVkaGF0LWV4dGVybmFsIiwic2NvcGUiOiJvcGVuaWQgYXBpLmlhbSBvZmZsaW5lX2FjY2VzcyJ9.local-cloud-offline-signature-rhsm-api";
/// From the Hybrid Cloud Console's token page: bound to `cloud-services`.
pub const CONSOLE_OFFLINE_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0eXAiOiJPZmZsaW5lIiwiYXpwIjoiY2xvdWQtc2VydmljZXMiLCJzdWIiOiJmOmxvY2FsLWNsb3VkOm9mZmxpbmUtdG9rZW4tdXNlciIsImp0aSI6IjNmMGMyZThhLTAwMDAtNDAwMC1hMDAwLTAwMDAwMDAwMDBjNSIsImlzcyI6Imh0dHBzOi8vc3NvLnJlZGhhdC5jb20vYXV0aC9yZWFsbXMvcmVkaGF0LWV4dGVybmFsIiwic2NvcGUiOiJvcGVuaWQgYXBpLmlhbSBvZmZsaW5lX2FjY2VzcyJ9.local-cloud-offline-signature-cloud-services";
pub const COMPUTE: &str = "2024-03-01";
pub const NETWORK: &str = "2024-01-01";

/// How long a test waits for the local cloud to finish something: far above
/// its 200 ms operations, so only a real hang fails, however busy the machine.
pub const SETTLE: Duration = Duration::from_secs(60);

/// Polls `ok` until it gives a value, for up to [`SETTLE`]; panics naming
/// `what` otherwise. Tests wait for outcomes, never for a fixed time.
pub fn eventually<T>(what: &str, mut ok: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + SETTLE;
    loop {
        if let Some(v) = ok() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {SETTLE:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub struct Cloud {
    rt: tokio::runtime::Runtime,
    running: Option<Running>,
    pub base: String,
    agent: ureq::Agent,
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Json,
    pub text: String,
}

impl Resp {
    pub fn header(&self, k: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    }
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl Drop for Cloud {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.stop());
        }
    }
}

impl Cloud {
    pub fn start() -> Cloud {
        Self::start_with(Options {
            lro_delay: Duration::from_millis(150),
            ..Default::default()
        })
    }

    pub fn start_with(opts: Options) -> Cloud {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let running = rt.block_on(rhelazure_emulator::start(opts)).unwrap();
        let base = running.base_url();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Cloud {
            rt,
            running: Some(running),
            base,
            agent,
        }
    }

    pub fn stop(mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.stop());
        }
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Json>,
    ) -> Resp {
        self.raw(
            method,
            path,
            token,
            body.map(|b| ("application/json", b.to_string())),
        )
    }

    pub fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, String)>,
    ) -> Resp {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut b = ureq::http::Request::builder().method(method).uri(url);
        if let Some(t) = token {
            b = b.header("Authorization", format!("Bearer {t}"));
        }
        let (ct, payload) = body.unwrap_or(("application/json", String::new()));
        if !payload.is_empty() {
            b = b.header("Content-Type", ct);
        }
        let req = b.body(payload).unwrap();
        let mut resp = self.agent.run(req).expect("the emulator answers");
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Json::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub fn token_for(&self, tenant: &str, client: (&str, &str), scope: &str) -> Resp {
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
            client.0,
            client.1,
            scope.replace(':', "%3A").replace('/', "%2F")
        );
        self.raw(
            "POST",
            &format!("/{tenant}/oauth2/v2.0/token"),
            None,
            Some(("application/x-www-form-urlencoded", form)),
        )
    }

    pub fn arm_token(&self) -> String {
        let r = self.token_for(TENANT, CLIENT, "https://management.azure.com/.default");
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["access_token"].as_str().unwrap().to_string()
    }

    pub fn redhat_token(&self) -> String {
        let form =
            format!("grant_type=refresh_token&client_id=rhsm-api&refresh_token={OFFLINE_TOKEN}");
        let r = self.raw(
            "POST",
            "/sso/auth/realms/redhat-external/protocol/openid-connect/token",
            None,
            Some(("application/x-www-form-urlencoded", form)),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["access_token"].as_str().unwrap().to_string()
    }

    pub fn control(&self, method: &str, path: &str, body: Option<Json>) -> Resp {
        self.request(method, &format!("/_emulator/{path}"), None, body.as_ref())
    }

    /// Polls an Azure-AsyncOperation URL until it leaves InProgress.
    pub fn wait_async(&self, token: &str, url: &str) -> Json {
        eventually("the operation finishes", || {
            let r = self.request("GET", url, Some(token), None);
            assert_eq!(r.status, 200, "{}", r.text);
            (r.body["status"] != "InProgress").then_some(r.body)
        })
    }

    /// Polls a `Location` URL until it stops answering 202; returns the last answer.
    pub fn wait_location(&self, token: &str, url: &str) -> Resp {
        eventually("the operation's Location stops answering 202", || {
            let r = self.request("GET", url, Some(token), None);
            (r.status != 202).then_some(r)
        })
    }

    /// PUT and wait for the operation; returns the final GET.
    pub fn put_and_wait(&self, token: &str, path: &str, body: Json) -> Resp {
        let r = self.request("PUT", path, Some(token), Some(&body));
        assert!(
            matches!(r.status, 200..=202),
            "PUT {path}: {} {}",
            r.status,
            r.text
        );
        if let Some(url) = r.header("azure-asyncoperation").map(str::to_string) {
            let status = self.wait_async(token, &url);
            assert_eq!(status["status"], "Succeeded", "{status}");
        } else if let Some(url) = r.header("location").map(str::to_string) {
            let done = self.wait_location(token, &url);
            assert_eq!(done.status, 200, "{}", done.text);
        }
        self.request("GET", path, Some(token), None)
    }

    pub fn rg_path(rg: &str) -> String {
        format!("/subscriptions/{SUB}/resourceGroups/{rg}")
    }

    pub fn create_group(&self, token: &str, rg: &str) {
        let r = self.request(
            "PUT",
            &format!("{}?api-version=2024-03-01", Self::rg_path(rg)),
            Some(token),
            Some(&json!({ "location": "eastus" })),
        );
        assert!(matches!(r.status, 200 | 201), "{}", r.text);
    }
}
