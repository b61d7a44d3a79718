//! The VHD uploader against a real Azurite: dense, sparse and all-zero images,
//! unaligned sizes, a fixed VHD given as input, an interrupted upload resumed,
//! the blob's content checked (data pages, zero padding, a valid footer),
//! and progress logged while it runs (sent, to send, skipped as zero, rate).

use std::io::Write;
use std::time::{Duration, Instant};

use azurite_blob::BlobEnv;
use rhelazure::vhd::upload::Uploader;
use rhelazure::vhd::{footer, footer_is_valid, MIB};

#[path = "support/azurite_blob.rs"]
mod azurite_blob;

/// Azurite with a `vhds` container.
fn env() -> BlobEnv {
    BlobEnv::start("vhds")
}

fn image(len: usize, data_at: &[(usize, u8)]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    let mut data = vec![0u8; len];
    for (at, byte) in data_at {
        data[*at] = *byte;
    }
    f.write_all(&data).unwrap();
    f
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(120)
}

#[test]
fn sparse_unaligned_image_sends_only_its_data() {
    let env = env();
    // 10 MiB + 123 bytes, data in three pages (one in the short last page).
    let len = 10 * MIB as usize + 123;
    let f = image(
        len,
        &[
            (0, 1),
            (3 * MIB as usize + 700, 2),
            (10 * MIB as usize + 100, 3),
        ],
    );
    let up = Uploader::new(env.http.clone());
    let r = env
        .rt
        .block_on(up.upload(f.path(), &env.target("sparse.vhd"), soon(), None))
        .unwrap();
    assert_eq!(
        r.blob_len,
        11 * MIB + 512,
        "rounded up to a whole MiB, plus the footer"
    );
    assert_eq!(
        r.uploaded_bytes,
        3 * 512 + 512,
        "three data pages and the footer"
    );
    assert_eq!(r.skipped_zero_bytes, 11 * MIB - 3 * 512);
    assert_eq!(r.resumed_bytes, 0);
    // Content: data where it was, zeros elsewhere, a valid fixed-VHD footer.
    assert_eq!(env.read("sparse.vhd", 0, 0), vec![1]);
    assert_eq!(
        env.read("sparse.vhd", 3 * MIB + 700, 3 * MIB + 700),
        vec![2]
    );
    assert_eq!(
        env.read("sparse.vhd", 10 * MIB + 100, 10 * MIB + 101),
        vec![3, 0]
    );
    assert_eq!(
        env.read("sparse.vhd", 5 * MIB, 5 * MIB + 3),
        vec![0, 0, 0, 0]
    );
    let f_bytes: [u8; 512] = env
        .read("sparse.vhd", 11 * MIB, 11 * MIB + 511)
        .try_into()
        .unwrap();
    assert!(footer_is_valid(&f_bytes));
    assert_eq!(
        u64::from_be_bytes(f_bytes[48..56].try_into().unwrap()),
        11 * MIB
    );
}

#[test]
fn dense_zero_and_vhd_inputs() {
    let env = env();
    let up = Uploader::new(env.http.clone());
    let dense_bytes: Vec<u8> = (0..2 * MIB as usize).map(|i| (i % 251) as u8 + 1).collect();
    let mut dense = tempfile::NamedTempFile::new().unwrap();
    dense.write_all(&dense_bytes).unwrap();
    let r = env
        .rt
        .block_on(up.upload(dense.path(), &env.target("dense.vhd"), soon(), None))
        .unwrap();
    assert_eq!(r.uploaded_bytes, 2 * MIB + 512);
    assert_eq!(
        env.read("dense.vhd", MIB, MIB + 9),
        dense_bytes[MIB as usize..MIB as usize + 10].to_vec()
    );

    let zero = image(4 * MIB as usize, &[]);
    let r = env
        .rt
        .block_on(up.upload(zero.path(), &env.target("zero.vhd"), soon(), None))
        .unwrap();
    assert_eq!(
        (r.uploaded_bytes, r.skipped_zero_bytes),
        (512, 4 * MIB),
        "only the footer"
    );

    // A fixed VHD as input: its own footer is not data; a new one is written.
    let mut vhd = vec![0u8; MIB as usize];
    vhd[42] = 7;
    vhd.extend_from_slice(&footer(MIB, [9; 16], std::time::SystemTime::now()));
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(&vhd).unwrap();
    let r = env
        .rt
        .block_on(up.upload(f.path(), &env.target("given.vhd"), soon(), None))
        .unwrap();
    assert_eq!((r.blob_len, r.uploaded_bytes), (MIB + 512, 512 + 512));
}

