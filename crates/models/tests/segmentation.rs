//! The UNet's data: the synthetic shapes generator, the Oxford-IIIT Pet loader on a fixture
//! written here, and a few training steps that lower the loss.

use burn::prelude::*;
use image::{GrayImage, Luma, Rgb, RgbImage};
use toposcape_models::segmentation::{PetConfig, ShapesConfig, pet_paths};
use toposcape_models::train::{OptimizerKind, TrainSettings, scalar, train};
use toposcape_models::unet::{UnetConfig, segmentation_scores};

#[test]
fn shapes_are_seeded_and_have_all_three_classes() {
    let config = ShapesConfig::new()
        .with_train_images(20)
        .with_test_images(5);
    let (train_set, test_set) = config.generate();
    assert_eq!((train_set.len(), test_set.len()), (20, 5));
    assert_eq!(train_set.images.len(), 20 * 3 * 32 * 32);
    assert!(config.generate().0 == train_set, "same seed, same images");
    assert!(config.clone().with_seed(1).generate().0 != train_set);
    assert!(train_set.images[..3 * 32 * 32] != test_set.images[..3 * 32 * 32]);
    assert!(train_set.images.iter().all(|v| (0.0..=1.0).contains(v)));
    let count = |c: i64| train_set.labels.iter().filter(|&&l| l == c).count() as f64;
    let n = train_set.labels.len() as f64;
    let (background, foreground, border) = (count(0) / n, count(1) / n, count(2) / n);
    eprintln!("class fractions: {background:.3} {foreground:.3} {border:.3}");
    assert!(background > 0.2 && foreground > 0.05 && border > 0.03);
    assert_eq!(background + foreground + border, 1.0);
    // Every border pixel touches both sides: a foreground pixel or a background pixel is never
    // next to the other kind without a border pixel between them.
    for image in 0..train_set.len() {
        let labels = &train_set.labels[image * 1024..(image + 1) * 1024];
        for y in 0..32 {
            for x in 0..31 {
                let (a, b) = (labels[y * 32 + x], labels[y * 32 + x + 1]);
                assert!(a == b || a == 2 || b == 2, "image {image} at ({x}, {y})");
            }
        }
    }
    // Two classes: the border is foreground.
    let (two, _) = config.clone().with_classes(2).generate();
    assert!(two.labels.iter().all(|&l| l < 2));
    let merged: Vec<i64> = train_set.labels.iter().map(|&l| l.min(1)).collect();
    assert!(
        two.labels == merged,
        "two classes fold the border into the foreground"
    );
}

#[test]
fn pet_layout_loads_resizes_and_maps_trimaps() {
    let root = std::env::temp_dir().join(format!("toposcape-pet-{}", std::process::id()));
    std::fs::create_dir_all(root.join("images")).unwrap();
    std::fs::create_dir_all(root.join("annotations/trimaps")).unwrap();
    // Five 40x30 images: left half red, right half blue; the trimap marks the left third
    // foreground (1), the middle third border (3), the right third background (2).
    let names = ["Abyssinian_1", "beagle_2", "beagle_3", "pug_10", "pug_11"];
    for name in names {
        let (image, trimap) = pet_paths(&root, name);
        let picture = RgbImage::from_fn(40, 30, |x, _| {
            if x < 20 {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        });
        picture.save(&image).unwrap();
        let map = GrayImage::from_fn(40, 30, |x, _| Luma([[1u8, 3, 2][(x * 3 / 40) as usize]]));
        map.save(&trimap).unwrap();
    }
    // An image without a trimap is skipped, like the few in the real archive.
    RgbImage::new(8, 8)
        .save(root.join("images/orphan.jpg"))
        .unwrap();
    let config = PetConfig::new(root.display().to_string())
        .with_size(12)
        .with_test_fraction(0.4);
    let (train_set, test_set) = config.load().unwrap();
    assert_eq!((train_set.len(), test_set.len()), (3, 2));
    assert_eq!(train_set.images.len(), 3 * 3 * 144);
    for set in [&train_set, &test_set] {
        for image in 0..set.len() {
            let labels = &set.labels[image * 144..(image + 1) * 144];
            let pixels = &set.images[image * 3 * 144..(image + 1) * 3 * 144];
            for y in 0..12 {
                // Columns 0-3 foreground, 4-7 border, 8-11 background after resizing 40 -> 12.
                let row: Vec<i64> = labels[y * 12..(y + 1) * 12].to_vec();
                assert_eq!(row, vec![1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0], "row {y}");
                // Red on the left, blue on the right (JPEG is lossy: loose bounds).
                let (red, blue) = (pixels[y * 12], pixels[2 * 144 + y * 12 + 11]);
                assert!(red > 0.8 && blue > 0.8, "red {red} blue {blue}");
                assert!(pixels[y * 12 + 11] < 0.2 && pixels[2 * 144 + y * 12] < 0.2);
            }
        }
    }
    // The split is seeded: the same seed gives the same split.
    assert!(config.load().unwrap().1 == test_set);
    // Two classes fold the border into the foreground.
    let (two, _) = config.clone().with_classes(2).load().unwrap();
    assert!(two.labels.iter().all(|&l| l < 2));
    // A trimap with a value outside 1..3 is an error naming the file.
    let (_, bad) = pet_paths(&root, "pug_11");
    GrayImage::from_pixel(40, 30, Luma([7u8]))
        .save(&bad)
        .unwrap();
    let error = config.load().unwrap_err().to_string();
    assert!(
        error.contains("pug_11.png") && error.contains("7"),
        "{error}"
    );
    // A folder without images is an error naming it.
    let empty = PetConfig::new(root.join("nothing").display().to_string());
    assert!(empty.load().unwrap_err().to_string().contains("nothing"));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_few_adam_steps_lower_the_unet_loss_and_raise_accuracy() {
    let device = Device::flex().autodiff();
    device.seed(1);
    let data = ShapesConfig::new()
        .with_size(16)
        .with_train_images(16)
        .with_test_images(16);
    let (train_set, _) = data.generate();
    let model = UnetConfig::new()
        .with_depth(2)
        .with_base_width(8)
        .init(&device);
    let (images, labels) = train_set.batch(0, 16, &device);
    let before = scalar(model.loss(images.clone(), labels.clone()));
    let accuracy = |m: &toposcape_models::unet::Unet| {
        let predicted: Vec<i64> = m
            .predict(images.clone())
            .into_data()
            .convert::<i64>()
            .try_to_vec()
            .unwrap();
        segmentation_scores(&predicted, &train_set.labels, 3).pixel_accuracy
    };
    let accuracy_before = accuracy(&model);
    let settings = TrainSettings {
        optimizer: OptimizerKind::Adam,
        learning_rate: 1e-2,
        epochs: 15,
        ..TrainSettings::default()
    };
    let model = train::<_, ()>(
        model,
        &settings,
        2,
        |m, _, batch| {
            let (x, y) = train_set.batch(batch * 8, 8, &device);
            m.loss(x, y)
        },
        |_| Ok(()),
    )
    .unwrap();
    let after = scalar(model.loss(images.clone(), labels));
    let accuracy_after = accuracy(&model);
    eprintln!(
        "loss {before:.3} -> {after:.3}, accuracy {accuracy_before:.3} -> {accuracy_after:.3}"
    );
    assert!(after < 0.7 * before, "loss {before} -> {after}");
    assert!(accuracy_after > accuracy_before.max(0.5));
}
