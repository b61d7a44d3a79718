//! Client certificate credentials (`client_certificate_path`,
//! `ARM_CLIENT_CERTIFICATE_PATH`): Entra ID's certificate credential is a JWT
//! client assertion signed with the certificate's RSA key and naming the
//! certificate by its thumbprint. Made here with aws-lc-rs and handed to
//! azure_identity's `ClientAssertionCredential`, because azure_identity's own
//! certificate credential needs OpenSSL (a C build on every machine).
//!
//! Accepts a PKCS#12 / PFX file (as azurerm does, with an optional password)
//! or a PEM file holding the certificate and its private key (as the Azure
//! CLI does).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use azure_core::http::ClientMethodOptions;
use azure_identity::ClientAssertion;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::ArmError;

/// Signs a fresh assertion for each token request.
pub struct CertificateAssertion {
    client_id: String,
    /// The token endpoint: the assertion's audience.
    token_url: String,
    key: RsaKeyPair,
    /// base64url SHA-256 and SHA-1 thumbprints of the certificate.
    x5t_s256: String,
    x5t: String,
    /// The certificate (standard base64), sent as `x5c` for subject-name/issuer auth.
    x5c: String,
}

impl std::fmt::Debug for CertificateAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAssertion")
            .field("client_id", &self.client_id)
            .field("x5t#S256", &self.x5t_s256)
            .finish_non_exhaustive()
    }
}

/// Where the certificate came from, for messages.
#[derive(Clone, Copy, Debug)]
pub enum CertificateSource<'a> {
    /// `client_certificate_path`: a PKCS#12 / PFX or PEM file.
    Path(&'a str),
    /// `client_certificate` (`ARM_CLIENT_CERTIFICATE`): a base64 PKCS#12 bundle, as azurerm takes it.
    Base64,
}

impl std::fmt::Display for CertificateSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Path(p) => write!(f, "client_certificate_path {p}"),
            Self::Base64 => f.write_str("client_certificate (ARM_CLIENT_CERTIFICATE)"),
        }
    }
}

fn bad(source: CertificateSource<'_>, why: impl std::fmt::Display) -> ArmError {
    ArmError::Config(format!(
        "{source}: {why} (expected a PKCS#12 / PFX bundle, or a PEM file with the certificate and its RSA private key)"
    ))
}

impl CertificateAssertion {
    /// Reads the certificate from `source`: the file at a path, or the base64
    /// text of `encoded`.
    pub fn load(
        source: CertificateSource<'_>,
        encoded: Option<&str>,
        password: Option<&str>,
        tenant_id: &str,
        client_id: &str,
        authority_host: &str,
    ) -> Result<CertificateAssertion, ArmError> {
        let bytes = match source {
            CertificateSource::Path(p) => std::fs::read(p).map_err(|e| bad(source, e))?,
            CertificateSource::Base64 => {
                // Pipelines keep it in a variable, sometimes wrapped over lines.
                let text: String = encoded
                    .unwrap_or("")
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                STANDARD
                    .decode(text)
                    .map_err(|e| bad(source, format!("not base64: {e}")))?
            }
        };
        let (cert, key_der) = if bytes.starts_with(b"-----BEGIN") {
            let cert = CertificateDer::from_pem_slice(&bytes)
                .map_err(|e| bad(source, format!("no certificate: {e:?}")))?;
            let key = PrivateKeyDer::from_pem_slice(&bytes)
                .map_err(|e| bad(source, format!("no private key: {e:?}")))?;
            (cert.as_ref().to_vec(), key)
        } else {
            let store = p12_keystore::KeyStore::from_pkcs12(
                &bytes,
                password.unwrap_or(""),
                p12_keystore::Pkcs12ImportPolicy::Strict,
            )
            .map_err(|e| {
                bad(
                    source,
                    format!("{e} (is client_certificate_password right?)"),
                )
            })?;
            let (_, chain) = store
                .private_key_chain()
                .ok_or_else(|| bad(source, "no private key in the PKCS#12 file"))?;
            let cert = chain
                .certs()
                .first()
                .ok_or_else(|| bad(source, "no certificate in the PKCS#12 file"))?
                .as_der()
                .to_vec();
            let key = PrivateKeyDer::try_from(chain.key().as_der().to_vec())
                .map_err(|e| bad(source, format!("unreadable private key: {e}")))?;
            (cert, key)
        };
        let key = match &key_der {
            PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            _ => return Err(bad(source, "the private key is not an RSA key")),
        }
        .map_err(|e| {
            bad(
                source,
                format!("the private key is not a usable RSA key: {e}"),
            )
        })?;
        let digest = |alg| URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(alg, &cert));
        Ok(CertificateAssertion {
            client_id: client_id.to_string(),
            token_url: format!(
                "{}/{tenant_id}/oauth2/v2.0/token",
                authority_host.trim_end_matches('/')
            ),
            key,
            x5t_s256: digest(&aws_lc_rs::digest::SHA256),
            x5t: digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY),
            x5c: STANDARD.encode(&cert),
        })
    }

    fn sign(&self) -> Result<String, ArmError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let header = JwtHeader {
            alg: "RS256",
            typ: "JWT",
            x5t_s256: &self.x5t_s256,
            x5t: &self.x5t,
            x5c: [&self.x5c],
        };
        let mut jti = [0u8; 16];
        aws_lc_rs::rand::fill(&mut jti)
            .map_err(|_| ArmError::Auth("no randomness for jti".into()))?;
        let claims = JwtClaims {
            aud: &self.token_url,
            iss: &self.client_id,
            sub: &self.client_id,
            jti: URL_SAFE_NO_PAD.encode(jti),
            nbf: now,
            iat: now,
            exp: now + 600,
        };
        let json = |e: serde_json::Error| ArmError::Auth(format!("could not write the JWT: {e}"));
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_string(&header).map_err(json)?),
            URL_SAFE_NO_PAD.encode(serde_json::to_string(&claims).map_err(json)?)
        );
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| ArmError::Auth("signing the certificate assertion failed".into()))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

