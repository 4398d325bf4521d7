//! Assembles the action's container image as an OCI image layout from prebuilt static binaries
//! (scripts/build-image.sh runs it): `--binary linux/amd64=PATH --binary linux/arm64=PATH
//! --ca-bundle FILE --out DIR`, with `SOURCE_DATE_EPOCH` for every timestamp. Prints the index
//! digest, then one line per platform with its manifest digest and sizes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use imagekit::action_image::{self, Inputs, Platform};

/// Assemble registry-action's OCI image layout, reproducibly.
#[derive(Debug, Parser)]
struct Args {
    /// A platform and its static binary, `os/arch[/variant]=PATH`; repeat per platform.
    #[arg(long = "binary", required = true, value_name = "PLATFORM=PATH")]
    binaries: Vec<String>,
    /// The CA bundle (PEM) to ship as /etc/ssl/certs/ca-certificates.crt.
    #[arg(long, value_name = "FILE")]
    ca_bundle: PathBuf,
    /// Where to write the layout; must be missing or empty.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// A config label `KEY=VALUE`; repeatable.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    labels: Vec<String>,
    /// Seconds since the epoch for every timestamp in the image.
    #[arg(long, env = "SOURCE_DATE_EPOCH")]
    source_date_epoch: u64,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let mut binaries = BTreeMap::new();
    for spec in &args.binaries {
        let (platform, path) = spec
            .split_once('=')
            .ok_or_else(|| format!("--binary {spec}: expected PLATFORM=PATH"))?;
        let platform = Platform::parse(platform).map_err(|e| e.to_string())?;
        if binaries.contains_key(&platform) {
            return Err(action_image::Error::DuplicatePlatform { platform }.to_string());
        }
        binaries.insert(platform, read(Path::new(path))?);
    }
    let mut labels = BTreeMap::new();
    for spec in &args.labels {
        let (key, value) = spec
            .split_once('=')
            .ok_or_else(|| format!("--label {spec}: expected KEY=VALUE"))?;
        labels.insert(key.to_owned(), value.to_owned());
    }
    if args.out.exists() && std::fs::read_dir(&args.out).map_or(true, |mut d| d.next().is_some()) {
        return Err(format!(
            "{} exists and is not an empty directory",
            args.out.display()
        ));
    }
    let inputs = Inputs {
        binaries,
        ca_bundle: read(&args.ca_bundle)?,
        source_date_epoch: args.source_date_epoch,
        labels,
    };
    let layout = action_image::assemble(&inputs).map_err(|e| e.to_string())?;
    action_image::write_layout(&layout, &args.out).map_err(|e| e.to_string())?;
    println!("index-digest {}", layout.index_digest);
    for p in &layout.platforms {
        println!(
            "platform {} manifest={} layer-tar-bytes={} layer-gzip-bytes={} pull-bytes={}",
            p.platform, p.manifest_digest, p.layer_tar_bytes, p.layer_gzip_bytes, p.pull_bytes
        );
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}
