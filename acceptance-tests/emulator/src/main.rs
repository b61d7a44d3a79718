//! `rhelazure-emulator`: the local cloud's ARM and Red Hat emulator.
//!
//! ```text
//! rhelazure-emulator [--listen 127.0.0.1:0] [--blob-endpoint URL] [--state FILE]
//!                    [--seed FILE] [--request-log FILE] [--lro-delay-ms N]
//!                    [--tls-ca-file FILE]   (serve HTTPS; the CA that signed it is written there)
//!                    [--imds-listen ADDR]   (also IMDS's identity endpoint, plain HTTP, on ADDR)
//! rhelazure-emulator env --base-url http://127.0.0.1:PORT [--seed FILE]
//! ```
//! The first form prints one JSON line (base URLs and the `env` to point the
//! provider here) and serves until SIGTERM or Ctrl-C. The second prints the
//! same environment as `export` lines for a running emulator.

use std::process::ExitCode;
use std::time::Duration;

use rhelazure_emulator::{Options, Seed};

fn usage() -> &'static str {
    "usage: rhelazure-emulator [--listen ADDR] [--blob-endpoint URL] [--state FILE] [--seed FILE] [--request-log FILE] [--lro-delay-ms N] [--tls-ca-file FILE] [--imds-listen ADDR]\n       rhelazure-emulator env --base-url URL [--seed FILE]\n"
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn main() -> ExitCode {
    let mut opts = Options::default();
    let mut env_mode = false;
    let mut base_url: Option<String> = None;
    let mut p = lexopt::Parser::from_env();
    macro_rules! value {
        () => {
            match p.value().ok().and_then(|v| v.into_string().ok()) {
                Some(v) => v,
                None => {
                    eprint!("{}", usage());
                    return ExitCode::from(2);
                }
            }
        };
    }
    loop {
        use lexopt::Arg::*;
        match p.next() {
            Ok(None) => break,
            Ok(Some(Value(v))) if v == "env" => env_mode = true,
            Ok(Some(Long("listen"))) => match value!().parse() {
                Ok(a) => opts.listen = a,
                Err(e) => {
                    eprintln!("--listen: {e}");
                    return ExitCode::from(2);
                }
            },
            Ok(Some(Long("blob-endpoint"))) => opts.blob_endpoint = Some(value!()),
            Ok(Some(Long("state"))) => opts.state_file = Some(value!().into()),
            Ok(Some(Long("seed"))) => opts.seed = Some(value!().into()),
            Ok(Some(Long("request-log"))) => opts.request_log = Some(value!().into()),
            Ok(Some(Long("lro-delay-ms"))) => match value!().parse() {
                Ok(ms) => opts.lro_delay = Duration::from_millis(ms),
                Err(e) => {
                    eprintln!("--lro-delay-ms: {e}");
                    return ExitCode::from(2);
                }
            },
            Ok(Some(Long("base-url"))) => base_url = Some(value!()),
            Ok(Some(Long("tls-ca-file"))) => opts.tls_ca_file = Some(value!().into()),
            Ok(Some(Long("imds-listen"))) => match value!().parse() {
                Ok(a) => opts.imds_listen = Some(a),
                Err(e) => {
                    eprintln!("--imds-listen: {e}");
                    return ExitCode::from(2);
                }
            },
            Ok(Some(Long("help") | Short('h'))) => {
                print!("{}", usage());
                return ExitCode::SUCCESS;
            }
            Ok(Some(other)) => {
                eprintln!("unexpected argument {:?}\n{}", other.unexpected(), usage());
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("{e}\n{}", usage());
                return ExitCode::from(2);
            }
        }
    }

    if env_mode {
        let Some(base) = base_url else {
            eprintln!("env needs --base-url of a running emulator\n{}", usage());
            return ExitCode::from(2);
        };
        let seed = match &opts.seed {
            Some(p) => match Seed::load(p) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            },
            None => Seed::builtin(),
        };
        for (k, v) in rhelazure_emulator::env_for(&seed, base.trim_end_matches('/')) {
            println!("export {k}={}", shell_quote(&v));
        }
        return ExitCode::SUCCESS;
    }

    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        // Signal handlers go in before anything can announce readiness: a
        // SIGTERM sent the moment the start-up line is read (tests and
        // `scripts/local-cloud.sh stop` do that) must stop us cleanly, never
        // fall on the default action. tokio registers `ctrl_c()` only when it
        // is first polled, so SIGINT gets a stream of its own here too.
        use tokio::signal::unix::{signal, SignalKind};
        let (mut term, mut int) = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(t), Ok(i)) => (t, i),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("rhelazure-emulator: cannot install signal handlers: {e}");
                return ExitCode::FAILURE;
            }
        };
        let running = match rhelazure_emulator::start(opts).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("rhelazure-emulator: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("{}", running.emulator.startup_line());
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        running.stop().await;
        ExitCode::SUCCESS
    })
}
