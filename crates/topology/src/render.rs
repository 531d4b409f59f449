//! Figures of profiles, drawn with `plotters` to PNG (encoded with `png`) or SVG.
//!
//! Text uses DejaVu Sans, embedded in the crate (its licence is `assets/DejaVuSans-LICENSE.txt`),
//! so figures look the same on every machine and need no system fonts.

use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::diagram::Diagram;
use crate::profile::{Basin, Profile};
use crate::tree::NodeKind;
use crate::value::FieldValue;

/// Drawing failed (a backend error, which with in-memory backends means a bug or no memory).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot draw the figure: {0}")]
pub struct RenderError(pub String);

fn failed(e: impl std::fmt::Display) -> RenderError {
    RenderError(e.to_string())
}

/// Size, title and scale of a figure.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureOptions {
    /// Width in pixels (PNG) or user units (SVG).
    pub width: u32,
    pub height: u32,
    /// The caption above the plot.
    pub title: String,
    /// Plot the loss (and colour it) on a logarithmic scale; needs positive losses.
    pub log_scale: bool,
    /// The loss range of the axis and the colours; `None`: the profile's own. Profiles drawn
    /// with one range can be compared by eye.
    pub loss_range: Option<(f64, f64)>,
}

impl Default for FigureOptions {
    fn default() -> Self {
        Self {
            width: 1200,
            height: 800,
            title: "Topological landscape profile".into(),
            log_scale: false,
            loss_range: None,
        }
    }
}

const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn register_font() -> Result<(), RenderError> {
    static REGISTER: Once = Once::new();
    let mut result = Ok(());
    REGISTER.call_once(|| {
        result = plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
            .map_err(|_| RenderError("the embedded font is invalid".into()));
    });
    result
}

/// ColorBrewer's sequential "Blues", light to dark.
const BLUES: [(u8, u8, u8); 9] = [
    (247, 251, 255),
    (222, 235, 247),
    (198, 219, 239),
    (158, 202, 225),
    (107, 174, 214),
    (66, 146, 198),
    (33, 113, 181),
    (8, 81, 156),
    (8, 48, 107),
];

/// The colour of a loss at relative position `t` in [0, 1] of its range: darker is lower.
fn blue(t: f64) -> RGBColor {
    let t = if t.is_nan() { 0.5 } else { t.clamp(0.0, 1.0) };
    // Low loss -> dark end; keep clear of the near-white end so basins stay visible.
    let position = (1.0 - t) * 0.85 + 0.15;
    let scaled = position * (BLUES.len() - 1) as f64;
    let i = (scaled.floor() as usize).min(BLUES.len() - 2);
    let f = scaled - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (BLUES[i], BLUES[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

const MINIMUM: RGBColor = RGBColor(214, 39, 40);
const SADDLE: RGBColor = RGBColor(255, 127, 14);
const OUTLINE: RGBColor = RGBColor(8, 48, 107);

/// One cell of a grid of profiles: its caption and its profile (`None`: drawn as missing).
pub struct ProfileCell<'a> {
    pub title: String,
    pub profile: Option<&'a Profile>,
}

/// Profiles side by side, `columns` per row, each cell `options.width x options.height`,
/// every cell drawn with `options.loss_range` and `options.log_scale` (give a shared range to
/// compare them).
pub fn profile_grid_png(
    cells: &[ProfileCell<'_>],
    columns: usize,
    options: &FigureOptions,
) -> Result<Vec<u8>, RenderError> {
    panels_png(cells, columns, options, |cell, sub| {
        let cell_options = FigureOptions {
            title: cell.title.clone(),
            ..options.clone()
        };
        match cell.profile {
            Some(profile) => draw_profile(sub, profile, &cell_options)?,
            None => {
                sub.titled(&format!("{}: missing", cell.title), (FONT, 22))
                    .map_err(failed)?;
            }
        }
        Ok(())
    })
}

/// `items` drawn by `draw` into cells of `options.width x options.height`, `columns` per row.
fn panels_png<T>(
    items: &[T],
    columns: usize,
    options: &FigureOptions,
    mut draw: impl FnMut(&T, &DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), RenderError>,
) -> Result<Vec<u8>, RenderError> {
    let columns = columns.clamp(1, items.len().max(1));
    let rows = items.len().div_ceil(columns).max(1);
    let whole = FigureOptions {
        width: options.width * columns as u32,
        height: options.height * rows as u32,
        ..options.clone()
    };
    png_of(&whole, |area| {
        area.fill(&WHITE).map_err(failed)?;
        for (item, sub) in items.iter().zip(area.split_evenly((rows, columns))) {
            draw(item, &sub)?;
        }
        Ok(())
    })
}

/// A table of numbers as a heat map: `values[r * cols + c]` in row `r`, column `c` (`None`:
/// blank), darker for larger values, on a logarithmic colour scale when every value is positive;
/// each cell also prints its number.
pub fn heatmap_png(
    rows: (&str, &[String]),
    columns: (&str, &[String]),
    values: &[Option<f64>],
    options: &FigureOptions,
) -> Result<Vec<u8>, RenderError> {
    let (row_name, row_labels) = rows;
    let (column_name, column_labels) = columns;
    let (nr, nc) = (row_labels.len().max(1), column_labels.len().max(1));
    let present: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let low = present.iter().copied().fold(f64::INFINITY, f64::min);
    let high = present.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log = low > 0.0;
    let position = |v: f64| {
        let (v, a, b) = if log {
            (v.ln(), low.ln(), high.ln())
        } else {
            (v, low, high)
        };
        if b > a { (v - a) / (b - a) } else { 0.5 }
    };
    png_of(options, |area| {
        area.fill(&WHITE).map_err(failed)?;
        let mut chart = ChartBuilder::on(area)
            .caption(&options.title, (FONT, 24))
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(110)
            .build_cartesian_2d(0.0..nc as f64, 0.0..nr as f64)
            .map_err(failed)?;
        let label = |labels: &[String], x: f64| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 1e-9 {
                labels.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(2 * nc + 1)
            .y_labels(2 * nr + 1)
            .x_label_formatter(&|x| label(column_labels, *x))
            .y_label_formatter(&|y| label(row_labels, *y))
            .x_desc(column_name)
            .y_desc(row_name)
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .draw()
            .map_err(failed)?;
        draw_cells(
            &mut chart,
            values,
            (row_labels.len(), column_labels.len()),
            &position,
        )
    })
}

/// The cells of a heat map of `rows x columns` values, each with its number, darker for
/// larger (`position` places a value between the smallest, 0, and the largest, 1).
fn draw_cells<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    values: &[Option<f64>],
    (rows, columns): (usize, usize),
    position: &dyn Fn(f64) -> f64,
) -> Result<(), RenderError> {
    for r in 0..rows {
        for c in 0..columns {
            let Some(v) = values.get(r * columns + c).copied().flatten() else {
                continue;
            };
            let t = if v.is_finite() { position(v) } else { 1.0 };
            // Darker for larger: the profile's colours run the other way (dark = low loss).
            let colour = blue(1.0 - t);
            let (x, y) = (c as f64, r as f64);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x, y), (x + 1.0, y + 1.0)],
                    colour.filled(),
                )))
                .map_err(failed)?;
            let ink = if t > 0.5 { WHITE } else { BLACK };
            chart
                .draw_series(std::iter::once(Text::new(
                    short_number(v),
                    (x + 0.4, y + 0.5),
                    (FONT, 16).into_font().color(&ink),
                )))
                .map_err(failed)?;
        }
    }
    Ok(())
}

