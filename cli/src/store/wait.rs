//! Waiting until every upload is recorded: the listing, then each upload's status.

use super::*;
use crate::output::words::count;

/// Waits until every sent upload is recorded or refused: one listing a round finds the
/// recorded ones (cheap for many files), `status_uri` tells the fate of the rest.
pub(super) fn wait_recorded(
    api: &Api,
    bucket: &str,
    mut pending: Vec<Sent>,
    wait: Duration,
    progress: &Progress,
    files: usize,
    summary: &mut Summary,
) -> Result<(), Failure> {
    let deadline = Instant::now() + wait;
    let mut done = 0;
    let mut round = 0;
    while !pending.is_empty() {
        round += 1;
        if round > 1 {
            std::thread::sleep(Duration::from_millis(if round < 5 { 200 } else { 1000 }));
        }
        // The listing answers many at once; single statuses say why one is refused.
        let listing = if pending.len() > 20 {
            Some(recorded(api, bucket)?)
        } else {
            None
        };
        let mut still = Vec::new();
        for s in pending {
            let want = s.file.digests.recorded_form();
            if let Some(l) = &listing {
                if l.get(&s.file.name)
                    .is_some_and(|(_, sha)| sha.as_deref() == Some(&want))
                {
                    done += 1;
                    stored(api, bucket, s.file, summary, progress, done, files);
                    continue;
                }
                if round < 3 {
                    still.push(s);
                    continue;
                }
            }
            let answer = api.get(&s.status_uri)?.body;
            let st = if answer["data"].is_object() {
                &answer["data"]
            } else {
                &answer
            };
            match st["status"].as_str().unwrap_or("") {
                "pending" => still.push(s),
                "recorded" | "replaced" => {
                    done += 1;
                    stored(api, bucket, s.file, summary, progress, done, files);
                }
                "rejected" => {
                    summary.refuse(&s.file.name, st["reason"].as_str().unwrap_or("refused"));
                    forget(api, bucket, s.file);
                }
                other => summary.fail(&s.file.name, &format!("upload {other}")),
            }
        }
        pending = still;
        if Instant::now() > deadline {
            for s in &pending {
                summary.fail(
                    &s.file.name,
                    "not recorded in time (still pending: see its status_uri)",
                );
            }
            return Ok(());
        }
    }
    Ok(())
}

/// A file recorded: counted, reported, and its remembered multipart upload (if any) dropped.
pub(super) fn stored(
    api: &Api,
    bucket: &str,
    l: &Local,
    summary: &mut Summary,
    progress: &Progress,
    done: usize,
    files: usize,
) {
    summary
        .moved
        .push(json!({"name": l.name, "size": l.digests.size}));
    progress.done(
        &format!("stored {} ({})", l.name, count(l.digests.size, "byte")),
        done,
        files,
    );
    forget(api, bucket, l);
}
