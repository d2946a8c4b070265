#!/usr/bin/env python3
"""ministack 1.5.33 with local-only bridges (three for AWS Transfer Family, one for CopyObject
checksums, one for ranged reads of a version), then ministack.

Run with the stack virtualenv's interpreter (infra/local/ministack.sh does):
    .local/stack/bin/python3 infra/local/ministack_bridged.py
It installs the patches below in this process, then runs ministack exactly as the `ministack`
console script does (`from ministack.app import main`). The installed package is not modified.

1. Session policies in the control plane.
   AWS: CreateUser and UpdateUser take a `Policy` (a session, or "scope-down", IAM policy of at
   most 2048 characters) that DescribeUser returns; UpdateUser changes a user's Policy, Role,
   HomeDirectoryType, HomeDirectoryMappings or HomeDirectory, answers {ServerId, UserName}, and
   404s (ResourceNotFoundException) for an unknown server or user.
   ministack: CreateUser drops `Policy`, DescribeUser has none to return, and there is no
   UpdateUser action. Bridge: transfer.handle_request is wrapped; CreateUser keeps the Policy
   (refusing one that is not a JSON object or longer than 2048), DescribeUser returns it,
   UpdateUser is implemented. UpdateUser stores a NEW user record: a session that is already
   connected keeps the settings it logged in with (AWS assumes the role with the policy at
   login); the next connection gets the new ones. An empty Policy removes it.

2. Session policies on the SFTP data plane.
   AWS: every SFTP operation is an S3 call made with the user's role scoped down by the session
   policy; what the policy does not allow fails with "permission denied".
   ministack: the listener ignores the Policy (and the Role). Bridge: the SFTP server class
   (built lazily by transfer._ensure_sftp_runtime, which is wrapped) is subclassed so that each
   operation first evaluates the user's Policy for the S3 action it amounts to:
     open for reading                     s3:GetObject    arn:aws:s3:::BUCKET/KEY
     open for writing, mkdir (KEY/)       s3:PutObject    arn:aws:s3:::BUCKET/KEY
     remove, rmdir (KEY/)                 s3:DeleteObject arn:aws:s3:::BUCKET/KEY
     rename                               GetObject on the source, PutObject on the
                                          destination, DeleteObject on the source
     list a directory (opendir)           s3:ListBucket   arn:aws:s3:::BUCKET, s3:prefix = KEY/
     stat / lstat of an existing object   s3:GetObject    (HeadObject, as Transfer does)
     stat / lstat of anything else        s3:ListBucket   with s3:prefix = KEY/ (a directory probe)
   A denial raises asyncssh.SFTPPermissionDenied ("permission denied" in clients) naming the
   action and resource. A user without a Policy is not restricted (only the role would decide,
   and ministack has no role enforcement). The evaluator is minimal: Allow and Deny statements,
   Action and Resource as a string or a list with `*` and `?` wildcards (actions compared
   case-insensitively), an explicit Deny wins, nothing allowed means denied, and Conditions
   StringLike / StringEquals on s3:prefix (a request without a prefix fails such a condition),
   and Null on s3:x-amz-copy-source (present on a rename's PutObject, as Transfer renames by
   CopyObject).
   Anything else (NotAction, NotResource, other operators or keys, policy variables such as
   ${transfer:HomeFolder}, which are not substituted) is not evaluated: such an Allow statement
   allows nothing and such a Deny statement denies everything its Action and Resource match,
   one absent or holding a variable counting as `*` (fail closed).

3. SFTP writes and removes through S3's real bookkeeping.
   AWS: an SFTP upload is a PutObject (on a versioned bucket it mints a new latest version)
   and an SFTP remove is a DeleteObject without VersionId (a delete marker on a versioned
   bucket).
   ministack: the listener writes `objects[key]` directly (no version id, nothing in the
   version index) and removes with `del objects[key]` (no delete marker), so the files bucket's
   history and ListObjectVersions miss everything done over SFTP. Bridge: the listener's
   helpers _sftp_s3_put_object / _sftp_s3_delete_object call s3._put_object / s3._delete_object
   inside the user's account (and region) context. ministack documents that SFTP writes fire no
   S3 event notifications; that is kept (the product reconciles such writes on purpose): S3
   events are suppressed for the duration of those calls, through a context variable (so an
   S3 request served meanwhile, in another task or thread, still fires its events).

4. CopyObject's `x-amz-checksum-algorithm` (see install_copy_checksum_algorithm).

5. `Range` on a GetObject of a version (see install_ranged_version_reads).
"""

