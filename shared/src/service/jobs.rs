//! The job verbs (xyOps Fetch / Store actions) and "empty bucket": a job fetches data and file
//! download URLs when it starts, and stores data and files when it ends, so buckets hand work
//! from one job to the next.

use globset::GlobMatcher;
use serde_json::{Map, Value, json};

use super::Services;
use super::error::Result;
use super::files::{Download, IssuedGrant, check_upload};
use crate::domain::access::Identity;
use crate::domain::bounds::json_size_within;
use crate::domain::data::DataDoc;
use crate::domain::error::RuleError;
use crate::domain::files::{FileRecord, Grant};
use crate::domain::ids::BucketRef;
use crate::domain::pagination;
use crate::domain::patch::shallow_merge;
use crate::domain::preconditions::Preconditions;
use crate::domain::time::now_ms;
use crate::domain::uploads::WantedFile;
use crate::ports::{BucketStore, CascadeStore, DataStore, FileStore, ObjectStore};

/// The JSON of one fetched file besides its name, type and URL: the member names, size,
/// `modified`, `expires_at`, `sha256` (44 base64 characters), quotes and commas (about 150
/// bytes; rounded up).
const FETCHED_FILE_JSON_BYTES: usize = 192;

/// What a job syncs: `data`, `files` or `data_and_files`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sync {
    pub data: bool,
    pub files: bool,
}

impl Sync {
    /// Reads the required `sync` field.
    pub fn parse(value: Option<&Value>) -> Result<Sync, RuleError> {
        let (data, files) = match value.and_then(Value::as_str) {
            Some("data") => (true, false),
            Some("files") => (false, true),
            Some("data_and_files") => (true, true),
            _ => {
                let why = "is required: one of data, files, data_and_files";
                return Err(RuleError::invalid("sync", why));
            }
        };
        Ok(Sync { data, files })
    }
}

/// What a fetch answers: the document and/or the matching files with their download URLs.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    pub data: Option<Map<String, Value>>,
    pub files: Option<Vec<(FileRecord, Download)>>,
}

/// What a store asks: changes merged into the document, files to upload (those matching the
/// glob get grants, the others are skipped).
#[derive(Debug, Clone)]
pub struct StoreRequest {
    pub sync: Sync,
    pub matcher: GlobMatcher,
    pub data: Map<String, Value>,
    pub files: Vec<WantedFile>,
}

/// What a store did.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub data: Option<Map<String, Value>>,
    pub grants: Option<Vec<IssuedGrant>>,
    pub skipped: Vec<String>,
}

/// What an empty did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emptied {
    pub files_deleted: u64,
    pub data_cleared: bool,
}

