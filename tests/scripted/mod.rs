//! A tiny HTTPS server scripted per test: the test queues the answers, in the
//! order the client will ask, and afterwards reads what the client sent and
//! when. Unlike the emulator it can answer anything (every retry-hint form,
//! budget headers, each long-running-operation form, error bodies), so the
//! client's pipeline is tested against exactly what a service may send.
//! TLS comes from the emulator's throwaway-CA helper: Azure's bearer-token
//! policy refuses plain HTTP, as it should.
#![allow(dead_code)]

#[path = "../support/local_https.rs"]
mod local_https;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::Response;
use serde_json::Value as Json;

/// One answer of the script.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Close the connection without answering (a flaky network).
    pub drop: bool,
}

impl Reply {
    pub fn json(status: u16, body: Json) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            drop: false,
        }
    }

    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
            drop: false,
        }
    }

    pub fn dropped() -> Reply {
        Reply {
            drop: true,
            ..Reply::empty(0)
        }
    }

    pub fn header(mut self, k: &str, v: impl Into<String>) -> Reply {
        self.headers.push((k.to_string(), v.into()));
        self
    }
}

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Lower-cased names.
    pub headers: HashMap<String, String>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Reply>>,
    seen: Mutex<Vec<Seen>>,
}

pub struct Scripted {
    pub rt: tokio::runtime::Runtime,
    /// `https://127.0.0.1:PORT`
    pub base: String,
    /// Trusts the server's CA.
    pub http: reqwest::Client,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response {
    let (parts, _body) = request.into_parts();
    shared.seen.lock().unwrap().push(Seen {
        at: Instant::now(),
        method: parts.method.to_string(),
        target: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
    });
    let next = shared.script.lock().unwrap().pop_front();
    let Some(reply) = next else {
        return Response::builder()
            .status(599)
            .body(Body::from("the script has no answer left for this request"))
            .unwrap();
    };
    if reply.drop {
        // Abandoning the handler makes hyper close the socket unanswered.
        rhelazure_emulator::faults::drop_connection();
    }
    let mut b = Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Body::from(reply.body)).unwrap()
}

impl Scripted {
    pub fn start() -> Scripted {
        rhelazure_emulator::faults::quiet_drops();
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let rt = local_https::runtime();
        let shared = Arc::new(Shared::default());
        let config = rhelazure_emulator::tls::server_config(&ca).unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("https://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(shared.clone());
        let task = rt.spawn(rhelazure_emulator::tls::serve(listener, config, app));
        let http = local_https::client_trusting(&ca);
        Scripted {
            rt,
            base,
            http,
            shared,
            task,
            _dir: dir,
        }
    }

    /// Queues the next answer.
    pub fn then(&self, reply: Reply) -> &Self {
        self.shared.script.lock().unwrap().push_back(reply);
        self
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Time between consecutive requests.
    pub fn gaps(&self) -> Vec<Duration> {
        let seen = self.seen();
        seen.windows(2).map(|w| w[1].at - w[0].at).collect()
    }

    /// `METHOD path` of every request so far.
    pub fn calls(&self) -> Vec<String> {
        self.seen()
            .iter()
            .map(|s| format!("{} {}", s.method, s.path()))
            .collect()
    }

    /// Fails unless the client asked for every queued answer.
    pub fn assert_script_done(&self) {
        let left = self.shared.script.lock().unwrap().len();
        assert_eq!(left, 0, "{left} scripted answers were never asked for");
    }

    pub fn run<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}
