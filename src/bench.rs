//! `toposcape bench`: the flags of [`toposcape::bench`], each figure printed as it is
//! measured, and the table at the end.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use toposcape::bench::{BenchEvent, BenchOptions, Figure, Peers};

/// Arguments of `toposcape bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Repeats of each measurement; the table shows the median and the range
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub repeats: usize,
    /// Small work sizes: a quick look (and the test), not figures to quote
    #[arg(long)]
    pub quick: bool,
    /// Where the figures go (JSON)
    #[arg(long, value_name = "FILE", default_value = "bench.json")]
    pub out: PathBuf,
    /// Also run the Python peers of benches/peers/ (Landscaper, torch.func.vmap, PyHessian,
    /// gudhi) on the shipped models/pinn-beta1; run from the toposcape checkout
    #[arg(long)]
    pub peers: bool,
    /// The Python for --peers (with torch, landscaper, pyhessian, gudhi and numpy)
    #[arg(long, value_name = "PYTHON", default_value = "python3")]
    pub python: PathBuf,
    /// Batch sizes of the batched PINN rows on wgpu, comma separated [default: 64,256,1024,4096
    /// on a GPU, up to what its largest buffer holds; 64 on a CPU adapter, as on the CPU
    /// backends]
    #[arg(long, value_name = "B,..", value_delimiter = ',')]
    pub batches: Option<Vec<usize>>,
    /// The nominal f32 rate (TFLOP/s) of the wgpu device, for the FLOP rate as a fraction of
    /// it [default: from toposcape's table of GPUs by the adapter's name]
    #[arg(long, value_name = "TFLOPS")]
    pub nominal_tflops: Option<f64>,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let peers = match args.peers {
        true => Some(Peers {
            python: args.python.clone(),
            program: std::env::current_exe().context("the toposcape binary's path")?,
        }),
        false => None,
    };
    let options = BenchOptions {
        repeats: args.repeats,
        quick: args.quick,
        out: args.out.clone(),
        peers,
        batches: args.batches.clone(),
        nominal_tflops: args.nominal_tflops,
    };
    let mut started = false;
    let report = toposcape::bench::bench(&options, &mut |event| {
        // The heading once the options are checked (bad ones print nothing but the error).
        if !std::mem::replace(&mut started, true) {
            println!(
                "toposcape bench: {} repeats per figure (median shown){}",
                args.repeats,
                if args.quick {
                    "; --quick: small sizes, not figures to quote"
                } else {
                    ""
                }
            );
        }
        match event {
            BenchEvent::Figure(f) => println!(
                "  {:<10} {:<40} {:<10} {:>12} {}",
                f.group,
                f.name,
                f.backend,
                short(f.median),
                f.unit
            ),
            BenchEvent::Note(text) => println!("  {text}"),
            _ => {}
        }
    })?;
    print_table(&report.figures);
    println!("figures      {}", args.out.display());
    Ok(())
}

fn short(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

fn print_table(figures: &[Figure]) {
    let w = figures
        .iter()
        .map(|f| f.name.len())
        .max()
        .unwrap_or(0)
        .max(7);
    println!();
    println!(
        "{:<6} {:<w$} {:<10} {:>12} {:>23} {:>9} {:>8} {:>8}",
        "model", "measure", "backend", "median", "range", "vs base", "GFLOP/s", "of peak"
    );
    for f in figures {
        println!(
            "{:<6} {:<w$} {:<10} {:>12} {:>23} {:>9} {:>8} {:>8}",
            f.group,
            f.name,
            f.backend,
            short(f.median),
            format!("{} - {}", short(f.min), short(f.max)),
            f.ratio.map_or(String::new(), |r| format!("{r:.2}x")),
            f.gflop_per_s.map_or(String::new(), |g| format!("{g:.1}")),
            f.of_nominal
                .map_or(String::new(), |x| format!("{:.2}%", 100.0 * x))
        );
    }
    println!();
    println!(
        "vs base: the median over the baseline's median, measured in this run: the pinn and unet \
         rows against burn flex one point at a time; a peer's row against toposcape's row of the \
         same script (points/s: below 1 is slower than toposcape; seconds: above 1 is slower)."
    );
    if figures.iter().any(|f| f.of_nominal.is_some()) {
        println!(
            "of peak: the row's GFLOP/s over the wgpu device's nominal f32 rate (bench.json's \
             nominal_f32 says which rate and where it came from)."
        );
    }
}
