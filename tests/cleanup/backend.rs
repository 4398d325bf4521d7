//! The three cleanup backends behind one face, so that one scenario runs on each: the plain OCI
//! distribution API (a real `docker-registry`), GHCR (the GitHub emulator in front of one) and
//! Docker Hub (the Hub emulator in front of one). Each sets up, publishes with the binary, runs
//! `cleanup` as a workflow would, counts the deletions it saw and reads back through the real
//! registry behind it, with skopeo.

use super::images::{Published, multi_arch, publish_to, signature, signature_tag};
use crate::emulator::github::{GithubEmulator, TOKEN, unix_now};
use crate::emulator::hub::{self, HubEmulator, PAT, Route};
use crate::registry::harness::Registry;
use crate::sample::{SampleImage, SampleSpec};
use crate::support::{Run, run};

/// The retention policy of the main scenario (release kept, old branch builds and closed pull
/// requests deleted, old untagged versions too).
pub const POLICY: &str = "\
keep tag=latest
keep semver=release
delete tag=main-* older-than=14d
delete pr=closed
delete untagged older-than=14d";

/// The GHCR package of the emulator's runs.
pub const PACKAGE: &str = "octo-org/app";
/// The Docker Hub repository of the emulator's runs.
pub const HUB_REPO: &str = "user/app";
/// The OCI runs' clock: the sample configs say `created: 1970-01-01T00:00:00Z`, 20 days before.
pub const TWENTY_DAYS: i64 = 1_728_000;
pub const DAY: i64 = 86_400;

/// Which backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Oci,
    Ghcr,
    Hub,
}

/// What the runs meet in front of the real registry.
enum Face {
    Oci,
    Ghcr(GithubEmulator),
    Hub(HubEmulator),
}

/// A real registry and the face a backend's runs meet (stopped on Drop, emulator first).
pub struct Backend {
    face: Face,
    pub registry: Registry,
}

impl Backend {
    /// A fresh registry with `kind`'s face in front; `None` when the registry tests skip.
    /// (GHCR: the package of an organization.)
    pub fn start(kind: Kind) -> Option<Backend> {
        match kind {
            Kind::Ghcr => Backend::ghcr("Organization"),
            Kind::Oci => Some(Backend {
                face: Face::Oci,
                registry: Registry::plain()?,
            }),
            Kind::Hub => {
                let registry = Registry::plain()?;
                let face = Face::Hub(HubEmulator::start(&registry));
                Some(Backend { face, registry })
            }
        }
    }

    /// GHCR with the package owned by `octo-org` as `owner_type` (`Organization`, `User`).
    pub fn ghcr(owner_type: &'static str) -> Option<Backend> {
        let registry = Registry::plain()?;
        let emulator = GithubEmulator::start(registry.addr, "octo-org", owner_type);
        Some(Backend {
            face: Face::Ghcr(emulator),
            registry,
        })
    }

    pub fn kind(&self) -> Kind {
        match self.face {
            Face::Oci => Kind::Oci,
            Face::Ghcr(_) => Kind::Ghcr,
            Face::Hub(_) => Kind::Hub,
        }
    }

    /// The GitHub emulator (GHCR only).
    pub fn github(&self) -> &GithubEmulator {
        match &self.face {
            Face::Ghcr(emulator) => emulator,
            _ => panic!("not a GHCR backend"),
        }
    }

    /// The Hub emulator (Docker Hub only).
    pub fn hub(&self) -> &HubEmulator {
        match &self.face {
            Face::Hub(hub) => hub,
            _ => panic!("not a Docker Hub backend"),
        }
    }

    /// The image as runs name it.
    pub fn image(&self) -> String {
        match &self.face {
            Face::Oci => format!("{}/app", self.registry.name()),
            Face::Ghcr(_) => format!("ghcr.io/{PACKAGE}"),
            Face::Hub(hub) => format!("{}/{HUB_REPO}", hub.registry_name()),
        }
    }

