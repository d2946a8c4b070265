//! How much one request may name.

/// Files one request (a grant, a store) may name.
pub const MAX_FILES_PER_REQUEST: usize = 100;

/// Most part URLs one answer carries (a grant's first page, one `POST .../parts`): 100 URLs
/// of ~1.5 KiB each stay far below Lambda's 6 MB response limit.
pub const MAX_PARTS_PER_PAGE: usize = 100;
