//! `oci-archive:` files: an uncompressed tar of an OCI image layout, indexed in one pass over its
//! headers (entry name -> data offset and size) and read in place. What is not such a tar is named
//! for what it is (a directory, a gzip or zstd file, not a tar at all), never by the tar reader's
//! message, which can quote the file's binary bytes.

use std::collections::HashMap;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Entry name -> (data offset, size) of the regular files of an archive.
pub(crate) type Entries = HashMap<String, (u64, u64)>;

/// Why a file cannot be read as an OCI archive.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ArchiveError {
    /// Opening or reading the file failed (not found, permissions, a read error).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The path is missing, or is not an uncompressed tar: what it is instead, and the fix.
    #[error("{message}")]
    Unusable { message: String, hint: String },
}

/// A compression the file's first bytes show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    Gzip,
    Zstd,
}

impl Compression {
    fn sniff(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }
}

/// Indexes the archive `path`: refuses a directory and a compressed file up front, and reports a
/// file whose headers do not parse as not a tar.
pub(crate) fn index_archive(path: &Path) -> Result<Entries, ArchiveError> {
    let shown = path.display();
    let meta = match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ArchiveError::Unusable {
                message: "no such file".into(),
                hint: "check the path: a relative one starts from the working directory (the workspace, in a workflow)".into(),
            });
        }
        other => other?,
    };
    if meta.is_dir() {
        return Err(ArchiveError::Unusable {
            message: "is a directory, not an OCI archive (a tar file)".into(),
            hint: format!("for an OCI image layout directory, write `oci:{shown}`"),
        });
    }
    let mut file = std::fs::File::open(path)?;
    let mut head = Vec::with_capacity(4);
    (&mut file).take(4).read_to_end(&mut head)?;
    if let Some(compression) = Compression::sniff(&head) {
        let (what, command) = match compression {
            Compression::Gzip => ("gzip", format!("gunzip -c {shown} > image.tar")),
            Compression::Zstd => ("zstd", format!("zstd -d {shown} -o image.tar")),
        };
        return Err(ArchiveError::Unusable {
            message: format!(
                "is {what}-compressed; `oci-archive:` reads an uncompressed tar (compressed archives are not supported)"
            ),
            hint: format!(
                "decompress it first (`{command}`, then `oci-archive:image.tar`), or build an uncompressed one with `--output type=oci,dest=image.tar`"
            ),
        });
    }
    file.seek(SeekFrom::Start(0))?;
    index_tar(file).map_err(|error| match error.kind() {
        // What the tar reader says when the bytes are not tar headers (a short or garbled block,
        // a checksum that does not parse); its message may hold those bytes.
        std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::InvalidData
        | std::io::ErrorKind::InvalidInput
        | std::io::ErrorKind::Other => ArchiveError::Unusable {
            message: "is not an OCI archive: its content does not read as an (uncompressed) tar"
                .into(),
            hint: "`oci-archive:` takes a tar of an OCI image layout, e.g. from `docker buildx build --output type=oci,dest=image.tar` or `skopeo copy ... oci-archive:image.tar`; for a layout directory write `oci:<dir>`".into(),
        },
        _ => ArchiveError::Io(error),
    })
}

fn index_tar(file: std::fs::File) -> std::io::Result<Entries> {
    let mut archive = tar::Archive::new(BufReader::with_capacity(64 * 1024, file));
    let mut entries = HashMap::new();
    for entry in archive.entries_with_seek()? {
        let entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path()?.to_string_lossy().into_owned();
        let name = name.trim_start_matches("./").to_owned();
        entries.insert(name, (entry.raw_file_position(), entry.size()));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_for(content: &[u8]) -> (String, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.tar");
        std::fs::write(&path, content).unwrap();
        match index_archive(&path) {
            Err(ArchiveError::Unusable { message, hint }) => (message, hint),
            other => panic!("expected Unusable, got {other:?}"),
        }
    }

    /// Regression: a text file gave "failed to read entire block".
    #[test]
    fn a_text_file_is_not_a_tar() {
        let (message, hint) = error_for(b"just some notes\n");
        assert_eq!(
            message,
            "is not an OCI archive: its content does not read as an (uncompressed) tar"
        );
        assert!(hint.contains("oci:<dir>"), "{hint}");
        // Longer than a tar block: the checksum field does not parse.
        let (message, _) = error_for(&[b'x'; 2048]);
        assert!(message.contains("is not an OCI archive"), "{message}");
    }

    /// Regression: a gzipped tar dumped binary bytes from the tar reader's checksum error.
    #[test]
    fn a_compressed_file_says_so_without_binary_bytes() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&[0u8; 4096]).unwrap();
        let (message, hint) = error_for(&gz.finish().unwrap());
        assert!(message.starts_with("is gzip-compressed"), "{message}");
        assert!(message.contains("not supported"), "{message}");
        assert!(hint.contains("gunzip"), "{hint}");
        assert!(
            (message.clone() + &hint)
                .chars()
                .all(|c| !c.is_control() || c == '\n'),
            "{message:?} {hint:?}"
        );
        let (message, _) = error_for(&[0x28, 0xb5, 0x2f, 0xfd, 0, 0]);
        assert!(message.starts_with("is zstd-compressed"), "{message}");
    }

    /// Regression: a directory gave "Is a directory (os error 21)".
    #[test]
    fn a_directory_points_to_oci() {
        let dir = tempfile::tempdir().unwrap();
        match index_archive(dir.path()) {
            Err(ArchiveError::Unusable { message, hint }) => {
                assert!(message.contains("is a directory"), "{message}");
                assert_eq!(
                    hint,
                    format!(
                        "for an OCI image layout directory, write `oci:{}`",
                        dir.path().display()
                    )
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_missing_file_is_named_as_such() {
        let err = index_archive(Path::new("/nonexistent/image.tar")).unwrap_err();
        assert!(
            matches!(err, ArchiveError::Unusable { ref message, .. } if message == "no such file"),
            "{err:?}"
        );
    }

    #[test]
    fn an_empty_tar_has_no_entries() {
        // Two zero blocks: the end-of-archive marker.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.tar");
        std::fs::write(&path, [0u8; 1024]).unwrap();
        assert!(index_archive(&path).unwrap().is_empty());
    }
}
