#!/usr/bin/env python3
"""Deploy the SAM stack to the local ministack and write .local/env (used by `make local`).

Runs with the build virtualenv's interpreter (boto3 comes with the SAM CLI).

1. Skips everything when the stack is deployed and nothing that goes into it changed
   (template, samconfig.toml, Makefile, function bootstraps, parameters). Function
   environments changed behind CloudFormation (infra/local/function_env.py) are put back.
2. Otherwise `sam build --config-env local` (makefile targets copy the bootstraps that
   `make build` produced) and `sam deploy --config-env local`.
3. PublicBaseUrl must be the API's URL, whose id exists only after the first deploy: when
   the URL deployed differs from the real one, it deploys again with the right value.
4. Re-applies the API's CORS configuration the way ministack's data plane reads it (see
   fix_cors: a ministack 1.5.33 bug).
5. SFTP (AWS Transfer Family): before computing the parameters, reuses the emulator's first
   ONLINE Transfer server or creates one (SFTP, SERVICE_MANAGED, PUBLIC), outside the stack as
   a real deployment would pass an existing server, and passes SftpServerId=<its id> and
   SftpHost=127.0.0.1:<SFTP port> to the template. The SFTP port is the one
   infra/local/ministack.sh wrote to .local/ministack/sftp.port (else 2222 + port - 4566). The
   emulator's SFTP listener enforces the users' session policies and versions their writes
   (infra/local/ministack_bridged.py).
6. Creates (or resets) the dev user of the stack's Cognito user pool: `dev`, a fixed
   development password, in the groups create_buckets, edit_buckets, delete_buckets and
   create_keys (not admin: the dev user meets the permission model as people do; an admin
   token is `make token HS256=1 PRIVILEGES=admin`).
7. Writes .local/env (BUCKETS_API_URL, BUCKETS_JWT_SECRET, the pool, its client and endpoint,
   the dev user, BUCKETS_SFTP_HOST and BUCKETS_SFTP_PORT, AWS_*, BUCKETS_TABLE, ...) and prints
   the API URL, the dev user and how to sign in.
"""

import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

# The page-cursor signing key of LOCAL stacks only: public in this repository, so never a
# production value (a real deployment passes its own CursorKeys parameter).
LOCAL_DEV_CURSOR_KEYS = "local-dev:LOCAL-DEV-ONLY-cursor-key-not-for-production"

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / ".local"
STAMP = LOCAL / "deploy.stamp"
ENV_FILE = LOCAL / "env"
LOG = LOCAL / "sam.log"
SAM_TMP = LOCAL / "sam-tmp"
DEV_SECRET = "local-dev-only-hs256-secret-not-for-production"
# The dev user of LOCAL stacks' user pools (public in this repository; the pool's password
# policy wants 12+ characters with upper, lower, digit and symbol).
DEV_USER = "dev"
DEV_PASSWORD = "Local-dev-only-1"
DEV_GROUPS = ["create_buckets", "edit_buckets", "delete_buckets", "create_keys"]
# The emulator's SFTP listener (loopback only; its port: see sftp_port).
SFTP_HOST = "127.0.0.1"
SFTP_PORT_FILE = LOCAL / "ministack" / "sftp.port"

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cognito_user import ensure_user  # noqa: E402


def aws_env(endpoint: str) -> dict:
    env = dict(os.environ)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        env.pop(key, None)
    env.update({
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "SAM_CLI_TELEMETRY": "0",
        # The emulator answers at once: poll the changeset and stack events often.
        "SAM_CLI_POLL_DELAY": "0.5",
        # sam deploy leaves an empty temporary directory per run: keep them in .local/.
        "TMPDIR": str(SAM_TMP),
    })
    return env


def run_logged(cmd: list[str], env: dict, what: str) -> None:
    started = time.monotonic()
    print(f"local: {what} ...", flush=True)
    with LOG.open("a") as log:
        log.write(f"\n$ {shlex.join(cmd)}\n")
        log.flush()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        print(f"local: {what} failed (exit {proc.returncode}); end of {LOG.relative_to(ROOT)}:", file=sys.stderr)
        lines = LOG.read_text(errors="replace").splitlines()
        print("\n".join(lines[-40:]), file=sys.stderr)
        sys.exit(proc.returncode)
    print(f"local: {what} done in {time.monotonic() - started:.1f} s", flush=True)


def describe(cfn, stack_name: str) -> dict | None:
    """The stack's outputs and parameters when it is deployed and healthy, else None."""
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception:  # noqa: BLE001 - missing stack or emulator restarted
        return None
    if not stacks:
        return None
    stack = stacks[0]
    status = stack.get("StackStatus", "")
    if not status.endswith("_COMPLETE") or "ROLLBACK" in status or status.startswith("DELETE"):
        return None
    return {
        "outputs": {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        "parameters": {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])},
    }