#[async_trait::async_trait]
impl ClientAssertion for CertificateAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        self.sign().map_err(|e| {
            azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, e.to_string())
        })
    }
}

/// The JOSE header of the client assertion (Microsoft identity platform's
/// certificate credentials: RS256 with the certificate's thumbprints and chain).
#[derive(serde::Serialize)]
struct JwtHeader<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(rename = "x5t#S256")]
    x5t_s256: &'a str,
    x5t: &'a str,
    x5c: [&'a str; 1],
}

/// The claims of the client assertion (RFC 7523), valid for ten minutes.
#[derive(serde::Serialize)]
struct JwtClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: u64,
    iat: u64,
    exp: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        format!(
            "{}/acceptance-tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    /// A certificate for tenant `t` and client `c`.
    fn load(
        source: CertificateSource<'_>,
        encoded: Option<&str>,
        password: Option<&str>,
    ) -> Result<CertificateAssertion, ArmError> {
        CertificateAssertion::load(source, encoded, password, "t", "c", "https://l")
    }

    fn claims(jwt: &str, part: usize) -> serde_json::Value {
        let p = jwt.split('.').nth(part).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
    }

    #[test]
    fn pem_and_pkcs12_give_the_same_certificate_and_valid_assertions() {
        let pem = CertificateAssertion::load(
            CertificateSource::Path(&fixture("service-principal.pem")),
            None,
            None,
            "t",
            "c",
            "https://login.example/",
        )
        .unwrap();
        let pfx = CertificateAssertion::load(
            CertificateSource::Path(&fixture("service-principal.pfx")),
            None,
            Some("local-cloud-pfx-password"),
            "t",
            "c",
            "https://login.example",
        )
        .unwrap();
        assert_eq!(pem.x5t_s256, pfx.x5t_s256);
        let jwt = pem.sign().unwrap();
        let (h, c) = (claims(&jwt, 0), claims(&jwt, 1));
        assert_eq!(h["alg"], "RS256");
        assert_eq!(h["x5t#S256"], pem.x5t_s256.as_str());
        assert_eq!(c["aud"], "https://login.example/t/oauth2/v2.0/token");
        assert_eq!(
            (c["iss"].as_str(), c["sub"].as_str()),
            (Some("c"), Some("c"))
        );
        assert_ne!(
            claims(&pem.sign().unwrap(), 1)["jti"],
            c["jti"],
            "a fresh jti each time"
        );
    }

    #[test]
    fn a_wrong_password_or_file_is_named() {
        let e = load(
            CertificateSource::Path(&fixture("service-principal.pfx")),
            None,
            Some("nope"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("client_certificate_password") && e.contains("service-principal.pfx"),
            "{e}"
        );
        let e = load(CertificateSource::Path(&fixture("README.md")), None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("PKCS#12"), "{e}");
    }

    #[test]
    fn a_base64_bundle_is_the_same_certificate_as_its_file() {
        let file = fixture("service-principal.pfx");
        let password = Some("local-cloud-pfx-password");
        let from_file = load(CertificateSource::Path(&file), None, password).unwrap();
        let encoded = STANDARD.encode(std::fs::read(&file).unwrap());
        // Wrapped over lines, as `base64` prints it by default.
        let wrapped: String = encoded
            .as_bytes()
            .chunks(76)
            .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
            .collect();
        let from_text = load(CertificateSource::Base64, Some(&wrapped), password).unwrap();
        assert_eq!(from_file.x5t_s256, from_text.x5t_s256);
        let e = load(CertificateSource::Base64, Some("not*base64"), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ARM_CLIENT_CERTIFICATE") && e.contains("base64"),
            "{e}"
        );
    }
}
