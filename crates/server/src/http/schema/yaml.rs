//! A small block-style YAML writer for the document: strings (and keys) are plain when they
//! cannot be read as anything else, else JSON-quoted (a valid YAML double-quoted scalar).

use serde_json::Value;

pub fn write(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, item) in map {
                out.push_str(&pad);
                out.push_str(&text(k));
                out.push(':');
                nested(item, indent + 2, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                // Render the item one level deeper, then put the dash in its first indent.
                let mut inner = String::new();
                if is_block(item) {
                    write(item, indent + 2, &mut inner);
                    out.push_str(&pad);
                    out.push_str("- ");
                    out.push_str(&inner[indent + 2..]);
                } else {
                    out.push_str(&pad);
                    out.push_str("- ");
                    out.push_str(&scalar(item));
                    out.push('\n');
                }
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn nested(v: &Value, indent: usize, out: &mut String) {
    if is_block(v) {
        out.push('\n');
        write(v, indent, out);
    } else {
        out.push(' ');
        out.push_str(&scalar(v));
        out.push('\n');
    }
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        Value::String(s) => text(s),
        other => other.to_string(),
    }
}

/// Plain when it can only be read back as this string, else JSON-quoted.
fn text(k: &str) -> String {
    let plain = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '/')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./{}".contains(c))
        && !matches!(
            k.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        k.to_string()
    } else {
        Value::String(k.to_string()).to_string()
    }
}