/// One panel of a [`scatter_grid_png`]: points (x, y) with a caption and an x-axis name.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterPanel {
    pub title: String,
    pub x_desc: String,
    /// Points with a non-finite coordinate (or, on a log axis, one <= 0) are left out.
    pub points: Vec<(f64, f64)>,
}

/// Scatter plots side by side, `columns` per row, each `options.width x options.height`, all
/// with the y axis `y_desc` (logarithmic with `options.log_scale`). A panel's x axis is
/// logarithmic when its x values are all positive and span more than three decades.
pub fn scatter_grid_png(
    panels: &[ScatterPanel],
    columns: usize,
    y_desc: &str,
    options: &FigureOptions,
) -> Result<Vec<u8>, RenderError> {
    panels_png(panels, columns, options, |panel, sub| {
        draw_scatter(sub, panel, y_desc, options.log_scale)
    })
}

fn draw_scatter<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &ScatterPanel,
    y_desc: &str,
    log_y: bool,
) -> Result<(), RenderError> {
    let finite: Vec<(f64, f64)> = panel
        .points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite() && (!log_y || *y > 0.0))
        .collect();
    let (x_low, x_high) = value_range(finite.iter().map(|p| p.0));
    let log_x = x_low > 0.0 && x_high / x_low > 1e3;
    let scale = |v: f64, log: bool| if log { v.log10() } else { v };
    let points: Vec<(f64, f64)> = finite
        .iter()
        .filter(|(x, _)| !log_x || *x > 0.0)
        .map(|&(x, y)| (scale(x, log_x), scale(y, log_y)))
        .collect();
    let widen = |(low, high): (f64, f64)| {
        let pad = if high > low { (high - low) * 0.06 } else { 0.5 };
        (low - pad, high + pad)
    };
    let (x0, x1) = widen(value_range(points.iter().map(|p| p.0)));
    let (y0, y1) = widen(value_range(points.iter().map(|p| p.1)));
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 20))
        .margin(14)
        .x_label_area_size(46)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(failed)?;
    // Powers of ten label a log axis over decades; within one decade they would all read
    // the same, so the values are written out.
    let label = |v: f64, log: bool, span: f64| {
        if log && span >= 1.0 {
            format!("{:.0e}", 10f64.powf(v))
        } else if log {
            short_number(10f64.powf(v))
        } else {
            short_number(v)
        }
    };
    let x_desc = if log_x {
        format!("{} (log scale)", panel.x_desc)
    } else {
        panel.x_desc.clone()
    };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(5)
        .x_label_formatter(&|x| label(*x, log_x, x1 - x0))
        .y_label_formatter(&|y| label(*y, log_y, y1 - y0))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(failed)?;
    chart
        .draw_series(
            points
                .iter()
                .map(|&p| Circle::new(p, 5, LINE_COLOURS[0].mix(0.75).filled())),
        )
        .map_err(failed)?;
    Ok(())
}

