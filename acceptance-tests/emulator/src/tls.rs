//! HTTPS for the local cloud. Azure's endpoints are HTTPS, and the Azure SDK
//! refuses plain-HTTP authority hosts and bearer tokens over HTTP, so the
//! emulator can serve TLS with a certificate issued by a throwaway CA. The CA
//! is written to a PEM file; pointing `SSL_CERT_FILE` at it is the ordinary way
//! to trust a private CA (corporate TLS proxies need the same), so the provider
//! needs no special mode to reach the local cloud.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};

/// A CA certificate (PEM, at `ca_pem_out`) and a server config whose
/// certificate it issued for `localhost` and `127.0.0.1`. The server certificate
/// and key are written beside the CA (`.server.pem`, `.server.key`) so Azurite
/// can serve HTTPS with the same trust.
pub fn server_config(ca_pem_out: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let e = |x: rcgen::Error| x.to_string();
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(e)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca.distinguished_name
        .push(DnType::CommonName, "rhelazure local cloud CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).map_err(e)?;
    std::fs::write(ca_pem_out, ca_cert.pem())
        .map_err(|x| format!("{}: {x}", ca_pem_out.display()))?;

    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(e)?;
    let mut leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .map_err(e)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let issuer = Issuer::new(ca, ca_key);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(e)?;
    let write = |ext: &str, data: String| {
        let p = ca_pem_out.with_extension(ext);
        std::fs::write(&p, data).map_err(|x| format!("{}: {x}", p.display()))
    };
    write("server.pem", leaf_cert.pem())?;
    write("server.key", leaf_key.serialize_pem())?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|x| x.to_string())?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf_cert.der().to_vec())],
            PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into(),
        )
        .map_err(|x| x.to_string())?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Serves `app` over TLS on `listener` until the task is aborted.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    app: axum::Router,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        // As ARM's front doors do: without it, Nagle's algorithm holds the
        // first response of each connection until the client's delayed ACK
        // (about 40 ms), which tests and benchmarks would measure as ours.
        let _ = tcp.set_nodelay(true);
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let _ =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
        });
    }
}
