//! The provider's one HTTP client (ARM, Entra ID, Red Hat, blob storage):
//! reqwest over rustls, trusting the platform's root certificates as
//! reqwest's own default does, except that the roots are loaded on a thread
//! of their own instead of inside `ConfigureProvider`.
//!
//! Why: reading and parsing the system's CA bundle was most of
//! `ConfigureProvider` (3.5-4 ms), and Terraform configures the provider in 2
//! processes per apply, waiting each time; the first TLS handshake comes
//! later (and in the plan step of an apply that only creates, never). The
//! handshake that needs the roots before they are loaded waits for them.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_platform_verifier::Verifier;

/// The HTTP client with azure_core's settings for its default client: no
/// redirects (REST APIs answer 3xx only by mistake), a read timeout.
pub fn build() -> Result<reqwest::Client, reqwest::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = DeferredPlatformVerifier::start(provider.clone());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    // What reqwest offers with HTTP/1 only.
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(std::time::Duration::from_secs(30))
        .read_timeout(std::time::Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// rustls-platform-verifier's verifier, built on a background thread.
#[derive(Debug)]
struct DeferredPlatformVerifier {
    provider: Arc<CryptoProvider>,
    verifier: Arc<OnceLock<Result<Verifier, rustls::Error>>>,
}

impl DeferredPlatformVerifier {
    fn start(provider: Arc<CryptoProvider>) -> DeferredPlatformVerifier {
        let verifier = Arc::new(OnceLock::new());
        let (cell, for_thread) = (verifier.clone(), provider.clone());
        // If no thread can be had, the first handshake builds it instead.
        let _ = std::thread::Builder::new()
            .name("tls-roots".into())
            .spawn(move || {
                cell.get_or_init(|| Verifier::new(for_thread));
            });
        DeferredPlatformVerifier { provider, verifier }
    }

    /// The verifier, waiting for the thread that builds it if need be.
    fn get(&self) -> Result<&Verifier, rustls::Error> {
        self.verifier
            .get_or_init(|| Verifier::new(self.provider.clone()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for DeferredPlatformVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.get()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.get()?.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.get()?.verify_tls13_signature(message, cert, dss)
    }

    /// Asked for the ClientHello, before any verification: the platform
    /// verifier answers its crypto provider's schemes, known without the roots.
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deferred_verifier_offers_what_the_platform_verifier_offers() {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let deferred = DeferredPlatformVerifier::start(provider.clone());
        match Verifier::new(provider) {
            Ok(platform) => {
                assert_eq!(
                    deferred.supported_verify_schemes(),
                    platform.supported_verify_schemes()
                );
                assert!(deferred.get().is_ok());
            }
            // A machine with no CA bundle: the handshake fails the same way.
            Err(e) => assert_eq!(deferred.get().err(), Some(e)),
        }
    }

    /// The verifier is plugged in through rustls' `dangerous()` door: prove
    /// it verifies. A loopback server with a certificate nobody issued is
    /// refused before any request is sent.
    #[tokio::test]
    async fn a_server_the_platform_does_not_trust_is_refused() {
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let server = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::from(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let served = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            // The client must abort the handshake.
            acceptor.accept(tcp).await.is_err()
        });
        let err = build()
            .unwrap()
            .get(format!("https://127.0.0.1:{port}/"))
            .send()
            .await
            .expect_err("an untrusted certificate must be refused");
        let chain = format!("{:?}", error_chain(&err));
        assert!(chain.contains("UnknownIssuer"), "{chain}");
        assert!(served.await.unwrap(), "the handshake was not aborted");
    }

    fn error_chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
        std::iter::successors(Some(e), |e| e.source())
            .map(|e| format!("{e:?}"))
            .collect()
    }
}
