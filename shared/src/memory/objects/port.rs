//! `ObjectStore` on the in-memory objects: what S3 answers, as the adapter maps it.

use super::*;

impl ObjectStore for MemoryObjects {
    /// `PUT memory://put/<key>?size=…&type=…[&sha256=…]&upload_id=…&expires=…`, with the
    /// headers S3 signs (`content-length`, `content-type`, `x-amz-meta-upload-id`, and
    /// `x-amz-checksum-sha256` when a checksum is bound).
    async fn presign_put(&self, spec: &PutSpec<'_>) -> Result<Presigned, StoreError> {
        drop(self.begin()?);
        let mut pairs = vec![
            ("size", spec.size.to_string()),
            ("type", spec.content_type.to_string()),
        ];
        if let Some(sha) = spec.sha256_base64 {
            pairs.push(("sha256", sha.to_string()));
        }
        pairs.push(("upload_id", spec.upload_id.to_string()));
        pairs.push(("expires", spec.expires_in_secs.to_string()));
        let mut headers = vec![
            ("content-length".to_string(), spec.size.to_string()),
            ("content-type".to_string(), spec.content_type.to_string()),
            (
                "x-amz-meta-upload-id".to_string(),
                spec.upload_id.to_string(),
            ),
        ];
        if let Some(sha) = spec.sha256_base64 {
            headers.push(("x-amz-checksum-sha256".to_string(), sha.to_string()));
        }
        Ok(Presigned {
            method: "PUT".into(),
            url: format!(
                "{PUT_PREFIX}{}?{}",
                utf8_percent_encode(spec.key, PATH),
                query(&pairs)
            ),
            headers,
        })
    }

    /// `GET memory://get/<key>?version=…&filename=…&expires=…`; like S3's, it is issued
    /// whether or not the object exists.
    async fn presign_get(
        &self,
        object: &ObjectVersion,
        filename: &str,
        expires_in_secs: u64,
    ) -> Result<Presigned, StoreError> {
        drop(self.begin()?);
        let mut pairs = vec![];
        if let Some(v) = &object.version_id {
            pairs.push(("version", v.clone()));
        }
        pairs.push(("filename", filename.to_string()));
        pairs.push(("expires", expires_in_secs.to_string()));
        Ok(Presigned {
            method: "GET".into(),
            url: format!(
                "{GET_PREFIX}{}?{}",
                utf8_percent_encode(&object.key, PATH),
                query(&pairs)
            ),
            headers: vec![],
        })
    }

    async fn head(&self, object: &ObjectVersion) -> Result<Option<ObjectMeta>, StoreError> {
        Ok(self.begin()?.find(object).map(|o| o.meta.clone()))
    }

    async fn delete(&self, object: &ObjectVersion) -> Result<(), StoreError> {
        self.begin()?.remove(object);
        Ok(())
    }

