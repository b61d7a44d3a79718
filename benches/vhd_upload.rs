//! `make bench`, VHD upload: our uploader (`rhelazure::vhd::upload`) against
//! Microsoft's Python SDK (`azure-storage-blob` page blob upload, in
//! `.tools/bench-venv`), both to the same real Azurite, in the same run, on
//! dense and 90%-sparse images of 1 and 8 GiB. Bytes sent are read back from
//! the service (the blob's written page ranges), not from either tool.
//! Median of `BENCH_RUNS` (default 5) with min and max; the uploads take
//! turns going first. Writes benches/results/vhd-upload.md and .svg.
//! Knobs: `BENCH_RUNS`, `BENCH_VHD_GIB` (default `1,8`), `BENCH_CONCURRENCY` (8).

#[path = "../tests/support/azurite_blob.rs"]
mod azurite_blob;
#[path = "support/common.rs"]
mod common;
#[path = "support/svg.rs"]
mod svg;

use std::fmt::Write as _;
use std::io::{Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use azurite_blob::BlobEnv;
use common::{env_list, env_or, stats};
use rhelazure::vhd::upload::Uploader;
use rhelazure::vhd::MIB;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A raw image of `gib` GiB: every MiB filled with pseudo-random bytes
/// (dense), or 10% of the MiBs, spread over the disk as a filesystem spreads
/// its data (sparse; the rest is a hole in the file).
fn make_image(dir: &Path, gib: u64, sparse: bool) -> PathBuf {
    let path = dir.join(format!(
        "{gib}g-{}.raw",
        if sparse { "sparse" } else { "dense" }
    ));
    let mut f = std::fs::File::create(&path).unwrap();
    let mibs = gib * 1024;
    f.set_len(mibs * MIB).unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut block = vec![0u8; MIB as usize];
    for i in 0..mibs {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        if sparse && state % 10 != 0 {
            continue;
        }
        for (j, chunk) in block.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(
                &(state ^ (j as u64).wrapping_mul(0x2545_F491_4F6C_DD1D)).to_le_bytes(),
            );
        }
        f.seek(SeekFrom::Start(i * MIB)).unwrap();
        f.write_all(&block).unwrap();
    }
    f.sync_all().unwrap();
    path
}

/// Writes still in the page cache go to disk now, not during the next upload.
fn settle_disk() {
    let _ = std::process::Command::new("sync").status();
}

/// The file's SHA-256, read as the plan reads it (`source_sha256`).
fn sha256_of(image: &Path) -> String {
    use std::io::Read;
    let mut f = std::fs::File::open(image).unwrap();
    let mut sha = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
    }
    rhelazure::vhd::upload::hex(sha.finish().as_ref())
}

fn ours(
    env: &BlobEnv,
    image: &Path,
    name: &str,
    parallelism: usize,
    known_sha256: Option<&str>,
) -> f64 {
    let mut up = Uploader::new(env.http.clone());
    up.parallelism = parallelism;
    let target = env.target(name);
    let t = Instant::now();
    env.rt
        .block_on(up.upload(
            image,
            &target,
            Instant::now() + Duration::from_secs(3600),
            known_sha256,
        ))
        .unwrap();
    t.elapsed().as_secs_f64()
}

/// Azurite's ingest ceiling for `image`: the same page writes ours makes
/// (`page_writes`), sent from memory with `parallelism` in flight, without
/// reading, scanning or hashing any file. Seconds.
fn ceiling(env: &BlobEnv, image: &Path, name: &str, parallelism: usize) -> f64 {
    let writes = rhelazure::vhd::upload::page_writes(image).unwrap();
    let blob_len = rhelazure::vhd::inspect(image).unwrap().blob_len();
    let url = format!("{}?{}", env.blob_url(name), env.sas);
    let page_url = format!("{}?comp=page&{}", env.blob_url(name), env.sas);
    let payload = bytes::Bytes::from(vec![
        0x5a_u8;
        rhelazure::vhd::upload::MAX_PAGE_WRITE as usize
    ]);
    env.rt.block_on(async {
        let made = env
            .http
            .put(&url)
            .header("x-ms-version", rhelazure::vhd::upload::BLOB_API_VERSION)
            .header("x-ms-blob-type", "PageBlob")
            .header("x-ms-blob-content-length", blob_len.to_string())
            .header("content-length", "0")
            .send()
            .await
            .unwrap();
        assert_eq!(made.status().as_u16(), 201);
        let t = Instant::now();
        let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(parallelism));
        let mut tasks = tokio::task::JoinSet::new();
        for (a, b) in writes {
            let permit = sem.clone().acquire_owned().await.unwrap();
            let (http, url, body) = (
                env.http.clone(),
                page_url.clone(),
                payload.slice(0..(b - a) as usize),
            );
            tasks.spawn(async move {
                let _permit = permit;
                let r = http
                    .put(&url)
                    .header("x-ms-version", rhelazure::vhd::upload::BLOB_API_VERSION)
                    .header("x-ms-page-write", "update")
                    .header("x-ms-range", format!("bytes={a}-{}", b - 1))
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 201);
            });
        }
        while tasks.join_next().await.is_some() {}
        t.elapsed().as_secs_f64()
    })
}

