# Generates shared/openapi.json (kept in git; regenerate after editing this script). The document
# is written here in Python only to keep the repetition (error responses, HEAD twins) short.
import json, sys

def ref(name): return {"$ref": f"#/components/schemas/{name}"}
def resp(name): return {"$ref": f"#/components/responses/{name}"}
def p(name): return {"$ref": f"#/components/parameters/{name}"}

JSON = "application/json"
def ok(desc, schema, headers=None):
    r = {"description": desc, "content": {JSON: {"schema": schema}}}
    if headers: r["headers"] = headers
    return r

ERRS = {
    "400": resp("BadRequest"), "401": resp("Unauthorized"), "403": resp("Forbidden"),
    "404": resp("NotFound"), "405": resp("MethodNotAllowed"), "409": resp("Conflict"),
    "412": resp("PreconditionFailed"), "413": resp("TooLarge"), "415": resp("UnsupportedMediaType"),
    "429": resp("TooManyRequests"), "500": resp("InternalError"), "503": resp("Unavailable"),
}
def errs(*codes):
    return {c: ERRS[c] for c in codes}

STD = ("400", "401", "403", "404", "409", "429", "500", "503")

def op(op_id, summary, responses, params=(), body=None, public=False, tags=()):
    o = {"operationId": op_id, "summary": summary, "responses": responses}
    if params: o["parameters"] = list(params)
    if body: o["requestBody"] = body
    if public: o["security"] = [{}]
    if tags: o["tags"] = list(tags)
    return o

def head_of(get_op):
    """HEAD: the GET without a body (same statuses and headers)."""
    h = {"operationId": get_op["operationId"] + "Head", "summary": "HEAD: " + get_op["summary"],
         "responses": {}}
    for k in ("parameters", "security", "tags"):
        if k in get_op: h[k] = get_op[k]
    for code, r in get_op["responses"].items():
        if "$ref" in r:
            h["responses"][code] = resp("NoBody")
        else:
            h["responses"][code] = {"description": r["description"], **({"headers": r["headers"]} if "headers" in r else {})}
    return h

def json_body(schema, required=True, types=(JSON,)):
    return {"required": required, "content": {t: {"schema": schema} for t in types}}

ID = {"name": "id", "in": "path", "required": True, "description": "A bucket id, or `default` (the caller's personal bucket).",
      "schema": {"type": "string", "pattern": "^[a-zA-Z0-9][a-zA-Z0-9_-]*$", "maxLength": 64}}
ETAG_H = {"ETag": {"description": "Quoted validator (see README, ETags).", "schema": {"type": "string"}}}
BUCKET_H = {**ETAG_H, "Last-Modified": {"schema": {"type": "string"}}}
NEXT_H = {"Next-Page": {"description": "Absolute URL of the next page, while more remain.", "schema": {"type": "string", "format": "uri"}}}
LOC_H = {"Location": {"schema": {"type": "string", "format": "uri"}}}

ms = {"type": "integer", "description": "Milliseconds since the epoch."}
# What a webhook or SFTP user acts for (README, "Security model": standing grants).
ORIGIN_FIELDS = {
    "owner": {"type": "string", "description": "The principal it acts for: its creator, or the writer whose change took it over last (`key:<id>` when a key did)."},
    "suspended": {"type": "boolean", "description": "True while its owner may no longer write the bucket (or the key that made it is revoked or expired): nothing is delivered, no login is accepted. A current writer's PATCH takes it over and resumes it."},
    "suspended_reason": {"type": ["string", "null"], "description": "Why it is suspended."},
}
nonneg = {"type": "integer", "minimum": 0}
principals = {"type": "array", "items": {"type": "string"}}

# Request bodies: every fixed-shape object is closed (`additionalProperties: false`): the API
# answers 400 naming a field it does not know (README, security model), and the schemas say as
# much as the validation, so that a client (or a fuzzer) written from them is not refused.
def closed(properties, required=(), **more):
    o = {"type": "object", "additionalProperties": False, "properties": properties}
    if required: o["required"] = list(required)
    o.update(more)
    return o
NO_FIELDS = {"type": "object", "additionalProperties": False, "maxProperties": 0,
             "description": "The route takes no fields: `{}` or no body (any field is refused)."}
# A principal as an ACL names it (`user:<sub>`, `key:<id>`, `system.Everyone`, …): 1 to 256
# characters, no control characters, no `#`.
principal_in = {"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f#]*[^\\s\\u0000-\\u001f\\u007f-\\u009f#][^\\u0000-\\u001f\\u007f-\\u009f#]*$"}
principals_in = {"type": "array", "maxItems": 100, "items": principal_in}
# A SHA-256: 64 hex digits or the base64 of the 32 bytes.
SHA256_IN = {"type": "string", "pattern": "^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$", "description": "The SHA-256: 64 hex digits or base64."}
# A globset pattern: at most 256 bytes (and 32 alternatives/classes, 32 wildcards).
GLOB_IN = {"type": "string", "maxLength": 256, "description": "A glob (globset) over normalized names; `*` when absent."}
# A file name as given (normalized by the server: runs of other characters than letters,
# digits, `_`, `-`, `.` become `_`).
FILE_NAME_IN = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[A-Za-z0-9_.-]*[A-Za-z0-9_-][A-Za-z0-9_.-]*$",
                "description": "The file name; other characters than letters, digits, `_`, `-` and `.` are accepted and normalized to `_`."}
