//! `rhelazure-bench-floor`: the plugin floor for `make bench`. It serves this
//! provider's schemas through the same plugin server, and answers every
//! resource call without doing anything (`Registry::into_floor`). Terraform
//! runs it as `terraform-provider-rhelazure` from a dev override; the bench
//! reports the real provider's times against it. Built only with
//! `--features bench-floor`.

use std::process::ExitCode;
use std::sync::Arc;

use rhelazure::plugin::{logging, serve};

fn main() -> ExitCode {
    // As the provider does: the same logging set-up, so the floor pays it too.
    logging::init(logging::level_from_env());
    let service = Arc::new(rhelazure::resources::registry().into_floor());
    let opts = serve::ServeOptions {
        provider_address: rhelazure::PROVIDER_ADDRESS.to_string(),
        debug: false,
    };
    serve::run_until_stopped(service, opts)
}
