//! The JSON documents toposcape writes: merge trees, profiles and metrics.

use serde::{Deserialize, Serialize, Serializer};
use toposcape_topology::{Basins, ContourTree, Diagram, MergeTree, Metrics, Profile};

/// The most finite diagram points (both diagrams together) for the exact Wasserstein
/// distance: the Hungarian method takes O(n^3) time (about 45 s for 3300 points here) and
/// O(n^2) memory.
pub const MAX_EXACT_POINTS: usize = 2000;

/// A value in JSON: a number when finite, else the string "nan", "inf" or "-inf" (which
/// Python's `float()` reads back).
#[derive(Clone, Copy)]
pub struct JsonNumber(pub f64);

impl Serialize for JsonNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            x if x.is_finite() => s.serialize_f64(x),
            x if x.is_nan() => s.serialize_str("nan"),
            x if x > 0.0 => s.serialize_str("inf"),
            _ => s.serialize_str("-inf"),
        }
    }
}

/// A value read back as [`JsonNumber`] writes it: a number, or "nan", "inf" or "-inf".
#[derive(Deserialize)]
#[serde(untagged)]
enum ReadNumber {
    Number(f64),
    Text(String),
}

impl ReadNumber {
    fn value<E: serde::de::Error>(self) -> Result<f64, E> {
        match self {
            ReadNumber::Number(x) => Ok(x),
            ReadNumber::Text(t) => match t.as_str() {
                "nan" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                _ => Err(E::custom(format!(
                    "expected a number, \"nan\", \"inf\" or \"-inf\", got \"{t}\""
                ))),
            },
        }
    }
}

