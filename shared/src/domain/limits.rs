//! Per-bucket upload limits: the `limits` attribute a bucket's writers may set
//! (`{"max_file_size", "max_files", "max_bytes", "accepted_file_types"}`, each optional), and
//! the effective limits of a bucket, the tighter of the deployment's and the bucket's.
//!
//! A bucket can tighten the deployment's limits, never loosen them: a write that sets a value
//! beyond the deployment's is refused naming the field. The deployment can still change after
//! a bucket set its limits (a redeploy with a lower `MAX_FILE_SIZE`), so the effective limits
//! are always computed as the tighter of both, never taken from the bucket alone.
//!
//! `limits` was an ordinary attribute before it was reserved: a stored value is read leniently
//! (`BucketLimits::of_attrs` keeps the well-typed fields), and a write checks it only when it
//! changes (`check_within`), so a bucket whose old `limits` means something else stays usable.

use serde_json::{Map, Value};

use super::error::RuleError;
use super::types::{is_mime_type, type_accepted};

/// The deployment's upload limits (`config::Settings::upload`, read from its environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSettings {
    pub max_files_per_bucket: u64,
    pub max_file_size: u64,
    /// MIME types or patterns such as `image/*`; empty = any.
    pub accepted_file_types: Vec<String>,
    /// Bytes of current files one bucket may hold (`MAX_BYTES_PER_BUCKET`); 0 = no quota. A
    /// bucket may set its own `limits.max_bytes`, at most this when it is set.
    pub max_bytes_per_bucket: u64,
}

impl UploadSettings {
    /// The byte quota, `None` when there is none (0 configures none).
    pub fn max_bytes(&self) -> Option<u64> {
        (self.max_bytes_per_bucket > 0).then_some(self.max_bytes_per_bucket)
    }
}

/// The bucket attribute holding its limits.
pub const LIMITS_ATTR: &str = "limits";

/// Most entries of a bucket's `accepted_file_types` (a browser `accept` list is a handful).
pub const MAX_TYPE_ENTRIES: usize = 100;

const NUMBER_FIELDS: [&str; 3] = ["max_file_size", "max_files", "max_bytes"];
const TYPES_FIELD: &str = "accepted_file_types";
/// Every member a bucket's `limits` may have.
const LIMIT_FIELDS: [&str; 4] = ["max_file_size", "max_files", "max_bytes", TYPES_FIELD];

/// What a bucket set in `limits`; `None`: the deployment's applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketLimits {
    pub max_file_size: Option<u64>,
    pub max_files: Option<u64>,
    /// Bytes of current files the bucket may hold.
    pub max_bytes: Option<u64>,
    pub accepted_file_types: Option<Vec<String>>,
}

