//! `toposcape analyze` under `mpirun` (feature `mpi`): 2 and 3 ranks give the landscape of one
//! process bit for bit; a job with a rank killed by `kill -9` ends instead of hanging, and the
//! same command resumes it to the same landscape; a rank given another analysis is reported
//! in one line and nothing is written; commands that run as one process are refused on
//! several ranks. Needs OpenMPI's `mpirun` (`.ci/run` installs it).
#![cfg(feature = "mpi")]

mod common;

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{scratch, stderr, stdout, toposcape};

const PINN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/pinn-beta1");
const BIN: &str = env!("CARGO_BIN_EXE_toposcape");

/// `mpirun` with `ranks` processes on this machine (more than its cores if asked), as root
/// where the tests run as root.
fn mpirun(ranks: usize) -> Command {
    let mut command = Command::new("mpirun");
    command
        .args(["-n", &ranks.to_string(), "--oversubscribe"])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        // Only the job's own output: no help text about how to run as root or oversubscribe.
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1");
    command
}

fn analyze_args(out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["analyze", PINN, "--out", out.to_str().unwrap()]
        .iter()
        .map(ToString::to_string)
        .collect();
    args.extend(extra.iter().map(ToString::to_string));
    args
}

fn on_ranks(ranks: usize, args: &[String]) -> Output {
    mpirun(ranks)
        .arg(BIN)
        .args(args)
        .output()
        .expect("mpirun runs (OpenMPI installed?)")
}

fn same_files(a: &Path, b: &Path, files: &[&str]) {
    for file in files {
        assert_eq!(
            fs::read(a.join(file)).unwrap(),
            fs::read(b.join(file)).unwrap(),
            "{file} of {} and {} bit for bit",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn two_and_three_ranks_sample_the_landscape_of_one_process() {
    let dir = scratch("mpi-ranks");
    let extra = ["--points", "17"];
    let alone = dir.join("alone");
    let alone_output = toposcape(
        &analyze_args(&alone, &extra)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(alone_output.status.success(), "{}", stderr(&alone_output));
    for ranks in [2, 3] {
        let out = dir.join(format!("ranks-{ranks}"));
        let output = on_ranks(ranks, &analyze_args(&out, &extra));
        assert!(output.status.success(), "{}", stderr(&output));
        same_files(
            &alone,
            &out,
            &["landscape.npy", "directions.npy", "tree.json", "axes.json"],
        );
        assert!(
            stdout(&output).contains(&format!("{ranks} MPI ranks")),
            "{}",
            stdout(&output)
        );
        // Rank 0 alone prints the summary.
        assert_eq!(
            stdout(&output).lines().count(),
            stdout(&alone_output).lines().count(),
            "{}",
            stdout(&output)
        );
    }
    fs::remove_dir_all(&dir).unwrap();
}

/// The ranks `mpirun` started (its children), by their rank.
fn rank_pid(mpirun: &Child, rank: usize) -> Option<u32> {
    let children = fs::read_to_string(format!(
        "/proc/{}/task/{}/children",
        mpirun.id(),
        mpirun.id()
    ))
    .ok()?;
    children
        .split_whitespace()
        .filter_map(|p| p.parse::<u32>().ok())
        .find(|pid| {
            fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                env.split(|&b| b == 0)
                    .any(|v| v == format!("OMPI_COMM_WORLD_RANK={rank}").as_bytes())
            })
        })
}

fn chunks(store: &Path) -> usize {
    fs::read_dir(store).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "f32"))
            .count()
    })
}

