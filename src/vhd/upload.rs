//! The sparse, parallel, resumable page-blob uploader.
//!
//! Only non-zero 512-byte pages are sent (a 30 GiB image holding 2 GiB of
//! data sends about 2 GiB), several ranges are in flight at once with memory
//! bounded by `parallelism x 4 MiB`, each range is retried on its own, and an
//! upload of the same file to the same blob resumes: the blob carries the
//! file's SHA-256 in its metadata, and the pages Azure already holds
//! (`GetPageRanges`) are not sent again. At the end the blob's page ranges are
//! compared with the file's non-zero pages.
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

/// Non-zero 512-byte pages of the file's data part, as ranges no longer than
/// [`MAX_PAGE_WRITE`], plus the file's SHA-256. Reads the file once.
fn scan(path: &Path, data_len: u64) -> Result<(Ranges, String), VhdError> {
    let p = path.display().to_string();
    let io = |e| VhdError::Io {
        path: p.clone(),
        source: e,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut sha = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    let mut ranges: Ranges = Vec::new();
    let mut offset = 0u64;
    loop {
        // Fill the buffer (reads may return less), so pages stay 512-aligned.
        let mut n = 0;
        while n < buf.len() {
            let r = f.read(&mut buf[n..]).map_err(io)?;
            if r == 0 {
                break;
            }
            n += r;
        }
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        for (i, page) in buf[..n].chunks(SECTOR as usize).enumerate() {
            let start = offset + i as u64 * SECTOR;
            if start >= data_len {
                break;
            }
            // OR-folding the whole page (no early exit) vectorizes; a zero
            // page has to be read to its end anyway.
            if page.iter().fold(0u8, |acc, b| acc | b) != 0 {
                let end = (start + SECTOR).min(data_len);
                // Pages are written whole: a short last page is padded with zeros.
                let end = end.div_ceil(SECTOR) * SECTOR;
                match ranges.last_mut() {
                    Some(last) if last.1 == start && last.1 - last.0 < MAX_PAGE_WRITE => {
                        last.1 = end
                    }
                    _ => ranges.push((start, end)),
                }
            }
        }
        offset += n as u64;
    }
    let digest: String = sha
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((ranges, digest))
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

    /// Uploads `path` (raw or fixed VHD) as a fixed-VHD page blob.
    pub async fn upload(
        &self,
        path: &Path,
        target: &Target,
        deadline: Instant,
    ) -> Result<Report, UploadError> {
        let image: DiskImage = inspect(path)?;
        let (path_owned, data_len) = (PathBuf::from(path), image.data_len);
        let (data_ranges, sha256) =
            tokio::task::spawn_blocking(move || scan(&path_owned, data_len))
                .await
                .map_err(|e| UploadError::Transport {
                    what: "scanning the image".into(),
                    message: e.to_string(),
                })??;
        let blob_len = image.blob_len();

        // Resume only the same file into the same-sized blob.
        let head_url = Self::url(target, "");
        let (status, headers, _) = self
            .send("GetBlobProperties", deadline, || self.http.head(&head_url))
            .await?;
        let same = status == 200
            && headers.get(META_SHA).and_then(|v| v.to_str().ok()) == Some(sha256.as_str())
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
                        .header(META_SHA, sha256.as_str())
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

        let data = merge(data_ranges.clone());
        let todo = subtract(&data, &present);
        let report_resumed = total(&data) - total(&todo);
        let sent = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        let sem = Arc::new(tokio::sync::Semaphore::new(self.parallelism.max(1)));
        // Ranges are at most 4 MiB; split any merged remainder the same way.
        let pieces: Vec<(u64, u64)> = todo
            .iter()
            .flat_map(|&(a, b)| {
                (a..b)
                    .step_by(MAX_PAGE_WRITE as usize)
                    .map(move |s| (s, (s + MAX_PAGE_WRITE).min(b)))
            })
            .collect();
        // Progress from its own task, so a stall (retries, a slow service) is reported too.
        let progress = {
            let (sent, blob, every) = (sent.clone(), target.blob_url.clone(), self.progress_every);
            let (to_send, skipped) = (total(&todo), image.virtual_size - total(&data));
            tokio::spawn(async move {
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                loop {
                    tick.tick().await;
                    let s = sent.load(Ordering::Relaxed);
                    tracing::info!(
                        target: "rhelazure.vhd", blob = %blob, sent_bytes = s, to_send_bytes = to_send,
                        skipped_zero_bytes = skipped, resumed_bytes = report_resumed,
                        percent = (s * 100).checked_div(to_send).unwrap_or(100),
                        rate_mib_s = s as f64 / 1048576.0 / started.elapsed().as_secs_f64().max(0.001),
                        "uploading"
                    );
                }
            })
        };
        let _stop_progress = AbortOnDrop(progress);
        for (a, b) in pieces {
            let permit = sem.clone().acquire_owned().await.expect("semaphore open");
            let (http, url, path, sent_by_task, blob) = (
                self.http.clone(),
                Self::url(target, "comp=page"),
                PathBuf::from(path),
                sent.clone(),
                target.blob_url.clone(),
            );
            let this = Uploader {
                http: http.clone(),
                parallelism: 1,
                progress_every: self.progress_every,
            };
            tasks.spawn(async move {
                let _permit = permit;
                let bytes = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
                    let mut f = std::fs::File::open(&path)?;
                    f.seek(SeekFrom::Start(a))?;
                    let mut buf = vec![0u8; (b - a) as usize];
                    // A short read at the end of the file leaves the zero padding in place.
                    let mut read = 0;
                    while read < buf.len() {
                        let n = f.read(&mut buf[read..])?;
                        if n == 0 {
                            break;
                        }
                        read += n;
                    }
                    Ok(buf)
                })
                .await
                .map_err(|e| UploadError::Transport {
                    what: "reading the image".into(),
                    message: e.to_string(),
                })?
                .map_err(|e| UploadError::Transport {
                    what: "reading the image".into(),
                    message: e.to_string(),
                })?;
                // Shared, so a retried request re-sends without copying 4 MiB.
                let bytes = bytes::Bytes::from(bytes);
                let len = bytes.len() as u64;
                let (status, _, text) = this
                    .send(&format!("PutPage {a}-{}", b - 1), deadline, || {
                        http.put(&url)
                            .header("x-ms-page-write", "update")
                            .header("x-ms-range", format!("bytes={a}-{}", b - 1))
                            .body(bytes.clone())
                    })
                    .await?;
                if status != 201 {
                    return Err(UploadError::Blob {
                        what: format!("writing pages {a}-{} of {blob}", b - 1),
                        status,
                        message: text.chars().take(300).collect(),
                    });
                }
                sent_by_task.fetch_add(len, Ordering::Relaxed);
                Ok::<(), UploadError>(())
            });
            while let Some(done) = tasks.try_join_next() {
                done.map_err(|e| UploadError::Transport {
                    what: "upload task".into(),
                    message: e.to_string(),
                })??;
            }
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(|e| UploadError::Transport {
                what: "upload task".into(),
                message: e.to_string(),
            })??;
        }

        // The footer: always the last page.
        let mut unique = [0u8; 16];
        unique.copy_from_slice(&hex_bytes(&sha256)[..16]);
        let footer = footer(image.virtual_size, unique).to_vec();
        let url = Self::url(target, "comp=page");
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
        let uploaded = sent.load(Ordering::Relaxed) + SECTOR;
        let report = Report {
            sha256,
            uploaded_bytes: uploaded,
            skipped_zero_bytes: image.virtual_size - total(&data),
            resumed_bytes: report_resumed,
            blob_len,
        };
        tracing::info!(target: "rhelazure.vhd", blob = %target.blob_url, uploaded = report.uploaded_bytes, skipped_zero = report.skipped_zero_bytes, resumed = report.resumed_bytes, seconds = started.elapsed().as_secs_f64(), "upload complete");
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
    fn scan_finds_only_non_zero_pages() {
        use std::io::Write;
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let mut data = vec![0u8; 8 * 1024 * 1024 + 100];
        data[0] = 1; // page 0
        data[5 * 512 + 3] = 1; // page 5
        data[8 * 1024 * 1024 + 50] = 9; // the short last page
        f.write_all(&data).unwrap();
        let (r, sha) = scan(f.path(), data.len() as u64).unwrap();
        assert_eq!(
            r,
            vec![
                (0, 512),
                (2560, 3072),
                (8 * 1024 * 1024, 8 * 1024 * 1024 + 512)
            ]
        );
        assert_eq!(sha.len(), 64);
    }
}