    async fn copy_version(
        &self,
        from: &ObjectVersion,
        to: &str,
        content_type: &str,
        upload_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut state = self.begin()?;
        let Some(mut copy) = state.find(from).cloned() else {
            return Err(StoreError::Conflict);
        };
        copy.meta.content_type = content_type.to_string();
        copy.meta.upload_id = Some(upload_id.to_string());
        copy.meta.last_modified = now_ms() / 1000 * 1000;
        // S3 computes the copy's SHA-256 (the request asks for one).
        if let Some(body) = &copy.body {
            copy.meta.sha256 =
                Some(base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body)));
        }
        Ok(Some(state.write(to, Some(copy))))
    }

    /// Object versions of exactly `key`, newest (last written) first, as S3 lists them.
    async fn newest_versions(&self, key: &str, max: usize) -> Result<Vec<String>, StoreError> {
        let state = self.begin()?;
        Ok(state
            .objects
            .get(key)
            .map(|vs| {
                vs.iter()
                    .rev()
                    .filter(|v| v.object.is_some())
                    .take(max)
                    .map(|v| v.id.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Up to `max` (at most 1000) versions and delete markers under `prefix` after the
    /// token (the key and version id of the last one of the previous page); `next` is given
    /// exactly when more follow (S3's `IsTruncated`).
    async fn list_current(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        max: usize,
    ) -> Result<CurrentPage, StoreError> {
        let state = self.begin()?;
        let mut objects = Vec::new();
        let mut truncated = false;
        for (key, versions) in state
            .objects
            .range(start_after.unwrap_or(prefix).to_string()..)
        {
            if !key.starts_with(prefix) {
                break;
            }
            if start_after == Some(key.as_str()) {
                continue;
            }
            let Some(object) = versions.last().and_then(|v| v.object.as_ref()) else {
                continue;
            };
            if objects.len() == max.min(1000) {
                truncated = true;
                break;
            }
            objects.push(CurrentObject {
                key: key.clone(),
                size: object.meta.size,
                etag: object.meta.etag.clone(),
            });
        }
        Ok(CurrentPage { objects, truncated })
    }

    async fn list_versions(
        &self,
        prefix: &str,
        token: Option<String>,
        max: usize,
    ) -> Result<ObjectPage, StoreError> {
        let state = self.begin()?;
        let max = max.min(S3_PAGE);
        let after = token.as_deref().and_then(|t| t.split_once('\n'));
        // Keys under a prefix are contiguous: start at the prefix, or at the token's key.
        let start = match after {
            Some((k, _)) if k >= prefix => Bound::Included(k),
            _ => Bound::Included(prefix),
        };
        let mut under = state
            .objects
            .range::<str, _>((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .flat_map(|(k, vs)| vs.iter().map(move |v| (k, &v.id)))
            .skip_while(|(k, id)| {
                after.is_some_and(|(ak, av)| (k.as_str(), id.as_str()) <= (ak, av))
            });
        let objects: Vec<ObjectVersion> = under
            .by_ref()
            .take(max)
            .map(|(k, id)| ObjectVersion::new(k.clone(), Some(id.clone())))
            .collect();
        let more = under.next().is_some();
        let next = match objects.last() {
            Some(o) if more => Some(format!(
                "{}\n{}",
                o.key,
                o.version_id.clone().unwrap_or_default()
            )),
            _ => None,
        };
        Ok(ObjectPage { objects, next })
    }

    /// Deletes the versions (missing ones count as deleted); none ever fails. More than 1000
    /// fail with `Other`, as S3's DeleteObjects does.
    async fn delete_versions(
        &self,
        objects: &[ObjectVersion],
    ) -> Result<Vec<FailedKey>, StoreError> {
        let mut state = self.begin()?;
        if objects.len() > S3_PAGE {
            return Err(StoreError::Other(format!(
                "MalformedXML: {} keys in one DeleteObjects (at most {S3_PAGE})",
                objects.len()
            )));
        }
        for o in objects {
            state.remove(o);
        }
        Ok(vec![])
    }

    async fn create_multipart(&self, spec: &MultipartSpec<'_>) -> Result<String, StoreError> {
        let mut state = self.begin()?;
        state.next_multipart += 1;
        let id = format!("mpu-{}", state.next_multipart);
        state.multipart.insert(
            id.clone(),
            Multipart {
                key: spec.key.to_string(),
                content_type: spec.content_type.to_string(),
                upload_id: spec.upload_id.to_string(),
                parts: BTreeMap::new(),
            },
        );
        Ok(id)
    }

    /// `PUT memory://part/<key>?uploadId=…&partNumber=…&size=…&sha256=…&expires=…`.
    async fn presign_part(&self, spec: &PartSpec<'_>) -> Result<Presigned, StoreError> {
        drop(self.begin()?);
        Ok(Presigned {
            method: "PUT".into(),
            url: format!(
                "{PART_PREFIX}{}?{}",
                utf8_percent_encode(spec.key, PATH),
                query(&[
                    ("uploadId", spec.s3_upload_id.to_string()),
                    ("partNumber", spec.number.to_string()),
                    ("size", spec.size.to_string()),
                    ("sha256", spec.sha256_base64.to_string()),
                    ("expires", spec.expires_in_secs.to_string()),
                ])
            ),
            headers: vec![
                ("content-length".to_string(), spec.size.to_string()),
                (
                    "x-amz-checksum-sha256".to_string(),
                    spec.sha256_base64.to_string(),
                ),
            ],
        })
    }

    async fn list_parts(
        &self,
        key: &str,
        s3_upload_id: &str,
        after: Option<u32>,
        max: usize,
    ) -> Result<Option<PartPage>, StoreError> {
        let state = self.begin()?;
        let Some(mp) = state.multipart.get(s3_upload_id).filter(|m| m.key == key) else {
            return Ok(None);
        };
        let max = max.clamp(1, S3_PAGE);
        let mut rest = mp
            .parts
            .range((Bound::Excluded(after.unwrap_or(0)), Bound::Unbounded));
        let parts: Vec<PartInfo> = rest
            .by_ref()
            .take(max)
            .map(|(n, (body, sha, etag))| PartInfo {
                number: *n,
                size: body.len() as u64,
                etag: etag.clone(),
                sha256: Some(sha.clone()),
            })
            .collect();
        let next = rest.next().and(parts.last().map(|p| p.number));
        Ok(Some(PartPage { parts, next }))
    }

    /// As S3: every named part must be stored with that etag and checksum, parts but the
    /// last at least 5 MiB, the total `size`, and the composite checksum when given.
    async fn complete_multipart(
        &self,
        key: &str,
        s3_upload_id: &str,
        parts: &[PartInfo],
        size: u64,
        sha256: Option<&str>,
    ) -> Result<Completion, StoreError> {
        let mut state = self.begin()?;
        let Some(mp) = state.multipart.get(s3_upload_id).filter(|m| m.key == key) else {
            return Ok(Completion::NoSuchUpload);
        };
        let mut body = Vec::new();
        let mut digests = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            match mp.parts.get(&p.number) {
                Some((b, sha, etag)) if *etag == p.etag && p.sha256.as_ref() == Some(sha) => {
                    if i + 1 < parts.len()
                        && (b.len() as u64) < crate::domain::multipart::MIN_PART_SIZE
                    {
                        return Ok(Completion::Refused("EntityTooSmall".into()));
                    }
                    body.extend_from_slice(b);
                    digests.push(sha.clone());
                }
                _ => return Ok(Completion::Refused("InvalidPart".into())),
            }
        }
        if body.len() as u64 != size {
            return Ok(Completion::Refused(
                "InvalidRequest: x-amz-mp-object-size".into(),
            ));
        }
        let composite = composite_sha256(digests.iter().map(String::as_str));
        if let Some(want) = sha256
            && composite.as_deref() != Some(want)
        {
            return Ok(Completion::Refused("BadDigest".into()));
        }
        let meta = ObjectMeta {
            size,
            content_type: mp.content_type.clone(),
            etag: format!("{}-{}", content_etag(&body), parts.len()),
            sha256: composite,
            last_modified: now_ms() / 1000 * 1000,
            version_id: None,
            upload_id: Some(mp.upload_id.clone()),
        };
        state.multipart.remove(s3_upload_id);
        state.write(
            key,
            Some(StoredObject {
                meta,
                body: Some(body),
            }),
        );
        Ok(Completion::Completed)
    }

    async fn abort_multipart(&self, key: &str, s3_upload_id: &str) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        if state
            .multipart
            .get(s3_upload_id)
            .is_some_and(|m| m.key == key)
        {
            state.multipart.remove(s3_upload_id);
        }
        Ok(())
    }
}
