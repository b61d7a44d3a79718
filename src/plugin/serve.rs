//! Process start-up as go-plugin expects it: the magic cookie, protocol
//! negotiation, AutoMTLS, the listener (Unix socket or loopback TCP), the one
//! handshake line on stdout, and a clean exit when Terraform is done.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use tokio::sync::Notify;
use tokio_stream::Stream;
use tonic::transport::server::{Connected, Router};
use tonic::transport::Server;

use super::proto::{plugin as gp, tfplugin6 as pb};
use super::server::{Broker, Controller, GrpcProvider, Stdio};
use super::service::ProviderService;

/// From Terraform's `internal/plugin6/serve.go`; it never changes.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
pub const PROTOCOL_VERSION: u32 = 6;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "This binary is a plugin. These are not meant to be executed directly.\n\
         Please execute the program that consumes these plugins, which will\n\
         load any plugins automatically.\n\
         (To attach Terraform to a provider you run yourself, start it with --debug.)"
    )]
    NotLaunchedByTerraform,
    #[error(transparent)]
    Tls(#[from] super::tls::TlsError),
    #[error("could not listen: {0}")]
    Listen(std::io::Error),
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("could not write the handshake: {0}")]
    Stdout(std::io::Error),
}

pub struct ServeOptions {
    /// Registry address, for the `TF_REATTACH_PROVIDERS` line of debug mode.
    pub provider_address: String,
    /// Run unmanaged: no cookie, no TLS, print reattach instructions, stop on Ctrl-C.
    pub debug: bool,
}

enum Listener {
    Unix(tokio::net::UnixListener, PathBuf),
    Tcp(tokio::net::TcpListener, SocketAddr),
}

/// Which app protocol to speak, from `PLUGIN_PROTOCOL_VERSIONS`. We serve only 6;
/// when the client does not list it we still answer 6 and let the client report
/// the mismatch, as go-plugin does.
pub fn negotiate_protocol(client_versions: Option<&str>) -> u32 {
    if let Some(list) = client_versions {
        if !list.split(',').any(|v| v.trim() == "6") {
            tracing::warn!(target: "rhelazure.plugin", client_versions = list, "client does not support protocol 6");
        }
    }
    PROTOCOL_VERSION
}