/// The profile as a PNG file's bytes.
pub fn profile_png(profile: &Profile, options: &FigureOptions) -> Result<Vec<u8>, RenderError> {
    png_of(options, |area| draw_profile(area, profile, options))
}

/// The profile as an SVG document.
pub fn profile_svg(profile: &Profile, options: &FigureOptions) -> Result<String, RenderError> {
    svg_of(options, |area| draw_profile(area, profile, options))
}

/// The persistence diagram (birth against death) beside the barcode of the most persistent
/// pairs, as a PNG file's bytes.
pub fn persistence_png(diagram: &Diagram, options: &FigureOptions) -> Result<Vec<u8>, RenderError> {
    png_of(options, |area| draw_persistence(area, diagram, options))
}

/// The persistence diagram and barcode as an SVG document.
pub fn persistence_svg(diagram: &Diagram, options: &FigureOptions) -> Result<String, RenderError> {
    svg_of(options, |area| draw_persistence(area, diagram, options))
}

/// The merge tree drawn with its nodes at their loss values (the drawn basins of `profile`,
/// laid out as in the profile), as a PNG file's bytes.
pub fn merge_tree_png(profile: &Profile, options: &FigureOptions) -> Result<Vec<u8>, RenderError> {
    png_of(options, |area| draw_merge_tree(area, profile, options))
}

/// The merge tree drawing as an SVG document.
pub fn merge_tree_svg(profile: &Profile, options: &FigureOptions) -> Result<String, RenderError> {
    svg_of(options, |area| draw_merge_tree(area, profile, options))
}

/// One line of a [`curve_png`] chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    /// (x, y) points in drawing order; non-finite y values break the line.
    pub points: Vec<(f64, f64)>,
}

/// A line chart (a training curve) as a PNG file's bytes. With `options.log_scale` the y axis
/// is logarithmic and points with y <= 0 are left out.
pub fn curve_png(
    series: &[Series],
    x_desc: &str,
    y_desc: &str,
    options: &FigureOptions,
) -> Result<Vec<u8>, RenderError> {
    png_of(options, |area| {
        draw_curves(area, series, x_desc, y_desc, options)
    })
}

const LINE_COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// The extent of curves: their visible points' x and (scaled) y ranges, each widened to some
/// extent when it has one value or none.
fn curve_ranges(
    points: impl Iterator<Item = (f64, f64)>,
    scale: impl Fn(f64) -> f64,
) -> ((f64, f64), (f64, f64)) {
    let (x0, x1, y0, y1) = points.fold(
        (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ),
        |(a, b, c, d), (x, y)| (a.min(x), b.max(x), c.min(scale(y)), d.max(scale(y))),
    );
    let widen = |low: f64, high: f64| {
        if low < high {
            (low, high)
        } else if low.is_finite() {
            (low - 0.5, low + 0.5)
        } else {
            (0.0, 1.0)
        }
    };
    (widen(x0, x1), widen(y0, y1))
}

fn draw_curves<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    series: &[Series],
    x_desc: &str,
    y_desc: &str,
    options: &FigureOptions,
) -> Result<(), RenderError> {
    area.fill(&WHITE).map_err(failed)?;
    let log = options.log_scale;
    let scale = |y: f64| if log { y.log10() } else { y };
    let visible = |y: f64| y.is_finite() && (!log || y > 0.0);
    let points = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|&(x, y)| x.is_finite() && visible(y));
    let ((x0, x1), (y0, y1)) = curve_ranges(points, scale);
    let pad = (y1 - y0) * 0.05;
    let mut chart = ChartBuilder::on(area)
        .caption(&options.title, (FONT, 26))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
        .map_err(failed)?;
    let y_label = |v: &f64| {
        if log {
            format!("{:.0e}", 10f64.powf(*v))
        } else {
            short_number(*v)
        }
    };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|x| {
            if x.fract() == 0.0 && x.abs() < 1e9 {
                format!("{x:.0}")
            } else {
                short_number(*x)
            }
        })
        .y_label_formatter(&y_label)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(failed)?;
    for (i, s) in series.iter().enumerate() {
        let colour = LINE_COLOURS[i % LINE_COLOURS.len()];
        draw_curve(&mut chart, s, colour, &visible, &scale)?;
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 16)
}

/// One curve, split at its invisible points (a run of one point is a dot), named in the
/// legend once.
fn draw_curve<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    s: &Series,
    colour: RGBColor,
    visible: &dyn Fn(f64) -> bool,
    scale: &dyn Fn(f64) -> f64,
) -> Result<(), RenderError> {
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for &(x, y) in &s.points {
        if visible(y) && x.is_finite() {
            runs.last_mut().expect("one run").push((x, scale(y)));
        } else if !runs.last().expect("one run").is_empty() {
            runs.push(Vec::new());
        }
    }
    let mut first = true;
    for run in runs.into_iter().filter(|r| !r.is_empty()) {
        let drawn = if run.len() == 1 {
            chart
                .draw_series(run.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                .map_err(failed)?
        } else {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    run,
                    colour.stroke_width(2),
                )))
                .map_err(failed)?
        };
        if first {
            drawn.label(s.name.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
            first = false;
        }
    }
    Ok(())
}