#[test]
fn an_interrupted_upload_resumes() {
    let env = env();
    let f = image(
        8 * MIB as usize,
        &[
            (0, 1),
            (2 * MIB as usize, 2),
            (5 * MIB as usize, 3),
            (7 * MIB as usize, 4),
        ],
    );
    let up = Uploader::new(env.http.clone());
    let first = env
        .rt
        .block_on(up.upload(f.path(), &env.target("resume.vhd"), soon(), None))
        .unwrap();
    // Simulate an interruption: clear two of the four data pages, as if they were never written.
    for at in [2 * MIB, 7 * MIB] {
        let url = format!("{}?comp=page&{}", env.blob_url("resume.vhd"), env.sas);
        let range = format!("bytes={at}-{}", at + 511);
        let headers = [
            ("x-ms-page-write", "clear"),
            ("x-ms-range", range.as_str()),
            ("content-length", "0"),
        ];
        assert_eq!(env.send(reqwest::Method::PUT, url, &headers).0, 201);
    }
    // Resumed as apply does after a plan: the hash is known, not recomputed.
    let again = env
        .rt
        .block_on(up.upload(
            f.path(),
            &env.target("resume.vhd"),
            soon(),
            Some(&first.sha256),
        ))
        .unwrap();
    assert_eq!(again.sha256, first.sha256);
    assert_eq!(
        again.resumed_bytes,
        2 * 512,
        "the two pages still there are not sent again"
    );
    assert_eq!(
        again.uploaded_bytes,
        2 * 512 + 512,
        "only the missing pages (and the footer)"
    );
    assert_eq!(env.read("resume.vhd", 7 * MIB, 7 * MIB), vec![4]);

    // A different file to the same blob starts over.
    let other = image(8 * MIB as usize, &[(MIB as usize, 9)]);
    let r = env
        .rt
        .block_on(up.upload(other.path(), &env.target("resume.vhd"), soon(), None))
        .unwrap();
    assert_eq!((r.resumed_bytes, r.uploaded_bytes), (0, 1024));
    assert_eq!(
        env.read("resume.vhd", 0, 0),
        vec![0],
        "the old data is gone"
    );
}

#[test]
fn formats_azure_cannot_use_are_refused_with_the_fix() {
    let env = env();
    let mut q = tempfile::NamedTempFile::new().unwrap();
    q.write_all(b"QFI\xfb\0\0\0\x03 a qcow2 image").unwrap();
    let err = env
        .rt
        .block_on(Uploader::new(env.http.clone()).upload(
            q.path(),
            &env.target("q.vhd"),
            soon(),
            None,
        ))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("qcow2") && err.contains("qemu-img convert"),
        "{err}"
    );
}

/// Collects the uploader's log events (target `rhelazure.vhd`), fields as text.
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<std::collections::BTreeMap<String, String>>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, e: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Fields(std::collections::BTreeMap<String, String>);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0.insert(f.name().to_string(), format!("{v:?}"));
            }
        }
        if e.metadata().target() == "rhelazure.vhd" {
            let mut fields = Fields(Default::default());
            e.record(&mut fields);
            self.0.lock().unwrap().push(fields.0);
        }
    }
}

