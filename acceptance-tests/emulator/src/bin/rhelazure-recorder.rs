//! `rhelazure-recorder`: the acceptance suite's recording proxy (see the
//! emulator crate's `recorder` module).
//!
//! ```text
//! rhelazure-recorder --upstream NAME=URL [--upstream NAME=URL ...]
//!                    --log FILE --tls-ca-file FILE
//! ```
//! Prints one JSON line `{"NAME": "https://127.0.0.1:PORT", ...}` once every
//! listener is up, then serves until SIGTERM. Values to mask come from
//! `RHELAZURE_RECORD_SECRETS` (one per line) and identifiers to replace from
//! `RHELAZURE_RECORD_IDS` (`value=placeholder` lines).

use std::process::ExitCode;

use rhelazure_emulator::recorder::{self, Upstream};

fn main() -> ExitCode {
    let mut upstreams = Vec::new();
    let (mut log, mut ca) = (None, None);
    let mut p = lexopt::Parser::from_env();
    loop {
        use lexopt::Arg::*;
        let name = match p.next() {
            Ok(None) => break,
            Ok(Some(Long(n))) => n.to_string(),
            Ok(Some(other)) => {
                eprintln!("unexpected argument {:?}", other.unexpected());
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        let mut value = || p.value().ok().and_then(|v| v.into_string().ok());
        match name.as_str() {
            "upstream" => match value().as_deref().and_then(|v| v.split_once('=')) {
                Some((n, u)) => upstreams.push(Upstream {
                    name: n.into(),
                    url: u.into(),
                }),
                None => {
                    eprintln!("--upstream NAME=URL");
                    return ExitCode::from(2);
                }
            },
            "log" => log = value(),
            "tls-ca-file" => ca = value(),
            other => {
                eprintln!("unexpected option --{other}");
                return ExitCode::from(2);
            }
        }
    }
    let (Some(log), Some(ca), false) = (log, ca, upstreams.is_empty()) else {
        eprintln!("usage: rhelazure-recorder --upstream NAME=URL... --log FILE --tls-ca-file FILE");
        return ExitCode::from(2);
    };
    let lines = |k: &str| -> Vec<String> {
        std::env::var(k)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    let secrets = lines("RHELAZURE_RECORD_SECRETS");
    let ids = lines("RHELAZURE_RECORD_IDS")
        .into_iter()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .collect();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let names: Vec<String> = upstreams.iter().map(|u| u.name.clone()).collect();
        match recorder::start(upstreams, log.into(), ca.into(), secrets, ids).await {
            Ok(listeners) => {
                let line: serde_json::Map<String, serde_json::Value> = names
                    .into_iter()
                    .zip(listeners)
                    .map(|(n, l)| (n, serde_json::Value::String(l)))
                    .collect();
                println!("{}", serde_json::Value::Object(line));
                let _ = tokio::signal::ctrl_c().await;
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("rhelazure-recorder: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
