//! A grouped bar chart as a standalone SVG, for the `make bench` reports,
//! drawn by `plotters` (its SVG backend only: no fonts, no bitmaps).

use plotters::prelude::*;

/// The series' colours, in legend order (grey, Red Hat red, Azure blue, green).
const COLORS: [RGBColor; 4] = [
    RGBColor(0x8c, 0x8c, 0x8c),
    RGBColor(0xcc, 0x00, 0x00),
    RGBColor(0x00, 0x66, 0xcc),
    RGBColor(0x3f, 0x9c, 0x35),
];

/// `groups`: (label, one value per series); `series`: legend names.
pub fn bar_chart(
    title: &str,
    unit: &str,
    series: &[&str],
    groups: &[(String, Vec<f64>)],
) -> String {
    let mut out = String::new();
    if let Err(e) = draw(&mut out, title, unit, series, groups) {
        panic!("drawing {title}: {e}");
    }
    out
}

fn draw(
    out: &mut String,
    title: &str,
    unit: &str,
    series: &[&str],
    groups: &[(String, Vec<f64>)],
) -> Result<(), String> {
    draw_into(out, title, unit, series, groups).map_err(|e| e.to_string())
}

fn draw_into<'a>(
    out: &'a mut String,
    title: &str,
    unit: &str,
    series: &[&str],
    groups: &[(String, Vec<f64>)],
) -> Result<(), Box<dyn std::error::Error + 'a>> {
    let root = SVGBackend::with_string(out, (760, 380)).into_drawing_area();
    root.fill(&WHITE)?;
    let max = groups
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let n = groups.len().max(1);
    // Group i is centred on x = i: key points on the integers carry its label.
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.5_f64..n as f64 - 0.5, 0.0..max * 1.35)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                groups
                    .get(i as usize)
                    .map(|g| g.0.clone())
                    .unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc(unit)
        .draw()?;
    let width = 0.8 / series.len().max(1) as f64;
    for (si, name) in series.iter().enumerate() {
        let color = COLORS[si % COLORS.len()];
        chart
            .draw_series(groups.iter().enumerate().filter_map(|(gi, (_, values))| {
                let v = *values.get(si)?;
                let x0 = gi as f64 - 0.4 + width * si as f64;
                Some(Rectangle::new(
                    [(x0, 0.0), (x0 + width * 0.95, v)],
                    color.filled(),
                ))
            }))?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
