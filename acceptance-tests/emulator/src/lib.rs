//! The local cloud's emulator: a strict, stateful imitation of exactly the
//! Azure Resource Manager and Red Hat APIs terraform-provider-rhelazure uses,
//! on one loopback port:
//!
//! | base URL            | what                                            |
//! |---------------------|-------------------------------------------------|
//! | `/`                 | ARM (`/subscriptions/...`)                      |
//! | `/{tenant}/oauth2/v2.0/token` | Entra ID: the authority host is the same origin (the Azure SDK joins the token path onto the authority's origin) |
//! | `/{tenant}/v2.0/.well-known/openid-configuration` | Entra ID's OpenID discovery (read by MSAL, so by `az login`) |
//! | `/redhat`           | Red Hat API (`/api/rhsm/v2`, ...)               |
//! | `/sso`              | Red Hat SSO (`/auth/realms/redhat-external/...`) |
//! | `/msi/token`        | App Service-style managed identity endpoint (`IDENTITY_ENDPOINT`) |
//! | `/github-actions/idtoken` | GitHub Actions' OIDC token service (`ACTIONS_ID_TOKEN_REQUEST_URL`) |
//! | `/azure-devops/.../oidctoken` | Azure DevOps' OIDC endpoint (`SYSTEM_OIDCREQUESTURI`) |
//! | `/_emulator`        | control API: faults, throttling, state, request log, reset |
//!
//! With `--imds-listen ADDR` it also serves, over plain HTTP on ADDR, the
//! Instance Metadata Service's `/metadata/identity/oauth2/token` (a virtual
//! machine's managed identity), and nothing else there.
//!
//! Modules: [`auth`] identity, [`arm`] resource manager, [`redhat`] Red Hat
//! APIs, [`control`] the control API, [`state`] what is stored, [`http`] plumbing.

// ARM errors are built at most once per request; boxing them would only add noise.
#![allow(clippy::result_large_err)]

pub mod arm;
pub mod auth;
pub mod azurite;
pub mod control;
pub mod faults;
pub mod http;
pub mod ratelimit;
pub mod recorder;
pub mod redhat;
pub mod seed;
pub mod state;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State as AxState;
use axum::http::Request;
use axum::response::Response;
use axum::serve::ListenerExt;
use serde_json::{json, Value as Json};

use http::Req;
pub use seed::Seed;
pub use state::State;

#[derive(Clone, Debug)]
pub struct Options {
    pub listen: SocketAddr,
    pub blob_endpoint: Option<String>,
    pub state_file: Option<PathBuf>,
    pub seed: Option<PathBuf>,
    pub request_log: Option<PathBuf>,
    pub lro_delay: Duration,
    /// Serve HTTPS, with a certificate from a throwaway CA written to this PEM file.
    pub tls_ca_file: Option<PathBuf>,
    /// Also serve the Instance Metadata Service's identity endpoint here, over
    /// plain HTTP as IMDS does: `169.254.169.254:80` inside a network namespace
    /// whose loopback carries that address (the IMDS test).
    pub imds_listen: Option<SocketAddr>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            blob_endpoint: None,
            state_file: None,
            seed: None,
            request_log: None,
            lro_delay: Duration::from_millis(200),
            tls_ca_file: None,
            imds_listen: None,
        }
    }
}

/// Settings the control API can change at run time.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Tunables {
    pub lro_delay_ms: u64,
    pub token_lifetime_s: u64,
    pub redhat_token_lifetime_s: u64,
    /// Duration of each Image Builder compose phase (pending, building, uploading, registering).
    #[serde(default = "default_phase")]
    pub compose_phase_ms: u64,
    /// How long a compose stays `registering` once its image is in ARM (the
    /// service creates the image, then reports success); None: one phase.
    #[serde(default)]
    pub compose_registering_ms: Option<u64>,
    /// Items per page of an ARM list; the rest follows through `nextLink`.
    /// ARM pages every list and documents no page size, so clients must
    /// follow `nextLink` whatever it is; tests make it small to prove they do.
    #[serde(default = "default_page_size")]
    pub list_page_size: usize,
    /// The Marketplace lists the `rhel-byos` gold images to every
    /// subscription, as it can on Azure; buying one still fails ("private
    /// and can not be purchased") until Red Hat grants the access.
    #[serde(default)]
    pub gold_images_listed_to_all: bool,
    /// Red Hat's answer to gold image access requests: `Granted` (default)
    /// or `Failed`.
    #[serde(default = "default_gold_image_access")]
    pub gold_image_access: String,
}

