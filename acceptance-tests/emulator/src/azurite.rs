//! Microsoft's Azurite blob service on a free loopback port, for tests: the
//! real storage emulator our uploader and SAS tokens are checked against.
//! Installed by `scripts/install-azurite.sh` (which `make test` runs); stopped
//! when dropped.

use std::path::Path;
use std::time::{Duration, Instant};

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
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let child = std::process::Command::new(bin)
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &port.to_string(),
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
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("starting Azurite: {e}"))?;
        let az = Azurite {
            child,
            endpoint: format!("http://127.0.0.1:{port}/devstoreaccount1"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("Azurite did not start within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(az)
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
