//! The filters of a history read (Kinto's names) and the sort key range they select.

use super::{ACTIONS, HistoryEntry, RESOURCES, time_bound};
use crate::domain::error::RuleError;

/// The filters of `GET /v1/buckets/{id}/history` (Kinto's names).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryFilter {
    /// Entries strictly newer than this (ms).
    pub since: Option<i64>,
    /// Entries strictly older than this (ms).
    pub before: Option<i64>,
    pub resource_name: Option<String>,
    pub action: Option<String>,
    pub user_id: Option<String>,
}

/// Longest `user_id` filter accepted (principals are bounded well below it).
const MAX_USER_ID: usize = 512;

impl HistoryFilter {
    /// The filters from query parameters (`get` reads one by name). Bad values name their field.
    pub fn parse(get: impl Fn(&str) -> Option<String>) -> Result<HistoryFilter, RuleError> {
        let time = |k: &str| -> Result<Option<i64>, RuleError> {
            match get(k) {
                None => Ok(None),
                Some(raw) => raw
                    .trim_matches('"')
                    .parse::<i64>()
                    .ok()
                    .filter(|v| (0..=i64::from(u32::MAX) * 1000).contains(v))
                    .map(Some)
                    .ok_or_else(|| RuleError::invalid(k, "must be a time in ms since the epoch")),
            }
        };
        let one_of = |k: &str, allowed: &[&str]| -> Result<Option<String>, RuleError> {
            match get(k) {
                None => Ok(None),
                Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
                Some(_) => Err(RuleError::invalid(
                    k,
                    format!("must be one of {}", allowed.join(", ")),
                )),
            }
        };
        if let Some(sort) = get("_sort")
            && sort != "-last_modified"
        {
            return Err(RuleError::invalid(
                "_sort",
                "history is sorted newest first only (-last_modified)",
            ));
        }
        let user_id = match get("user_id") {
            Some(u) if u.is_empty() || u.len() > MAX_USER_ID => {
                return Err(RuleError::invalid("user_id", "is not a principal"));
            }
            other => other,
        };
        Ok(HistoryFilter {
            since: time("_since")?,
            before: time("_before")?,
            resource_name: one_of("resource_name", RESOURCES)?,
            action: one_of("action", ACTIONS)?,
            user_id,
        })
    }

    /// Whether `entry` passes the filters that are not key ranges.
    pub fn admits(&self, entry: &HistoryEntry) -> bool {
        self.resource_name
            .as_ref()
            .is_none_or(|r| *r == entry.resource_name)
            && self.action.as_ref().is_none_or(|a| *a == entry.action)
            && self.user_id.as_ref().is_none_or(|u| *u == entry.user_id)
    }

    /// The sort key range `(above, below)`, both exclusive, from the times and a page cursor
    /// (the last sort key of the previous page, which is below the rest).
    pub fn range(&self, cursor: Option<&str>) -> (Option<String>, Option<String>) {
        let above = self.since.map(|ms| time_bound(ms, true));
        let before = self.before.map(|ms| time_bound(ms, false));
        let below = match (before, cursor) {
            (Some(b), Some(c)) => Some(if c < b.as_str() { c.to_string() } else { b }),
            (b, c) => b.or_else(|| c.map(str::to_string)),
        };
        (above, below)
    }
}
