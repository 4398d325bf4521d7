#!/usr/bin/env python3
"""Lists Rust files over a line budget and functions over a line budget.

Usage: scripts/sizes.py [--file-lines N] [--fn-lines N] [DIR...]   (default: 400, 80, src)

Rough on purpose: a function runs from its `fn` line to the first later line that is a lone
closing brace at the `fn` line's indent (so a signature spread over several lines counts). A `fn`
that ends in `;` (a trait declaration) or closes on its own line is skipped. Files named
`*_tests.rs` and `tests.rs` are listed with "(tests)" so that a long test file reads as one.
Prints files first, longest first, then functions, longest first; exits 0.
"""

import argparse
import os
import re
import sys

FN = re.compile(
    r"^(?P<indent>\s*)(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?"
    r"(?:extern\s+\"[^\"]*\"\s+)?fn\s+(?P<name>\w+)"
)


def rust_files(roots):
    for root in roots:
        for directory, _, names in os.walk(root):
            for name in sorted(names):
                if name.endswith(".rs"):
                    yield os.path.join(directory, name)


def is_tests(path):
    name = os.path.basename(path)
    return name == "tests.rs" or name.endswith("_tests.rs")


def functions(lines):
    """Yields (name, first line number, length) for each function with a body."""
    for index, line in enumerate(lines):
        match = FN.match(line)
        if not match:
            continue
        closing = match.group("indent") + "}"
        for end in range(index, len(lines)):
            text = lines[end].rstrip()
            if end == index and text.endswith(("}", ";")):
                break  # a one-line function, or a declaration without a body
            if "{" not in "".join(lines[index:end + 1]) and text.endswith(";"):
                break  # a declaration spread over several lines
            if end > index and text == closing:
                yield match.group("name"), index + 1, end - index + 1
                break


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file-lines", type=int, default=400)
    parser.add_argument("--fn-lines", type=int, default=80)
    parser.add_argument("roots", nargs="*", default=["src"])
    args = parser.parse_args(argv)

    files, fns = [], []
    for path in rust_files(args.roots):
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        if len(lines) > args.file_lines:
            files.append((len(lines), path))
        for name, start, length in functions(lines):
            if length > args.fn_lines:
                fns.append((length, f"{path}:{start}", name))

    print(f"files over {args.file_lines} lines: {len(files)}")
    for length, path in sorted(files, key=lambda row: (-row[0], row[1])):
        mark = " (tests)" if is_tests(path) else ""
        print(f"  {length:5}  {path}{mark}")
    print(f"functions over {args.fn_lines} lines: {len(fns)}")
    for length, place, name in sorted(fns, key=lambda row: (-row[0], row[1])):
        print(f"  {length:5}  {place}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
