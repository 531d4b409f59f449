//! Segmentation data: a seeded generator of synthetic shapes, and a loader for the Oxford-IIIT
//! Pet layout. Both give RGB images in `[0, 1]` and per-pixel classes 0 background, 1
//! foreground, 2 border (the Pet trimaps' "not classified" ring); with two classes the border
//! counts as foreground.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use burn::prelude::*;

use toposcape_perturb::random::SplitMix64;

/// Images `[N, 3, S, S]` (C order, f32 in `[0, 1]`) and their classes `[N, S, S]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentationSet {
    pub size: usize,
    pub images: Vec<f32>,
    pub labels: Vec<i64>,
}

impl SegmentationSet {
    pub fn len(&self) -> usize {
        self.labels.len() / (self.size * self.size).max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Images `[start, start + count)` as tensors on `device`.
    pub fn batch(
        &self,
        start: usize,
        count: usize,
        device: &Device,
    ) -> (Tensor<4>, Tensor<3, Int>) {
        let s = self.size;
        let pixels = s * s;
        let images = &self.images[3 * pixels * start..3 * pixels * (start + count)];
        let labels = &self.labels[pixels * start..pixels * (start + count)];
        (
            Tensor::<1>::from_floats(images, device).reshape([count, 3, s, s]),
            Tensor::<1, Int>::from_ints(labels, device).reshape([count, s, s]),
        )
    }

    fn push(&mut self, image: Vec<f32>, labels: Vec<i64>) {
        self.images.extend(image);
        self.labels.extend(labels);
    }
}

/// The synthetic shapes data set.
#[derive(Config, Debug)]
pub struct ShapesConfig {
    /// Image side in pixels.
    #[config(default = 32)]
    pub size: usize,
    #[config(default = 256)]
    pub train_images: usize,
    /// Held-out images for accuracy and mean IoU.
    #[config(default = 64)]
    pub test_images: usize,
    /// Shapes per image: between 1 and this many.
    #[config(default = 3)]
    pub max_shapes: usize,
    /// Width of the border ring in pixels, on both sides of each shape's outline.
    #[config(default = 1)]
    pub border_width: usize,
    /// Standard deviation of the pixel noise.
    #[config(default = 0.08)]
    pub noise: f64,
    /// 3 (with a border class) or 2.
    #[config(default = 3)]
    pub classes: usize,
    #[config(default = 0)]
    pub seed: u64,
}

enum Shape {
    Ellipse {
        cx: f64,
        cy: f64,
        rx: f64,
        ry: f64,
        angle: f64,
    },
    Rectangle {
        cx: f64,
        cy: f64,
        hx: f64,
        hy: f64,
        angle: f64,
    },
    Triangle {
        corners: [(f64, f64); 3],
    },
}

impl Shape {
    fn random(random: &mut SplitMix64, size: f64) -> Shape {
        let cx = random.between(0.2, 0.8) * size;
        let cy = random.between(0.2, 0.8) * size;
        match (random.uniform() * 3.0) as usize {
            0 => Shape::Ellipse {
                cx,
                cy,
                rx: random.between(0.1, 0.25) * size,
                ry: random.between(0.1, 0.25) * size,
                angle: random.between(0.0, PI),
            },
            1 => Shape::Rectangle {
                cx,
                cy,
                hx: random.between(0.08, 0.22) * size,
                hy: random.between(0.08, 0.22) * size,
                angle: random.between(0.0, PI),
            },
            _ => {
                let radius = random.between(0.15, 0.3) * size;
                let start = random.between(0.0, 2.0 * PI);
                let corner = |k: f64, jitter: f64| {
                    let a = start + k * 2.0 * PI / 3.0 + jitter;
                    (cx + radius * a.cos(), cy + radius * a.sin())
                };
                let jitter = [random.between(-0.3, 0.3), random.between(-0.3, 0.3)];
                Shape::Triangle {
                    corners: [
                        corner(0.0, 0.0),
                        corner(1.0, jitter[0]),
                        corner(2.0, jitter[1]),
                    ],
                }
            }
        }
    }

