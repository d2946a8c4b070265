//! How lists, objects and lines print in each format.

use serde_json::json;

use super::*;

const COLS: [Col; 4] = [
    col("NAME", "/name"),
    col("SIZE", "/size").bytes(),
    col("MODIFIED", "/last_modified").time(),
    col("BY", "/uploaded_by").table_only(),
];

fn items() -> Vec<Value> {
    vec![
        json!({"name": "rain.csv", "size": 70000, "last_modified": 1765101234120_i64, "uploaded_by": "user:alice"}),
        json!({"name": "a\tb.txt", "size": 5, "last_modified": 0, "uploaded_by": null}),
    ]
}

fn out(format: Format) -> Out {
    Out::with_terminal(Some(format), false)
}

#[test]
fn a_table_has_headers_aligned_columns_people_values_and_a_count() {
    let t = out(Format::Table).render_list(&items(), &COLS, "file");
    let lines: Vec<&str> = t.lines().collect();
    // Sizes (and their header) right-aligned.
    assert_eq!(lines[0], "NAME          SIZE  MODIFIED              BY");
    assert_eq!(
        lines[1],
        "rain.csv  68.4 KiB  2025-12-07T09:53:54Z  user:alice"
    );
    assert_eq!(lines[2], "a b.txt        5 B  1970-01-01T00:00:00Z");
    assert_eq!(lines[3], "2 files");
    assert_eq!(
        out(Format::Table)
            .render_list(&items()[..1], &COLS, "file")
            .lines()
            .last(),
        Some("1 file")
    );
    assert_eq!(
        out(Format::Table).render_list(&[], &COLS, "delivery"),
        "0 deliveries\n"
    );
}

#[test]
fn tsv_has_no_header_the_api_values_and_only_its_columns() {
    let t = out(Format::Tsv).render_list(&items(), &COLS, "file");
    assert_eq!(t, "rain.csv\t70000\t1765101234120\na b.txt\t5\t0\n");
    assert_eq!(out(Format::Tsv).render_list(&[], &COLS, "file"), "");
}

#[test]
fn json_is_one_array_of_the_api_objects() {
    let t = out(Format::Json).render_list(&items(), &COLS, "file");
    assert_eq!(
        serde_json::from_str::<Value>(&t).unwrap(),
        Value::Array(items())
    );
}

#[test]
fn without_a_format_a_terminal_gets_tables_and_a_pipe_what_it_got_before() {
    let bucket = json!({"data": {"id": "reports", "created": 0, "total_bytes": 2048},
                        "permissions": {"read": [], "write": ["user:a", "user:b"]}});
    let on_terminal = Out::with_terminal(None, true);
    assert_eq!(on_terminal.format, Format::Table);
    let shown = on_terminal.render_show(&bucket, &render::fields(&bucket));
    assert!(shown.contains("data.id:            reports\n"), "{shown}");
    assert!(
        shown.contains("data.created:       1970-01-01T00:00:00Z\n"),
        "{shown}"
    );
    assert!(shown.contains("data.total_bytes:   2.0 KiB\n"), "{shown}");
    assert!(
        shown.contains("permissions.write:  user:a, user:b"),
        "{shown}"
    );
    let piped = Out::with_terminal(None, false);
    assert_eq!(piped.format, Format::Tsv);
    let legacy = piped.render_show(&bucket, &render::fields(&bucket));
    assert_eq!(serde_json::from_str::<Value>(&legacy).unwrap(), bucket);
    assert!(legacy.contains("\n  "), "indented: {legacy}");
    let asked = out(Format::Tsv).render_show(&bucket, &render::fields(&bucket));
    assert!(
        asked.starts_with("data.created\t0\ndata.id\treports\n"),
        "{asked}"
    );
    assert!(
        asked.contains("permissions.write\tuser:a, user:b\n"),
        "{asked}"
    );
}

#[test]
fn a_line_is_for_people_or_programs_and_json_is_the_answer() {
    let v = json!({"secret": "bk_x"});
    let line = |f| out(f).render_line(&v, "Key made. Its secret: bk_x", "bk_x");
    assert_eq!(line(Format::Table), "Key made. Its secret: bk_x\n");
    assert_eq!(line(Format::Tsv), "bk_x\n");
    assert_eq!(line(Format::Json), "{\"secret\":\"bk_x\"}\n");
    assert_eq!(out(Format::Table).render_line(&v, "", ""), "");
}

/// A bucket's writer names its attributes: no name drives the reader's terminal, and none
/// reads as one of the bucket's own fields (`permissions.write`).
#[test]
fn attribute_names_neither_drive_the_terminal_nor_pose_as_other_fields() {
    let bucket = json!({
        "data": {"id": "reports", "\u{1b}]0;pwned\u{7}x": 1, "permissions.write": ["user:eve"],
                 "permissions": {"write": ["user:eve"]}, "t\u{202e}txt.exe": "a\u{9b}b"},
        "permissions": {"read": [], "write": ["user:alice"]},
    });
    let rows = render::fields(&bucket);
    let writers: Vec<&str> = rows
        .iter()
        .filter(|(k, _)| k == "permissions.write")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(writers, ["user:alice"], "{rows:?}");
    for format in [Format::Table, Format::Tsv] {
        let shown = out(format).render_show(&bucket, &rows);
        assert!(
            !shown.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}']),
            "{shown:?}"
        );
        assert!(shown.contains("data.\"permissions.write\""), "{shown}");
        assert!(shown.contains("data.permissions.write"), "{shown}");
        assert!(
            shown.contains("data.\"\\u001b]0;pwned\\u0007x\""),
            "{shown}"
        );
    }
    // A key or a webhook (only `data`): its fields without the prefix.
    let key = json!({"data": {"id": "k1", "title": "nightly"}});
    assert_eq!(render::fields(&key)[0], ("id".into(), "k1".into()));
}
