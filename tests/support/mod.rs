//! Shared by the protocol tests and the plugin benchmark: start the real
//! provider binary as Terraform does and connect to it over gRPC, with a
//! Terraform-style AutoMTLS client certificate.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tonic::transport::{Channel, Endpoint, Uri};

pub const BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-rhelazure");
pub const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// Kills the provider if a test fails before shutting it down.
pub struct Plugin {
    pub child: Child,
    pub network: String,
    pub address: String,
    pub server_cert: Vec<u8>,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client certificate like go-plugin's: ECDSA P-521, CN localhost, IsCA.
pub fn terraform_style_client_cert() -> (String, Vec<u8>, Vec<u8>) {
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose as E, IsCa, KeyPair,
        KeyUsagePurpose as K,
    };
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut p = CertificateParams::new(vec!["localhost".into()]).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        K::DigitalSignature,
        K::KeyEncipherment,
        K::KeyAgreement,
        K::KeyCertSign,
    ];
    p.extended_key_usages = vec![E::ClientAuth, E::ServerAuth];
    let cert = p.self_signed(&key).unwrap();
    (cert.pem(), cert.der().to_vec(), key.serialize_der())
}

pub fn start(envs: &[(&str, &str)]) -> Plugin {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("provider starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let parts: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(parts.len(), 6, "handshake line {line:?}");
    assert_eq!((parts[0], parts[1], parts[4]), ("1", "6", "grpc"));
    use base64::Engine;
    let server_cert = if parts[5].is_empty() {
        Vec::new()
    } else {
        assert!(
            !parts[5].ends_with('='),
            "go-plugin expects unpadded base64"
        );
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(parts[5])
            .unwrap()
    };
    Plugin {
        child,
        network: parts[2].into(),
        address: parts[3].into(),
        server_cert,
    }
}

#[derive(Debug)]
pub struct PinnedServer(Vec<u8>);

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        (end_entity.as_ref() == self.0.as_slice())
            .then(ServerCertVerified::assertion)
            .ok_or(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            m,
            c,
            d,
            &rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            m,
            c,
            d,
            &rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

pub async fn connect(
    p: &Plugin,
    client: Option<(Vec<u8>, Vec<u8>)>,
) -> Result<Channel, tonic::transport::Error> {
    let tls = client.map(|(cert, key)| {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedServer(p.server_cert.clone())))
            .with_client_auth_cert(
                vec![CertificateDer::from(cert)],
                PrivatePkcs8KeyDer::from(key).into(),
            )
            .unwrap();
        cfg.alpn_protocols = vec![b"h2".to_vec()];
        tokio_rustls::TlsConnector::from(Arc::new(cfg))
    });
    let (network, address) = (p.network.clone(), p.address.clone());
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let (network, address, tls) = (network.clone(), address.clone(), tls.clone());
            async move {
                let io: Box<dyn Io> = if network == "unix" {
                    Box::new(tokio::net::UnixStream::connect(&address).await?)
                } else {
                    Box::new(tokio::net::TcpStream::connect(&address).await?)
                };
                let io: Box<dyn Io> = match tls {
                    Some(t) => Box::new(
                        t.connect(ServerName::try_from("localhost").unwrap(), io)
                            .await?,
                    ),
                    None => io,
                };
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(io))
            }
        }))
        .await
}

pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

pub fn wait_exit(p: &mut Plugin, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(s) = p.child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}
