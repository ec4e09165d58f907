//! Which withheld totals can be worked out from the totals shown: exact linear algebra
//! over the integers modulo a large prime.
//!
//! Every count ako serves is a sum over disjoint pieces ("variables"): an organisation's
//! quarter is the sum of its three months, a peer group's month the sum of its members'.
//! A withheld count is *determined* when its vector of pieces is a linear combination of
//! the vectors of the counts shown, so subtracting and adding shown numbers gives it
//! back exactly. That is the question answered here, for any shape of table, without
//! knowing which margins the tables have.
//!
//! The arithmetic is modulo p = 2^61 − 1, so it is exact and fast. Over the rationals a
//! determined count stays determined modulo p; the reverse could only fail on a
//! coincidence of probability about 1/p, and would then err towards withholding more.

/// The prime modulus (a Mersenne prime).
const P: u64 = (1 << 61) - 1;

fn mul(a: u64, b: u64) -> u64 {
    // Reduction modulo a Mersenne prime: fold the high bits onto the low ones.
    let x = a as u128 * b as u128;
    let folded = (x & P as u128) as u64 + (x >> 61) as u64;
    if folded >= P { folded - P } else { folded }
}

fn sub(a: u64, b: u64) -> u64 {
    if a >= b { a - b } else { a + P - b }
}

fn inverse(a: u64) -> u64 {
    // Fermat: a^(p-2).
    let (mut base, mut exp, mut acc) = (a, P - 2, 1u64);
    while exp > 0 {
        if exp & 1 == 1 {
            acc = mul(acc, base);
        }
        base = mul(base, base);
        exp >>= 1;
    }
    acc
}

/// The span of the shown counts' vectors, kept in echelon form: every row has a pivot
/// (its first non-zero column, scaled to 1) where all later rows are zero.
#[derive(Debug, Default)]
pub struct Span {
    width: usize,
    rows: Vec<(usize, Vec<u64>)>,
}

impl Span {
    /// An empty span over `width` variables.
    pub fn new(width: usize) -> Span {
        Span {
            width,
            rows: Vec::new(),
        }
    }

    fn dense(&self, vars: &[usize]) -> Vec<u64> {
        let mut v = vec![0u64; self.width];
        for &x in vars {
            v[x] = (v[x] + 1) % P;
        }
        v
    }

    fn reduce(&self, v: &mut [u64]) {
        for (pivot, row) in &self.rows {
            let f = v[*pivot];
            if f != 0 {
                for (x, r) in v.iter_mut().zip(row).skip(*pivot) {
                    if *r != 0 {
                        *x = sub(*x, mul(f, *r));
                    }
                }
            }
        }
    }

    /// Adds a shown count: the sum of `vars` (each index below the width).
    pub fn add(&mut self, vars: &[usize]) {
        let mut v = self.dense(vars);
        self.reduce(&mut v);
        if let Some(pivot) = v.iter().position(|&x| x != 0) {
            let inv = inverse(v[pivot]);
            for x in v.iter_mut().skip(pivot) {
                *x = mul(*x, inv);
            }
            self.rows.push((pivot, v));
        }
    }

    /// Whether the sum of `vars` follows from the shown counts.
    pub fn determines(&self, vars: &[usize]) -> bool {
        let mut v = self.dense(vars);
        self.reduce(&mut v);
        v.iter().all(|&x| x == 0)
    }

    /// The number of independent shown counts.
    pub fn rank(&self) -> usize {
        self.rows.len()
    }
}