/// The smallest and largest of `values`, or (0, 1) when there are none (or the smallest is not
/// finite), so a chart always has a range.
fn value_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    if low.is_finite() {
        (low, high)
    } else {
        (0.0, 1.0)
    }
}

fn png_of(
    options: &FigureOptions,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), RenderError>,
) -> Result<Vec<u8>, RenderError> {
    register_font()?;
    let (w, h) = (options.width, options.height);
    let mut pixels = vec![255u8; w as usize * h as usize * 3];
    {
        let area = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        draw(&area)?;
        area.present().map_err(failed)?;
    }
    encode_png(&pixels, w, h)
}

fn svg_of(
    options: &FigureOptions,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), RenderError>,
) -> Result<String, RenderError> {
    register_font()?;
    let mut svg = String::new();
    {
        let area =
            SVGBackend::with_string(&mut svg, (options.width, options.height)).into_drawing_area();
        draw(&area)?;
        area.present().map_err(failed)?;
    }
    Ok(svg)
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, RenderError> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(failed)?;
    writer.write_image_data(rgb).map_err(failed)?;
    writer.finish().map_err(failed)?;
    Ok(bytes)
}

/// A loss axis: linear, or logarithmic (base 10) for positive losses.
#[derive(Clone, Copy)]
struct LossScale {
    log: bool,
    /// The plotted levels of the smallest and largest loss.
    bottom: f64,
    top: f64,
}

impl LossScale {
    fn new((low, high): (f64, f64), log: bool) -> Result<Self, RenderError> {
        if log && low <= 0.0 {
            return Err(RenderError(format!(
                "a logarithmic loss scale needs positive losses; the smallest is {low}"
            )));
        }
        let level = |y: f64| if log { y.log10() } else { y };
        Ok(LossScale {
            log,
            bottom: level(low),
            top: level(high),
        })
    }

    /// The plotted level of a loss: the loss, or its base-10 logarithm.
    fn level(&self, y: f64) -> f64 {
        if self.log { y.log10() } else { y }
    }

    /// The loss a plotted level stands for, as an axis label.
    fn label(&self, y: &f64) -> String {
        short_number(if self.log { 10f64.powf(*y) } else { *y })
    }

    /// A colour for a loss: dark at the bottom of the scale.
    fn colour(&self, loss: f64) -> RGBColor {
        blue((self.level(loss) - self.bottom) / (self.top - self.bottom).max(f64::MIN_POSITIVE))
    }
}

fn draw_profile<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    profile: &Profile,
    options: &FigureOptions,
) -> Result<(), RenderError> {
    let scale = LossScale::new(
        options.loss_range.unwrap_or(profile.value_range),
        options.log_scale,
    )?;
    let (bottom, top) = (scale.bottom, scale.top);
    let pad = if top > bottom {
        (top - bottom) * 0.04
    } else {
        0.5
    };
    area.fill(&WHITE).map_err(failed)?;
    // Wide enough for the colour bar's labels ("1.0e-4", "10000") in small grid cells too.
    let bar_width = (options.width / 9).clamp(112, 160);
    let (main, bar) = area.split_horizontally(options.width - bar_width);
    let n = profile.vertex_count as f64;
    let mut chart = ChartBuilder::on(&main)
        .caption(&options.title, (FONT, 26))
        .margin(16)
        // Room below the axis title for the note on hidden basins.
        .x_label_area_size(if profile.hidden_basins > 0 { 76 } else { 56 })
        .y_label_area_size(86)
        .build_cartesian_2d(0.0..n.max(1.0), (bottom - pad)..(top + pad))
        .map_err(failed)?;
    let label = |y: &f64| scale.label(y);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc(if options.log_scale {
            "loss (log scale)"
        } else {
            "loss"
        })
        .x_desc("basin size (grid points below the level)")
        // Fewer size labels in narrow cells, so four-digit sizes do not run together.
        .x_labels(if options.width < 800 { 4 } else { 10 })
        .y_label_formatter(&label)
        .x_label_formatter(&|x| short_number(*x))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(failed)?;
    draw_basins(&mut chart, profile, &scale)?;
    if profile.hidden_basins > 0 {
        let note = format!("{} small basins not drawn", profile.hidden_basins);
        main.draw(&Text::new(
            note,
            (100, options.height as i32 - 60),
            (FONT, 14),
        ))
        .map_err(failed)?;
    }
    draw_colour_bar(&bar, "mean loss", bottom, top, &label)
}