/// `Vec<f64>` through [`JsonNumber`] (serde_json alone writes a non-finite value as null).
mod numbers {
    use super::{JsonNumber, ReadNumber};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(values: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(values.iter().map(|&x| JsonNumber(x)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Vec::<ReadNumber>::deserialize(d)?
            .into_iter()
            .map(ReadNumber::value)
            .collect()
    }
}

/// `Vec<[f64; 2]>` through [`JsonNumber`].
mod pairs {
    use super::{JsonNumber, ReadNumber};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(values: &[[f64; 2]], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(values.iter().map(|p| [JsonNumber(p[0]), JsonNumber(p[1])]))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[f64; 2]>, D::Error> {
        Vec::<[ReadNumber; 2]>::deserialize(d)?
            .into_iter()
            .map(|[a, b]| Ok([a.value()?, b.value()?]))
            .collect()
    }
}

/// The merge-tree JSON of docs/ARCHITECTURE.md, contract 3.
#[derive(Serialize)]
pub struct TreeDocument {
    shape: Vec<usize>,
    connectivity: &'static str,
    tree: &'static str,
    /// The absolute persistence threshold the tree was simplified with, if any.
    simplification_threshold: Option<JsonNumber>,
    vertex_count: usize,
    nonfinite_count: usize,
    nodes: Vec<NodeJson>,
    arcs: Vec<ArcJson>,
    pairs: Vec<PairJson>,
}

#[derive(Serialize)]
struct NodeJson {
    id: u32,
    vertex: u32,
    value: JsonNumber,
    kind: &'static str,
}

#[derive(Serialize)]
struct ArcJson {
    down: u32,
    up: u32,
    size: u64,
}

#[derive(Serialize)]
struct PairJson {
    birth: JsonNumber,
    death: Option<JsonNumber>,
    birth_vertex: u32,
    death_vertex: Option<u32>,
    persistence: JsonNumber,
}

impl TreeDocument {
    /// The document of `tree` on a field of `shape` (its connectivity named), with the simplified tree when there is one.
    pub fn new(
        tree: &MergeTree,
        shape: &[usize],
        connectivity: &'static str,
        threshold: Option<f64>,
    ) -> Self {
        let nodes = tree
            .nodes()
            .iter()
            .enumerate()
            .map(|(id, node)| NodeJson {
                id: id as u32,
                vertex: node.vertex,
                value: JsonNumber(node.value),
                kind: node.kind.name(tree.kind()),
            })
            .collect();
        let arcs = tree
            .arcs()
            .map(|arc| ArcJson {
                down: arc.down,
                up: arc.up,
                size: arc.size,
            })
            .collect();
        let pairs = tree
            .pairs()
            .iter()
            .map(|p| PairJson {
                birth: JsonNumber(p.birth),
                death: p.death.map(JsonNumber),
                birth_vertex: p.birth_vertex,
                death_vertex: p.death_vertex,
                persistence: JsonNumber(p.persistence),
            })
            .collect();
        Self {
            shape: shape.to_vec(),
            connectivity,
            tree: tree.kind().name(),
            simplification_threshold: threshold.map(JsonNumber),
            vertex_count: tree.vertex_count(),
            nonfinite_count: tree.nonfinite_count(),
            nodes,
            arcs,
            pairs,
        }
    }
}

/// The profile JSON: every drawn basin with its interval and outline.
#[derive(Serialize)]
pub struct ProfileDocument {
    vertex_count: u64,
    /// Basins too small to draw (below the size threshold), left out of `basins`.
    hidden_basins: usize,
    /// The finite value range: the profile's vertical extent.
    loss_range: [f64; 2],
    basins: Vec<BasinJson>,
}

#[derive(Serialize)]
struct BasinJson {
    node: u32,
    top_node: u32,
    parent: Option<u32>,
    kind: &'static str,
    size: u64,
    x: [f64; 2],
    bottom: f64,
    top: f64,
    mean_loss: JsonNumber,
    polygon: Vec<[f64; 2]>,
}

impl ProfileDocument {
    /// The document of `profile`, drawn from `tree`.
    pub fn new(tree: &MergeTree, profile: &Profile) -> Self {
        Self {
            vertex_count: profile.vertex_count,
            hidden_basins: profile.hidden_basins,
            loss_range: [profile.value_range.0, profile.value_range.1],
            basins: profile
                .basins
                .iter()
                .map(|b| BasinJson {
                    node: b.node,
                    top_node: b.top_node,
                    parent: b.parent,
                    kind: b.kind.name(tree.kind()),
                    size: b.size,
                    x: b.x,
                    bottom: b.bottom,
                    top: b.top,
                    mean_loss: JsonNumber(b.mean_value),
                    polygon: b.polygon.clone(),
                })
                .collect(),
        }
    }
}

/// The metrics of one tree, as written to and read from `metrics.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsJson {
    /// Minima of the tree.
    pub minima: usize,
    /// Saddles (merges) of the tree.
    pub saddles: usize,
    /// The mean persistence of the finite pairs (null without one).
    pub average_persistence: Option<f64>,
    /// The sum of the finite pairs' persistence.
    pub total_persistence: f64,
    /// The largest finite persistence (null without one).
    pub max_persistence: Option<f64>,
    /// Landscaper's SMADs, from the field's contour tree (null for a simplified tree).
    pub smad: Option<f64>,
    /// `smad` divided by `loss_max - loss_min`.
    pub smad_normalized: Option<f64>,
    /// `smad` weighted by each minimum's share of the vertices.
    pub smad_weighted: Option<f64>,
    /// Whether that contour tree's join and split trees are the field's (null without one).
    #[serde(default)]
    pub contour_tree_consistent: Option<bool>,
    /// toposcape's SMADs on the merge tree.
    #[serde(default)]
    pub merge_tree_smad: Option<f64>,
    /// `merge_tree_smad` divided by `loss_max - loss_min`.
    #[serde(default)]
    pub merge_tree_smad_normalized: Option<f64>,
    /// `merge_tree_smad` weighted by segment sizes.
    #[serde(default)]
    pub merge_tree_smad_weighted: Option<f64>,
    /// The smallest finite value.
    pub loss_min: Option<f64>,
    /// The largest finite value.
    pub loss_max: Option<f64>,
    /// Vertices whose value is not finite.
    pub nonfinite: usize,
    /// Grid points of the basins of dying minima when they merge: the 10 largest.
    pub largest_basins: Vec<u64>,
}

impl From<&Metrics> for MetricsJson {
    fn from(m: &Metrics) -> Self {
        Self {
            minima: m.minima,
            saddles: m.saddles,
            average_persistence: m.average_persistence,
            total_persistence: m.total_persistence,
            max_persistence: m.max_persistence,
            smad: m.smad,
            smad_normalized: m.smad_normalized,
            smad_weighted: m.smad_weighted,
            contour_tree_consistent: m.contour_tree_consistent,
            merge_tree_smad: m.merge_tree_smad,
            merge_tree_smad_normalized: m.merge_tree_smad_normalized,
            merge_tree_smad_weighted: m.merge_tree_smad_weighted,
            loss_min: m.loss_min,
            loss_max: m.loss_max,
            nonfinite: m.nonfinite,
            largest_basins: m.largest_basins.clone(),
        }
    }
}

/// A metric's value: a count, or a measurement (`None` where it is undefined).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetricValue {
    /// A count (printed as an integer).
    Count(usize),
    /// A measurement.
    Value(Option<f64>),
}

impl MetricValue {
    /// The value as a number.
    pub fn as_f64(self) -> Option<f64> {
        match self {
            MetricValue::Count(n) => Some(n as f64),
            MetricValue::Value(v) => v,
        }
    }
}

impl MetricsJson {
    /// The scalar metrics by name, in the order of runs.csv's columns (and of `toposcape
    /// compare`'s table): the one list of them.
    pub fn scalars(&self) -> [(&'static str, MetricValue); 14] {
        use MetricValue::{Count, Value};
        [
            ("minima", Count(self.minima)),
            ("saddles", Count(self.saddles)),
            ("average_persistence", Value(self.average_persistence)),
            ("total_persistence", Value(Some(self.total_persistence))),
            ("max_persistence", Value(self.max_persistence)),
            ("smad", Value(self.smad)),
            ("smad_normalized", Value(self.smad_normalized)),
            ("smad_weighted", Value(self.smad_weighted)),
            ("loss_min", Value(self.loss_min)),
            ("merge_tree_smad", Value(self.merge_tree_smad)),
            (
                "merge_tree_smad_normalized",
                Value(self.merge_tree_smad_normalized),
            ),
            (
                "merge_tree_smad_weighted",
                Value(self.merge_tree_smad_weighted),
            ),
            ("loss_max", Value(self.loss_max)),
            ("nonfinite", Count(self.nonfinite)),
        ]
    }
}

/// A persistence diagram in JSON: finite points `[birth, death]` and essential births.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagramJson {
    /// (birth, death) pairs that die; a birth may be -inf (a vertex whose loss is -inf).
    #[serde(with = "pairs")]
    pub points: Vec<[f64; 2]>,
    /// Births of the pairs that never die (-inf where the lowest loss is).
    #[serde(with = "numbers")]
    pub essential: Vec<f64>,
}

impl From<&Diagram> for DiagramJson {
    fn from(d: &Diagram) -> Self {
        Self {
            points: d.points.iter().map(|&(b, d)| [b, d]).collect(),
            essential: d.essential.clone(),
        }
    }
}

impl From<&DiagramJson> for Diagram {
    fn from(d: &DiagramJson) -> Self {
        Self {
            points: d.points.iter().map(|p| (p[0], p[1])).collect(),
            essential: d.essential.clone(),
        }
    }
}

/// The simplified tree's metrics and diagram, with its threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimplifiedJson {
    /// The absolute persistence threshold.
    pub threshold: f64,
    /// The simplified tree's metrics.
    pub metrics: MetricsJson,
    /// The simplified tree's diagram.
    pub diagram: DiagramJson,
}

