//! Django's rows, typed: the `fields` of each kept model, references to other rows (ids or
//! natural keys) and date-times, and the records that wait until every user is known.

use std::fmt;

use anyhow::{anyhow, bail};
use serde::Deserialize;
use serde_json::Value;

/// A reference to another row: an id, or a natural key (`["admin1"]` for a user, `["admin"]`
/// for a group).
#[derive(Debug, Clone)]
pub(super) enum Ref {
    Id(i64),
    Key(String),
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ref::Id(id) => write!(f, "id {id}"),
            Ref::Key(k) => write!(f, "[{}]", Value::String(k.clone())),
        }
    }
}

pub(super) fn parse_ref(field: &str, v: &Value) -> anyhow::Result<Ref> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(Ref::Id)
            .ok_or_else(|| anyhow!("field `{field}`: {n} is not a valid id")),
        Value::Array(items) if items.len() == 1 => match &items[0] {
            Value::String(s) => Ok(Ref::Key(s.clone())),
            other => bail!("field `{field}`: natural key [{other}] is not a string"),
        },
        other => {
            bail!("field `{field}`: expected an id or a natural key like [\"admin1\"], got {other}")
        }
    }
}

pub(super) fn parse_opt_ref(field: &str, v: &Option<Value>) -> anyhow::Result<Option<Ref>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => parse_ref(field, v).map(Some),
    }
}

/// Django's date-times: `2021-12-14T18:04:57Z`, `...57.795Z`, `...57+03:00`, or naive (UTC).
pub(super) fn parse_time(field: &str, s: &str) -> anyhow::Result<i64> {
    use chrono::{DateTime, NaiveDateTime};
    let t = s.trim();
    let normalized;
    let t = if t.len() > 10 && t.as_bytes()[10] == b' ' {
        normalized = format!("{}T{}", &t[..10], &t[11..]);
        normalized.as_str()
    } else {
        t
    };
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.timestamp_micros());
    }
    if let Ok(dt) = DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Ok(dt.timestamp_micros());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(dt.and_utc().timestamp_micros());
        }
    }
    bail!("field `{field}`: {s:?} is not a date-time")
}

pub(super) fn parse_opt_time(field: &str, s: &Option<String>) -> anyhow::Result<Option<i64>> {
    s.as_deref().map(|s| parse_time(field, s)).transpose()
}

pub(super) fn pk_int(pk: &Value) -> anyhow::Result<Option<i64>> {
    match pk {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| anyhow!("pk {n} is not a valid id")),
        Value::String(s) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| anyhow!("pk {s:?} is not an id")),
        other => bail!("pk {other} is not an id"),
    }
}

pub(super) fn pk_text(pk: &Value) -> anyhow::Result<String> {
    match pk {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        other => bail!("pk {other} is not a key"),
    }
}

pub(super) fn yes() -> bool {
    true
}

#[derive(Deserialize)]
pub(super) struct GroupFields {
    pub(super) name: String,
}

#[derive(Deserialize)]
pub(super) struct UserFields {
    pub(super) password: String,
    #[serde(default)]
    pub(super) last_login: Option<String>,
    #[serde(default)]
    pub(super) is_superuser: bool,
    pub(super) username: String,
    #[serde(default)]
    pub(super) first_name: Option<String>,
    #[serde(default)]
    pub(super) last_name: Option<String>,
    #[serde(default)]
    pub(super) email: Option<String>,
    #[serde(default)]
    pub(super) is_staff: bool,
    #[serde(default = "yes")]
    pub(super) is_active: bool,
    pub(super) date_joined: String,
    #[serde(default)]
    pub(super) groups: Vec<Value>,
}

#[derive(Deserialize)]
pub(super) struct TokenFields {
    pub(super) user: Value,
    pub(super) created: String,
}

#[derive(Deserialize)]
pub(super) struct OrganizationFields {
    pub(super) slug: String,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) description: Option<String>,
    pub(super) created_date: String,
    pub(super) updated_date: String,
    #[serde(default)]
    pub(super) contact: Option<Value>,
    #[serde(default)]
    pub(super) owner: Option<Value>,
}

#[derive(Deserialize)]
pub(super) struct MembershipFields {
    pub(super) user: Value,
    pub(super) organization: i64,
    #[serde(default)]
    pub(super) is_active: bool,
    #[serde(default)]
    pub(super) joined_date: Option<String>,
    pub(super) role: String,
}

#[derive(Deserialize)]
pub(super) struct InvitationFields {
    pub(super) created_date: String,
    #[serde(default)]
    pub(super) owner: Option<Value>,
    pub(super) membership: i64,
}

/// Kept records waiting for every user to be known (all small).
pub(super) struct Token {
    pub(super) ctx: String,
    pub(super) key: String,
    pub(super) user: Ref,
    pub(super) created: i64,
}

pub(super) struct Organization {
    pub(super) ctx: String,
    pub(super) id: Option<i64>,
    pub(super) slug: String,
    pub(super) name: String,
    pub(super) description: String,
    pub(super) created: i64,
    pub(super) updated: i64,
    pub(super) contact: String,
    pub(super) owner: Option<Ref>,
}

pub(super) struct Membership {
    pub(super) ctx: String,
    pub(super) id: Option<i64>,
    pub(super) user: Ref,
    pub(super) organization: i64,
    pub(super) is_active: bool,
    pub(super) joined: Option<i64>,
    pub(super) role: String,
}

pub(super) struct Invitation {
    pub(super) ctx: String,
    pub(super) key: String,
    pub(super) created: i64,
    pub(super) owner: Option<Ref>,
    pub(super) membership: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_datetimes() {
        let z = parse_time("t", "2021-12-14T18:04:57Z").unwrap();
        assert_eq!(z, 1_639_505_097_000_000);
        assert_eq!(
            parse_time("t", "2022-12-05T07:46:24.795Z").unwrap(),
            1_670_226_384_795_000
        );
        assert_eq!(parse_time("t", "2021-12-14T21:04:57+03:00").unwrap(), z);
        assert_eq!(parse_time("t", "2021-12-14T18:04:57").unwrap(), z);
        assert_eq!(parse_time("t", "2021-12-14 18:04:57").unwrap(), z);
        assert_eq!(
            parse_time("t", "2021-12-14T18:04:57.000001Z").unwrap(),
            z + 1
        );
        assert!(parse_time("t", "yesterday").is_err());
        assert!(parse_time("t", "").is_err());
    }

    #[test]
    fn references() {
        assert!(matches!(
            parse_ref("u", &serde_json::json!(3)).unwrap(),
            Ref::Id(3)
        ));
        assert!(
            matches!(parse_ref("u", &serde_json::json!(["admin1"])).unwrap(), Ref::Key(k) if k == "admin1")
        );
        assert!(parse_ref("u", &serde_json::json!(["a", "b"])).is_err());
        assert!(parse_ref("u", &serde_json::json!("admin1")).is_err());
        assert!(parse_opt_ref("u", &Some(Value::Null)).unwrap().is_none());
    }
}
