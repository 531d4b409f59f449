//! The library's progress reports as indicatif bars on stderr.

use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use toposcape::{Progress, Stage};

/// Draws each stage of the library's work as a bar (or a spinner when its total is unknown),
/// under a bar of the sweep's runs when there is one.
#[derive(Default)]
pub struct Bars {
    bars: MultiProgress,
    bar: Mutex<Option<ProgressBar>>,
    sweep: Mutex<Option<ProgressBar>>,
}

impl Bars {
    fn with(&self, f: impl FnOnce(&ProgressBar)) {
        if let Some(bar) = self.bar.lock().expect("not poisoned").as_ref() {
            f(bar);
        }
    }
}

/// Fields below this many vertices get their merge tree in a second or less.
const MERGE_TREE_BAR_VERTICES: u64 = 1 << 24;

fn template(stage: Stage) -> &'static str {
    match stage {
        Stage::Landscape => {
            "landscape {bar:30} {human_pos}/{human_len} points · {per_sec} · {elapsed} elapsed, ETA {eta}"
        }
        Stage::Hessian => "hessian {spinner} {msg} · {elapsed}",
        Stage::MergeTree => "merge tree {bar:40} {percent:>3}% of {human_len} vertices, {eta} left",
        Stage::Training => {
            "training {bar:30} epoch {pos}/{len} · loss {msg} · {elapsed} elapsed, ETA {eta}"
        }
    }
}

impl Progress for Bars {
    fn start(&self, stage: Stage, total: Option<u64>, done: u64) {
        let bar = match total {
            // A merge tree of a smaller field takes a second or less: no bar for it.
            Some(total) if stage == Stage::MergeTree && total < MERGE_TREE_BAR_VERTICES => {
                ProgressBar::hidden()
            }
            Some(total) => ProgressBar::new(total),
            None => ProgressBar::new_spinner(),
        };
        bar.set_style(ProgressStyle::with_template(template(stage)).expect("a valid template"));
        bar.set_position(done);
        bar.reset_eta();
        let bar = self.bars.add(bar);
        if let Some(old) = self.bar.lock().expect("not poisoned").replace(bar) {
            old.finish_and_clear();
        }
    }

    fn set(&self, done: u64) {
        self.with(|bar| bar.set_position(done));
    }

    fn message(&self, text: &str) {
        let text = text.to_string();
        self.with(|bar| bar.set_message(text));
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().expect("not poisoned").take() {
            bar.finish_and_clear();
        }
    }

    fn sweep(&self, done: usize, total: usize, current: Option<&str>) {
        let mut sweep = self.sweep.lock().expect("not poisoned");
        let Some(name) = current else {
            if let Some(bar) = sweep.take() {
                bar.finish_and_clear();
            }
            return;
        };
        let bar = sweep.get_or_insert_with(|| {
            let bar = ProgressBar::new(total as u64).with_style(
                ProgressStyle::with_template(
                    "sweep {bar:30} {pos}/{len} runs · {msg} · {elapsed} elapsed, ETA {eta}",
                )
                .expect("a valid template"),
            );
            self.bars.insert(0, bar)
        });
        bar.set_position(done as u64);
        bar.set_message(name.to_string());
    }
}
