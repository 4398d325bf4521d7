//! The registry layer's one error type: what went wrong talking to a registry, with the URL, the
//! registry's own error code and message, and a hint where the fix is known.

use super::credential::CredentialOrigin;
use super::stop::{StopReason, human_duration};
use crate::oci::Digest;

impl From<crate::oci::DigestError> for Error {
    fn from(error: crate::oci::DigestError) -> Self {
        match error {
            crate::oci::DigestError::Invalid { input, reason } => {
                Error::InvalidDigest { input, reason }
            }
            crate::oci::DigestError::Mismatch { expected, actual } => {
                Error::DigestMismatch { expected, actual }
            }
        }
    }
}

/// A `Result` with this layer's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the registry client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A reference the user gave does not parse.
    #[error("invalid image reference `{input}`: {reason}")]
    InvalidReference { input: String, reason: String },

    /// A digest does not parse.
    #[error("invalid digest `{input}`: {reason}")]
    InvalidDigest { input: String, reason: String },

    /// The registry answered with an unexpected status.
    #[error("{}", status_message(*.status, .method, .url, .code.as_deref(), .message.as_deref(), .hint.as_deref()))]
    Status {
        status: u16,
        method: String,
        /// The URL without its query (upload URLs carry opaque state there).
        url: String,
        /// The registry's error code (`MANIFEST_UNKNOWN`, `DENIED`, ...), when it sent one.
        code: Option<String>,
        message: Option<String>,
        /// What to do about it, when known (e.g. GHCR's package permissions).
        hint: Option<String>,
    },

    /// The registry, or its token server, wanted credentials (HTTP 401; 401 or 403 from a token
    /// server): none were given for it, or the ones sent were refused.
    #[error("{}", unauthorized_message(*.status, .method, .url, .registry, .refused.as_ref()))]
    Unauthorized {
        status: u16,
        method: String,
        /// The URL without its query.
        url: String,
        registry: String,
        /// Where the refused credential came from; `None`: no credential was sent.
        refused: Option<CredentialOrigin>,
    },

    /// Bytes did not hash to the digest they were read or written under.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },

    /// A blob had another length than its descriptor says.
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        digest: Digest,
        expected: u64,
        actual: u64,
    },

    /// Credentials could not be read, or a token could not be obtained.
    #[error("authentication with {registry} failed: {message}")]
    Auth { registry: String, message: String },

    /// No HTTP answer: connection refused or reset, TLS failure, timeout.
    #[error("{method} {url}: {}", transport_message(.source))]
    Transport {
        method: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// The connection is open but nothing moved for `waited`: no answer, no byte of the body
    /// sent or received (a registry that stopped responding). Retried, then temporary.
    #[error("{method} {url}: the registry stopped responding: nothing moved for {}", human_duration(*.waited))]
    Stalled {
        method: String,
        /// The URL without its query.
        url: String,
        waited: std::time::Duration,
    },

    /// The run was stopped (a signal, the time limit) while this request was waiting or in
    /// flight; it was abandoned, not retried.
    #[error("stopped: {0}")]
    Stopped(StopReason),

    /// The registry answered, but not in a way the distribution spec allows.
    #[error("{url}: unexpected response: {message}")]
    Protocol { url: String, message: String },

    /// Reading the local side of a transfer failed.
    #[error("reading blob data: {0}")]
    Io(#[from] std::io::Error),

    /// The client's configuration is unusable (e.g. an unreadable CA file).
    #[error("registry client configuration: {0}")]
    Config(String),
}

impl Error {
    /// Whether this is the registry saying "not found" (404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Status { status: 404, .. })
    }

    /// Whether the registry wanted credentials it did not get, or refused the ones sent.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Error::Unauthorized { .. })
    }
}

