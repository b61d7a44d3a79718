//! AutoMTLS, server side.
//!
//! Terraform generates a self-signed client certificate (ECDSA P-521, marked
//! as a CA) and passes it in `PLUGIN_CLIENT_CERT`; we must trust exactly that
//! certificate, require it, and answer with our own fresh certificate.
//!
//! Why not tonic's built-in TLS: its client verifier is webpki's, which refuses
//! a CA certificate presented as an end entity (`CaUsedAsEndEntity`) — exactly
//! what Terraform sends. So client authentication here is *pinning*: the
//! presented certificate must be byte-identical to the one Terraform gave us,
//! and the handshake signature must verify with its key (aws-lc-rs, which
//! supports P-521). Client authentication stays mandatory.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tokio_stream::{Stream, StreamExt};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("PLUGIN_CLIENT_CERT is not a PEM certificate: {0}")]
    ClientCert(String),
    #[error("could not generate the server certificate: {0}")]
    CertGen(#[from] rcgen::Error),
    #[error("TLS configuration failed: {0}")]
    Config(#[from] rustls::Error),
}

/// Accepts exactly one client certificate.
#[derive(Debug)]
struct PinnedClientCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A fresh self-signed server certificate (CN and SAN `localhost`, usable as
/// its own CA, as go-plugin's client pins it as the only root).
/// Returns (DER certificate, PKCS#8 DER key).
pub fn generate_server_cert() -> Result<(Vec<u8>, Vec<u8>), rcgen::Error> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose as E, IsCa, KeyPair,
        KeyUsagePurpose as K,
    };
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "terraform-provider-rhelazure");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        K::DigitalSignature,
        K::KeyEncipherment,
        K::KeyAgreement,
        K::KeyCertSign,
    ];
    params.extended_key_usages = vec![E::ServerAuth, E::ClientAuth];
    let cert = params.self_signed(&key)?;
    Ok((cert.der().to_vec(), key.serialize_der()))
}

/// The TLS acceptor for AutoMTLS, and our certificate's DER for the handshake line.
pub fn acceptor(client_cert_pem: &str) -> Result<(TlsAcceptor, Vec<u8>), TlsError> {
    let expected = CertificateDer::from_pem_slice(client_cert_pem.as_bytes())
        .map_err(|e| TlsError::ClientCert(e.to_string()))?
        .into_owned();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = PinnedClientCert {
        expected,
        algorithms: provider.signature_verification_algorithms,
    };
    let (cert_der, key_der) = generate_server_cert()?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(
            vec![CertificateDer::from(cert_der.clone())],
            PrivatePkcs8KeyDer::from(key_der).into(),
        )?;
    // gRPC clients insist on HTTP/2 being negotiated.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok((TlsAcceptor::from(Arc::new(config)), cert_der))
}

/// Wraps a stream of accepted connections in TLS. Handshakes run concurrently,
/// so one slow or hostile client cannot hold up the others; failed handshakes
/// are logged and dropped.
pub fn incoming<S, IO>(
    acceptor: TlsAcceptor,
    mut conns: S,
) -> impl Stream<Item = Result<tokio_rustls::server::TlsStream<IO>, std::io::Error>>
where
    S: Stream<Item = Result<IO, std::io::Error>> + Send + Unpin + 'static,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        while let Some(conn) = conns.next().await {
            let conn = match conn {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(target: "rhelazure.plugin", error = %e, "accept failed");
                    continue;
                }
            };
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                match acceptor.accept(conn).await {
                    Ok(tls) => {
                        let _ = tx.send(Ok(tls)).await;
                    }
                    Err(e) => {
                        tracing::warn!(target: "rhelazure.plugin", error = %e, "TLS handshake with the client failed")
                    }
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}
