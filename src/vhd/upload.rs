//! The sparse, parallel, resumable page-blob uploader.
//!
//! Only non-zero 512-byte pages are sent (a 30 GiB image holding 2 GiB of
//! data sends about 2 GiB), several ranges are in flight at once with memory
//! bounded by about `2 x parallelism x 4 MiB`, each range is retried on its
//! own, and an upload of the same file to the same blob resumes: the pages
//! Azure already holds (`GetPageRanges`) are not sent again. At the end the
//! blob's page ranges are compared with the file's non-zero pages.
//!
//! The file is read once: one sequential pass hashes it (SHA-256, the
//! report's and the footer's identity), finds its non-zero pages and hands
//! them to the uploads as it goes. So the full hash is known only at the end,
//! and the identity that makes resuming safe is a cheaper one known at the
//! start, the file's fingerprint ([`fingerprint`]: its size, modification
//! time, inode and device, and a sample of its content), which the blob
//! carries in its metadata from its creation; the full SHA-256 joins it
//! there when the upload completes.
//!
//! When the caller already holds the file's SHA-256 (Terraform's plan hashed
//! it, recorded against the same file identity), the pass does not hash
//! again, and so need not read the file's holes either: it asks the file
//! system where the data is (`SEEK_DATA`) and reads only that. A sparse
//! 8 GiB image with 800 MiB of data is then an 800 MiB read, not 8 GiB of
//! reading and hashing.
//!
//! Blob calls authenticate with a SAS (from ARM's `listServiceSas` /
//! `listAccountSas`), so the same code works against Azure and Azurite.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{footer, inspect, DiskImage, VhdError, SECTOR};
use crate::arm::policy::{backoff, retry_hint_from, retryable_status};

/// Largest page write the Blob service accepts.
pub const MAX_PAGE_WRITE: u64 = 4 << 20;
pub const BLOB_API_VERSION: &str = "2024-08-04";
const META_SHA: &str = "x-ms-meta-rhelazuresha256";
/// The identity of the file an upload (complete or not) came from.
const META_FINGERPRINT: &str = "x-ms-meta-rhelazurefingerprint";
/// Reads of the single pass: one page write's worth, so a chunk's data never
/// needs more than one request.
const CHUNK: usize = MAX_PAGE_WRITE as usize;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    Image(#[from] VhdError),
    #[error("{what}: {status} {message}")]
    Blob {
        what: String,
        status: u16,
        message: String,
    },
    #[error("{what} failed: {message}")]
    Transport { what: String, message: String },
    #[error("the upload to {blob} did not finish within the timeout")]
    Timeout { blob: String },
    #[error("after the upload, {blob} lacks {missing} bytes of data the file has; run apply again to resume")]
    Incomplete { blob: String, missing: u64 },
    #[error("{path} changed while it was uploaded; run apply again once it no longer changes")]
    FileChanged { path: String },
}

/// Where to upload: `https://account.blob.core.windows.net/container/name.vhd` and a SAS.
#[derive(Clone)]
pub struct Target {
    pub blob_url: String,
    /// The SAS query string, without the leading `?`.
    pub sas: String,
}

/// The blob, never the SAS (a credential).
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("blob_url", &self.blob_url)
            .field("sas", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// SHA-256 of the source file (hex).
    pub sha256: String,
    /// Bytes sent in this run.
    pub uploaded_bytes: u64,
    /// Zero bytes never sent.
    pub skipped_zero_bytes: u64,
    /// Data bytes already present from an earlier, interrupted run.
    pub resumed_bytes: u64,
    /// The page blob's size (virtual disk + footer).
    pub blob_len: u64,
}

pub struct Uploader {
    http: reqwest::Client,
    pub parallelism: usize,
    /// How often an "uploading" progress line is logged (also while retries stall).
    pub progress_every: Duration,
}

/// Inclusive-exclusive byte ranges, sorted and merged.
type Ranges = Vec<(u64, u64)>;