    /// The image's repository in the real registry behind the face.
    pub fn repo(&self) -> &'static str {
        match self.face {
            Face::Oci => "app",
            Face::Ghcr(_) => PACKAGE,
            Face::Hub(_) => HUB_REPO,
        }
    }

    /// The runs' clock (`SOURCE_DATE_EPOCH`, unix seconds).
    pub fn now(&self) -> i64 {
        match self.face {
            Face::Oci => TWENTY_DAYS,
            Face::Ghcr(_) => unix_now(),
            Face::Hub(_) => hub::NOW,
        }
    }

    /// What a publish needs: the runs' clock, and on GHCR `ghcr.io` with the test CA and
    /// `github-token`.
    fn reach(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![("SOURCE_DATE_EPOCH", self.now().to_string())];
        if let Face::Ghcr(emulator) = &self.face {
            env.extend(emulator.ghcr_env());
            env.push(("INPUT_GITHUB-TOKEN", TOKEN.to_owned()));
        }
        env
    }

    /// Publishes `spec` under `tags` from its own layout.
    pub fn publish(&self, spec: &SampleSpec, tags: &[&str]) -> Published {
        let env = self.reach();
        publish_to(&self.image(), spec, tags, &borrowed(&env))
    }

    /// Publishes a two-platform image (with or without attestations) under `tags`.
    pub fn publish_image(&self, seed: u64, attestation: bool, tags: &[&str]) -> Published {
        self.publish(&multi_arch(seed, attestation), tags)
    }

    /// A cosign-style signature of `subject`: one small manifest tagged `sha256-<hex>.sig`.
    pub fn sign(&self, seed: u64, subject: &SampleImage) -> Published {
        self.publish(&signature(seed), &[signature_tag(subject).as_str()])
    }

    /// Publishes `source` (a `docker://` reference) under `tag`, its referrers with it.
    pub fn copy(&self, source: &str, tag: &str) -> Run {
        let env = self.reach();
        let rule = format!("type=raw,value={tag}");
        let image = self.image();
        let args = [
            "publish", "--source", source, "--images", &image, "--tags", &rule,
        ];
        let r = run(&args, &borrowed(&env));
        assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
        r
    }

    /// `cleanup` under `policy` with the backend's login.
    pub fn cleanup(&self, policy: &str, dry_run: bool) -> Run {
        let login = match self.face {
            Face::Oci => None,
            Face::Ghcr(_) => Some(TOKEN),
            Face::Hub(_) => Some(PAT),
        };
        self.cleanup_as(login, policy, dry_run)
    }

    /// `cleanup` under `policy` as a workflow runs it, with `login` as `github-token` (GHCR) or
    /// as the Hub token in `DOCKERHUB_TOKEN` (`None`: no `credentials` input at all).
    pub fn cleanup_as(&self, login: Option<&str>, policy: &str, dry_run: bool) -> Run {
        self.cleanup_with(login, policy, dry_run, &[])
    }

    /// [`Backend::cleanup_as`] with `extra` variables (other inputs) too.
    pub fn cleanup_with(
        &self,
        login: Option<&str>,
        policy: &str,
        dry_run: bool,
        extra: &[(&str, &str)],
    ) -> Run {
        let image = self.image();
        let now = self.now().to_string();
        let mut env: Vec<(&'static str, String)> = vec![
            ("INPUT_IMAGES", image),
            ("INPUT_RETENTION", policy.to_owned()),
            ("INPUT_DRY-RUN", dry_run.to_string()),
            ("SOURCE_DATE_EPOCH", now),
        ];
        match &self.face {
            Face::Oci => env.push(("INPUT_CLOSED-PULL-REQUESTS", "1".into())),
            Face::Ghcr(emulator) => {
                env.extend(emulator.ghcr_env());
                env.extend([
                    ("INPUT_GITHUB-TOKEN", login.unwrap_or_default().to_owned()),
                    ("GITHUB_EVENT_NAME", "schedule".into()),
                    ("GITHUB_REPOSITORY", PACKAGE.into()),
                ]);
            }
            Face::Hub(hub) => {
                env.extend([
                    ("INPUT_CLOSED-PULL-REQUESTS", "1".into()),
                    ("INPUT_REGISTRY-APIS", hub.registry_apis()),
                ]);
                if let Some(token) = login {
                    env.push(("INPUT_CREDENTIALS", hub.credentials()));
                    env.push(("DOCKERHUB_TOKEN", token.to_owned()));
                }
            }
        }
        let mut vars = borrowed(&env);
        vars.extend_from_slice(extra);
        run(&["cleanup"], &vars)
    }

    /// Makes every version so far `days` old by the backend's own clock: GHCR's `created_at`,
    /// Hub's push time of each tag. The distribution API has no clock: there the image configs'
    /// `created` decides, and the runs' clock is set after the samples' (20 days).
    pub fn backdate_all(&self, days: i64) {
        match &self.face {
            Face::Oci => {}
            Face::Ghcr(emulator) => emulator
                .state()
                .set_all_created(PACKAGE, self.now() - days * DAY),
            Face::Hub(hub) => {
                for tag in hub.tags(HUB_REPO) {
                    hub.backdate(HUB_REPO, &tag, days);
                }
            }
        }
    }

    /// The deletions the registry (OCI) or the API (GHCR, Hub) was asked for so far.
    pub fn deletions(&self) -> usize {
        match &self.face {
            Face::Oci => self
                .registry
                .access_log()
                .iter()
                .filter(|(line, _)| line.starts_with("DELETE"))
                .count(),
            Face::Ghcr(emulator) => emulator
                .state()
                .requests
                .iter()
                .filter(|r| r.starts_with("DELETE"))
                .count(),
            Face::Hub(hub) => hub.requests(Route::Delete),
        }
    }

    /// The manifest at `reference` (`:tag` or `@digest`) in the real registry, if it resolves.
    pub fn read(&self, reference: &str) -> Option<Vec<u8>> {
        let output = std::process::Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!(
                "docker://{}/{}{reference}",
                self.registry.name(),
                self.repo()
            ))
            .output()
            .expect("run skopeo (apt-get install skopeo)");
        output.status.success().then_some(output.stdout)
    }
}

/// `(name, value)` pairs borrowed for [`run`].
pub fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(n, v)| (*n, v.as_str())).collect()
}
