//! What the in-process client tests (`emulated/`, `scripted/`) share: a small
//! runtime, and an HTTP client that trusts the throwaway CA their HTTPS
//! server wrote.

use std::path::Path;

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub fn client_trusting(ca_pem: &Path) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(ca_pem).unwrap()).unwrap(),
        )
        .build()
        .unwrap()
}
