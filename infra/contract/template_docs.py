#!/usr/bin/env python3
"""What the documents say of the template, kept to the template (its one owner of these facts).

- The table of what each function may do: written between `<!-- iam-table:begin -->` and
  `<!-- iam-table:end -->` of docs/security.md. Each function of the template is one row: its
  DynamoDB, S3 and other actions, from its SAM `Policies` or from the IAM role it names.
- The parameters: every parameter of the template has its row in docs/configuration.md's table
  (written by hand: what each means needs more than the template's Description), and no row
  names a parameter the template lacks.

`--check` writes nothing and fails when either is not what the template says (run by
`make check`).

    template_docs.py [--check]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
DOC = ROOT / "docs" / "security.md"
PARAMETERS_DOC = ROOT / "docs" / "configuration.md"
BEGIN, END = "<!-- iam-table:begin -->", "<!-- iam-table:end -->"


class Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!GetAtt, !Sub, …) read as plain values."""


def _any_tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


Loader.add_multi_constructor("!", _any_tag)


def actions(policies) -> list[str]:
    found: list[str] = []

    def walk(x):
        if isinstance(x, dict):
            if x.get("Effect", "Allow") == "Allow" and "Action" in x:
                a = x["Action"]
                found.extend(a if isinstance(a, list) else [a])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(policies)
    return sorted(set(found))


def kebab(logical_id: str) -> str:
    name = logical_id.removesuffix("Function")
    return "".join("-" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


def rows(template: dict) -> list[tuple[str, str, str, str]]:
    resources = template["Resources"]
    out = []
    for logical_id, r in resources.items():
        if r["Type"] != "AWS::Serverless::Function":
            continue
        props = r["Properties"]
        role = props.get("Role")
        if role:
            role_id = role.split(".")[0] if isinstance(role, str) else role[0]
            policies = resources[role_id]["Properties"].get("Policies", [])
        else:
            policies = props.get("Policies", [])
        acts = actions(policies)

        def of(service: str) -> str:
            mine = [a.split(":", 1)[1] for a in acts if a.startswith(service + ":")]
            return ", ".join(mine) or "—"

        other = [a for a in acts if not a.startswith(("dynamodb:", "s3:"))]
        out.append((kebab(logical_id), of("dynamodb"), of("s3"), ", ".join(other) or "—"))
    return out


def table() -> str:
    template = yaml.load(TEMPLATE.read_text(), Loader=Loader)
    lines = [
        "| function | DynamoDB | S3 | other |",
        "|---|---|---|---|",
        *(f"| {n} | {d} | {s} | {o} |" for n, d, s, o in rows(template)),
    ]
    return "\n".join(lines)


def parameter_problems(template: dict) -> list[str]:
    listed = set(re.findall(r"^\| `(\w+)` \|", PARAMETERS_DOC.read_text(), re.M))
    declared = set(template["Parameters"])
    doc = PARAMETERS_DOC.relative_to(ROOT)
    return [f"{doc}: no row for the template's parameter {n}" for n in sorted(declared - listed)] + [
        f"{doc}: a row for {n}, which the template does not declare" for n in sorted(listed - declared)
    ]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    text = DOC.read_text()
    if BEGIN not in text or END not in text:
        print(f"{DOC}: no {BEGIN} … {END} markers", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{table()}\n{END}{tail}"
    problems = parameter_problems(yaml.load(TEMPLATE.read_text(), Loader=Loader))
    if check and new != text:
        problems.append(f"{DOC.relative_to(ROOT)}: the IAM table is not the template's; run infra/contract/template_docs.py")
    elif not check:
        DOC.write_text(new)
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