def fingerprint(lambda_dir: Path, bins: list[str], parameters: list[str]) -> str:
    h = hashlib.sha256()
    for path in [ROOT / "infra" / "template.yaml", ROOT / "samconfig.toml", ROOT / "Makefile"]:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    for name in bins:
        bootstrap = lambda_dir / name / "bootstrap"
        h.update(name.encode() + b"\0")
        with bootstrap.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    h.update(json.dumps(parameters).encode())
    return h.hexdigest()


def function_names(cfn, stack_name: str) -> list[str]:
    """Every Lambda function the deployed template made (its resources, not a hand-kept list
    of outputs): `make logs`, `make bench` and the settings tests learn them from here."""
    resources = cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
    return sorted(r["PhysicalResourceId"] for r in resources
                  if r["ResourceType"] == "AWS::Lambda::Function")


def read_stamp() -> dict:
    try:
        return json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}


def live_environment(lam, name: str) -> dict | None:
    try:
        config = lam.get_function_configuration(FunctionName=name)
    except Exception:  # noqa: BLE001 - function gone (emulator restarted, stack replaced)
        return None
    return config.get("Environment", {}).get("Variables", {})


def restore_environments(lam, recorded: dict) -> None:
    """Undo environment changes made behind CloudFormation's back (the end-to-end tests flip
    settings with infra/local/function_env.py): CloudFormation would not notice them."""
    for name, variables in recorded.items():
        live = live_environment(lam, name)
        if live is None or live == variables:
            continue
        changed = sorted(k for k in set(live) | set(variables) if live.get(k) != variables.get(k))
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
        for _ in range(100):
            if lam.get_function_configuration(FunctionName=name).get("LastUpdateStatus", "Successful") == "Successful":
                break
            time.sleep(0.1)
        print(f"local: restored the deployed environment of {name} ({', '.join(changed)})")


def fix_cors(cfn, apigw, stack_name: str) -> None:
    """ministack 1.5.33 stores an AWS::ApiGatewayV2::Api CorsConfiguration with the template's
    PascalCase keys while its data plane reads camelCase ones, so the API behaves as if it had
    no CORS configuration (every preflight 403). Re-apply the template's configuration through
    UpdateApi, which stores it the way the data plane reads it. Local workaround only."""
    from samcli.yamlhelper import yaml_parse

    template = yaml_parse((ROOT / "infra" / "template.yaml").read_text())
    for logical_id, resource in template.get("Resources", {}).items():
        cors = resource.get("Properties", {}).get("CorsConfiguration")
        if resource.get("Type") != "AWS::ApiGatewayV2::Api" or not cors:
            continue
        api_id = cfn.describe_stack_resource(StackName=stack_name, LogicalResourceId=logical_id)[
            "StackResourceDetail"]["PhysicalResourceId"]
        if apigw.get_api(ApiId=api_id).get("CorsConfiguration") != cors:
            apigw.update_api(ApiId=api_id, CorsConfiguration=cors)