/// Seconds of the Python SDK's upload, or None when it failed twice. A
/// failed attempt (Azurite has answered 500 during 8 GiB uploads) is retried
/// once; every failure is counted in `failures` for the report, with
/// Azurite's own error (its debug log is `target/bench-azurite.log`).
fn python(
    env: &BlobEnv,
    image: &Path,
    name: &str,
    concurrency: usize,
    failures: &mut usize,
) -> Option<f64> {
    let py = repo().join(".tools/bench-venv/bin/python");
    for attempt in 0..2 {
        let out = std::process::Command::new(&py)
            .arg(repo().join("benches/support/py_upload.py"))
            .arg(format!("{}?{}", env.blob_url(name), env.sas))
            .arg(image)
            .arg(concurrency.to_string())
            .output()
            .expect("the bench venv (scripts/install-bench-venv.sh; make bench runs it)");
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            return v["seconds"].as_f64();
        }
        *failures += 1;
        let err = String::from_utf8_lossy(&out.stderr);
        let azurite = std::fs::read_to_string(repo().join("target/bench-azurite.log"))
            .unwrap_or_default()
            .lines()
            .rev()
            .find(|l| l.contains("ErrorName=") && !l.contains("BlobNotFound"))
            .map(|l| l.chars().take(400).collect::<String>())
            .unwrap_or_default();
        eprintln!(
            "Python SDK upload failed (attempt {attempt}): {} | Azurite: {azurite}",
            err.lines()
                .rev()
                .find(|l| l.contains("Error"))
                .unwrap_or("")
        );
        env.delete(name);
    }
    None
}

/// A fresh Azurite with a `bench` container, its own debug log in
/// `target/bench-azurite.log` (quoted when a Python upload fails).
fn fresh_azurite() -> BlobEnv {
    let log = repo().join("target/bench-azurite.log");
    let _ = std::fs::remove_file(&log);
    std::env::set_var("AZURITE_DEBUG_LOG", &log);
    BlobEnv::start("bench")
}

/// Total memory (Linux `/proc/meminfo`), 0 where it cannot be read.
fn memory_gib() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let kib = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            kib.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / 1_048_576.0)
}

