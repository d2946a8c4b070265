#!/usr/bin/env python3
"""Runs the shell examples of the README and of docs/ as a reader would, and checks their links.

Each document's ```sh (or ```bash) blocks run in order, in one bash process of their own, from
the repository's root, in a clean environment: only PATH (the system's, plus the directory of
the `cargo` a reader installed), a fresh empty HOME, the toolchain's homes (rustup and cargo
find their toolchain by them) and MINISTACK_PORT when set. Everything else an example needs,
the text must have told the reader to set. The blocks run under `set -euo pipefail`: a failing
command, or an unset variable, fails the example and the build. A block that is not meant to
run (it deploys to AWS, runs `make test` itself, is an excerpt) says so on the line just before
its fence:

    <!-- not run: deploys to AWS -->

Blocks of other languages (json, python, cron, text) are never run.

Links: every relative link of every document (`[x](docs/api.md#bounds)`, `[x](#bounds)`) must
name a file of the repository and, with an anchor, one of that file's headings (GitHub's slugs).

    doc_examples.py --links              check the links only (make check: no stack needed)
    doc_examples.py [FILE ...]           run the examples of these documents (default: all)
    doc_examples.py --list [FILE ...]    print which blocks would run, with their lines
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_LANGUAGES = {"sh", "bash", "shell"}
NOT_RUN = re.compile(r"^<!--\s*not run:\s*\S.*-->\s*$")
FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
# One document's examples may take this long (a cold `make cli` is the longest step).
TIMEOUT_S = 1200


def documents() -> list[Path]:
    """The README first, then docs/ by name: the order a reader meets them."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    text: str
    skipped: str | None  # the reason it is not run, else None


def blocks(path: Path) -> list[Block]:
    out: list[Block] = []
    lines = path.read_text().split("\n")
    i = 0
    in_comment = False
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            # A block inside an HTML comment would run unseen by a reader: refused.
            line = lines[i]
            if "<!--" in line and "-->" not in line.split("<!--", 1)[1]:
                in_comment = True
            elif in_comment and "-->" in line:
                in_comment = False
            i += 1
            continue
        if in_comment:
            raise SystemExit(f"{rel(path)}:{i + 1}: a code block inside an HTML comment")
        fence, language = m.group(1), m.group(2).lower()
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        skipped = None
        if before.strip().startswith("<!--") and "not run" in before:
            if not NOT_RUN.match(before.strip()):
                raise SystemExit(f"{rel(path)}:{start}: a not-run marker needs a reason")
            skipped = before.strip()[len("<!--") : -len("-->")].strip()
        out.append(Block(path, start + 1, language, "\n".join(body) + "\n", skipped))
    return out


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\[|\]\([^)]*\)", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    in_code = False
    for line in path.read_text().split("\n"):
        if FENCE.match(line):
            in_code = not in_code
            continue
        if in_code or not line.startswith("#"):
            continue
        base = slug(line.lstrip("#"))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def check_links(paths: list[Path]) -> list[str]:
    problems = []
    for path in paths:
        in_code = False
        for number, line in enumerate(path.read_text().split("\n"), 1):
            if FENCE.match(line):
                in_code = not in_code
            if in_code:
                continue
            for target in LINK.findall(line):
                if re.match(r"^[a-z]+:", target):
                    continue  # http:, https:, mailto:
                file, _, anchor = target.partition("#")
                dest = (path.parent / file).resolve() if file else path
                if not dest.exists():
                    problems.append(f"{rel(path)}:{number}: {target}: no such file")
                elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                    problems.append(f"{rel(path)}:{number}: {target}: no such heading")
    return problems


def clean_environment(home: str) -> dict[str, str]:
    cargo = shutil.which("cargo")
    path = ["/usr/local/bin", "/usr/bin", "/bin"]
    if cargo and os.path.dirname(cargo) not in path:
        path.insert(0, os.path.dirname(cargo))
    real_home = os.environ.get("HOME", "")
    env = {
        "PATH": ":".join(path),
        "HOME": home,
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", f"{real_home}/.rustup"),
        "CARGO_HOME": os.environ.get("CARGO_HOME", f"{real_home}/.cargo"),
    }
    for name in ("MINISTACK_PORT", "CARGO_TARGET_DIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def script_of(path: Path, runnable: list[Block]) -> str:
    parts = [
        "set -euo pipefail",
        f"cd {shlex.quote(str(ROOT))}",
        'trap \'echo "doc example failed: $__block (line $((LINENO - __start)) of the block)" >&2\' ERR',
    ]
    for b in runnable:
        where = shlex.quote(f"{rel(path)}:{b.line}")
        parts.append(f'__block={where}; __start=$LINENO; echo "--- $__block" >&2')
        parts.append(b.text)
    return "\n".join(parts) + "\n"


def run(path: Path) -> bool:
    runnable = [b for b in blocks(path) if b.language in RUN_LANGUAGES and b.skipped is None]
    if not runnable:
        return True
    with tempfile.TemporaryDirectory(prefix="doc-examples-") as home:
        script = Path(home) / "examples.sh"
        script.write_text(script_of(path, runnable))
        print(f"doc examples: {rel(path)}: {len(runnable)} blocks", flush=True)
        # Its own process group: what an example leaves running (a receiver started with `&`
        # and not stopped, a hung command) is stopped with it.
        shell = subprocess.Popen(
            ["bash", "--noprofile", "--norc", str(script)],
            env=clean_environment(home),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            transcript, _ = shell.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(shell.pid, signal.SIGKILL)
            shell.communicate()
            print(f"doc examples: {rel(path)}: timed out after {TIMEOUT_S} s", file=sys.stderr)
            return False
        finally:
            try:
                os.killpg(shell.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        done = subprocess.CompletedProcess(shell.args, shell.returncode, transcript)
    if done.returncode != 0:
        # The whole transcript: what the reader would have seen up to the failure.
        sys.stderr.write(done.stdout)
        print(f"doc examples: {rel(path)}: FAILED (exit {done.returncode})", file=sys.stderr)
        return False
    return True


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    paths = [ROOT / a for a in args] if args else documents()
    problems = check_links(documents())
    for p in problems:
        print(p, file=sys.stderr)
    if "--links" in argv:
        print(f"doc links: {len(documents())} documents, {len(problems)} broken links")
        return 1 if problems else 0
    if "--list" in argv:
        for path in paths:
            for b in blocks(path):
                if b.language in RUN_LANGUAGES:
                    state = f"{b.skipped}" if b.skipped else "runs"
                    print(f"{rel(path)}:{b.line}: {state}")
        return 0
    failed = [rel(p) for p in paths if not run(p)]
    if failed:
        print(f"doc examples: failed in {', '.join(failed)}", file=sys.stderr)
        return 1
    if problems:
        return 1
    print(f"doc examples: every example of {len(paths)} documents ran")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
