//! Microsoft's Azurite blob service on a free loopback port, for tests: the
//! real storage emulator our uploader and SAS tokens are checked against.
//! Installed by `scripts/install-azurite.sh` (which `make test` runs); stopped
//! when dropped.

use std::path::Path;
use std::time::{Duration, Instant};

/// Azurite's well-known development account key (public, documented by Microsoft).
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";

pub struct Azurite {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT/devstoreaccount1`
    pub endpoint: String,
    _dir: tempfile::TempDir,
}

impl Azurite {
    pub fn start() -> Result<Azurite, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let bin = root.join(".tools/azurite/node_modules/.bin/azurite-blob");
        if !bin.exists() {
            return Err(
                "Azurite is not installed: run scripts/install-azurite.sh (make test does)".into(),
            );
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        // Port 0: Azurite binds a port the kernel picks and prints it, so no
        // other process can take "our" port between a probe and the bind.
        let stdout_path = dir.path().join("azurite.out");
        let stdout = std::fs::File::create(&stdout_path).map_err(|e| e.to_string())?;
        let mut child = std::process::Command::new(bin)
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                "0",
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--silent",
                "--location",
            ])
            .arg(dir.path())
            // AZURITE_DEBUG_LOG=<file>: Azurite's own debug log, to see why it refused something.
            .args(
                std::env::var("AZURITE_DEBUG_LOG")
                    .map(|p| vec!["--debug".to_string(), p])
                    .unwrap_or_default(),
            )
            .stdout(stdout)
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("starting Azurite: {e}"))?;
        // Azurite prints this line once its server is listening.
        const READY: &str = "Azurite Blob service successfully listens on http://127.0.0.1:";
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            let out = std::fs::read_to_string(&stdout_path).unwrap_or_default();
            if let Some(port) = out
                .lines()
                .find_map(|l| l.strip_prefix(READY))
                .and_then(|p| p.trim().parse::<u16>().ok())
            {
                break port;
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("Azurite exited ({status}) before listening: {out}"));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("Azurite did not start within 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Ok(Azurite {
            child,
            endpoint: format!("http://127.0.0.1:{port}/devstoreaccount1"),
            _dir: dir,
        })
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
