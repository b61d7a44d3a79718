//! `sweep-real` (`make sweep-real`): deletes every leftover of the
//! acceptance suite from the accounts the environment points at (`ARM_*`,
//! `RH_*`, as for `make testacc-real`): resource groups named or tagged by
//! the suite, its activation keys, Cloud Access sources and Image Builder
//! composes, and the Marketplace terms its runs accepted (from the journal,
//! `RHELAZURE_ACC_JOURNAL`). What it matches is in the harness's `sweep`
//! module.
//!
//! ```text
//! sweep-real [--dry-run]     --dry-run: list, change nothing
//! ```
//! Exits 1 when something could not be deleted, 2 without credentials.

use std::process::ExitCode;
use std::time::Duration;

use rhelazure_acceptance_tests::services::Services;
use rhelazure_acceptance_tests::sweep::{sweep_or_list, Scope};
use rhelazure_acceptance_tests::target::{real_environment, real_terms_journal};

fn main() -> ExitCode {
    let dry_run = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--dry-run") => true,
        Some(other) => {
            eprintln!("usage: sweep-real [--dry-run] (unexpected {other:?})");
            return ExitCode::from(2);
        }
    };
    let env = match real_environment() {
        Ok(env) => env,
        Err(why) => {
            eprintln!("sweep-real: {}", why.0);
            return ExitCode::from(2);
        }
    };
    let services = Services::new(env);
    // Resource group deletes of real VMs take minutes; an hour covers the worst.
    let swept = sweep_or_list(
        &services,
        &Scope::Suite,
        &real_terms_journal(),
        Duration::from_secs(60 * 60),
        dry_run,
    );
    println!(
        "{}{swept}",
        if dry_run {
            "would delete (dry run):\n"
        } else {
            ""
        }
    );
    if swept.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