BUCKET_ID_PATTERN = "^[a-zA-Z0-9][a-zA-Z0-9_-]*$"
# An OpenSSH public key line Transfer Family accepts (ssh-ed25519, ecdsa-sha2-nistp256/384/521,
# ssh-rsa of 2048/3072/4096 bits).
SSH_KEY_IN = {"type": "string", "maxLength": 2048,
              "pattern": "^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) AAAA[A-Za-z0-9+/]+={0,2}( [^\\u0000-\\u001f]*)?$",
              "examples": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMf9/y+h2QDwl4++5GUgOMcxgoJe7N68+cTjqPa2eSC6 a@host"]}

batch_request_fields = {"method": {"enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]},
                        "path": {"type": "string", "maxLength": 2048, "pattern": "^/[^\\s]*$"},
                        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                        "body": {"description": "Any JSON; sent as the sub-request's JSON body."}}

# A bucket's attributes in a write: free-form (Kinto), but the names the server sets are its
# own: `id` is the path's (or, on a create by POST, chooses it), `created`, `last_modified`,
# `revision`, `owner` and `host` may be sent back only as read (a different value is a 400),
# the counters `file_count`/`total_bytes` are accepted whatever their count and not stored.
# The schema says the strict form: leave the server's names out.
def attributes_in(with_id):
    props = {"title": {"type": ["string", "null"]}, "icon": {"type": ["string", "null"]}, "notes": {"type": ["string", "null"]},
             "active": {"type": "boolean"}, "limits": {"oneOf": [ref("BucketLimits"), {"type": "null"}]},
             "created": False, "last_modified": False, "revision": False, "owner": False, "host": False,
             "file_count": nonneg, "total_bytes": nonneg}
    props["id"] = {"type": "string", "pattern": BUCKET_ID_PATTERN, "maxLength": 64} if with_id else False
    return {"type": "object", "maxProperties": 256, "propertyNames": {"maxLength": 256}, "properties": props,
            "description": "Any attributes (Kinto); the server's own names (`id`, `created`, `last_modified`, `revision`, `owner`, `host`) "
                           "may be sent back as read, and any other value of them is refused (400 naming it); `file_count`/`total_bytes` are not stored."}

schemas = {
    "BucketAttributesIn": attributes_in(True),
    "BucketAttributesReplaceIn": attributes_in(False),
    "Error": {
        "type": "object", "description": "The Kinto error envelope.",
        "required": ["code", "errno", "error", "message"], "additionalProperties": False,
        "properties": {"code": {"type": "integer", "minimum": 400, "maximum": 599}, "errno": {"type": "integer"},
                       "error": {"type": "string"}, "message": {"type": "string"},
                       "details": {"description": "A list of `{location, name, description}` for bad inputs; `{existing}` for 412; `{id, resource_name}` for 404.",
                                   "oneOf": [{"type": "array", "items": ref("ErrorDetail")}, {"type": "object"}]}}},
    "ErrorDetail": {"type": "object", "required": ["location", "name", "description"], "additionalProperties": False,
                    "properties": {"location": {"enum": ["body", "querystring", "header", "path"]},
                                   "name": {"type": "string"}, "description": {"type": "string"}}},
    "Permissions": {"type": "object", "required": ["read", "write"], "additionalProperties": False,
                    "properties": {"read": principals, "write": principals}},
    "PermissionsIn": closed({"read": principals_in, "write": principals_in}),
    "Bucket": {
        "type": "object", "description": "A bucket's attributes: the server-managed ones, `title`/`icon`/`notes`/`active`, and any other attribute a client set.",
        "required": ["id", "created", "last_modified", "revision", "owner", "file_count", "total_bytes", "active"],
        "additionalProperties": True,
        "properties": {"id": {"type": "string"}, "title": {"type": ["string", "null"]}, "icon": {}, "notes": {},
                       "active": {"type": "boolean"}, "created": ms, "last_modified": ms,
                       "revision": {"type": "integer", "minimum": 1}, "owner": {"type": "string"},
                       "file_count": nonneg, "total_bytes": nonneg,
                       "host": {"type": "string", "description": "Where the bucket's SFTP users connect (`host`, or `host:port` when the port is not 22); absent without SFTP."},
                       "limits": ref("BucketLimits")}},
    "BucketLimits": {"type": "object", "additionalProperties": False,
                     "description": "The bucket's own upload limits, each optional; within the deployment's (`GET /v1/` settings.upload), which they can only tighten. The effective limit is the tighter of both.",
                     "properties": {"max_file_size": {"type": "integer", "minimum": 1}, "max_files": {"type": "integer", "minimum": 1},
                                    "max_bytes": {"type": "integer", "minimum": 1, "description": "Byte quota of the bucket's current files."},
                                    "accepted_file_types": {"type": "array", "minItems": 1, "items": {"type": "string"}}}},
    "BucketEnvelope": {"type": "object", "required": ["data", "permissions"], "additionalProperties": False,
                       "properties": {"data": ref("Bucket"), "permissions": ref("Permissions")}},
    "BucketIn": closed({"data": ref("BucketAttributesIn"), "permissions": ref("PermissionsIn")},
                       description="A bucket body (Kinto): attributes under `data`, ACL under `permissions`; nothing else."),
    "BucketReplaceIn": closed({"data": ref("BucketAttributesReplaceIn"), "permissions": ref("PermissionsIn")},
                              description="A bucket body (Kinto): attributes under `data`, ACL under `permissions`; nothing else."),
    "Tombstone": {"type": "object", "required": ["id", "deleted", "last_modified"], "additionalProperties": False,
                  "properties": {"id": {"type": "string"}, "deleted": {"const": True}, "last_modified": ms}},
    "TombstoneEnvelope": {"type": "object", "required": ["data"], "additionalProperties": False,
                          "properties": {"data": ref("Tombstone")}},
    "NextUri": {"type": ["string", "null"], "description": "Absolute-path reference (starts with the API's base path) to the next page; null on the last."},
    "BucketList": {"type": "object", "required": ["data", "has_more", "next_uri"], "additionalProperties": False,
                   "properties": {"data": {"type": "array", "items": ref("Bucket")}, "has_more": {"type": "boolean"}, "next_uri": ref("NextUri")}},
    "TombstoneList": {"type": "object", "required": ["data", "has_more", "next_uri"], "additionalProperties": False,
                      "properties": {"data": {"type": "array", "items": ref("Tombstone")}, "has_more": {"type": "boolean"}, "next_uri": ref("NextUri")}},
    "ServerInfo": {
        "type": "object", "required": ["project_name", "project_version", "http_api_version", "url", "settings", "capabilities", "auth"],
        "additionalProperties": False,
        "properties": {
            "project_name": {"type": "string"}, "project_version": {"type": "string"}, "http_api_version": {"type": "string"},
            "project_docs": {"type": "string"}, "url": {"type": "string", "format": "uri"},
            "settings": {"type": "object", "required": ["batch_max_requests", "readonly", "upload"],
                         "properties": {"batch_max_requests": {"type": "integer", "minimum": 1}, "readonly": {"type": "boolean"},
                                        "api_delete_enabled": {"type": "boolean"},
                                        "upload": {"type": "object", "required": ["max_files_per_bucket", "max_file_size", "accepted_file_types", "max_bytes_per_bucket", "version_retention_days"],
                                                   "description": "The deployment's upload limits; a bucket's `limits` can only tighten them.",
                                                   "properties": {"max_files_per_bucket": nonneg, "max_file_size": nonneg, "accepted_file_types": {"type": "string"},
                                                                  "max_bytes_per_bucket": {"type": "integer", "minimum": 0, "description": "Byte quota of every bucket's current files; 0 = none."},
                                                                  "version_retention_days": {"type": "integer", "minimum": 1, "description": "Days a replaced file version is kept (listed, restorable)."},
                                                                  "multipart_threshold": {"type": "integer", "minimum": 0, "description": "Files of this many bytes or more get a multipart plan."},
                                                                  "multipart_part_size": {"type": "integer", "minimum": 0, "description": "The plans' part size (grown so that a file needs at most 10,000 parts)."},
                                                                  "multipart_plan_ttl": {"type": "integer", "minimum": 0, "description": "Seconds a multipart plan stays open."}}}}},
            "capabilities": {"type": "object", "additionalProperties": {"type": "object"}},
            "auth": ref("SignIn"),
            "user": {"type": "object", "required": ["id", "principals", "privileges"],
                     "description": "Who the caller is. `bucket`: the caller's personal bucket (`/v1/buckets/default`), absent for a key with a bucket scope "
                                    "(it reaches only its scope). `key`: present when an API key authenticated the call.",
                     "properties": {"id": {"type": "string"}, "principals": principals, "privileges": {"type": "array", "items": {"type": "string"}}, "bucket": {"type": "string"},
                                    "key": {"type": "object", "required": ["id", "principal"], "additionalProperties": False,
                                            "properties": {"id": {"type": "string"}, "principal": {"type": "string"},
                                                           "buckets": {"type": "array", "description": "The key's scope; absent: every bucket its owner reaches.",
                                                                       "items": {"type": "object", "required": ["id", "access"], "additionalProperties": False,
                                                                                 "properties": {"id": {"type": "string"}, "access": {"enum": ["read", "write"]}}}}}}}}}},
    "SignIn": {
        "type": "object", "required": ["type", "api_keys"], "additionalProperties": False,
        "description": "How a client signs in. `cognito`: InitiateAuth on `endpoint` with `client_id` (a public app client, no secret) and one of `flows`; "
                       "send the ID or access token as `Authorization: Bearer`. `oidc`: an external OpenID Connect issuer; tokens for `client_id`. "
                       "`jwt`: no sign-in service; tokens signed with keys configured in the deployment.",
        "properties": {
            "type": {"enum": ["cognito", "oidc", "jwt"]},
            "issuer": {"type": "string", "description": "The `iss` of the provider's tokens."},
            "client_id": {"type": "string", "description": "The app client id: the tokens' `aud` (ID tokens) or `client_id` (Cognito access tokens)."},
            "jwks_uri": {"type": "string", "format": "uri"},
            "user_pool_id": {"type": "string"}, "region": {"type": "string"},
            "endpoint": {"type": "string", "format": "uri", "description": "The cognito-idp endpoint to call InitiateAuth on."},
            "flows": {"type": "array", "items": {"enum": ["USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"]}},
            "api_keys": {"type": "object", "required": ["headers", "url"], "additionalProperties": False,
                         "properties": {"headers": {"type": "array", "items": {"type": "string"}}, "url": {"type": "string", "format": "uri", "description": "Where keys are made: `POST` (absolute)."}}}}},
    "DataDocument": {"type": "object", "required": ["data"], "additionalProperties": False,
                     "properties": {"data": {"type": "object", "description": "The bucket's JSON data document."}}},
    "DataIn": closed({"data": {"type": "object", "description": "The document: any JSON object (at most 32 levels deep)."}}, ["data"]),
    "File": {
        "type": "object", "required": ["name", "size", "content_type", "etag", "last_modified", "uploaded_by", "path", "permalink"],
        "additionalProperties": False,
        "properties": {"name": {"type": "string"}, "size": nonneg, "content_type": {"type": "string"}, "etag": {"type": "string"},
                       "sha256": {"type": "string"}, "last_modified": ms,
                       "modified": {**ms, "deprecated": True, "description": "xyOps's name for `last_modified` (same value); deprecated."},
                       "uploaded_by": {"type": "string"},
                       "path": {"type": "string", "description": "xyOps's permalink path `files/bucket/<id>/<hash>/<name>`: NOT a URL (it does not resolve against the request URL); use `permalink`."},
                       "permalink": {"type": "string", "format": "uri", "description": "Absolute URL of the file's permalink."}}},
    "FileList": {"type": "object", "required": ["data", "has_more", "next_uri"], "additionalProperties": False,
                 "properties": {"data": {"type": "array", "items": ref("File")}, "has_more": {"type": "boolean"}, "next_uri": ref("NextUri")}},
    "FileVersion": {
        "type": "object", "required": ["version_id", "name", "size", "content_type", "etag", "last_modified", "uploaded_by", "replaced", "expires_at"],
        "additionalProperties": False,
        "properties": {"version_id": {"type": "string"}, "name": {"type": "string"}, "size": nonneg, "content_type": {"type": "string"},
                       "etag": {"type": "string"}, "sha256": {"type": "string"}, "last_modified": ms, "uploaded_by": {"type": "string"},
                       "replaced": {**ms, "description": "When a newer version replaced it."},
                       "expires_at": {**ms, "description": "When S3's lifecycle expires it (the deployment's retention)."}}},
    "FileVersionList": {"type": "object", "required": ["data", "has_more", "next_uri"], "additionalProperties": False,
                        "properties": {"data": {"type": "array", "items": ref("FileVersion")}, "has_more": {"type": "boolean"}, "next_uri": ref("NextUri")}},
    "HistoryEntry": {"type": "object", "required": ["id", "last_modified", "uri", "action", "resource_name", "target", "user_id", "bucket_id"],
                     "additionalProperties": False,
                     "properties": {"id": {"type": "string", "description": "Stable: derived from the stream record."}, "last_modified": ms,
                                    "uri": {"type": "string", "description": "The resource, Kinto style (`/buckets/{id}`, `/buckets/{id}/data`, `/buckets/{id}/files/{name}`)."},
                                    "action": {"enum": ["create", "update", "delete"]}, "resource_name": {"enum": ["bucket", "data", "file", "webhook", "key", "sftp_user"]},
                                    "target": {"type": "object", "description": "The resource after the change (`data`, and for a bucket `permissions`), as the caller may see it: a writer of the bucket sees what the routes show a writer (never a secret); a reader sees of a webhook its `id`, `bucket_id`, `events`, `glob`, `active` and its URL's origin only (`scheme://host[:port]`), of an SFTP user its `username` and `access`, of a scoped key its `id` and this bucket's element of its scope (and `user_id` is `system.Unknown`)."},
                                    "user_id": {"type": "string", "description": "The principal that acted (`user:…`, `key:…` for an API key)."},
                                    "bucket_id": {"type": "string"}}},
    "HistoryList": {"type": "object", "required": ["data", "has_more", "next_uri"], "additionalProperties": False,
                    "properties": {"data": {"type": "array", "items": ref("HistoryEntry")}, "has_more": {"type": "boolean"}, "next_uri": ref("NextUri")}},
    "SftpKey": {"type": "object", "required": ["id", "key", "fingerprint", "comment", "added"], "additionalProperties": False,
                "properties": {"id": {"type": "string", "description": "Transfer Family's key id."}, "key": {"type": "string", "description": "`<type> <base64>`."},
                               "fingerprint": {"type": "string", "description": "OpenSSH's `SHA256:…`."}, "comment": {"type": "string"}, "added": ms}},
    "SftpUser": {"type": "object", "required": ["username", "login", "host", "access", "ssh_public_keys", "created", "created_by", "owner", "suspended", "suspended_reason", "last_modified"],
                 "additionalProperties": False,
                 "properties": {"username": {"type": "string"}, "login": {"type": "string", "description": "The SFTP login: `<bucket id>.<username>`."},
                                "host": {"type": ["string", "null"]}, "access": {"enum": ["read", "write"]},
                                "ssh_public_keys": {"type": "array", "items": ref("SftpKey")}, "created": ms, "created_by": {"type": "string"},
                                **ORIGIN_FIELDS, "last_modified": ms}},
    "SftpUserList": {"type": "object", "required": ["data", "has_more", "next_uri"], "additionalProperties": False,
                     "properties": {"data": {"type": "array", "items": ref("SftpUser")}, "has_more": {"type": "boolean"}, "next_uri": ref("NextUri")}},
    "SftpUserEnvelope": {"type": "object", "required": ["data"], "additionalProperties": False, "properties": {"data": ref("SftpUser")}},
    "SftpUserIn": {"type": "object", "required": ["username", "ssh_public_keys"], "additionalProperties": False,
                   "properties": {"username": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{2,31}$"},
                                  "ssh_public_keys": {"type": "array", "minItems": 1, "maxItems": 10, "items": SSH_KEY_IN},
                                  "access": {"enum": ["read", "write"], "default": "read"}}},
    "SftpUserPatch": {"type": "object", "additionalProperties": False,
                      "properties": {"access": {"enum": ["read", "write"]},
                                     "ssh_public_keys": {"type": "array", "minItems": 1, "maxItems": 10, "items": SSH_KEY_IN,
                                                         "description": "The whole new set of keys."},
                                     "username": {"type": "string", "description": "Ignored when it is the user's own name (a user is not renamed)."}}},
    "SftpUserDeleted": {"type": "object", "required": ["data"], "additionalProperties": False,
                        "properties": {"data": {"type": "object", "required": ["username", "deleted"], "additionalProperties": False,
                                                "properties": {"username": {"type": "string"}, "deleted": {"const": True}}}}},
    "ReconcileIn": closed({"after": {"type": ["string", "null"], "maxLength": 255, "pattern": "^[^/]*$", "description": "A previous answer's `next` (a file name)."}}),
    "Reconciled": {"type": "object", "required": ["data"], "additionalProperties": False,
                   "properties": {"data": {"type": "object", "required": ["examined", "recorded", "refused", "removed", "next"], "additionalProperties": False,
                                           "properties": {"examined": nonneg, "recorded": nonneg, "refused": nonneg, "removed": nonneg,
                                                          "next": {"type": ["string", "null"], "description": "Where the next page starts; null when the bucket is done."}}}}},
    "FileEnvelope": {"type": "object", "required": ["data"], "additionalProperties": False, "properties": {"data": ref("File")}},
    "WantedFile": closed({"name": FILE_NAME_IN, "size": nonneg,
                          "content_type": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$",
                                           "description": "A MIME type the deployment (and the bucket's `limits`) accept."},
                          "sha256": SHA256_IN}, ["name", "size", "content_type"]),
    "GrantsIn": closed({"files": {"type": "array", "minItems": 1, "maxItems": 100, "items": ref("WantedFile")}}, ["files"]),
    "Grant": {"type": "object", "required": ["name", "original_name", "size", "content_type", "upload_id", "status_uri"],
              "description": "A single-PUT grant has `upload`; a file of `multipart_threshold` bytes or more has `multipart` instead.",
              "additionalProperties": False,
              "properties": {"name": {"type": "string"}, "original_name": {"type": "string"}, "size": nonneg, "content_type": {"type": "string"},
                             "upload_id": {"type": "string"},
                             "status_uri": {"type": "string", "description": "Absolute-path reference to the upload's status."},
                             "upload": {"type": "object", "required": ["url", "method", "headers", "expires_at"], "additionalProperties": False,
                                        "properties": {"url": {"type": "string", "format": "uri"}, "method": {"const": "PUT"},
                                                       "headers": {"type": "object", "additionalProperties": {"type": "string"}}, "expires_at": ms}},
                             "multipart": ref("MultipartPlan")}},
    "MultipartPlan": {"type": "object", "required": ["part_size", "part_count", "parts", "next_part", "parts_uri", "complete_uri", "expires_at"],
                      "additionalProperties": False,
                      "description": "Part URLs come from `parts_uri` (each signed with its part's SHA-256); `parts` is the first page handed out here (empty: the checksums are the client's), `next_part` the first part without a URL.",
                      "properties": {"part_size": {"type": "integer", "minimum": 5242880}, "part_count": {"type": "integer", "minimum": 1, "maximum": 10000},
                                     "parts": {"type": "array", "items": ref("PartUrl")}, "next_part": {"type": ["integer", "null"], "minimum": 1},
                                     "parts_uri": {"type": "string"}, "complete_uri": {"type": "string"}, "expires_at": ms}},
    "PartUrl": {"type": "object", "required": ["number", "size", "method", "url", "headers", "expires_at"], "additionalProperties": False,
                "properties": {"number": {"type": "integer", "minimum": 1, "maximum": 10000}, "size": nonneg, "method": {"const": "PUT"},
                               "url": {"type": "string", "format": "uri"}, "headers": {"type": "object", "additionalProperties": {"type": "string"}}, "expires_at": ms}},
    "PartsIn": closed({"parts": {"type": "array", "minItems": 1, "maxItems": 100, "uniqueItems": True, "items": closed(
                    {"number": {"type": "integer", "minimum": 1, "maximum": 10000}, "sha256": {**SHA256_IN, "description": "The part's SHA-256: 64 hex digits or base64."}},
                    ["number", "sha256"])}}, ["parts"]),
    "PartUrls": {"type": "object", "required": ["parts"], "additionalProperties": False, "properties": {"parts": {"type": "array", "items": ref("PartUrl")}}},
    "ReceivedParts": {"type": "object", "required": ["data", "has_more", "next_uri"], "additionalProperties": False,
                      "properties": {"data": {"type": "array", "items": {"type": "object", "required": ["number", "size", "etag", "sha256"], "additionalProperties": False,
                                                                           "properties": {"number": {"type": "integer"}, "size": nonneg, "etag": {"type": "string"}, "sha256": {"type": ["string", "null"]}}}},
                                     "has_more": {"type": "boolean"}, "next_uri": {"type": ["string", "null"]}}},
    "CompleteIn": closed({"sha256": {"type": "string", "pattern": "^[A-Za-z0-9+/]{43}=-[1-9][0-9]{0,4}$",
                                     "description": "S3's composite SHA-256: `<base64 of the SHA-256 of the part digests>-<part count>`."}}),
    "UploadAborted": {"type": "object", "required": ["data"], "additionalProperties": False,
                      "properties": {"data": {"type": "object", "required": ["upload_id", "aborted"], "additionalProperties": False,
                                              "properties": {"upload_id": {"type": "string"}, "aborted": {"const": True}}}}},
    "Grants": {"type": "object", "required": ["files"], "additionalProperties": False,
               "properties": {"files": {"type": "array", "items": ref("Grant")},
                              "data": {"type": "array", "items": ref("Grant"), "deprecated": True, "description": "The same grants under their former key; deprecated."}}},
    "Download": {"type": "object", "required": ["url", "expires_at"], "additionalProperties": False,
                 "properties": {"url": {"type": "string", "format": "uri"}, "expires_at": ms}},
    "FileDeleted": {"type": "object", "required": ["data"], "additionalProperties": False,
                    "properties": {"data": {"type": "object", "required": ["name", "deleted"], "additionalProperties": False,
                                            "properties": {"name": {"type": "string"}, "deleted": {"const": True}}}}},
    "UploadStatus": {"type": "object", "required": ["data"], "additionalProperties": False, "properties": {"data": {"oneOf": [
        {"type": "object", "required": ["upload_id", "status", "name", "expires_at"], "additionalProperties": False,
         "properties": {"upload_id": {"type": "string"}, "status": {"enum": ["pending", "expired"]}, "name": {"type": "string"}, "expires_at": ms}},
        {"type": "object", "required": ["upload_id", "status", "name", "file"], "additionalProperties": False,
         "properties": {"upload_id": {"type": "string"}, "status": {"const": "recorded"}, "name": {"type": "string"}, "file": ref("File")}},
        {"type": "object", "required": ["upload_id", "status", "name"], "additionalProperties": False,
         "description": "`replaced`: a later upload of the same name is the file now; `deleted`: no file of that name exists now.",
         "properties": {"upload_id": {"type": "string"}, "status": {"enum": ["replaced", "deleted"]}, "name": {"type": "string"}}},
        {"type": "object", "required": ["upload_id", "status", "name", "reason", "at"], "additionalProperties": False,
         "properties": {"upload_id": {"type": "string"}, "status": {"const": "rejected"}, "name": {"type": "string"}, "reason": {"type": "string"}, "at": ms}}]}}},
    "FetchIn": closed({"sync": {"enum": ["data", "files", "data_and_files"]}, "glob": {**GLOB_IN, "type": ["string", "null"]}}, ["sync"]),
    "StoreIn": closed({"sync": {"enum": ["data", "files", "data_and_files"]}, "glob": {**GLOB_IN, "type": ["string", "null"]},
                       "data": {"type": ["object", "null"], "description": "Shallow-merged into the document (when `sync` names data)."},
                       "files": {"type": ["array", "null"], "maxItems": 100, "items": ref("WantedFile"), "description": "Files to upload (when `sync` names files)."}},
                      ["sync"]),
    "Fetched": {"type": "object", "additionalProperties": False,
                "properties": {"data": {"type": "object"}, "files": {"type": "array", "items": {
                    "type": "object", "required": ["name", "size", "content_type", "last_modified", "url", "expires_at"], "additionalProperties": False,
                    "properties": {"name": {"type": "string"}, "size": nonneg, "content_type": {"type": "string"}, "last_modified": ms,
                                   "modified": {**ms, "deprecated": True}, "url": {"type": "string", "format": "uri"}, "expires_at": ms,
                                   "sha256": {"type": "string", "description": "The recorded checksum (base64 SHA-256, or S3's composite `<base64>-<parts>` for a multipart file)."}}}}}},
    "Stored": {"type": "object", "additionalProperties": False,
               "properties": {"data": {"type": "object", "description": "The merged data document."},
                              "files": {"type": "array", "items": ref("Grant")}, "skipped": {"type": "array", "items": {"type": "string"}}}},
    "EmptyIn": closed({"files": {"type": ["boolean", "null"]}, "data": {"type": ["boolean", "null"]}},
                      description="What to empty: at least one of `files`, `data` true. There is no filter (a field such as `glob` is refused: emptying is all or nothing).",
                      anyOf=[{"required": ["files"], "properties": {"files": {"const": True}}},
                             {"required": ["data"], "properties": {"data": {"const": True}}}]),
    "Emptied": {"type": "object", "required": ["data"], "additionalProperties": False,
                "properties": {"data": {"type": "object", "required": ["files_deleted", "data_cleared"], "additionalProperties": False,
                                        "properties": {"files_deleted": nonneg, "data_cleared": {"type": "boolean"}}}}},
    "BatchIn": closed({"defaults": closed(batch_request_fields, description="Fills what each request leaves out."),
                       "requests": {"type": "array", "minItems": 1, "maxItems": 25, "items": closed(batch_request_fields, ["path"])}},
                      ["requests"]),
    "Batch": {"type": "object", "required": ["responses"], "additionalProperties": False,
              "properties": {"responses": {"type": "array", "items": {
                  "type": "object", "required": ["status", "path", "body", "headers"], "additionalProperties": False,
                  "properties": {"status": {"type": "integer"}, "path": {"type": "string"},
                                 "body": {"description": "The sub-response's JSON body, or \"\" when it has none."},
                                 "headers": {"type": "object", "additionalProperties": {"type": "string"}}}}}}},
}

def err_resp(desc): return {"description": desc, "content": {JSON: {"schema": ref("Error")}}}
responses = {
    "BadRequest": err_resp("Invalid parameters (errno 107)."),
    "Unauthorized": {**err_resp("Missing or bad credentials (errno 104)."), "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}},
    "Forbidden": err_resp("Not allowed (errno 121), also for a bucket the caller may not read, whether or not it exists."),
    "NotFound": err_resp("No such resource (errno 111)."),
    "MethodNotAllowed": {**err_resp("Method not allowed on this path (errno 115)."), "headers": {"Allow": {"description": "The methods the path serves (HEAD wherever GET is).", "schema": {"type": "string"}}}},
    "Conflict": err_resp("Concurrent change or busy resource (errno 122)."),
    "PreconditionFailed": err_resp("If-Match / If-None-Match not met (errno 114); `details.existing` holds the current object."),
    "TooLarge": err_resp("An input is too large (errno 113)."),
    "UnsupportedMediaType": err_resp("Unsupported Content-Type (errno 107)."),
    "TooManyRequests": err_resp("Throttled; retry later."),
    "InternalError": err_resp("A failure of the service itself (errno 999); never caused by the request's input."),
    "Unavailable": {**err_resp("A dependency is unavailable; retry (errno 201)."), "headers": {"Retry-After": {"schema": {"type": "string"}}}},
    "NoBody": {"description": "As the GET, without a body."},
    "NotModified": {"description": "The representation has not changed (If-None-Match).", "headers": ETAG_H},
    "Redirect": {"description": "Redirect; the target is in `Location`. No body.", "headers": LOC_H},
}

# `*` or a quoted validator (`"<last_modified>"`, or a bucket's `"<last_modified>-<count>-<bytes>"`), weak or not.
ETAG_IN = {"type": "string", "pattern": "^(\\*|(W/)?\"[0-9]{1,18}(-[0-9]{1,19}){0,2}\")$"}

parameters = {
    "limit": {"name": "_limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
    "token": {"name": "_token", "in": "query", "description": "Opaque cursor from `next_uri`/`Next-Page` (valid 600 s).", "schema": {"type": "string", "minLength": 1, "maxLength": 1024}},
    "after": {"name": "after", "in": "query", "description": "List after this key (exclusive).",
              "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]+$"}},
    "ifMatch": {"name": "If-Match", "in": "header", "schema": ETAG_IN},
    "ifNoneMatch": {"name": "If-None-Match", "in": "header", "schema": ETAG_IN},
    "id": ID,
}
PAGE = (p("limit"), p("token"), p("after"))

bucket_body = json_body(ref("BucketIn"), required=False)
bucket_replace_body = json_body(ref("BucketReplaceIn"), required=False)
patch_types = ("application/json", "application/merge-patch+json", "application/json-patch+json")

def patch_body(members, pointer):
    """A PATCH body per media type: the two merges take the members (at least one, nothing
    else); a JSON Patch (RFC 6902) is at most 100 operations on `pointer` paths."""
    merge = closed(members, minProperties=1)
    op = {"type": "object", "required": ["op", "path"],
          "properties": {"op": {"enum": ["add", "remove", "replace", "move", "copy", "test"]},
                         "path": {"type": "string", "pattern": pointer}, "from": {"type": "string", "pattern": pointer}, "value": {}}}
    return {"required": True, "content": {"application/json": {"schema": merge}, "application/merge-patch+json": {"schema": merge},
                                          "application/json-patch+json": {"schema": {"type": "array", "minItems": 1, "maxItems": 100, "items": op}}}}

permissions_patch = closed({"read": {"oneOf": [principals_in, {"type": "null"}]}, "write": {"oneOf": [principals_in, {"type": "null"}]}})
bucket_patch_body = patch_body({"data": {**attributes_in(False), "type": "object"}, "permissions": permissions_patch}, "^/(data|permissions)(/.*)?$")
data_patch_body = patch_body({"data": {"type": "object"}}, "^/data(/.*)?$")
paths = {}

root_get = op("serverInfo", "Server information (Kinto `GET /v1/`); `auth` says how to sign in", {"200": ok("Server information", ref("ServerInfo")), **errs("401", "503")}, tags=["root"])
paths["/v1/"] = {"get": root_get, "head": head_of(root_get)}
paths["/v1"] = {"get": op("serverInfoRedirect", "Redirects to /v1/", {"307": resp("Redirect")}, public=True, tags=["root"])}
api_get = op("openApi", "This OpenAPI document", {"200": ok("The OpenAPI 3.1 document", {"type": "object", "required": ["openapi", "paths"]})}, public=True, tags=["root"])
paths["/v1/__api__"] = {"get": api_get, "head": head_of(api_get)}
paths["/v1/batch"] = {"post": op("batch", "Several requests in one (Kinto batch); each sub-request answers its own status",
                                 {"200": ok("One response per request, in order", ref("Batch")), **errs("400", "413", "415")},
                                 body=json_body(ref("BatchIn")), public=True, tags=["root"])}

list_buckets = op("listBuckets", "Buckets the caller can read, by id", {"200": ok("A page", ref("BucketList"), NEXT_H), **errs(*STD)}, params=PAGE, tags=["buckets"])
paths["/v1/buckets"] = {
    "get": list_buckets, "head": head_of(list_buckets),
    "post": op("createBucket", "Create a bucket (generated id unless `data.id`)",
               {"201": ok("Created", ref("BucketEnvelope"), BUCKET_H), "200": ok("It exists and the caller can read it", ref("BucketEnvelope"), BUCKET_H), **errs(*STD, "412", "413", "415")},
               params=(p("ifMatch"), p("ifNoneMatch")), body=bucket_body, tags=["buckets"]),
    "delete": op("deleteBuckets", "Delete every bucket where the caller's own principals are in `write`",
                 {"200": ok("Tombstones", ref("TombstoneList"), NEXT_H), **errs(*STD)}, params=PAGE, tags=["buckets"]),
}
get_bucket = op("getBucket", "Read a bucket", {"200": ok("The bucket", ref("BucketEnvelope"), BUCKET_H), "304": resp("NotModified"), **errs(*STD, "412")},
                params=(p("id"), p("ifMatch"), p("ifNoneMatch")), tags=["buckets"])
paths["/v1/buckets/{id}"] = {
    "get": get_bucket, "head": head_of(get_bucket),
    "put": op("putBucket", "Create or replace a bucket", {"201": ok("Created", ref("BucketEnvelope"), BUCKET_H), "200": ok("Replaced", ref("BucketEnvelope"), BUCKET_H), **errs(*STD, "412", "413", "415")},
              params=(p("id"), p("ifMatch"), p("ifNoneMatch")), body=bucket_replace_body, tags=["buckets"]),
    "patch": op("patchBucket", "Change a bucket (JSON merge, merge-patch, JSON-Patch)", {"200": ok("Changed", ref("BucketEnvelope"), BUCKET_H), **errs(*STD, "412", "413", "415")},
                params=(p("id"), p("ifMatch"), p("ifNoneMatch")), body=bucket_patch_body, tags=["buckets"]),
    "delete": op("deleteBucket", "Delete a bucket and everything in it", {"200": ok("Tombstone", ref("TombstoneEnvelope")), **errs(*STD, "412")},
                 params=(p("id"), p("ifMatch"), p("ifNoneMatch")), tags=["buckets"]),
}
get_data = op("getData", "Read the data document (`?revision=N`: a kept older revision)",
              {"200": ok("The document", ref("DataDocument"), ETAG_H), "304": resp("NotModified"), **errs(*STD, "412")},
              params=(p("id"), {"name": "revision", "in": "query", "schema": {"type": "integer", "minimum": 1}}, p("ifMatch"), p("ifNoneMatch")), tags=["data"])
paths["/v1/buckets/{id}/data"] = {
    "get": get_data, "head": head_of(get_data),
    "put": op("putData", "Replace the data document", {"200": ok("The document", ref("DataDocument"), ETAG_H), **errs(*STD, "412", "413", "415")},
              params=(p("id"), p("ifMatch"), p("ifNoneMatch")), body=json_body(ref("DataIn")), tags=["data"]),
    "patch": op("patchData", "Change the data document (shallow merge, merge-patch, JSON-Patch)", {"200": ok("The document", ref("DataDocument"), ETAG_H), **errs(*STD, "412", "413", "415")},
                params=(p("id"), p("ifMatch"), p("ifNoneMatch")), body=data_patch_body, tags=["data"]),
}
list_files = op("listFiles", "The bucket's files", {"200": ok("A page", ref("FileList"), NEXT_H), **errs(*STD)},
                params=(p("id"), *PAGE, {"name": "glob", "in": "query", "schema": GLOB_IN}), tags=["files"])
paths["/v1/buckets/{id}/files"] = {
    "get": list_files, "head": head_of(list_files),
    "post": op("grantUploads", "Presigned upload URLs for files", {"201": ok("One grant per file", ref("Grants")), **errs(*STD, "413", "415")},
               params=(p("id"),), body=json_body(ref("GrantsIn")), tags=["files"]),
}
NAME = {"name": "name", "in": "path", "required": True, "schema": FILE_NAME_IN}
JSONQ = {"name": "json", "in": "query", "description": "Answer `{url, expires_at}` instead of a redirect.", "schema": {"type": "string"}, "allowEmptyValue": True}
get_file = op("downloadFile", "Download: 302 to a presigned URL, or JSON with `?json`/`Accept: application/json`",
              {"302": resp("Redirect"), "200": ok("The URL", ref("Download")), **errs(*STD)}, params=(p("id"), NAME, JSONQ), tags=["files"])
paths["/v1/buckets/{id}/files/{name}"] = {
    "get": get_file, "head": head_of(get_file),
    "delete": op("deleteFile", "Delete a file", {"200": ok("Deleted", ref("FileDeleted")), **errs(*STD)}, params=(p("id"), NAME), tags=["files"]),
}
list_versions = op("listFileVersions", "The file's kept versions (replaced within the retention)",
                    {"200": ok("A page", ref("FileVersionList"), NEXT_H), **errs(*STD)}, params=(p("id"), NAME, *PAGE), tags=["files"])
paths["/v1/buckets/{id}/files/{name}/versions"] = {"get": list_versions, "head": head_of(list_versions)}
VERSION = {"name": "version_id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[!-~]{1,128}$"}}
paths["/v1/buckets/{id}/files/{name}/versions/{version_id}/restore"] = {
    "post": op("restoreFileVersion", "Make a kept version the file's current content again (an upload of it, checked against the limits)",
               {"200": ok("The file as restored", ref("FileEnvelope")), **errs(*STD, "413", "415")}, params=(p("id"), NAME, VERSION),
               body=json_body(NO_FIELDS, required=False), tags=["files"])}
UPLOAD = {"name": "upload_id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$"}}
get_upload = op("uploadStatus", "What became of an upload", {"200": ok("Its status", ref("UploadStatus")), **errs(*STD)}, params=(p("id"), UPLOAD), tags=["files"])
paths["/v1/buckets/{id}/uploads/{upload_id}"] = {
    "get": get_upload, "head": head_of(get_upload),
    "delete": op("abortUpload", "Abort a multipart upload (its parts are deleted, its grant withdrawn: its status is then 404)",
                 {"200": ok("Aborted", ref("UploadAborted")), **errs(*STD)}, params=(p("id"), UPLOAD), tags=["files"]),
}
received_parts = op("receivedParts", "The parts S3 has received (to resume an upload)", {"200": ok("A page", ref("ReceivedParts"), NEXT_H), **errs(*STD)},
                    params=(p("id"), UPLOAD, *PAGE), tags=["files"])
