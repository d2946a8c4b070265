//! The command line's shape: every command and argument described, with examples.