/// Every basin's polygon, coloured by its mean loss and outlined, then the minima and saddles.
fn draw_basins<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    profile: &Profile,
    scale: &LossScale,
) -> Result<(), RenderError> {
    for basin in &profile.basins {
        let points: Vec<(f64, f64)> = basin
            .polygon
            .iter()
            .map(|p| (p[0], scale.level(p[1])))
            .collect();
        chart
            .draw_series(std::iter::once(Polygon::new(
                points.clone(),
                scale.colour(basin.mean_value).filled(),
            )))
            .map_err(failed)?;
        let mut outline = points;
        if let Some(&first) = outline.first() {
            outline.push(first);
        }
        chart
            .draw_series(std::iter::once(PathElement::new(
                outline,
                OUTLINE.stroke_width(1),
            )))
            .map_err(failed)?;
    }
    let centre = |b: &Basin| ((b.x[0] + b.x[1]) / 2.0, scale.level(b.bottom));
    let minima: Vec<(f64, f64)> = profile
        .basins
        .iter()
        .filter(|b| b.kind == NodeKind::Leaf)
        .map(centre)
        .collect();
    // A saddle is drawn where drawn basins meet: at the bottom of a basin that is not a leaf.
    let saddles: Vec<(f64, f64)> = profile
        .basins
        .iter()
        .filter(|b| b.kind != NodeKind::Leaf)
        .map(centre)
        .collect();
    draw_critical_points(chart, &minima, &saddles)
}

/// The landscape itself: for two dimensions a heat map with contour lines; for more, a panel
/// of 2-D slices through the centre (every pair of axes, the others at their middle index); for
/// one, the curve. As a PNG file's bytes.
pub fn landscape_png<V: FieldValue>(
    values: &[V],
    shape: &[usize],
    options: &FigureOptions,
) -> Result<Vec<u8>, RenderError> {
    png_of(options, |area| draw_landscape(area, values, shape, options))
}

/// The landscape figure as an SVG document.
pub fn landscape_svg<V: FieldValue>(
    values: &[V],
    shape: &[usize],
    options: &FigureOptions,
) -> Result<String, RenderError> {
    svg_of(options, |area| draw_landscape(area, values, shape, options))
}

/// The most cells a heat map draws along one side; larger slices are sampled.
const MAX_CELLS: usize = 160;
/// How many contour levels a heat map draws.
const CONTOURS: usize = 10;
const NOT_FINITE: RGBColor = RGBColor(190, 190, 190);

/// A 2-D slice of a field: `rows x columns` values, row-major.
struct Slice {
    rows: usize,
    columns: usize,
    values: Vec<f64>,
    axes: (usize, usize),
}

fn slice<V: FieldValue>(values: &[V], shape: &[usize], a: usize, b: usize) -> Slice {
    let mut strides = vec![1usize; shape.len()];
    for axis in (0..shape.len().saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1] * shape[axis + 1];
    }
    let base: usize = (0..shape.len())
        .filter(|&k| k != a && k != b)
        .map(|k| shape[k] / 2 * strides[k])
        .sum();
    let pick = |n: usize| -> Vec<usize> {
        let cells = n.min(MAX_CELLS);
        (0..cells)
            .map(|i| i * (n - 1) / (cells - 1).max(1))
            .collect()
    };
    let (rows, columns) = (pick(shape[a]), pick(shape[b]));
    let (stride_a, stride_b) = (strides[a], strides[b]);
    let values = rows
        .iter()
        .flat_map(|&i| {
            columns
                .iter()
                .map(move |&j| base + i * stride_a + j * stride_b)
        })
        .map(|v| values[v].to_f64())
        .collect();
    Slice {
        rows: rows.len(),
        columns: columns.len(),
        values,
        axes: (a, b),
    }
}

fn draw_landscape<DB: DrawingBackend, V: FieldValue>(
    area: &DrawingArea<DB, Shift>,
    values: &[V],
    shape: &[usize],
    options: &FigureOptions,
) -> Result<(), RenderError> {
    area.fill(&WHITE).map_err(failed)?;
    let (low, high) = value_range(values.iter().map(|v| v.to_f64()).filter(|v| v.is_finite()));
    let scale = LossScale::new((low, high), options.log_scale)?;
    let colour = |v: f64| {
        if v.is_finite() {
            scale.colour(v)
        } else {
            NOT_FINITE
        }
    };
    let titled = area.titled(&options.title, (FONT, 26)).map_err(failed)?;
    let bar_width = (options.width / 10).clamp(90, 150);
    let (main, bar) = titled.split_horizontally(options.width - bar_width);
    if shape.len() == 1 {
        draw_line(&main, values, (low, high))?;
    } else {
        let pairs: Vec<(usize, usize)> = (0..shape.len())
            .flat_map(|a| (a + 1..shape.len()).map(move |b| (a, b)))
            .collect();
        let columns = (pairs.len() as f64).sqrt().ceil() as usize;
        let rows = pairs.len().div_ceil(columns);
        let panels = main.split_evenly((rows, columns));
        for (panel, &(a, b)) in panels.iter().zip(&pairs) {
            draw_slice(
                panel,
                &slice(values, shape, a, b),
                shape.len() > 2,
                &colour,
                low,
                high,
            )?;
        }
    }
    draw_colour_bar(&bar, "loss", scale.bottom, scale.top, &|y| scale.label(y))
}

