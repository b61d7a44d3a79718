//! Disk images for Azure: the fixed-VHD footer ([`footer`]), what a file on
//! disk is ([`inspect`]), and the sparse, parallel, resumable page-blob
//! uploader ([`upload`]).
//!
//! Azure managed images are made from *fixed* VHDs whose virtual size is a
//! whole number of MiB. A raw image becomes one by appending a 512-byte footer
//! (no copy of the data); the padding up to the next MiB is zeros, which the
//! uploader never sends.

pub mod upload;

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

pub const SECTOR: u64 = 512;
pub const MIB: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum VhdError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is a {kind} image; Azure needs a raw image or a fixed VHD. Convert it first, e.g. `{fix}`")]
    Unsupported {
        path: String,
        kind: &'static str,
        fix: String,
    },
    #[error("{path} is empty")]
    Empty { path: String },
}

/// What a file is, for upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskImage {
    /// Bytes of disk data at the start of the file (a fixed VHD's footer excluded).
    pub data_len: u64,
    /// Virtual disk size: `data_len` rounded up to a whole MiB.
    pub virtual_size: u64,
    /// Whether the file already was a fixed VHD.
    pub was_vhd: bool,
}

impl DiskImage {
    /// Size of the page blob: the virtual disk plus the footer.
    pub fn blob_len(&self) -> u64 {
        self.virtual_size + SECTOR
    }
}

/// Reads the start and end of `path` to tell raw and fixed-VHD images from
/// formats Azure cannot use (dynamic VHD, VHDX, qcow2, VMDK), naming the
/// `qemu-img convert` that fixes them.
pub fn inspect(path: &Path) -> Result<DiskImage, VhdError> {
    let p = path.display().to_string();
    let io = |e| VhdError::Io {
        path: p.clone(),
        source: e,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    if len == 0 {
        return Err(VhdError::Empty { path: p });
    }
    let mut head = [0u8; 512];
    let n = f.read(&mut head).map_err(io)?;
    let head = &head[..n];
    let unsupported = |kind: &'static str, from: &str| VhdError::Unsupported {
        path: p.clone(),
        kind,
        fix: format!("qemu-img convert -f {from} -O vpc -o subformat=fixed,force_size {p} {p}.vhd"),
    };
    if head.starts_with(b"QFI\xfb") {
        return Err(unsupported("qcow2", "qcow2"));
    }
    if head.starts_with(b"vhdxfile") {
        return Err(unsupported("VHDX", "vhdx"));
    }
    if head.starts_with(b"KDMV") || head.starts_with(b"# Disk DescriptorFile") {
        return Err(unsupported("VMDK", "vmdk"));
    }
    if head.starts_with(b"conectix") {
        // A footer copy at the start: dynamic or differencing VHD.
        return Err(unsupported("dynamic VHD", "vpc"));
    }
    if len >= SECTOR {
        let mut tail = [0u8; 512];
        f.seek(SeekFrom::End(-(SECTOR as i64))).map_err(io)?;
        f.read_exact(&mut tail).map_err(io)?;
        if &tail[..8] == b"conectix" {
            let disk_type = u32::from_be_bytes([tail[60], tail[61], tail[62], tail[63]]);
            if disk_type != 2 {
                return Err(unsupported("dynamic VHD", "vpc"));
            }
            let data_len = len - SECTOR;
            return Ok(DiskImage {
                data_len,
                virtual_size: round_mib(data_len),
                was_vhd: true,
            });
        }
    }
    Ok(DiskImage {
        data_len: len,
        virtual_size: round_mib(len),
        was_vhd: false,
    })
}

pub fn round_mib(n: u64) -> u64 {
    n.div_ceil(MIB) * MIB
}

/// CHS geometry for a disk of `size` bytes, per the VHD specification.
pub fn geometry(size: u64) -> (u16, u8, u8) {
    let mut total = size / SECTOR;
    total = total.min(65535 * 16 * 255);
    let (sectors, heads, cyl_times_heads);
    if total >= 65535 * 16 * 63 {
        sectors = 255;
        heads = 16;
        cyl_times_heads = total / sectors;
    } else {
        let mut s = 17;
        let mut cth = total / s;
        let mut h = cth.div_ceil(1024).max(4);
        if cth >= h * 1024 || h > 16 {
            s = 31;
            h = 16;
            cth = total / s;
        }
        if cth >= h * 1024 {
            s = 63;
            h = 16;
            cth = total / s;
        }
        sectors = s;
        heads = h;
        cyl_times_heads = cth;
    }
    ((cyl_times_heads / heads) as u16, heads as u8, sectors as u8)
}

