//! Figures: the PNG decodes to the requested size and is not blank; the SVG parses.
#![cfg(feature = "render")]

use std::collections::HashSet;

use toposcape_topology::render::{
    FigureOptions, ProfileCell, ScatterPanel, Series, curve_png, heatmap_png, landscape_png,
    landscape_svg, merge_tree_png, merge_tree_svg, persistence_png, persistence_svg,
    profile_grid_png, profile_png, profile_svg, scatter_grid_png,
};
use toposcape_topology::{
    Connectivity, Diagram, Grid, ProfileOptions, join_tree, landscape_profile,
};

fn himmelblau_profile() -> toposcape_topology::Profile {
    shifted_himmelblau_profile(0.0)
}

/// Himmelblau's function plus `shift`.
fn shifted_himmelblau_profile(shift: f32) -> toposcape_topology::Profile {
    let points = 101;
    let values: Vec<f32> = (0..points * points)
        .map(|v| {
            let x = -5.0 + (v / points) as f32 * 0.1;
            let y = -5.0 + (v % points) as f32 * 0.1;
            (x * x + y - 11.0).powi(2) + (x + y * y - 7.0).powi(2) + shift
        })
        .collect();
    let grid = Grid::new(&[points, points], Connectivity::Freudenthal).unwrap();
    let tree = join_tree(&values, &grid).unwrap();
    landscape_profile(&tree, &values, ProfileOptions::default()).unwrap()
}

/// All text of an SVG document (which must parse).
fn svg_text(svg: &str) -> String {
    roxmltree::Document::parse(svg)
        .unwrap()
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

/// The RGB pixels of a PNG, after checking its size.
fn decode(bytes: Vec<u8>, width: u32, height: u32) -> Vec<u8> {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (width, height));
    pixels
}

#[test]
fn profile_png_has_the_size_and_content() {
    let profile = himmelblau_profile();
    let options = FigureOptions::default();
    let pixels = decode(profile_png(&profile, &options).unwrap(), 1200, 800);
    let colours: HashSet<&[u8]> = pixels.chunks(3).collect();
    assert!(colours.len() > 50, "only {} colours", colours.len());
    // Some pixels are the minima's red dots, some a dark basin blue.
    let red = pixels
        .chunks(3)
        .filter(|p| p[0] > 200 && p[1] < 60 && p[2] < 60)
        .count();
    let blue = pixels
        .chunks(3)
        .filter(|p| p[2] > 90 && p[0] < 40 && p[1] < 130)
        .count();
    assert!(red > 20, "{red} red pixels");
    assert!(blue > 1000, "{blue} dark blue pixels");
}

#[test]
fn profile_svg_parses() {
    let profile = himmelblau_profile();
    let options = FigureOptions {
        title: "Himmelblau <test> & co".into(),
        ..FigureOptions::default()
    };
    let svg = profile_svg(&profile, &options).unwrap();
    let document = roxmltree::Document::parse(&svg).unwrap();
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("width"), Some("1200"));
    let shapes = document
        .descendants()
        .filter(|n| matches!(n.tag_name().name(), "polygon" | "polyline" | "path"))
        .count();
    assert!(shapes >= profile.basins.len(), "{shapes} shapes");
    let texts: String = document
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    assert!(texts.contains("Himmelblau <test> & co"), "{texts}");
    assert!(texts.contains("minimum (4)"), "{texts}");
}

#[test]
fn log_scale_needs_positive_losses() {
    let profile = himmelblau_profile(); // its minimum is 0
    let options = FigureOptions {
        log_scale: true,
        ..FigureOptions::default()
    };
    assert!(profile_png(&profile, &options).is_err());
}

