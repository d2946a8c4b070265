#!/usr/bin/env python3
"""Fails when the table's layout is written outside the DynamoDB adapter.

The adapter (`shared/src/aws/dynamodb/`) is the only code that knows the table: its key
prefixes and sort keys (the registry, `keys.rs`), the attribute names its items hold, and the
stream's event and image names (`stream.rs`). Everything else works with the domain's types
(`domain::changes` for the stream). This reads that vocabulary off the adapter itself and
reports every Rust string literal elsewhere that spells part of it:

- a literal that starts with a key prefix of the registry (`"F#…"`, `"W#{id}"`), or is one of
  its bare partition keys (`"CASCADE"`, `"ALL"`, `"KALL"`);
- a stream event or image name (`"INSERT"`, `"NewImage"`, …);
- an attribute name the adapter writes that the API never shows (the OpenAPI document's
  property and parameter names are the API's words: `"title"` is both, `"gen"` is the
  table's alone), used as a key of a map or a JSON object (`{"gen": …}`, `["attrs"]`,
  `.get("rev")`): an item or stream image read or built by hand.

Test code counts too (a route test that builds a stream image by hand is what this
prevents). One place is exempt, for the reason printed: the in-memory store
(`shared/src/memory/`), the test seam that stands in for the table.

    python3 infra/checks/layout_literals.py .
"""

import json
import re
import sys
from pathlib import Path

ADAPTER = Path("shared/src/aws/dynamodb")
EXEMPT = {
    Path("shared/src/memory"): "the in-memory store stands in for the table in the route tests "
    "and keeps its own copy of the keys (its module documentation tables them)",
    Path("tests"): "the end-to-end tests read the deployed table itself to prove that a "
    "cascade left nothing behind",
}
ROOTS = ["shared/src", "shared/tests", "functions", "cli/src", "tests", "contract/src"]
STREAM_NAMES = {"INSERT", "MODIFY", "REMOVE", "OldImage", "NewImage", "eventName", "SequenceNumber"}
LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
ATTRIBUTE = re.compile(
    r'(?:insert\(|string\(|opt_string\(|number\(|opt_number\(|strings\(|flag\(|json\(|'
    r'contains_key\(|expression_attribute_names\("#\w+",\s*)"([a-z_]+)"'
)


def vocabulary(root: Path) -> tuple[set, set, set]:
    keys = (root / ADAPTER / "keys.rs").read_text()
    prefixes = set(re.findall(r'=>\s*"([^"]+)",\s*Purge', keys))
    hashed = {p for p in prefixes if p.endswith("#")}
    bare = prefixes - hashed
    attributes = set()
    for f in (root / ADAPTER).rglob("*.rs"):
        if f.name == "tests.rs":
            continue
        text = f.read_text()
        text = text[: text.find("#[cfg(test)]")] if "#[cfg(test)]" in text else text
        attributes |= set(ATTRIBUTE.findall(text))
    api = json.loads((root / "shared/openapi.json").read_text())
    api_words = set()

    def walk(v):
        if isinstance(v, dict):
            for k, x in v.items():
                if k == "properties" and isinstance(x, dict):
                    api_words.update(x.keys())
                if k == "name" and isinstance(x, str):
                    api_words.add(x)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(api)
    # Two-letter names (`n`, `by`) are ordinary words in tests' own JSON, not a sign of an
    # item built by hand; every name the adapter relies on alone is longer.
    storage_only = {a for a in attributes if a not in api_words and len(a) > 2}
    return hashed, bare | STREAM_NAMES, storage_only


def as_key(line: str, m: re.Match) -> bool:
    """Whether the literal is used as a map or object key: `"k":`, `["k"]`, `get("k")`, …"""
    before, after = line[: m.start()].rstrip(), line[m.end():].lstrip()
    return (after.startswith(":") and not after.startswith("::")) or before.endswith(
        ("[", "get(", "insert(", "remove(", "contains_key(")
    )


def main(root_dir: str) -> int:
    root = Path(root_dir)
    hashed, exact, storage_only = vocabulary(root)
    found = []
    for r in ROOTS:
        for f in sorted((root / r).rglob("*.rs")):
            rel = f.relative_to(root)
            if rel.is_relative_to(ADAPTER) or any(rel.is_relative_to(e) for e in EXEMPT):
                continue
            if "target" in rel.parts:
                continue
            for n, line in enumerate(f.read_text().splitlines(), 1):
                if line.lstrip().startswith("//"):
                    continue
                for m in LITERAL.finditer(line):
                    lit = m.group(1)
                    if (any(lit.startswith(p) for p in hashed) or lit in exact
                            or (lit in storage_only and as_key(line, m))):
                        found.append(f"{rel}:{n}: \"{lit}\"")
    for e, why in EXEMPT.items():
        print(f"layout literals: {e}/ exempt: {why}")
    if found:
        print("the table's layout outside the DynamoDB adapter (use the domain's types; the "
              "stream's changes are domain::changes):", file=sys.stderr)
        print("\n".join(found), file=sys.stderr)
        return 1
    print(f"layout literals: none outside {ADAPTER}/ ({len(hashed) + len(exact)} keys and "
          f"stream names, {len(storage_only)} storage-only attribute names checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
