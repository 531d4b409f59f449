//! The Python peers of `benches/peers/` (Landscaper, torch.func.vmap, PyHessian, gudhi), run on
//! the shipped `models/pinn-beta1`, each figure compared with toposcape's from the same script.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::figures::Bench;
use crate::{Error, Result};

/// What the peers need from the working directory.
const PEER_DIR: &str = "benches/peers";
const PEER_MODEL: &str = "models/pinn-beta1";

/// How to run the peers.
#[derive(Debug, Clone, PartialEq)]
pub struct Peers {
    /// The Python with torch, landscaper, pyhessian, gudhi and numpy.
    pub python: PathBuf,
    /// The `toposcape` binary, which the scripts time beside their peer.
    pub program: PathBuf,
}

/// A number of a script's JSON (NaN when it is missing).
fn number(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

impl Peers {
    /// Checks, before anything is measured, that the peers can run: the scripts, the model,
    /// and a Python with the peers' packages.
    pub fn check(&self) -> Result<()> {
        for path in [PEER_DIR, PEER_MODEL] {
            if !Path::new(path).is_dir() {
                return Err(Error::option_as_a_whole(
                    "peers",
                    format!("no {path} here; run the peers from the toposcape checkout"),
                ));
            }
        }
        let probe = Command::new(&self.python)
            .args(["-c", "import torch, landscaper, pyhessian, gudhi, numpy"])
            .output();
        let python = self.python.display();
        match probe {
            Err(e) => Err(Error::option(
                "python",
                python,
                format!("cannot run it: {e}"),
            )),
            Ok(o) if !o.status.success() => {
                let text = String::from_utf8_lossy(&o.stderr);
                let last = text.lines().last().unwrap_or("").trim().to_string();
                Err(Error::option(
                    "python",
                    python,
                    format!(
                        "lacks a peer package ({last}); pip install torch landscaper pyhessian \
                         gudhi numpy"
                    ),
                ))
            }
            Ok(_) => Ok(()),
        }
    }

    /// Runs one peer script with `--json`, returning its JSON.
    fn script(&self, script: &str, extra: &[String]) -> Result<Value> {
        let json = std::env::temp_dir().join(format!(
            "toposcape-peer-{}-{script}.json",
            std::process::id()
        ));
        let output = Command::new(&self.python)
            .arg(Path::new(PEER_DIR).join(script))
            .args(extra)
            .arg("--json")
            .arg(&json)
            .env("PYTHONPATH", PEER_DIR)
            .output()
            .map_err(|e| Error::Internal(format!("running {script}: {e}")))?;
        if !output.status.success() {
            let text = String::from_utf8_lossy(&output.stderr);
            return Err(Error::Internal(format!(
                "{script} failed: {}",
                text.lines().last().unwrap_or("")
            )));
        }
        let text = std::fs::read_to_string(&json).map_err(|e| Error::file("read", &json, e))?;
        std::fs::remove_file(&json).map_err(|e| Error::file("remove", &json, e))?;
        Ok(serde_json::from_str(&text)?)
    }

    /// Every peer's figures beside toposcape's.
    pub(super) fn run(&self, bench: &mut Bench<'_>, quick: bool) -> Result<()> {
        bench.note(&format!("peers (Python, {}):", self.python.display()));
        self.landscape(bench, quick)?;
        self.hessian(bench)?;
        self.cubical(bench, quick)
    }

    fn program(&self) -> String {
        self.program.display().to_string()
    }

    /// PINN points/s: toposcape, Landscaper and torch.func.vmap.
    fn landscape(&self, bench: &mut Bench<'_>, quick: bool) -> Result<()> {
        let (points, landscaper) = if quick { ("11", "5") } else { ("41", "21") };
        let args = [
            self.program(),
            PEER_MODEL.into(),
            "--points".into(),
            points.into(),
            "--landscaper-points".into(),
            landscaper.into(),
        ];
        let landscape = self.script("pinn_landscape.py", &args)?;
        let mut ours = None;
        for row in landscape["rows"].as_array().into_iter().flatten() {
            let name = row["method"].as_str().unwrap_or("?");
            let backend = if name.starts_with("toposcape") {
                "cpu"
            } else if name.starts_with("Landscaper") {
                "landscaper"
            } else {
                "torch"
            };
            let label = format!("PINN points/s: {name}");
            let samples = vec![number(&row["points_per_second"])];
            let index = bench.push(("peers", &label, backend), "points/s", samples);
            bench.against(index, &mut ours);
        }
        Ok(())
    }

    /// The top four eigenpairs: toposcape against PyHessian.
    fn hessian(&self, bench: &mut Bench<'_>) -> Result<()> {
        let hessian = self.script("pyhessian_topk.py", &[self.program(), PEER_MODEL.into()])?;
        let mut row = |who: &str, key: &str, backend: &str| {
            let name = format!(
                "seconds, top 4 eigenpairs, {who} ({} HVPs)",
                hessian[key]["hvps"]
            );
            bench.push(
                ("peers", &name, backend),
                "s",
                vec![number(&hessian[key]["seconds"])],
            )
        };
        let ours = row("toposcape", "toposcape", "flex");
        let theirs = row("PyHessian", "pyhessian", "torch");
        bench.compare(theirs, ours);
        bench.note(&format!(
            "eigenvalues: largest relative difference toposcape vs PyHessian {:.1e}",
            number(&hessian["largest_relative_difference"])
        ));
        Ok(())
    }

    /// Persistence pairs of cubical fields: `toposcape topo` against gudhi.
    fn cubical(&self, bench: &mut Bench<'_>, quick: bool) -> Result<()> {
        let mut args = vec!["--toposcape".to_string(), self.program()];
        if quick {
            args.extend(["--sizes", "21x3", "--repeats", "1"].map(String::from));
        }
        let gudhi = self.script("gudhi_cubical.py", &args)?;
        for row in gudhi["rows"].as_array().into_iter().flatten() {
            let field = row["field"].as_str().unwrap_or("?");
            let name = format!("seconds, 0-dim pairs of {field}, toposcape topo");
            let ours = bench.push(
                ("peers", &name, "cpu"),
                "s",
                vec![number(&row["toposcape_seconds"])],
            );
            let name = format!("seconds, 0-dim pairs of {field}, gudhi cubical");
            let theirs = bench.push(
                ("peers", &name, "gudhi"),
                "s",
                vec![number(&row["gudhi_seconds"])],
            );
            bench.compare(theirs, ours);
        }
        Ok(())
    }
}
