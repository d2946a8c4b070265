//! Tables (comfy-table: no borders, two spaces between columns, as `gh` and `kubectl` print)
//! and tab-separated rows.

use comfy_table::{CellAlignment, Table, presets};
use serde_json::Value;

use super::columns::{Col, Kind, text};
use super::safe::one_line;
use super::time::format_ms;
use super::words::bytes;

fn new_table() -> Table {
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    t
}

/// Rows of `cols` under their headers (no trailing newline).
pub fn table(items: &[Value], cols: &[Col]) -> String {
    let mut t = new_table();
    t.set_header(cols.iter().map(|c| c.header));
    for item in items {
        t.add_row(cols.iter().map(|c| c.human(item)));
    }
    for (i, c) in cols.iter().enumerate() {
        if matches!(c.kind, Kind::Bytes)
            && let Some(column) = t.column_mut(i)
        {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    trimmed(&mut t)
}

/// Tab-separated rows of the columns `tsv` keeps, no header.
pub fn tsv(items: &[Value], cols: &[Col]) -> String {
    let cols: Vec<&Col> = cols.iter().filter(|c| c.in_tsv).collect();
    items
        .iter()
        .map(|i| {
            let row: Vec<String> = cols.iter().map(|c| c.raw(i)).collect();
            row.join("\t") + "\n"
        })
        .collect()
}

/// An object's fields, flattened: `permissions.read`, `data.title`; an answer that holds only
/// `data` (a key, a webhook) without the prefix. A name that is not a plain word (a dot, a
/// bracket, a space …) is quoted as JSON (`data."permissions.write"`): no name a writer gives
/// an attribute reads as another field.
pub fn fields(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match v.as_object() {
        Some(map) if map.len() == 1 && map.get("data").is_some_and(Value::is_object) => {
            flatten("", &map["data"], &mut out)
        }
        _ => flatten("", v, &mut out),
    }
    out
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, child) in map {
                let k = plain_or_quoted(k);
                let name = match prefix {
                    "" => k,
                    p => format!("{p}.{k}"),
                };
                flatten(&name, child, out);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            for (i, child) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), child, out);
            }
        }
        other => out.push((prefix.to_string(), text(other, ", "))),
    }
}

/// A name as it is when it is a plain word (letters, digits, `_`, `-`), else as a JSON string.
fn plain_or_quoted(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if plain {
        k.to_string()
    } else {
        Value::String(k.to_string()).to_string()
    }
}

/// Fields as a two-column table: `field:`, value (times and sizes for people).
pub fn fields_table(rows: &[(String, String)]) -> String {
    let mut t = new_table();
    for (k, val) in rows {
        t.add_row([format!("{}:", one_line(k)), one_line(&for_people(k, val))]);
    }
    trimmed(&mut t) + "\n"
}

/// A field's value as a table shows it: the API's times (ms) as dates, byte counts in units.
fn for_people(field: &str, val: &str) -> String {
    let name = field.rsplit('.').next().unwrap_or(field);
    let times = [
        "created",
        "expires",
        "last_modified",
        "last_used",
        "replaced",
    ];
    match val.parse::<u64>() {
        Ok(ms) if times.contains(&name) || name.ends_with("_at") => format_ms(ms as i64),
        Ok(n) if name == "size" || name.ends_with("bytes") => bytes(n),
        _ => val.to_string(),
    }
}

/// Fields as `field<TAB>value` lines.
pub fn fields_tsv(rows: &[(String, String)]) -> String {
    rows.iter()
        .map(|(k, val)| format!("{}\t{}\n", one_line(k), one_line(val)))
        .collect()
}

/// The table's lines: columns two spaces apart, nothing after the last one.
fn trimmed(t: &mut Table) -> String {
    for c in t.column_iter_mut() {
        c.set_padding((0, 2));
    }
    t.lines()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}
