//! Faults a test asks a memory adapter to inject: the queue both the table and the object store
//! consult at the start of every port call.

use std::collections::VecDeque;

use crate::ports::StoreError;

/// `Some(error)`: that call fails; `None`: that call passes (lets `fail_call` skip calls).
#[derive(Debug, Default)]
pub(super) struct Faults(VecDeque<Option<StoreError>>);

impl Faults {
    /// Whether the call starting now may proceed, or the fault it must answer.
    pub(super) fn next(&mut self) -> Result<(), StoreError> {
        match self.0.pop_front() {
            Some(Some(fault)) => Err(fault),
            Some(None) | None => Ok(()),
        }
    }

    /// The next `calls` calls fail with `error`.
    pub(super) fn fail_next(&mut self, calls: usize, error: StoreError) {
        self.0.extend(std::iter::repeat_n(Some(error), calls));
    }

    /// The call after the next `skip` ones fails with `error`.
    pub(super) fn fail_call(&mut self, skip: usize, error: StoreError) {
        self.0.extend(std::iter::repeat_n(None, skip));
        self.0.push_back(Some(error));
    }

    /// Whether a fault is still waiting.
    pub(super) fn pending(&self) -> bool {
        self.0.iter().any(Option::is_some)
    }

    pub(super) fn clear(&mut self) {
        self.0.clear();
    }
}
