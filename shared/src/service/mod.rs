//! The use cases, transport-free: what a request or an event asks, over the ports.

pub mod cascade;
pub mod uploads;
