//! The dashboard's charts: SVG drawn here from a container's samples, with
//! a y axis (0, half and the maximum, in percent or bytes) and an x axis (the
//! first and the last sample's time, UTC). Pure, so every label is tested.

use std::fmt::Write;

/// The whole chart.
pub const W: f64 = 300.0;
/// The whole chart.
pub const H: f64 = 96.0;
/// The plot area inside it (left, right, top, bottom).
const PL: f64 = 50.0;
const PR: f64 = 292.0;
const PT: f64 = 16.0;
const PB: f64 = 74.0;

/// What a chart's values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Percent of one CPU.
    Percent,
    /// Bytes.
    Bytes,
}

/// A value as an axis label: `50%`, `12.5%`, `64 MiB`, `1.5 GiB`, `0`.
pub fn label(v: f64, unit: Unit) -> String {
    if v <= 0.0 {
        return "0".into();
    }
    let trim = |x: f64| {
        let s = format!("{x:.1}");
        s.strip_suffix(".0").map_or(s.clone(), str::to_string)
    };
    match unit {
        Unit::Percent => format!("{}%", trim(v)),
        Unit::Bytes => {
            let units = ["B", "KiB", "MiB", "GiB", "TiB"];
            let mut x = v;
            let mut i = 0;
            while x >= 1024.0 && i + 1 < units.len() {
                x /= 1024.0;
                i += 1;
            }
            format!("{} {}", trim(x), units[i])
        }
    }
}

/// `HH:MM:SS` (UTC) of `t` seconds since the epoch.
pub fn clock(t: i64) -> String {
    let s = t.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `<polyline>` points of `(time, value)` samples in the plot area: time
/// from the first to the last sample left to right, `0..=max` bottom to top.
pub fn polyline(points: &[(i64, f64)], max: f64) -> String {
    let max = if max > 0.0 { max } else { 1.0 };
    let (t0, t1) = match (points.first(), points.last()) {
        (Some(a), Some(b)) => (a.0, b.0),
        _ => return String::new(),
    };
    let span = (t1 - t0).max(1) as f64;
    let mut out = String::new();
    for (i, (t, v)) in points.iter().enumerate() {
        let x = PL + (PR - PL) * (t - t0) as f64 / span;
        let y = PB - (v.clamp(0.0, max) / max) * (PB - PT);
        let _ = write!(out, "{}{x:.1},{y:.1}", if i == 0 { "" } else { " " });
    }
    out
}

fn text(class: &str, x: f64, y: f64, anchor: &str, s: &str) -> String {
    format!("<text class=\"{class}\" x=\"{x}\" y=\"{y}\" text-anchor=\"{anchor}\" font-size=\"9\">{s}</text>")
}

fn y_axis(max: f64, unit: Unit) -> String {
    let mid = (PT + PB) / 2.0;
    let mut g = format!(
        "<g class=\"y-axis\"><line x1=\"{PL}\" y1=\"{PT}\" x2=\"{PL}\" y2=\"{PB}\" stroke=\"#889\"/>\
<line x1=\"{PL}\" y1=\"{PT}\" x2=\"{PR}\" y2=\"{PT}\" stroke=\"#dde\" stroke-dasharray=\"3,3\"/>\
<line x1=\"{PL}\" y1=\"{mid}\" x2=\"{PR}\" y2=\"{mid}\" stroke=\"#dde\" stroke-dasharray=\"3,3\"/>"
    );
    for (v, y) in [(max, PT + 3.0), (max / 2.0, mid + 3.0), (0.0, PB)] {
        g.push_str(&text("ylabel", PL - 4.0, y, "end", &label(v, unit)));
    }
    g.push_str("</g>");
    g
}

fn x_axis(points: &[(i64, f64)]) -> String {
    let mut g = format!(
        "<g class=\"x-axis\"><line x1=\"{PL}\" y1=\"{PB}\" x2=\"{PR}\" y2=\"{PB}\" stroke=\"#889\"/>"
    );
    let y = PB + 12.0;
    match (points.first(), points.last()) {
        (Some(a), Some(b)) => {
            g.push_str(&text("xlabel", PL, y, "start", &clock(a.0)));
            g.push_str(&text(
                "xlabel",
                PR,
                y,
                "end",
                &format!("{} UTC", clock(b.0)),
            ));
        }
        _ => g.push_str(&text("xlabel", PL, y, "start", "no samples yet")),
    }
    g.push_str("</g>");
    g
}

/// One chart: `class` (`cpu`, `memory`), a title, the samples and the top of
/// the y axis.
pub fn svg(class: &str, title: &str, points: &[(i64, f64)], max: f64, unit: Unit) -> String {
    let color = if class == "cpu" { "#d9480f" } else { "#1c7ed6" };
    format!(
        "<svg class=\"chart {class}\" data-points=\"{n}\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\">\
<rect width=\"{W}\" height=\"{H}\" fill=\"#f8f9fb\" stroke=\"#ccd\"/>\
<text class=\"title\" x=\"{PL}\" y=\"11\" font-size=\"10\">{title}</text>{y}{x}\
<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{line}\"/></svg>",
        n = points.len(),
        y = y_axis(max, unit),
        x = x_axis(points),
        line = polyline(points, max),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_in_percent_and_bytes() {
        assert_eq!(label(100.0, Unit::Percent), "100%");
        assert_eq!(label(12.5, Unit::Percent), "12.5%");
        assert_eq!(label(0.0, Unit::Percent), "0");
        assert_eq!(label(64.0 * 1048576.0, Unit::Bytes), "64 MiB");
        assert_eq!(label(32.0 * 1048576.0, Unit::Bytes), "32 MiB");
        assert_eq!(label(1.5 * 1073741824.0, Unit::Bytes), "1.5 GiB");
        assert_eq!(label(512.0, Unit::Bytes), "512 B");
        assert_eq!(label(2048.0, Unit::Bytes), "2 KiB");
    }

    #[test]
    fn clock_is_utc_time_of_day() {
        assert_eq!(clock(0), "00:00:00");
        assert_eq!(clock(86_400 + 3600 * 13 + 60 * 5 + 9), "13:05:09");
    }

    #[test]
    fn polyline_scales_time_and_value_into_the_plot() {
        assert_eq!(
            polyline(&[(10, 0.0), (20, 100.0)], 100.0),
            "50.0,74.0 292.0,16.0"
        );
        assert_eq!(
            polyline(&[(10, 50.0), (15, 200.0), (20, 0.0)], 100.0),
            "50.0,45.0 171.0,16.0 292.0,74.0"
        );
        assert_eq!(polyline(&[(5, 1.0)], 0.0), "50.0,16.0");
        assert_eq!(polyline(&[], 1.0), "");
    }

    #[test]
    fn a_chart_has_both_axes_with_labels() {
        let s = svg(
            "memory",
            "memory 1 MiB",
            &[(3600, 1.0), (3660, 2.0)],
            64.0 * 1048576.0,
            Unit::Bytes,
        );
        assert!(s.contains("class=\"y-axis\"") && s.contains("class=\"x-axis\""));
        assert!(
            s.contains(">64 MiB</text>") && s.contains(">32 MiB</text>") && s.contains(">0</text>")
        );
        assert!(s.contains(">01:00:00</text>") && s.contains(">01:01:00 UTC</text>"));
        assert!(s.contains("data-points=\"2\""));
        let e = svg("cpu", "-", &[], 50.0, Unit::Percent);
        assert!(e.contains(">50%</text>") && e.contains("no samples yet"));
    }
}