/// One basin of attraction in `metrics.json`: its minimum's vertex and value, and its number of
/// vertices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttractionBasinJson {
    /// The minimum's vertex.
    pub minimum: u32,
    /// The value at the minimum.
    pub value: f64,
    /// Vertices that descend to it.
    pub size: u64,
}

/// `metrics.json`: the metrics and diagram of the unsimplified tree, and of the simplified one
/// when a threshold was given; the field's basins of attraction, lowest minimum first (entry
/// `i` is the basin that `topo --basins` labels `i`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsDocument {
    /// The field's file.
    pub field: String,
    /// The field's shape.
    pub shape: Vec<usize>,
    /// `freudenthal`, `2d`/`3d` or `knn`.
    pub connectivity: String,
    /// The join tree's metrics.
    pub metrics: MetricsJson,
    /// The join tree's persistence diagram.
    pub diagram: DiagramJson,
    /// The basins of attraction, lowest minimum first.
    #[serde(default)]
    pub basins: Vec<AttractionBasinJson>,
    /// The simplified tree, when a threshold was given.
    pub simplified: Option<SimplifiedJson>,
}

/// What the metrics of a field are computed from: its join tree, contour tree and basins.
pub struct FieldTopology<'a> {
    /// The join tree.
    pub tree: &'a MergeTree,
    /// The contour tree.
    pub contour: &'a ContourTree,
    /// The basins of steepest descent.
    pub basins: &'a Basins,
}