/// A 1-D landscape: the loss along the one direction.
fn draw_line<DB: DrawingBackend, V: FieldValue>(
    area: &DrawingArea<DB, Shift>,
    values: &[V],
    (low, high): (f64, f64),
) -> Result<(), RenderError> {
    let points: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64, v.to_f64()))
        .filter(|p| p.1.is_finite())
        .collect();
    let pad = if high > low { (high - low) * 0.04 } else { 0.5 };
    let mut chart = ChartBuilder::on(area)
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(
            0.0..(values.len().max(2) - 1) as f64,
            (low - pad)..(high + pad),
        )
        .map_err(failed)?;
    chart
        .configure_mesh()
        .x_desc("grid index along direction 1")
        .y_desc("loss")
        .y_label_formatter(&|y| short_number(*y))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()
        .map_err(failed)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            points,
            OUTLINE.stroke_width(2),
        )))
        .map_err(failed)?;
    Ok(())
}

fn draw_slice<DB: DrawingBackend>(
    panel: &DrawingArea<DB, Shift>,
    slice: &Slice,
    through_centre: bool,
    colour: &dyn Fn(f64) -> RGBColor,
    low: f64,
    high: f64,
) -> Result<(), RenderError> {
    let (a, b) = slice.axes;
    let caption = if through_centre {
        format!("directions {} and {} (others at the centre)", a + 1, b + 1)
    } else {
        "heat map with contours".to_string()
    };
    let (w, h) = (slice.columns as f64, slice.rows as f64);
    let mut chart = ChartBuilder::on(panel)
        .caption(caption, (FONT, 14))
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(40)
        .build_cartesian_2d(0.0..w, 0.0..h)
        .map_err(failed)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(format!("direction {}", b + 1))
        .y_desc(format!("direction {}", a + 1))
        .x_labels(3)
        .y_labels(3)
        .label_style((FONT, 11))
        .axis_desc_style((FONT, 12))
        .draw()
        .map_err(failed)?;
    let at = |i: usize, j: usize| slice.values[i * slice.columns + j];
    chart
        .draw_series((0..slice.rows).flat_map(|i| {
            (0..slice.columns).map(move |j| {
                let (x, y) = (j as f64, i as f64);
                Rectangle::new([(x, y), (x + 1.0, y + 1.0)], colour(at(i, j)).filled())
            })
        }))
        .map_err(failed)?;
    // Contour lines by marching squares through the cell centres.
    let mut segments: Vec<[(f64, f64); 2]> = Vec::new();
    for k in 1..=CONTOURS {
        let c = low + (high - low) * k as f64 / (CONTOURS + 1) as f64;
        for i in 0..slice.rows.saturating_sub(1) {
            for j in 0..slice.columns.saturating_sub(1) {
                let corners = [at(i, j), at(i, j + 1), at(i + 1, j + 1), at(i + 1, j)];
                if corners.iter().all(|v| v.is_finite()) {
                    segments.extend(contour_cell(corners, c, i, j));
                }
            }
        }
    }
    chart
        .draw_series(
            segments
                .into_iter()
                .map(|s| PathElement::new(s.to_vec(), WHITE.mix(0.75).stroke_width(1))),
        )
        .map_err(failed)?;
    Ok(())
}

/// The contour segments of level `c` in the cell whose corners (lower left, lower right, upper
/// right, upper left) are at cell centres `(j + 0.5, i + 0.5)` onwards.
fn contour_cell(corners: [f64; 4], c: f64, i: usize, j: usize) -> Vec<[(f64, f64); 2]> {
    let position = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)];
    let above: Vec<bool> = corners.iter().map(|&v| v > c).collect();
    // Where the level crosses edge k (from corner k to corner k + 1).
    let crossing = |k: usize| {
        let (p, q) = (k, (k + 1) % 4);
        let t = (c - corners[p]) / (corners[q] - corners[p]);
        let (x0, y0) = position[p];
        let (x1, y1) = position[q];
        (
            j as f64 + 0.5 + x0 + t * (x1 - x0),
            i as f64 + 0.5 + y0 + t * (y1 - y0),
        )
    };
    let crossed: Vec<usize> = (0..4).filter(|&k| above[k] != above[(k + 1) % 4]).collect();
    match crossed.len() {
        2 => vec![[crossing(crossed[0]), crossing(crossed[1])]],
        4 => {
            // A saddle cell: pair the crossings by the value at the centre.
            let centre_above = corners.iter().sum::<f64>() / 4.0 > c;
            if centre_above == above[0] {
                vec![[crossing(0), crossing(1)], [crossing(2), crossing(3)]]
            } else {
                vec![[crossing(3), crossing(0)], [crossing(1), crossing(2)]]
            }
        }
        _ => Vec::new(),
    }
}

/// How many of the most persistent pairs the barcode shows.
const BARCODE_BARS: usize = 60;

/// The loss axis both panels of the persistence figure share: every birth and finite death,
/// padded, with a line above for the essential classes ("never dies").
struct Levels {
    high: f64,
    pad: f64,
    never: f64,
    /// The axis' ends.
    a: f64,
    b: f64,
}

impl Levels {
    fn of(diagram: &Diagram) -> Self {
        let levels = diagram
            .points
            .iter()
            .flat_map(|&(b, d)| [b, d])
            .chain(diagram.essential.iter().copied());
        let (low, high) = value_range(levels);
        let pad = if high > low { (high - low) * 0.06 } else { 0.5 };
        let never = high + 3.0 * pad;
        Levels {
            high,
            pad,
            never,
            a: low - pad,
            b: never + pad,
        }
    }