/// Checks the shape of a `data.limits` value and returns what to store: `None` to store
/// nothing (`null`, or an object left empty once its `null` members are dropped: no limits).
pub fn clean_limits(value: &Value) -> Result<Option<Value>, RuleError> {
    let field = |name: &str| format!("data.{LIMITS_ATTR}.{name}");
    let map = match value {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        _ => {
            return Err(RuleError::invalid(
                format!("data.{LIMITS_ATTR}"),
                "must be an object with max_file_size, max_files, max_bytes and/or accepted_file_types",
            ));
        }
    };
    super::fields::only_known(map, &format!("data.{LIMITS_ATTR}"), &LIMIT_FIELDS)?;
    let mut out = Map::new();
    for (key, value) in map {
        // A member set to null is one not set (a PUT can clear a limit so).
        if value.is_null() {
            continue;
        }
        if NUMBER_FIELDS.contains(&key.as_str()) {
            if value.as_u64().is_none_or(|n| n == 0) {
                return Err(RuleError::invalid(
                    field(key),
                    "must be a positive whole number",
                ));
            }
        } else {
            // `accepted_file_types`, the one other member `only_known` lets through.
            check_type_entries(value, &field(key))?;
        }
        out.insert(key.clone(), value.clone());
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

/// Cleans and checks the `limits` of attributes about to be stored (`attrs`, from
/// `bucket::clean_attrs`) replacing `old` (`None`: a new bucket): shapes (`clean_limits`), then
/// within the deployment's (`BucketLimits::check_within`). Limits equal to the stored ones are
/// left as they are, unchecked: a bucket whose limits were set under looser deployment
/// settings, or whose `limits` predates the reservation, can still have its other attributes
/// written.
pub fn clean_in(
    attrs: &mut Map<String, Value>,
    old: Option<&Map<String, Value>>,
    deployment: &UploadSettings,
) -> Result<(), RuleError> {
    let Some(given) = attrs.get(LIMITS_ATTR) else {
        return Ok(());
    };
    if old.is_some_and(|old| old.get(LIMITS_ATTR) == Some(given)) {
        return Ok(());
    }
    match clean_limits(given)? {
        None => {
            attrs.remove(LIMITS_ATTR);
        }
        Some(cleaned) => {
            attrs.insert(LIMITS_ATTR.into(), cleaned);
        }
    }
    BucketLimits::of_attrs(attrs).check_within(deployment)
}

/// A MIME type (`text/csv`), a wildcard (`image/*`) or an extension (`.csv`), as the
/// deployment's `ACCEPTED_FILE_TYPES` entries.
fn is_type_entry(entry: &str) -> bool {
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    if let Some(ext) = entry.strip_prefix('.') {
        token(ext)
    } else if let Some(major) = entry.strip_suffix("/*") {
        token(major)
    } else {
        !entry.contains(';') && is_mime_type(entry)
    }
}

fn check_type_entries(value: &Value, field: &str) -> Result<(), RuleError> {
    let Value::Array(entries) = value else {
        return Err(RuleError::invalid(
            field,
            "must be a list of MIME types (text/csv), wildcards (image/*) or extensions (.csv)",
        ));
    };
    // An empty list would mean "any type" in the deployment's setting: a loosening. Leaving
    // the member out says that the deployment's list applies.
    if entries.is_empty() || entries.len() > MAX_TYPE_ENTRIES {
        return Err(RuleError::invalid(
            field,
            format!("must hold 1 to {MAX_TYPE_ENTRIES} types (leave it out for the deployment's)"),
        ));
    }
    for (i, entry) in entries.iter().enumerate() {
        if !entry.as_str().is_some_and(is_type_entry) {
            return Err(RuleError::invalid(
                format!("{field}[{i}]"),
                "must be a MIME type (text/csv), a wildcard (image/*) or an extension (.csv)",
            ));
        }
    }
    Ok(())
}

/// Whether every file a bucket's type entry accepts is accepted by the deployment's list:
/// the same entry, or a MIME type or wildcard under a deployment wildcard of its major type
/// (`image/png` and `image/*` under `image/*`). An extension is only covered by itself (a
/// `.csv` file may have any content type).
fn entry_covered(entry: &str, deployment: &[String]) -> bool {
    if deployment.is_empty() {
        return true;
    }
    let entry = entry.trim().to_ascii_lowercase();
    deployment.iter().any(|d| {
        let d = d.trim().to_ascii_lowercase();
        d == entry
            || d.strip_suffix("/*").is_some_and(|major| {
                !entry.starts_with('.') && entry.split_once('/').is_some_and(|(m, _)| m == major)
            })
    })
}

impl BucketLimits {
    /// The limits stored in a bucket's attributes. Lenient: a member of the wrong type is
    /// ignored (see the module's note on attributes stored before `limits` was reserved).
    pub fn of_attrs(attrs: &Map<String, Value>) -> BucketLimits {
        let Some(Value::Object(map)) = attrs.get(LIMITS_ATTR) else {
            return BucketLimits::default();
        };
        let number = |name: &str| map.get(name).and_then(Value::as_u64).filter(|n| *n > 0);
        let types = map
            .get(TYPES_FIELD)
            .and_then(Value::as_array)
            .and_then(|v| {
                let list: Vec<String> = v
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                (!list.is_empty()).then_some(list)
            });
        BucketLimits {
            max_file_size: number("max_file_size"),
            max_files: number("max_files"),
            max_bytes: number("max_bytes"),
            accepted_file_types: types,
        }
    }

    /// Refuses a limit beyond the deployment's, naming its field (`data.limits.max_files`):
    /// a bucket may tighten, never loosen.
    pub fn check_within(&self, deployment: &UploadSettings) -> Result<(), RuleError> {
        let field = |name: &str| format!("data.{LIMITS_ATTR}.{name}");
        let over = |name: &str, value: Option<u64>, max: Option<u64>, setting: &str| match (
            value, max,
        ) {
            (Some(v), Some(max)) if v > max => Err(RuleError::invalid(
                field(name),
                format!(
                    "is {v}; a bucket may only tighten the deployment's limit of {max} ({setting})"
                ),
            )),
            _ => Ok(()),
        };
        over(
            "max_file_size",
            self.max_file_size,
            Some(deployment.max_file_size),
            "MAX_FILE_SIZE",
        )?;
        over(
            "max_files",
            self.max_files,
            Some(deployment.max_files_per_bucket),
            "MAX_FILES_PER_BUCKET",
        )?;
        over(
            "max_bytes",
            self.max_bytes,
            deployment.max_bytes(),
            "MAX_BYTES_PER_BUCKET",
        )?;
        for (i, entry) in self.accepted_file_types.iter().flatten().enumerate() {
            if !entry_covered(entry, &deployment.accepted_file_types) {
                return Err(RuleError::invalid(
                    format!("{}[{i}]", field(TYPES_FIELD)),
                    format!(
                        "{entry} is not among the deployment's accepted types ({}); a bucket may only narrow them",
                        deployment.accepted_file_types.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The limits an upload into one bucket is held to: the tighter of the deployment's and the
/// bucket's. Both type lists apply (a file must pass each): a bucket's list was within the
/// deployment's when set, but the deployment's may have narrowed since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_file_size: u64,
    pub max_files: u64,
    /// The byte quota; `None`: none.
    pub max_bytes: Option<u64>,
    pub deployment_types: Vec<String>,
    pub bucket_types: Option<Vec<String>>,
}

impl Limits {
    /// The deployment's limits alone.
    pub fn deployment(deployment: &UploadSettings) -> Limits {
        Limits::of(deployment, &BucketLimits::default())
    }

    /// The effective limits of a bucket that set `bucket`.
    pub fn of(deployment: &UploadSettings, bucket: &BucketLimits) -> Limits {
        let tighter = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Limits {
            max_file_size: deployment
                .max_file_size
                .min(bucket.max_file_size.unwrap_or(u64::MAX)),
            max_files: deployment
                .max_files_per_bucket
                .min(bucket.max_files.unwrap_or(u64::MAX)),
            max_bytes: tighter(deployment.max_bytes(), bucket.max_bytes),
            deployment_types: deployment.accepted_file_types.clone(),
            bucket_types: bucket.accepted_file_types.clone(),
        }
    }

    /// The effective limits of a bucket with these attributes.
    pub fn of_attrs(deployment: &UploadSettings, attrs: &Map<String, Value>) -> Limits {
        Limits::of(deployment, &BucketLimits::of_attrs(attrs))
    }

    /// Whether a file of this type and normalized name passes both type lists.
    pub fn accepts(&self, content_type: &str, name: &str) -> bool {
        type_accepted(&self.deployment_types, content_type, name)
            && self
                .bucket_types
                .as_ref()
                .is_none_or(|list| type_accepted(list, content_type, name))
    }

    /// The accepted types, as an error message lists them.
    pub fn types_description(&self) -> String {
        match (&self.bucket_types, self.deployment_types.is_empty()) {
            (None, _) => self.deployment_types.join(", "),
            (Some(bucket), true) => format!("this bucket accepts {}", bucket.join(", ")),
            (Some(bucket), false) => format!(
                "this bucket accepts {}, the deployment {}",
                bucket.join(", "),
                self.deployment_types.join(", ")
            ),
        }
    }

    /// Whether a bucket holding `total_bytes` may grow by `delta` bytes. A change that does not
    /// grow it always may (a bucket left over a quota tightened below its content can still
    /// shrink or replace files by smaller ones); growth must end within the quota.
    pub fn bytes_fit(&self, total_bytes: i64, delta: i64) -> bool {
        match self.max_bytes {
            Some(max) if delta > 0 => {
                total_bytes.saturating_add(delta) <= i64::try_from(max).unwrap_or(i64::MAX)
            }
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests;
