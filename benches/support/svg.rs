//! A grouped bar chart as a standalone SVG, for the `make bench` reports.
//! Hand-written (about 60 lines) rather than a plotting crate: the benches
//! need one chart shape, and a plotting stack would double their build time.

use std::fmt::Write as _;

/// `groups`: (label, one value per series); `series`: legend names.
pub fn bar_chart(
    title: &str,
    unit: &str,
    series: &[&str],
    groups: &[(String, Vec<f64>)],
) -> String {
    const COLORS: [&str; 4] = ["#8c8c8c", "#cc0000", "#0066cc", "#3f9c35"];
    let (w, h, left, bottom, top) = (760.0, 360.0, 70.0, 60.0, 50.0);
    let max = groups
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let plot_h = h - bottom - top;
    let group_w = (w - left - 20.0) / groups.len().max(1) as f64;
    let bar_w = group_w * 0.8 / series.len().max(1) as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = write!(
        s,
        r#"<text x="{}" y="24" font-size="15" text-anchor="middle">{}</text>"#,
        w / 2.0,
        esc(title)
    );
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = h - bottom - plot_h * f64::from(i) / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{} {}</text>"##,
            w - 20.0,
            left - 6.0,
            y + 4.0,
            fmt(v),
            esc(unit)
        );
    }
    for (gi, (label, values)) in groups.iter().enumerate() {
        let gx = left + group_w * gi as f64 + group_w * 0.1;
        for (si, v) in values.iter().enumerate() {
            let bh = plot_h * v / max;
            let x = gx + bar_w * si as f64;
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="{}"><title>{}: {} {}</title></rect>"#,
                h - bottom - bh,
                bar_w * 0.95,
                COLORS[si % COLORS.len()],
                esc(series.get(si).copied().unwrap_or("")),
                fmt(*v),
                esc(unit)
            );
        }
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            gx + group_w * 0.4,
            h - bottom + 18.0,
            esc(label)
        );
    }
    for (si, name) in series.iter().enumerate() {
        let x = left + 180.0 * si as f64;
        let _ = write!(
            s,
            r#"<rect x="{x}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            h - 24.0,
            COLORS[si % COLORS.len()],
            x + 16.0,
            h - 14.0,
            esc(name)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
