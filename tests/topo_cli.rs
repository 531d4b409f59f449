//! End-to-end tests of `toposcape topo`: the summary, the JSON and segmentation contracts, and
//! every kind of bad input (exit status 2, one line on stderr naming the file, no output left).

mod common;

use std::fs;
use std::path::Path;

use serde_json::Value;

use common::{f32_bytes, f64_bytes, npy_bytes, npz_bytes, scratch, stderr, stdout, toposcape};

/// A 2-D field with two basins: minima 0 at (0,0) and 1 at (3,4), a ridge of 5 between them.
fn two_basins() -> (Vec<usize>, Vec<f64>) {
    let shape = vec![4, 5];
    let values = vec![
        0.0, 2.0, 5.0, 5.0, 5.0, //
        2.0, 3.0, 5.0, 4.0, 3.0, //
        5.0, 5.0, 5.0, 3.0, 2.0, //
        6.0, 5.0, 4.0, 2.0, 1.0,
    ];
    (shape, values)
}

/// A uint32 .npy file's values, checked to have the given shape.
fn read_u32_npy(path: &Path, shape: &[usize]) -> Vec<u32> {
    let bytes = fs::read(path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let expected: Vec<u64> = shape.iter().map(|&n| n as u64).collect();
    assert_eq!(npy.shape(), &expected[..]);
    npy.into_vec().unwrap()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn example_landscape_has_four_minima() {
    let out = toposcape(&["topo", "examples/landscapes/himmelblau.npy"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("minima       4\n"), "{text}");
    assert!(text.contains("saddles      3\n"), "{text}");
    assert!(text.contains("vertices     10201\n"), "{text}");
}

#[test]
fn json_follows_the_contract() {
    let dir = scratch("json");
    let (shape, values) = two_basins();
    let field = dir.join("field.npy");
    fs::write(&field, npy_bytes("<f8", false, &shape, &f64_bytes(&values))).unwrap();
    let json = dir.join("tree.json");
    let seg = dir.join("seg.npy");
    let out = toposcape(&[
        "topo",
        field.to_str().unwrap(),
        "--connectivity",
        "axis",
        "--json",
        json.to_str().unwrap(),
        "--segmentation",
        seg.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["shape"], serde_json::json!([4, 5]));
    assert_eq!(doc["connectivity"], "axis");
    let nodes = doc["nodes"].as_array().unwrap();
    let kinds: Vec<&str> = nodes.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    // Minima 0 at vertex 0 and 1 at vertex 19; the basins first meet at the level 5.
    assert_eq!(kinds.iter().filter(|&&k| k == "minimum").count(), 2);
    assert_eq!(kinds.iter().filter(|&&k| k == "saddle").count(), 1);
    assert_eq!(kinds.iter().filter(|&&k| k == "root").count(), 1);
    for node in nodes {
        let vertex = node["vertex"].as_u64().unwrap() as usize;
        assert_eq!(node["value"].as_f64().unwrap(), values[vertex]);
    }
    let pairs = doc["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 2);
    let essential: Vec<&Value> = pairs.iter().filter(|p| p["death"].is_null()).collect();
    assert_eq!(essential.len(), 1);
    assert_eq!(essential[0]["birth_vertex"], 0);
    assert!(essential[0]["death_vertex"].is_null());
    let finite = pairs.iter().find(|p| !p["death"].is_null()).unwrap();
    assert_eq!(finite["birth_vertex"], 19);
    assert_eq!(finite["birth"], 1.0);
    assert_eq!(finite["death"], 5.0);
    let arcs = doc["arcs"].as_array().unwrap();
    assert_eq!(arcs.len(), nodes.len() - 1);
    let sizes: u64 = arcs.iter().map(|a| a["size"].as_u64().unwrap()).sum();
    assert_eq!(sizes, 20 - 1, "every vertex but the root's is on an arc");

    // The segmentation file: uint32 node ids in the field's shape.
    let bytes = fs::read(&seg).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape(), &[4, 5]);
    let labels: Vec<u32> = npy.into_vec().unwrap();
    assert!(labels.iter().all(|&l| (l as usize) < nodes.len()));
    let root = nodes.iter().find(|n| n["kind"] == "root").unwrap();
    assert_eq!(
        labels[root["vertex"].as_u64().unwrap() as usize],
        root["id"].as_u64().unwrap() as u32
    );
    assert_eq!(files_in(&dir), vec!["field.npy", "seg.npy", "tree.json"]);
}

#[test]
fn simplification_removes_the_shallow_basin() {
    let dir = scratch("simplify");
    let (shape, values) = two_basins();
    let field = dir.join("field.npy");
    fs::write(&field, npy_bytes("<f8", false, &shape, &f64_bytes(&values))).unwrap();
    let json = dir.join("tree.json");
    // The shallow basin has persistence 5 - 1 = 4; the value range is 6, so 4 is 66.7%.
    for (threshold, minima) in [("3.99", 2), ("4", 2), ("4.01", 1), ("66%", 2), ("67%", 1)] {
        let out = toposcape(&[
            "topo",
            field.to_str().unwrap(),
            "--simplify",
            threshold,
            "--json",
            json.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let doc: Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(
            doc["pairs"].as_array().unwrap().len(),
            minima,
            "threshold {threshold}"
        );
        assert!(
            stdout(&out).contains(&format!("{minima} minima and")),
            "{}",
            stdout(&out)
        );
    }
}

#[test]
fn fortran_order_float32_and_compressed_npz_give_the_same_tree() {
    let dir = scratch("formats");
    let (shape, values) = two_basins();
    let single: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    // The same array in Fortran order: first axis fastest.
    let mut fortran = Vec::new();
    for j in 0..shape[1] {
        for i in 0..shape[0] {
            fortran.push(single[i * shape[1] + j]);
        }
    }
    let c_file = dir.join("c.npy");
    let f_file = dir.join("f.npy");
    let z_file = dir.join("landscape.npz");
    fs::write(
        &c_file,
        npy_bytes("<f4", false, &shape, &f32_bytes(&single)),
    )
    .unwrap();
    fs::write(
        &f_file,
        npy_bytes("<f4", true, &shape, &f32_bytes(&fortran)),
    )
    .unwrap();
    let entry = npy_bytes("<f4", false, &shape, &f32_bytes(&single));
    fs::write(
        &z_file,
        npz_bytes(&[("coords", entry.clone()), ("loss", entry)], true),
    )
    .unwrap();
    let mut trees = Vec::new();
    for file in [&c_file, &f_file, &z_file] {
        let json = dir.join("out.json");
        let out = toposcape(&[
            "topo",
            file.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}: {}", file.display(), stderr(&out));
        trees.push(fs::read_to_string(&json).unwrap());
    }
    assert_eq!(trees[0], trees[1]);
    assert_eq!(trees[0], trees[2]);
}

#[test]
fn nonfinite_values_are_counted_and_written_as_strings() {
    let dir = scratch("nonfinite");
    let values = [1.0f32, f32::NAN, 0.0, f32::INFINITY, 2.0];
    let field = dir.join("field.npy");
    fs::write(&field, npy_bytes("<f4", false, &[5], &f32_bytes(&values))).unwrap();
    let json = dir.join("tree.json");
    let out = toposcape(&[
        "topo",
        field.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("non-finite   2\n"),
        "{}",
        stdout(&out)
    );
    let doc: Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    // Minima 0 (vertex 2), 1 (vertex 0) and 2 (vertex 4); the global maximum is the NaN.
    assert_eq!(doc["pairs"].as_array().unwrap().len(), 3);
    let root = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "root")
        .unwrap();
    assert_eq!(root["value"], "nan");
    assert_eq!(root["vertex"], 1);
    assert_eq!(doc["nonfinite_count"], 2);
}

/// Runs a command that must fail on bad input: status 2, one line on stderr that contains
/// `needle`, and no file left beside the requested output.
fn assert_bad_input(dir: &Path, args: &[&str], needle: &str) {
    let before = files_in(dir);
    let json = dir.join("out.json");
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["--json", json.to_str().unwrap()]);
    let out = toposcape(&full);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(
        err.contains(needle),
        "{args:?}: expected '{needle}' in: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(files_in(dir), before, "{args:?} left files behind");
}

#[test]
fn bad_inputs_exit_2_with_one_line_and_no_output() {
    let dir = scratch("bad");
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let good = npy_bytes("<f4", false, &[3, 4], &f32_bytes(&[0.5; 12]));
    fs::write(path("good.npy"), &good).unwrap();
    fs::create_dir(path("shown")).unwrap();
    fs::write(path("truncated.npy"), &good[..good.len() - 7]).unwrap();
    let ramp: Vec<f32> = (0..12).map(|i| i as f32).collect();
    fs::write(
        path("ramp.npy"),
        npy_bytes("<f4", false, &[12], &f32_bytes(&ramp)),
    )
    .unwrap();
    fs::write(path("header-only.npy"), &good[..20]).unwrap();
    fs::write(path("ints.npy"), npy_bytes("<i4", false, &[3], &[0u8; 12])).unwrap();
    fs::write(path("empty.npy"), npy_bytes("<f4", false, &[3, 0], &[])).unwrap();
    fs::write(
        path("scalar.npy"),
        npy_bytes("<f8", false, &[], &f64_bytes(&[1.0])),
    )
    .unwrap();
    fs::write(
        path("nine.npy"),
        npy_bytes("<f4", false, &[1; 9], &f32_bytes(&[1.0])),
    )
    .unwrap();
    fs::write(path("text.npy"), "not numpy at all\n").unwrap();
    // A header that does not parse (npyz's message quotes it over several lines).
    let mut garbled = good.clone();
    let at = garbled.windows(5).position(|w| w == b"False").unwrap();
    garbled[at..at + 5].copy_from_slice(b"Flase");
    fs::write(path("garbled.npy"), &garbled).unwrap();
    fs::write(
        path("nokey.npz"),
        npz_bytes(&[("weights", good.clone())], false),
    )
    .unwrap();
    fs::write(path("broken.npz"), b"PK\x03\x04 broken").unwrap();

    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![path("missing.npy")], "missing.npy: cannot open"),
        (vec![path("truncated.npy")], "truncated.npy: is truncated"),
        (
            vec![path("garbled.npy")],
            "garbled.npy: not a valid .npy header",
        ),
        (
            vec![path("header-only.npy")],
            "header-only.npy: is truncated",
        ),
        (
            vec![path("ints.npy")],
            "ints.npy: has dtype '<i4'; expected float32 or float64",
        ),
        (vec![path("empty.npy")], "empty.npy: is empty"),
        (
            vec![path("scalar.npy")],
            "scalar.npy: is a 0-dimensional scalar",
        ),
        (vec![path("nine.npy")], "nine.npy: has 9 dimensions"),
        (
            vec![path("text.npy")],
            "text.npy: not a .npy file or .npz archive",
        ),
        (
            vec![path("nokey.npz")],
            "nokey.npz: has no array 'loss': it holds weights",
        ),
        (
            vec![path("nokey.npz"), "--key".into(), "bias".into()],
            "has no array 'bias'",
        ),
        (
            vec![path("broken.npz")],
            "broken.npz: not a valid .npz archive",
        ),
        (
            vec![path("good.npy"), "--key".into(), "loss".into()],
            "--key is for .npz archives",
        ),
        (
            vec![path("good.npy"), "--connectivity".into(), "diagonal".into()],
            "invalid value 'diagonal'",
        ),
        (
            vec![path("good.npy"), "--simplify".into(), "-1".into()],
            "non-negative",
        ),
        (
            vec![path("good.npy"), "--simplify".into(), "lots".into()],
            "non-negative",
        ),
        (
            vec![
                path("good.npy"),
                "--segmentation".into(),
                path("no/such/dir/seg.npy"),
            ],
            "its folder does not exist",
        ),
        (
            vec![path("good.npy"), "--segmentation".into(), path("good.npy")],
            "is the input file",
        ),
        (
            vec![path("good.npy"), "--hide-below".into(), "2".into()],
            "expected a fraction between 0 and 1",
        ),
        (
            vec![
                path("good.npy"),
                "--split".into(),
                "--metrics".into(),
                path("m.json"),
            ],
            "drop --split",
        ),
        (
            vec![
                path("good.npy"),
                "--split".into(),
                "--figures".into(),
                path("figs"),
            ],
            "drop --split",
        ),
        (
            vec![path("good.npy"), "--figures".into(), path("no/such/figs")],
            "parent folder does not exist",
        ),
        (
            vec![path("good.npy"), "--figures".into(), path("good.npy")],
            "not a folder",
        ),
        (
            vec![
                path("good.npy"),
                "--metrics".into(),
                path("x.json"),
                "--profile-json".into(),
                path("x.json"),
            ],
            "--profile-json and --metrics both name",
        ),
        // The same file under two spellings, and a figure of --figures named again.
        (
            vec![
                path("good.npy"),
                "--metrics".into(),
                path("x.json"),
                "--profile-json".into(),
                path("./x.json"),
            ],
            "--profile-json and --metrics both name",
        ),
        (
            vec![
                path("good.npy"),
                "--figures".into(),
                path("shown"),
                "--profile".into(),
                path("shown/profile.png"),
            ],
            "--profile and --figures both name",
        ),
        (
            vec![
                path("ramp.npy"),
                "--profile".into(),
                path("log.png"),
                "--log-loss".into(),
            ],
            "--log-loss",
        ),
    ];
    for (args, needle) in cases {
        let mut full = vec!["topo"];
        full.extend(args.iter().map(String::as_str));
        assert_bad_input(&dir, &full, needle);
    }
}

#[test]
fn profile_and_metrics_json() {
    let dir = scratch("profile");
    let (shape, values) = two_basins();
    let field = dir.join("field.npy");
    fs::write(&field, npy_bytes("<f8", false, &shape, &f64_bytes(&values))).unwrap();
    let profile = dir.join("profile.json");
    let metrics = dir.join("metrics.json");
    let out = toposcape(&[
        "topo",
        field.to_str().unwrap(),
        "--connectivity",
        "axis",
        "--simplify",
        "4.5",
        "--metrics",
        metrics.to_str().unwrap(),
        "--profile-json",
        profile.to_str().unwrap(),
        "--hide-below",
        "0",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("profile      1 basins drawn; 0 tree nodes hidden"),
        "{}",
        stdout(&out)
    );

    // The profile is of the simplified tree: one minimum (the shallow basin, persistence 4, is
    // gone), continued by the root (its only child) into one basin spanning all 20 vertices.
    let doc: Value = serde_json::from_str(&fs::read_to_string(&profile).unwrap()).unwrap();
    assert_eq!(doc["vertex_count"], 20);
    let basins = doc["basins"].as_array().unwrap();
    assert_eq!(basins.len(), 1);
    let basin = &basins[0];
    assert_eq!(basin["kind"], "minimum");
    assert_eq!(basin["size"], 20);
    assert!(basin["parent"].is_null());
    assert_eq!(basin["x"], serde_json::json!([0.0, 20.0]));
    assert_eq!(
        (basin["bottom"].as_f64(), basin["top"].as_f64()),
        (Some(0.0), Some(6.0))
    );
    let polygon = basin["polygon"].as_array().unwrap();
    assert_eq!(
        polygon[0],
        serde_json::json!([9.5, 0.0]),
        "the bottom: width 1 at the minimum"
    );
    let half = polygon.len() / 2;
    assert_eq!(
        polygon[half - 1],
        serde_json::json!([0.0, 6.0]),
        "all 20 at the top"
    );

    // Metrics of the unsimplified tree: minima 0 and 1 meet at 5; both arcs go to that saddle.
    let doc: Value = serde_json::from_str(&fs::read_to_string(&metrics).unwrap()).unwrap();
    let m = &doc["metrics"];
    assert_eq!(
        (m["minima"].as_u64(), m["saddles"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(m["average_persistence"], 4.0);
    assert_eq!(m["merge_tree_smad"], 4.5);
    assert_eq!(m["merge_tree_smad_normalized"], 4.5 / 6.0);
    // Landscaper's, from the contour tree: the minimum 0 (vertex 0) is an arc away from the
    // split saddle at vertex 2 (5.0), the minimum 1 (vertex 19) from the one at vertex 3 (5.0):
    // gaps 5 and 4. Steepest descent gives vertex 0 a basin of 9 vertices and vertex 19 one of
    // 11, so the weighted sum over the pairs is (5 * 9/20 + 4 * 11/20) / 2.
    assert_eq!(m["contour_tree_consistent"], true);
    assert_eq!(m["smad"], 4.5);
    assert_eq!(m["smad_normalized"], (5.0 / 6.0 + 4.0 / 6.0) / 2.0);
    let weighted = m["smad_weighted"].as_f64().unwrap();
    assert!((weighted - 2.225).abs() < 1e-15, "{weighted}");
    assert_eq!(
        doc["basins"],
        serde_json::json!([
            {"minimum": 0, "value": 0.0, "size": 9},
            {"minimum": 19, "value": 1.0, "size": 11}
        ])
    );
    assert_eq!(doc["diagram"]["points"], serde_json::json!([[1.0, 5.0]]));
    assert_eq!(doc["diagram"]["essential"], serde_json::json!([0.0]));
    let simple = &doc["simplified"];
    assert_eq!(simple["threshold"], 4.5);
    assert_eq!(simple["metrics"]["minima"], 1);
    assert!(simple["metrics"]["merge_tree_smad"].is_null());
    // Landscaper's SMADs are of the field, not of a simplified tree.
    assert!(simple["metrics"]["smad"].is_null());
    assert!(simple["metrics"]["contour_tree_consistent"].is_null());
}

#[test]
fn contour_tree_and_basins_files() {
    let dir = scratch("contour");
    let (shape, values) = two_basins();
    let field = dir.join("field.npy");
    fs::write(&field, npy_bytes("<f8", false, &shape, &f64_bytes(&values))).unwrap();
    let tree = dir.join("contour.json");
    let arcs = dir.join("arcs.npy");
    let basins = dir.join("basins.npy");
    let out = toposcape(&[
        "topo",
        field.to_str().unwrap(),
        "--connectivity",
        "axis",
        "--contour-tree",
        tree.to_str().unwrap(),
        "--contour-segmentation",
        arcs.to_str().unwrap(),
        "--basins",
        basins.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "contour tree 8 nodes (3 saddles), 7 arcs; its join and split trees are the field's"
        ),
        "{text}"
    );
    assert!(
        text.contains("basins       2 of steepest descent, the largest 11 vertices"),
        "{text}"
    );

    // Worked out by hand from the field (ties broken by vertex id): the minima 0 and 19, the
    // maximum 15 (6.0), and among the ties at 5.0 (vertices 2, 3, 4, 11, 12 in id order) the
    // saddles 2, 3 and 11 and the maxima 4 and 12.
    let doc: Value = serde_json::from_str(&fs::read_to_string(&tree).unwrap()).unwrap();
    assert_eq!(doc["consistent"], true);
    assert_eq!(doc["vertex_count"], 20);
    let nodes = doc["nodes"].as_array().unwrap();
    let vertices: Vec<u64> = nodes
        .iter()
        .map(|n| n["vertex"].as_u64().unwrap())
        .collect();
    assert_eq!(vertices, vec![0, 19, 2, 3, 4, 11, 12, 15]);
    let kind = |v: u64| nodes[vertices.iter().position(|&x| x == v).unwrap()]["kind"].clone();
    assert_eq!(
        (kind(0), kind(19), kind(15)),
        ("minimum".into(), "minimum".into(), "maximum".into())
    );
    assert_eq!((kind(4), kind(12)), ("maximum".into(), "maximum".into()));
    assert_eq!(
        (kind(2), kind(3), kind(11)),
        ("saddle".into(), "saddle".into(), "saddle".into())
    );
    let arc_list = doc["arcs"].as_array().unwrap();
    let mut pairs: Vec<(u64, u64)> = arc_list
        .iter()
        .map(|a| {
            let v = |key: &str| vertices[a[key].as_u64().unwrap() as usize];
            (v("down"), v("up"))
        })
        .collect();
    pairs.sort_unstable();
    assert_eq!(
        pairs,
        vec![(0, 2), (2, 3), (2, 11), (3, 4), (11, 12), (11, 15), (19, 3)]
    );
    let inside: u64 = arc_list.iter().map(|a| a["size"].as_u64().unwrap()).sum();
    assert_eq!(inside, 12, "20 vertices, 8 of them nodes");

    // The segmentation: arc ids at regular vertices, u32::MAX at nodes.
    let labels = read_u32_npy(&arcs, &shape);
    for (v, &label) in labels.iter().enumerate() {
        assert_eq!(
            label == u32::MAX,
            vertices.contains(&(v as u64)),
            "vertex {v}"
        );
    }
    // The basins: vertex 0's (index 0, the lower minimum) and vertex 19's.
    let labels = read_u32_npy(&basins, &shape);
    #[rustfmt::skip]
    let expected = vec![
        0, 0, 0, 1, 1,
        0, 0, 0, 1, 1,
        0, 0, 1, 1, 1,
        0, 1, 1, 1, 1,
    ];
    assert_eq!(labels, expected);
    fs::remove_dir_all(&dir).unwrap();
}

/// The last number of the line of `compare`'s output that starts with `label` (the difference
/// B - A of a metric, or a distance), before any note in parentheses.
fn reported(text: &str, label: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no line '{label}'"));
    let columns = line[label.len()..].split('(').next().unwrap();
    columns.split_whitespace().last().unwrap().parse().unwrap()
}

#[test]
fn compare_reports_distances_between_fields_and_metrics_files() {
    let dir = scratch("compare");
    let (shape, values) = two_basins();
    let a = dir.join("a.npy");
    fs::write(&a, npy_bytes("<f8", false, &shape, &f64_bytes(&values))).unwrap();
    // B: the shallow basin 1 deeper (its minimum at 0 instead of 1).
    let mut deeper = values.clone();
    deeper[19] = 0.0;
    let b = dir.join("b.npy");
    fs::write(&b, npy_bytes("<f8", false, &shape, &f64_bytes(&deeper))).unwrap();
    let same = toposcape(&[
        "topo",
        a.to_str().unwrap(),
        "--metrics",
        dir.join("a.json").to_str().unwrap(),
    ]);
    assert!(same.status.success(), "{}", stderr(&same));

    let out = toposcape(&[
        "compare",
        a.to_str().unwrap(),
        dir.join("a.json").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(reported(&text, "bottleneck distance"), 0.0, "{text}");
    assert_eq!(reported(&text, "1-Wasserstein distance"), 0.0, "{text}");

    // A's diagram: (1, 5) and an essential 0. B's: (0, 5) (the elder is the lower-id vertex 0)
    // and an essential 0. The point moved by 1 (cheaper than 2 + 2.5 via the diagonal).
    let out = toposcape(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(reported(&text, "bottleneck distance"), 1.0, "{text}");
    assert_eq!(reported(&text, "1-Wasserstein distance"), 1.0, "{text}");
    // Persistence 4 in A, 5 in B.
    assert_eq!(reported(&text, "average_persistence"), 1.0, "{text}");

    let bad = dir.join("bad.json");
    fs::write(&bad, "{\"minima\": 3}").unwrap();
    let out = toposcape(&["compare", bad.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bad.json: not a metrics file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn profile_figures_are_written() {
    let dir = scratch("figures");
    let png_path = dir.join("profile.png");
    let svg_path = dir.join("profile.svg");
    let out = toposcape(&[
        "topo",
        "examples/landscapes/himmelblau.npy",
        "--profile",
        png_path.to_str().unwrap(),
        "--svg",
        svg_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let decoder = png::Decoder::new(std::io::BufReader::new(fs::File::open(&png_path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (1200, 800));
    let first = &pixels[..3];
    assert!(pixels.chunks(3).any(|p| p != first), "a blank image");
    let svg = fs::read_to_string(&svg_path).unwrap();
    let document = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(document.root_element().tag_name().name(), "svg");
    assert!(svg.contains("himmelblau.npy"));

    // --figures writes every figure into a new folder.
    let figures = dir.join("figures");
    let out = toposcape(&[
        "topo",
        "examples/landscapes/rastrigin-3d.npz",
        "--figures",
        figures.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        files_in(&figures),
        vec![
            "landscape.png",
            "landscape.svg",
            "persistence.png",
            "persistence.svg",
            "profile.png",
            "profile.svg",
            "tree.png",
            "tree.svg"
        ]
    );

    // A logarithmic scale needs positive losses: Himmelblau's minimum is 0.
    let out = toposcape(&[
        "topo",
        "examples/landscapes/himmelblau.npy",
        "--profile",
        dir.join("log.png").to_str().unwrap(),
        "--log-loss",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--log-loss"), "{}", stderr(&out));
    assert!(!dir.join("log.png").exists());
}

#[test]
fn log_scale_profile_and_oversized_comparisons() {
    let dir = scratch("log");
    let (shape, values) = two_basins();
    let positive: Vec<f64> = values.iter().map(|v| v + 1.0).collect();
    let field = dir.join("positive.npy");
    fs::write(
        &field,
        npy_bytes("<f8", false, &shape, &f64_bytes(&positive)),
    )
    .unwrap();
    let png_path = dir.join("log.png");
    let out = toposcape(&[
        "topo",
        field.to_str().unwrap(),
        "--profile",
        png_path.to_str().unwrap(),
        "--log-loss",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(png_path.exists());

    // 1-D zigzags with 2,500 minima each: beyond the exact method, the distances are computed
    // over k-d trees; --exact is refused with the reason.
    let zigzag = |phase: f64| -> Vec<f64> {
        (0..5000)
            .map(|i| (i % 2) as f64 * 2.0 + phase * (i as f64 * 0.01).sin())
            .collect()
    };
    let (a, b) = (dir.join("a.npy"), dir.join("b.npy"));
    fs::write(
        &a,
        npy_bytes("<f8", false, &[5000], &f64_bytes(&zigzag(0.1))),
    )
    .unwrap();
    fs::write(
        &b,
        npy_bytes("<f8", false, &[5000], &f64_bytes(&zigzag(0.2))),
    )
    .unwrap();
    let out = toposcape(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(reported(&text, "minima"), 0.0, "{text}");
    assert!(reported(&text, "bottleneck distance") > 0.0, "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("1-Wasserstein"))
        .unwrap();
    assert!(
        line.contains("within") && line.contains("at least"),
        "{line}"
    );
    let exact = toposcape(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--exact",
    ]);
    assert_eq!(exact.status.code(), Some(2), "{}", stderr(&exact));
    assert!(
        stderr(&exact).contains("--exact: the diagrams have"),
        "{}",
        stderr(&exact)
    );
    let bad = toposcape(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--wasserstein-error",
        "2",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("--wasserstein-error"),
        "{}",
        stderr(&bad)
    );
}

/// The point-data arrays of a `.vti` file (raw appended data, UInt64 headers), read with a
/// strict XML parser and the format's own rules: name -> (type, bytes).
fn read_vti(bytes: &[u8]) -> (String, Vec<(String, String, Vec<u8>)>) {
    let marker = b"<AppendedData encoding=\"raw\">";
    let at = bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("appended data");
    let underscore = at
        + marker.len()
        + bytes[at + marker.len()..]
            .iter()
            .position(|&b| b == b'_')
            .unwrap();
    let data = &bytes[underscore + 1..];
    // The XML with the binary block cut out must parse on its own.
    let mut xml = bytes[..underscore].to_vec();
    let tail = b"</AppendedData>";
    let end = bytes.windows(tail.len()).rposition(|w| w == tail).unwrap();
    xml.extend_from_slice(&bytes[end..]);
    let text = String::from_utf8(xml).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let root = doc.root_element();
    assert_eq!(root.attribute("type"), Some("ImageData"));
    assert_eq!(root.attribute("byte_order"), Some("LittleEndian"));
    assert_eq!(root.attribute("header_type"), Some("UInt64"));
    let image = root
        .children()
        .find(|n| n.has_tag_name("ImageData"))
        .unwrap();
    let extent = image.attribute("WholeExtent").unwrap().to_string();
    let arrays = image
        .descendants()
        .filter(|n| n.has_tag_name("DataArray"))
        .map(|n| {
            assert_eq!(n.attribute("format"), Some("appended"));
            let offset: usize = n.attribute("offset").unwrap().parse().unwrap();
            let size = u64::from_le_bytes(data[offset..offset + 8].try_into().unwrap()) as usize;
            (
                n.attribute("Name").unwrap().to_string(),
                n.attribute("type").unwrap().to_string(),
                data[offset + 8..offset + 8 + size].to_vec(),
            )
        })
        .collect();
    (extent, arrays)
}

#[test]
fn vtk_image_data_holds_the_field_and_its_segmentations() {
    let dir = scratch("vtk");
    let (shape, values) = two_basins();
    let field = dir.join("field.npy");
    fs::write(&field, npy_bytes("<f8", false, &shape, &f64_bytes(&values))).unwrap();
    let vti = dir.join("field.vti");
    let (seg, basins) = (dir.join("seg.npy"), dir.join("basins.npy"));
    let out = toposcape(&[
        "topo",
        field.to_str().unwrap(),
        "--vtk",
        vti.to_str().unwrap(),
        "--segmentation",
        seg.to_str().unwrap(),
        "--basins",
        basins.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (extent, arrays) = read_vti(&fs::read(&vti).unwrap());
    // 4 x 5 in C order: the last axis (5) is VTK's x.
    assert_eq!(extent, "0 4 0 3 0 0");
    let names: Vec<&str> = arrays.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(
        names,
        vec!["loss", "merge_tree_segment", "basin", "contour_arc"]
    );
    let loss: Vec<f64> = arrays[0]
        .2
        .chunks(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(arrays[0].1, "Float64");
    assert_eq!(loss, values);
    let u32s = |bytes: &[u8]| -> Vec<u32> {
        bytes
            .chunks(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    assert_eq!(u32s(&arrays[1].2), read_u32_npy(&seg, &shape));
    assert_eq!(u32s(&arrays[2].2), read_u32_npy(&basins, &shape));
    assert_eq!(u32s(&arrays[3].2).len(), 20);

    // Four axes do not fit; nothing is written.
    let big = dir.join("big.npy");
    fs::write(
        &big,
        npy_bytes("<f8", false, &[2, 2, 2, 2], &f64_bytes(&[0.0; 16])),
    )
    .unwrap();
    let refused = toposcape(&[
        "topo",
        big.to_str().unwrap(),
        "--vtk",
        dir.join("big.vti").to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("--vtk"), "{}", stderr(&refused));
    assert!(!dir.join("big.vti").exists());
    fs::remove_dir_all(&dir).unwrap();
}