fn default_gold_image_access() -> String {
    "Granted".into()
}

fn default_phase() -> u64 {
    250
}

fn default_page_size() -> usize {
    100
}

pub struct Emulator {
    seed: Seed,
    base_url: RwLock<String>,
    ca_file: Option<PathBuf>,
    pub blob_endpoint: Option<String>,
    state_file: Option<PathBuf>,
    request_log_file: Option<PathBuf>,
    tunables: RwLock<Tunables>,
    state: Mutex<State>,
    pub(crate) faults: Mutex<Vec<faults::Fault>>,
    pub(crate) limits: Mutex<ratelimit::Limits>,
    pub(crate) requests: Mutex<Vec<Json>>,
    /// State changed since the last save (saved by a background flusher, so
    /// a write costs no file I/O however big the state grows).
    dirty: std::sync::atomic::AtomicBool,
}

impl Emulator {
    /// The CA of the local cloud's HTTPS (Azurite serves with a certificate
    /// it issued), when it serves HTTPS.
    pub fn ca_file(&self) -> Option<&std::path::Path> {
        self.ca_file.as_deref()
    }

    pub fn new(opts: &Options) -> Result<Arc<Emulator>, String> {
        let seed = match &opts.seed {
            Some(p) => Seed::load(p)?,
            None => Seed::builtin(),
        };
        let state = match &opts.state_file {
            Some(p) if p.exists() => State::load(p)?,
            _ => seeded_state(&seed),
        };
        Ok(Arc::new(Emulator {
            seed,
            base_url: RwLock::new(String::new()),
            ca_file: opts.tls_ca_file.clone(),
            blob_endpoint: opts.blob_endpoint.clone(),
            state_file: opts.state_file.clone(),
            request_log_file: opts.request_log.clone(),
            tunables: RwLock::new(Tunables {
                lro_delay_ms: opts.lro_delay.as_millis() as u64,
                token_lifetime_s: 3599,
                redhat_token_lifetime_s: 900,
                compose_phase_ms: default_phase(),
                compose_registering_ms: None,
                list_page_size: default_page_size(),
                gold_images_listed_to_all: false,
                gold_image_access: default_gold_image_access(),
            }),
            state: Mutex::new(state),
            faults: Mutex::new(Vec::new()),
            limits: Mutex::new(ratelimit::Limits::default()),
            requests: Mutex::new(Vec::new()),
            dirty: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    pub fn seed(&self) -> &Seed {
        &self.seed
    }
    pub fn base_url(&self) -> String {
        self.base_url.read().map(|s| s.clone()).unwrap_or_default()
    }
    pub fn tunables(&self) -> Tunables {
        self.tunables
            .read()
            .map(|t| t.clone())
            .expect("tunables lock")
    }
    pub fn set_tunables(&self, t: Tunables) {
        if let Ok(mut w) = self.tunables.write() {
            *w = t;
        }
    }
    pub fn token_lifetime_secs(&self) -> u64 {
        self.tunables().token_lifetime_s
    }
    pub fn redhat_token_lifetime_secs(&self) -> u64 {
        self.tunables().redhat_token_lifetime_s
    }
    pub fn signing_key(&self) -> Vec<u8> {
        self.state().signing_key()
    }

    /// The state, with what is due by now applied first: its own clocks,
    /// then the long-running operations of ARM and Red Hat's services.
    pub fn state(&self) -> MutexGuard<'_, State> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = http::now_ms();
        let grant_fails = self
            .tunables()
            .gold_image_access
            .eq_ignore_ascii_case("Failed");
        for id in s.advance_clocks(now, grant_fails) {
            arm::complete_operation(&mut s, &id, now, self);
        }
        redhat::advance(&mut s, now, self);
        s
    }

    pub fn reset(&self) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = seeded_state(&self.seed);
        self.faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        *self.limits.lock().unwrap_or_else(|p| p.into_inner()) = ratelimit::Limits::default();
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Saves the state file from a copy taken under the lock, so requests
    /// wait for the copy, not for the (much slower) serialization.
    fn persist(&self) {
        self.dirty
            .store(false, std::sync::atomic::Ordering::Relaxed);
        if let Some(path) = &self.state_file {
            let s = self.state.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Err(e) = s.save(path) {
                eprintln!(
                    "rhelazure-emulator: could not save state to {}: {e}",
                    path.display()
                );
            }
        }
    }

    /// Environment variables that point the provider at this emulator.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = env_for(&self.seed, &self.base_url());
        if let Some(ca) = &self.ca_file {
            // How a client trusts the local cloud's CA (rustls-native-certs, OpenSSL, curl all read it).
            env.push(("SSL_CERT_FILE".into(), ca.display().to_string()));
        }
        env
    }

    /// The one JSON line printed at start-up.
    pub fn startup_line(&self) -> Json {
        let base = self.base_url();
        let env: serde_json::Map<String, Json> = self
            .env()
            .into_iter()
            .map(|(k, v)| (k, Json::String(v)))
            .collect();
        json!({
            "arm": base,
            "login": base,
            "redhat_api": format!("{base}/redhat"),
            "redhat_sso": format!("{base}/sso"),
            "control": format!("{base}/_emulator"),
            "blob_endpoint": self.blob_endpoint,
            "ca_cert": self.ca_file.as_ref().map(|p| p.display().to_string()),
            "env": env,
        })
    }
}

/// Environment variables that point the provider at an emulator at `base`
/// with the seeded credentials.
/// The state a seed describes, with the demo resources ARM serves from the start.
fn seeded_state(seed: &Seed) -> State {
    let mut s = State::from_seed(seed);
    arm::seed_demo(&mut s, seed);
    s
}

pub fn env_for(seed: &Seed, base: &str) -> Vec<(String, String)> {
    let sub = &seed.subscriptions[0];
    let sp = &seed.tenants[0].service_principals[0];
    vec![
        ("ARM_ENDPOINT".into(), base.to_string()),
        ("ARM_AUTHORITY_HOST".into(), base.to_string()),
        ("ARM_TENANT_ID".into(), sub.tenant_id.clone()),
        ("ARM_SUBSCRIPTION_ID".into(), sub.id.clone()),
        ("ARM_CLIENT_ID".into(), sp.client_id.clone()),
        ("ARM_CLIENT_SECRET".into(), sp.client_secret.clone()),
        ("RH_API_URL".into(), format!("{base}/redhat")),
        ("RH_SSO_URL".into(), format!("{base}/sso")),
        (
            "RH_OFFLINE_TOKEN".into(),
            seed.redhat.offline_tokens[0].clone(),
        ),
    ]
}

/// A running emulator (for tests and the binary).
pub struct Running {
    pub emulator: Arc<Emulator>,
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<()>,
    flusher: tokio::task::JoinHandle<()>,
    imds: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub fn base_url(&self) -> String {
        self.emulator.base_url()
    }
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        self.flusher.abort();
        if let Some(t) = &self.imds {
            t.abort();
        }
        self.emulator.persist();
    }
}

/// Accepted connections answer at once (see `tls::serve` for why).
fn no_delay(tcp: &mut tokio::net::TcpStream) {
    let _ = tcp.set_nodelay(true);
}

/// Binds, and serves in a background task.
pub async fn start(opts: Options) -> Result<Running, String> {
    faults::quiet_drops();
    let emulator = Emulator::new(&opts)?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| format!("listen on {}: {e}", opts.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if opts.tls_ca_file.is_some() {
        "https"
    } else {
        "http"
    };
    if let Ok(mut b) = emulator.base_url.write() {
        *b = format!("{scheme}://{addr}");
    }
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(emulator.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = match &opts.tls_ca_file {
        Some(ca) => {
            let config = tls::server_config(ca)?;
            tokio::spawn(async move {
                tokio::select! {
                    _ = tls::serve(listener, config, app) => {}
                    _ = rx => {}
                }
            })
        }
        None => tokio::spawn(async move {
            let _ = axum::serve(listener.tap_io(no_delay), app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        }),
    };
    let imds = match opts.imds_listen {
        Some(at) => {
            let listener = tokio::net::TcpListener::bind(at)
                .await
                .map_err(|e| format!("listen on {at} (IMDS): {e}"))?;
            let app = axum::Router::new()
                .fallback(handle_imds)
                .with_state(emulator.clone());
            Some(tokio::spawn(async move {
                let _ = axum::serve(listener.tap_io(no_delay), app).await;
            }))
        }
        None => None,
    };
    let flusher = {
        let emu = emulator.clone();
        tokio::spawn(async move {
            // Every 200 ms at most, and never more than a fifth of the time
            // once the state is large (saving is O(state) each time).
            let mut pause = Duration::from_millis(200);
            loop {
                tokio::time::sleep(pause).await;
                if emu.dirty.load(std::sync::atomic::Ordering::Relaxed) {
                    let e = emu.clone();
                    let started = std::time::Instant::now();
                    let _ = tokio::task::spawn_blocking(move || e.persist()).await;
                    pause = Duration::from_millis(200).max(started.elapsed() * 4);
                }
            }
        })
    };
    Ok(Running {
        emulator,
        addr,
        shutdown: Some(tx),
        task,
        flusher,
        imds,
    })
}

const MAX_BODY: usize = 32 << 20;

/// What a listener serves: the cloud (ARM, Entra ID, Red Hat, control API) on
/// its loopback port, or only the IMDS identity endpoint on the IMDS address.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Surface {
    Cloud,
    Imds,
}

async fn handle(AxState(emu): AxState<Arc<Emulator>>, request: Request<Body>) -> Response {
    serve(emu, request, Surface::Cloud).await
}

async fn handle_imds(AxState(emu): AxState<Arc<Emulator>>, request: Request<Body>) -> Response {
    serve(emu, request, Surface::Imds).await
}

/// One request on either surface: faults, routing, request ids, the request log.
async fn serve(emu: Arc<Emulator>, request: Request<Body>, surface: Surface) -> Response {
    let route: fn(&Emulator, &Req) -> Response = match surface {
        Surface::Cloud => route,
        Surface::Imds => imds_route,
    };
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b.to_vec(),
        Err(_) => {
            return http::ArmError::new(
                413,
                "RequestEntityTooLarge",
                "The request body is too large.",
            )
            .response()
        }
    };
    let raw_path = parts.uri.path().to_string();
    let req = Req {
        method: parts.method.clone(),
        segments: raw_path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(http::path_segment)
            .collect(),
        path: raw_path,
        query: http::parse_query(parts.uri.query().unwrap_or("")),
        headers: parts.headers,
        body: bytes,
    };
    let started = std::time::Instant::now();
    let is_control =
        surface == Surface::Cloud && req.segments.first().map(String::as_str) == Some("_emulator");

    // How long to hold the answer once served and logged (a `hold_ms` fault).
    let mut hold_ms = 0;
    let mut response = if is_control {
        control::handle(&emu, &req)
    } else {
        match faults::fault_for(&emu, &req) {
            Some(f) => {
                hold_ms = f.hold_ms;
                if f.latency_ms > 0 {
                    tokio::time::sleep(Duration::from_millis(f.latency_ms)).await;
                }
                if f.drop_after_serving {
                    drop(route(&emu, &req));
                    faults::drop_connection();
                }
                if f.drop_connection {
                    // Dropping the connection mid-request, as a flaky network does:
                    // abandoning this task makes hyper close the socket without a response.
                    faults::drop_connection();
                }
                match f.status {
                    Some(_) => f.response(&req.path),
                    None if f.omit_operation_headers => {
                        let mut r = route(&emu, &req);
                        r.headers_mut().remove("azure-asyncoperation");
                        r.headers_mut().remove("location");
                        r.headers_mut().remove("retry-after");
                        r
                    }
                    None => route(&emu, &req),
                }
            }
            None => route(&emu, &req),
        }
    };
    // Every response carries request ids, as ARM's do; the client's id is echoed.
    http::set_header(&mut response, "x-ms-request-id", &http::guid());
    http::set_header(&mut response, "x-ms-correlation-request-id", &http::guid());
    // console.redhat.com's gateway tags its answers with a request id too.
    if req.path.starts_with("/redhat/") {
        http::set_header(
            &mut response,
            "x-rh-insights-request-id",
            &http::guid().replace('-', ""),
        );
    }
    if let Some(id) = req.header("x-ms-client-request-id").map(str::to_string) {
        http::set_header(&mut response, "x-ms-client-request-id", &id);
    }
    if !is_control {
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_BODY)
            .await
            .unwrap_or_default();
        control::record(
            &emu,
            &req,
            &Response::from_parts(parts.clone(), Body::empty()),
            started.elapsed(),
            &bytes,
        );
        response = Response::from_parts(parts, Body::from(bytes));
        if req.method != axum::http::Method::GET && req.method != axum::http::Method::HEAD {
            emu.dirty.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    if hold_ms > 0 {
        tokio::time::sleep(Duration::from_millis(hold_ms)).await;
    }
    response
}

/// The IMDS address serves the managed identity token endpoint and nothing else.
fn imds_route(emu: &Emulator, req: &Req) -> Response {
    if req.path == "/metadata/identity/oauth2/token" && req.method == axum::http::Method::GET {
        auth::imds_token(emu, req)
    } else {
        http::json_response(
            404,
            &json!({ "error": "not_found", "error_description": "The requested resource was not found on IMDS." }),
        )
    }
}

fn route(emu: &Emulator, req: &Req) -> Response {
    let first = req.segments.first().map(|s| s.to_ascii_lowercase());
    let token_path = req.segments.len() == 4
        && req.segments[1] == "oauth2"
        && req.segments[2] == "v2.0"
        && req.segments[3] == "token";
    match first.as_deref() {
        Some(_)
            if req.segments.len() == 4
                && req.segments[1] == "v2.0"
                && req.segments[2] == ".well-known"
                && req.segments[3] == "openid-configuration" =>
        {
            auth::openid_configuration(emu, &req.segments[0])
        }
        Some(_) if token_path => {
            if req.method != axum::http::Method::POST {
                return http::empty_response(405);
            }
            auth::entra_token(emu, req, &req.segments[0])
        }
        // App Service's managed identity endpoint (IDENTITY_ENDPOINT=<base>/msi/token).
        Some("msi") if req.segments.len() == 2 && req.segments[1] == "token" => {
            auth::managed_identity_token(emu, req)
        }
        // GitHub Actions' OIDC token service (ACTIONS_ID_TOKEN_REQUEST_URL=<base>/github-actions/idtoken?api-version=2.0).
        Some("github-actions") if req.segments.len() == 2 && req.segments[1] == "idtoken" => {
            auth::github_actions_token(emu, req)
        }
        // Azure DevOps' OIDC endpoint (SYSTEM_OIDCREQUESTURI=<base>/azure-devops/{org}/{project}/_apis/
        // distributedtask/hubs/build/plans/{plan}/jobs/{job}/oidctoken).
        Some("azure-devops") if req.segments.last().is_some_and(|s| s == "oidctoken") => {
            if req.method != axum::http::Method::POST {
                return http::empty_response(405);
            }
            auth::azure_devops_token(emu, req)
        }
        Some("sso") => {
            let rest: Vec<&str> = req.segments[1..].iter().map(String::as_str).collect();
            if rest
                == [
                    "auth",
                    "realms",
                    "redhat-external",
                    "protocol",
                    "openid-connect",
                    "token",
                ]
                && req.method == axum::http::Method::POST
            {
                auth::redhat_token(emu, req)
            } else {
                http::json_response(404, &json!({ "error": "Not Found" }))
            }
        }
        Some("redhat") => redhat::handle(emu, req),
        Some("subscriptions") => arm::handle(emu, req),
        _ => http::ArmError::new(
            404,
            "NotFound",
            format!(
                "The local cloud serves no route {} {}.",
                req.method, req.path
            ),
        )
        .response(),
    }
}
