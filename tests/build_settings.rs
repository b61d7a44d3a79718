//! Build settings that every build path must keep (`.cargo/config.toml`).

/// aws-lc is built without its CPU-jitter entropy source, whose seeding took
/// most of the provider's start-up (see `.cargo/config.toml`). The test binary
/// keeps its symbols, and the jitterentropy library's entry point is among
/// them only when the source is built in.
#[test]
fn aws_lc_is_built_without_cpu_jitter_entropy() {
    let binary = std::fs::read(env!("CARGO_BIN_EXE_terraform-provider-rhelazure")).unwrap();
    let needle = b"jent_entropy_init";
    assert!(
        !binary.windows(needle.len()).any(|w| w == needle),
        "the provider links aws-lc's jitter entropy: is AWS_LC_SYS_NO_JITTER_ENTROPY=1 still in .cargo/config.toml?"
    );
}