/// The 512-byte footer of a fixed VHD of `size` bytes (a whole number of MiB).
pub fn footer(size: u64, unique_id: [u8; 16]) -> [u8; 512] {
    let mut f = [0u8; 512];
    f[0..8].copy_from_slice(b"conectix");
    f[8..12].copy_from_slice(&2u32.to_be_bytes()); // features: reserved bit
    f[12..16].copy_from_slice(&0x0001_0000u32.to_be_bytes()); // format version 1.0
    f[16..24].copy_from_slice(&u64::MAX.to_be_bytes()); // data offset: none (fixed)
    let since_2000 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .saturating_sub(946_684_800);
    f[24..28].copy_from_slice(&(since_2000 as u32).to_be_bytes());
    f[28..32].copy_from_slice(b"rhaz"); // creator application
    f[32..36].copy_from_slice(&0x0001_0000u32.to_be_bytes());
    f[36..40].copy_from_slice(b"Wi2k"); // creator host OS, as qemu-img writes
    f[40..48].copy_from_slice(&size.to_be_bytes());
    f[48..56].copy_from_slice(&size.to_be_bytes());
    let (c, h, s) = geometry(size);
    f[56..58].copy_from_slice(&c.to_be_bytes());
    f[58] = h;
    f[59] = s;
    f[60..64].copy_from_slice(&2u32.to_be_bytes()); // fixed disk
    f[68..84].copy_from_slice(&unique_id);
    let sum: u32 = f.iter().map(|b| u32::from(*b)).sum();
    f[64..68].copy_from_slice(&(!sum).to_be_bytes());
    f
}

/// Verifies a footer's cookie and checksum (tests, and images we are given).
pub fn footer_is_valid(f: &[u8; 512]) -> bool {
    if &f[..8] != b"conectix" {
        return false;
    }
    let stored = u32::from_be_bytes([f[64], f[65], f[66], f[67]]);
    let sum: u32 = f
        .iter()
        .enumerate()
        .filter(|(i, _)| !(64..68).contains(i))
        .map(|(_, b)| u32::from(*b))
        .sum();
    stored == !sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn footer_layout_and_checksum() {
        let f = footer(64 * MIB, [7; 16]);
        assert!(footer_is_valid(&f));
        assert_eq!(u64::from_be_bytes(f[48..56].try_into().unwrap()), 64 * MIB);
        assert_eq!(
            u32::from_be_bytes(f[60..64].try_into().unwrap()),
            2,
            "fixed"
        );
        let mut bad = f;
        bad[100] ^= 1;
        assert!(!footer_is_valid(&bad));
    }

    #[test]
    fn geometry_matches_the_specification() {
        // Values qemu-img computes for these sizes.
        assert_eq!(geometry(64 * MIB), (963, 8, 17));
        assert_eq!(geometry(1024 * MIB), (2080, 16, 63));
        assert_eq!(geometry(30 * 1024 * MIB).1, 16);
    }

    fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn recognises_raw_vhd_and_the_rest() {
        let raw = file(&vec![1u8; 3 * 1024 * 1024 + 5]);
        let d = inspect(raw.path()).unwrap();
        assert_eq!(
            (d.data_len, d.virtual_size, d.was_vhd),
            (3 * MIB + 5, 4 * MIB, false)
        );

        let mut vhd = vec![0u8; 2 * MIB as usize];
        vhd.extend_from_slice(&footer(2 * MIB, [1; 16]));
        let d = inspect(file(&vhd).path()).unwrap();
        assert_eq!(
            (d.data_len, d.virtual_size, d.was_vhd),
            (2 * MIB, 2 * MIB, true)
        );

        let qcow = file(b"QFI\xfb\0\0\0\x03rest");
        let e = inspect(qcow.path()).unwrap_err().to_string();
        assert!(e.contains("qcow2") && e.contains("qemu-img convert"), "{e}");
        let mut dynamic = footer(MIB, [0; 16]).to_vec();
        dynamic[60..64].copy_from_slice(&3u32.to_be_bytes());
        let e = inspect(file(&dynamic).path()).unwrap_err().to_string();
        assert!(e.contains("dynamic VHD"), "{e}");
        assert!(matches!(
            inspect(file(b"").path()),
            Err(VhdError::Empty { .. })
        ));
    }
}
