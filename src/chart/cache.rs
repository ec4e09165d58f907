//! Rasterised charts kept for the next request that asks for the same picture.
//!
//! Rasterising a panel takes tens of milliseconds of a core; the panels a breakout
//! shares are asked for by everyone in it. The key is a digest of the [`Figure`]
//! itself, not of the request: a figure is what one viewer may see (their role's
//! suppression already applied, the lake version in its footer), so two requests share
//! an image only when they would have drawn the same one, and no role can be served a
//! picture made for another.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{ChartError, Figure, png};
use crate::kept::Kept;

/// Bytes of images kept by default: a few hundred charts.
pub const PNG_BUDGET: usize = 32 << 20;

/// Rendered PNGs by figure, least recently used dropped past a byte budget.
pub struct PngCache {
    images: Kept<Vec<u8>>,
}

impl Default for PngCache {
    fn default() -> Self {
        PngCache::with_budget(PNG_BUDGET)
    }
}

impl PngCache {
    pub fn with_budget(budget: usize) -> PngCache {
        PngCache {
            images: Kept::with_budget(budget),
        }
    }

    /// The PNG of `figure`, drawn now or kept from before.
    pub fn png(&self, figure: &Figure) -> Result<Arc<Vec<u8>>, ChartError> {
        let key = PngKey::of(figure);
        if let Some(found) = self.get(&key) {
            return Ok(found);
        }
        Ok(self.put(key, png(figure)?))
    }

    /// The image kept for `key`, if any.
    pub fn get(&self, key: &PngKey) -> Option<Arc<Vec<u8>>> {
        self.images.get(&key.0)
    }

    /// Keeps `image`, drawn from the figure of `key`, making room if need be.
    pub fn put(&self, key: PngKey, image: Vec<u8>) -> Arc<Vec<u8>> {
        let bytes = image.len();
        self.images.put(key.0, image, bytes)
    }

    /// Images held, their bytes, and the requests answered from them.
    pub fn stats(&self) -> (usize, usize, u64) {
        self.images.stats()
    }
}

/// A figure's identity: a digest of its debug form, which holds every field drawn,
/// floats in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PngKey([u8; 32]);

impl PngKey {
    pub fn of(figure: &Figure) -> PngKey {
        PngKey(Sha256::digest(format!("{figure:?}").as_bytes()).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::figure::Layer;
    use plotters::style::RGBColor;

    fn figure(footer: &str, last: f64) -> Figure {
        Figure {
            title: "Seclusion events".into(),
            unit: "events per 1,000 bed days".into(),
            x_label: "month".into(),
            categories: vec!["2025-07".into(), "2025-08".into()],
            x_range: (0.0, 1.0),
            y_range: (0.0, 10.0),
            layers: vec![Layer::Line {
                name: None,
                color: RGBColor(0, 0, 0),
                points: vec![(0.0, Some(4.0)), (1.0, Some(last))],
                dashed: false,
                width: 2.0,
                step: false,
            }],
            description: "two months".into(),
            footer: footer.into(),
            size: (320, 200),
        }
    }

    #[test]
    fn the_same_figure_is_drawn_once_and_any_difference_is_drawn_anew() {
        let cache = PngCache::default();
        let a = cache.png(&figure("lake version 3", 5.0)).unwrap();
        assert_eq!(a.as_slice(), png(&figure("lake version 3", 5.0)).unwrap());
        let again = cache.png(&figure("lake version 3", 5.0)).unwrap();
        assert!(Arc::ptr_eq(&a, &again), "kept, not drawn again");
        assert_eq!(cache.stats().2, 1);
        // another version's footer, or one value in the last digit, is another picture
        let newer = cache.png(&figure("lake version 4", 5.0)).unwrap();
        let nudged = cache
            .png(&figure("lake version 3", 5.000000000000001))
            .unwrap();
        assert!(!Arc::ptr_eq(&a, &newer) && !Arc::ptr_eq(&a, &nudged));
        assert_eq!(cache.stats().0, 3);
        assert_eq!(cache.stats().2, 1);
    }

    #[test]
    fn images_past_the_budget_make_room_least_recently_used_first() {
        let one = png(&figure("v1", 1.0)).unwrap().len();
        let cache = PngCache::with_budget(one * 2 + one / 2);
        cache.png(&figure("v1", 1.0)).unwrap();
        cache.png(&figure("v2", 1.0)).unwrap();
        cache.png(&figure("v1", 1.0)).unwrap(); // v1 is now the most recent
        cache.png(&figure("v3", 1.0)).unwrap(); // v2 goes
        let (images, bytes, hits) = cache.stats();
        assert_eq!((images, hits), (2, 1));
        assert!(bytes <= one * 2 + one / 2, "{bytes}");
        cache.png(&figure("v1", 1.0)).unwrap();
        assert_eq!(cache.stats().2, 2, "v1 kept");
        cache.png(&figure("v2", 1.0)).unwrap();
        assert_eq!(cache.stats().2, 2, "v2 was dropped and drawn again");
    }
}
