//! The landscape store: sampled losses written in chunks as they finish, so that a run killed
//! at any moment resumes where it stopped.
//!
//! A store is a folder holding `store.json` (what is being sampled: a fingerprint of theta0,
//! the directions, the coordinates and the loss, plus the chunk size) and one file per finished
//! chunk, `chunk-NNNNNNNN.f32`: the chunk's losses as little-endian f32, in point order,
//! followed by an 8-byte little-endian checksum (FNV-1a over the store's fingerprint, the
//! chunk's index and the value bytes). A chunk file is written under a temporary name and
//! renamed into place, so a chunk file that exists is complete; temporaries left by a killed
//! run are removed on open. A chunk whose size or checksum is wrong (a damaged disk, a file
//! copied from another store, an edit) is never trusted: [`ChunkStore::discard_damaged`]
//! removes it so that it is computed again, and [`ChunkStore::has`] and
//! [`ChunkStore::assemble`] refuse it. Chunk `k` always holds the same points, so which chunks
//! were computed before an interruption cannot change any value, and a resumed store assembles
//! to the same bits as one computed in one go.

use std::fs;
use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What a store holds; two runs with equal descriptions compute the same values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreDescription {
    /// The number of points.
    pub points: usize,
    /// Points per chunk.
    pub chunk: usize,
    /// A hash of everything the values depend on (hex), see [`Fingerprint`].
    pub fingerprint: String,
}

impl StoreDescription {
    /// The number of chunks.
    pub fn chunk_count(&self) -> usize {
        self.points.div_ceil(self.chunk)
    }

    /// The point indices of chunk `k`.
    pub fn range(&self, k: usize) -> Range<usize> {
        let start = k * self.chunk;
        start..(start + self.chunk).min(self.points)
    }
}

/// FNV-1a (64 bits) over the bytes of everything a landscape depends on: not cryptographic,
/// only to notice that a folder holds the chunks of a different computation.
#[derive(Debug, Clone)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }
}

impl Fingerprint {
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        self
    }

    pub fn f32s(&mut self, values: &[f32]) -> &mut Self {
        for v in values {
            self.bytes(&v.to_le_bytes());
        }
        self
    }

    pub fn f64s(&mut self, values: &[f64]) -> &mut Self {
        for v in values {
            self.bytes(&v.to_le_bytes());
        }
        self
    }

    pub fn text(&mut self, text: &str) -> &mut Self {
        self.bytes(&(text.len() as u64).to_le_bytes())
            .bytes(text.as_bytes())
    }

    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Why a store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "{path}: holds the chunks of a different computation ({found}; this run is {expected})"
    )]
    Mismatch {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("{path}: damaged, or not the description of a landscape store ({reason})")]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "{path}: a stored chunk is damaged ({reason}); run the same command again to compute it anew"
    )]
    Damaged { path: PathBuf, reason: String },
}

/// A chunk file that failed its check and was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedChunk {
    /// The chunk's index.
    pub chunk: usize,
    /// What was wrong with it.
    pub reason: String,
}

/// The bytes of a chunk's checksum, after its values.
const CHECKSUM_BYTES: usize = 8;

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An open store.
#[derive(Debug)]
pub struct ChunkStore {
    dir: PathBuf,
    description: StoreDescription,
}

const DESCRIPTION: &str = "store.json";

