//! Users (and invitations) as a table, JSON or CSV.

use std::io::Write;

use clap::ValueEnum;
use comfy_table::{presets, ContentArrangement, Table};
use cvat_sdk::{MetaUser, USER_KEYS};
use serde_json::Value;

use crate::context::Failure;

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people (a list), or one `field value` line per field (one user).
    Table,
    /// JSON exactly as the server sent it: an array for `list`, an object otherwise.
    Json,
    /// A header line and one line per user, every field.
    Csv,
    /// JSON lines: one compact object a line (streamed by `audit`).
    Jsonl,
}

/// Every field of a full user, in the server's order but with `url` last (CSV columns, `show` lines).
const FIELDS: [&str; 12] = {
    let k = USER_KEYS;
    [
        k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9], k[10], k[11], k[0],
    ]
};

/// A field as text: groups joined with `,`, `null` as empty.
fn cell(user: &Value, field: &str) -> String {
    match user.get(field) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

fn yes_no(user: &Value, field: &str) -> String {
    match user.get(field).and_then(Value::as_bool) {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => String::new(),
    }
}

fn json_failure(e: impl std::fmt::Display) -> Failure {
    Failure::new(format!("cannot format the output: {e}"))
}

fn as_values(users: &[MetaUser]) -> Result<Vec<Value>, Failure> {
    users
        .iter()
        .map(|u| serde_json::to_value(u).map_err(json_failure))
        .collect()
}

fn pretty(value: &impl serde::Serialize) -> Result<String, Failure> {
    serde_json::to_string_pretty(value)
        .map(|text| text + "\n")
        .map_err(json_failure)
}

/// One compact JSON object a line.
fn json_lines(values: &[Value]) -> Result<String, Failure> {
    let mut out = String::new();
    for v in values {
        out.push_str(&serde_json::to_string(v).map_err(json_failure)?);
        out.push('\n');
    }
    Ok(out)
}

fn write_out(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // `cvat-users list | head`: a closed pipe is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|e| Failure::new(format!("cannot write the output: {e}"))),
    }
}

/// Prints a list of users.
pub fn print_users(users: &[MetaUser], format: Format) -> Result<(), Failure> {
    let values = as_values(users)?;
    match format {
        Format::Json => write_out(&pretty(&values)?),
        Format::Jsonl => write_out(&json_lines(&values)?),
        Format::Csv => write_out(&csv_text(&values)?),
        Format::Table => write_out(&table_text(&values)),
    }
}

/// Prints one user.
pub fn print_user(user: &MetaUser, format: Format) -> Result<(), Failure> {
    let value = serde_json::to_value(user).map_err(json_failure)?;
    match format {
        Format::Json => write_out(&pretty(&value)?),
        Format::Jsonl => write_out(&json_lines(std::slice::from_ref(&value))?),
        Format::Csv => write_out(&csv_text(std::slice::from_ref(&value))?),
        Format::Table => {
            let present: Vec<&str> = FIELDS
                .iter()
                .copied()
                .filter(|f| value.get(*f).is_some())
                .collect();
            let width = present.iter().map(|f| f.len()).max().unwrap_or(0);
            let mut text = String::new();
            for field in present {
                let line = format!("{field:<width$}  {}", cell(&value, field));
                text.push_str(line.trim_end());
                text.push('\n');
            }
            write_out(&text)
        }
    }
}

fn csv_text(users: &[Value]) -> Result<String, Failure> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(FIELDS).map_err(json_failure)?;
    for user in users {
        w.write_record(FIELDS.iter().map(|f| cell(user, f)))
            .map_err(json_failure)?;
    }
    let bytes = w.into_inner().map_err(json_failure)?;
    String::from_utf8(bytes).map_err(json_failure)
}

fn table_text(users: &[Value]) -> String {
    // Full users (staff see them) get the account columns; basic ones only the names.
    let full = users.iter().any(|u| u.get("email").is_some());
    let mut header = vec!["ID", "USERNAME", "FIRST NAME", "LAST NAME"];
    if full {
        header.extend(["EMAIL", "GROUPS", "ACTIVE", "STAFF", "SUPERUSER"]);
    }
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header);
    for u in users {
        let mut row = vec![
            cell(u, "id"),
            cell(u, "username"),
            cell(u, "first_name"),
            cell(u, "last_name"),
        ];
        if full {
            row.extend([
                cell(u, "email"),
                cell(u, "groups"),
                yes_no(u, "is_active"),
                yes_no(u, "is_staff"),
                yes_no(u, "is_superuser"),
            ]);
        }
        table.add_row(row);
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    let mut text: String = table
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    if users.is_empty() {
        text.push_str("(no users)\n");
    }
    text
}

/// A column of a record table: its header and how a record shows in it.
pub type Column = (&'static str, fn(&Value) -> String);

/// Prints records other than users: JSON as the server sent them, else the columns given
/// (a header and one row a record, aligned for `table`, quoted for `csv`).
pub fn print_records(
    values: &[Value],
    columns: &[Column],
    format: Format,
    one: bool,
) -> Result<(), Failure> {
    if format == Format::Jsonl {
        return write_out(&json_lines(values)?);
    }
    if format == Format::Json {
        return match (one, values) {
            (true, [value]) => write_out(&pretty(value)?),
            _ => write_out(&pretty(&values)?),
        };
    }
    let rows = values
        .iter()
        .map(|v| columns.iter().map(|(_, f)| f(v)).collect::<Vec<_>>());
    let header = columns.iter().map(|(h, _)| *h);
    if format == Format::Csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(header).map_err(json_failure)?;
        for row in rows {
            w.write_record(row).map_err(json_failure)?;
        }
        let bytes = w.into_inner().map_err(json_failure)?;
        return write_out(&String::from_utf8(bytes).map_err(json_failure)?);
    }
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header);
    for row in rows {
        table.add_row(row);
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    let text: String = table
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    write_out(&text)
}

/// A field of a record as text (`a.b` descends into objects): [`cell`], or yes/no for booleans.
pub fn field(value: &Value, path: &str) -> String {
    let mut v = value;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            return match v.get(part) {
                Some(Value::Bool(_)) => yes_no(v, part),
                _ => cell(v, part),
            };
        }
        match v.get(part) {
            Some(inner) => v = inner,
            None => return String::new(),
        }
    }
    String::new()
}