impl MetricsDocument {
    /// The metrics of a field (`field` names its file) from its topology, and of the simplified tree when there is one.
    pub fn new(
        field: &str,
        shape: &[usize],
        connectivity: &str,
        topology: FieldTopology<'_>,
        simplified: Option<(f64, &MergeTree)>,
    ) -> Self {
        let FieldTopology {
            tree,
            contour,
            basins,
        } = topology;
        let metrics = Metrics::of_field(tree, contour, basins);
        let basin_list: Vec<AttractionBasinJson> = basins
            .minima()
            .iter()
            .zip(basins.sizes())
            .map(|(&minimum, &size)| AttractionBasinJson {
                minimum,
                // A basin's minimum is a leaf of the join tree, its own node.
                value: tree.node(tree.segmentation()[minimum as usize]).value,
                size,
            })
            .collect();
        Self {
            field: field.to_string(),
            shape: shape.to_vec(),
            connectivity: connectivity.to_string(),
            metrics: MetricsJson::from(&metrics),
            diagram: DiagramJson::from(&Diagram::of(tree)),
            basins: basin_list,
            simplified: simplified.map(|(threshold, simple)| SimplifiedJson {
                threshold,
                metrics: MetricsJson::from(&Metrics::of(simple)),
                diagram: DiagramJson::from(&Diagram::of(simple)),
            }),
        }
    }

    /// Reads a document; one written before the contour tree (no `merge_tree_smad`) had its
    /// merge-tree SMADs under the names `smad*`, which move to where they belong now.
    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        let mut value: serde_json::Value = serde_json::from_str(text)?;
        for pointer in ["/metrics", "/simplified/metrics"] {
            if let Some(serde_json::Value::Object(m)) = value.pointer_mut(pointer)
                && !m.contains_key("merge_tree_smad")
            {
                for key in ["smad", "smad_normalized", "smad_weighted"] {
                    let old = m.insert(key.to_string(), serde_json::Value::Null);
                    m.insert(format!("merge_tree_{key}"), old.unwrap_or_default());
                }
            }
        }
        serde_json::from_value(value)
    }
}

/// The contour-tree JSON of `topo --contour-tree`: nodes (the vertices that are not regular)
/// and arcs with the number of regular vertices inside each.
#[derive(Serialize)]
pub struct ContourTreeDocument {
    shape: Vec<usize>,
    connectivity: &'static str,
    vertex_count: usize,
    /// Whether the tree's join and split trees are the field's, as measured.
    consistent: bool,
    nodes: Vec<ContourNodeJson>,
    arcs: Vec<ArcJson>,
}

#[derive(Serialize)]
struct ContourNodeJson {
    id: u32,
    vertex: u32,
    value: JsonNumber,
    kind: &'static str,
    down_degree: u32,
    up_degree: u32,
}

impl ContourTreeDocument {
    /// The document of a contour tree on a field of `shape`.
    pub fn new(tree: &ContourTree, shape: &[usize], connectivity: &'static str) -> Self {
        Self {
            shape: shape.to_vec(),
            connectivity,
            vertex_count: tree.vertex_count(),
            consistent: tree.is_consistent(),
            nodes: tree
                .nodes()
                .iter()
                .enumerate()
                .map(|(id, node)| ContourNodeJson {
                    id: id as u32,
                    vertex: node.vertex,
                    value: JsonNumber(node.value),
                    kind: node.kind().name(),
                    down_degree: node.down_degree,
                    up_degree: node.up_degree,
                })
                .collect(),
            arcs: tree
                .arcs()
                .iter()
                .map(|arc| ArcJson {
                    down: arc.down,
                    up: arc.up,
                    size: arc.size,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diagram_keeps_its_infinities_through_json() {
        let diagram = DiagramJson {
            points: vec![[f64::NEG_INFINITY, 1.0], [0.5, 2.0]],
            essential: vec![f64::NEG_INFINITY, 0.25],
        };
        let text = serde_json::to_string(&diagram).unwrap();
        assert_eq!(
            text,
            r#"{"points":[["-inf",1.0],[0.5,2.0]],"essential":["-inf",0.25]}"#
        );
        let back: DiagramJson = serde_json::from_str(&text).unwrap();
        assert_eq!(back, diagram);
        let nan: DiagramJson =
            serde_json::from_str(r#"{"points":[],"essential":["nan"]}"#).unwrap();
        assert!(nan.essential[0].is_nan());
        let bad = serde_json::from_str::<DiagramJson>(r#"{"points":[],"essential":["low"]}"#);
        assert!(bad.unwrap_err().to_string().contains("got \"low\""));
    }
}