fn merge(mut r: Ranges) -> Ranges {
    r.sort();
    let mut out: Ranges = Vec::with_capacity(r.len());
    for (a, b) in r {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The parts of `want` not covered by `have` (both merged).
fn subtract(want: &Ranges, have: &Ranges) -> Ranges {
    let mut out = Vec::new();
    for &(mut a, b) in want {
        for &(h0, h1) in have {
            if h1 <= a || h0 >= b {
                continue;
            }
            if h0 > a {
                out.push((a, h0));
            }
            a = a.max(h1);
            if a >= b {
                break;
            }
        }
        if a < b {
            out.push((a, b));
        }
    }
    out
}

fn total(r: &Ranges) -> u64 {
    r.iter().map(|(a, b)| b - a).sum()
}

/// The non-zero 512-byte pages of `buf`, which holds the file from `offset`,
/// up to the data part's end `data_len`, as merged ranges (a short last page
/// is padded to a whole one: pages are written whole).
fn non_zero_pages(buf: &[u8], offset: u64, data_len: u64, out: &mut Ranges) {
    for (i, page) in buf.chunks(SECTOR as usize).enumerate() {
        let start = offset + i as u64 * SECTOR;
        if start >= data_len {
            break;
        }
        // OR-folding the whole page (no early exit) vectorizes; a zero page
        // has to be read to its end anyway.
        if page.iter().fold(0u8, |acc, b| acc | b) != 0 {
            let end = (start + SECTOR).min(data_len).div_ceil(SECTOR) * SECTOR;
            match out.last_mut() {
                Some(last) if last.1 == start => last.1 = end,
                _ => out.push((start, end)),
            }
        }
    }
}

/// The page writes a fresh upload of `path` with a known SHA-256 makes (its
/// non-zero pages, at most one write per 4 MiB chunk read), for benchmarks
/// that replay them without the file.
pub fn page_writes(path: &Path) -> Result<Vec<(u64, u64)>, VhdError> {
    let data_len = inspect(path)?.data_len;
    let io = |e| VhdError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let (mut out, mut buf, mut offset) = (Vec::new(), vec![0u8; CHUNK], 0u64);
    // As a pass that need not hash (apply after a plan): holes unread.
    while let Some((start, end)) = next_data(&f, offset, data_len) {
        f.seek(SeekFrom::Start(start)).map_err(io)?;
        let n = read_full(&mut f, &mut buf[..(end - start) as usize]).map_err(io)?;
        if n == 0 {
            break;
        }
        // Per read: a write never spans two.
        let mut here = Vec::new();
        non_zero_pages(&buf[..n], start, data_len, &mut here);
        out.extend(here);
        offset = start + n as u64;
    }
    Ok(out)
}

/// What identifies the file for a resumed upload, without reading it all:
/// SHA-256 of its size, modification time (ns), inode and device, and 16
/// samples of 4 KiB spread over it. Any rewrite moves the modification time
/// or (a replaced file) the inode; the samples also catch a rewrite that
/// restored the time (`cp -p`, `touch -r`) in place, where most of the data
/// changed. Only the complete hash would catch every such case, and it needs
/// the whole file, which the single pass reads only once, while uploading.
pub fn fingerprint(path: &Path) -> Result<String, VhdError> {
    use std::os::unix::fs::MetadataExt;
    let io = |e| VhdError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let m = f.metadata().map_err(io)?;
    let mut sha = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    sha.update(
        format!(
            "{}:{}.{}:{}:{}",
            m.len(),
            m.mtime(),
            m.mtime_nsec(),
            m.ino(),
            m.dev()
        )
        .as_bytes(),
    );
    let mut sample = vec![0u8; 4096];
    for i in 0..16u64 {
        f.seek(SeekFrom::Start(m.len() / 16 * i)).map_err(io)?;
        let n = read_full(&mut f, &mut sample).map_err(io)?;
        sha.update(&sample[..n]);
    }
    Ok(hex(sha.finish().as_ref()))
}

/// Lower-case hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Fills `buf` as far as the file goes (reads may return less).
fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let r = f.read(&mut buf[n..])?;
        if r == 0 {
            break;
        }
        n += r;
    }
    Ok(n)
}

/// How far the pass has gone: bytes of the data part read, and of those,
/// zero bytes skipped.
#[derive(Default)]
struct PassProgress {
    read: AtomicU64,
    zero: AtomicU64,
}