/// For each withheld count (a set of variables), whether the shown counts determine it.
/// Variables are numbered from 0; `shown` and `withheld` list each count's variables.
/// Variables shown alone are known and taken out first, and the rest is split into
/// independent components, so the work stays proportional to the withheld part.
pub fn determined(vars: usize, shown: &[Vec<usize>], withheld: &[Vec<usize>]) -> Vec<bool> {
    let mut known = vec![false; vars];
    for s in shown {
        if let [only] = s.as_slice() {
            known[*only] = true;
        }
    }
    let unknown = |c: &Vec<usize>| -> Vec<usize> {
        let mut u: Vec<usize> = c.iter().copied().filter(|&x| !known[x]).collect();
        u.sort_unstable();
        u.dedup();
        u
    };
    // Components of the unknown variables, joined by any count that holds two of them.
    let mut parent: Vec<usize> = (0..vars).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let shown_u: Vec<Vec<usize>> = shown.iter().map(unknown).collect();
    let withheld_u: Vec<Vec<usize>> = withheld.iter().map(unknown).collect();
    for c in shown_u.iter().chain(&withheld_u) {
        for w in c.windows(2) {
            let (a, b) = (root(&mut parent, w[0]), root(&mut parent, w[1]));
            if a != b {
                parent[a] = b;
            }
        }
    }
    // Local numbering within each component.
    let mut local = vec![usize::MAX; vars];
    let mut sizes: std::collections::HashMap<usize, usize> = Default::default();
    for x in 0..vars {
        if !known[x] {
            let r = root(&mut parent, x);
            let n = sizes.entry(r).or_default();
            local[x] = *n;
            *n += 1;
        }
    }
    let mut spans: std::collections::HashMap<usize, Span> =
        sizes.iter().map(|(&r, &n)| (r, Span::new(n))).collect();
    for c in shown_u.iter().filter(|c| !c.is_empty()) {
        let r = root(&mut parent, c[0]);
        let locals: Vec<usize> = c.iter().map(|&x| local[x]).collect();
        spans.get_mut(&r).expect("component").add(&locals);
    }
    withheld_u
        .iter()
        .map(|c| {
            // A count made only of known pieces is known.
            let Some(&first) = c.first() else {
                return true;
            };
            let r = root(&mut parent, first);
            let locals: Vec<usize> = c.iter().map(|&x| local[x]).collect();
            spans[&r].determines(&locals)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_total_less_its_shown_parts_gives_the_one_withheld_part() {
        // Months 0, 1, 2 and their quarter; month 0 withheld.
        let shown = vec![vec![1], vec![2], vec![0, 1, 2]];
        assert_eq!(determined(3, &shown, &[vec![0]]), [true]);
        // With month 1 withheld too, neither is determined, but their sum is.
        let shown = vec![vec![2], vec![0, 1, 2]];
        assert_eq!(
            determined(3, &shown, &[vec![0], vec![1], vec![0, 1]]),
            [false, false, true]
        );
    }

    #[test]
    fn a_withheld_rectangle_holds_and_a_bridge_between_two_does_not() {
        // A 2 × 2 table of withheld cells with every row and column total shown:
        // a + b, c + d, a + c, b + d leave one degree of freedom.
        let shown = vec![vec![0, 1], vec![2, 3], vec![0, 2], vec![1, 3]];
        let cells: Vec<Vec<usize>> = (0..4).map(|x| vec![x]).collect();
        assert_eq!(determined(4, &shown, &cells), [false; 4]);
        // A triangle of pairwise sums is solvable: a + b, b + c, a + c.
        let shown = vec![vec![0, 1], vec![1, 2], vec![0, 2]];
        let cells: Vec<Vec<usize>> = (0..3).map(|x| vec![x]).collect();
        assert_eq!(determined(3, &shown, &cells), [true; 3]);
    }

    #[test]
    fn components_do_not_leak_into_each_other() {
        // {0, 1} with their sum, {2, 3} with 2 shown.
        let shown = vec![vec![0, 1], vec![2]];
        assert_eq!(
            determined(4, &shown, &[vec![0], vec![3], vec![2]]),
            [false, false, true]
        );
    }

    #[test]
    fn the_span_agrees_with_a_brute_force_search_on_small_systems() {
        // Over 0/1 vectors of 4 variables, a target is in the rational span of three
        // shown rows exactly when the audit says so. Their minors are at most 2, so
        // searching k·rows = d·target with integers |k| ≤ 4 and d ∈ {1, 2} is complete.
        let mut seed = 7u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..300 {
            let rows: Vec<Vec<usize>> = (0..3)
                .map(|_| (0..4).filter(|_| next() % 2 == 0).collect())
                .filter(|r: &Vec<usize>| !r.is_empty())
                .collect();
            let target: Vec<usize> = (0..4).filter(|_| next() % 2 == 0).collect();
            if target.is_empty() {
                continue;
            }
            let vec_of = |r: &[usize]| {
                let mut v = [0i64; 4];
                for &x in r {
                    v[x] = 1;
                }
                v
            };
            let t = vec_of(&target);
            let mut found = false;
            let n = rows.len() as u32;
            for code in 0..9i64.pow(n) {
                let mut acc = [0i64; 4];
                let mut c = code;
                for r in &rows {
                    let k = c % 9 - 4;
                    c /= 9;
                    for (a, x) in acc.iter_mut().zip(vec_of(r)) {
                        *a += k * x;
                    }
                }
                if acc == t || acc == t.map(|x| 2 * x) {
                    found = true;
                    break;
                }
            }
            let mut span = Span::new(4);
            for r in &rows {
                span.add(r);
            }
            assert_eq!(span.determines(&target), found, "{rows:?} {target:?}");
        }
    }
}
