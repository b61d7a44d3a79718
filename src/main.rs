//! `terraform-provider-rhelazure`: started by Terraform (or OpenTofu) as a plugin.
//!
//! `--version` prints the version; `--debug` runs the provider unmanaged and
//! prints a `TF_REATTACH_PROVIDERS` value to attach Terraform to it.

use std::process::ExitCode;
use std::sync::Arc;

use rhelazure::plugin::{logging, serve};

fn usage() -> String {
    format!(
        "terraform-provider-rhelazure {}\n\nA Terraform / OpenTofu provider; Terraform starts it for you.\n\n\
         Options:\n  --debug     run unmanaged and print TF_REATTACH_PROVIDERS for attaching Terraform\n  \
         --version   print the version\n  --help      this text\n",
        env!("CARGO_PKG_VERSION")
    )
}

fn main() -> ExitCode {
    let mut debug = false;
    let mut parser = lexopt::Parser::from_env();
    loop {
        match parser.next() {
            Ok(None) => break,
            Ok(Some(lexopt::Arg::Long("debug"))) => debug = true,
            Ok(Some(lexopt::Arg::Long("version"))) => {
                println!("terraform-provider-rhelazure {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            Ok(Some(lexopt::Arg::Long("help") | lexopt::Arg::Short('h'))) => {
                print!("{}", usage());
                return ExitCode::SUCCESS;
            }
            Ok(Some(other)) => {
                eprintln!(
                    "unexpected argument {:?}\n\n{}",
                    other.unexpected(),
                    usage()
                );
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("{e}\n\n{}", usage());
                return ExitCode::from(2);
            }
        }
    }

    logging::init(if debug {
        tracing::level_filters::LevelFilter::DEBUG
    } else {
        logging::level_from_env()
    });
    let service = Arc::new(rhelazure::resources::registry());
    let opts = serve::ServeOptions {
        provider_address: rhelazure::PROVIDER_ADDRESS.to_string(),
        debug,
    };
    serve::run_until_stopped(service, opts)
}
