//! Deterministic clustering for shared-challenge groups: Ward's agglomerative clustering
//! (`kodama`) of standardised profiles, cut at the number of groups with the highest mean
//! silhouette. No random start, so the same lake always gives the same groups.

use kodama::{Method, linkage};

/// Euclidean distance.
pub fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Cluster labels `0..k` for each point, cutting Ward's dendrogram at `k` groups.
/// Labels are numbered in order of each group's first point.
pub fn ward(points: &[Vec<f64>], k: usize) -> Vec<usize> {
    let n = points.len();
    if n == 0 {
        return Vec::new();
    }
    let k = k.clamp(1, n);
    let mut condensed = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            condensed.push(distance(&points[i], &points[j]));
        }
    }
    let dendrogram = linkage(&mut condensed, n, Method::Ward);
    // Replay the first n − k merges; cluster labels from n upward name merged clusters.
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    let mut alive: Vec<bool> = vec![true; n];
    for step in dendrogram.steps().iter().take(n - k) {
        let mut merged = std::mem::take(&mut members[step.cluster1]);
        merged.extend(std::mem::take(&mut members[step.cluster2]));
        alive[step.cluster1] = false;
        alive[step.cluster2] = false;
        members.push(merged);
        alive.push(true);
    }
    let mut groups: Vec<Vec<usize>> = members
        .into_iter()
        .zip(alive)
        .filter(|(m, a)| *a && !m.is_empty())
        .map(|(mut m, _)| {
            m.sort_unstable();
            m
        })
        .collect();
    groups.sort_by_key(|g| g[0]);
    let mut labels = vec![0; n];
    for (label, group) in groups.iter().enumerate() {
        for &i in group {
            labels[i] = label;
        }
    }
    labels
}

/// Mean silhouette of a labelling (Rousseeuw 1987); a point alone in its group scores 0.
pub fn silhouette(points: &[Vec<f64>], labels: &[usize]) -> f64 {
    let n = points.len();
    let k = labels.iter().max().map_or(0, |m| m + 1);
    if n < 2 || k < 2 {
        return 0.0;
    }
    let mut total = 0.0;
    for i in 0..n {
        let mut sum = vec![0.0; k];
        let mut count = vec![0usize; k];
        for j in (0..n).filter(|&j| j != i) {
            sum[labels[j]] += distance(&points[i], &points[j]);
            count[labels[j]] += 1;
        }
        let own = labels[i];
        if count[own] == 0 {
            continue;
        }
        let a = sum[own] / count[own] as f64;
        let b = (0..k)
            .filter(|&c| c != own && count[c] > 0)
            .map(|c| sum[c] / count[c] as f64)
            .fold(f64::INFINITY, f64::min);
        let max = a.max(b);
        if max > 0.0 {
            total += (b - a) / max;
        }
    }
    total / n as f64
}

/// Folds groups smaller than `min_size` into others: each member of the smallest such
/// group moves to the group whose centre is nearest, until every group is big enough
/// (or one group is left). Labels are renumbered in order of first point.
pub fn fold_small(points: &[Vec<f64>], labels: &[usize], min_size: usize) -> Vec<usize> {
    let mut labels = labels.to_vec();
    loop {
        let k = labels.iter().max().map_or(0, |m| m + 1);
        let sizes: Vec<usize> = (0..k)
            .map(|c| labels.iter().filter(|&&l| l == c).count())
            .collect();
        let live: Vec<usize> = (0..k).filter(|&c| sizes[c] > 0).collect();
        let Some(&small) = live
            .iter()
            .filter(|&&c| sizes[c] < min_size)
            .min_by_key(|&&c| (sizes[c], c))
        else {
            break;
        };
        if live.len() < 2 {
            break;
        }
        let dims = points.first().map_or(0, Vec::len);
        let centre = |c: usize| -> Vec<f64> {
            let rows: Vec<&Vec<f64>> = points
                .iter()
                .zip(&labels)
                .filter(|(_, l)| **l == c)
                .map(|(p, _)| p)
                .collect();
            (0..dims)
                .map(|d| rows.iter().map(|p| p[d]).sum::<f64>() / rows.len() as f64)
                .collect()
        };
        let others: Vec<(usize, Vec<f64>)> = live
            .iter()
            .filter(|&&c| c != small)
            .map(|&c| (c, centre(c)))
            .collect();
        for i in 0..points.len() {
            if labels[i] == small {
                let nearest = others
                    .iter()
                    .min_by(|a, b| {
                        distance(&points[i], &a.1).total_cmp(&distance(&points[i], &b.1))
                    })
                    .map(|(c, _)| *c)
                    .expect("another group exists");
                labels[i] = nearest;
            }
        }
    }
    renumber(&labels)
}

