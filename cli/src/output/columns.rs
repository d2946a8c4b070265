//! What a listing shows of each item: its columns, and each cell as a table shows it to a
//! person (dates, sizes) or as tab-separated values give it to a program (the API's value).

use serde_json::Value;

use super::safe::one_line;
use super::time::format_ms;
use super::words::bytes;

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// The value as it is (lists joined with commas).
    Text,
    /// Milliseconds since the epoch: a UTC date and time in a table.
    Time,
    /// A size in bytes: binary units in a table.
    Bytes,
    /// The field's value shown by this function, in tables and tab-separated output alike.
    With(fn(&Value) -> String),
}

/// One column: its header, the field it shows (a JSON pointer such as `/id` or
/// `/target/data/name`), how a table shows it, and whether `tsv` has it too.
#[derive(Clone, Copy, Debug)]
pub struct Col {
    pub header: &'static str,
    pub field: &'static str,
    pub kind: Kind,
    /// False for a column only tables show (tab-separated output keeps the columns scripts
    /// read before it was added).
    pub in_tsv: bool,
}

pub const fn col(header: &'static str, field: &'static str) -> Col {
    Col {
        header,
        field,
        kind: Kind::Text,
        in_tsv: true,
    }
}

impl Col {
    pub const fn time(self) -> Col {
        Col {
            kind: Kind::Time,
            ..self
        }
    }
    pub const fn bytes(self) -> Col {
        Col {
            kind: Kind::Bytes,
            ..self
        }
    }
    pub const fn with(self, show: fn(&Value) -> String) -> Col {
        Col {
            kind: Kind::With(show),
            ..self
        }
    }
    pub const fn table_only(self) -> Col {
        Col {
            in_tsv: false,
            ..self
        }
    }

    fn value<'a>(&self, item: &'a Value) -> &'a Value {
        item.pointer(self.field).unwrap_or(&Value::Null)
    }

    /// The cell in a table: for a person (control and format characters, which would break
    /// the columns or drive the terminal, shown as spaces).
    pub fn human(&self, item: &Value) -> String {
        let v = self.value(item);
        let cell = match (self.kind, v) {
            (Kind::Time, Value::Number(n)) => n.as_i64().map_or_else(|| n.to_string(), format_ms),
            (Kind::Bytes, Value::Number(n)) => n.as_u64().map_or_else(|| n.to_string(), bytes),
            (Kind::With(show), v) => show(v),
            _ => text(v, ", "),
        };
        one_line(&cell)
    }

    /// The cell in tab-separated output: the API's value (control and format characters, a
    /// tab or a newline among them, as spaces: a row stays one line of the same columns).
    pub fn raw(&self, item: &Value) -> String {
        let v = self.value(item);
        one_line(&match self.kind {
            Kind::With(show) => show(v),
            _ => text(v, ","),
        })
    }
}

/// A JSON value as text: strings as they are, `null` empty, lists joined by `sep`.
pub fn text(v: &Value, sep: &str) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| text(i, sep))
            .collect::<Vec<_>>()
            .join(sep),
        other => other.to_string(),
    }
}