import contextlib
import contextvars
import copy
import json
import logging
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from ministack.core.responses import (  # noqa: E402
    error_response_json,
    json_response,
    request_scope,
)
from ministack.services import s3, transfer  # noqa: E402

logger = logging.getLogger("ministack_bridged")

POLICY_MAX_CHARS = 2048  # AWS Transfer's limit on a session policy


# ---------------------------------------------------------------------------------------------
# 1. Control plane: Policy on CreateUser / DescribeUser, UpdateUser
# ---------------------------------------------------------------------------------------------

def _policy_error(data: dict):
    """The error response for an unacceptable Policy in a request, or None."""
    if "Policy" not in data:
        return None
    policy = data["Policy"]
    if not isinstance(policy, str):
        return error_response_json("InvalidRequestException", "Policy must be a string", 400)
    if len(policy) > POLICY_MAX_CHARS:
        return error_response_json(
            "InvalidRequestException",
            f"1 validation error detected: Value at 'policy' failed to satisfy constraint: "
            f"Member must have length less than or equal to {POLICY_MAX_CHARS}", 400)
    if policy:
        try:
            parsed = json.loads(policy)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            return error_response_json("InvalidRequestException", "Policy is not a JSON policy document", 400)
    return None


def _request_data(body) -> dict:
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _ok(response) -> bool:
    return 200 <= response[0] < 300


async def _create_user(original, data, args):
    refused = _policy_error(data)
    if refused:
        return refused
    response = await original(*args)
    if _ok(response) and data.get("Policy"):
        key = transfer._user_key(data.get("ServerId", ""), data.get("UserName", ""))
        transfer._users[key]["Policy"] = data["Policy"]
    return response


async def _describe_user(original, data, args):
    response = await original(*args)
    if not _ok(response):
        return response
    key = transfer._user_key(data.get("ServerId", ""), data.get("UserName", ""))
    policy = transfer._users[key].get("Policy") if key in transfer._users else None
    if not policy:
        return response
    described = json.loads(response[2])
    described["User"]["Policy"] = policy
    return json_response(described)


UPDATABLE_USER_FIELDS = ("HomeDirectoryType", "HomeDirectoryMappings", "HomeDirectory", "Role")


def _update_user(data):
    server_id = data.get("ServerId", "")
    user_name = data.get("UserName", "")
    if server_id not in transfer._servers:
        return error_response_json("ResourceNotFoundException", f"Unknown server: {server_id}", 404)
    key = transfer._user_key(server_id, user_name)
    if key not in transfer._users:
        return error_response_json("ResourceNotFoundException", f"Unknown user: {user_name}", 404)
    refused = _policy_error(data)
    if refused:
        return refused
    # A new record: connected sessions keep the one they authenticated with.
    user = copy.deepcopy(transfer._users[key])
    for field in UPDATABLE_USER_FIELDS:
        if field in data:
            user[field] = data[field]
    if "Policy" in data:
        if data["Policy"]:
            user["Policy"] = data["Policy"]
        else:
            user.pop("Policy", None)
    transfer._users[key] = user
    return json_response({"ServerId": server_id, "UserName": user_name})


def install_control_plane_bridge() -> None:
    original = transfer.handle_request

    async def handle_request(method, path, headers, body, query_params):
        args = (method, path, headers, body, query_params)
        action = headers.get("x-amz-target", "").rpartition(".")[2]
        if action == "UpdateUser":
            return _update_user(_request_data(body))
        if action == "CreateUser":
            return await _create_user(original, _request_data(body), args)
        if action == "DescribeUser":
            return await _describe_user(original, _request_data(body), args)
        return await original(*args)

    transfer.handle_request = handle_request


# ---------------------------------------------------------------------------------------------
# 2a. A minimal IAM policy evaluator (session policies over S3 actions)
# ---------------------------------------------------------------------------------------------

SUPPORTED_STATEMENT_KEYS = {"Sid", "Effect", "Action", "Resource", "Condition"}
SUPPORTED_OPERATORS = {"StringLike", "StringEquals", "Null"}
# s3:x-amz-copy-source: set on the PutObject of a server-side copy (an SFTP rename).
SUPPORTED_CONDITION_KEYS = {"s3:prefix", "s3:x-amz-copy-source"}