fn renumber(labels: &[usize]) -> Vec<usize> {
    let mut map = std::collections::HashMap::new();
    labels
        .iter()
        .map(|l| {
            let next = map.len();
            *map.entry(*l).or_insert(next)
        })
        .collect()
}

/// Cuts Ward's dendrogram at every level, folds groups smaller than `min_size` into their
/// nearest neighbours (a breakout of one or two is no peer group), and of the results
/// with `min_k` to `max_k` groups keeps the one with the highest mean silhouette (ties to
/// fewer groups). Returns the
/// number of groups, the labels and the silhouette; with too few points, one group.
pub fn choose(
    points: &[Vec<f64>],
    min_k: usize,
    max_k: usize,
    min_size: usize,
) -> (usize, Vec<usize>, f64) {
    let n = points.len();
    let mut best = (1, vec![0; n], 0.0);
    let mut best_score = f64::NEG_INFINITY;
    for k in 2..n {
        let labels = fold_small(points, &ward(points, k), min_size);
        let groups = labels.iter().max().map_or(0, |m| m + 1);
        if groups < min_k.max(2) || groups > max_k {
            continue;
        }
        let score = silhouette(points, &labels);
        if score > best_score + 1e-12 {
            best_score = score;
            best = (groups, labels, score);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_clear_clumps_make_two_groups() {
        let points: Vec<Vec<f64>> = [0.0, 0.1, 0.2, 10.0, 10.1, 10.3]
            .iter()
            .map(|&x| vec![x, 0.0])
            .collect();
        let (k, labels, score) = choose(&points, 2, 4, 2);
        assert_eq!(k, 2);
        assert_eq!(labels, vec![0, 0, 0, 1, 1, 1]);
        assert!(score > 0.9, "{score}");
    }

    #[test]
    fn a_split_that_leaves_a_group_too_small_is_passed_over() {
        // One far outlier: two groups would be {outlier} and the rest.
        let points: Vec<Vec<f64>> = [0.0, 0.2, 0.4, 3.0, 3.2, 3.4, 50.0]
            .iter()
            .map(|&x| vec![x])
            .collect();
        let (k, labels, _) = choose(&points, 2, 3, 1);
        assert_eq!(
            k, 2,
            "with singletons allowed the outlier stands alone: {labels:?}"
        );
        let (k, labels, _) = choose(&points, 2, 3, 3);
        assert_eq!(k, 2);
        assert_eq!(
            labels,
            vec![0, 0, 0, 1, 1, 1, 1],
            "the outlier joins its nearest group"
        );
        assert_eq!(
            fold_small(&points, &[0, 0, 0, 1, 1, 1, 2], 3),
            vec![0, 0, 0, 1, 1, 1, 1]
        );
    }

    #[test]
    fn silhouette_by_hand() {
        // Points 0, 1 | 4: a(0) = 1, b(0) = 4 → 0.75; a(1) = 1, b(1) = 3 → 2/3;
        // the lone point scores 0. Mean (0.75 + 2/3) / 3.
        let points = vec![vec![0.0], vec![1.0], vec![4.0]];
        let s = silhouette(&points, &[0, 0, 1]);
        assert!((s - (0.75 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
    }
}
