//! Errors of the topology crate.

use thiserror::Error;

/// What can be wrong with the input to a merge-tree computation.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TopologyError {
    /// A grid needs at least one axis.
    #[error("a grid needs at least one dimension")]
    NoDimensions,
    /// Grids of more than [`crate::MAX_DIMENSIONS`] axes are not supported.
    #[error("a grid has at most {max} dimensions, this one has {dimensions}")]
    TooManyDimensions { dimensions: usize, max: usize },
    /// An axis of length zero makes an empty field.
    #[error("axis {axis} has length 0: the field is empty")]
    EmptyAxis { axis: usize },
    /// Vertex ids are 32-bit: a field has fewer than 2^32 - 1 vertices.
    #[error("{count} vertices is too many: at most {max} are supported")]
    TooManyVertices { count: u128, max: u64 },
    /// A domain without vertices has no merge tree.
    #[error("the domain has no vertices")]
    NoVertices,
    /// The number of values differs from the number of vertices of the domain.
    #[error("{values} values were given for a domain of {vertices} vertices")]
    LengthMismatch { values: usize, vertices: usize },
    /// A graph's adjacency is not a valid compressed sparse row structure.
    #[error("invalid graph: {0}")]
    InvalidGraph(String),
    /// A profile was asked of a split tree, or with options out of range.
    #[error("{0}")]
    InvalidProfileOption(String),
    /// A VTK file was asked of a field or arrays it cannot hold.
    #[error("{0}")]
    InvalidVtk(String),
    /// A simplification threshold must be a non-negative number.
    #[error("the simplification threshold must be a non-negative number, not {0}")]
    InvalidThreshold(f64),
}