fn unique_socket_path() -> PathBuf {
    let dir = std::env::var_os("PLUGIN_UNIX_SOCKET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    dir.join(format!("plugin-rhelazure-{}-{nanos}", std::process::id()))
}

fn port_range() -> (u16, u16) {
    let get = |k: &str, d: u16| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    (get("PLUGIN_MIN_PORT", 10000), get("PLUGIN_MAX_PORT", 25000))
}

async fn listen() -> std::io::Result<Listener> {
    // Unix sockets everywhere go-plugin uses them; loopback TCP when asked
    // (RHELAZURE_PLUGIN_TRANSPORT=tcp) or where no socket can be made.
    if std::env::var("RHELAZURE_PLUGIN_TRANSPORT").as_deref() != Ok("tcp") {
        let path = unique_socket_path();
        match tokio::net::UnixListener::bind(&path) {
            Ok(l) => {
                apply_socket_group(&path);
                return Ok(Listener::Unix(l, path));
            }
            Err(e) => {
                tracing::warn!(target: "rhelazure.plugin", error = %e, "no Unix socket; falling back to TCP")
            }
        }
    }
    let (min, max) = port_range();
    let mut last = std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        "empty PLUGIN_MIN_PORT..PLUGIN_MAX_PORT range",
    );
    for port in min..=max {
        match tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            Ok(l) => {
                let addr = l.local_addr()?;
                return Ok(Listener::Tcp(l, addr));
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// `PLUGIN_UNIX_SOCKET_GROUP` (a group name or id): hand the socket to that group, mode 0660.
fn apply_socket_group(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(group) = std::env::var("PLUGIN_UNIX_SOCKET_GROUP") else {
        return;
    };
    let gid = group.parse::<u32>().ok().or_else(|| {
        std::fs::read_to_string("/etc/group")
            .ok()?
            .lines()
            .find_map(|l| {
                let mut f = l.split(':');
                (f.next()? == group)
                    .then(|| f.nth(1)?.parse().ok())
                    .flatten()
            })
    });
    match gid {
        Some(gid) => {
            let _ = std::os::unix::fs::chown(path, None, Some(gid));
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660));
        }
        None => {
            tracing::warn!(target: "rhelazure.plugin", group, "PLUGIN_UNIX_SOCKET_GROUP names no known group")
        }
    }
}

/// What a plugin binary's `main` does once it has its options: starts the
/// async runtime, serves until told to stop, and says why it could not.
pub fn run_until_stopped<S: ProviderService>(
    service: Arc<S>,
    opts: ServeOptions,
) -> std::process::ExitCode {
    // One thread: the provider's work is waiting on Terraform and on HTTP
    // answers, with well under a millisecond of CPU per resource, so a
    // second worker only adds cross-thread wake-ups and work stealing
    // (measured: `make bench`, benches/results/terraform-scale.md). What
    // does take CPU (hashing disk images, reading them for uploads) runs on
    // the blocking pool, off this thread.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(service, opts)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs the plugin until Terraform says stop (GRPCController.Shutdown), SIGTERM,
/// or, in debug mode, Ctrl-C.
pub async fn serve<S: ProviderService>(
    service: Arc<S>,
    opts: ServeOptions,
) -> Result<(), ServeError> {
    if !opts.debug && std::env::var(MAGIC_COOKIE_KEY).as_deref() != Ok(MAGIC_COOKIE_VALUE) {
        return Err(ServeError::NotLaunchedByTerraform);
    }
    let protocol = negotiate_protocol(std::env::var("PLUGIN_PROTOCOL_VERSIONS").ok().as_deref());

    let mut tls = None;
    let mut server_cert_b64 = String::new();
    if let (false, Ok(client_pem)) = (opts.debug, std::env::var("PLUGIN_CLIENT_CERT")) {
        let (acceptor, der) = super::tls::acceptor(&client_pem)?;
        server_cert_b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(der);
        tls = Some(acceptor);
    }

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;
    let shutdown = Arc::new(Notify::new());
    let router = Server::builder()
        .add_service(health_service)
        .add_service(gp::grpc_controller_server::GrpcControllerServer::new(
            Controller {
                shutdown: shutdown.clone(),
            },
        ))
        .add_service(gp::grpc_stdio_server::GrpcStdioServer::new(Stdio))
        .add_service(gp::grpc_broker_server::GrpcBrokerServer::new(Broker))
        .add_service(
            pb::provider_server::ProviderServer::new(GrpcProvider::new(service))
                .max_decoding_message_size(256 << 20)
                .max_encoding_message_size(256 << 20),
        );

    let listener = listen().await.map_err(ServeError::Listen)?;
    let (network, address) = match &listener {
        Listener::Unix(_, p) => ("unix", p.display().to_string()),
        Listener::Tcp(_, a) => ("tcp", a.to_string()),
    };
    let signals = install_signals();
    if opts.debug {
        print_reattach(&opts.provider_address, protocol, network, &address)
            .map_err(ServeError::Stdout)?;
    } else {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "1|{protocol}|{network}|{address}|grpc|{server_cert_b64}"
        )
        .map_err(ServeError::Stdout)?;
        out.flush().map_err(ServeError::Stdout)?;
    }
    tracing::info!(target: "rhelazure.plugin", network, address = %address, "plugin server listening");

    let stop = stop_signal(shutdown, opts.debug, signals);
    let result = match (listener, tls) {
        (Listener::Unix(l, path), tls) => {
            let conns = tokio_stream::wrappers::UnixListenerStream::new(l);
            let r = match tls {
                Some(a) => run(router, super::tls::incoming(a, conns), stop).await,
                None => run(router, conns, stop).await,
            };
            let _ = std::fs::remove_file(path);
            r
        }
        (Listener::Tcp(l, _), tls) => {
            let conns = tokio_stream::wrappers::TcpListenerStream::new(l);
            match tls {
                Some(a) => run(router, super::tls::incoming(a, conns), stop).await,
                None => run(router, conns, stop).await,
            }
        }
    };
    tracing::debug!(target: "rhelazure.plugin", "plugin server stopped");
    result.map_err(ServeError::from)
}

async fn run<I, IO>(
    router: Router,
    incoming: I,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), tonic::transport::Error>
where
    I: Stream<Item = Result<IO, std::io::Error>>,
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Connected + Unpin + Send + 'static,
{
    // Terraform waits 2 s after Shutdown before killing us; finish in-flight
    // calls within that, then exit even if a client keeps its connection open.
    const GRACE: std::time::Duration = std::time::Duration::from_millis(1500);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = router.serve_with_incoming_shutdown(incoming, async {
        let _ = rx.await;
    });
    tokio::pin!(server, stop);
    tokio::select! {
        r = &mut server => return r,
        _ = &mut stop => {}
    }
    let _ = tx.send(());
    match tokio::time::timeout(GRACE, server).await {
        Ok(r) => r,
        Err(_) => {
            tracing::debug!(target: "rhelazure.plugin", "connections still open after the grace period; exiting");
            Ok(())
        }
    }
}

/// SIGTERM and SIGINT handlers, installed before the handshake line is
/// printed: a signal that arrives right after it must not kill the process.
struct Signals {
    term: Option<tokio::signal::unix::Signal>,
    int: Option<tokio::signal::unix::Signal>,
}

fn install_signals() -> Signals {
    use tokio::signal::unix::{signal, SignalKind};
    // Terraform forwards Ctrl-C as StopProvider; like go-plugin servers we must
    // survive the SIGINT the terminal sends to the whole process group.
    Signals {
        term: signal(SignalKind::terminate()).ok(),
        int: signal(SignalKind::interrupt()).ok(),
    }
}

async fn stop_signal(shutdown: Arc<Notify>, debug: bool, signals: Signals) {
    let Signals { mut term, mut int } = signals;
    loop {
        tokio::select! {
            _ = shutdown.notified() => return,
            _ = async { match term.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => return,
            _ = async { match int.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                if debug { return; }
                tracing::debug!(target: "rhelazure.plugin", "ignoring SIGINT; Terraform sends StopProvider");
            }
        }
    }
}

fn print_reattach(address: &str, protocol: u32, network: &str, addr: &str) -> std::io::Result<()> {
    let value = serde_json::json!({
        address: {
            "Protocol": "grpc",
            "ProtocolVersion": protocol,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": { "Network": network, "String": addr }
        }
    });
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment variable with the following:\n")?;
    writeln!(out, "\tTF_REATTACH_PROVIDERS='{value}'\n")?;
    writeln!(out, "Stop with Ctrl-C.")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_is_always_six() {
        assert_eq!(negotiate_protocol(Some("5,6")), 6);
        assert_eq!(negotiate_protocol(Some("5")), 6);
        assert_eq!(negotiate_protocol(None), 6);
    }
}