paths["/v1/buckets/{id}/uploads/{upload_id}/parts"] = {
    "post": op("partUrls", "Presigned part URLs of a multipart upload, each signed with its part's SHA-256",
               {"200": ok("One URL per part", ref("PartUrls")), **errs(*STD, "413", "415")},
               params=(p("id"), UPLOAD), body=json_body(ref("PartsIn")), tags=["files"]),
    "get": received_parts, "head": head_of(received_parts),
}
paths["/v1/buckets/{id}/uploads/{upload_id}/complete"] = {
    "post": op("completeUpload", "Complete a multipart upload (the server lists the parts; S3 checks the composite checksum)",
               {"202": ok("The upload's status (recorded by the upload event)", ref("UploadStatus")), **errs(*STD, "413", "415")},
               params=(p("id"), UPLOAD), body=json_body(ref("CompleteIn"), required=False), tags=["files"]),
}
paths["/v1/buckets/{id}/fetch"] = {"post": op("fetch", "xyOps Fetch: data and/or download URLs", {"200": ok("Fetched", ref("Fetched")), **errs(*STD, "413", "415")},
                                              params=(p("id"),), body=json_body(ref("FetchIn")), tags=["jobs"])}
paths["/v1/buckets/{id}/store"] = {"post": op("store", "xyOps Store: merge data, grant uploads", {"200": ok("Stored", ref("Stored")), **errs(*STD, "413", "415")},
                                              params=(p("id"),), body=json_body(ref("StoreIn")), tags=["jobs"])}
