#!/usr/bin/env python3
"""A small SFTP client for the local stack's end-to-end tests (asyncssh; run it with the stack
virtualenv's interpreter: .local/stack/bin/python3 infra/local/sftp_client.py ...).

    keygen PATH                               write a new ed25519 private key (OpenSSH format)
                                              to PATH; print its public key line
                                              (`ssh-ed25519 AAAA... comment`)
    ls   HOST PORT USER KEY [DIR]             one JSON object per entry, a line each:
                                              {"name": ..., "size": ..., "type": "file"|"dir"}
                                              (no . and ..; DIR defaults to the home directory)
    put  HOST PORT USER KEY LOCAL REMOTE      upload LOCAL as REMOTE; prints {"put": REMOTE, "size": N}
    get  HOST PORT USER KEY REMOTE LOCAL      download REMOTE to LOCAL; prints {"get": REMOTE, "size": N}
    rm   HOST PORT USER KEY REMOTE            remove REMOTE; prints {"removed": REMOTE}

KEY is the private key file. The server's host key is not checked (known_hosts=None), no SSH
agent, no ~/.ssh/config and no other key are used; connecting times out after 10 s.

Exit codes: 0 done; 2 authentication refused (the server did not accept USER with KEY);
3 SFTP permission denied; 4 no such file (remote); 1 anything else. Errors go to stderr.
"""

import argparse
import asyncio
import json
import os
import sys

import asyncssh

CONNECT_TIMEOUT = 10

EXIT_OK, EXIT_ERROR, EXIT_AUTH, EXIT_DENIED, EXIT_NO_SUCH_FILE = 0, 1, 2, 3, 4


def keygen(path: str, comment: str) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.export_private_key("openssh"))
    print(key.export_public_key("openssh").decode().strip())


def connect(args):
    return asyncssh.connect(
        args.host, int(args.port), username=args.user, client_keys=[args.key],
        known_hosts=None, agent_path=None, config=[], preferred_auth="publickey",
        connect_timeout=CONNECT_TIMEOUT)


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


async def ls(sftp, args) -> None:
    names = await sftp.readdir(args.dir or ".")
    for name in sorted(names, key=lambda n: n.filename):
        filename = name.filename if isinstance(name.filename, str) else name.filename.decode()
        if filename in (".", ".."):
            continue
        kind = "dir" if name.attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY else "file"
        emit({"name": filename, "size": name.attrs.size or 0, "type": kind})


async def put(sftp, args) -> None:
    with open(args.local, "rb") as f:
        data = f.read()
    async with sftp.open(args.remote, "wb") as remote:
        await remote.write(data)
    emit({"put": args.remote, "size": len(data)})


async def get(sftp, args) -> None:
    async with sftp.open(args.remote, "rb") as remote:
        data = await remote.read()
    with open(args.local, "wb") as f:
        f.write(data)
    emit({"get": args.remote, "size": len(data)})


async def rm(sftp, args) -> None:
    await sftp.remove(args.remote)
    emit({"removed": args.remote})


async def mv(sftp, args) -> None:
    await sftp.rename(args.remote, args.new)
    emit({"renamed": args.remote, "to": args.new})


async def run(args) -> int:
    try:
        conn = await connect(args)
    except asyncssh.PermissionDenied as e:
        print(f"sftp: authentication refused for {args.user}: {e.reason}", file=sys.stderr)
        return EXIT_AUTH
    async with conn:
        try:
            async with conn.start_sftp_client() as sftp:
                await args.action(sftp, args)
        except asyncssh.SFTPPermissionDenied as e:
            print(f"sftp: permission denied: {e.reason}", file=sys.stderr)
            return EXIT_DENIED
        except asyncssh.SFTPNoSuchFile as e:
            print(f"sftp: no such file: {e.reason}", file=sys.stderr)
            return EXIT_NO_SUCH_FILE
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    k = sub.add_parser("keygen", help="write an ed25519 private key, print the public key line")
    k.add_argument("path")
    k.add_argument("--comment", default="buckets-local-sftp")

    def remote(name, action, *extra, optional=None):
        s = sub.add_parser(name)
        for arg in ("host", "port", "user", "key", *extra):
            s.add_argument(arg)
        if optional:
            s.add_argument(optional, nargs="?")
        s.set_defaults(action=action)

    remote("ls", ls, optional="dir")
    remote("put", put, "local", "remote")
    remote("get", get, "remote", "local")
    remote("rm", rm, "remote")
    remote("mv", mv, "remote", "new")
    return p


def main() -> int:
    args = parser().parse_args()
    try:
        if args.command == "keygen":
            keygen(args.path, args.comment)
            return EXIT_OK
        return asyncio.run(run(args))
    except (OSError, asyncssh.Error, asyncio.TimeoutError) as e:
        print(f"sftp: {args.command} failed: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
