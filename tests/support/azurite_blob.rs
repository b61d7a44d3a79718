//! A real Azurite started for one test or benchmark, with a container and an
//! account SAS (signed the way the emulator's `listAccountSas` signs it), and
//! the few blob calls the VHD test and benchmark make to check what arrived.
//! Shared by `tests/vhd_upload.rs` and `benches/vhd_upload.rs`.
#![allow(dead_code)] // each includer uses part of it

use rhelazure::vhd::upload::Target;
use rhelazure_emulator::azurite::Azurite;
use serde_json::json;

const VERSION: &str = "2024-08-04";

pub struct BlobEnv {
    _az: Azurite,
    pub endpoint: String,
    pub container: String,
    pub sas: String,
    pub http: reqwest::Client,
    pub rt: tokio::runtime::Runtime,
}

impl BlobEnv {
    /// Starts Azurite and creates `container` in it.
    pub fn start(container: &str) -> BlobEnv {
        let az = Azurite::start().expect("Azurite (scripts/install-azurite.sh; make test runs it)");
        let sas = rhelazure_emulator::arm::sas::account_sas(&json!({
            "signedServices": "b", "signedResourceTypes": "sco", "signedPermission": "rwdlac",
            "signedProtocol": "https,http", "signedExpiry": "2099-01-01T00:00:00Z",
        }))
        .unwrap()["accountSasToken"]
            .as_str()
            .unwrap()
            .to_string();
        let env = BlobEnv {
            endpoint: az.endpoint.clone(),
            _az: az,
            container: container.to_string(),
            sas,
            http: reqwest::Client::new(),
            rt: tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap(),
        };
        let url = format!("{}/{container}?restype=container&{}", env.endpoint, env.sas);
        let (s, body) = env.send(reqwest::Method::PUT, url, &[("content-length", "0")]);
        assert_eq!(s, 201, "container: {}", String::from_utf8_lossy(&body));
        env
    }

    pub fn blob_url(&self, name: &str) -> String {
        format!("{}/{}/{name}", self.endpoint, self.container)
    }

    /// The uploader's target for blob `name`.
    pub fn target(&self, name: &str) -> Target {
        Target {
            blob_url: self.blob_url(name),
            sas: self.sas.clone(),
        }
    }

    /// One blob call with `x-ms-version`: status and body.
    pub fn send(
        &self,
        method: reqwest::Method,
        url: String,
        headers: &[(&str, &str)],
    ) -> (u16, Vec<u8>) {
        self.rt.block_on(async {
            let mut rq = self
                .http
                .request(method, url)
                .header("x-ms-version", VERSION);
            for (k, v) in headers {
                rq = rq.header(*k, *v);
            }
            let r = rq.send().await.unwrap();
            (
                r.status().as_u16(),
                r.bytes().await.unwrap_or_default().to_vec(),
            )
        })
    }

    /// Bytes `from..=to_inclusive` of blob `name`.
    pub fn read(&self, name: &str, from: u64, to_inclusive: u64) -> Vec<u8> {
        let range = format!("bytes={from}-{to_inclusive}");
        let url = format!("{}?{}", self.blob_url(name), self.sas);
        self.send(reqwest::Method::GET, url, &[("x-ms-range", &range)])
            .1
    }

    /// Bytes the service holds as written pages of blob `name` (0 if it is gone).
    pub fn written_bytes(&self, name: &str) -> u64 {
        let url = format!("{}?comp=pagelist&{}", self.blob_url(name), self.sas);
        let (s, body) = self.send(reqwest::Method::GET, url, &[]);
        let xml = String::from_utf8_lossy(&body);
        if s == 404 {
            return 0;
        }
        assert_eq!(s, 200, "page list: {xml}");
        let num = |tag: &str| -> Vec<u64> {
            xml.split(&format!("<{tag}>"))
                .skip(1)
                .filter_map(|p| p.split('<').next()?.parse().ok())
                .collect()
        };
        num("Start")
            .iter()
            .zip(num("End"))
            .map(|(a, b)| b + 1 - a)
            .sum()
    }

    pub fn delete(&self, name: &str) {
        let url = format!("{}?{}", self.blob_url(name), self.sas);
        self.send(reqwest::Method::DELETE, url, &[]);
    }
}