paths["/v1/buckets/{id}/empty"] = {"post": op("empty", "Clear files and/or data", {"200": ok("Emptied", ref("Emptied")), **errs(*STD, "413", "415")},
                                              params=(p("id"),), body=json_body(ref("EmptyIn")), tags=["jobs"])}
perm = op("permalink", "xyOps permalink: 302 to a presigned GET (JSON with `?json`)", {"302": resp("Redirect"), "200": ok("The URL", ref("Download")), **errs(*STD)},
          params=({"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                  {"name": "hash", "in": "path", "required": True, "schema": {"type": "string"}},
                  {"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}}, JSONQ),
          public=True, tags=["files"])
paths["/files/bucket/{id}/{hash}/{filename}"] = {"get": perm, "head": head_of(perm)}

# API keys (README, "API keys").
key_schema = {"type": "object", "additionalProperties": False,
              "required": ["id", "title", "prefix", "owner", "principal", "privileges", "buckets", "created", "created_by", "expires_at", "last_used"],
              "properties": {
                  "id": {"type": "string", "pattern": "^[0-9a-f]{16}$"}, "title": {"type": "string"},
                  "prefix": {"type": "string", "description": "The secret's public start, `bk_<id>`."},
                  "owner": {"type": "string", "description": "The user the key acts for (`user:<sub>`)."},
                  "principal": {"type": "string", "description": "`key:<id>`: what ACLs name to share with this key alone."},
                  "privileges": {"type": "array", "items": {"enum": ["create_buckets", "edit_buckets", "delete_buckets", "admin", "create_keys"]}},
                  "buckets": {"type": ["array", "null"], "items": ref("KeyScope"), "description": "`null`: every bucket the owner reaches."},
                  "created": ms, "expires_at": {**ms, "type": ["integer", "null"]}, "last_used": {**ms, "type": ["integer", "null"]},
                  "created_by": {"type": ["string", "null"], "description": "`key:<id>` of the key that made this one (it works only while that key does); `null`: made by a user."},
                  "deleted": {"type": "boolean"}}}
schemas["KeyScope"] = {"type": "object", "additionalProperties": False, "required": ["id", "access"],
                       "properties": {"id": {"type": "string"}, "access": {"enum": ["read", "write"]}}}
schemas["Key"] = key_schema
schemas["KeyEnvelope"] = {"type": "object", "required": ["data"], "additionalProperties": False, "properties": {"data": ref("Key")}}
schemas["KeyCreated"] = {"type": "object", "required": ["data", "secret"], "additionalProperties": False,
                         "properties": {"data": ref("Key"), "secret": {"type": "string", "pattern": "^bk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$",
                                                                        "description": "Shown once; only its hash is stored."}}}
schemas["KeyList"] = {"type": "object", "required": ["data", "has_more", "next_uri"], "additionalProperties": False,
                      "properties": {"data": {"type": "array", "items": ref("Key")}, "has_more": {"type": "boolean"}, "next_uri": ref("NextUri")}}
# Printable text with something besides spaces (control characters refused), at most 200 characters.
TITLE_IN = {"type": "string", "minLength": 1, "maxLength": 200,
            "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"}
key_in = closed({
    "title": TITLE_IN,
    "privileges": {"type": ["array", "null"], "items": {"enum": ["create_buckets", "edit_buckets", "delete_buckets", "admin", "create_keys"]}},
    "buckets": {"type": ["array", "null"], "maxItems": 20, "uniqueItems": True,
                "items": closed({"id": {"type": "string", "pattern": BUCKET_ID_PATTERN, "maxLength": 64}, "access": {"enum": ["read", "write"]}}, ["id", "access"])},
    "expires_at": {**ms, "type": ["integer", "null"], "description": "In the future and within ten years (ms since the epoch)."}}, ["title"])
schemas["KeyIn"] = {"oneOf": [key_in, closed({"data": key_in}, ["data"])],
                    "description": "The key's fields, or the same wrapped in `data`; nothing else."}
USERNAME = {"name": "username", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{2,31}$"}}
list_users = op("listSftpUsers", "The bucket's SFTP users (write permission)", {"200": ok("A page", ref("SftpUserList"), NEXT_H), **errs(*STD)},
                params=(p("id"), *PAGE), tags=["sftp"])
paths["/v1/buckets/{id}/users"] = {
    "get": list_users, "head": head_of(list_users),
    "post": op("createSftpUser", "Create an SFTP user of the bucket (a Transfer Family user confined to it)",
               {"201": ok("Created", ref("SftpUserEnvelope")), **errs(*STD, "413", "415")}, params=(p("id"),), body=json_body(ref("SftpUserIn")), tags=["sftp"]),
}
get_user = op("getSftpUser", "Read an SFTP user", {"200": ok("The user", ref("SftpUserEnvelope")), **errs(*STD)}, params=(p("id"), USERNAME), tags=["sftp"])
paths["/v1/buckets/{id}/users/{username}"] = {
    "get": get_user, "head": head_of(get_user),
    "patch": op("patchSftpUser", "Change an SFTP user's access or keys", {"200": ok("The user", ref("SftpUserEnvelope")), **errs(*STD, "413", "415")},
                params=(p("id"), USERNAME), body=json_body(ref("SftpUserPatch")), tags=["sftp"]),
    "delete": op("deleteSftpUser", "Delete an SFTP user (he can no longer connect)", {"200": ok("Deleted", ref("SftpUserDeleted")), **errs(*STD)},
                 params=(p("id"), USERNAME), tags=["sftp"]),
}
paths["/v1/buckets/{id}/reconcile"] = {
    "post": op("reconcileBucket", "One page of the reconciliation pass: record objects no record describes, remove records whose object is gone",
               {"200": ok("What the page did", ref("Reconciled")), **errs(*STD, "413", "415")}, params=(p("id"),),
               body=json_body(ref("ReconcileIn"), required=False), tags=["sftp"])}
KEY_ID = {"name": "id", "in": "path", "required": True, "description": "A key id.", "schema": {"type": "string", "pattern": "^[0-9a-f]{16}$"}}
list_keys = op("listKeys", "The caller's API keys (an admin: every user's, or `owner`'s)", {"200": ok("A page", ref("KeyList"), NEXT_H), **errs(*STD)},
               params=(*PAGE, {"name": "owner", "in": "query", "description": "Only this user's keys (`user:<sub>`).", "schema": {"type": "string", "minLength": 1, "maxLength": 256}}), tags=["keys"])
paths["/v1/keys"] = {
    "get": list_keys, "head": head_of(list_keys),
    "post": op("createKey", "Create an API key; the answer holds its secret, shown once (`Cache-Control: no-store`). "
               "The body may also be wrapped in `data`; `expires_at` must be in the future and within ten years.",
               {"201": ok("Created", ref("KeyCreated"), {"Cache-Control": {"schema": {"const": "no-store"}}}), **errs(*STD, "413", "415")},
               body=json_body(ref("KeyIn")), tags=["keys"]),
}
get_key = op("getKey", "Read an API key (never its secret)", {"200": ok("The key", ref("KeyEnvelope")), **errs(*STD)}, params=(KEY_ID,), tags=["keys"])
paths["/v1/keys/{id}"] = {
    "get": get_key, "head": head_of(get_key),
    "patch": op("renameKey", "Rename an API key (`title` only)", {"200": ok("The key", ref("KeyEnvelope")), **errs(*STD, "413", "415")},
                params=(KEY_ID,), body=json_body({"oneOf": [closed({"title": TITLE_IN}, ["title"]), closed({"data": closed({"title": TITLE_IN}, ["title"])}, ["data"])]}), tags=["keys"]),
    "delete": op("revokeKey", "Revoke an API key (refused from the next request on)", {"200": ok("The revoked key", ref("KeyEnvelope")), **errs(*STD)},
                 params=(KEY_ID,), tags=["keys"]),
}

HISTORY_Q = (
    {"name": "_since", "in": "query", "description": "Entries newer than this time (ms, exclusive; Kinto's quoted form `\"<ms>\"` is read too). A `_since` at or after `_before` is an empty range: an empty page.",
     "schema": {"type": "integer", "minimum": 0, "maximum": 4294967295000}},
    {"name": "_before", "in": "query", "description": "Entries older than this time (ms, exclusive).", "schema": {"type": "integer", "minimum": 0, "maximum": 4294967295000}},
    {"name": "resource_name", "in": "query", "schema": {"enum": ["bucket", "data", "file", "webhook", "key", "sftp_user"]}},
    {"name": "action", "in": "query", "schema": {"enum": ["create", "update", "delete"]}},
    {"name": "user_id", "in": "query", "schema": {"type": "string", "minLength": 1, "maxLength": 512}},
    {"name": "_sort", "in": "query", "schema": {"enum": ["-last_modified"]}},
)
history_get = op("bucketHistory", "The bucket's history, newest first (Kinto's history plugin); read permission",
                 {"200": ok("A page", ref("HistoryList"), NEXT_H), **errs(*STD)}, params=(p("id"), *PAGE, *HISTORY_Q), tags=["history"])
paths["/v1/buckets/{id}/history"] = {"get": history_get, "head": head_of(history_get)}


# Webhooks (README, "Webhooks"): write permission on the bucket manages them.
EVENT_ENUM = ["bucket.updated", "bucket.deleted", "data.updated", "file.uploaded", "file.deleted", "file.rejected"]
schemas["Webhook"] = {"type": "object", "additionalProperties": False,
                      "required": ["id", "bucket_id", "url", "events", "glob", "active", "disabled_reason", "created", "created_by", "owner", "suspended", "suspended_reason", "last_modified"],
                      "properties": {"id": {"type": "string", "pattern": "^wh_[0-9a-f]{24}$"}, "bucket_id": {"type": "string"},
                                     "url": {"type": "string", "format": "uri"}, "events": {"type": "array", "items": {"enum": EVENT_ENUM}},
                                     "glob": {"type": ["string", "null"]}, "active": {"type": "boolean"},
                                     "disabled_reason": {"type": ["string", "null"], "description": "Why the service turned it off (a `410 Gone`)."},
                                     "created": ms, "created_by": {"type": "string"}, **ORIGIN_FIELDS, "last_modified": ms}}
schemas["WebhookIn"] = {"type": "object", "required": ["url", "events"], "additionalProperties": False,
                        "properties": {"url": {"type": "string", "maxLength": 2048, "pattern": "^https://[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\\.[A-Za-z]{2,}(:[0-9]{1,5})?(/[^\\s#]*)?$",
                                               "description": "https; no private, loopback, link-local or metadata address."},
                                       "events": {"type": "array", "minItems": 1, "items": {"enum": EVENT_ENUM}},
                                       "glob": {**GLOB_IN, "type": ["string", "null"], "description": "File events only for names that match."},
                                       "active": {"type": "boolean"}}}
schemas["WebhookPatch"] = {**schemas["WebhookIn"], "required": [], "description": "Any of the fields; `{}` changes none and only takes the webhook over (it then acts for the caller, and resumes if suspended)."}
schemas["WebhookCreated"] = {"type": "object", "required": ["data", "secret"], "additionalProperties": False,
                             "properties": {"data": ref("Webhook"), "secret": {"type": "string", "pattern": "^whsec_[A-Za-z0-9+/=]+$",
                                                                                "description": "The signing secret, shown once (Standard Webhooks)."}}}
schemas["WebhookEnvelope"] = {"type": "object", "required": ["data"], "additionalProperties": False, "properties": {"data": ref("Webhook")}}
schemas["WebhookList"] = {"type": "object", "required": ["data"], "additionalProperties": False,
                          "properties": {"data": {"type": "array", "maxItems": 20, "items": ref("Webhook")}}}
schemas["WebhookDeleted"] = {"type": "object", "required": ["data"], "additionalProperties": False,
                             "properties": {"data": {"type": "object", "required": ["id", "deleted"], "additionalProperties": False,
                                                     "properties": {"id": {"type": "string"}, "deleted": {"const": True}}}}}
schemas["Delivery"] = {"type": "object", "additionalProperties": False,
                       "required": ["id", "webhook_id", "event_id", "event", "sequence", "status", "attempts", "created", "last_attempt_at", "last_status", "last_error", "next_attempt_at"],
                       "properties": {"id": {"type": "string", "pattern": "^dl_[0-9]{13}_[0-9a-f]{16}$"}, "webhook_id": {"type": "string"},
                                      "event_id": {"type": "string", "description": "The `webhook-id` header of its attempts."},
                                      "event": {"enum": EVENT_ENUM + ["webhook.ping"]}, "sequence": {"type": "integer", "description": "The event's number in its bucket."},
                                      "status": {"enum": ["pending", "sending", "delivered", "failed"]}, "attempts": nonneg, "created": ms,
                                      "last_attempt_at": {**ms, "type": ["integer", "null"]}, "last_status": {"type": ["integer", "null"]},
                                      "last_error": {"type": ["string", "null"]}, "next_attempt_at": {**ms, "type": ["integer", "null"]}}}
schemas["DeliveryEnvelope"] = {"type": "object", "required": ["data"], "additionalProperties": False, "properties": {"data": ref("Delivery")}}
schemas["DeliveryList"] = {"type": "object", "required": ["data", "has_more", "next_uri"], "additionalProperties": False,
                           "properties": {"data": {"type": "array", "items": ref("Delivery")}, "has_more": {"type": "boolean"}, "next_uri": ref("NextUri")}}
WID = {"name": "wid", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^wh_[0-9a-f]{24}$"}}
DID = {"name": "did", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^dl_[0-9]{13}_[0-9a-f]{16}$"}}
list_hooks = op("listWebhooks", "The bucket's webhooks (write permission; never their secrets)", {"200": ok("All of them (at most 20)", ref("WebhookList")), **errs(*STD)},
                params=(p("id"),), tags=["webhooks"])
paths["/v1/buckets/{id}/webhooks"] = {
    "get": list_hooks, "head": head_of(list_hooks),
    "post": op("createWebhook", "Create a webhook; the answer holds its signing secret, shown once",
               {"201": ok("Created", ref("WebhookCreated")), **errs(*STD, "413", "415")}, params=(p("id"),), body=json_body(ref("WebhookIn")), tags=["webhooks"]),
}
get_hook = op("getWebhook", "Read a webhook", {"200": ok("The webhook", ref("WebhookEnvelope")), **errs(*STD)}, params=(p("id"), WID), tags=["webhooks"])
paths["/v1/buckets/{id}/webhooks/{wid}"] = {
    "get": get_hook, "head": head_of(get_hook),
    "patch": op("patchWebhook", "Change a webhook's URL, events, glob or active flag", {"200": ok("The webhook", ref("WebhookEnvelope")), **errs(*STD, "413", "415")},
                params=(p("id"), WID), body=json_body(ref("WebhookPatch")), tags=["webhooks"]),
    "delete": op("deleteWebhook", "Delete a webhook (nothing more is sent to it)", {"200": ok("Deleted", ref("WebhookDeleted")), **errs(*STD)},
                 params=(p("id"), WID), tags=["webhooks"]),
}
paths["/v1/buckets/{id}/webhooks/{wid}/rotate"] = {
    "post": op("rotateWebhookSecret", "A new signing secret (shown once); the old one also signs for 24 hours",
               {"200": ok("The webhook and its new secret", ref("WebhookCreated")), **errs(*STD, "415")}, params=(p("id"), WID),
               body=json_body(NO_FIELDS, required=False), tags=["webhooks"])}
paths["/v1/buckets/{id}/webhooks/{wid}/ping"] = {
    "post": op("pingWebhook", "Send a `webhook.ping` event to the webhook", {"202": ok("The queued delivery", ref("DeliveryEnvelope")), **errs(*STD, "415")},
               params=(p("id"), WID), body=json_body(NO_FIELDS, required=False), tags=["webhooks"])}
list_deliveries = op("listDeliveries", "The webhook's recent deliveries, newest first (kept 30 days)", {"200": ok("A page", ref("DeliveryList"), NEXT_H), **errs(*STD)},
                     params=(p("id"), WID, *PAGE), tags=["webhooks"])
paths["/v1/buckets/{id}/webhooks/{wid}/deliveries"] = {"get": list_deliveries, "head": head_of(list_deliveries)}
paths["/v1/buckets/{id}/webhooks/{wid}/deliveries/{did}/redeliver"] = {
    "post": op("redeliver", "Start a delivery over (a new round of attempts)", {"202": ok("The queued delivery", ref("DeliveryEnvelope")), **errs(*STD, "415")},
               params=(p("id"), WID, DID), body=json_body(NO_FIELDS, required=False), tags=["webhooks"])}

# Every path answers 405 for a method it does not serve; documented on each operation too.
for item in paths.values():
    for o in item.values():
        o["responses"].setdefault("405", resp("MethodNotAllowed"))

doc = {
    "openapi": "3.1.0",
    "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
    "info": {"title": "Buckets", "version": "1.0",
             "description": "The Buckets HTTP API (Kinto semantics). Bodies are JSON; times are ms since the epoch. "
                              "URLs in answers are URI references resolved against the request URL (RFC 3986): `url`, `permalink`, `Next-Page`, `Location` are absolute; `next_uri`, `status_uri` are absolute-path references. "
                              "Any other path without `/v1` answers 307 to the same path under `/v1`."},
    "servers": [{"url": "/"}],
    "security": [{"bearerAuth": []}, {"apiKey": []}, {}],
    "paths": paths,
    "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                                      "description": "A JWT (RS256 from the identity provider; HS256/ES256 by configuration) with `sub`, `exp`; or an API key secret `bk_…` (README, API keys)."},
                                       "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "An API key secret `bk_…`."}},
                   "schemas": schemas, "responses": responses, "parameters": parameters},
}
json.dump(doc, open(sys.argv[1], "w"), indent=1)
open(sys.argv[1], "a").write("\n")
