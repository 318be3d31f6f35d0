//! Reading a dump: a reader thread parses one record at a time and sends the kept ones on;
//! skipped models are counted and never built in memory.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufReader, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use tokio::sync::mpsc;

use super::human_bytes;

/// The models kept, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Group,
    User,
    Token,
    Organization,
    Membership,
    Invitation,
}

impl Kind {
    pub(super) const ALL: [Kind; 6] = [
        Kind::Group,
        Kind::User,
        Kind::Token,
        Kind::Organization,
        Kind::Membership,
        Kind::Invitation,
    ];

    pub(super) fn of(model: &str) -> Option<Kind> {
        Some(match model {
            "auth.group" => Kind::Group,
            "auth.user" => Kind::User,
            "authtoken.token" => Kind::Token,
            "organizations.organization" => Kind::Organization,
            "organizations.membership" => Kind::Membership,
            "organizations.invitation" => Kind::Invitation,
            _ => return None,
        })
    }

    pub(super) fn model(self) -> &'static str {
        match self {
            Kind::Group => "auth.group",
            Kind::User => "auth.user",
            Kind::Token => "authtoken.token",
            Kind::Organization => "organizations.organization",
            Kind::Membership => "organizations.membership",
            Kind::Invitation => "organizations.invitation",
        }
    }
}

/// A kept record, still untyped.
pub(super) struct Raw {
    /// 1-based position in the file.
    pub(super) index: u64,
    pub(super) kind: Kind,
    pub(super) pk: Value,
    pub(super) fields: Value,
}

impl Raw {
    pub(super) fn context(&self) -> String {
        format!(
            "record {} ({} pk {})",
            self.index,
            self.kind.model(),
            self.pk
        )
    }
}

pub(super) enum Msg {
    Record(Raw),
    Done(anyhow::Result<ReadStats>),
}

#[derive(Debug, Default)]
pub(super) struct ReadStats {
    pub(super) records: u64,
    pub(super) bytes: u64,
    pub(super) skipped: BTreeMap<String, u64>,
}

/// Counts the bytes read, for progress and the summary.
pub(super) struct Counting<R> {
    pub(super) inner: R,
    pub(super) count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

pub(super) struct ReaderState<'a> {
    pub(super) sender: &'a mpsc::Sender<Msg>,
    /// Records completely read.
    pub(super) records: u64,
    pub(super) skipped: BTreeMap<String, u64>,
    /// Set when the importer went away: the parse stops and its error is not reported.
    pub(super) cancelled: bool,
    pub(super) bytes: Arc<AtomicU64>,
    pub(super) size: u64,
    pub(super) progress: bool,
    pub(super) last_progress: Instant,
    pub(super) started: Instant,
}

impl ReaderState<'_> {
    /// At most once a second (checked every 1024 records).
    fn maybe_progress(&mut self) {
        if !self.progress || self.records & 1023 != 0 {
            return;
        }
        if self.last_progress.elapsed() >= Duration::from_secs(1) {
            self.last_progress = Instant::now();
            self.print_progress();
        }
    }

    fn print_progress(&self) {
        let bytes = self.bytes.load(Ordering::Relaxed);
        let pct = if self.size > 0 {
            format!(" ({:.0}%)", bytes as f64 * 100.0 / self.size as f64)
        } else {
            String::new()
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\rimport-django: {} records, {} of {}{pct}, {:.0} s   ",
            self.records,
            human_bytes(bytes),
            human_bytes(self.size),
            self.started.elapsed().as_secs_f64()
        );
        let _ = err.flush();
    }
}

pub(super) fn read_dump(
    file: std::fs::File,
    size: u64,
    sender: &mpsc::Sender<Msg>,
    progress: bool,
) -> anyhow::Result<ReadStats> {
    let bytes = Arc::new(AtomicU64::new(0));
    let reader = BufReader::with_capacity(
        1 << 20,
        Counting {
            inner: file,
            count: bytes.clone(),
        },
    );
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut state = ReaderState {
        sender,
        records: 0,
        skipped: BTreeMap::new(),
        cancelled: false,
        bytes: bytes.clone(),
        size,
        progress,
        last_progress: Instant::now(),
        started: Instant::now(),
    };
    let parsed = de::Deserializer::deserialize_seq(&mut de, DumpVisitor { state: &mut state })
        .and_then(|()| de.end());
    if state.progress {
        state.print_progress();
        eprintln!();
    }
    match parsed {
        Ok(()) => Ok(ReadStats {
            records: state.records,
            bytes: bytes.load(Ordering::Relaxed),
            skipped: state.skipped,
        }),
        Err(_) if state.cancelled => Err(anyhow!("import cancelled")),
        Err(e) if state.records == 0 && e.is_eof() => Err(anyhow!(
            "malformed dump: the file ends before the first record ({e})"
        )),
        Err(e) => Err(anyhow!(
            "malformed dump at record {} ({} records read): {e}",
            state.records + 1,
            state.records
        )),
    }
}

