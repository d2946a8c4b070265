#!/usr/bin/env python3
"""Bearer tokens for the local Buckets API (development only; stdlib only).

Mint an HS256 dev token (what the tests, fuzzing and load scripts use):

    python3 infra/local/mint_token.py --sub alice --privileges create_buckets,edit_buckets --ttl 3600

Claims: sub, iat, exp (= iat + ttl), privileges (list; empty list when none given),
and iss / aud when given. The secret comes from --secret, else $BUCKETS_JWT_SECRET,
else the BUCKETS_JWT_SECRET line of .local/env (written by `make local`).

Or sign in through the stack's Cognito user pool (InitiateAuth USER_PASSWORD_AUTH) and print
the ID token (--access: the access token), as the dev user `make local` created unless
--user / --password are given:

    python3 infra/local/mint_token.py --cognito [--user NAME --password PASSWORD] [--access]
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
import urllib.error
import urllib.request
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


def setting(name: str) -> str | None:
    return os.environ.get(name) or value_from_env_file(ENV_FILE, name)


def cognito_sign_in(endpoint: str, client_id: str, user: str, password: str) -> dict:
    """InitiateAuth USER_PASSWORD_AUTH on a cognito-idp endpoint (no AWS signature: a public
    app client). Returns AuthenticationResult (IdToken, AccessToken, RefreshToken, ...)."""
    body = json.dumps({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client_id,
                       "AuthParameters": {"USERNAME": user, "PASSWORD": password}}).encode()
    req = urllib.request.Request(endpoint, data=body, method="POST", headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
    })
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            answer = json.loads(resp.read())
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"InitiateAuth refused ({e.code}): {e.read().decode(errors='replace')}") from e
    if "AuthenticationResult" not in answer:
        raise RuntimeError(f"InitiateAuth asked for a challenge, not handled here: {answer.get('ChallengeName')}")
    return answer["AuthenticationResult"]


def cognito_main(args) -> int:
    endpoint, client_id = setting("BUCKETS_COGNITO_ENDPOINT"), setting("BUCKETS_USER_POOL_CLIENT_ID")
    user = args.user or setting("BUCKETS_DEV_USER")
    password = args.password or setting("BUCKETS_DEV_PASSWORD")
    if not (endpoint and client_id and user and password):
        print("mint_token: no Cognito user pool: run `make local` (writes .local/env), "
              "or mint an HS256 dev token (make token HS256=1 SUB=... PRIVILEGES=...)", file=sys.stderr)
        return 1
    try:
        result = cognito_sign_in(endpoint, client_id, user, password)
    except (RuntimeError, OSError) as e:
        print(f"mint_token: {e}", file=sys.stderr)
        return 1
    print(result["AccessToken"] if args.access else result["IdToken"])
    return 0


def known_privileges() -> list[str]:
    """The privileges the API knows, from its contract (shared/openapi.json: a key's
    `privileges`), so this script keeps no list of its own."""
    contract = json.loads((Path(__file__).resolve().parents[2] / "shared" / "openapi.json").read_text())
    key_in = contract["components"]["schemas"]["KeyIn"]["oneOf"][0]
    return key_in["properties"]["privileges"]["items"]["enum"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sub", default="dev")
    parser.add_argument("--privileges", default="", help="comma-separated, e.g. admin or create_buckets,edit_buckets")
    parser.add_argument("--ttl", type=int, default=86400, help="seconds until exp")
    parser.add_argument("--iss")
    parser.add_argument("--aud")
    parser.add_argument("--secret", help="HS256 secret (default: $BUCKETS_JWT_SECRET, then .local/env)")
    parser.add_argument("--cognito", action="store_true", help="sign in through the Cognito user pool instead")
    parser.add_argument("--user", help="--cognito: user name (default: the dev user of .local/env)")
    parser.add_argument("--password", help="--cognito: password (default: the dev user's)")
    parser.add_argument("--access", action="store_true", help="--cognito: print the access token, not the ID token")
    args = parser.parse_args()
    if args.cognito:
        return cognito_main(args)

    secret = args.secret or os.environ.get("BUCKETS_JWT_SECRET") or secret_from_env_file(ENV_FILE)
    if not secret:
        print("mint_token: no secret: set BUCKETS_JWT_SECRET or run `make local` (writes .local/env)",
              file=sys.stderr)
        return 1
    if not args.sub:
        print("mint_token: --sub must not be empty", file=sys.stderr)
        return 2
    privileges = [p.strip() for p in args.privileges.split(",") if p.strip()]
    known = known_privileges()
    unknown = [p for p in privileges if p not in known]
    if unknown:
        print(f"mint_token: unknown privilege(s) {', '.join(unknown)}: one of {', '.join(known)}",
              file=sys.stderr)
        return 2
    print(mint(secret, args.sub, privileges, args.ttl, args.iss, args.aud))
    return 0


if __name__ == "__main__":
    sys.exit(main())