class Unsupported(Exception):
    """A policy element this evaluator does not understand."""


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM wildcard matching: `*` any run of characters (`/` included), `?` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = (re.IGNORECASE | re.DOTALL) if ignore_case else re.DOTALL
    return re.fullmatch(regex, value, flags) is not None


def _condition_holds(condition: dict, context: dict) -> bool:
    for operator, tests in condition.items():
        if operator not in SUPPORTED_OPERATORS or not isinstance(tests, dict):
            raise Unsupported(f"condition operator {operator}")
        for key, expected in tests.items():
            if key.lower() not in SUPPORTED_CONDITION_KEYS:
                raise Unsupported(f"condition key {key}")
            actual = context.get(key.lower())
            if operator == "Null":
                # {"key": "true"} holds when the request has no such key, "false" when it has.
                if (actual is None) != (str(expected).lower() == "true"):
                    return False
                continue
            if actual is None:
                return False
            if operator == "StringLike":
                matched = any(_wildcard(str(p), actual) for p in _as_list(expected))
            else:
                matched = any(str(p) == actual for p in _as_list(expected))
            if not matched:
                return False
    return True


def _has_variable(value) -> bool:
    return "${" in json.dumps(value)


def _statement_applies(statement: dict, action: str, resource: str, context: dict) -> bool:
    """Whether the statement covers the request. Raises Unsupported for elements not evaluated."""
    unknown = set(statement) - SUPPORTED_STATEMENT_KEYS
    if unknown:
        raise Unsupported(", ".join(sorted(unknown)))
    if _has_variable(statement):
        raise Unsupported("policy variable")
    if not any(_wildcard(str(a), action, ignore_case=True) for a in _as_list(statement.get("Action", []))):
        return False
    if not any(_wildcard(str(r), resource) for r in _as_list(statement.get("Resource", []))):
        return False
    return _condition_holds(statement.get("Condition") or {}, context)


def policy_allows(policy: dict, action: str, resource: str, context: dict) -> bool:
    """Explicit Deny wins, then any Allow, else the implicit deny. An Allow statement with an
    element not evaluated allows nothing; a Deny statement with one denies what its Action and
    Resource match (fail closed)."""
    allowed = False
    for statement in _as_list(policy.get("Statement", [])):
        if not isinstance(statement, dict):
            return False
        deny = statement.get("Effect") == "Deny"
        try:
            applies = _statement_applies(statement, action, resource, context)
        except Unsupported as e:
            logger.warning("session policy: not evaluated (%s) in statement %s", e, statement.get("Sid", ""))
            if not deny:
                continue
            relaxed = {element: "*" if _has_variable(statement.get(element, "*")) else statement.get(element, "*")
                       for element in ("Action", "Resource")}
            applies = _statement_applies(relaxed, action, resource, {})
        if applies and deny:
            return False
        allowed = allowed or (applies and statement.get("Effect") == "Allow")
    return allowed


# ---------------------------------------------------------------------------------------------
# 2b. The SFTP server class, enforcing the session policy
# ---------------------------------------------------------------------------------------------

def _object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def _bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def _dir_prefix(key: str) -> str:
    return key.rstrip("/") + "/" if key else ""


def _parsed_policy(user: dict):
    """(has a policy, the parsed policy or None when it does not parse)."""
    text = (user or {}).get("Policy")
    if not text:
        return False, None
    try:
        policy = json.loads(text)
    except ValueError:
        return True, None
    return True, policy if isinstance(policy, dict) else None