/// Page data to write: the file's bytes at `start`.
struct Piece {
    start: u64,
    bytes: bytes::Bytes,
}

/// The next stretch of the file's data at or after `offset` that one read
/// takes: from where the data starts (rounded down to a page) to where the
/// next hole starts (rounded up to a page), at most one chunk, and within
/// the data part. `None` when nothing but holes follow. A file system that
/// does not track holes calls the whole file data, so nothing is skipped
/// there. Moves the file's position (`lseek`): seek before reading.
/// Reading only up to the hole matters for images whose data is
/// spread thin: a chunk read from each data start would read, and scan,
/// the holes after it as zeros (about 4 MiB per 1 MiB of data).
fn next_data(f: &std::fs::File, offset: u64, data_len: u64) -> Option<(u64, u64)> {
    use rustix::fs::{seek, SeekFrom as Whence};
    let start = match seek(f, Whence::Data(offset)) {
        Ok(d) => (d / SECTOR * SECTOR).max(offset),
        Err(rustix::io::Errno::NXIO) => return None,
        Err(_) => offset,
    };
    if start >= data_len {
        return None;
    }
    let chunk_end = start + CHUNK as u64;
    let end = match seek(f, Whence::Hole(start)) {
        // A hole right at `start` would contradict SEEK_DATA (the file
        // changed between the two calls): read a chunk as if no holes.
        Ok(h) if h > start => (h.div_ceil(SECTOR) * SECTOR).min(chunk_end),
        _ => chunk_end,
    };
    Some((start, end.min(data_len)))
}

/// The single pass over the file: hashes it (when `hash`), finds its
/// non-zero pages and sends those the blob lacks (`present` lacks them) to
/// `pieces` as it goes. Returns every non-zero page range and the SHA-256
/// (`None` when not hashing). A pass that does not hash skips the file's
/// holes unread. Stops early, without an error, when the receiving side has
/// gone (an upload failed).
fn read_pass(
    path: &Path,
    data_len: u64,
    present: &Ranges,
    pieces: tokio::sync::mpsc::Sender<Piece>,
    progress: &PassProgress,
    hash: bool,
) -> Result<(Ranges, Option<String>), VhdError> {
    let io = |e| VhdError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut sha = hash.then(|| aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256));
    let mut data: Ranges = Vec::new();
    let mut offset = 0u64;
    loop {
        let mut want = CHUNK;
        if !hash {
            // Holes read as zeros: only a hash needs them read.
            let (next, end) = next_data(&f, offset, data_len).unwrap_or((data_len, data_len));
            if next > offset {
                progress.zero.fetch_add(next - offset, Ordering::Relaxed);
                offset = next;
                progress.read.store(offset, Ordering::Relaxed);
            }
            if offset >= data_len {
                break;
            }
            // Always: asking where the hole is moved the file's position.
            f.seek(SeekFrom::Start(offset)).map_err(io)?;
            want = (end - offset) as usize;
        }
        // A fresh buffer per read: its pieces are shared slices of it,
        // freed once their writes are done.
        let mut buf = vec![0u8; want];
        let n = read_full(&mut f, &mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        buf.truncate(n);
        if let Some(sha) = sha.as_mut() {
            sha.update(&buf);
        }
        let mut here = Vec::new();
        non_zero_pages(&buf, offset, data_len, &mut here);
        let chunk = bytes::Bytes::from(buf);
        for (a, b) in subtract(&here, present) {
            // A short last page is padded: the slice is taken up to the file's
            // end and the rest sent as zeros.
            let from = (a - offset) as usize;
            let to = ((b - offset) as usize).min(chunk.len());
            let mut bytes = chunk.slice(from..to);
            if to - from < (b - a) as usize {
                let mut padded = bytes.to_vec();
                padded.resize((b - a) as usize, 0);
                bytes = padded.into();
            }
            if pieces.blocking_send(Piece { start: a, bytes }).is_err() {
                return Ok((merge(data), None));
            }
        }
        let data_here = total(&here);
        data.extend(here);
        offset += n as u64;
        progress.read.store(offset.min(data_len), Ordering::Relaxed);
        progress.zero.fetch_add(
            (n as u64)
                .min(data_len.saturating_sub(offset - n as u64))
                .saturating_sub(data_here),
            Ordering::Relaxed,
        );
    }
    Ok((merge(data), sha.map(|sha| hex(sha.finish().as_ref()))))
}

