//! The "Examples:" of `buckets --help` and of every command's `--help`.

pub const TOP: &str = "\
Examples:
  buckets login --url \"$BUCKETS_API_URL\"           sign in (user name and password)
  buckets whoami                                   who the commands act as
  buckets create reports --title Reports
  buckets cp ./rain.csv reports:                   upload one file
  buckets files reports
  buckets store reports --dir out --glob '*.csv'   a job's outputs into the bucket
  buckets fetch reports --dir in                   the next job's inputs
  buckets ls --output json                         any listing as JSON (or tsv, table)

Credentials: --api-key / BUCKETS_API_KEY (jobs), --token / BUCKETS_TOKEN, else the sign-in that
`buckets login` cached. A command that needs them fails with exit code 3 when there are none.

Exit codes: 0 done; 1 some files refused or failed (each named); 2 bad arguments or \
configuration; 3 not signed in or not allowed (401/403); 4 not found (404); 5 precondition \
failed (412, --if-match); 6 other refusal by the API (4xx, its message printed); 7 API or S3 \
unreachable or 5xx.";

pub const LOGIN: &str = "\
Examples:
  buckets login --url \"$BUCKETS_API_URL\"                       prompts for user name and password
  buckets login --url \"$BUCKETS_API_URL\" --user dev --password-stdin < pw.txt
  buckets login --url \"$BUCKETS_API_URL\" --api-key bk_…        stores a key instead";

pub const LOGOUT: &str = "\
Examples:
  buckets logout";

pub const WHOAMI: &str = "\
Examples:
  buckets whoami
  buckets whoami --output json | jq -r .user.id
  BUCKETS_API_KEY=bk_… buckets whoami           what a job's key may do";

pub const LS: &str = "\
Examples:
  buckets ls
  buckets ls --limit 10 --output tsv | cut -f1";

pub const CREATE: &str = "\
Examples:
  buckets create reports --title Reports --icon 📊
  buckets create                                  a generated id, printed";

pub const INFO: &str = "\
Examples:
  buckets info reports
  buckets info reports --output json | jq .permissions";

pub const EDIT: &str = "\
Examples:
  buckets edit reports --title 'Reports 2026' --notes 'nightly exports'
  buckets edit reports --add-reader user:bob --add-writer key:3f0c9a1b2c3d4e5f
  buckets edit reports --add-reader system.Authenticated
  buckets edit reports --remove-reader system.Authenticated --remove-writer user:bob
  buckets edit reports --active false";

pub const RM: &str = "\
Examples:
  buckets rm drafts --yes";

pub const FILES: &str = "\
Examples:
  buckets files reports
  buckets files reports --glob '*.csv' --output tsv | cut -f1";

pub const CP: &str = "\
Examples:
  buckets cp ./rain.csv reports:                  upload (the file keeps its name)
  buckets cp reports:rain.csv ./rain.csv          download, verified
  buckets cp reports:rain.csv downloads/          into a directory
  buckets cp reports:rain.csv - | head            to stdout
  some-job | buckets cp - reports:out.csv         stdin as reports:out.csv";

pub const RM_FILE: &str = "\
Examples:
  buckets rm-file reports rain.csv";

pub const VERSIONS: &str = "\
Examples:
  buckets versions reports rain.csv";

pub const RESTORE: &str = "\
Examples:
  buckets restore reports rain.csv 3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY";

pub const EMPTY: &str = "\
Examples:
  buckets empty reports --files
  buckets empty reports --files --data";

pub const DATA: &str = "\
Examples:
  buckets data get reports
  echo '{\"rows\": 2}' | buckets data put reports -
  buckets data patch reports changes.json --if-match 7";

pub const HISTORY: &str = "\
Examples:
  buckets history reports                               the last 100 changes, newest first
  buckets history reports --since 2h --resource file    files changed in the last two hours
  buckets history reports --since 2026-12-01 --action delete --all
  buckets history reports --user key:3f0c9a1b2c3d4e5f --output json";

pub const KEYS: &str = "\
Examples:
  buckets keys ls
  buckets keys create 'nightly export' --bucket reports:write --expires-in 90d
  buckets keys create 'bucket maker' --privilege create_buckets
  buckets keys rm 3f0c9a1b2c3d4e5f";

pub const USERS: &str = "\
Examples:
  buckets users ls reports
  buckets users add reports partner --key ~/.ssh/id_ed25519.pub --access write
  buckets users rm reports partner";

pub const WEBHOOKS: &str = "\
Examples:
  buckets webhooks create reports --endpoint https://hooks.example.com/buckets --events file.uploaded,file.deleted
  buckets webhooks list reports
  buckets webhooks ping reports wh_5a1c0e9b2f3d4a6b7c8d9e0f
  buckets webhooks deliveries reports wh_5a1c0e9b2f3d4a6b7c8d9e0f
  buckets webhooks delete reports wh_5a1c0e9b2f3d4a6b7c8d9e0f";

pub const FETCH: &str = "\
Examples:
  buckets fetch reports --dir in                    data to in/data.json, every file into in/
  buckets fetch reports --sync data                 the data document on stdout
  buckets fetch reports --sync files --glob '*.csv' --dir in -j 16 --limit-rate 10M";

pub const STORE: &str = "\
Examples:
  buckets store reports --dir out --glob '*.csv'
  buckets store reports --dir out --data out/summary.json
  echo '{\"done\": true}' | buckets store reports --sync data --data -";

pub const COMPLETIONS: &str = "\
Examples:
  buckets completions bash > /etc/bash_completion.d/buckets
  buckets completions zsh > \"${fpath[1]}/_buckets\"";
