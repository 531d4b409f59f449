//! Helpers shared by the end-to-end tests: running the binary and scratch folders.
// Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `toposcape` binary with `args`.
pub fn toposcape(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_toposcape"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Runs `toposcape COMMAND INPUT --out OUT`.
pub fn toposcape_out(command: &str, input: &Path, out: &Path) -> Output {
    toposcape(&[
        command,
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh, empty folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("toposcape-test-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A PINN config small enough to train and analyse in a fraction of a second (the library's
/// own tests use the same file).
pub const TINY_PINN: &str = include_str!("../fixtures/tiny-pinn.toml");

/// The fields of one CSV line (RFC 4180 quoting: "a,b" and "say ""hi""").
pub fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// Runs one of the float64 checks of `tests/python/` (`script` and its arguments) with the
/// Python that `scripts/test.sh` prepares (`TOPOSCAPE_PYTHON`: a venv with numpy, scipy and
/// autograd), or `python3`. Panics with the script's output unless it exits 0; returns its
/// standard output.
pub fn python_check(script: &str, args: &[&str]) -> String {
    let python = std::env::var("TOPOSCAPE_PYTHON").unwrap_or_else(|_| "python3".into());
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let output = Command::new(&python)
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{python}: {e} (scripts/test.sh sets TOPOSCAPE_PYTHON)"));
    let text = format!("{}{}", stdout(&output), stderr(&output));
    assert!(
        output.status.success(),
        "{script} {args:?} failed (pip install -r tests/python/requirements.txt):\n{text}"
    );
    print!("{text}");
    stdout(&output)
}

/// Polls `ready` every 5 ms until it gives a value (at most two minutes, so that a broken
/// build fails instead of hanging; what is waited for takes a second or less).
pub fn wait_for<T>(what: &str, mut ready: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        if let Some(value) = ready() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited too long for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The process id written in the lock file `.lock` of `dir`, once there is one.
pub fn lock_owner(dir: &Path) -> Option<u32> {
    let text = fs::read_to_string(dir.join(".lock")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// The bytes of a version-1.0 .npy file, written by hand (independently of the reader).
pub fn npy_bytes(descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|n| n.to_string()).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let order = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape_text}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn f64_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn npz_bytes(entries: &[(&str, Vec<u8>)], compressed: bool) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if compressed {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in entries {
        zip.start_file(format!("{name}.npy"), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}