#[test]
fn a_job_with_a_killed_rank_ends_and_the_same_command_resumes_it() {
    let dir = scratch("mpi-kill");
    let extra = ["--directions", "random", "--points", "81"];
    let alone = dir.join("alone");
    let output = toposcape(
        &analyze_args(&alone, &extra)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(output.status.success(), "{}", stderr(&output));

    let killed = dir.join("killed");
    let args = analyze_args(&killed, &extra);
    let mut job = mpirun(2)
        .arg(BIN)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let store = killed.join(".landscape-chunks");
    let deadline = Instant::now() + Duration::from_secs(600);
    while chunks(&store) == 0 && Instant::now() < deadline {
        assert!(job.try_wait().unwrap().is_none(), "finished before a kill");
        std::thread::sleep(Duration::from_millis(5));
    }
    let rank0 = rank_pid(&job, 0).expect("rank 0 among mpirun's children");
    let rank1 = rank_pid(&job, 1).expect("rank 1 among mpirun's children");
    let killed_rank = Command::new("kill")
        .args(["-9", &rank1.to_string()])
        .status()
        .unwrap();
    assert!(killed_rank.success());
    // The job ends (mpirun takes the other rank down) instead of waiting for rank 1.
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = job.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the job hangs after a rank was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = job.wait_with_output().unwrap();
    assert!(!status.success());
    let message = stderr(&output);
    assert!(
        message.contains("rank 1") && message.contains("signal 9"),
        "{message}"
    );
    let stored = chunks(&store);
    assert!(
        (1..65).contains(&stored),
        "killed with {stored} of 65 chunks stored"
    );
    assert!(!killed.join("landscape.npy").exists());
    // mpirun may return before rank 0 is gone; until then its lock stands, as it should.
    common::wait_for("rank 0 to end", || {
        let state = fs::read_to_string(format!("/proc/{rank0}/stat")).ok();
        state
            .is_none_or(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            })
            .then_some(())
    });

    let output = on_ranks(2, &args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("resumed from an interrupted run"),
        "{}",
        stdout(&output)
    );
    same_files(&alone, &killed, &["landscape.npy"]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_rank_given_another_analysis_is_reported_and_nothing_is_written() {
    let dir = scratch("mpi-other");
    let out = dir.join("run");
    // One job of two programs: rank 0 asks for 9 points an axis, rank 1 for 11.
    let output = mpirun(1)
        .arg(BIN)
        .args(analyze_args(&out, &["--points", "9"]))
        .args([":", "-n", "1", BIN])
        .args(analyze_args(&out, &["--points", "11"]))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    let ours: Vec<&str> = message
        .lines()
        .filter(|l| l.starts_with("toposcape:"))
        .collect();
    assert_eq!(ours.len(), 1, "{message}");
    assert!(
        ours[0].starts_with(
            "toposcape: error: rank 1 of 2: this rank was given another analysis than rank 0 \
             (its landscape would be 121 points"
        ),
        "{message}"
    );
    assert!(!out.join(".landscape-chunks").exists());
    assert!(!out.join("landscape.npy").exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn commands_of_one_process_are_refused_on_several_ranks() {
    let dir = scratch("mpi-alone");
    let output = on_ranks(
        2,
        &["topo".to_string(), dir.join("x.npy").display().to_string()],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    // Said once, by rank 0.
    let message = stderr(&output);
    assert_eq!(
        message
            .matches("`toposcape topo` runs as one process")
            .count(),
        1,
        "{message}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_sweep_on_three_ranks_tabulates_the_runs_of_a_serial_sweep() {
    let dir = scratch("mpi-sweep");
    fs::write(dir.join("base.toml"), common::TINY_PINN).unwrap();
    let sweep = dir.join("s.toml");
    fs::write(
        &sweep,
        "base = \"base.toml\"\n[values]\n\"convection.beta\" = [1.0, 4.0]\nseed = [0, 1]\n",
    )
    .unwrap();
    let args = |out: &Path| -> Vec<String> {
        [
            "sweep",
            sweep.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(ToString::to_string)
        .collect()
    };
    let serial = dir.join("serial");
    let output = toposcape(&args(&serial).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(output.status.success(), "{}", stderr(&output));
    let spread = dir.join("spread");
    let output = on_ranks(3, &args(&spread));
    assert!(output.status.success(), "{}", stderr(&output));
    // runs.csv holds no timings: the same runs, the same numbers.
    assert_eq!(
        fs::read_to_string(serial.join("runs.csv")).unwrap(),
        fs::read_to_string(spread.join("runs.csv")).unwrap()
    );
    assert!(spread.join("report.html").is_file());
    // Rank 0 alone prints the sweep's summary.
    assert_eq!(
        stdout(&output)
            .matches("checking every combination")
            .count(),
        1,
        "{}",
        stdout(&output)
    );
    // `--jobs` makes child processes; on several ranks the ranks are the jobs.
    let output = on_ranks(
        2,
        &[args(&spread), vec!["--jobs".into(), "2".into()]].concat(),
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--jobs 2: a sweep on several MPI ranks"),
        "{}",
        stderr(&output)
    );
    fs::remove_dir_all(&dir).unwrap();
}
