"""Drives scripts/bench-publish.sh: registry-action publish vs skopeo on three local registries.

Every run starts from fresh registries (stopped, storage wiped, restarted on 127.0.0.1), seeds
what the scenario needs untimed, then times one tool. Requests are counted from each registry's
access log; "blob bytes" is what the registry committed to its blob store during the timed part.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target/release/registry-action")
SAMPLE = os.path.join(ROOT, "target/release/sample-image")
REGISTRY = "/usr/bin/docker-registry"
TAGS_A = ["v1.2.3", "v1.2", "v1", "latest", "main-abc1234", "sha-abc1234"]
TAGS_B = [f"extra-{i}" for i in range(1, 7)]
TAGS_C = ["v1.2.4", "v1.2", "v1", "latest", "main-def5678", "sha-def5678"]


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    def __init__(self, name, base):
        self.name = name
        self.dir = os.path.join(base, name)
        self.port = free_port()
        self.proc = None

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, "data"))
        config = os.path.join(self.dir, "config.yml")
        with open(config, "w") as f:
            f.write(f"""version: 0.1
log:
  level: warn
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {self.dir}/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{self.port}
""")
        self.log = open(os.path.join(self.dir, "registry.log"), "w")
        self.proc = subprocess.Popen([REGISTRY, "serve", config], stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1)
                return
            except Exception:
                time.sleep(0.05)
        raise SystemExit(f"registry {self.name} did not start")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
            self.log.close()
            self.proc = None

    def requests(self):
        time.sleep(0.1)  # the access log line is written after the response
        with open(os.path.join(self.dir, "registry.log")) as f:
            return sum(1 for line in f if '"GET /v2' in line or '"HEAD /v2' in line or '"PUT /v2' in line
                       or '"POST /v2' in line or '"PATCH /v2' in line or '"DELETE /v2' in line)

    def breakdown(self, skip):
        """Requests after the first `skip`, by method and what they address (manifests, blobs, uploads, tags)."""
        import re
        counts = {}
        with open(os.path.join(self.dir, "registry.log")) as f:
            lines = [l for l in f if re.search(r'"(GET|HEAD|PUT|POST|PATCH|DELETE) /v2/', l)]
        for line in lines[skip:]:
            m = re.search(r'"(\w+) /v2/\S*?/(manifests|blobs/uploads|blobs|tags)/', line)
            if m:
                key = f"{m.group(1)} {m.group(2)}"
                counts[key] = counts.get(key, 0) + 1
        return counts

    def cpu_seconds(self):
        """User plus system CPU the registry process has used so far."""
        fields = open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def blob_bytes(self):
        total = 0
        blobs = os.path.join(self.dir, "data/docker/registry/v2/blobs")
        for dirpath, _, files in os.walk(blobs):
            total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files if f == "data")
        return total


def run(cmd, **kw):
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if result.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{result.stdout}\n{result.stderr}")
    return result


def skopeo_copy(src, dest):
    run(["skopeo", "copy", "--all", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false",
         "--quiet", src, dest])


def publish(source, images, tags_rules, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_"))}
    env.update(env_extra or {})
    out = tempfile.mkdtemp()
    run([BIN, "publish", "--source", source, "--images", "\n".join(images), "--tags", "\n".join(tags_rules),
         "--output", os.path.join(out, "output"), "--summary", os.path.join(out, "summary")], env=env)
    shutil.rmtree(out)


def sha256(data):
    import hashlib
    return "sha256:" + hashlib.sha256(data).hexdigest()


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, dict(resp.headers), resp.read()


def push_blob(host, repo, data):
    digest = sha256(data)
    _, headers, _ = http("POST", f"http://{host}/v2/{repo}/blobs/uploads/")
    location = headers["Location"]
    location = location if location.startswith("http") else f"http://{host}{location}"
    sep = "&" if "?" in location else "?"
    http("PUT", f"{location}{sep}digest={digest}", data, {"Content-Type": "application/octet-stream"})
    return {"mediaType": "application/octet-stream", "digest": digest, "size": len(data)}


def push_manifest(host, repo, reference, doc, media_type):
    data = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    http("PUT", f"http://{host}/v2/{repo}/manifests/{reference}", data, {"Content-Type": media_type})
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data)}


OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"


def seed_referrers(host, repo, layout):
    """Signs and attests the image at `host/repo:src` as cosign v3 and attest-build-provenance do
    on a registry without the referrers API: referrer manifests with a `subject`, each listed in
    the fallback index `sha256-<hex>` of its subject, plus a cosign v2 `.sig` tag. Referrers: a
    signature and an attestation of the index, an SBOM of its linux/amd64 child, a signature of
    the attestation, the legacy signature. Returns (referrers, subjects with a fallback index)."""
    with open(os.path.join(layout, "index.json")) as f:
        top = json.load(f)["manifests"][0]
    algo, hexd = top["digest"].split(":")
    with open(os.path.join(layout, "blobs", algo, hexd), "rb") as f:
        index = json.load(f)
    amd64 = next(m for m in index["manifests"] if m.get("platform", {}).get("architecture") == "amd64")
    subject = {k: top[k] for k in ("mediaType", "digest", "size")}
    child = {k: amd64[k] for k in ("mediaType", "digest", "size")}
    empty = dict(push_blob(host, repo, b"{}"), mediaType=EMPTY)
    listed = {}

    def refer(to, artifact_type, payload):
        layer = dict(push_blob(host, repo, payload), mediaType=artifact_type)
        doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
               "config": empty, "layers": [layer], "subject": to,
               "annotations": {"org.opencontainers.image.created": "2026-12-03T00:00:00Z"}}
        desc = push_manifest(host, repo, sha256(json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()),
                             doc, OCI_MANIFEST)
        listed.setdefault(to["digest"], []).append(dict(desc, artifactType=artifact_type,
                                                        annotations=doc["annotations"]))
        return desc

    refer(subject, "application/vnd.dev.sigstore.bundle.v0.3+json", b"signature of the index")
    att = refer(subject, "application/vnd.in-toto+json", b"provenance of the index" * 64)
    refer(child, "application/spdx+json", b"sbom of linux/amd64" * 256)
    refer(att, "application/vnd.dev.sigstore.bundle.v0.3+json", b"signature of the attestation")
    for digest, entries in listed.items():
        push_manifest(host, repo, digest.replace(":", "-"),
                      {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, OCI_INDEX)
    legacy_layer = dict(push_blob(host, repo, b"cosign v2 simple signing payload"),
                        mediaType="application/vnd.dev.cosign.simplesigning.v1+json")
    push_manifest(host, repo, top["digest"].replace(":", "-") + ".sig",
                  {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": empty, "layers": [legacy_layer]},
                  OCI_MANIFEST)
    return 5, len(listed)


def semver_rules(version, branch_tags):
    return ([f"type=semver,pattern={{{{version}}}},value=v{version},prefix=v",
             f"type=semver,pattern={{{{major}}}}.{{{{minor}}}},value=v{version},prefix=v",
             f"type=semver,pattern={{{{major}}}},value=v{version},prefix=v"]
            + [f"type=raw,value={t}" for t in branch_tags])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--platform-mib", type=int, default=64)
    parser.add_argument("--only", default="abcd", help="scenarios to run, e.g. 'ac'; 'e' adds referrers")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bench-publish-")
    build1, build2 = os.path.join(work, "build1"), os.path.join(work, "build2")
    for out, top in ((build1, 1), (build2, 2)):
        run([SAMPLE, "--out", out, "--platform-mib", str(args.platform_mib), "--layers", "4",
             "--seed", "7", "--top-seed", str(top), "--ref", "src"])
    unique = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(os.path.join(build1, "blobs")) for f in fs)
    regs = {n: Registry(n, work) for n in "ABC"}

    def fresh():
        for r in regs.values():
            r.stop()
            r.start()

    A, B, C = (regs[n].host for n in "ABC")
    scenarios = {
        # (a) publish from A to B and C with 6 tags
        "a": dict(
            seed=lambda: skopeo_copy(f"oci:{build1}:src", f"docker://{A}/bench/app:src"),
            ours=lambda: publish(f"docker://{A}/bench/app:src", [f"{B}/bench/app", f"{C}/bench/app"],
                                 semver_rules("1.2.3", ["main-abc1234", "sha-abc1234"])),
            skopeo=lambda: [skopeo_copy(f"docker://{A}/bench/app:src", f"docker://{d}/bench/app:{t}")
                            for d in (B, C) for t in TAGS_A]),
        # (b) add 6 new tags to the image already in B (source: B itself)
        "b": dict(
            seed=lambda: skopeo_copy(f"oci:{build1}:src", f"docker://{B}/bench/app:src"),
            ours=lambda: publish(f"docker://{B}/bench/app:src", [f"{B}/bench/app"], [f"type=raw,value={t}" for t in TAGS_B]),
            skopeo=lambda: [skopeo_copy(f"docker://{B}/bench/app:src", f"docker://{B}/bench/app:{t}") for t in TAGS_B]),
        # (c) a new build that changes only the top layers, released as v1.2.4
        "c": dict(
            seed=lambda: ([skopeo_copy(f"oci:{build1}:src", f"docker://{d}/bench/app:{t}") for d in (B, C) for t in TAGS_A],
                          skopeo_copy(f"oci:{build2}:src", f"docker://{A}/bench/app:src")),
            ours=lambda: publish(f"docker://{A}/bench/app:src", [f"{B}/bench/app", f"{C}/bench/app"],
                                 semver_rules("1.2.4", ["main-def5678", "sha-def5678"])),
            skopeo=lambda: [skopeo_copy(f"docker://{A}/bench/app:src", f"docker://{d}/bench/app:{t}")
                            for d in (B, C) for t in TAGS_C]),
        # (d) as (a), from an OCI layout directory
        "d": dict(
            seed=lambda: None,
            ours=lambda: publish(f"oci:{build1}:src", [f"{B}/bench/app", f"{C}/bench/app"],
                                 semver_rules("1.2.3", ["main-abc1234", "sha-abc1234"])),
            skopeo=lambda: [skopeo_copy(f"oci:{build1}:src", f"docker://{d}/bench/app:{t}")
                            for d in (B, C) for t in TAGS_A]),
        # (e) as (a), the image signed and attested in A (fallback indexes and a cosign tag):
        # the requests referrers add per destination, against (a)
        "e": dict(
            seed=lambda: (skopeo_copy(f"oci:{build1}:src", f"docker://{A}/bench/app:src"),
                          seed_referrers(A, "bench/app", build1)),
            ours=lambda: publish(f"docker://{A}/bench/app:src", [f"{B}/bench/app", f"{C}/bench/app"],
                                 semver_rules("1.2.3", ["main-abc1234", "sha-abc1234"])),
            # skopeo copies no referrers of these forms (only `.sig` tags, with configuration)
            skopeo=lambda: [skopeo_copy(f"docker://{A}/bench/app:src", f"docker://{d}/bench/app:{t}")
                            for d in (B, C) for t in TAGS_A]),
    }
    results = []
    try:
        for name, sc in scenarios.items():
            if name not in args.only:
                continue
            # The tools take turns run by run, so a machine that speeds up or slows down during
            # the benchmark weighs on both alike.
            runs = {tool: dict(times=[], reqs=[], committed=[], cpu=[]) for tool in ("skopeo", "ours")}
            for _ in range(args.runs):
                for tool, got in runs.items():
                    fresh()
                    sc["seed"]()
                    before = {n: (r.requests(), r.blob_bytes()) for n, r in regs.items()}
                    cpu_before = {n: r.cpu_seconds() for n, r in regs.items()}
                    tool_before = os.times()
                    start = time.monotonic()
                    sc[tool]()
                    got["times"].append(time.monotonic() - start)
                    tool_after = os.times()
                    cpu = {n: r.cpu_seconds() - cpu_before[n] for n, r in regs.items()}
                    cpu["tool"] = (tool_after.children_user - tool_before.children_user
                                   + tool_after.children_system - tool_before.children_system)
                    cpu["total"] = sum(cpu.values())
                    got["cpu"].append(cpu)
                    got["reqs"].append({n: r.requests() - before[n][0] for n, r in regs.items()})
                    got.setdefault("kinds", []).append(regs["B"].breakdown(before["B"][0]))
                    got["committed"].append({n: r.blob_bytes() - before[n][1] for n, r in regs.items()})
            for tool, got in runs.items():
                results.append(dict(scenario=name, tool=tool, median_s=statistics.median(got["times"]),
                                    times=got["times"], requests=got["reqs"][-1], kinds_b=got["kinds"][-1],
                                    blob_bytes=got["committed"][-1],
                                    cpu_s={k: statistics.median(c[k] for c in got["cpu"]) for k in got["cpu"][0]}))
    finally:
        for r in regs.values():
            r.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nimage: 2 platforms x 4 layers, {args.platform_mib} MiB per platform; unique blob bytes {unique}; "
          f"{args.runs} runs per tool and scenario, registries reset before each run\n")
    print("| scenario | tool | median wall (s) | vs skopeo | requests A / B / C | blob bytes committed B / C |")
    print("| --- | --- | --- | --- | --- | --- |")
    by = {(r["scenario"], r["tool"]): r for r in results}
    for r in results:
        ratio = r["median_s"] / by[(r["scenario"], "skopeo")]["median_s"]
        q = r["requests"]
        b = r["blob_bytes"]
        print(f"| ({r['scenario']}) | {'registry-action' if r['tool'] == 'ours' else 'skopeo'} | {r['median_s']:.3f} | "
              f"{ratio:.2f}x | {q['A']} / {q['B']} / {q['C']} | {b['B']} / {b['C']} |")
    print("\nRequests at destination B by kind (last run):\n")
    for r in results:
        if r["tool"] == "ours":
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(r["kinds_b"].items()))
            print(f"- ({r['scenario']}) {kinds}")
    # Every process here shares this machine's cores, so the CPU all of them used bounds the wall
    # time from below: no client can finish before the registries have done their own work.
    cores = os.cpu_count()
    print(f"\nCPU seconds used during the timed part (medians; {cores} cores, so wall time is at least "
          f"the total / {cores}):\n")
    print("| scenario | tool | tool CPU | registry A / B / C CPU | total CPU | total / cores |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        c = r["cpu_s"]
        total = c["total"]
        print(f"| ({r['scenario']}) | {'registry-action' if r['tool'] == 'ours' else 'skopeo'} | {c['tool']:.2f} | "
              f"{c['A']:.2f} / {c['B']:.2f} / {c['C']:.2f} | {total:.2f} | {total / cores:.3f} |")
    with open(os.path.join(ROOT, "target/bench-publish.json"), "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