    /// Axis labels stop at the finite range: above it lies the "never dies" line.
    fn label(&self, v: f64) -> String {
        if v > self.high + self.pad {
            String::new()
        } else {
            short_number(v)
        }
    }
}

fn draw_persistence<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    diagram: &Diagram,
    options: &FigureOptions,
) -> Result<(), RenderError> {
    area.fill(&WHITE).map_err(failed)?;
    let titled = area.titled(&options.title, (FONT, 26)).map_err(failed)?;
    let (left, right) = titled.split_horizontally(options.width / 2);
    let levels = Levels::of(diagram);
    draw_diagram_panel(&left, diagram, &levels)?;
    draw_barcode(&right, diagram, &levels)
}

/// The persistence diagram: births against deaths, the essential classes on their own line.
fn draw_diagram_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    diagram: &Diagram,
    levels: &Levels,
) -> Result<(), RenderError> {
    let Levels {
        a, b, never, pad, ..
    } = *levels;
    let finite_label = |v: &f64| levels.label(*v);
    let mut chart = ChartBuilder::on(area)
        .caption("persistence diagram", (FONT, 18))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(a..b, a..b)
        .map_err(failed)?;
    chart
        .configure_mesh()
        .x_desc("birth (loss at the minimum)")
        .y_desc("death (loss at the merging saddle)")
        .x_label_formatter(&|x| short_number(*x))
        .y_label_formatter(&finite_label)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(failed)?;
    for (line, colour) in [
        (vec![(a, a), (b, b)], BLACK),
        (vec![(a, never), (b, never)], RGBColor(150, 150, 150)),
    ] {
        chart
            .draw_series(std::iter::once(PathElement::new(
                line,
                colour.stroke_width(1),
            )))
            .map_err(failed)?;
    }
    chart
        .draw_series(std::iter::once(Text::new(
            "never dies",
            (a + pad * 0.3, never + pad * 0.35),
            (FONT, 13),
        )))
        .map_err(failed)?;
    chart
        .draw_series(
            diagram
                .points
                .iter()
                .map(|&(b, d)| Circle::new((b, d), 4, MINIMUM.filled())),
        )
        .map_err(failed)?
        .label(format!("pair ({})", diagram.points.len()))
        .legend(|(x, y)| Circle::new((x + 10, y), 4, MINIMUM.filled()));
    chart
        .draw_series(
            diagram
                .essential
                .iter()
                .map(|&b| TriangleMarker::new((b, never), 7, OUTLINE.filled())),
        )
        .map_err(failed)?
        .label(format!("never dies ({})", diagram.essential.len()))
        .legend(|(x, y)| TriangleMarker::new((x + 10, y), 7, OUTLINE.filled()));
    draw_legend(&mut chart, SeriesLabelPosition::LowerRight, 14)
}

/// The barcode: one bar per pair from birth to death, most persistent first.
fn draw_barcode<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    diagram: &Diagram,
    levels: &Levels,
) -> Result<(), RenderError> {
    let Levels { a, b, never, .. } = *levels;
    let finite_label = |v: &f64| levels.label(*v);
    let mut bars: Vec<(f64, f64)> = diagram.essential.iter().map(|&b| (b, never)).collect();
    let mut finite = diagram.points.clone();
    finite.sort_by(|p, q| (q.1 - q.0).abs().total_cmp(&(p.1 - p.0).abs()));
    bars.extend(finite);
    let shown = bars.len().min(BARCODE_BARS);
    let caption = if bars.len() > shown {
        format!(
            "barcode: the {shown} most persistent of {} pairs",
            bars.len()
        )
    } else {
        "barcode".to_string()
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 18))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(40)
        .build_cartesian_2d(a..b, 0.0..(shown.max(1) as f64))
        .map_err(failed)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("loss")
        .x_label_formatter(&finite_label)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(failed)?;
    let bar = |(i, &(birth, death)): (usize, &(f64, f64))| {
        let y = (shown - i) as f64;
        let colour = if death >= never {
            OUTLINE
        } else {
            RGBColor(66, 146, 198)
        };
        Rectangle::new(
            [(birth.min(death), y - 0.8), (birth.max(death), y - 0.2)],
            colour.filled(),
        )
    };
    chart
        .draw_series(bars.iter().take(shown).enumerate().map(bar))
        .map_err(failed)?;
    Ok(())
}

/// A dendrogram's x positions by basin node, and its leaves: the leaves (basins with no drawn
/// basin below) evenly spaced in their profile order, every other basin above the mean position
/// of its children (children have smaller node ids than their parents, so ascending order
/// places them first).
fn dendrogram_positions(profile: &Profile) -> (std::collections::HashMap<u32, f64>, usize) {
    let mut order: Vec<&Basin> = profile.basins.iter().collect();
    order.sort_by_key(|b| b.node);
    let mut children: std::collections::HashMap<u32, Vec<u32>> = std::collections::HashMap::new();
    for b in &order {
        if let Some(p) = b.parent {
            children.entry(p).or_default().push(b.node);
        }
    }
    let mut leaves: Vec<&Basin> = order
        .iter()
        .copied()
        .filter(|b| !children.contains_key(&b.node))
        .collect();
    leaves.sort_by(|a, b| a.x[0].total_cmp(&b.x[0]));
    let mut position: std::collections::HashMap<u32, f64> = leaves
        .iter()
        .enumerate()
        .map(|(i, b)| (b.node, i as f64))
        .collect();
    for b in &order {
        if let Some(kids) = children.get(&b.node) {
            let mean = kids.iter().map(|k| position[k]).sum::<f64>() / kids.len() as f64;
            position.insert(b.node, mean);
        }
    }
    (position, leaves.len())
}