impl<S, O> Services<S, O>
where
    S: BucketStore + FileStore + DataStore + CascadeStore,
    O: ObjectStore,
{
    /// The data and/or download URLs of the files whose names match; read permission.
    pub async fn fetch(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        sync: Sync,
        matcher: &GlobMatcher,
    ) -> Result<Fetched> {
        let bucket = self.bucket_for(bucket, identity).await?;
        let data = if sync.data {
            let doc = self
                .store
                .get_data(&bucket.id, &bucket.generation)
                .await?
                .unwrap_or_else(DataDoc::empty);
            Some(doc.doc)
        } else {
            None
        };
        let files = if sync.files {
            let ttl = self.settings.download_url_ttl_secs;
            let expires_at = now_ms() + (ttl as i64) * 1000;
            // A fetch answers every matching file at once (xyOps's Fetch action downloads
            // them all, and its clients read no pages), so an answer that would pass
            // `MAX_ANSWER_BYTES` is refused — before Lambda fails it with a 502 — naming the
            // glob, which the job can narrow, or it can list the files page by page. Paging
            // the fetch itself would change the contract its clients rely on.
            let mut answer_bytes = data
                .as_ref()
                .map(|d| json_size_within(&Value::Object(d.clone()), usize::MAX).unwrap_or(0))
                .unwrap_or(0);
            let mut files = Vec::new();
            for f in self.all_files(&bucket).await? {
                if !matcher.is_match(&f.name) {
                    continue;
                }
                let url = self
                    .objects
                    .presign_get(&f.object(&bucket.id, &bucket.generation), &f.name, ttl)
                    .await?
                    .url;
                answer_bytes += FETCHED_FILE_JSON_BYTES + url.len() + 2 * f.name.len();
                answer_bytes += f.content_type.len();
                if answer_bytes > pagination::MAX_ANSWER_BYTES {
                    return Err(RuleError::invalid(
                        "glob",
                        format!(
                            "matches more files than one answer can carry (more than {} bytes \
                             of JSON with their URLs); narrow the glob, or list the files \
                             page by page (GET /v1/buckets/{{id}}/files?glob=…)",
                            pagination::MAX_ANSWER_BYTES
                        ),
                    )
                    .into());
                }
                files.push((f, Download { url, expires_at }));
            }
            Some(files)
        } else {
            None
        };
        Ok(Fetched { data, files })
    }

    /// Data shallow-merged into the document and upload grants for the matching files. Every
    /// file is checked first: if one breaks a limit, or they would pass the file count,
    /// nothing is written. Write permission.
    pub async fn store(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        request: StoreRequest,
    ) -> Result<Stored> {
        let bucket = self.writable(bucket, identity).await?;
        let limits = self.limits_of(&bucket);
        let (mut wanted, mut skipped) = (Vec::new(), Vec::new());
        if request.sync.files {
            for (i, w) in request.files.into_iter().enumerate() {
                if request.matcher.is_match(&w.name) {
                    check_upload(&limits, &w, i, self.settings.multipart.threshold)?;
                    wanted.push(w);
                } else {
                    skipped.push(w.name);
                }
            }
            if !wanted.is_empty() {
                self.check_room(&bucket, &limits, &wanted).await?;
            }
        }
        // All or nothing, without a transaction across the two: the grants are recorded first
        // (inert until someone PUTs to their URLs, which only this answer hands out, and they
        // expire), then the data is merged in one conditional write, the last step that can
        // fail. If the merge fails the grants are taken back, so an error answer leaves neither
        // merged data nor usable grants. (One cross-partition transaction would also do, but
        // grants can outnumber DynamoDB's 100 items per transaction, and presigning is not a
        // table write.) An ambiguous failure of the merge itself (a timeout after DynamoDB
        // committed) is the one case that can leave it merged; a client's retry of a shallow
        // merge writes the same document.
        let grants = if !request.sync.files {
            None
        } else if wanted.is_empty() {
            Some(vec![])
        } else {
            Some(self.issue_grants(identity, &bucket, &wanted).await?)
        };
        let data = if request.sync.data {
            let changes = &request.data;
            let merged = self
                .write_doc(
                    &bucket,
                    &Preconditions::default(),
                    true,
                    &identity.acting_principal(),
                    |current| {
                        let mut merged = Value::Object(current.doc.clone());
                        shallow_merge(&mut merged, changes);
                        Ok(merged)
                    },
                )
                .await;
            match merged {
                Ok(doc) => Some(doc.doc),
                Err(e) => {
                    let issued: Vec<Grant> =
                        grants.iter().flatten().map(|g| g.grant.clone()).collect();
                    let ids: Vec<String> = issued.iter().map(|g| g.upload_id.clone()).collect();
                    self.revoke_grants(&bucket, &ids).await;
                    // Their multipart uploads too (S3 would keep the parts until the
                    // lifecycle rule aborts them).
                    self.abort_plans(&bucket, &issued).await;
                    return Err(e);
                }
            }
        } else {
            None
        };
        Ok(Stored {
            data,
            grants,
            skipped,
        })
    }

    /// Clears the data document and/or deletes every file (xyOps empty_bucket); write
    /// permission.
    pub async fn empty(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        files: bool,
        data: bool,
    ) -> Result<Emptied> {
        let bucket = self.writable(bucket, identity).await?;
        let mut files_deleted = 0u64;
        if files {
            for record in self.all_files(&bucket).await? {
                match self
                    .remove_file(&bucket, &record, &identity.acting_principal())
                    .await
                {
                    Ok(()) => files_deleted += 1,
                    // Replaced or deleted meanwhile: it is someone else's newer file now.
                    Err(e) if e.is_lost_race() => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if data {
            self.write_doc(
                &bucket,
                &Preconditions::default(),
                true,
                &identity.acting_principal(),
                |_| Ok(json!({})),
            )
            .await?;
        }
        Ok(Emptied {
            files_deleted,
            data_cleared: data,
        })
    }
}
