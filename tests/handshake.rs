//! The real provider binary, started the way Terraform starts it: magic cookie,
//! protocol negotiation, AutoMTLS with a Terraform-style client certificate
//! (ECDSA P-521, self-signed, marked CA), Unix socket or TCP, then real gRPC
//! calls and a clean shutdown. Every process started here is killed on drop.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhelazure::plugin::proto::plugin::grpc_controller_client::GrpcControllerClient;
use rhelazure::plugin::proto::tfplugin6 as pb;
use rhelazure::plugin::proto::tfplugin6::provider_client::ProviderClient;
use rhelazure::plugin::value::{msgpack, Type, Value};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tonic::transport::{Channel, Endpoint, Uri};

const BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-rhelazure");
const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// Kills the provider if a test fails before shutting it down.
struct Plugin {
    child: Child,
    network: String,
    address: String,
    server_cert: Vec<u8>,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client certificate like go-plugin's: ECDSA P-521, CN localhost, IsCA.
fn terraform_style_client_cert() -> (String, Vec<u8>, Vec<u8>) {
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

fn start(envs: &[(&str, &str)]) -> Plugin {
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
struct PinnedServer(Vec<u8>);

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

async fn connect(
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

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

fn wait_exit(p: &mut Plugin, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(s) = p.child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn refuses_to_run_without_the_magic_cookie() {
    let out = Command::new(BIN).env_clear().output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not meant to be executed directly"));
    assert!(
        out.stdout.is_empty(),
        "nothing may look like a handshake line"
    );
}

#[tokio::test]
async fn automtls_schema_functions_and_shutdown() {
    let sockdir = tempfile::tempdir().unwrap();
    let (pem, der, key) = terraform_style_client_cert();
    let mut p = start(&[
        ("PLUGIN_CLIENT_CERT", &pem),
        ("PLUGIN_UNIX_SOCKET_DIR", sockdir.path().to_str().unwrap()),
    ]);
    assert_eq!(p.network, "unix");
    assert!(
        p.address.starts_with(sockdir.path().to_str().unwrap()),
        "PLUGIN_UNIX_SOCKET_DIR honoured"
    );
    assert!(p.server_cert.len() > 50);

    let channel = connect(&p, Some((der, key)))
        .await
        .expect("mTLS with a P-521 CA-style client cert");
    let mut client = ProviderClient::new(channel.clone());

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let h = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "plugin".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        h.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(
        schema.functions.contains_key("parse_image_urn")
            && schema.functions.contains_key("build_image_urn")
    );
    let caps = schema.server_capabilities.unwrap();
    assert!(caps.plan_destroy && caps.get_provider_schema_optional && caps.move_resource_state);
    let provider = schema.provider.unwrap().block.unwrap();
    let secret = provider
        .attributes
        .iter()
        .find(|a| a.name == "client_secret")
        .unwrap();
    assert!(secret.sensitive && secret.optional);
    let redhat = provider
        .block_types
        .iter()
        .find(|b| b.type_name == "redhat")
        .unwrap();
    assert!(redhat
        .block
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .any(|a| a.name == "offline_token" && a.sensitive));

    let meta = client
        .get_metadata(pb::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(meta.functions.len(), 2);

    // A function call, and a failing one with its message and argument index.
    let arg = |s: &str| pb::DynamicValue {
        msgpack: msgpack::encode(&Value::from(s), &Type::String).unwrap(),
        json: vec![],
    };
    let ok = client
        .call_function(pb::call_function::Request {
            name: "parse_image_urn".into(),
            arguments: vec![arg("RedHat:RHEL:9-lvm-gen2:latest")],
        })
        .await
        .unwrap()
        .into_inner();
    let ty = Type::object([
        ("publisher", Type::String),
        ("offer", Type::String),
        ("sku", Type::String),
        ("version", Type::String),
    ]);
    let v = msgpack::decode(&ok.result.unwrap().msgpack, &ty).unwrap();
    assert_eq!(v.attr("sku"), &Value::from("9-lvm-gen2"));
    let bad = client
        .call_function(pb::call_function::Request {
            name: "parse_image_urn".into(),
            arguments: vec![arg("nope")],
        })
        .await
        .unwrap()
        .into_inner();
    let err = bad.error.unwrap();
    assert!(err.text.contains("not an image URN") && err.function_argument == Some(0));

    // Malformed msgpack from "Terraform": a diagnostic, and the provider lives on.
    let garbage = pb::DynamicValue {
        msgpack: vec![0xdf, 0xff, 0xff, 0xff, 0xff, 0x01],
        json: vec![],
    };
    let v = client
        .validate_provider_config(pb::validate_provider_config::Request {
            config: Some(garbage),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(v.diagnostics.len(), 1);
    assert!(v.diagnostics[0]
        .summary
        .contains("Invalid provider configuration"));

    // RPCs for features we do not offer answer with diagnostics, not crashes.
    let ids = client
        .get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(ids.identity_schemas.is_empty() && ids.diagnostics.is_empty());
    let mut list = client
        .list_resource(pb::list_resource::Request::default())
        .await
        .unwrap()
        .into_inner();
    let event = list.message().await.unwrap().unwrap();
    assert!(event.diagnostic[0].summary.contains("not supported"));
    let store = client
        .get_states(pb::get_states::Request::default())
        .await
        .unwrap()
        .into_inner();
    assert!(store.diagnostics[0].summary.contains("not supported"));
    let unknown = client
        .read_resource(pb::read_resource::Request {
            type_name: "rhelazure_nope".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(unknown.diagnostics[0]
        .summary
        .contains("Unknown resource type"));

    // Terraform's default parallelism is 10; ask for far more at once.
    let calls = (0..100).map(|i| {
        let mut c = client.clone();
        async move {
            let urn = format!("RedHat:RHEL:sku{i}:latest");
            c.call_function(pb::call_function::Request {
                name: "parse_image_urn".into(),
                arguments: vec![arg(&urn)],
            })
            .await
        }
    });
    for r in futures_util::future::join_all(calls).await {
        assert!(r.unwrap().into_inner().error.is_none());
    }

    assert!(client
        .stop_provider(pb::stop_provider::Request {})
        .await
        .unwrap()
        .into_inner()
        .error
        .is_empty());

    GrpcControllerClient::new(channel)
        .shutdown(rhelazure::plugin::proto::plugin::Empty {})
        .await
        .unwrap();
    let status = wait_exit(&mut p, Duration::from_secs(5)).expect("exits after Shutdown");
    assert!(status.success());
    assert!(!PathBuf::from(&p.address).exists(), "socket removed");
}

#[tokio::test]
async fn a_client_without_the_pinned_certificate_is_refused() {
    let (pem, _, _) = terraform_style_client_cert();
    let (_, other_der, other_key) = terraform_style_client_cert();
    let p = start(&[("PLUGIN_CLIENT_CERT", &pem)]);
    let result = match connect(&p, Some((other_der, other_key))).await {
        Err(e) => Err(e.to_string()),
        Ok(ch) => ProviderClient::new(ch)
            .get_metadata(pb::get_metadata::Request {})
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
    };
    assert!(
        result.is_err(),
        "a foreign client certificate must not get through"
    );
}

#[tokio::test]
async fn tcp_within_the_port_range_and_sigterm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut p = start(&[
        ("RHELAZURE_PLUGIN_TRANSPORT", "tcp"),
        ("PLUGIN_MIN_PORT", &port),
        ("PLUGIN_MAX_PORT", &port),
    ]);
    assert_eq!(
        (p.network.as_str(), p.address.clone()),
        ("tcp", format!("127.0.0.1:{port}"))
    );
    assert!(p.server_cert.is_empty(), "no PLUGIN_CLIENT_CERT, no TLS");
    let ch = connect(&p, None).await.unwrap();
    ProviderClient::new(ch)
        .get_metadata(pb::get_metadata::Request {})
        .await
        .unwrap();
    // SIGINT is ignored (Terraform sends StopProvider); SIGTERM stops.
    let pid = p.child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(
        wait_exit(&mut p, Duration::from_millis(300)).is_none(),
        "SIGINT must not kill a managed plugin"
    );
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(wait_exit(&mut p, Duration::from_secs(5))
        .expect("SIGTERM stops it")
        .success());
}

#[tokio::test]
async fn debug_mode_prints_reattach_instructions() {
    let mut child = Command::new(BIN)
        .arg("--debug")
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut reattach = None;
    for _ in 0..10 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if let Some(v) = line.trim().strip_prefix("TF_REATTACH_PROVIDERS='") {
            reattach = Some(v.trim_end_matches('\'').to_string());
            break;
        }
    }
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&reattach.expect("a TF_REATTACH_PROVIDERS line")).unwrap();
    let entry = &v["registry.terraform.io/rhel-on-azure/rhelazure"];
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Addr"]["Network"], "unix");
    assert!(status.success(), "Ctrl-C stops a debug-mode provider");
}
