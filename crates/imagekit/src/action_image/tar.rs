//! Deterministic tar archives for image layers: POSIX ustar headers written by hand, entries in
//! the order given (the caller sorts them), owner 0:0 with empty user and group names, one fixed
//! modification time, fixed modes. The same entries always give the same bytes.

use super::Error;

/// Size of a tar block; headers and file data are padded to it.
const BLOCK: usize = 512;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file with its content.
    File,
    /// A directory (its path ends in `/` in the archive).
    Directory,
}

/// One entry of a layer: a path relative to the root (`etc/ssl/certs/`, `registry-action`), its
/// mode and, for a file, its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub kind: Kind,
    pub mode: u32,
    pub data: Vec<u8>,
}

impl Entry {
    /// A directory entry; `path` is written with a trailing `/`.
    pub fn directory(path: &str, mode: u32) -> Entry {
        let path = format!("{}/", path.trim_end_matches('/'));
        Entry {
            path,
            kind: Kind::Directory,
            mode,
            data: Vec::new(),
        }
    }

    /// A regular file entry.
    pub fn file(path: &str, mode: u32, data: Vec<u8>) -> Entry {
        Entry {
            path: path.to_owned(),
            kind: Kind::File,
            mode,
            data,
        }
    }
}

/// Writes `entries` in the given order as a ustar archive, every entry with owner 0:0 and
/// modification time `mtime` (seconds since the epoch), ending with the two zero blocks.
pub fn archive(entries: &[Entry], mtime: u64) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    for entry in entries {
        out.extend_from_slice(&header(entry, mtime)?);
        out.extend_from_slice(&entry.data);
        let pad = (BLOCK - entry.data.len() % BLOCK) % BLOCK;
        out.resize(out.len() + pad, 0);
    }
    out.resize(out.len() + 2 * BLOCK, 0);
    Ok(out)
}

/// The 512-byte ustar header of one entry.
fn header(entry: &Entry, mtime: u64) -> Result<[u8; BLOCK], Error> {
    let mut h = [0u8; BLOCK];
    let (prefix, name) = split_path(&entry.path)?;
    h[0..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], u64::from(entry.mode), &entry.path)?;
    octal(&mut h[108..116], 0, &entry.path)?; // uid
    octal(&mut h[116..124], 0, &entry.path)?; // gid
    let size = match entry.kind {
        Kind::File => entry.data.len() as u64,
        Kind::Directory => 0,
    };
    octal(&mut h[124..136], size, &entry.path)?;
    octal(&mut h[136..148], mtime, &entry.path)?;
    h[156] = match entry.kind {
        Kind::File => b'0',
        Kind::Directory => b'5',
    };
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    // uname, gname: empty; devmajor, devminor: zero.
    octal(&mut h[329..337], 0, &entry.path)?;
    octal(&mut h[337..345], 0, &entry.path)?;
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    // The checksum is computed with its own field read as eight spaces.
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let field = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(field.as_bytes());
    Ok(h)
}

/// Splits a path into ustar's `prefix` (up to 155 bytes) and `name` (up to 100 bytes).
fn split_path(path: &str) -> Result<(&str, &str), Error> {
    let bad = |reason: &str| Error::TarPath {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if path.is_empty() || path.starts_with('/') || !path.is_ascii() {
        return Err(bad("must be a non-empty relative ASCII path"));
    }
    if path.len() <= 100 {
        return Ok(("", path));
    }
    // Split at a `/` so that the name part fits; a directory's trailing `/` stays in the name.
    let search_end = path.len().saturating_sub(1);
    for (i, b) in path.bytes().enumerate().take(search_end) {
        if b == b'/' && i <= 155 && path.len() - i - 1 <= 100 {
            return Ok((&path[..i], &path[i + 1..]));
        }
    }
    Err(bad("too long for a ustar header"))
}

/// Writes `value` as a NUL-terminated, zero-padded octal number filling `field`.
fn octal(field: &mut [u8], value: u64, path: &str) -> Result<(), Error> {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    if text.len() > digits {
        return Err(Error::TarPath {
            path: path.to_owned(),
            reason: format!("value {value} does not fit a {digits}-digit octal header field"),
        });
    }
    field[..digits].copy_from_slice(text.as_bytes());
    field[digits] = 0;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_are_fixed_and_checksummed() {
        let entries = [
            Entry::directory("etc", 0o755),
            Entry::file("etc/a", 0o644, b"hello".to_vec()),
        ];
        let bytes = archive(&entries, 1_700_000_000).unwrap();
        // Two headers, one data block, two end blocks.
        assert_eq!(bytes.len(), 5 * BLOCK);
        let dir = &bytes[..BLOCK];
        assert_eq!(&dir[..4], b"etc/");
        assert_eq!(dir[156], b'5');
        assert_eq!(&dir[100..108], b"0000755\0");
        assert_eq!(&dir[108..116], b"0000000\0");
        assert_eq!(
            &dir[136..148],
            format!("{:011o}\0", 1_700_000_000u64).as_bytes()
        );
        let file = &bytes[BLOCK..2 * BLOCK];
        assert_eq!(&file[124..136], b"00000000005\0");
        assert_eq!(&bytes[2 * BLOCK..2 * BLOCK + 5], b"hello");
        // The stored checksum is the byte sum with the field read as spaces.
        let stored = u32::from_str_radix(std::str::from_utf8(&file[148..154]).unwrap(), 8).unwrap();
        let mut copy = file.to_vec();
        copy[148..156].fill(b' ');
        assert_eq!(stored, copy.iter().map(|&b| u32::from(b)).sum::<u32>());
    }

    #[test]
    fn long_paths_use_the_prefix_field_or_fail() {
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        assert_eq!(split_path(&long).unwrap(), (&long[..120], &long[121..]));
        assert!(split_path(&"x".repeat(300)).is_err());
        assert!(split_path("/abs").is_err());
        assert!(split_path("").is_err());
    }
}
