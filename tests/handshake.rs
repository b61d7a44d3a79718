//! The real provider binary, started the way Terraform starts it: magic cookie,
//! protocol negotiation, AutoMTLS with a Terraform-style client certificate
//! (ECDSA P-521, self-signed, marked CA), Unix socket or TCP, then real gRPC
//! calls and a clean shutdown. Every process started here is killed on drop.

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use rhelazure::plugin::proto::plugin::grpc_controller_client::GrpcControllerClient;
use rhelazure::plugin::proto::tfplugin6 as pb;
use rhelazure::plugin::proto::tfplugin6::provider_client::ProviderClient;
use rhelazure::plugin::value::{msgpack, Type, Value};
use support::{connect, start, terraform_style_client_cert, wait_exit, BIN};

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
    let mut functions: Vec<&str> = meta.functions.iter().map(|f| f.name.as_str()).collect();
    functions.sort();
    assert_eq!(
        functions,
        ["build_image_urn", "parse_image_urn", "rhel_marketplace_sku"]
    );
    // Every managed resource has a list resource; the two host actions.
    assert_eq!(meta.list_resources.len(), meta.resources.len());
    let mut actions: Vec<&str> = meta.actions.iter().map(|a| a.type_name.as_str()).collect();
    actions.sort();
    assert_eq!(
        actions,
        ["rhelazure_host_register", "rhelazure_host_update"]
    );

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

    // Resource identity: every managed resource has a schema (version 0,
    // string attributes, all required for import).
    let ids = client
        .get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(ids.diagnostics.is_empty());
    let mut with_identity: Vec<&String> = ids.identity_schemas.keys().collect();
    with_identity.sort();
    assert_eq!(
        with_identity,
        [
            "rhelazure_activation_key",
            "rhelazure_atomic_host",
            "rhelazure_cloud_access",
            "rhelazure_gallery",
            "rhelazure_gallery_image",
            "rhelazure_gallery_image_version",
            "rhelazure_image",
            "rhelazure_image_build",
            "rhelazure_marketplace_agreement",
            "rhelazure_vm_license",
        ]
    );
    let host = &ids.identity_schemas["rhelazure_atomic_host"];
    let names: Vec<&str> = host
        .identity_attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["subscription_id", "resource_group_name", "name"]);
    assert!(host
        .identity_attributes
        .iter()
        .all(|a| a.required_for_import && a.r#type == b"\"string\""));
    // A stored identity of version 0 comes back as it was; another version is refused.
    let stored = br#"{"subscription_id":"s","resource_group_name":"rg","name":"web"}"#.to_vec();
    let upgrade = |version: i64| {
        let mut c = client.clone();
        let raw = stored.clone();
        async move {
            c.upgrade_resource_identity(pb::upgrade_resource_identity::Request {
                type_name: "rhelazure_atomic_host".into(),
                version,
                raw_identity: Some(pb::RawState {
                    json: raw,
                    ..Default::default()
                }),
            })
            .await
            .unwrap()
            .into_inner()
        }
    };
    let same = upgrade(0).await;
    assert!(same.diagnostics.is_empty(), "{:?}", same.diagnostics);
    let ty = Type::object([
        ("subscription_id", Type::String),
        ("resource_group_name", Type::String),
        ("name", Type::String),
    ]);
    let v = msgpack::decode(
        &same
            .upgraded_identity
            .unwrap()
            .identity_data
            .unwrap()
            .msgpack,
        &ty,
    )
    .unwrap();
    assert_eq!(v.attr("name"), &Value::from("web"));
    assert!(upgrade(3).await.diagnostics[0]
        .summary
        .contains("Unsupported identity version"));

    // A list or an action of a type the provider does not have: one event
    // with the diagnostic, not a crash or a hung stream.
    let mut list = client
        .list_resource(pb::list_resource::Request::default())
        .await
        .unwrap()
        .into_inner();
    let event = list.message().await.unwrap().unwrap();
    assert!(event.diagnostic[0]
        .summary
        .contains("Unknown list resource type"));
    assert!(list.message().await.unwrap().is_none(), "the stream ends");
    let mut invoked = client
        .invoke_action(pb::invoke_action::Request {
            action_type: "rhelazure_nope".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let event = invoked.message().await.unwrap().unwrap();
    match event.r#type {
        Some(pb::invoke_action::event::Type::Completed(c)) => {
            assert!(c.diagnostics[0].summary.contains("Unknown action type"))
        }
        other => panic!("{other:?}"),
    }
    // RPCs for features we do not offer answer with diagnostics, not crashes.
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
    // A range, not one port found free a moment ago: another process may take
    // that one before the provider binds it. The range sits below Linux's
    // ephemeral ports (32768+), where outgoing connections never land, and
    // differs per test process so parallel runs rarely meet.
    let min = 20000 + (std::process::id() % 200) as u16 * 50;
    let max = min + 49;
    let mut p = start(&[
        ("RHELAZURE_PLUGIN_TRANSPORT", "tcp"),
        ("PLUGIN_MIN_PORT", &min.to_string()),
        ("PLUGIN_MAX_PORT", &max.to_string()),
    ]);
    let port: u16 = p
        .address
        .strip_prefix("127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a loopback address: {}", p.address));
    assert_eq!(p.network, "tcp");
    assert!((min..=max).contains(&port), "{port} in {min}..={max}");
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

/// A client that disconnects in the middle of a call (here a data source read
/// stuck on a cloud that accepts connections and never answers): the provider
/// neither hangs nor leaks. It serves the next client at once, and shuts down
/// promptly with the abandoned call still pending.
#[tokio::test]
async fn a_client_disconnecting_mid_call_leaves_the_provider_serving() {
    // A "cloud" that accepts TCP connections and never says a word.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", black_hole.local_addr().unwrap());
    let (pem, der, key) = terraform_style_client_cert();
    let mut p = start(&[
        ("PLUGIN_CLIENT_CERT", &pem),
        ("ARM_ENDPOINT", &url),
        ("ARM_AUTHORITY_HOST", &url),
        ("ARM_TENANT_ID", "00000000-0000-0000-0000-000000000001"),
        (
            "ARM_SUBSCRIPTION_ID",
            "00000000-0000-0000-0000-000000000002",
        ),
        ("ARM_CLIENT_ID", "00000000-0000-0000-0000-000000000003"),
        ("ARM_CLIENT_SECRET", "black-hole-secret"),
    ]);
    let schemas = rhelazure::resources::registry();
    let schemas = rhelazure::plugin::service::ProviderService::schemas(&schemas);
    let provider_ty = schemas.provider.block.value_type();
    let image_ty = schemas.data_sources["rhelazure_marketplace_image"]
        .block
        .value_type();

    {
        let channel = connect(&p, Some((der.clone(), key.clone()))).await.unwrap();
        let mut client = ProviderClient::new(channel);
        let configured = client
            .configure_provider(pb::configure_provider::Request {
                terraform_version: "1.11.4".into(),
                config: Some(pb::DynamicValue {
                    msgpack: msgpack::encode(&Value::Object(Default::default()), &provider_ty)
                        .unwrap(),
                    json: vec![],
                }),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            configured.diagnostics.is_empty(),
            "{:?}",
            configured.diagnostics
        );
        let mut config = std::collections::BTreeMap::new();
        config.insert("location".to_string(), Value::from("eastus".to_string()));
        config.insert("rhel_version".to_string(), Value::from("9".to_string()));
        let read = client.read_data_source(pb::read_data_source::Request {
            type_name: "rhelazure_marketplace_image".into(),
            config: Some(pb::DynamicValue {
                msgpack: msgpack::encode(&Value::Object(config), &image_ty).unwrap(),
                json: vec![],
            }),
            ..Default::default()
        });
        // The read is stuck on the black hole; the client gives up and goes away.
        let outcome = tokio::time::timeout(Duration::from_secs(2), read).await;
        assert!(outcome.is_err(), "the read cannot finish: {outcome:?}");
    } // channel dropped: the connection closes mid-call

    // The provider still answers a new client at once.
    let channel = tokio::time::timeout(Duration::from_secs(5), connect(&p, Some((der, key))))
        .await
        .expect("a new connection within 5 s")
        .unwrap();
    let mut client = ProviderClient::new(channel.clone());
    let schema = tokio::time::timeout(
        Duration::from_secs(5),
        client.get_provider_schema(pb::get_provider_schema::Request {}),
    )
    .await
    .expect("served within 5 s")
    .unwrap()
    .into_inner();
    assert!(schema
        .data_source_schemas
        .contains_key("rhelazure_marketplace_image"));

    // And it shuts down promptly, abandoned call or not, leaving no process behind.
    let pid = p.child.id();
    GrpcControllerClient::new(channel)
        .shutdown(rhelazure::plugin::proto::plugin::Empty {})
        .await
        .unwrap();
    let status = wait_exit(&mut p, Duration::from_secs(5)).expect("exits within 5 s of Shutdown");
    assert!(status.success());
    let children = Command::new("pgrep")
        .args(["-P", &pid.to_string()])
        .output()
        .unwrap();
    assert!(children.stdout.is_empty(), "no child process left");
    drop(black_hole);
}