impl ChunkStore {
    /// Opens the store in `dir`, creating it if needed. An existing store must describe the
    /// same computation, else [`StoreError::Mismatch`].
    pub fn open(dir: &Path, description: StoreDescription) -> Result<Self, StoreError> {
        assert!(description.chunk > 0, "chunks of at least one point");
        let file = dir.join(DESCRIPTION);
        if file.exists() {
            let text = fs::read_to_string(&file).map_err(io_error(&file))?;
            let found: StoreDescription =
                serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                    path: file.clone(),
                    reason: e.to_string(),
                })?;
            if found != description {
                let show = |d: &StoreDescription| {
                    format!(
                        "{} points in chunks of {}, fingerprint {}",
                        d.points, d.chunk, d.fingerprint
                    )
                };
                return Err(StoreError::Mismatch {
                    path: dir.to_path_buf(),
                    found: show(&found),
                    expected: show(&description),
                });
            }
            // Temporaries of a killed run.
            for entry in fs::read_dir(dir).map_err(io_error(dir))? {
                let path = entry.map_err(io_error(dir))?.path();
                if path.extension().is_some_and(|e| e == "tmp") {
                    fs::remove_file(&path).map_err(io_error(&path))?;
                }
            }
        } else {
            fs::create_dir_all(dir).map_err(io_error(dir))?;
            let text = serde_json::to_string_pretty(&description).expect("serialisable");
            write_atomically(&file, text.as_bytes())?;
        }
        Ok(ChunkStore {
            dir: dir.to_path_buf(),
            description,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn description(&self) -> &StoreDescription {
        &self.description
    }

    pub fn chunk_count(&self) -> usize {
        self.description.chunk_count()
    }

    /// The point indices of chunk `k`.
    pub fn range(&self, k: usize) -> Range<usize> {
        self.description.range(k)
    }

    fn chunk_path(&self, k: usize) -> PathBuf {
        self.dir.join(format!("chunk-{k:08}.f32"))
    }

    /// The checksum of chunk `k` holding `bytes`: a chunk of another store or index fails it.
    fn checksum(&self, k: usize, bytes: &[u8]) -> [u8; CHECKSUM_BYTES] {
        let mut hash = Fingerprint::default();
        hash.text(&self.description.fingerprint)
            .bytes(&(k as u64).to_le_bytes())
            .bytes(bytes);
        hash.0.to_le_bytes()
    }

    /// Chunk `k`'s values, `Ok(None)` when it is not stored, or why its file is damaged.
    fn read(&self, k: usize) -> Result<Option<Result<Vec<f32>, String>>, StoreError> {
        let path = self.chunk_path(k);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path)(e)),
        };
        let expected = self.range(k).len() * 4 + CHECKSUM_BYTES;
        if bytes.len() != expected {
            return Ok(Some(Err(format!(
                "{} bytes, expected {expected}",
                bytes.len()
            ))));
        }
        let (values, checksum) = bytes.split_at(expected - CHECKSUM_BYTES);
        if checksum != self.checksum(k, values) {
            return Ok(Some(Err("its checksum does not match its values".into())));
        }
        Ok(Some(Ok(values
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())))
    }

    /// Whether chunk `k` is stored; a damaged chunk file is an error ([`StoreError::Damaged`]).
    pub fn has(&self, k: usize) -> Result<bool, StoreError> {
        match self.read(k)? {
            None => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(reason)) => Err(StoreError::Damaged {
                path: self.chunk_path(k),
                reason,
            }),
        }
    }

    /// Removes every chunk file that fails its check (size or checksum), so that those chunks
    /// are computed again, and says which they were.
    pub fn discard_damaged(&self) -> Result<Vec<DamagedChunk>, StoreError> {
        let mut damaged = Vec::new();
        for k in 0..self.chunk_count() {
            if let Some(Err(reason)) = self.read(k)? {
                let path = self.chunk_path(k);
                fs::remove_file(&path).map_err(io_error(&path))?;
                damaged.push(DamagedChunk { chunk: k, reason });
            }
        }
        Ok(damaged)
    }

    /// The chunks not stored yet, in order.
    pub fn missing(&self) -> Result<Vec<usize>, StoreError> {
        let mut missing = Vec::new();
        for k in 0..self.chunk_count() {
            if !self.has(k)? {
                missing.push(k);
            }
        }
        Ok(missing)
    }

    /// Stores chunk `k`'s values.
    pub fn write(&self, k: usize, values: &[f32]) -> Result<(), StoreError> {
        assert_eq!(values.len(), self.range(k).len(), "chunk {k}'s length");
        let mut bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let checksum = self.checksum(k, &bytes);
        bytes.extend_from_slice(&checksum);
        write_atomically(&self.chunk_path(k), &bytes)
    }

    /// Every point's value, once all chunks are stored.
    pub fn assemble(&self) -> Result<Vec<f32>, StoreError> {
        let mut values = Vec::with_capacity(self.description.points);
        for k in 0..self.chunk_count() {
            let path = self.chunk_path(k);
            match self.read(k)? {
                Some(Ok(chunk)) => values.extend(chunk),
                Some(Err(reason)) => return Err(StoreError::Damaged { path, reason }),
                None => {
                    return Err(StoreError::Io {
                        path,
                        source: io::Error::new(io::ErrorKind::NotFound, "chunk not computed"),
                    });
                }
            }
        }
        Ok(values)
    }

    /// Deletes the store's folder (after its values have been written elsewhere).
    pub fn remove(self) -> Result<(), StoreError> {
        fs::remove_dir_all(&self.dir).map_err(io_error(&self.dir))
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so that
/// `path` either does not exist or is complete.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let temporary = path.with_extension("tmp");
    let mut file = fs::File::create(&temporary).map_err(io_error(&temporary))?;
    file.write_all(bytes).map_err(io_error(&temporary))?;
    file.sync_data().map_err(io_error(&temporary))?;
    drop(file);
    fs::rename(&temporary, path).map_err(io_error(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("toposcape-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn description(fingerprint: &str) -> StoreDescription {
        StoreDescription {
            points: 10,
            chunk: 4,
            fingerprint: fingerprint.into(),
        }
    }

    #[test]
    fn chunks_round_trip_and_survive_reopening() {
        let dir = temp_dir("round-trip");
        let store = ChunkStore::open(&dir, description("a")).unwrap();
        assert_eq!(store.chunk_count(), 3);
        assert_eq!(store.range(2), 8..10);
        assert_eq!(store.missing().unwrap(), vec![0, 1, 2]);
        store
            .write(1, &[4.0, 5.0, f32::NAN, f32::INFINITY])
            .unwrap();
        // A temporary of a killed run is removed on open.
        fs::write(dir.join("chunk-00000000.tmp"), b"half").unwrap();
        let store = ChunkStore::open(&dir, description("a")).unwrap();
        assert!(!dir.join("chunk-00000000.tmp").exists());
        assert_eq!(store.missing().unwrap(), vec![0, 2]);
        store.write(0, &[0.0, 1.0, 2.0, 3.0]).unwrap();
        store.write(2, &[8.0, 9.0]).unwrap();
        let values = store.assemble().unwrap();
        assert_eq!(values.len(), 10);
        assert!(values[6].is_nan() && values[7] == f32::INFINITY);
        assert_eq!(values[9], 9.0);
        store.remove().unwrap();
        assert!(!dir.exists());
    }

    #[test]
    fn a_different_computation_is_refused() {
        let dir = temp_dir("mismatch");
        ChunkStore::open(&dir, description("a")).unwrap();
        let err = ChunkStore::open(&dir, description("b")).unwrap_err();
        assert!(matches!(err, StoreError::Mismatch { .. }), "{err}");
        fs::write(dir.join("chunk-00000001.f32"), [0u8; 7]).unwrap();
        let store = ChunkStore::open(&dir, description("a")).unwrap();
        assert!(matches!(store.missing(), Err(StoreError::Damaged { .. })));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn damaged_chunks_are_found_and_discarded() {
        let dir = temp_dir("damaged");
        let store = ChunkStore::open(&dir, description("a")).unwrap();
        store.write(0, &[0.0, 1.0, 2.0, 3.0]).unwrap();
        store.write(1, &[4.0, 5.0, 6.0, 7.0]).unwrap();
        store.write(2, &[8.0, 9.0]).unwrap();
        assert!(store.discard_damaged().unwrap().is_empty());
        // One flipped bit in a value of chunk 1.
        let path = dir.join("chunk-00000001.f32");
        let mut bytes = fs::read(&path).unwrap();
        bytes[5] ^= 0x01;
        fs::write(&path, &bytes).unwrap();
        assert!(matches!(store.has(1), Err(StoreError::Damaged { .. })));
        assert!(matches!(store.assemble(), Err(StoreError::Damaged { .. })));
        // Chunk 0's file copied over chunk 1 (same size, valid for index 0 only).
        fs::copy(dir.join("chunk-00000000.f32"), &path).unwrap();
        assert!(matches!(store.has(1), Err(StoreError::Damaged { .. })));
        // The chunks of another store with the same shape fail too.
        let other_dir = temp_dir("damaged-other");
        let other = ChunkStore::open(&other_dir, description("b")).unwrap();
        other.write(2, &[8.0, 9.0]).unwrap();
        fs::copy(
            other_dir.join("chunk-00000002.f32"),
            dir.join("chunk-00000002.f32"),
        )
        .unwrap();
        let damaged = store.discard_damaged().unwrap();
        assert_eq!(
            damaged.iter().map(|d| d.chunk).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(store.missing().unwrap(), vec![1, 2]);
        assert!(store.has(0).unwrap());
        fs::remove_dir_all(&dir).unwrap();
        fs::remove_dir_all(&other_dir).unwrap();
    }

    #[test]
    fn fingerprints_change_with_any_input() {
        let base = Fingerprint::default().f32s(&[1.0, 2.0]).text("pinn").hex();
        assert_ne!(
            base,
            Fingerprint::default().f32s(&[1.0, 2.5]).text("pinn").hex()
        );
        assert_ne!(
            base,
            Fingerprint::default().f32s(&[1.0, 2.0]).text("unet").hex()
        );
        assert_eq!(
            base,
            Fingerprint::default().f32s(&[1.0, 2.0]).text("pinn").hex()
        );
    }
}