def build_enforcing_sftp_server(base):
    asyncssh = transfer.asyncssh

    class PolicyEnforcingSFTPServer(base):
        """ministack's S3-backed SFTP server, checking the user's session policy first."""

        def __init__(self, chan, *args, **kwargs):
            super().__init__(chan, *args, **kwargs)
            # The policy the user logged in with (UpdateUser applies from the next login).
            self._has_policy, self._policy = _parsed_policy(self._user)

        def _require(self, action: str, resource: str, prefix=None, copy_source=None) -> None:
            if not self._has_policy:
                return
            context = {} if prefix is None else {"s3:prefix": prefix}
            if copy_source is not None:
                context["s3:x-amz-copy-source"] = copy_source
            if self._policy is not None and policy_allows(self._policy, action, resource, context):
                return
            user = (self._user or {}).get("UserName", "?")
            why = "session policy does not parse" if self._policy is None else "not allowed by the session policy"
            where = resource if prefix is None else f"{resource} (s3:prefix {prefix!r})"
            logger.info("SFTP %s: denied %s on %s: %s", user, action, where, why)
            raise asyncssh.SFTPPermissionDenied(f"Access denied: {action} on {where}: {why} of user {user}")

        def _require_object(self, action: str, path, copy_source=None) -> None:
            bucket, key = self._resolve(path)
            if bucket and key:
                self._require(action, _object_arn(bucket, key), copy_source=copy_source)

        def _require_listing(self, path) -> None:
            bucket, key = self._resolve(path)
            if bucket:
                self._require("s3:ListBucket", _bucket_arn(bucket), prefix=_dir_prefix(key))

        # A plain method (returning ministack's async generator) so that a denial fails the
        # opendir request itself rather than the first readdir.
        def scandir(self, path):
            self._require_listing(path)
            return super().scandir(path)

        def stat(self, path):
            bucket, key = self._resolve(path)
            if bucket and key and transfer._sftp_s3_get_object(self._account_id, bucket, key):
                self._require("s3:GetObject", _object_arn(bucket, key))
            else:
                self._require_listing(path)
            return super().stat(path)

        def lstat(self, path):
            return self.stat(path)

        def open(self, path, pflags, attrs):
            if pflags & 0x02:  # SSH_FXF_WRITE
                self._require_object("s3:PutObject", path)
            if pflags & 0x01 or not pflags & 0x02:  # SSH_FXF_READ (or a read-only open)
                self._require_object("s3:GetObject", path)
            return super().open(path, pflags, attrs)

        def mkdir(self, path, attrs):
            bucket, key = self._resolve(path)
            if bucket and key:
                self._require("s3:PutObject", _object_arn(bucket, _dir_prefix(key)))
            return super().mkdir(path, attrs)

        def rmdir(self, path):
            bucket, key = self._resolve(path)
            if bucket and key:
                self._require("s3:DeleteObject", _object_arn(bucket, _dir_prefix(key)))
            return super().rmdir(path)

        def remove(self, path):
            self._require_object("s3:DeleteObject", path)
            return super().remove(path)

        def _do_rename(self, oldpath, newpath, *, allow_overwrite: bool):
            self._require_object("s3:GetObject", oldpath)
            # Transfer renames with CopyObject: a PutObject carrying x-amz-copy-source.
            source_bucket, source_key = self._resolve(oldpath)
            self._require_object("s3:PutObject", newpath, copy_source=f"{source_bucket}/{source_key}")
            self._require_object("s3:DeleteObject", oldpath)
            return super()._do_rename(oldpath, newpath, allow_overwrite=allow_overwrite)

    return PolicyEnforcingSFTPServer


def install_sftp_policy_bridge() -> None:
    original = transfer._ensure_sftp_runtime

    def ensure_sftp_runtime() -> None:
        original()
        server_class = transfer._MiniStackSFTPServer
        if not getattr(server_class, "_enforces_session_policy", False):
            enforcing = build_enforcing_sftp_server(server_class)
            enforcing._enforces_session_policy = True
            transfer._MiniStackSFTPServer = enforcing

    transfer._ensure_sftp_runtime = ensure_sftp_runtime


# ---------------------------------------------------------------------------------------------
# 3. SFTP writes and removes through s3.py (versions, delete markers), without S3 events
# ---------------------------------------------------------------------------------------------

_sftp_s3_call = contextvars.ContextVar("sftp_s3_call", default=False)


@contextlib.contextmanager
def _as_sftp_user(account_id: str, bucket: str):
    """Run an S3 call in the SFTP user's account (and the bucket's region), with S3 events
    suppressed. The SFTP session's own request context is not reliable here: ministack sets it
    in _resolve, which close() (where a write lands) does not call."""
    record = transfer._sftp_s3_bucket(account_id, bucket) or {}
    region = record.get("region") or os.environ.get("MINISTACK_REGION", "us-east-1")
    token = _sftp_s3_call.set(True)
    try:
        with request_scope(account_id, region):
            yield
    finally:
        _sftp_s3_call.reset(token)


