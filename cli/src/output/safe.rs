//! What the API answered, made safe for a terminal: a bucket's writer chooses names and values
//! that every reader's terminal prints, so no control character (which drives the terminal:
//! escape sequences, C1 such as U+009B) and no format character (Unicode `Cf`: bidi overrides
//! that reorder a line, zero-width characters that hide text) reaches it as it is.

use serde_json::Value;
use unicode_general_category::{GeneralCategory, get_general_category};

/// A character a terminal must not get as it is: controls (C0, DEL, C1), format characters,
/// and the line and paragraph separators (U+2028, U+2029), which break a line.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            get_general_category(c),
            GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
}

/// `s` with every such character (tab, newline, escape, a bidi override …) as a space: one
/// line of the columns it was put in.
pub fn one_line(s: &str) -> String {
    spaces_but(s, &[])
}

/// `s`, a message of lines (a tab or a newline kept), with every other such character as a
/// space.
pub fn lines(s: &str) -> String {
    spaces_but(s, &['\n', '\t'])
}

fn spaces_but(s: &str, kept: &[char]) -> String {
    s.chars()
        .map(|c| {
            if unsafe_char(c) && !kept.contains(&c) {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// `v` as JSON (indented when `pretty`) with every such character escaped (`\u009b`):
/// serde_json escapes only U+0000–U+001F. The same JSON value, safe to print.
pub fn json(v: &Value, pretty: bool) -> String {
    let text = if pretty {
        serde_json::to_string_pretty(v).unwrap_or_default()
    } else {
        v.to_string()
    };
    // Outside strings JSON is ASCII punctuation, digits, letters, spaces and newlines: any
    // such character left is inside a string, where `\uXXXX` means the same.
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c != '\n' && unsafe_char(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn controls_and_format_characters_become_spaces() {
        let s = "a\u{1b}]0;pwned\u{7}b\u{9b}c\u{7f}d\u{202e}e\u{2066}f\u{200b}g\u{feff}h\u{2028}i";
        assert_eq!(one_line(s), "a ]0;pwned b c d e f g h i");
        assert_eq!(one_line("Reports 📊 été"), "Reports 📊 été");
        assert_eq!(lines("id\tsecret\nnext\u{1b}[2J"), "id\tsecret\nnext [2J");
    }

    #[test]
    fn json_escapes_what_serde_json_leaves_raw_and_means_the_same() {
        let v = json!({"x\u{202e}": ["\u{7f}\u{9b}", "\u{1b}[2J", "\u{e0041}", "ok 📊\nnext"]});
        for pretty in [false, true] {
            let text = json(&v, pretty);
            assert!(!text.chars().any(|c| c != '\n' && unsafe_char(c)), "{text}");
            assert!(
                text.contains("\\u007f\\u009b") && text.contains("x\\u202e"),
                "{text}"
            );
            assert!(text.contains("\\udb40\\udc41"), "a surrogate pair: {text}");
            assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
        }
        assert!(json(&v, true).contains("\n  "), "indented");
    }
}
