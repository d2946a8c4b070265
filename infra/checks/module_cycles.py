#!/usr/bin/env python3
"""Fails when the modules of a crate import each other in a cycle, or when `domain` imports a
module outside itself (the bottom layer of this crate).

Reads every `.rs` file under the crate's `src/`, maps it to its module path (`api/files.rs` ->
`api::files`), collects the modules it names (`crate::…`, `super::…`, `self::…` paths in `use`
items and in code), resolves each to the longest module that exists, and reports every strongly
connected component of more than one module. A parent module that only declares its children
(`mod x;`, `pub use x::…`) is not counted as importing them. Tests (`tests.rs`, `#[cfg(test)]`
blocks) are skipped: a test may use what it likes.

    python3 infra/checks/module_cycles.py shared/src
"""

import re
import sys
from pathlib import Path

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
GROUP = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^}]*)\}", re.S)


def module_of(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def strip_tests(text: str) -> str:
    # Everything from the first `#[cfg(test)]` on is test code in this codebase's layout.
    i = text.find("#[cfg(test)]")
    return text if i < 0 else text[:i]


def main(src_dir: str) -> int:
    src = Path(src_dir)
    files = [f for f in src.rglob("*.rs") if f.name != "tests.rs"]
    modules = {module_of(src, f): f for f in files}
    graph = {m: set() for m in modules}

    def resolve(base: tuple, path: list) -> tuple:
        full = base + tuple(path)
        for n in range(len(full), 0, -1):
            if full[:n] in modules:
                return full[:n]
        return ()

    for mod, file in modules.items():
        text = strip_tests(file.read_text())
        # `mod child;` / `pub use child::…` in a parent declare, they do not import.
        is_dir_module = file.name in ("mod.rs", "lib.rs")
        refs = []
        for m in GROUP.finditer(text):
            head = [p for p in m.group(2).split("::") if p]
            for item in m.group(3).split(","):
                item = item.strip().split(" as ")[0]
                refs.append((m.group(1), head + [p for p in item.split("::") if p and p != "self"]))
        for m in PATH.finditer(text):
            refs.append((m.group(1), [p for p in m.group(2).split("::") if p]))
        for root, path in refs:
            parent = mod if is_dir_module else mod[:-1]
            if root == "crate":
                base = ()
            elif root == "self":
                base = mod if is_dir_module else mod
            else:  # super
                base = parent[:-1] if is_dir_module else parent
            while path and path[0] == "super":
                base, path = base[:-1], path[1:]
            target = resolve(base, path)
            if not target or target == mod:
                continue
            # A parent naming its own child (re-exports) is not an import.
            if is_dir_module and target[: len(mod)] == mod:
                continue
            graph[mod].add(target)

    # Tarjan's strongly connected components.
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    name = lambda m: "::".join(m) or "crate"
    # The domain is the bottom layer (rules without I/O): it imports nothing of the crate
    # outside itself, not even the deployment's settings.
    upward = sorted((name(m), name(t)) for m in graph for t in graph[m]
                    if m[:1] == ("domain",) and t[:1] != ("domain",))
    for m, t in upward:
        print(f"the domain imports from above it: {m} -> {t}")
    if sccs:
        for comp in sccs:
            members = sorted(comp)
            print("import cycle:", ", ".join(name(m) for m in members))
            for m in members:
                inside = sorted(name(t) for t in graph[m] if t in comp)
                print(f"  {name(m)} -> {', '.join(inside)}")
        return 1
    if upward:
        return 1
    print(f"no import cycle among {len(modules)} modules of {src}, and the domain imports only itself")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "shared/src"))