/// The top-level array.
pub(super) struct DumpVisitor<'s, 'a> {
    pub(super) state: &'s mut ReaderState<'a>,
}

impl<'de> Visitor<'de> for DumpVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of dumpdata records (manage.py dumpdata --format json)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(rec) = seq.next_element_seed(RecordSeed)? {
            let state = &mut *self.state;
            state.records += 1;
            match Kind::of(&rec.model) {
                Some(kind) => {
                    let raw = Raw {
                        index: state.records,
                        kind,
                        pk: rec.pk,
                        fields: rec.fields.unwrap_or(Value::Null),
                    };
                    if state.sender.blocking_send(Msg::Record(raw)).is_err() {
                        state.cancelled = true;
                        return Err(de::Error::custom("import cancelled"));
                    }
                }
                None => {
                    // Models only: `get_mut` first so the name is not copied per record.
                    match state.skipped.get_mut(rec.model.as_str()) {
                        Some(n) => *n += 1,
                        None => {
                            state.skipped.insert(rec.model, 1);
                        }
                    }
                }
            }
            state.maybe_progress();
        }
        Ok(())
    }
}

/// One `{"model": ..., "pk": ..., "fields": {...}}` record. `fields` of skipped models are
/// walked over without being built.
pub(super) struct RecordSeed;

pub(super) struct Record {
    pub(super) model: String,
    pub(super) pk: Value,
    pub(super) fields: Option<Value>,
}

impl<'de> DeserializeSeed<'de> for RecordSeed {
    type Value = Record;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Record, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed {
    type Value = Record;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record object with \"model\", \"pk\" and \"fields\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record, A::Error> {
        let mut model: Option<String> = None;
        let mut pk = Value::Null;
        let mut fields: Option<Value> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "model" => model = Some(map.next_value()?),
                "pk" => pk = map.next_value()?,
                "fields" => match model.as_deref().map(Kind::of) {
                    // A skipped model: walk over its fields without building them.
                    Some(None) => {
                        map.next_value::<IgnoredAny>()?;
                    }
                    // Kept, or the model is not known yet (it comes after "fields").
                    _ => fields = Some(map.next_value()?),
                },
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let model = model.ok_or_else(|| de::Error::missing_field("model"))?;
        if Kind::of(&model).is_none() {
            fields = None;
        }
        Ok(Record { model, pk, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn read(text: &str) -> (anyhow::Result<ReadStats>, Vec<(u64, Kind, Value)>) {
        let dir = tempfile_dir();
        let path = dir.join(format!("dump-{}.json", rand::random::<u64>()));
        std::fs::write(&path, text).unwrap();
        let (sender, mut receiver) = mpsc::channel(1 << 16);
        let file = std::fs::File::open(&path).unwrap();
        let result = read_dump(file, text.len() as u64, &sender, false);
        drop(sender);
        let mut got = Vec::new();
        while let Ok(Msg::Record(r)) = receiver.try_recv() {
            got.push((r.index, r.kind, r.fields));
        }
        let _ = std::fs::remove_file(&path);
        (result, got)
    }

    fn tempfile_dir() -> PathBuf {
        std::env::temp_dir()
    }

    #[test]
    fn streams_kept_records_and_counts_the_rest() {
        let (r, got) = read(
            r#"[{"model": "engine.task", "pk": 1, "fields": {"name": "x", "deep": [1, {"a": null}]}},
                {"fields": {"name": "admin"}, "pk": 1, "model": "auth.group"},
                {"model": "sessions.session", "pk": "k", "fields": {"session_data": "..."}},
                {"model": "engine.task", "pk": 2, "fields": {}}]"#,
        );
        let stats = r.unwrap();
        assert_eq!(stats.records, 4);
        assert_eq!(stats.skipped.get("engine.task"), Some(&2));
        assert_eq!(stats.skipped.get("sessions.session"), Some(&1));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 2);
        assert_eq!(got[0].1, Kind::Group);
        assert_eq!(got[0].2["name"], "admin");
    }

    #[test]
    fn malformed_files_name_the_record() {
        let (r, _) = read(
            r#"[{"model": "auth.group", "pk": 1, "fields": {}}, {"model": "a.b", "pk": 2, "fie"#,
        );
        let e = r.unwrap_err().to_string();
        assert!(e.contains("record 2"), "{e}");
        let (r, _) = read(r#"{"model": "a.b"}"#);
        assert!(r.unwrap_err().to_string().contains("array"));
        let (r, _) = read("");
        assert!(r
            .unwrap_err()
            .to_string()
            .contains("before the first record"));
        let (r, _) = read(r#"[{"pk": 1, "fields": {}}]"#);
        assert!(r.unwrap_err().to_string().contains("model"));
        let (r, _) = read(r#"[] trailing"#);
        assert!(r.is_err());
        let (r, _) = read(r#"[]"#);
        assert_eq!(r.unwrap().records, 0);
    }
}