/// `<PageRange><Start>a</Start><End>b</End></PageRange>` pairs of a page list.
/// (A tiny, fixed XML shape: a general XML parser would only add weight.)
fn parse_page_list(xml: &str) -> (Ranges, Option<String>) {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<PageRange>") {
        rest = &rest[i + 11..];
        let num = |tag: &str, s: &str| -> Option<u64> {
            let open = format!("<{tag}>");
            let a = s.find(&open)? + open.len();
            let b = s[a..].find('<')? + a;
            s[a..b].trim().parse().ok()
        };
        if let (Some(a), Some(b)) = (num("Start", rest), num("End", rest)) {
            out.push((a, b + 1));
        }
    }
    let marker = xml.find("<NextMarker>").and_then(|i| {
        let s = &xml[i + 12..];
        let e = s.find('<')?;
        Some(s[..e].to_string()).filter(|m| !m.is_empty())
    });
    (out, marker)
}

impl Uploader {
    pub fn new(http: reqwest::Client) -> Uploader {
        Uploader {
            http,
            parallelism: 8,
            progress_every: Duration::from_secs(10),
        }
    }

    fn url(t: &Target, extra: &str) -> String {
        let sep = if extra.is_empty() { "" } else { "&" };
        format!("{}?{extra}{sep}{}", t.blob_url, t.sas)
    }

