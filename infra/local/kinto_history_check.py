#!/usr/bin/env python3
"""kinto-http.py (PyPI `kinto-http`, unmodified, pinned in infra/local/requirements-kinto-http.txt)
against the history API of a Buckets stack: `make kinto-history`, run by `make e2e`.

    .local/kinto-http/bin/python3 infra/local/kinto_history_check.py [--api-url URL] [--token TOKEN]

The API base URL comes from --api-url, else $BUCKETS_API_URL, else .local/env (written by
`make local`). The bearer token from --token, else $BUCKETS_TOKEN, else an HS256 dev token is
minted as the tests mint theirs (infra/local/mint_token.py: a new user `kinto-history-<hex>`
with the privilege create_buckets, the secret from $BUCKETS_JWT_SECRET or .local/env).

With kinto-http's own Client it creates a bucket (`create_bucket`, PUT with If-None-Match: *),
patches it (`patch_bucket`), then checks that
  - `get_history(bucket=...)` answers [update, create] of resource `bucket`, newest first,
    each with user_id `user:<sub>` (polled up to 60 s: entries are written from the stream);
  - `get_history(bucket=..., action="create")` answers [create];
  - `get_history(bucket=..., _limit=1, pages=...)` follows Next-Page to the same two entries;
and deletes the bucket. Exit 0 when every check passed, 1 with a message naming the first
that failed (2: no URL or no token).
"""

import argparse
import base64
import json
import os
import sys
import time
import uuid
from pathlib import Path

import requests
from kinto_http import BearerTokenAuth, Client, KintoException

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import mint_token  # noqa: E402

ENV_FILE = Path(__file__).resolve().parents[2] / ".local" / "env"
HISTORY_WAIT_SECONDS = 60.0


class CheckFailed(Exception):
    pass


def env_value(name: str) -> str | None:
    return os.environ.get(name) or mint_token.value_from_env_file(ENV_FILE, name)


def sub_of(token: str) -> str:
    """The `sub` claim of a JWT (read, not verified: the API verifies it)."""
    try:
        claims = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["sub"]
    except (IndexError, ValueError, KeyError) as e:
        raise SystemExit(f"kinto-history: the token is not a JWT with a sub claim ({e})")


def summary(entries: list[dict]) -> list[tuple[str, str]]:
    return [(e.get("resource_name"), e.get("action")) for e in entries]


def expect(what: str, ok: bool, got) -> None:
    if not ok:
        raise CheckFailed(f"{what}; got {json.dumps(got, indent=1, default=str)}")
    print(f"kinto-history: ok   {what}")


def check(client: Client, bucket: str, principal: str) -> None:
    created = client.create_bucket(id=bucket, data={"title": "kinto-http"})
    expect("create_bucket answers the bucket", created.get("data", {}).get("id") == bucket, created)
    patched = client.patch_bucket(id=bucket, data={"title": "patched by kinto-http"})
    expect("patch_bucket answers the patched bucket",
           patched.get("data", {}).get("title") == "patched by kinto-http", patched)

    deadline = time.monotonic() + HISTORY_WAIT_SECONDS
    while True:
        entries = client.get_history(bucket=bucket)
        if len(entries) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    expect("get_history(bucket=...) is [update, create] of the bucket, newest first",
           summary(entries) == [("bucket", "update"), ("bucket", "create")], entries)
    expect(f"every entry's user_id is {principal}",
           all(e.get("user_id") == principal for e in entries), entries)

    created_only = client.get_history(bucket=bucket, action="create")
    expect('get_history(bucket=..., action="create") is [create]',
           summary(created_only) == [("bucket", "create")], created_only)
    expect("the create entry is the one the full history has",
           [e.get("id") for e in created_only] == [entries[1].get("id")], created_only)

    paged = client.get_history(bucket=bucket, _limit=1, pages=10)
    expect("get_history(_limit=1) follows Next-Page to the same entries",
           [e.get("id") for e in paged] == [e.get("id") for e in entries], paged)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-url", help="API base URL (default: $BUCKETS_API_URL, then .local/env)")
    parser.add_argument("--token", help="bearer token (default: $BUCKETS_TOKEN, else minted)")
    args = parser.parse_args()

    api_url = (args.api_url or env_value("BUCKETS_API_URL") or "").rstrip("/")
    if not api_url:
        print("kinto-history: no API URL: give --api-url, set BUCKETS_API_URL or run `make local`",
              file=sys.stderr)
        return 2
    run = uuid.uuid4().hex[:12]
    token = args.token or os.environ.get("BUCKETS_TOKEN")
    if token:
        sub = sub_of(token)
    else:
        secret = env_value("BUCKETS_JWT_SECRET")
        if not secret:
            print("kinto-history: no token: give --token, set BUCKETS_TOKEN, or set "
                  "BUCKETS_JWT_SECRET / run `make local` to mint one", file=sys.stderr)
            return 2
        sub = f"kinto-history-{run}"
        token = mint_token.mint(secret, sub, ["create_buckets"], 3600)

    client = Client(server_url=f"{api_url}/v1", auth=BearerTokenAuth(token), timeout=30)
    bucket = f"kh-{run}"
    print(f"kinto-history: kinto-http against {api_url}, bucket {bucket}, user:{sub}")
    failed = None
    try:
        check(client, bucket, f"user:{sub}")
    except CheckFailed as e:
        failed = str(e)
    except KintoException as e:
        failed = f"kinto-http raised {type(e).__name__}: {e}"
    except requests.RequestException as e:
        failed = f"cannot reach the API: {e}"
    finally:
        try:
            client.delete_bucket(id=bucket, if_exists=True)
        except (KintoException, requests.RequestException) as e:
            print(f"kinto-history: could not delete bucket {bucket}: {e}", file=sys.stderr)
    if failed:
        print(f"kinto-history: FAIL {failed}", file=sys.stderr)
        return 1
    print("kinto-history: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