fn unauthorized_message(
    status: u16,
    method: &str,
    url: &str,
    registry: &str,
    refused: Option<&CredentialOrigin>,
) -> String {
    match refused {
        None => format!(
            "{method} {url}: HTTP {status}: {registry} requires authentication, and no credentials were given for it\nhint: {}",
            no_credentials_hint(registry)
        ),
        Some(origin) => format!(
            "{method} {url}: HTTP {status}: {registry} rejected the credentials from {origin}\nhint: {}",
            rejected_hint(registry, origin)
        ),
    }
}

/// How to give a registry credentials, for a registry that got none.
fn no_credentials_hint(registry: &str) -> String {
    let mut hint = format!(
        "add a line `registry={registry},username=<user>,password-env=<VAR>` to the `credentials` \
         input, with <VAR> set from a secret in the step's `env:` (see Credentials in the README); \
         outside a workflow, `docker login {registry}` works too; after docker/login-action, \
         set `DOCKER_CONFIG: ${{{{ github.workspace }}}}/.docker` in the job's `env:` (before the \
         login step) so that this container action can read its login"
    );
    if registry == "ghcr.io" {
        hint.push_str(
            "; for ghcr.io in a workflow, the `github-token` input (the workflow's token unless \
             set to something else) logs in, with `permissions: packages: write` in the workflow \
             or job",
        );
    }
    hint
}

/// What to check when a registry refused the credentials from `origin`.
fn rejected_hint(registry: &str, origin: &CredentialOrigin) -> String {
    match origin {
        CredentialOrigin::InputLine(line) => format!(
            "check the username and the secret on line {line} of `credentials`: a wrong or expired \
             password or token, or a `password-env=` variable that holds another secret"
        ),
        CredentialOrigin::GithubToken => format!(
            "the workflow's token needs `permissions: packages: write` in the workflow or job, and, \
             for a package that already exists, Actions access for this repository in the package's \
             settings; or give a personal access token with `write:packages` in a `credentials` \
             line for {registry}"
        ),
        CredentialOrigin::DockerConfig(_) => format!(
            "the stored login is wrong or expired: run `docker login {registry}` again, or give a \
             `credentials` line for {registry} (it takes precedence over Docker's config)"
        ),
        CredentialOrigin::Configured => {
            format!("check the username and password given for {registry}")
        }
    }
}

fn status_message(
    status: u16,
    method: &str,
    url: &str,
    code: Option<&str>,
    message: Option<&str>,
    hint: Option<&str>,
) -> String {
    let mut out = format!("{method} {url}: HTTP {status}");
    if let Some(code) = code {
        out.push_str(&format!(" {code}"));
    }
    if let Some(message) = message {
        out.push_str(&format!(": {message}"));
    }
    if let Some(hint) = hint {
        out.push_str(&format!("\nhint: {hint}"));
    }
    out
}

/// reqwest's Display stops at the outermost layer; the cause (refused, certificate) is what helps.
/// A certificate the client cannot trust is said in plain words, with what to do about it.
pub(crate) fn transport_message(err: &reqwest::Error) -> String {
    if let Some(problem) = certificate_problem(err) {
        return format!("TLS: {}\nhint: {}", problem.cause(), problem.hint());
    }
    let mut out = String::new();
    let mut current: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        current = e.source();
    }
    out
}

/// Whether running again can get past a transport error: not a build error, a redirect loop or
/// a certificate the client does not trust.
pub fn is_transient_transport(err: &reqwest::Error) -> bool {
    !(err.is_builder() || err.is_redirect() || err.is_decode())
        && certificate_problem(err).is_none()
}

/// Why the client refused a registry's TLS certificate. Sending again gets the same
/// certificate: not worth a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CertificateProblem {
    /// Signed by a CA the client does not trust (a self-signed or private CA).
    UnknownIssuer,
    /// Issued for other names than the host.
    WrongName(String),
    Expired,
    NotYetValid,
    Revoked,
    /// Anything else the certificate check refused (the verifier's words).
    Other(String),
}