    fn contains(&self, x: f64, y: f64) -> bool {
        let rotate = |dx: f64, dy: f64, angle: f64| {
            let (s, c) = angle.sin_cos();
            (c * dx + s * dy, -s * dx + c * dy)
        };
        match *self {
            Shape::Ellipse {
                cx,
                cy,
                rx,
                ry,
                angle,
            } => {
                let (u, v) = rotate(x - cx, y - cy, angle);
                (u / rx).powi(2) + (v / ry).powi(2) <= 1.0
            }
            Shape::Rectangle {
                cx,
                cy,
                hx,
                hy,
                angle,
            } => {
                let (u, v) = rotate(x - cx, y - cy, angle);
                u.abs() <= hx && v.abs() <= hy
            }
            Shape::Triangle { corners } => {
                let side = |a: (f64, f64), b: (f64, f64)| {
                    (b.0 - a.0) * (y - a.1) - (b.1 - a.1) * (x - a.0)
                };
                let s = [
                    side(corners[0], corners[1]),
                    side(corners[1], corners[2]),
                    side(corners[2], corners[0]),
                ];
                s.iter().all(|v| *v >= 0.0) || s.iter().all(|v| *v <= 0.0)
            }
        }
    }
}

/// Classes from a foreground mask: pixels within `border` (Chebyshev distance) of a pixel on the
/// other side of the outline, on either side, are the border class (2), or foreground (1) with
/// two classes, as the Pet trimaps' ring is folded.
fn classes_from_mask(mask: &[bool], size: usize, border: usize, classes: usize) -> Vec<i64> {
    let mut labels: Vec<i64> = mask.iter().map(|&m| i64::from(m)).collect();
    if border == 0 {
        return labels;
    }
    let ring = if classes < 3 { 1 } else { 2 };
    let b = border as isize;
    let s = size as isize;
    for y in 0..s {
        for x in 0..s {
            let here = mask[(y * s + x) as usize];
            let mixed = (-b..=b).any(|dy| {
                (-b..=b).any(|dx| {
                    let (yy, xx) = (y + dy, x + dx);
                    (0..s).contains(&yy)
                        && (0..s).contains(&xx)
                        && mask[(yy * s + xx) as usize] != here
                })
            });
            if mixed {
                labels[(y * s + x) as usize] = ring;
            }
        }
    }
    labels
}

impl ShapesConfig {
    /// What is wrong with this config, if anything.
    pub fn check(&self) -> Result<(), String> {
        if self.size < 8 {
            return Err(format!("size = {}: expected at least 8", self.size));
        }
        if self.max_shapes == 0 {
            return Err("max_shapes = 0: expected at least 1".into());
        }
        if !(2..=3).contains(&self.classes) {
            return Err(format!("classes = {}: expected 2 or 3", self.classes));
        }
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return Err(format!(
                "noise = {}: expected a finite value >= 0",
                self.noise
            ));
        }
        Ok(())
    }

    /// The training and held-out sets (different images from one seed).
    pub fn generate(&self) -> (SegmentationSet, SegmentationSet) {
        let mut random = SplitMix64(self.seed ^ 0x5eed_5a9e);
        let train = self.images(&mut random, self.train_images);
        let test = self.images(&mut random, self.test_images);
        (train, test)
    }

    fn images(&self, random: &mut SplitMix64, count: usize) -> SegmentationSet {
        let mut set = SegmentationSet {
            size: self.size,
            images: Vec::new(),
            labels: Vec::new(),
        };
        for _ in 0..count {
            let (image, labels) = self.image(random);
            set.push(image, labels);
        }
        set
    }

    /// One image: a textured background (a random colour modulated by a random plane wave),
    /// then 1..=max_shapes shapes, each filled with its own colour and texture, then noise.
    fn image(&self, random: &mut SplitMix64) -> (Vec<f32>, Vec<i64>) {
        let s = self.size;
        let size = s as f64;
        let texture = |random: &mut SplitMix64| {
            let colour = [random.uniform(), random.uniform(), random.uniform()];
            let angle = random.between(0.0, PI);
            let frequency = random.between(0.2, 1.2);
            let amplitude = random.between(0.05, 0.2);
            (colour, angle, frequency, amplitude)
        };
        let paint = |t: &([f64; 3], f64, f64, f64), x: f64, y: f64, c: usize| {
            let (colour, angle, frequency, amplitude) = t;
            let wave = (frequency * (x * angle.cos() + y * angle.sin())).sin();
            colour[c] + amplitude * wave
        };
        let background = texture(random);
        let mut pixels = vec![0.0f64; 3 * s * s];
        for y in 0..s {
            for x in 0..s {
                for c in 0..3 {
                    pixels[c * s * s + y * s + x] = paint(&background, x as f64, y as f64, c);
                }
            }
        }
        let mut mask = vec![false; s * s];
        let shapes = 1 + (random.uniform() * self.max_shapes as f64) as usize;
        for _ in 0..shapes.min(self.max_shapes) {
            let shape = Shape::random(random, size);
            let fill = texture(random);
            for y in 0..s {
                for x in 0..s {
                    let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                    if shape.contains(px, py) {
                        mask[y * s + x] = true;
                        for c in 0..3 {
                            pixels[c * s * s + y * s + x] = paint(&fill, px, py, c);
                        }
                    }
                }
            }
        }
        let image = pixels
            .iter()
            .map(|v| (v + self.noise * random.normal()).clamp(0.0, 1.0) as f32)
            .collect();
        (
            image,
            classes_from_mask(&mask, s, self.border_width, self.classes),
        )
    }
}