def _raise_for(response, what: str) -> None:
    status, _, body = response
    if 200 <= status < 300:
        return
    asyncssh = transfer.asyncssh
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    if status == 404:
        raise asyncssh.SFTPNoSuchFile(f"{what}: {text}")
    raise asyncssh.SFTPFailure(f"{what} failed ({status}): {text}")


def sftp_put_object(account_id: str, bucket: str, key: str, body: bytes) -> None:
    with _as_sftp_user(account_id, bucket):
        response = s3._put_object(bucket, key, body, {"content-type": "application/octet-stream"})
    _raise_for(response, f"PutObject {bucket}/{key}")


def sftp_delete_object(account_id: str, bucket: str, key: str) -> bool:
    """DeleteObject without VersionId (a delete marker on a versioned bucket); False when the
    key has no current object (nothing is done then, as ministack did)."""
    if transfer._sftp_s3_get_object(account_id, bucket, key) is None:
        return False
    with _as_sftp_user(account_id, bucket):
        response = s3._delete_object(bucket, key)
    _raise_for(response, f"DeleteObject {bucket}/{key}")
    return True


def install_versioned_sftp_writes() -> None:
    original_fire = s3._fire_s3_event_async

    def fire_s3_event_async(bucket_name, key, event_name, *args, **kwargs):
        if _sftp_s3_call.get():
            logger.debug("SFTP write: no S3 event %s for %s/%s (as ministack documents)", event_name, bucket_name, key)
            return None
        return original_fire(bucket_name, key, event_name, *args, **kwargs)

    s3._fire_s3_event_async = fire_s3_event_async
    transfer._sftp_s3_put_object = sftp_put_object
    transfer._sftp_s3_delete_object = sftp_delete_object


def install_copy_checksum_algorithm() -> None:
    """4. CopyObject's `x-amz-checksum-algorithm`.

    AWS: CopyObject with `x-amz-checksum-algorithm: SHA256` makes S3 compute the copy's SHA-256
    (the upload processing adopts SFTP writes and restores versions this way, and records it).
    ministack: its CopyObject computes a checksum only for `x-amz-sdk-checksum-algorithm` (or a
    given `x-amz-checksum-<alg>` value), which the SDKs do not send on CopyObject. Bridge: the
    header is passed on under the name ministack reads."""
    original_copy = s3._copy_object

    def copy_object(bucket_name, dest_key, headers, *args, **kwargs):
        algorithm = headers.get("x-amz-checksum-algorithm")
        if algorithm and not headers.get("x-amz-sdk-checksum-algorithm"):
            headers = {**headers, "x-amz-sdk-checksum-algorithm": algorithm}
        return original_copy(bucket_name, dest_key, headers, *args, **kwargs)

    s3._copy_object = copy_object


def install_ranged_version_reads() -> None:
    """5. `Range` on GetObject with a `versionId`.

    AWS: a ranged GET of a version answers 206 with the bytes asked for (`buckets fetch`
    downloads a multipart file by its parts at once this way; the API's download URLs name
    the version). ministack: the versioned branch of GetObject ignores `Range` and answers the
    whole object with 200. Bridge: such a 200 is cut to the range asked for, as ministack's
    unversioned branch does (206 with Content-Range; 416 for a range outside the object)."""
    original_get = s3._get_object

    def get_object(bucket_name, key, headers, query_params=None):
        status, resp_headers, body = original_get(bucket_name, key, headers, query_params)
        range_header = headers.get("range", "")
        if status != 200 or not range_header or not s3._qp(query_params or {}, "versionId"):
            return status, resp_headers, body
        size = len(body)
        rng = s3._parse_range(range_header, size)
        if rng is None:
            return 416, {"Content-Type": "application/xml", "Content-Range": f"bytes */{size}"}, \
                s3._xml_body(s3._range_error_xml(bucket_name, key))
        start, end = rng
        resp_headers = {**resp_headers, "Content-Length": str(end + 1 - start),
                        "Content-Range": f"bytes {start}-{end}/{size}"}
        return 206, resp_headers, body[start:end + 1]

    s3._get_object = get_object


# ---------------------------------------------------------------------------------------------

def install() -> None:
    install_control_plane_bridge()
    install_sftp_policy_bridge()
    install_versioned_sftp_writes()
    install_copy_checksum_algorithm()
    install_ranged_version_reads()


if __name__ == "__main__":
    install()
    from ministack.app import main

    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0])
    sys.exit(main())
