//! HTTPS mode: the emulator serves TLS with a certificate from a throwaway CA
//! written to `--tls-ca-file`; a client trusting that CA (and only it) gets
//! through, and `env` carries `SSL_CERT_FILE` for the provider.

use std::sync::Arc;

use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(
    addr: std::net::SocketAddr,
    roots: rustls::RootCertStore,
    path: &str,
) -> std::io::Result<String> {
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await?;
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut out = String::new();
    tls.read_to_string(&mut out).await?;
    Ok(out)
}

#[tokio::test]
async fn https_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let running = rhelazure_emulator::start(rhelazure_emulator::Options {
        tls_ca_file: Some(ca.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(running.base_url().starts_with("https://127.0.0.1:"));
    let env = running.emulator.env();
    assert!(env
        .iter()
        .any(|(k, v)| k == "SSL_CERT_FILE" && v == &ca.display().to_string()));

    let mut trusted = rustls::RootCertStore::empty();
    trusted
        .add(CertificateDer::from_pem_file(&ca).unwrap())
        .unwrap();
    let resp = get(running.addr, trusted, "/_emulator/health")
        .await
        .unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");

    let untrusted = get(
        running.addr,
        rustls::RootCertStore::empty(),
        "/_emulator/health",
    )
    .await;
    assert!(untrusted.is_err(), "a client without the CA is refused");
    running.stop().await;
}
