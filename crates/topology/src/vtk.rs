//! VTK ImageData (`.vti`, the XML format of VTK 1.0 files with raw appended data) for fields of
//! 1 to 3 axes, to open in ParaView or read with TTK.
//!
//! VTK stores points with x varying fastest; a C-order field's last axis varies fastest, so the
//! field's last axis becomes x, the one before it y, and the first of three z. The grid has
//! origin 0 and spacing 1 in index units. Arrays are written little-endian after the XML, each
//! behind its byte count as a UInt64 (`header_type="UInt64"`).

use crate::TopologyError;

/// The values of one point-data array.
#[derive(Debug, Clone, Copy)]
pub enum VtkValues<'a> {
    Float32(&'a [f32]),
    Float64(&'a [f64]),
    UInt32(&'a [u32]),
}

impl VtkValues<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Float32(v) => v.len(),
            Self::Float64(v) => v.len(),
            Self::UInt32(v) => v.len(),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Self::Float32(_) => "Float32",
            Self::Float64(_) => "Float64",
            Self::UInt32(_) => "UInt32",
        }
    }

    fn append_bytes(&self, out: &mut Vec<u8>) {
        match self {
            Self::Float32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            Self::Float64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            Self::UInt32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        }
    }

    fn byte_len(&self) -> usize {
        self.len()
            * match self {
                Self::Float64(_) => 8,
                _ => 4,
            }
    }
}

/// A `.vti` file of the given shape (1 to 3 axes, C order) with named point-data arrays, one
/// value per vertex each; the first array is the active scalars.
pub fn image_data(
    shape: &[usize],
    arrays: &[(&str, VtkValues<'_>)],
) -> Result<Vec<u8>, TopologyError> {
    if shape.is_empty() || shape.len() > 3 {
        return Err(TopologyError::InvalidVtk(format!(
            "VTK image data has 1 to 3 axes; this field has {}",
            shape.len()
        )));
    }
    let n: usize = shape.iter().product();
    for (name, values) in arrays {
        if values.len() != n {
            return Err(TopologyError::InvalidVtk(format!(
                "array {name} has {} values for {n} points",
                values.len()
            )));
        }
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(TopologyError::InvalidVtk(format!(
                "array name '{name}': expected letters, digits and underscores"
            )));
        }
    }
    // x, y, z extents: the last axis first.
    let mut sizes = [1usize; 3];
    for (i, &len) in shape.iter().rev().enumerate() {
        sizes[i] = len;
    }
    let extent = sizes
        .iter()
        .map(|&len| format!("0 {}", len - 1))
        .collect::<Vec<_>>()
        .join(" ");
    let mut xml = String::new();
    xml.push_str("<?xml version=\"1.0\"?>\n");
    xml.push_str(
        "<VTKFile type=\"ImageData\" version=\"1.0\" byte_order=\"LittleEndian\" \
         header_type=\"UInt64\">\n",
    );
    xml.push_str(&format!(
        "  <ImageData WholeExtent=\"{extent}\" Origin=\"0 0 0\" Spacing=\"1 1 1\">\n"
    ));
    xml.push_str(&format!("    <Piece Extent=\"{extent}\">\n"));
    match arrays.first() {
        Some((name, _)) => xml.push_str(&format!("      <PointData Scalars=\"{name}\">\n")),
        None => xml.push_str("      <PointData>\n"),
    }
    let mut offset = 0usize;
    for (name, values) in arrays {
        xml.push_str(&format!(
            "        <DataArray type=\"{}\" Name=\"{name}\" NumberOfComponents=\"1\" \
             format=\"appended\" offset=\"{offset}\"/>\n",
            values.type_name()
        ));
        offset += 8 + values.byte_len();
    }
    xml.push_str("      </PointData>\n      <CellData/>\n    </Piece>\n  </ImageData>\n");
    xml.push_str("  <AppendedData encoding=\"raw\">\n   _");
    let mut bytes = xml.into_bytes();
    bytes.reserve(offset + 64);
    for (_, values) in arrays {
        bytes.extend((values.byte_len() as u64).to_le_bytes());
        values.append_bytes(&mut bytes);
    }
    bytes.extend(b"\n  </AppendedData>\n</VTKFile>\n");
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_a_small_file() {
        let loss = [0.5f32, 1.5, 2.5, 3.5, 4.5, 5.5];
        let labels = [0u32, 0, 1, 1, 2, 2];
        let bytes = image_data(
            &[2, 3],
            &[
                ("loss", VtkValues::Float32(&loss)),
                ("basin", VtkValues::UInt32(&labels)),
            ],
        )
        .unwrap();
        let text = String::from_utf8_lossy(&bytes);
        // The last axis (3 long) is x.
        assert!(text.contains("WholeExtent=\"0 2 0 1 0 0\""), "{text}");
        assert!(
            text.contains(
                "Name=\"basin\" NumberOfComponents=\"1\" format=\"appended\" offset=\"32\""
            )
        );
        let marker = b"<AppendedData encoding=\"raw\">\n   _";
        let start = bytes
            .windows(marker.len())
            .position(|w| w == marker)
            .unwrap()
            + marker.len();
        assert_eq!(&bytes[start..start + 8], &24u64.to_le_bytes());
        assert_eq!(&bytes[start + 8..start + 12], &0.5f32.to_le_bytes());
        assert!(image_data(&[2, 2, 2, 2], &[]).is_err());
        assert!(image_data(&[2], &[("loss", VtkValues::Float32(&loss))]).is_err());
        assert!(image_data(&[6], &[("a b", VtkValues::Float32(&loss))]).is_err());
    }
}
