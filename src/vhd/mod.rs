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
/// `created` is the footer's time stamp, the image's creation time: the
/// uploader passes the source file's modification time, so the same file
/// always makes the same blob, byte for byte, whenever it is uploaded.
pub fn footer(size: u64, unique_id: [u8; 16], created: std::time::SystemTime) -> [u8; 512] {
    let mut f = [0u8; 512];
    f[0..8].copy_from_slice(b"conectix");
    f[8..12].copy_from_slice(&2u32.to_be_bytes()); // features: reserved bit
    f[12..16].copy_from_slice(&0x0001_0000u32.to_be_bytes()); // format version 1.0
    f[16..24].copy_from_slice(&u64::MAX.to_be_bytes()); // data offset: none (fixed)

    // Seconds since 2000-01-01 UTC; earlier times (and past 2136) clamp.
    let since_2000 = created
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .saturating_sub(946_684_800);
    let since_2000 = u32::try_from(since_2000).unwrap_or(u32::MAX);
    f[24..28].copy_from_slice(&since_2000.to_be_bytes());
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

/// How a disk image boots, from its partition table: what decides the
/// Hyper-V generation it can run as (generation 2 is UEFI only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// An EFI system partition (GPT, or MBR type 0xEF): boots as generation 2
    /// (and as generation 1 too when it also has a BIOS boot path, as
    /// Red Hat's images do).
    Uefi,
    /// A partition table without an EFI system partition: BIOS only,
    /// generation 1.
    BiosOnly,
    /// No partition table Azure would boot (blank, or a bare file system).
    Unknown,
}

/// The EFI system partition's type GUID, C12A7328-F81F-11D2-BA4B-00A0C93EC93B,
/// as GPT stores it (the first three fields little-endian).
const ESP_TYPE: [u8; 16] = [
    0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B,
];

/// Reads the partition table at the start of `path` (MBR at sector 0, GPT
/// header at sector 1 and its entries) and says how the disk boots. Written
/// here rather than with a GPT crate: only the partitions' type GUIDs are
/// needed, not a GPT reader's checksums, backups and writes.
pub fn boot_firmware(path: &Path) -> std::io::Result<Firmware> {
    let mut f = std::fs::File::open(path)?;
    let mut head = [0u8; 1024];
    let n = read_up_to(&mut f, &mut head)?;
    if n < 1024 {
        return Ok(Firmware::Unknown);
    }
    if &head[512..520] == b"EFI PART" {
        let entries_lba =
            u64::from_le_bytes(head[512 + 72..512 + 80].try_into().unwrap_or_default());
        let count = u32::from_le_bytes(head[512 + 80..512 + 84].try_into().unwrap_or_default());
        let size = u32::from_le_bytes(head[512 + 84..512 + 88].try_into().unwrap_or_default());
        // The UEFI specification: at least 128-byte entries; 128 entries is usual.
        if size < 128 || count == 0 || count > 4096 {
            return Ok(Firmware::Unknown);
        }
        let mut table = vec![0u8; count as usize * size as usize];
        f.seek(SeekFrom::Start(entries_lba.saturating_mul(SECTOR)))?;
        let n = read_up_to(&mut f, &mut table)?;
        let esp = table[..n]
            .chunks_exact(size as usize)
            .any(|entry| entry[..16] == ESP_TYPE);
        return Ok(if esp {
            Firmware::Uefi
        } else {
            Firmware::BiosOnly
        });
    }
    if head[510..512] == [0x55, 0xAA] {
        let types: Vec<u8> = (0..4).map(|i| head[446 + i * 16 + 4]).collect();
        if types.iter().all(|t| *t == 0) {
            return Ok(Firmware::Unknown);
        }
        return Ok(if types.contains(&0xEF) {
            Firmware::Uefi
        } else {
            Firmware::BiosOnly
        });
    }
    Ok(Firmware::Unknown)
}