impl CertificateProblem {
    fn cause(&self) -> String {
        match self {
            CertificateProblem::UnknownIssuer => {
                "the certificate is signed by an unknown issuer".to_owned()
            }
            CertificateProblem::WrongName(detail) => {
                format!("the certificate is not valid for this host ({detail})")
            }
            CertificateProblem::Expired => "the certificate has expired".to_owned(),
            CertificateProblem::NotYetValid => "the certificate is not valid yet".to_owned(),
            CertificateProblem::Revoked => "the certificate was revoked".to_owned(),
            CertificateProblem::Other(detail) => format!("the certificate was refused: {detail}"),
        }
    }

    fn hint(&self) -> &'static str {
        match self {
            CertificateProblem::UnknownIssuer => {
                "trust the CA that signed the registry's certificate: set `SSL_CERT_FILE` to its PEM \
                 file (or `SSL_CERT_DIR` to a directory of them) in the step's `env:`, at a path inside \
                 the container (e.g. under `/github/workspace`); `insecure-registries` does not turn \
                 certificate checks off, it only lets a registry that does not speak TLS be reached \
                 over plain HTTP"
            }
            CertificateProblem::WrongName(_) => {
                "use the registry name its certificate was issued for, or have the certificate \
                 reissued with this name; `insecure-registries` does not turn certificate checks off"
            }
            CertificateProblem::Expired | CertificateProblem::NotYetValid => {
                "the registry's certificate needs renewing (or this machine's clock is wrong); \
                 retrying does not help"
            }
            CertificateProblem::Revoked | CertificateProblem::Other(_) => {
                "the registry's certificate must be replaced, or its CA trusted through \
                 `SSL_CERT_FILE` / `SSL_CERT_DIR`; retrying does not help"
            }
        }
    }
}

/// The rustls error in `e`, itself or wrapped in `io::Error`s (whose `source()` skips what they
/// wrap: hyper's connect error holds an `io::Error` holding the `io::Error` of the TLS stream).
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = e;
    for _ in 0..8 {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        let io = current.downcast_ref::<std::io::Error>()?;
        current = io.get_ref()?;
    }
    None
}

/// A name rustls presents (`DnsName("registry.test")`) as the name alone.
fn presented_name(name: &str) -> &str {
    name.strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .unwrap_or(name)
}

/// The certificate problem behind a transport error, if that is what it is: each link of the
/// chain is looked into.
pub(crate) fn certificate_problem(err: &reqwest::Error) -> Option<CertificateProblem> {
    use rustls::CertificateError as C;
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(rustls::Error::InvalidCertificate(cert)) = rustls_error(e) {
            return Some(match cert {
                C::UnknownIssuer => CertificateProblem::UnknownIssuer,
                C::NotValidForName => CertificateProblem::WrongName("another name".into()),
                C::NotValidForNameContext {
                    expected,
                    presented,
                } => CertificateProblem::WrongName(format!(
                    "it names {}, not {}",
                    if presented.is_empty() {
                        "no host".to_owned()
                    } else {
                        presented
                            .iter()
                            .map(|name| presented_name(name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                    expected.to_str()
                )),
                C::Expired | C::ExpiredContext { .. } => CertificateProblem::Expired,
                C::NotValidYet | C::NotValidYetContext { .. } => CertificateProblem::NotYetValid,
                C::Revoked => CertificateProblem::Revoked,
                other => CertificateProblem::Other(format!("{other:?}")),
            });
        }
        current = e.source();
    }
    None
}

/// The hint for a 403 from a registry, when the fix is known.
pub(crate) fn forbidden_hint(registry: &str) -> Option<String> {
    (registry == "ghcr.io").then(|| {
        "pushing to ghcr.io from a workflow needs `permissions: packages: write` in the workflow or job, \
         and, for a package that already exists, Actions access for this repository in the package's \
         settings (Package settings -> Manage Actions access)"
            .to_owned()
    })
}

/// Strips the query and any userinfo from a URL for error messages and logs.
pub(crate) fn display_url(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
