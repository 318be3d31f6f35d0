//! The result table: rendered as Markdown, printed, and (with `--write`) put into
//! BENCHMARKS.md between its markers.

use std::fmt::Write as _;
use std::path::Path;

use crate::run::{EngineReport, RunArgs};

pub(crate) fn ms(us: u64) -> String {
    if us < 10_000 {
        format!("{:.2} ms", us as f64 / 1e3)
    } else {
        format!("{:.1} ms", us as f64 / 1e3)
    }
}

pub(crate) fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']))
        })
        .unwrap_or("unknown CPU")
        .to_string();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    format!(
        "{cpus} CPUs (`nproc`), {model}, {:.1} GiB RAM",
        mem_kb as f64 / 1024.0 / 1024.0
    )
}

pub(crate) fn render(args: &RunArgs, reports: &[EngineReport]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Machine: {}. {} users, {} connections, {} wrk threads, {} s per row after 1 s of warm-up.\n",
        machine(),
        args.users,
        args.connections,
        args.threads,
        args.duration
    );
    for r in reports {
        let about = r.rows.first().map_or(1.0, |(_, m)| m.rps);
        let _ = writeln!(out, "**{}**\n", r.engine);
        let _ = writeln!(
            out,
            "| request | requests/s | vs about | p50 | p99 | queries (writes) |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
        for (row, m) in &r.rows {
            let q = m
                .queries
                .map_or("?".into(), |(r, w)| format!("{} ({w})", r + w));
            let fail = if m.failures > 0 {
                format!(" ⚠ {} failed", m.failures)
            } else {
                String::new()
            };
            let mark = match row.p99_target_ms {
                Some(t) if m.p99_us as f64 / 1e3 <= t => format!(" ✓ ≤ {t} ms"),
                Some(t) => format!(" ✗ > {t} ms"),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "| {}{fail} | {:.0} | {:.0} % | {} | {}{mark} | {q} |",
                row.name,
                m.rps,
                100.0 * m.rps / about,
                ms(m.p50_us),
                ms(m.p99_us)
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "- peak RSS of the server (VmHWM) over the whole load: {:.1} MB {}",
            r.peak_rss_kb as f64 / 1024.0,
            if r.peak_rss_kb <= 64 * 1024 {
                "✓ ≤ 64 MB"
            } else {
                "✗ > 64 MB"
            }
        );
        let _ = writeln!(
            out,
            "- process start to the first 200 on `/api/server/about`: {:.0} ms {}",
            r.startup_ms,
            if r.startup_ms <= 200.0 {
                "✓ ≤ 200 ms"
            } else {
                "✗ > 200 ms"
            }
        );
        if let Some(line) = &r.mfa_login {
            let _ = writeln!(out, "- {line}");
        }
        if let Some(all) = &r.all {
            let _ = writeln!(out, "- {all}");
        }
        let _ = writeln!(out, "- seeding took {:.1} s\n", r.seed_secs);
    }
    out
}

pub(crate) const BEGIN: &str = "<!-- bench:begin -->";
pub(crate) const END: &str = "<!-- bench:end -->";

pub(crate) fn write_between_markers(path: &Path, text: &str) -> anyhow::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{BEGIN}\n{text}{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{block}{}", &old[..b], &old[e + END.len()..]),
        _ if old.is_empty() => format!("# Benchmarks\n\n{block}\n"),
        _ => format!("{old}\n{block}\n"),
    };
    std::fs::write(path, new)?;
    Ok(())
}