    /// One blob call with the usual retry rules, bounded by `deadline`.
    async fn send(
        &self,
        what: &str,
        deadline: Instant,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(u16, reqwest::header::HeaderMap, String), UploadError> {
        let mut attempt = 0;
        loop {
            let res = build()
                .header("x-ms-version", BLOB_API_VERSION)
                .send()
                .await;
            let wait = match res {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let headers = r.headers().clone();
                    let text = r.text().await.unwrap_or_default();
                    if !retryable_status(status) {
                        return Ok((status, headers, text));
                    }
                    retry_hint_from(
                        |n| headers.get(n).and_then(|v| v.to_str().ok()),
                        text.as_bytes(),
                    )
                    .unwrap_or_else(|| backoff(attempt))
                }
                Err(e) => {
                    let wait = backoff(attempt);
                    if Instant::now() + wait >= deadline {
                        return Err(UploadError::Transport {
                            what: what.into(),
                            message: e.without_url().to_string(),
                        });
                    }
                    wait
                }
            };
            if Instant::now() + wait >= deadline {
                return Err(UploadError::Timeout { blob: what.into() });
            }
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn page_ranges(&self, t: &Target, deadline: Instant) -> Result<Ranges, UploadError> {
        let mut all = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let extra = match &marker {
                Some(m) => format!("comp=pagelist&marker={m}"),
                None => "comp=pagelist".into(),
            };
            let url = Self::url(t, &extra);
            let (status, _, text) = self
                .send("GetPageRanges", deadline, || self.http.get(&url))
                .await?;
            if status != 200 {
                return Err(UploadError::Blob {
                    what: "GetPageRanges".into(),
                    status,
                    message: text.chars().take(300).collect(),
                });
            }
            let (r, next) = parse_page_list(&text);
            all.extend(r);
            match next {
                Some(m) => marker = Some(m),
                None => return Ok(merge(all)),
            }
        }
    }

    /// Uploads `path` (raw or fixed VHD) as a fixed-VHD page blob, reading
    /// the file once. `known_sha256` is the file's SHA-256 when the caller
    /// already computed it from this same file version (the plan's, while
    /// the file's identity is unchanged): the upload then neither hashes the
    /// file again nor reads its holes.
    pub async fn upload(
        &self,
        path: &Path,
        target: &Target,
        deadline: Instant,
        known_sha256: Option<&str>,
    ) -> Result<Report, UploadError> {
        let image: DiskImage = inspect(path)?;
        let blob_len = image.blob_len();
        let blocking = |what: &'static str, e: tokio::task::JoinError| UploadError::Transport {
            what: what.into(),
            message: e.to_string(),
        };
        let p = PathBuf::from(path);
        let fingerprint = tokio::task::spawn_blocking(move || fingerprint(&p))
            .await
            .map_err(|e| blocking("reading the image", e))??;

        // Resume only an upload of the same file into the same-sized blob.
        let head_url = Self::url(target, "");
        let (status, headers, _) = self
            .send("GetBlobProperties", deadline, || self.http.head(&head_url))
            .await?;
        let same = status == 200
            && headers.get(META_FINGERPRINT).and_then(|v| v.to_str().ok())
                == Some(fingerprint.as_str())
            && headers
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                == Some(blob_len);
        let present = if same {
            self.page_ranges(target, deadline).await?
        } else {
            let url = Self::url(target, "");
            let (status, _, text) = self
                .send("CreatePageBlob", deadline, || {
                    self.http
                        .put(&url)
                        .header("x-ms-blob-type", "PageBlob")
                        .header("x-ms-blob-content-length", blob_len.to_string())
                        .header(META_FINGERPRINT, fingerprint.as_str())
                        .header("content-length", "0")
                })
                .await?;
            if status != 201 {
                return Err(UploadError::Blob {
                    what: format!("creating the page blob {}", target.blob_url),
                    status,
                    message: text.chars().take(500).collect(),
                });
            }
            Vec::new()
        };
        let already = total(&present);

        let sent = Arc::new(AtomicU64::new(0));
        let pass = Arc::new(PassProgress::default());
        let started = Instant::now();
        // Progress from its own task, so a stall (retries, a slow service) is reported too.
        let progress = {
            let (sent, pass, blob, every) = (
                sent.clone(),
                pass.clone(),
                target.blob_url.clone(),
                self.progress_every,
            );
            let to_read = image.data_len;
            tokio::spawn(async move {
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                loop {
                    tick.tick().await;
                    let s = sent.load(Ordering::Relaxed);
                    let read = pass.read.load(Ordering::Relaxed);
                    tracing::info!(
                        target: "rhelazure.vhd", blob = %blob, sent_bytes = s, read_bytes = read, to_read_bytes = to_read,
                        skipped_zero_bytes = pass.zero.load(Ordering::Relaxed), resumed_bytes = already,
                        percent = (read * 100).checked_div(to_read).unwrap_or(100),
                        rate_mib_s = s as f64 / 1048576.0 / started.elapsed().as_secs_f64().max(0.001),
                        "uploading"
                    );
                }
            })
        };
        let _stop_progress = AbortOnDrop(progress);

        // The pass reads ahead of the writes by at most `parallelism` pieces.
        let parallelism = self.parallelism.max(1);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Piece>(parallelism);
        let (p, data_len) = (PathBuf::from(path), image.data_len);
        let (held, pass_progress) = (present.clone(), pass.clone());
        let hash = known_sha256.is_none();
        let reader = tokio::task::spawn_blocking(move || {
            read_pass(&p, data_len, &held, tx, &pass_progress, hash)
        });
        let sem = Arc::new(tokio::sync::Semaphore::new(parallelism));
        let mut tasks = tokio::task::JoinSet::new();
        let url = Self::url(target, "comp=page");
        let mut failed = None;
        while let Some(piece) = rx.recv().await {
            let permit = sem.clone().acquire_owned().await.expect("semaphore open");
            let (this, url, sent, blob) = (
                Uploader {
                    http: self.http.clone(),
                    parallelism: 1,
                    progress_every: self.progress_every,
                },
                url.clone(),
                sent.clone(),
                target.blob_url.clone(),
            );
            tasks.spawn(async move {
                let _permit = permit;
                let (a, len) = (piece.start, piece.bytes.len() as u64);
                let b = a + len;
                let (status, _, text) = this
                    .send(&format!("PutPage {a}-{}", b - 1), deadline, || {
                        // Bytes are shared: a retry re-sends without a copy.
                        this.http
                            .put(&url)
                            .header("x-ms-page-write", "update")
                            .header("x-ms-range", format!("bytes={a}-{}", b - 1))
                            .body(piece.bytes.clone())
                    })
                    .await?;
                if status != 201 {
                    return Err(UploadError::Blob {
                        what: format!("writing pages {a}-{} of {blob}", b - 1),
                        status,
                        message: text.chars().take(300).collect(),
                    });
                }
                sent.fetch_add(len, Ordering::Relaxed);
                Ok::<(), UploadError>(())
            });
            while let Some(done) = tasks.try_join_next() {
                if let Err(e) = done.map_err(|e| blocking("upload task", e)).and_then(|r| r) {
                    failed = Some(e);
                }
            }
            if failed.is_some() {
                // Dropping the receiver stops the pass.
                break;
            }
        }
        drop(rx);
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done.map_err(|e| blocking("upload task", e)).and_then(|r| r) {
                failed.get_or_insert(e);
            }
        }
        let (data, hashed) = reader
            .await
            .map_err(|e| blocking("reading the image", e))??;
        if let Some(e) = failed {
            return Err(e);
        }
        // A pass that ran to its end hashed, unless the hash was known.
        let Some(sha256) = known_sha256.map(str::to_string).or(hashed) else {
            return Err(UploadError::Transport {
                what: "reading the image".into(),
                message: "the pass stopped before the end of the file".into(),
            });
        };
        // The pass read what the fingerprint names, or the file moved under it.
        let p = PathBuf::from(path);
        let after = tokio::task::spawn_blocking(move || self::fingerprint(&p))
            .await
            .map_err(|e| blocking("reading the image", e))??;
        if after != fingerprint {
            return Err(UploadError::FileChanged {
                path: path.display().to_string(),
            });
        }