#[test]
fn persistence_and_merge_tree_figures() {
    let profile = himmelblau_profile();
    let diagram = Diagram {
        points: vec![(0.5, 4.0), (1.0, 2.0), (0.2, 0.4)],
        essential: vec![0.0],
    };
    let options = FigureOptions {
        width: 1400,
        height: 900,
        ..FigureOptions::default()
    };
    for pixels in [
        decode(persistence_png(&diagram, &options).unwrap(), 1400, 900),
        decode(merge_tree_png(&profile, &options).unwrap(), 1400, 900),
    ] {
        let colours: HashSet<&[u8]> = pixels.chunks(3).collect();
        assert!(colours.len() > 20, "only {} colours", colours.len());
        let red = pixels
            .chunks(3)
            .filter(|p| p[0] > 200 && p[1] < 60 && p[2] < 60)
            .count();
        assert!(red > 20, "the red dots of pairs or minima: {red} pixels");
    }
    let svg = persistence_svg(&diagram, &options).unwrap();
    let text = svg_text(&svg);
    assert!(
        text.contains("pair (3)") && text.contains("never dies (1)"),
        "{text}"
    );
    let svg = merge_tree_svg(&profile, &options).unwrap();
    let text = svg_text(&svg);
    assert!(
        text.contains("minimum (4)") && text.contains("saddle (3)"),
        "{text}"
    );
    // An empty diagram still draws.
    assert!(persistence_png(&Diagram::default(), &options).is_ok());
}

#[test]
fn landscape_figures_in_one_to_four_dimensions() {
    let options = FigureOptions::default();
    for shape in [vec![50], vec![30, 40], vec![9, 8, 7], vec![5, 6, 5, 4]] {
        let n: usize = shape.iter().product();
        let values: Vec<f64> = (0..n)
            .map(|i| ((i as f64) * 0.37).sin() + (i % 7) as f64)
            .collect();
        let pixels = decode(landscape_png(&values, &shape, &options).unwrap(), 1200, 800);
        let colours: HashSet<&[u8]> = pixels.chunks(3).collect();
        assert!(
            colours.len() > 20,
            "{shape:?}: only {} colours",
            colours.len()
        );
        let svg = landscape_svg(&values, &shape, &options).unwrap();
        let text = svg_text(&svg);
        // One panel per pair of axes beyond two dimensions.
        let panels = text.matches("others at the centre").count();
        let expected = if shape.len() > 2 {
            shape.len() * (shape.len() - 1) / 2
        } else {
            0
        };
        assert_eq!(panels, expected, "{shape:?}");
    }
    // Non-finite values are drawn grey, not dropped or failed on.
    let mut values = vec![1.0f32; 100];
    values[5] = f32::NAN;
    values[6] = f32::INFINITY;
    assert!(landscape_png(&values, &[10, 10], &options).is_ok());
}

#[test]
fn training_curves_draw_each_series_in_its_colour() {
    // A falling loss (blue) and a sparse second series (red), on a log scale with a value the
    // log scale cannot show (0), which is left out rather than failing.
    let loss = Series {
        name: "loss".into(),
        points: (1..=50).map(|e| (e as f64, 1.0 / e as f64)).collect(),
    };
    let error = Series {
        name: "error".into(),
        points: vec![(10.0, 0.5), (20.0, 0.0), (30.0, 0.2), (40.0, 0.1)],
    };
    let options = FigureOptions {
        width: 600,
        height: 400,
        title: "curve".into(),
        log_scale: true,
        ..FigureOptions::default()
    };
    let pixels = decode(
        curve_png(&[loss, error], "epoch", "value", &options).unwrap(),
        600,
        400,
    );
    let count = |f: &dyn Fn(&[u8]) -> bool| pixels.chunks(3).filter(|p| f(p)).count();
    let blue = count(&|p| p[0] < 60 && p[1] > 100 && p[1] < 140 && p[2] > 160);
    let red = count(&|p| p[0] > 200 && p[1] < 60 && p[2] < 60);
    assert!(blue > 300, "{blue} blue pixels");
    assert!(red > 100, "{red} red pixels");
    // No points at all still draws an empty chart.
    assert!(curve_png(&[], "x", "y", &options).is_ok());
}

