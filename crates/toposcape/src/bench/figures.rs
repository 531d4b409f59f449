//! The figures a benchmark measures: samples, their median and range, and ratios against a
//! baseline measured in the same run.

use std::time::Instant;

use serde::Serialize;

use super::BenchEvent;

/// One measured figure: its samples (one per repeat) and, when it has one, the figure it is
/// compared with.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// What is measured: `pinn`, `unet`, `tree`, `run` or `peers`.
    pub group: &'static str,
    /// The measurement.
    pub name: String,
    /// Where: `flex`, `ndarray`, `wgpu-gpu`, `wgpu-cpu`, `cpu` (toposcape's own code), or a
    /// peer's name.
    pub backend: String,
    /// The unit of the samples.
    pub unit: &'static str,
    /// The median of the samples.
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
    /// One sample per repeat.
    pub samples: Vec<f64>,
    /// The figure this one is divided by (its `group/name/backend`), and the ratio of medians.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// This figure's median over the baseline's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// PINN points/s rows: the achieved rate of the model's floating-point operations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gflop_per_s: Option<f64>,
    /// PINN rows on wgpu with a known nominal rate: `gflop_per_s` as a fraction of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub of_nominal: Option<f64>,
}

/// The median, smallest and largest of `samples`.
fn stats(samples: &[f64]) -> (f64, f64, f64) {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    (median, sorted[0], sorted[n - 1])
}

/// The figures of one benchmark run, told to the caller as they are measured.
pub(super) struct Bench<'a> {
    pub repeats: usize,
    pub figures: Vec<Figure>,
    pub events: &'a mut dyn FnMut(BenchEvent<'_>),
}

impl Bench<'_> {
    /// Tells the caller `text`.
    pub fn note(&mut self, text: &str) {
        (self.events)(BenchEvent::Note(text));
    }

    /// Measures `work` (which returns how much it did) `repeats` times, as work per second,
    /// after one untimed warm-up call.
    pub fn rate(
        &mut self,
        (group, name, backend): (&'static str, &str, &str),
        unit: &'static str,
        mut work: impl FnMut() -> usize,
    ) -> usize {
        work();
        let samples: Vec<f64> = (0..self.repeats)
            .map(|_| {
                let started = Instant::now();
                let done = work();
                done as f64 / started.elapsed().as_secs_f64().max(1e-12)
            })
            .collect();
        self.push((group, name, backend), unit, samples)
    }

    /// Adds a figure of `samples`; its index.
    pub fn push(
        &mut self,
        (group, name, backend): (&'static str, &str, &str),
        unit: &'static str,
        samples: Vec<f64>,
    ) -> usize {
        let (median, min, max) = stats(&samples);
        self.figures.push(Figure {
            group,
            name: name.to_string(),
            backend: backend.to_string(),
            unit,
            median,
            min,
            max,
            samples,
            baseline: None,
            ratio: None,
            gflop_per_s: None,
            of_nominal: None,
        });
        let index = self.figures.len() - 1;
        (self.events)(BenchEvent::Figure(&self.figures[index]));
        index
    }

    /// Divides figure `index` by the first of its comparison, or makes it the first.
    pub fn against(&mut self, index: usize, baseline: &mut Option<usize>) {
        match *baseline {
            None => *baseline = Some(index),
            Some(b) => self.compare(index, b),
        }
    }

    /// Figure `index` divided by figure `baseline` (medians).
    pub fn compare(&mut self, index: usize, baseline: usize) {
        let b = &self.figures[baseline];
        let label = format!("{}/{}/{}", b.group, b.name, b.backend);
        let ratio = self.figures[index].median / b.median;
        let f = &mut self.figures[index];
        f.baseline = Some(label);
        f.ratio = Some(ratio);
    }

    /// Marks the fastest of several `rows` `(best batch)`.
    pub fn mark_best(&mut self, rows: &[usize]) {
        if rows.len() > 1 {
            let figures = &self.figures;
            let best = *rows
                .iter()
                .max_by(|&&a, &&b| figures[a].median.total_cmp(&figures[b].median))
                .expect("rows");
            self.figures[best].name.push_str(" (best batch)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(stats(&[3.0, 1.0, 2.0]), (2.0, 1.0, 3.0));
        assert_eq!(stats(&[4.0, 1.0, 2.0, 3.0]), (2.5, 1.0, 4.0));
    }
}