        // The footer: always the last page.
        let mut unique = [0u8; 16];
        unique.copy_from_slice(&hex_bytes(&sha256)[..16]);
        // Stamped with the file's modification time, which the fingerprint
        // check just found unchanged: the same file makes the same blob.
        let created = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_err(|e| VhdError::Io {
                path: path.display().to_string(),
                source: e,
            })?;
        let footer = footer(image.virtual_size, unique, created).to_vec();
        let range = format!("bytes={}-{}", image.virtual_size, blob_len - 1);
        let (status, _, text) = self
            .send("PutPage footer", deadline, || {
                self.http
                    .put(&url)
                    .header("x-ms-page-write", "update")
                    .header("x-ms-range", range.clone())
                    .body(footer.clone())
            })
            .await?;
        if status != 201 {
            return Err(UploadError::Blob {
                what: "writing the VHD footer".into(),
                status,
                message: text.chars().take(300).collect(),
            });
        }

        // Verify: every non-zero page of the file is in the blob.
        let have = self.page_ranges(target, deadline).await?;
        let missing = total(&subtract(&data, &have));
        if missing > 0 {
            return Err(UploadError::Incomplete {
                blob: target.blob_url.clone(),
                missing,
            });
        }
        // Complete: the blob names the whole file's hash too.
        let meta_url = Self::url(target, "comp=metadata");
        let (status, _, text) = self
            .send("SetBlobMetadata", deadline, || {
                self.http
                    .put(&meta_url)
                    .header(META_FINGERPRINT, fingerprint.as_str())
                    .header(META_SHA, sha256.as_str())
                    .header("content-length", "0")
            })
            .await?;
        if status != 200 {
            return Err(UploadError::Blob {
                what: "recording the image's SHA-256 on the blob".into(),
                status,
                message: text.chars().take(300).collect(),
            });
        }
        let uploaded = sent.load(Ordering::Relaxed) + SECTOR;
        let report = Report {
            sha256,
            uploaded_bytes: uploaded,
            skipped_zero_bytes: image.virtual_size - total(&data),
            resumed_bytes: total(&data) - total(&subtract(&data, &present)),
            blob_len,
        };
        let sha256_from = if known_sha256.is_some() {
            "caller"
        } else {
            "read"
        };
        tracing::info!(target: "rhelazure.vhd", blob = %target.blob_url, uploaded = report.uploaded_bytes, skipped_zero = report.skipped_zero_bytes, resumed = report.resumed_bytes, sha256_from, seconds = started.elapsed().as_secs_f64(), "upload complete");
        Ok(report)
    }
}