#[test]
fn a_profile_grid_on_a_shared_scale() {
    let low = himmelblau_profile();
    let high = shifted_himmelblau_profile(2000.0);
    let (w, h) = (500, 400);
    let range = (low.value_range.0, high.value_range.1);
    let options = FigureOptions {
        width: w,
        height: h,
        loss_range: Some(range),
        ..FigureOptions::default()
    };
    let cells = [
        ProfileCell {
            title: "low".into(),
            profile: Some(&low),
        },
        ProfileCell {
            title: "high".into(),
            profile: Some(&high),
        },
        ProfileCell {
            title: "gone".into(),
            profile: None,
        },
    ];
    let pixels = decode(profile_grid_png(&cells, 2, &options).unwrap(), 2 * w, 2 * h);
    // Filled basin pixels (any blue) in the plot's lower and upper halves of a cell.
    let blue_in = |column: u32, row: u32, upper: bool| {
        let (y0, y1) = if upper {
            (row * h + 40, row * h + h / 2)
        } else {
            (row * h + h / 2, row * h + h - 60)
        };
        (y0..y1)
            .flat_map(|y| (column * w + 100..column * w + w - 100).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let i = ((y * 2 * w + x) * 3) as usize;
                let p = &pixels[i..i + 3];
                // Blue-dominant: the Blues of the basins, not the grey grid or the markers.
                u16::from(p[2]) > u16::from(p[0]) + 40 && p[2] > p[1]
            })
            .count()
    };
    // On the shared scale the low landscape sits at the bottom of its cell, the shifted one at
    // the top of its own.
    assert!(
        blue_in(0, 0, false) > 10 * blue_in(0, 0, true).max(1),
        "low cell"
    );
    assert!(
        blue_in(1, 0, true) > 10 * blue_in(1, 0, false).max(1),
        "high cell"
    );
    // The third cell is drawn as missing: no basins.
    assert_eq!(blue_in(0, 1, true) + blue_in(0, 1, false), 0);
}

#[test]
fn a_heat_map_is_darker_for_larger_values() {
    let (w, h) = (600, 500);
    let options = FigureOptions {
        width: w,
        height: h,
        title: "error".into(),
        ..FigureOptions::default()
    };
    let rows = ["1".to_string(), "30".to_string()];
    let columns = ["0".to_string(), "1".to_string()];
    let values = [Some(0.01), Some(0.02), Some(1.0), None];
    let pixels = decode(
        heatmap_png(("beta", &rows), ("seed", &columns), &values, &options).unwrap(),
        w,
        h,
    );
    // The plot spans roughly x 130..580, y 60..420; row 0 is at the bottom.
    let at = |x: u32, y: u32| {
        let i = ((y * w + x) * 3) as usize;
        u32::from(pixels[i]) + u32::from(pixels[i + 1]) + u32::from(pixels[i + 2])
    };
    let (left, right, bottom, top) = (200, 500, 350, 130);
    assert!(at(left, top) < at(left, bottom), "1.0 darker than 0.01");
    assert!(
        at(right, bottom) < at(left, bottom),
        "0.02 darker than 0.01"
    );
    assert_eq!(at(right, top), 3 * 255, "no value: blank");
}

#[test]
fn scatter_panels_place_their_points() {
    let (w, h) = (500, 400);
    let options = FigureOptions {
        width: w,
        height: h,
        ..FigureOptions::default()
    };
    let panels = [
        // Two points, lower left and upper right of the plot.
        ScatterPanel {
            title: "linear".into(),
            x_desc: "x".into(),
            points: vec![(1.0, 1.0), (10.0, 10.0), (f64::NAN, 3.0)],
        },
        // Five decades: x is drawn on a log scale, so 1 sits in the middle, not at the left.
        ScatterPanel {
            title: "log x".into(),
            x_desc: "x".into(),
            points: vec![(1e-2, 5.0), (1.0, 5.0), (1e2, 5.0)],
        },
    ];
    let pixels = decode(
        scatter_grid_png(&panels, 2, "error", &options).unwrap(),
        2 * w,
        h,
    );
    // Marker pixels (the blue of the points, not the grey grid) in a box of the figure.
    let markers = |x0: u32, x1: u32, y0: u32, y1: u32| {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let i = ((y * 2 * w + x) * 3) as usize;
                let p = &pixels[i..i + 3];
                u16::from(p[2]) > u16::from(p[0]) + 80
            })
            .count()
    };
    // Panel 1's plot spans about x 85..485, y 45..340.
    assert!(markers(85, 200, 230, 345) > 30, "lower left point");
    assert!(markers(370, 490, 40, 150) > 30, "upper right point");
    assert_eq!(markers(85, 200, 40, 150), 0, "nothing upper left");
    // Panel 2: a point in the middle third.
    assert!(
        markers(w + 230, w + 340, 40, 345) > 30,
        "log-scale middle point"
    );
}