/// Why a data set could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

fn data_error(path: &Path, message: impl std::fmt::Display) -> DataError {
    DataError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// The Oxford-IIIT Pet data set as laid out by its archives: `images/NAME.jpg` and
/// `annotations/trimaps/NAME.png` (1 foreground, 2 background, 3 not classified).
#[derive(Config, Debug)]
pub struct PetConfig {
    /// The folder holding `images/` and `annotations/`.
    pub root: String,
    /// Side of the square images after resizing (bilinear for images, nearest for trimaps).
    #[config(default = 64)]
    pub size: usize,
    /// Use at most this many images (0: all), taken in name order before the split.
    #[config(default = 0)]
    pub max_images: usize,
    /// Fraction held out for accuracy and mean IoU, chosen by a seeded shuffle.
    #[config(default = 0.2)]
    pub test_fraction: f64,
    /// 3 (with the border class) or 2 (border counted as foreground).
    #[config(default = 3)]
    pub classes: usize,
    #[config(default = 0)]
    pub seed: u64,
}

impl PetConfig {
    /// The training and held-out sets.
    pub fn load(&self) -> Result<(SegmentationSet, SegmentationSet), DataError> {
        let root = Path::new(&self.root);
        let images_dir = root.join("images");
        let trimaps_dir = root.join("annotations").join("trimaps");
        let entries = std::fs::read_dir(&images_dir).map_err(|e| data_error(&images_dir, e))?;
        let mut names: Vec<String> = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| data_error(&images_dir, e))?.path();
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("jpg"))
            {
                // The Pet archive has a few images without trimaps; they are skipped.
                let stem = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string();
                if trimaps_dir.join(format!("{stem}.png")).is_file() {
                    names.push(stem);
                }
            }
        }
        names.sort();
        if self.max_images > 0 {
            names.truncate(self.max_images);
        }
        if names.is_empty() {
            return Err(data_error(
                &images_dir,
                "no .jpg image with a trimap in annotations/trimaps/",
            ));
        }
        // A seeded Fisher-Yates shuffle picks the held-out images.
        let mut order: Vec<usize> = (0..names.len()).collect();
        let mut random = SplitMix64(self.seed ^ 0x0e70_9e75);
        for i in (1..order.len()).rev() {
            let j = (random.uniform() * (i + 1) as f64) as usize;
            order.swap(i, j.min(i));
        }
        let held_out = ((names.len() as f64 * self.test_fraction).round() as usize)
            .min(names.len().saturating_sub(1));
        let (test_ids, train_ids) = order.split_at(held_out);
        let read = |ids: &[usize]| -> Result<SegmentationSet, DataError> {
            let mut set = SegmentationSet {
                size: self.size,
                images: Vec::new(),
                labels: Vec::new(),
            };
            let mut sorted = ids.to_vec();
            sorted.sort_unstable();
            for &i in &sorted {
                let image = images_dir.join(format!("{}.jpg", names[i]));
                let trimap = trimaps_dir.join(format!("{}.png", names[i]));
                let (pixels, labels) = self.read_pair(&image, &trimap)?;
                set.push(pixels, labels);
            }
            Ok(set)
        };
        Ok((read(train_ids)?, read(test_ids)?))
    }

    fn read_pair(&self, image: &Path, trimap: &Path) -> Result<(Vec<f32>, Vec<i64>), DataError> {
        use image::imageops::FilterType;
        let s = self.size as u32;
        let rgb = image::open(image)
            .map_err(|e| data_error(image, e))?
            .resize_exact(s, s, FilterType::Triangle)
            .to_rgb8();
        let mut pixels = vec![0.0f32; 3 * (s * s) as usize];
        for (i, p) in rgb.pixels().enumerate() {
            for c in 0..3 {
                pixels[c * (s * s) as usize + i] = f32::from(p[c]) / 255.0;
            }
        }
        let map = image::open(trimap)
            .map_err(|e| data_error(trimap, e))?
            .resize_exact(s, s, FilterType::Nearest)
            .to_luma8();
        let mut labels = Vec::with_capacity((s * s) as usize);
        for p in map.pixels() {
            labels.push(match (p[0], self.classes) {
                (1, _) => 1,
                (2, _) => 0,
                (3, 3) => 2,
                (3, _) => 1,
                (v, _) => {
                    return Err(data_error(
                        trimap,
                        format!("trimap value {v}: expected 1, 2 or 3"),
                    ));
                }
            });
        }
        Ok((pixels, labels))
    }
}

/// Where the Pet layout's files for `name` are under `root`.
pub fn pet_paths(root: &Path, name: &str) -> (PathBuf, PathBuf) {
    (
        root.join("images").join(format!("{name}.jpg")),
        root.join("annotations")
            .join("trimaps")
            .join(format!("{name}.png")),
    )
}