/// Reads until `buf` is full or the file ends; how much was read.
fn read_up_to(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    #[test]
    fn footer_layout_and_checksum() {
        let f = footer(64 * MIB, [7; 16], SystemTime::now());
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
    fn the_footer_is_a_function_of_its_inputs() {
        // 2020-01-01T00:00:00Z is 631 152 000 s after 2000-01-01.
        let at = UNIX_EPOCH + Duration::from_secs(1_577_836_800);
        let f = footer(8 * MIB, [3; 16], at);
        assert_eq!(f, footer(8 * MIB, [3; 16], at), "no clock of its own");
        assert_eq!(
            u32::from_be_bytes(f[24..28].try_into().unwrap()),
            631_152_000
        );
        let before_2000 = footer(8 * MIB, [3; 16], UNIX_EPOCH);
        assert_eq!(&before_2000[24..28], &[0; 4]);
        assert!(footer_is_valid(&before_2000));
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
        vhd.extend_from_slice(&footer(2 * MIB, [1; 16], SystemTime::now()));
        let d = inspect(file(&vhd).path()).unwrap();
        assert_eq!(
            (d.data_len, d.virtual_size, d.was_vhd),
            (2 * MIB, 2 * MIB, true)
        );

        let qcow = file(b"QFI\xfb\0\0\0\x03rest");
        let e = inspect(qcow.path()).unwrap_err().to_string();
        assert!(e.contains("qcow2") && e.contains("qemu-img convert"), "{e}");
        let mut dynamic = footer(MIB, [0; 16], SystemTime::now()).to_vec();
        dynamic[60..64].copy_from_slice(&3u32.to_be_bytes());
        let e = inspect(file(&dynamic).path()).unwrap_err().to_string();
        assert!(e.contains("dynamic VHD"), "{e}");
        assert!(matches!(
            inspect(file(b"").path()),
            Err(VhdError::Empty { .. })
        ));
    }

    #[test]
    fn the_partition_table_says_how_a_disk_boots() {
        let dir = tempfile::tempdir().unwrap();
        let disk = |name: &str, fill: &dyn Fn(&mut Vec<u8>)| {
            let mut bytes = vec![0u8; 64 * 1024];
            fill(&mut bytes);
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            boot_firmware(&p).unwrap()
        };
        let gpt = |bytes: &mut Vec<u8>, esp: bool| {
            bytes[446 + 4] = 0xEE; // protective MBR
            bytes[510] = 0x55;
            bytes[511] = 0xAA;
            bytes[512..520].copy_from_slice(b"EFI PART");
            bytes[512 + 72..512 + 80].copy_from_slice(&2u64.to_le_bytes());
            bytes[512 + 80..512 + 84].copy_from_slice(&128u32.to_le_bytes());
            bytes[512 + 84..512 + 88].copy_from_slice(&128u32.to_le_bytes());
            // Entry 0: BIOS boot partition (21686148-6449-6E6F-744E-656564454649).
            bytes[1024..1040].copy_from_slice(&[
                0x48, 0x61, 0x68, 0x21, 0x49, 0x64, 0x6F, 0x6E, 0x74, 0x4E, 0x65, 0x65, 0x64, 0x45,
                0x46, 0x49,
            ]);
            if esp {
                bytes[1024 + 128..1024 + 144].copy_from_slice(&ESP_TYPE);
            }
        };
        assert_eq!(disk("gpt-esp.raw", &|b| gpt(b, true)), Firmware::Uefi);
        assert_eq!(disk("gpt-bios.raw", &|b| gpt(b, false)), Firmware::BiosOnly);
        let mbr = |b: &mut Vec<u8>, kind: u8| {
            b[446 + 4] = kind;
            b[510] = 0x55;
            b[511] = 0xAA;
        };
        assert_eq!(disk("mbr-linux.raw", &|b| mbr(b, 0x83)), Firmware::BiosOnly);
        assert_eq!(disk("mbr-esp.raw", &|b| mbr(b, 0xEF)), Firmware::Uefi);
        assert_eq!(disk("blank.raw", &|_| {}), Firmware::Unknown);
        assert_eq!(disk("data.raw", &|b| b.fill(7)), Firmware::Unknown);
    }
}