fn draw_merge_tree<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    profile: &Profile,
    options: &FigureOptions,
) -> Result<(), RenderError> {
    area.fill(&WHITE).map_err(failed)?;
    let (low, high) = profile.value_range;
    let pad = if high > low { (high - low) * 0.04 } else { 0.5 };
    let (position, leaves) = dendrogram_positions(profile);
    let width = leaves.max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(&options.title, (FONT, 26))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(86)
        .build_cartesian_2d(-0.5..(width - 0.5), (low - pad)..(high + pad))
        .map_err(failed)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("loss")
        .x_desc("minima, in the order of the profile")
        .y_label_formatter(&|y| short_number(*y))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(failed)?;
    // Each basin is an arc from its bottom node up to the level where it joins its parent,
    // then across to the parent's node.
    chart
        .draw_series(profile.basins.iter().map(|b| {
            let x = position[&b.node];
            let mut path = vec![(x, b.bottom), (x, b.top)];
            if let Some(px) = b.parent.and_then(|p| position.get(&p)) {
                path.push((*px, b.top));
            }
            PathElement::new(path, OUTLINE.stroke_width(2))
        }))
        .map_err(failed)?;
    let centre = |b: &Basin| position[&b.node];
    let nodes = |kind: fn(&Basin) -> bool| -> Vec<(f64, f64)> {
        profile
            .basins
            .iter()
            .filter(|b| kind(b))
            .map(|b| (centre(b), b.bottom))
            .collect()
    };
    let minima = nodes(|b| b.kind == NodeKind::Leaf);
    let saddles = nodes(|b| b.kind != NodeKind::Leaf);
    draw_critical_points(&mut chart, &minima, &saddles)?;
    Ok(())
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The red minima and orange saddles, with their legend in the upper left.
fn draw_critical_points<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    minima: &[(f64, f64)],
    saddles: &[(f64, f64)],
) -> Result<(), RenderError> {
    chart
        .draw_series(minima.iter().map(|&p| Circle::new(p, 5, MINIMUM.filled())))
        .map_err(failed)?
        .label(format!("minimum ({})", minima.len()))
        .legend(|(x, y)| Circle::new((x + 10, y), 5, MINIMUM.filled()));
    chart
        .draw_series(saddles.iter().map(|&p| Circle::new(p, 5, SADDLE.filled())))
        .map_err(failed)?
        .label(format!("saddle ({})", saddles.len()))
        .legend(|(x, y)| Circle::new((x + 10, y), 5, SADDLE.filled()));
    draw_legend(chart, SeriesLabelPosition::UpperLeft, 15)
}

/// The legend of a chart's labelled series, in a light box at `position`.
fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    position: SeriesLabelPosition,
    font_size: u32,
) -> Result<(), RenderError> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, font_size))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(failed)
}

/// A vertical colour bar of the Blues map from `bottom` (dark) to `top` (light), labelled by
/// `label` (the plotted level to text).
fn draw_colour_bar<DB: DrawingBackend>(
    bar: &DrawingArea<DB, Shift>,
    caption: &str,
    bottom: f64,
    top: f64,
    label: &dyn Fn(&f64) -> String,
) -> Result<(), RenderError> {
    let top = top.max(bottom + f64::EPSILON);
    let mut legend = ChartBuilder::on(bar)
        .caption(caption, (FONT, 16))
        .margin_top(50)
        .margin_bottom(66)
        .margin_right(12)
        .y_label_area_size(58)
        .build_cartesian_2d(0.0..1.0, bottom..top)
        .map_err(failed)?;
    legend
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_label_formatter(label)
        .label_style((FONT, 13))
        .draw()
        .map_err(failed)?;
    let steps = 96;
    let span = top - bottom;
    legend
        .draw_series((0..steps).map(|i| {
            let a = bottom + span * i as f64 / steps as f64;
            let b = bottom + span * (i + 1) as f64 / steps as f64;
            Rectangle::new(
                [(0.0, a), (1.0, b)],
                blue((i as f64 + 0.5) / steps as f64).filled(),
            )
        }))
        .map_err(failed)?;
    Ok(())
}

/// A compact number for axis labels.
fn short_number(x: f64) -> String {
    let a = x.abs();
    if x == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{x:.1e}")
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_loss_is_darker() {
        let brightness = |c: RGBColor| c.0 as u32 + c.1 as u32 + c.2 as u32;
        assert!(brightness(blue(0.0)) < brightness(blue(0.5)));
        assert!(brightness(blue(0.5)) < brightness(blue(1.0)));
        assert_eq!(blue(-3.0), blue(0.0));
    }
}
