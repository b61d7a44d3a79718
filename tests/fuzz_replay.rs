//! Bad input from Terraform never panics the provider: replays the cargo-fuzz
//! corpus (`fuzz/corpus/plugin_inputs/`) and a bounded, seeded run of random
//! mutations of structured seeds through the same driver as the fuzz target
//! (`tests/support/fuzz_driver.rs`). `cargo fuzz run plugin_inputs` (nightly,
//! in `fuzz/`) explores further; what it finds lands in the corpus and is
//! replayed here forever after.

#[path = "support/fuzz_driver.rs"]
mod fuzz_driver;
#[path = "support/fuzz_run.rs"]
mod fuzz_run;

use fuzz_run::Rng;

/// Random inputs per run: enough to cover every call kind and target many
/// times over, bounded so the suite stays fast.
const RANDOM_INPUTS: usize = 100_000;

/// One mutation of the kinds libFuzzer applies: flip, insert, delete,
/// truncate, overwrite with an "interesting" msgpack byte, or splice.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    const INTERESTING: [u8; 12] = [
        0xc0, 0xc1, 0xc3, 0xd4, 0xdc, 0xdd, 0xde, 0xdf, 0xd9, 0xdb, 0xcb, 0xff,
    ];
    match rng.below(6) {
        0 if !input.is_empty() => {
            let i = rng.below(input.len());
            input[i] ^= 1 << rng.below(8);
        }
        1 => {
            let i = rng.below(input.len() + 1);
            input.insert(i, rng.next_u64() as u8);
        }
        2 if input.len() > 2 => {
            input.remove(2 + rng.below(input.len() - 2));
        }
        3 if input.len() > 2 => input.truncate(2 + rng.below(input.len() - 2)),
        4 if input.len() > 2 => {
            let i = 2 + rng.below(input.len() - 2);
            input[i] = INTERESTING[rng.below(INTERESTING.len())];
        }
        _ => {
            let at = rng.below(input.len() + 1);
            let from = rng.below(other.len() + 1);
            input.splice(at.., other[from..].iter().copied());
        }
    }
}

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/plugin_inputs")
}

#[tokio::test(flavor = "current_thread")]
async fn the_fuzz_corpus_replays_without_a_panic() {
    let mut n = 0;
    for entry in std::fs::read_dir(corpus_dir()).expect("the corpus is committed") {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        fuzz_driver::exercise(&bytes).await;
        n += 1;
    }
    assert!(
        n >= fuzz_driver::seeds().len(),
        "the corpus holds at least the seeds ({n})"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn random_inputs_end_as_diagnostics_never_a_panic() {
    let seeds = fuzz_driver::seeds();
    // A new seed each run, so the suite explores; printed, and
    // FUZZ_SEED=<seed> replays a run exactly. FUZZ_INPUTS=<n> runs longer.
    let seed = fuzz_run::seed();
    let inputs = fuzz_run::inputs("FUZZ_INPUTS", RANDOM_INPUTS);
    eprintln!("fuzz replay: FUZZ_SEED={seed} ({inputs} inputs)");
    let mut rng = Rng::new(seed);
    for i in 0..inputs {
        let mut input = seeds[rng.below(seeds.len())].clone();
        let other = &seeds[rng.below(seeds.len())];
        for _ in 0..=rng.below(4) {
            mutate(&mut rng, &mut input, other);
        }
        // A panic here names the input, to add to the corpus and fix.
        let shown = input.clone();
        let run = tokio::spawn(async move { fuzz_driver::exercise(&input).await });
        if run.await.is_err() {
            panic!("input #{i} (FUZZ_SEED={seed}) panicked the provider: {shown:02x?}");
        }
    }
}

/// Writes the structured seeds into the corpus: `cargo test --test
/// fuzz_replay -- --ignored` after adding a resource, function or call kind.
/// Entries name their target, so existing ones keep theirs.
#[tokio::test(flavor = "current_thread")]
#[ignore]
async fn write_corpus_seeds() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (i, seed) in fuzz_driver::seeds().iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:03}")), seed).unwrap();
    }
}