fn main() {
    let runs: usize = env_or("BENCH_RUNS", 5);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 8);
    let sizes: Vec<u64> = env_list("BENCH_VHD_GIB", "1,8");
    let work = tempfile::tempdir_in(repo().join("target")).unwrap();
    let mut report = String::new();
    let _ = writeln!(
        report,
        "# VHD upload: ours against Microsoft's Python SDK\n"
    );
    let _ = writeln!(
        report,
        "Both upload the same raw image as a page blob to the same Azurite (loopback, HTTP), \
         {concurrency} requests in flight each, {runs} runs, taking turns to go first, each after a `sync`. \
         Python: `azure-storage-blob` `upload_blob(blob_type=\"PageBlob\", max_concurrency={concurrency})`, \
         which skips all-zero 4 MiB chunks. Ours: non-zero 512-byte pages only, plus the 512-byte \
         fixed-VHD footer Azure needs. Bytes sent = the blob's written page ranges, read back from the service. \
         Sparse = 10% of the MiBs hold data, spread over the disk (the rest are holes in the file). \
         Ours is measured as `terraform apply` runs it: the plan has already hashed the file \
         (SHA-256, `source_sha256`, recorded against the file's identity), so the upload trusts \
         that hash and reads only where the file system says data is (`SEEK_DATA`). The plan's \
         hash is timed on its own (one pass, once per file version; later plans reuse it), and so \
         is our upload without it (hashing every byte, holes included, as it reads: what an apply \
         costs when no plan record matches the file). The Azurite ceiling is the same \
         page writes as ours, sent from memory with the same concurrency and no file at all: \
         Azurite's own ingest limit for that image, measured in the same run; the share is our data \
         throughput as a fraction of it.\n"
    );
    // Azurite keeps blobs on disk, so its ceiling (and every time here)
    // follows the machine's disk as much as its CPUs.
    let _ = writeln!(
        report,
        "Machine: {} cores, {:.0} GiB of memory; Azurite stores the blobs on local disk.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_gib()
    );
    let _ = writeln!(
        report,
        "| image | ours s | Python SDK s | speed-up | Azurite ceiling s | ours, share of the ceiling | ours without the plan's hash s | the plan's SHA-256 s | ours MiB sent | Python MiB sent | Python attempts failed (retried) |"
    );
    let _ = writeln!(report, "|---|---|---|---|---|---|---|---|---|---|---|");
    let mut chart = Vec::new();
    for &gib in &sizes {
        for sparse in [false, true] {
            let image = make_image(work.path(), gib, sparse);

            let label = format!("{gib} GiB {}", if sparse { "90% sparse" } else { "dense" });
            let (mut o, mut p, mut c) = (Vec::new(), Vec::new(), Vec::new());
            let (mut unhashed, mut planned) = (Vec::new(), Vec::new());
            let (mut o_sent, mut p_sent) = (0, 0);
            let mut failures = 0;
            for run in 0..runs {
                // A fresh Azurite per run: it keeps deleted blobs' data on disk
                // (8 GiB runs filled a 90 GB disk with one instance).
                let env = fresh_azurite();
                let (on, pn, cn) = (
                    format!("ours-{run}.vhd"),
                    format!("py-{run}.vhd"),
                    format!("ceiling-{run}.vhd"),
                );
                // The plan's hash, as `terraform plan` computes it.
                let t = Instant::now();
                let sha256 = sha256_of(&image);
                planned.push(t.elapsed().as_secs_f64());
                let hn = format!("hashing-{run}.vhd");
                // The four uploads take turns going first (a fresh service
                // and an idle disk favour the first), and each starts with
                // the previous one's writes flushed to disk.
                for turn in 0..4 {
                    settle_disk();
                    match (turn + run) % 4 {
                        0 => {
                            c.push(ceiling(&env, &image, &cn, concurrency));
                            env.delete(&cn);
                        }
                        1 => {
                            unhashed.push(ours(&env, &image, &hn, concurrency, None));
                            env.delete(&hn);
                        }
                        2 => o.push(ours(&env, &image, &on, concurrency, Some(&sha256))),
                        _ => p.extend(python(&env, &image, &pn, concurrency, &mut failures)),
                    }
                }
                o_sent = env.written_bytes(&on);
                p_sent = p_sent.max(env.written_bytes(&pn));
                env.delete(&on);
                env.delete(&pn);
            }
            let common::Stats {
                median: om,
                min: omin,
                max: omax,
            } = stats(o);
            let common::Stats {
                median: cm,
                min: cmin,
                max: cmax,
            } = stats(c);
            let (u, h) = (stats(unhashed), stats(planned));
            let ceiling_cells = format!(
                "{cm:.2} ({cmin:.2}–{cmax:.2}) | {:.0}% | {:.2} ({:.2}–{:.2}) | {:.2} ({:.2}–{:.2})",
                cm / om * 100.0,
                u.median,
                u.min,
                u.max,
                h.median,
                h.min,
                h.max
            );
            if p.is_empty() {
                let _ = writeln!(
                    report,
                    "| {label} | {om:.2} ({omin:.2}–{omax:.2}) | every attempt failed | – | {ceiling_cells} | {} | – | {failures} |",
                    o_sent / MIB
                );
                std::fs::remove_file(&image).unwrap();
                continue;
            }
            let common::Stats {
                median: pm,
                min: pmin,
                max: pmax,
            } = stats(p);
            let _ = writeln!(
                report,
                "| {label} | {om:.2} ({omin:.2}–{omax:.2}) | {pm:.2} ({pmin:.2}–{pmax:.2}) | {:.2}× | {ceiling_cells} | {} | {} | {failures} |",
                pm / om,
                o_sent / MIB,
                p_sent / MIB
            );
            chart.push((label.clone(), vec![pm, u.median, om, cm]));
            eprintln!("{label} done");
            std::fs::remove_file(&image).unwrap();
        }
    }
    let out = repo().join("benches/results");
    std::fs::write(
        out.join("vhd-upload.svg"),
        svg::bar_chart(
            "VHD upload to Azurite (median seconds)",
            "s",
            &[
                "Python azure-storage-blob",
                "rhelazure, hashing as it reads",
                "rhelazure, hash from the plan (apply)",
                "Azurite ceiling (no file)",
            ],
            &chart,
        ),
    )
    .unwrap();
    let _ = writeln!(report, "\n![upload times](vhd-upload.svg)");
    std::fs::write(out.join("vhd-upload.md"), &report).unwrap();
    println!("{report}");
}
