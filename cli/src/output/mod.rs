//! How answers are printed: `--output table` (headers, aligned columns, dates and sizes for
//! people; the default on a terminal), `--output tsv` (tab-separated, no header, the API's
//! values; the default when stdout is not a terminal), `--output json` (the API's objects; a
//! list is one array holding every page read).
//!
//! When stdout is not a terminal and no format was asked for, every command prints what it
//! printed before `--output` existed: lists as tab-separated lines, a single object (`info`,
//! `whoami`, `webhooks get`) as indented JSON.
//!
//! Whatever the API answered reaches the terminal without control or format characters
//! (`safe`): as spaces in tables, tsv and lines, escaped in JSON.

mod columns;
mod render;
pub mod safe;
pub mod time;
pub mod words;

pub use columns::{Col, col, text};

use std::io::IsTerminal;

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns with headers, dates and sizes for people.
    Table,
    /// Tab-separated values, no header: the API's values, one item a line.
    Tsv,
    /// The API's objects as JSON (lists: one array).
    Json,
}

pub struct Out {
    pub format: Format,
    /// No format was asked for and stdout is not a terminal: single objects print as indented
    /// JSON, as before `--output`.
    piped_default: bool,
}

impl Out {
    /// The format asked for (`--output`, `--json`, `BUCKETS_OUTPUT`), else `table` on a
    /// terminal and `tsv` elsewhere.
    pub fn new(asked: Option<Format>) -> Out {
        Out::with_terminal(asked, std::io::stdout().is_terminal())
    }

    pub fn with_terminal(asked: Option<Format>, terminal: bool) -> Out {
        let format = asked.unwrap_or(if terminal { Format::Table } else { Format::Tsv });
        Out {
            format,
            piped_default: asked.is_none() && !terminal,
        }
    }

    pub fn json(&self) -> bool {
        self.format == Format::Json
    }

    /// The answer as JSON with `--output json`, else `line` (nothing when empty).
    pub fn print(&self, v: &Value, line: &str) {
        self.print_as(v, line, line);
    }

    /// The answer as JSON, `for_people` in a table's place, `for_programs` in tsv's.
    pub fn print_as(&self, v: &Value, for_people: &str, for_programs: &str) {
        emit(&self.render_line(v, for_people, for_programs));
    }

    pub fn render_line(&self, v: &Value, for_people: &str, for_programs: &str) -> String {
        let line = match self.format {
            Format::Json => return format!("{}\n", safe::json(v, false)),
            Format::Table => for_people,
            Format::Tsv => for_programs,
        };
        if line.is_empty() {
            String::new()
        } else {
            format!("{}\n", safe::lines(line))
        }
    }

    /// A document (the data document): JSON, indented unless `--output json`.
    pub fn document(&self, v: &Value) {
        emit(&format!("{}\n", safe::json(v, !self.json())));
    }

    /// One object: JSON; a two-column table of its fields (flattened as `render::fields` says:
    /// `permissions.read`, `data.title`); `field<TAB>value` lines.
    pub fn show(&self, v: &Value) {
        emit(&self.render_show(v, &render::fields(v)));
    }

    /// One object, `rows` in the place of its fields in a table and in tsv.
    pub fn show_rows(&self, v: &Value, rows: &[(String, String)]) {
        emit(&self.render_show(v, rows));
    }

    pub fn render_show(&self, v: &Value, rows: &[(String, String)]) -> String {
        match self.format {
            Format::Json => format!("{}\n", safe::json(v, false)),
            _ if self.piped_default => format!("{}\n", safe::json(v, true)),
            Format::Table => render::fields_table(rows),
            Format::Tsv => render::fields_tsv(rows),
        }
    }

    /// Items: one JSON array; a table with `cols` and a count of `noun`s under it
    /// ("0 webhooks" alone when there is none); tab-separated rows of `cols`.
    pub fn list(&self, items: &[Value], cols: &[Col], noun: &str) {
        emit(&self.render_list(items, cols, noun));
    }

    pub fn render_list(&self, items: &[Value], cols: &[Col], noun: &str) -> String {
        match self.format {
            Format::Json => format!("{}\n", safe::json(&Value::Array(items.to_vec()), false)),
            Format::Table if items.is_empty() => format!("{}\n", words::many(0, noun)),
            Format::Table => format!(
                "{}\n{}\n",
                render::table(items, cols),
                words::many(items.len(), noun)
            ),
            Format::Tsv => render::tsv(items, cols),
        }
    }
}

/// Writes to stdout; a closed pipe (`buckets ls | head -1`) ends the output quietly.
fn emit(s: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("buckets: writing the output: {e}");
            std::process::exit(crate::failure::Exit::Usage as i32);
        }
    }
}

#[cfg(test)]
mod tests;
