#!/usr/bin/env python3
"""Mint an HS256 bearer token for the Buckets API (development only; stdlib only).

    python3 infra/local/mint_token.py --sub alice --privileges create_buckets,edit_buckets --ttl 3600

Claims: sub, iat, exp (= iat + ttl), privileges (list; empty list when none given),
and iss / aud when given. The secret comes from --secret, else $BUCKETS_JWT_SECRET,
else the BUCKETS_JWT_SECRET line of .local/env (written by `make local`).
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import sys
import time
from pathlib import Path

ENV_FILE = Path(__file__).resolve().parents[2] / ".local" / "env"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint(secret: str, sub: str, privileges: list[str], ttl: int,
         iss: str | None = None, aud: str | None = None, now: int | None = None) -> str:
    iat = int(time.time()) if now is None else now
    claims = {"sub": sub, "iat": iat, "exp": iat + ttl, "privileges": privileges}
    if iss:
        claims["iss"] = iss
    if aud:
        claims["aud"] = aud
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def value_from_env_file(path: Path, name: str) -> str | None:
    """The value `.local/env` exports for `name` (quotes removed), if any."""
    if not path.is_file():
        return None
    for line in path.read_text().splitlines():
        m = re.match(rf"^\s*(?:export\s+)?{re.escape(name)}=(.*)$", line)
        if m:
            value = m.group(1).strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            return value
    return None


def secret_from_env_file(path: Path) -> str | None:
    return value_from_env_file(path, "BUCKETS_JWT_SECRET")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sub", default="dev")
    parser.add_argument("--privileges", default="", help="comma-separated, e.g. admin or create_buckets,edit_buckets")
    parser.add_argument("--ttl", type=int, default=86400, help="seconds until exp")
    parser.add_argument("--iss")
    parser.add_argument("--aud")
    parser.add_argument("--secret", help="HS256 secret (default: $BUCKETS_JWT_SECRET, then .local/env)")
    args = parser.parse_args()

    secret = args.secret or os.environ.get("BUCKETS_JWT_SECRET") or secret_from_env_file(ENV_FILE)
    if not secret:
        print("mint_token: no secret: set BUCKETS_JWT_SECRET or run `make local` (writes .local/env)",
              file=sys.stderr)
        return 1
    if not args.sub:
        print("mint_token: --sub must not be empty", file=sys.stderr)
        return 2
    privileges = [p.strip() for p in args.privileges.split(",") if p.strip()]
    print(mint(secret, args.sub, privileges, args.ttl, args.iss, args.aud))
    return 0


if __name__ == "__main__":
    sys.exit(main())
