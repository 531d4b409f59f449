//! The sweep's report.html: the error heat map, the profile grid (each cell a link to its
//! run's report), the scatter plots and rank correlations, the seed distances, and every run.

use std::fmt::Write as _;

use super::SweepSummary;
use super::plan::show;
use crate::report::{Cell, Page, escape, image_tag, number};

/// A link to a run's own report.
fn run_link(name: &str) -> Cell {
    Cell::Html(format!(
        "<a href=\"runs/{0}/report.html\">{0}</a>",
        escape(name)
    ))
}

/// The report of a finished sweep, its sweep file's text at the end.
pub fn sweep_report(s: &SweepSummary, sweep_name: &str, sweep_text: &str) -> String {
    let mut page = Page::new(&format!("toposcape sweep: {sweep_name}"));
    let complete = s.rows.iter().filter(|r| r.complete).count();
    let names: Vec<&str> = s
        .plan
        .layout_keys()
        .iter()
        .map(|&k| s.plan.keys[k].as_str())
        .collect();
    page.note(&format!(
        "{} runs over {} ({} complete). Every run has its own report: follow a profile or a \
         name below; the sweep file at the end has the values every run shares.",
        s.plan.runs.len(),
        names.join(", "),
        complete
    ));
    page.heading("Error");
    page.image_file(&s.out.join("error.png"), "error heat map");
    profiles(&mut page, s);
    correlations(&mut page, s);
    seeds(&mut page, s);
    runs(&mut page, s, &names);
    page.heading("Sweep file");
    page.preformatted(sweep_text);
    page.finish()
}

fn profiles(page: &mut Page, s: &SweepSummary) {
    page.heading("Topological landscape profiles");
    page.note(if s.own_scale {
        "Each profile on its own loss scale (--own-scale): compare shapes, not heights."
    } else {
        "All profiles on one shared loss scale (logarithmic when every loss is positive), so \
         heights and depths compare across cells."
    });
    let Some(img) = image_tag(&s.out.join("profiles.png"), "profiles of every run") else {
        page.note("(profiles.png is not there)");
        return;
    };
    // Links laid over the grid's cells, placed in percentages so they follow the image when it
    // is scaled to the page.
    let (order, columns) = s.plan.grid_layout();
    let count = s.plan.runs.len();
    let columns = columns.clamp(1, count.max(1));
    let rows = count.div_ceil(columns).max(1);
    let mut html = format!("<div class=\"grid\">{img}");
    for (i, run) in order.iter().map(|&k| &s.plan.runs[k]).enumerate() {
        let (row, column) = (i / columns, i % columns);
        let _ = write!(
            html,
            "<a href=\"runs/{0}/report.html\" title=\"{0}\" style=\"left:{1:.4}%;top:{2:.4}%;\
             width:{3:.4}%;height:{4:.4}%\"></a>",
            escape(&run.name),
            100.0 * column as f64 / columns as f64,
            100.0 * row as f64 / rows as f64,
            100.0 / columns as f64,
            100.0 / rows as f64
        );
    }
    html.push_str("</div>");
    page.raw(&html);
}

fn correlations(page: &mut Page, s: &SweepSummary) {
    page.heading("Error against topology");
    page.note(&format!(
        "Spearman's rank correlation of {} with each metric over the complete runs: +1 when \
         the metric orders the runs exactly as the error does.",
        s.measure.label()
    ));
    page.image_file(&s.out.join("scatter.png"), "error against each metric");
    let rows: Vec<Vec<Cell>> = s
        .correlations
        .iter()
        .map(|c| {
            vec![
                c.metric.into(),
                c.rho.map_or("-".into(), |v| format!("{v:+.3}")).into(),
                c.n.to_string().into(),
            ]
        })
        .collect();
    page.table(&["metric", "Spearman's rho", "runs"], &rows);
}

fn seeds(page: &mut Page, s: &SweepSummary) {
    page.heading("Spread across seeds");
    if s.seed_pairs.is_empty() {
        page.note("No pairs of complete runs that differ only in `seed`.");
        return;
    }
    page.note(
        "Distances between the persistence diagrams of runs that differ only in their seed, in \
         loss units (seed_distances.csv).",
    );
    let rows: Vec<Vec<Cell>> = s
        .seed_pairs
        .iter()
        .map(|p| {
            vec![
                p.cell.clone().into(),
                run_link(&p.a),
                run_link(&p.b),
                number(p.bottleneck).into(),
                number(p.wasserstein).into(),
            ]
        })
        .collect();
    page.table(
        &["cell", "run", "run", "bottleneck", "1-Wasserstein"],
        &rows,
    );
}

fn runs(page: &mut Page, s: &SweepSummary, names: &[&str]) {
    page.heading("Runs");
    let mut header: Vec<&str> = vec!["run"];
    header.extend(names.iter().copied());
    header.extend(["final loss", "error / mIoU", "minima", "avg. persistence"]);
    let varying = s.plan.layout_keys();
    let rows: Vec<Vec<Cell>> = s
        .plan
        .runs
        .iter()
        .zip(&s.rows)
        .map(|(run, numbers)| {
            let get = |k: &str| numbers.get(k).map_or("-".to_string(), number);
            let mut row = vec![run_link(&run.name)];
            row.extend(varying.iter().map(|&k| Cell::from(show(&run.values[k].1))));
            for key in [
                "final_loss",
                s.measure.key(),
                "minima",
                "average_persistence",
            ] {
                row.push(get(key).into());
            }
            row
        })
        .collect();
    page.table(&header, &rows);
}
