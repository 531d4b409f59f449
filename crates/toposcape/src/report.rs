//! `report.html` of a run directory and of a sweep directory: one self-contained page (images
//! inline as data URIs, no scripts or styles from the network) that opens in any browser.
//!
//! The page carries one small script: once the page has loaded it records how many of its
//! images decoded (`<body data-images="decoded/total">`) and puts a visible note under any that
//! did not, so neither a reader nor the browser test is left with a silently blank figure.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use base64::Engine as _;
use serde_json::Value;

use crate::output::read_json;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1280px;margin:2em auto;\
padding:0 1em;color:#1b1b1b}h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;\
text-align:right}th{background:#f3f6fa}td:first-child,th:first-child{text-align:left}\
img{max-width:100%;height:auto;border:1px solid #eee}pre{background:#f7f7f7;padding:.8em;\
overflow:auto}.missing{color:#b00}.grid{position:relative;display:inline-block}\
.grid a{position:absolute;display:block}.grid a:hover{outline:3px solid #d62728}\
.note{color:#555}";

const SCRIPT: &str = "window.addEventListener('load',function(){var all=[].slice.call(\
document.images),ok=all.filter(function(i){return i.complete&&i.naturalWidth>0});\
document.body.setAttribute('data-images',ok.length+'/'+all.length);all.forEach(function(i){\
if(ok.indexOf(i)<0){var p=document.createElement('p');p.className='missing';\
p.textContent='This figure did not load: '+i.alt;i.parentNode.insertBefore(p,i.nextSibling);}});});";

/// Text made safe for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page under construction.
pub struct Page {
    body: String,
    title: String,
}

impl Page {
    /// An empty page titled `title`.
    pub fn new(title: &str) -> Self {
        let mut page = Self {
            body: String::new(),
            title: title.to_string(),
        };
        let _ = writeln!(page.body, "<h1>{}</h1>", escape(title));
        page
    }

    /// A section heading.
    pub fn heading(&mut self, text: &str) {
        let _ = writeln!(self.body, "<h2>{}</h2>", escape(text));
    }

    /// A paragraph of plain text.
    pub fn note(&mut self, text: &str) {
        let _ = writeln!(self.body, "<p class=\"note\">{}</p>", escape(text));
    }

    /// Text as it is, in a box.
    pub fn preformatted(&mut self, text: &str) {
        let _ = writeln!(self.body, "<pre>{}</pre>", escape(text));
    }

    /// Markup the caller built (escaped by the caller).
    pub fn raw(&mut self, html: &str) {
        self.body.push_str(html);
        self.body.push('\n');
    }

    /// A PNG file inline, or a note that it is missing.
    pub fn image_file(&mut self, path: &Path, alt: &str) {
        match image_tag(path, alt) {
            Some(tag) => self.raw(&format!("<p>{tag}</p>")),
            None => {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                self.note(&format!("({name} is not there: {alt} was not drawn)"));
            }
        }
    }

    /// A table of text cells; cells are escaped unless they are given as [`Cell::Html`].
    pub fn table(&mut self, header: &[&str], rows: &[Vec<Cell>]) {
        let mut html = String::from("<table><tr>");
        for h in header {
            let _ = write!(html, "<th>{}</th>", escape(h));
        }
        html.push_str("</tr>\n");
        for row in rows {
            html.push_str("<tr>");
            for cell in row {
                let _ = match cell {
                    Cell::Text(t) => write!(html, "<td>{}</td>", escape(t)),
                    Cell::Html(h) => write!(html, "<td>{h}</td>"),
                };
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</table>");
        self.raw(&html);
    }

    /// The page's HTML.
    pub fn finish(self) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <title>{}</title><style>{STYLE}</style></head>\n<body>\n{}<script>{SCRIPT}</script>\n\
             </body></html>\n",
            escape(&self.title),
            self.body
        )
    }
}

/// One table cell.
pub enum Cell {
    /// Text, escaped.
    Text(String),
    /// HTML as it is.
    Html(String),
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell::Text(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::Text(text.to_string())
    }
}

/// An `<img>` with the PNG file's bytes as a data URI, or `None` when it cannot be read.
pub fn image_tag(path: &Path, alt: &str) -> Option<String> {
    let bytes = fs::read(path).ok()?;
    Some(format!(
        "<img alt=\"{}\" src=\"data:image/png;base64,{}\">",
        escape(alt),
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// A JSON number or string as table text ("-" for null).
pub fn json_text(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if n.is_f64() => number(x),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// A number with four significant digits.
pub fn number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let a = x.abs();
    if (1e-3..1e5).contains(&a) {
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.3e}")
    }
}

/// The report of one run directory, from the files `toposcape run` (train + analyze) wrote.
pub fn run_report(dir: &Path) -> String {
    let name = dir
        .file_name()
        .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into());
    let mut page = Page::new(&format!("toposcape run: {name}"));
    summary_section(&mut page, dir);
    profile_sections(&mut page, dir);
    page.heading("Metrics");
    let metrics = read_json(&dir.join("metrics.json"));
    if let Some(object) = metrics["metrics"].as_object() {
        let rows: Vec<Vec<Cell>> = object
            .iter()
            .map(|(k, v)| vec![k.as_str().into(), json_text(v).into()])
            .collect();
        page.table(&["metric", "value"], &rows);
    } else {
        page.note("No metrics.json: the landscape has not been analysed.");
    }
    for (heading, file, alt) in [
        ("Merge tree", "merge_tree.png", "merge tree"),
        (
            "Persistence diagram",
            "persistence.png",
            "persistence diagram",
        ),
        ("Landscape slices", "landscape.png", "landscape slices"),
    ] {
        page.heading(heading);
        page.image_file(&dir.join(file), alt);
    }
    hessian_section(&mut page, dir);
    page.heading("Training");
    page.image_file(&dir.join("train_curve.png"), "training curve");
    page.heading("Config");
    match fs::read_to_string(dir.join("config.toml")) {
        Ok(text) => page.preformatted(&text),
        Err(_) => page.note("No config.toml."),
    }
    page.note(
        "The numbers behind every figure are in this folder: landscape.npy, axes.json, \
         directions.npy, hessian.json, spectral_density.npy, tree.json, metrics.json, \
         train_curve.csv.",
    );
    page.finish()
}

/// The training's numbers and the landscape's plan.
fn summary_section(page: &mut Page, dir: &Path) {
    let train = read_json(&dir.join("train_metrics.json"));
    let axes = read_json(&dir.join("axes.json"));
    page.heading("Summary");
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for (label, key) in [
        ("task", "task"),
        ("parameters", "parameters"),
        ("epochs", "epochs"),
        ("training backend", "backend"),
        ("training time (s)", "seconds"),
        ("final training loss", "final_loss"),
        ("relative L2 error", "relative_l2_error"),
        ("pixel accuracy", "pixel_accuracy"),
        ("mean IoU", "mean_iou"),
    ] {
        if !train[key].is_null() {
            rows.push(vec![label.into(), json_text(&train[key]).into()]);
        }
    }
    if !axes.is_null() {
        let shape: Vec<String> = axes["shape"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v.to_string())
            .collect();
        rows.push(vec![
            "landscape".into(),
            format!(
                "{} plan {}, {} directions, half-width {}{}",
                json_text(&axes["plan"]),
                shape.join(" x "),
                json_text(&axes["directions"]),
                json_text(&axes["half_widths"][0]),
                if axes["relative"] == true {
                    format!(" ({} x ||theta0||)", json_text(&axes["range"]))
                } else {
                    String::new()
                }
            )
            .into(),
        ]);
    }
    if train["diverged"] == true {
        page.note(
            "This training diverged: its loss or weights are not finite, so it has no \
             landscape. A smaller training.learning_rate may train.",
        );
    }
    if rows.is_empty() {
        page.note("This run has not finished training: no train_metrics.json.");
    } else {
        page.table(&["", "value"], &rows);
    }
}

/// The profile, and the profiles over training when the checkpoints have landscapes.
fn profile_sections(page: &mut Page, dir: &Path) {
    page.heading("Topological landscape profile");
    page.note(
        "Each basin of the loss is a band: its width is the number of grid points in the basin, \
         its height runs from its minimum to the saddle where it merges, and nested bands are \
         basins inside basins. Darker is lower loss.",
    );
    page.image_file(&dir.join("profile.png"), "topological landscape profile");
    if dir.join("profiles_over_epochs.png").is_file() {
        page.heading("Profiles over training");
        page.note(
            "The landscape sampled around the weights saved at each checkpoint epoch, each with \
             its own directions, on one shared loss scale.",
        );
        page.image_file(
            &dir.join("profiles_over_epochs.png"),
            "profiles over training epochs",
        );
    }
}

/// The Hessian's eigenpairs, how they were found, its trace and its density.
fn hessian_section(page: &mut Page, dir: &Path) {
    let hessian = read_json(&dir.join("hessian.json"));
    page.heading("Hessian");
    if hessian["computed"] == true {
        let values = hessian["eigenvalues"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let rows: Vec<Vec<Cell>> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                vec![
                    (i + 1).to_string().into(),
                    json_text(v).into(),
                    json_text(&hessian["relative_residuals"][i]).into(),
                ]
            })
            .collect();
        page.table(&["", "eigenvalue", "relative residual"], &rows);
        page.note(&format!(
            "{} Hessian-vector products in all ({}{}), {} Lanczos steps, {}converged to a \
             relative residual of {}, {} s.",
            json_text(&hessian["hessian_vector_products"]),
            json_text(&hessian["products"]),
            if hessian["finite_difference_step"].is_null() {
                String::new()
            } else {
                format!(
                    " differences of gradients, step {}",
                    json_text(&hessian["finite_difference_step"])
                )
            },
            json_text(&hessian["lanczos_steps"]),
            if hessian["converged"] == true {
                ""
            } else {
                "NOT "
            },
            json_text(&hessian["tolerance"]),
            json_text(&hessian["seconds"])
        ));
    } else if hessian.is_null() {
        page.note("No hessian.json: the landscape has not been analysed.");
    } else {
        page.note(&format!(
            "The directions are {}, not Hessian eigenvectors.",
            json_text(&hessian["directions"])
        ));
    }
    if !hessian["trace"].is_null() {
        page.note(&format!(
            "Trace {} +- {} (Hutchinson's estimate over {} Rademacher probes, with its standard \
             error).",
            json_text(&hessian["trace"]["estimate"]),
            json_text(&hessian["trace"]["standard_error"]),
            json_text(&hessian["trace"]["probes"])
        ));
    }
    if dir.join("spectral_density.png").is_file() {
        page.note(
            "The eigenvalue density by stochastic Lanczos quadrature (PyHessian's density()): each \
             probe's Ritz values weighted by the squared first components of their vectors, \
             broadened by Gaussians; the numbers are in spectral_density.npy.",
        );
        page.image_file(
            &dir.join("spectral_density.png"),
            "Hessian eigenvalue density",
        );
    }
}

/// Writes `report.html` into a run directory (through a temporary file and a rename).
pub fn write_run_report(dir: &Path) -> crate::Result<()> {
    let mut files = crate::output::Outputs::default();
    files.bytes("out", &dir.join("report.html"), run_report(dir))?;
    files.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_numbers() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(number(0.012345678), "0.01235");
        assert_eq!(number(1234.5678), "1235");
        assert_eq!(number(1.5e-7), "1.500e-7");
        assert_eq!(number(0.0), "0");
    }

    #[test]
    fn a_report_of_an_empty_folder_says_what_is_missing() {
        let dir = std::env::temp_dir().join(format!("toposcape-report-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let html = run_report(&dir);
        assert!(html.contains("has not finished training"));
        assert!(html.contains("profile.png is not there"));
        assert!(html.starts_with("<!DOCTYPE html>"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