/// Stops the progress task however the upload ends (done, error, cancelled).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn hex_bytes(h: &str) -> Vec<u8> {
    (0..h.len() / 2)
        .filter_map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_sas() {
        let t = Target {
            blob_url: "https://a.blob.core.windows.net/c/x.vhd".into(),
            sas: "sv=2024&sig=secret-signature".into(),
        };
        let shown = format!("{t:?}");
        assert!(
            shown.contains("x.vhd") && !shown.contains("secret-signature"),
            "{shown}"
        );
    }

    #[test]
    fn range_arithmetic() {
        assert_eq!(
            merge(vec![(10, 20), (0, 5), (5, 8), (19, 30)]),
            vec![(0, 8), (10, 30)]
        );
        assert_eq!(
            subtract(&vec![(0, 100)], &vec![(10, 20), (50, 60)]),
            vec![(0, 10), (20, 50), (60, 100)]
        );
        assert_eq!(subtract(&vec![(0, 10)], &vec![(0, 10)]), vec![]);
        assert_eq!(
            subtract(&vec![(0, 10), (20, 30)], &vec![(5, 25)]),
            vec![(0, 5), (25, 30)]
        );
    }

    #[test]
    fn page_lists() {
        let xml = "<?xml version=\"1.0\"?><PageList><PageRange><Start>0</Start><End>511</End></PageRange><PageRange><Start>1024</Start><End>2047</End></PageRange><NextMarker>abc</NextMarker></PageList>";
        let (r, m) = parse_page_list(xml);
        assert_eq!(r, vec![(0, 512), (1024, 2048)]);
        assert_eq!(m.as_deref(), Some("abc"));
        assert_eq!(parse_page_list("<PageList/>").0, vec![]);
    }

    #[test]
    fn the_pass_finds_only_non_zero_pages_and_sends_what_is_missing() {
        use std::io::Write;
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let mut data = vec![0u8; 8 * 1024 * 1024 + 100];
        data[0] = 1; // page 0
        data[5 * 512 + 3] = 1; // page 5
        data[8 * 1024 * 1024 + 50] = 9; // the short last page
        f.write_all(&data).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        // Page 5 is already in the blob.
        let progress = PassProgress::default();
        let (r, sha) = read_pass(
            f.path(),
            data.len() as u64,
            &vec![(2560, 3072)],
            tx,
            &progress,
            true,
        )
        .unwrap();
        assert_eq!(progress.read.load(Ordering::Relaxed), data.len() as u64);
        // Zero bytes skipped: all but the two data pages of the first chunk (the
        // short last page holds data).
        assert_eq!(
            progress.zero.load(Ordering::Relaxed),
            8 * 1024 * 1024 - 2 * 512
        );
        assert_eq!(
            r,
            vec![
                (0, 512),
                (2560, 3072),
                (8 * 1024 * 1024, 8 * 1024 * 1024 + 512)
            ]
        );
        assert_eq!(sha, Some(sha256_hex(&data)));
        let mut sent = Vec::new();
        while let Ok(p) = rx.try_recv() {
            sent.push((p.start, p.bytes.len(), p.bytes[0]));
        }
        // The short last page goes out padded to a whole page.
        assert_eq!(sent, vec![(0, 512, 1), (8 * 1024 * 1024, 512, 0)]);
    }

    fn sha256_hex(b: &[u8]) -> String {
        hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b).as_ref())
    }

    /// Everything a pass sends: (start, length, first byte).
    fn drain(rx: &mut tokio::sync::mpsc::Receiver<Piece>) -> Vec<(u64, usize, u8)> {
        let mut sent = Vec::new();
        while let Ok(p) = rx.try_recv() {
            sent.push((p.start, p.bytes.len(), p.bytes[0]));
        }
        sent
    }

    #[test]
    fn a_pass_with_a_known_hash_skips_holes_and_finds_the_same_pages() {
        use std::io::Write;
        const M: u64 = 1 << 20;
        // 64 MiB, data at 5 MiB (a page) and 40 MiB + 512 (two pages); the
        // rest is holes.
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.as_file().set_len(64 * M).unwrap();
        f.as_file_mut().seek(SeekFrom::Start(5 * M)).unwrap();
        f.write_all(&[3u8; 512]).unwrap();
        f.as_file_mut().seek(SeekFrom::Start(40 * M + 512)).unwrap();
        f.write_all(&[4u8; 1024]).unwrap();
        f.as_file().sync_all().unwrap();
        let data_len = 64 * M;
        let run = |hash: bool| {
            let (tx, mut rx) = tokio::sync::mpsc::channel(64);
            let progress = PassProgress::default();
            let (r, sha) = read_pass(f.path(), data_len, &vec![], tx, &progress, hash).unwrap();
            let read = progress.read.load(Ordering::Relaxed);
            let zero = progress.zero.load(Ordering::Relaxed);
            (r, sha, drain(&mut rx), read, zero)
        };
        let (r_hashed, sha, sent_hashed, read_h, zero_h) = run(true);
        let (r, none, sent, read, zero) = run(false);
        let want = vec![(5 * M, 5 * M + 512), (40 * M + 512, 40 * M + 1536)];
        assert_eq!((r_hashed, r), (want.clone(), want));
        assert!(sha.is_some() && none.is_none());
        assert_eq!(sent, sent_hashed);
        assert_eq!(sent, vec![(5 * M, 512, 3), (40 * M + 512, 1024, 4)]);
        // Progress ends the same whether the holes were read or skipped.
        assert_eq!((read, zero), (read_h, zero_h));
        assert_eq!((read, zero), (data_len, data_len - 1536));
        assert_eq!(
            page_writes(f.path()).unwrap(),
            vec![(5 * M, 5 * M + 512), (40 * M + 512, 40 * M + 1536)]
        );
    }

    #[test]
    fn a_read_after_a_plan_stops_where_the_hole_starts() {
        use std::io::Write;
        const M: u64 = 1 << 20;
        // 32 MiB: 1 MiB of data at 3 MiB, 6 MiB of data from 20 MiB.
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.as_file().set_len(32 * M).unwrap();
        for (at, len) in [(3 * M, M), (20 * M, 6 * M)] {
            f.as_file_mut().seek(SeekFrom::Start(at)).unwrap();
            f.write_all(&vec![9u8; len as usize]).unwrap();
        }
        f.as_file().sync_all().unwrap();
        let file = f.as_file();
        let tracks_holes = rustix::fs::seek(file, rustix::fs::SeekFrom::Hole(0)).unwrap() == 0;
        if !tracks_holes {
            eprintln!("this file system does not report holes: nothing to check");
            return;
        }
        // The 1 MiB extent is read alone, not with the 3 MiB of hole after it.
        assert_eq!(next_data(file, 0, 32 * M), Some((3 * M, 4 * M)));
        // A long extent is read a chunk at a time, the last read to its end.
        assert_eq!(next_data(file, 4 * M, 32 * M), Some((20 * M, 24 * M)));
        assert_eq!(next_data(file, 24 * M, 32 * M), Some((24 * M, 26 * M)));
        // Within the data part only; nothing after the last extent.
        assert_eq!(next_data(file, 4 * M, 22 * M), Some((20 * M, 22 * M)));
        assert_eq!(next_data(file, 26 * M, 32 * M), None);
        // An offset inside an extent (not at its start) is where the read starts.
        assert_eq!(
            next_data(file, 3 * M + 512, 32 * M),
            Some((3 * M + 512, 4 * M))
        );
    }

    #[test]
    fn the_fingerprint_follows_content_and_time() {
        use std::io::Write;
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&vec![7u8; 1 << 20]).unwrap();
        let a = fingerprint(f.path()).unwrap();
        assert_eq!(a, fingerprint(f.path()).unwrap(), "stable");
        // Rewritten in place with the modification time put back.
        let mtime = f.as_file().metadata().unwrap().modified().unwrap();
        f.as_file_mut().seek(SeekFrom::Start(0)).unwrap();
        f.write_all(&vec![8u8; 1 << 20]).unwrap();
        f.as_file().set_modified(mtime).unwrap();
        assert_ne!(
            a,
            fingerprint(f.path()).unwrap(),
            "the samples see new content"
        );
    }
}
