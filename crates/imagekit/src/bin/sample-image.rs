//! Writes a deterministic sample image (an OCI layout, optionally tarred) for demos and
//! benchmarks, and prints its root digest: the input of `registry-action publish` in tests.
//!
//! `cargo run --release -p imagekit --bin sample-image -- --out DIR [--platform-mib 64] [--layers 4]
//! [--seed N] [--top-seed N] [--archive FILE]`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use imagekit::sample::{SampleSpec, write_archive, write_layout};

/// Generate a deterministic multi-platform OCI image layout.
#[derive(Parser)]
struct Args {
    /// The layout directory to write (created when missing).
    #[arg(long)]
    out: PathBuf,
    /// Payload MiB per platform, split evenly over its layers.
    #[arg(long, default_value_t = 64)]
    platform_mib: u64,
    /// Layers per platform (the last one is the top layer).
    #[arg(long, default_value_t = 4)]
    layers: u64,
    /// Seeds every layer but the top ones.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seeds the top layer of each platform (change it alone for a "new build").
    #[arg(long, default_value_t = 1)]
    top_seed: u64,
    /// Platforms, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "linux/amd64,linux/arm64")]
    platforms: Vec<String>,
    /// Make the bottom layer one base shared by all platforms.
    #[arg(long)]
    shared_base: bool,
    /// Docker schema 2 media types instead of OCI.
    #[arg(long)]
    docker: bool,
    /// Add a buildx-style attestation manifest per platform.
    #[arg(long)]
    attestation: bool,
    /// Wrap the platform index in an outer index.
    #[arg(long)]
    nested_index: bool,
    /// The root's `org.opencontainers.image.ref.name` in index.json.
    #[arg(long = "ref")]
    ref_name: Option<String>,
    /// Also tar the layout into this OCI archive.
    #[arg(long)]
    archive: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.layers == 0 {
        eprintln!("error: --layers must be at least 1");
        return ExitCode::FAILURE;
    }
    let layer = args.platform_mib * 1024 * 1024 / args.layers;
    let own = if args.shared_base {
        args.layers - 1
    } else {
        args.layers
    };
    let spec = SampleSpec {
        platforms: args.platforms,
        layer_sizes: vec![layer; own as usize],
        shared_base: args.shared_base.then_some(layer),
        docker_media_types: args.docker,
        attestation: args.attestation,
        nested_index: args.nested_index,
        seed: args.seed,
        top_layer_seed: args.top_seed,
        ref_name: args.ref_name,
        ..SampleSpec::default()
    };
    let result = write_layout(&args.out, &spec).and_then(|image| {
        if let Some(file) = &args.archive {
            write_archive(&args.out, file)?;
        }
        Ok(image)
    });
    match result {
        Ok(image) => {
            println!("{}", image.root.digest);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "error: writing the sample image to {}: {e}",
                args.out.display()
            );
            ExitCode::FAILURE
        }
    }
}