#[test]
fn progress_is_logged_while_uploading() {
    use tracing_subscriber::layer::SubscriberExt;
    let shared = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(Capture(shared.clone())),
    )
    .expect("the only test here that installs a subscriber");
    let env = env();
    // 32 MiB, the first 16 MiB data: 16 MiB to send, 16 MiB skipped as zero.
    let mut bytes = vec![0u8; 32 * MIB as usize];
    for (i, b) in bytes[..16 * MIB as usize].iter_mut().enumerate() {
        *b = (i % 253) as u8 + 1;
    }
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(&bytes).unwrap();
    let mut up = Uploader::new(env.http.clone());
    up.parallelism = 1;
    up.progress_every = Duration::from_millis(5);
    env.rt
        .block_on(up.upload(f.path(), &env.target("progress.vhd"), soon(), None))
        .unwrap();
    let events = shared.lock().unwrap().clone();
    let mine: Vec<_> = events
        .iter()
        .filter(|e| e.get("blob").is_some_and(|b| b.contains("progress.vhd")))
        .collect();
    let progress: Vec<_> = mine
        .iter()
        .filter(|e| e["message"] == "uploading")
        .collect();
    assert!(!progress.is_empty(), "no progress line in {mine:?}");
    let (mut last, mut last_read) = (0u64, 0u64);
    for p in &progress {
        // The single pass reports how far it read the file, and what it skipped.
        assert_eq!(p["to_read_bytes"], (32 * MIB).to_string(), "{p:?}");
        let read: u64 = p["read_bytes"].parse().unwrap();
        let skipped: u64 = p["skipped_zero_bytes"].parse().unwrap();
        assert!(read >= last_read && read <= 32 * MIB, "{p:?}");
        assert!(skipped == read.saturating_sub(16 * MIB), "{p:?}");
        last_read = read;
        let sent: u64 = p["sent_bytes"].parse().unwrap();
        assert!(sent >= last && sent <= 16 * MIB, "{p:?}");
        last = sent;
        assert!(
            p.contains_key("rate_mib_s") && p.contains_key("percent"),
            "{p:?}"
        );
    }
    let done = mine.last().unwrap();
    assert_eq!(done["message"], "upload complete");
    // The progress task ends with the upload (other tests' uploads may go on logging).
    std::thread::sleep(Duration::from_millis(50));
    let mine_now = shared
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.get("blob").is_some_and(|b| b.contains("progress.vhd")))
        .count();
    assert_eq!(
        mine_now,
        mine.len(),
        "progress lines after the upload ended"
    );
}

#[test]
fn a_file_with_holes_and_a_known_hash_uploads_the_same_blob() {
    use std::io::{Seek, SeekFrom};
    let env = env();
    // 20 MiB + 300 bytes with holes (only what is written takes disk space):
    // data in the middle of a MiB, across a page boundary, and in the short
    // last page.
    let mut f = tempfile::NamedTempFile::new().unwrap();
    let len = 20 * MIB + 300;
    f.as_file().set_len(len).unwrap();
    for (at, bytes) in [
        (6 * MIB + 1000, vec![5u8; 100]),
        (13 * MIB + 500, vec![6u8; 600]),
        (20 * MIB + 10, vec![7u8; 5]),
    ] {
        f.as_file_mut().seek(SeekFrom::Start(at)).unwrap();
        f.write_all(&bytes).unwrap();
    }
    // The footer's time stamp is the file's modification time, not the
    // clock's: uploads at different times make the same blob.
    let modified = std::time::UNIX_EPOCH + Duration::from_secs(1_577_836_800);
    f.as_file().set_modified(modified).unwrap();
    f.as_file().sync_all().unwrap();
    let up = Uploader::new(env.http.clone());
    let hashed = env
        .rt
        .block_on(up.upload(f.path(), &env.target("hashed.vhd"), soon(), None))
        .unwrap();
    let known = env
        .rt
        .block_on(up.upload(
            f.path(),
            &env.target("known.vhd"),
            soon(),
            Some(&hashed.sha256),
        ))
        .unwrap();
    assert_eq!(known, hashed, "the same report");
    assert_eq!(
        hashed.uploaded_bytes,
        6 * 512 + 512,
        "six data pages and the footer"
    );
    let whole = hashed.blob_len - 1;
    let (known, hashed) = (
        env.read("known.vhd", 0, whole),
        env.read("hashed.vhd", 0, whole),
    );
    // Compared here, not with assert_eq!, which would print 21 MiB.
    let first_difference = known.iter().zip(&hashed).position(|(a, b)| a != b);
    assert_eq!(
        (known.len(), first_difference),
        (hashed.len(), None),
        "the same blob, footer included"
    );
    let stamp = u32::from_be_bytes(known[known.len() - 512 + 24..][..4].try_into().unwrap());
    assert_eq!(stamp, 1_577_836_800 - 946_684_800, "2020-01-01 in VHD time");
}