def apply_lifecycle(s3, parameters: dict, bucket: str) -> None:
    """ministack's CloudFormation does not apply an AWS::S3::Bucket's LifecycleConfiguration
    (it applies CORS, public access blocks and websites only), so store the template's rules
    through PutBucketLifecycleConfiguration: then the bucket shows what AWS would hold. The
    emulator never runs the rules (no expiry happens locally). Local workaround only."""
    from samcli.yamlhelper import yaml_parse

    template = yaml_parse((ROOT / "infra" / "template.yaml").read_text())
    rules = template["Resources"]["FilesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]

    def resolve(value):
        # The only intrinsic the rules use: !Ref of a template parameter.
        if isinstance(value, dict) and set(value) == {"Ref"}:
            name = value["Ref"]
            return int(parameters.get(name) or template["Parameters"][name]["Default"])
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    api_rules = []
    for rule in rules:
        rule = resolve(rule)
        api_rule = {"ID": rule.pop("Id"), "Status": rule.pop("Status"), "Filter": {"Prefix": ""}}
        if "ExpiredObjectDeleteMarker" in rule:
            api_rule["Expiration"] = {"ExpiredObjectDeleteMarker": rule.pop("ExpiredObjectDeleteMarker")}
        if "NoncurrentVersionExpiration" in rule:
            api_rule["NoncurrentVersionExpiration"] = {
                "NoncurrentDays": rule.pop("NoncurrentVersionExpiration")["NoncurrentDays"]}
        if "AbortIncompleteMultipartUpload" in rule:
            api_rule["AbortIncompleteMultipartUpload"] = rule.pop("AbortIncompleteMultipartUpload")
        if rule:
            raise SystemExit(f"local: lifecycle rule properties not bridged: {sorted(rule)}")
        api_rules.append(api_rule)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": api_rules})


def sftp_port(port: int) -> int:
    """The SFTP port infra/local/ministack.sh gave this clone's emulator, else its default."""
    try:
        return int(SFTP_PORT_FILE.read_text().strip())
    except (OSError, ValueError):
        return 2222 + port - 4566


def sftp_server(transfer) -> str:
    """The id of the emulator's first ONLINE Transfer server, created when there is none."""
    token = None
    while True:
        page = transfer.list_servers(**({"NextToken": token} if token else {}))
        for server in page.get("Servers", []):
            if server.get("State") == "ONLINE":
                return server["ServerId"]
        token = page.get("NextToken")
        if not token:
            break
    server_id = transfer.create_server(Protocols=["SFTP"], IdentityProviderType="SERVICE_MANAGED",
                                       EndpointType="PUBLIC")["ServerId"]
    print(f"local: created Transfer server {server_id} (SFTP)")
    return server_id


def api_url(port: int, api_id: str) -> str:
    # Works for any HTTP client (glibc does not resolve *.localhost). Keep the stage
    # segment: without it ministack 1.5.33 drops the trailing slash of one-segment paths
    # (`/v1/` reaches the function as `/v1`, so `GET /v1/` never matches). With it, the
    # function sees exactly the path after `/$default` (e.g. `/v1/buckets/x`).
    return f"http://127.0.0.1:{port}/_aws/execute-api/{api_id}/$default"


def sh_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--stack-name", default="buckets-local")
    parser.add_argument("--lambda-dir", type=Path, default=ROOT / "target" / "lambda")
    parser.add_argument("--bins", default="buckets", help="space-separated binary names")
    parser.add_argument("--secret", default=DEV_SECRET)
    parser.add_argument("--parameters", default="", help="extra Key=Value template parameters")
    parser.add_argument("--force", action="store_true", help="build and deploy even when unchanged")
    args = parser.parse_args()

    import boto3  # from the SAM CLI's virtualenv

    endpoint = f"http://127.0.0.1:{args.port}"
    env = aws_env(endpoint)
    def client(service: str):
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test")

    cfn = client("cloudformation")
    lam = client("lambda")

    bins = args.bins.split()
    extra = shlex.split(args.parameters)
    sftp_server_id = sftp_server(client("transfer"))
    sftp_local_port = sftp_port(args.port)
    # Environment=local: the template allows the functions' local-only settings (webhooks to
    # loopback receivers).
    # CursorKeys: a development key, for local stacks only (a real deployment sets its own).
    # HS256 dev tokens on (tests, fuzzing and load mint them); the user pool's JWKS and
    # InitiateAuth from the emulator (its tokens' issuer is the AWS URL, which does not resolve).
    # Multipart from 5 MiB (S3's smallest part) in 5 MiB parts: the end-to-end tests upload a
    # ~12 MiB file in three parts instead of 64 MiB ones.
    # SFTP users go on the emulator's Transfer server, reached on loopback at the SFTP port.
    base_parameters = ["Environment=local", "Hs256DevTokens=true", f"JwtHs256Secret={args.secret}",
                       f"CognitoEndpoint={endpoint}", f"CursorKeys={LOCAL_DEV_CURSOR_KEYS}",
                       "MultipartThreshold=5242880", "MultipartPartSize=5242880",
                       f"SftpServerId={sftp_server_id}", f"SftpHost={SFTP_HOST}:{sftp_local_port}",
                       # The pass is what makes SFTP writes appear locally (the emulator fires no S3
                       # event for them): as often as EventBridge allows.
                       # (quoted: sam splits parameter overrides at spaces)
                       "ReconcileSchedule=\"rate(1 minute)\"",
                       # Webhooks reach the e2e tests' receiver on loopback, and retry within
                       # seconds (1% of the schedule: 0.05 s, 3 s, 18 s, ...).
                       "WebhooksAllowLoopback=true", "WebhookRetryPercent=1", *extra]
    digest = fingerprint(args.lambda_dir, bins, base_parameters)

    current = describe(cfn, args.stack_name)
    stamp = read_stamp()
    if current is not None:
        restore_environments(lam, stamp.get("environments", {}))
    expected_url = api_url(args.port, current["outputs"]["ApiId"]) if current else ""
    unchanged = (
        not args.force
        and current is not None
        and stamp.get("digest") == digest
        and current["parameters"].get("PublicBaseUrl") == expected_url
    )

    if unchanged:
        print(f"local: stack {args.stack_name} is up to date (nothing to build or deploy)")
    else:
        LOCAL.mkdir(exist_ok=True)
        LOG.write_text("")
        shutil.rmtree(SAM_TMP, ignore_errors=True)
        SAM_TMP.mkdir()
        STAMP.unlink(missing_ok=True)
        run_logged(["sam", "build", "--config-env", "local"], env, "sam build")
        deploy = ["sam", "deploy", "--config-env", "local", "--stack-name", args.stack_name,
                  "--no-progressbar", "--parameter-overrides"]
        # (sam refuses an empty override value: the template's default "" covers a new stack.)
        known_url = [f"PublicBaseUrl={expected_url}"] if expected_url else []
        run_logged([*deploy, *base_parameters, *known_url], env, "sam deploy")
        current = describe(cfn, args.stack_name)
        if current is None:
            print(f"local: stack {args.stack_name} is not deployed after sam deploy", file=sys.stderr)
            return 1
        url = api_url(args.port, current["outputs"]["ApiId"])
        if current["parameters"].get("PublicBaseUrl") != url:
            # First deploy: the API id (part of the public URL) did not exist before.
            run_logged([*deploy, *base_parameters, f"PublicBaseUrl={url}"], env,
                       "sam deploy (PublicBaseUrl = the new API's URL)")
            current = describe(cfn, args.stack_name)
        environments = {name: live_environment(lam, name) for name in function_names(cfn, args.stack_name)}
        STAMP.write_text(json.dumps({"digest": digest, "environments": environments}, indent=1) + "\n")

    fix_cors(cfn, client("apigatewayv2"), args.stack_name)
    apply_lifecycle(client("s3"), current["parameters"], current["outputs"]["FilesBucketName"])

    outputs = current["outputs"]
    url = api_url(args.port, outputs["ApiId"])
    pool_id = outputs.get("UserPoolId", "")
    if pool_id:
        ensure_user(client("cognito-idp"), pool_id, DEV_USER, DEV_PASSWORD, DEV_GROUPS)
    values = {
        "BUCKETS_API_URL": url,
        "BUCKETS_API_ID": outputs["ApiId"],
        "BUCKETS_CONSOLE_URL": f"{url}/console/index.html",
        "BUCKETS_JWT_SECRET": args.secret,
        "BUCKETS_TABLE": outputs["TableName"],
        "BUCKETS_FILES_BUCKET": outputs["FilesBucketName"],
        "BUCKETS_FUNCTION": outputs["BucketsFunctionName"],
        "BUCKETS_FUNCTIONS": ",".join(function_names(cfn, args.stack_name)),
        "BUCKETS_UPLOAD_EVENTS_FUNCTION": outputs.get("UploadEventsFunctionName", ""),
        "BUCKETS_CASCADE_FUNCTION": outputs.get("CascadeFunctionName", ""),
        "BUCKETS_CASCADE_DLQ_URL": outputs.get("CascadeDeadLetterQueueUrl", ""),
        # Sign-in (empty with IdentityProvider=external): InitiateAuth on the emulator.
        "BUCKETS_USER_POOL_ID": pool_id,
        "BUCKETS_USER_POOL_CLIENT_ID": outputs.get("UserPoolClientId", ""),
        "BUCKETS_COGNITO_ENDPOINT": f"{endpoint}/" if pool_id else "",
        "BUCKETS_DEV_USER": DEV_USER if pool_id else "",
        "BUCKETS_DEV_PASSWORD": DEV_PASSWORD if pool_id else "",
        "BUCKETS_SFTP_HOST": SFTP_HOST,
        "BUCKETS_SFTP_PORT": str(sftp_local_port),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
    ENV_FILE.write_text(
        "# Written by `make local`: the local Buckets stack on ministack. Source it: . .local/env\n"
        + "".join(f"export {k}={sh_quote(v)}\n" for k, v in values.items())
    )
    sign_in = (f"""  dev user (Cognito pool {pool_id}, dev only): {DEV_USER} / {DEV_PASSWORD}
    groups: {", ".join(DEV_GROUPS)}
  sign in:  make -s token            (InitiateAuth USER_PASSWORD_AUTH, prints an ID token)
            make -s token ACCESS=1   (the access token)
""" if pool_id else "  no Cognito user pool (IdentityProvider=external)\n")
    print(f"""
Buckets API (local): {url}
  web console:  {url}/console/index.html   (sign in as the dev user below, or with an API key)
  environment:  . .local/env        (BUCKETS_API_URL, BUCKETS_JWT_SECRET, the pool, AWS_* for ministack)
{sign_in}  HS256 dev token for anyone:  make -s token HS256=1 SUB=alice PRIVILEGES=admin
  try:  curl -s -H "Authorization: Bearer $(make -s token)" '{url}/v1/' | jq .user
""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
