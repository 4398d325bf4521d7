//! The CA certificates the client trusts: the system's store (its bundle file, else the
//! platform's native store) plus the PEM files `SSL_CERT_FILE` names and `SSL_CERT_DIR` holds.

use std::path::{Path, PathBuf};

use reqwest::Certificate;

use super::error::{Error, Result};

/// System CA bundles, the first found is the system's CA store (the contract is "the system's CAs
/// plus those `SSL_CERT_FILE`/`SSL_CERT_DIR` name").
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Reads every certificate of a PEM file; an unreadable file or one without a certificate is an
/// error (the user named it).
pub(crate) fn read_pem_file(path: &Path) -> Result<Vec<Certificate>> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Config(format!("reading CA file {}: {e}", path.display())))?;
    let certs = Certificate::from_pem_bundle(&bytes)
        .map_err(|e| Error::Config(format!("parsing CA file {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Config(format!(
            "CA file {} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// The system's CA certificates: the first system bundle found (one file, parsed once: the
/// certificate directory beside it holds the same certificates again, and reading it costs ~20 ms
/// at every start), else whatever the platform's native store holds.
pub(crate) fn system_roots() -> Vec<Certificate> {
    let bundle = system_bundle()
        .and_then(|p| read_pem_file(&p).ok())
        .unwrap_or_default();
    if !bundle.is_empty() {
        return bundle;
    }
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::debug!(%error, "reading the native CA store");
    }
    native
        .certs
        .iter()
        .filter_map(|der| Certificate::from_der(der).ok())
        .collect()
}

/// The first system bundle that exists.
fn system_bundle() -> Option<PathBuf> {
    SYSTEM_BUNDLES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// The PEM files named by `SSL_CERT_FILE` and found in the `SSL_CERT_DIR` directories, leaving
/// out the system store itself (loaded anyway): the system bundle named again, and a directory
/// that holds it (as `/etc/ssl/certs` holds `ca-certificates.crt` beside the same certificates
/// one per file, whose reading would cost ~20 ms at every start).
pub(crate) fn env_ca_files(file: Option<String>, dirs: Option<String>) -> Vec<PathBuf> {
    ca_files_named(
        file.map(Into::into),
        dirs.map(Into::into),
        system_bundle().as_deref(),
    )
}

/// [`env_ca_files`] for the given variables and system bundle.
fn ca_files_named(
    file: Option<std::ffi::OsString>,
    dirs: Option<std::ffi::OsString>,
    system_bundle: Option<&Path>,
) -> Vec<PathBuf> {
    let system = system_bundle.and_then(|p| p.canonicalize().ok());
    let is_system = |p: &Path| system.is_some() && p.canonicalize().ok() == system;
    let holds_system = |dir: &Path| {
        system
            .as_deref()
            .and_then(Path::parent)
            .is_some_and(|parent| dir.canonicalize().ok().as_deref() == Some(parent))
    };
    let mut files = Vec::new();
    if let Some(file) = file.filter(|v| !v.is_empty()) {
        let file = PathBuf::from(file);
        if !is_system(&file) {
            files.push(file);
        }
    }
    if let Some(dirs) = dirs {
        for dir in std::env::split_paths(&dirs) {
            if holds_system(&dir) {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_pem_with_cert(p))
                .collect();
            found.sort();
            files.extend(found);
        }
    }
    files
}

fn is_pem_with_cert(path: &Path) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|b| Certificate::from_pem_bundle(&b).ok())
        .is_some_and(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem() -> String {
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec!["ca.test".into()]).expect("params");
        params.self_signed(&key).expect("cert").pem()
    }

    #[test]
    fn ca_files_leave_out_the_system_store_and_keep_the_rest() {
        let tmp = tempfile::tempdir().expect("tmp");
        let system_dir = tmp.path().join("system");
        let own_dir = tmp.path().join("own");
        std::fs::create_dir_all(&system_dir).unwrap();
        std::fs::create_dir_all(&own_dir).unwrap();
        let bundle = system_dir.join("ca-certificates.crt");
        std::fs::write(&bundle, pem()).unwrap();
        std::fs::write(system_dir.join("one.pem"), pem()).unwrap();
        let own = own_dir.join("test-ca.pem");
        std::fs::write(&own, pem()).unwrap();
        std::fs::write(own_dir.join("notes.txt"), "not a certificate").unwrap();
        let dirs = std::env::join_paths([&system_dir, &own_dir]).unwrap();

        // The system bundle named again and the directory holding it are the system store.
        let got = ca_files_named(
            Some(bundle.clone().into()),
            Some(dirs.clone()),
            Some(&bundle),
        );
        assert_eq!(got, vec![own.clone()]);
        // Another file and any other directory are read, PEM certificates only.
        let got = ca_files_named(Some(own.clone().into()), Some(dirs.clone()), None);
        assert_eq!(
            got,
            vec![
                own.clone(),
                bundle.clone(),
                system_dir.join("one.pem"),
                own.clone()
            ]
        );
        assert!(ca_files_named(Some("".into()), None, Some(&bundle)).is_empty());
    }
}
