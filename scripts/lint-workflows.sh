#!/usr/bin/env bash
# Lints the GitHub workflows and action.yml as GitHub will run them:
#   - zizmor (pinned, from PyPI, offline, auditor persona): any finding of medium or high severity
#     fails; a finding that is accepted carries a `# zizmor: ignore[<audit>]` comment with its
#     reason next to it.
#   - shellcheck over every `run:` block of every workflow, each checked as the shell that runs it
#     (the step's `shell:`, else the job's or the workflow's `defaults.run.shell`, else GitHub's
#     default: `sh` in a container job, `bash` otherwise), with each `${{ ... }}` expression
#     replaced by a plain word (the runner substitutes it as text before the shell starts).
# Installs what is missing (shellcheck with apt; zizmor and PyYAML into a venv under target/),
# and exits non-zero on any finding.
#
# Usage: bash scripts/lint-workflows.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ZIZMOR_VERSION=1.32.0
PYYAML_VERSION=6.0.3
venv="${CARGO_TARGET_DIR:-target}/lint-venv"

ra_apt_ensure shellcheck:shellcheck python3:python3

# The venv is reused while it holds the pinned versions; otherwise it is made anew.
venv_ok() {
    [[ -x "$venv/bin/zizmor" && -x "$venv/bin/python" ]] &&
        [[ "$("$venv/bin/zizmor" --version 2>/dev/null)" == "zizmor $ZIZMOR_VERSION" ]] &&
        [[ "$("$venv/bin/python" -c 'import yaml; print(yaml.__version__)' 2>/dev/null)" == "$PYYAML_VERSION" ]]
}
if ! venv_ok; then
    ra_log "installing zizmor $ZIZMOR_VERSION and PyYAML $PYYAML_VERSION into $venv"
    rm -rf "$venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
        # Debian's python3 keeps venv (ensurepip) in its own package.
        rm -rf "$venv"
        ra_apt_ensure python3-venv:
        python3 -m venv "$venv" || ra_die "python3 -m venv $venv failed"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "zizmor==$ZIZMOR_VERSION" "PyYAML==$PYYAML_VERSION" ||
        ra_die "pip install zizmor==$ZIZMOR_VERSION PyYAML==$PYYAML_VERSION failed"
    venv_ok || ra_die "$venv does not hold zizmor $ZIZMOR_VERSION and PyYAML $PYYAML_VERSION"
fi

workflows=(.github/workflows/*.yml)
failed=0

ra_log "zizmor $ZIZMOR_VERSION --offline --persona auditor --min-severity medium"
if ! "$venv/bin/zizmor" --offline --no-progress --color never --persona auditor \
    --min-severity medium "${workflows[@]}" action.yml; then
    ra_warn "zizmor reported findings (above)"
    failed=1
fi

ra_log "shellcheck $(shellcheck --version | sed -n 's/^version: //p') over every run: block"
blocks="$(mktemp -d)"
trap 'rm -rf "$blocks"' EXIT
# Writes one file per run: block into $blocks and prints `<shell> <file> <where>` per block.
"$venv/bin/python" - "$blocks" "${workflows[@]}" >"$blocks/index" <<'PY'
import os
import re
import sys

import yaml

out = sys.argv[1]
EXPR = re.compile(r"\$\{\{.*?\}\}", re.S)


def default_shell(node):
    if not isinstance(node, dict):
        return None
    defaults = node.get("defaults") or {}
    return (defaults.get("run") or {}).get("shell")


count = 0
for path in sys.argv[2:]:
    with open(path, encoding="utf-8") as f:
        workflow = yaml.safe_load(f)
    for job_id, job in (workflow.get("jobs") or {}).items():
        for index, step in enumerate(job.get("steps") or []):
            run = step.get("run")
            if run is None:
                continue
            shell = step.get("shell") or default_shell(job) or default_shell(workflow)
            if shell is None:
                shell = "sh" if job.get("container") else "bash"
            shell = shell.split()[0]
            if shell not in ("bash", "sh"):
                continue
            count += 1
            name = step.get("name") or step.get("id") or f"step {index + 1}"
            file = os.path.join(out, f"{count:03d}.sh")
            with open(file, "w", encoding="utf-8") as f:
                f.write(EXPR.sub("GITHUB_EXPRESSION", run))
            where = f"{path}: jobs.{job_id}: {name}".replace("\n", " ")
            print(shell, file, where)
PY
while read -r shell file where; do
    if ! shellcheck --shell="$shell" --format=gcc "$file" | sed "s|^$file|$where|"; then
        failed=1
    fi
done <"$blocks/index"
[[ -s "$blocks/index" ]] || ra_die "found no run: blocks in ${workflows[*]}"

[[ "$failed" -eq 0 ]] || ra_die "workflow lint found problems (see above)"
ra_log "workflows lint clean: zizmor and shellcheck over $(wc -l <"$blocks/index") run: blocks"
