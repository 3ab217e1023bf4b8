//! The map's plane: where each image of the PCA map lands on the screen and which images
//! the pointer is on. A [`Viewport`] turns data coordinates (the two principal
//! components) into screen pixels and back, and is what zoom, pan and "fit everything"
//! change. A [`Grid`] buckets the points once per projection so that hovering names the
//! image under the pointer by looking at a handful of cells instead of all 10 000 points,
//! and so that a box or a lasso visits only the cells it covers. Everything here is pure
//! and natively tested against brute force; the browser only draws and listens.
//!
//! Why a uniform grid rather than a k-d tree (`kiddo`) or an R-tree (`rstar`): the points
//! are fixed for the life of a projection, queries are small discs and boxes, and a grid
//! built with one counting pass answers them in a few cells; it is ~100 lines with no
//! dependency, and it serves nearest, rectangle and polygon queries alike.

/// A point: `[x, y]`, in data units or screen pixels depending on context.
pub type Xy = [f64; 2];

/// An axis-aligned rectangle, bounds included.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub min: Xy,
    pub max: Xy,
}

impl Rect {
    /// The rectangle with corners `a` and `b`, in any order (a box dragged any way).
    pub fn spanning(a: Xy, b: Xy) -> Self {
        Self {
            min: [a[0].min(b[0]), a[1].min(b[1])],
            max: [a[0].max(b[0]), a[1].max(b[1])],
        }
    }

    pub fn contains(&self, p: Xy) -> bool {
        (self.min[0]..=self.max[0]).contains(&p[0]) && (self.min[1]..=self.max[1]).contains(&p[1])
    }

    /// The smallest rectangle holding the finite points, if there are any.
    pub fn bounding(points: &[Xy]) -> Option<Self> {
        points
            .iter()
            .filter(|p| p[0].is_finite() && p[1].is_finite())
            .fold(None, |r: Option<Rect>, &p| {
                Some(match r {
                    None => Rect { min: p, max: p },
                    Some(r) => Rect::spanning(
                        [r.min[0].min(p[0]), r.min[1].min(p[1])],
                        [r.max[0].max(p[0]), r.max[1].max(p[1])],
                    ),
                })
            })
    }
}

/// What the screen shows of the data plane: `scale` screen pixels per data unit on both
/// axes (so distances on the map keep their meaning), `centre` (data) at the middle of a
/// screen of `size` pixels. Screen y grows downwards, data y upwards, as on a plot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Viewport {
    pub size: Xy,
    pub centre: Xy,
    pub scale: f64,
}

impl Viewport {
    /// The view that shows every finite point, `pad` pixels in from the edges, the axes
    /// keeping their proportions. No points, or all in one place, centre what there is at
    /// one pixel per unit (any scale would do; this one is finite).
    pub fn fit(points: &[Xy], size: Xy, pad: f64) -> Self {
        let Some(b) = Rect::bounding(points) else {
            return Self {
                size,
                centre: [0.0, 0.0],
                scale: 1.0,
            };
        };
        let centre = [(b.min[0] + b.max[0]) / 2.0, (b.min[1] + b.max[1]) / 2.0];
        let room = [
            (size[0] - 2.0 * pad).max(1.0),
            (size[1] - 2.0 * pad).max(1.0),
        ];
        let span = [b.max[0] - b.min[0], b.max[1] - b.min[1]];
        let scale = [room[0] / span[0], room[1] / span[1]]
            .into_iter()
            .filter(|s| s.is_finite())
            .fold(f64::INFINITY, f64::min);
        Self {
            size,
            centre,
            scale: if scale.is_finite() && scale > 0.0 {
                scale
            } else {
                1.0
            },
        }
    }

    pub fn to_screen(&self, p: Xy) -> Xy {
        [
            self.size[0] / 2.0 + (p[0] - self.centre[0]) * self.scale,
            self.size[1] / 2.0 - (p[1] - self.centre[1]) * self.scale,
        ]
    }

    pub fn to_data(&self, q: Xy) -> Xy {
        [
            self.centre[0] + (q[0] - self.size[0] / 2.0) / self.scale,
            self.centre[1] - (q[1] - self.size[1] / 2.0) / self.scale,
        ]
    }

    /// Zoomed by `factor` (above 1: in) about the screen point `at`: the data point under
    /// `at` stays under it, as when a wheel zooms about the pointer. The new scale is
    /// kept within `min_scale..=max_scale`, so zooming never loses the points entirely nor
    /// reaches a scale where coordinates stop being distinct.
    pub fn zoom_about(&self, at: Xy, factor: f64, min_scale: f64, max_scale: f64) -> Self {
        let scale = (self.scale * factor).clamp(min_scale, max_scale);
        if !scale.is_finite() || scale <= 0.0 {
            return *self;
        }
        let fixed = self.to_data(at);
        Self {
            size: self.size,
            centre: [
                fixed[0] - (at[0] - self.size[0] / 2.0) / scale,
                fixed[1] + (at[1] - self.size[1] / 2.0) / scale,
            ],
            scale,
        }
    }

    /// Moved so that the content follows a drag of `by` screen pixels.
    pub fn pan(&self, by: Xy) -> Self {
        Self {
            centre: [
                self.centre[0] - by[0] / self.scale,
                self.centre[1] + by[1] / self.scale,
            ],
            ..*self
        }
    }

    /// The part of the data plane on screen.
    pub fn visible(&self) -> Rect {
        Rect::spanning(self.to_data([0.0, 0.0]), self.to_data(self.size))
    }
}

/// Whether `p` is inside the polygon `vertices` (closed implicitly; even–odd rule, so a
/// lasso that crosses itself encloses what a fill of it would paint). Fewer than three
/// vertices enclose nothing. W. R. Franklin's crossing test: count the edges a ray from
/// `p` towards +x crosses.
pub fn point_in_polygon(p: Xy, vertices: &[Xy]) -> bool {
    if vertices.len() < 3 {
        return false;
    }
    let mut inside = false;
    let mut j = vertices.len() - 1;
    for (i, a) in vertices.iter().enumerate() {
        let b = vertices[j];
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]
        {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Points bucketed in a uniform grid of about one point per cell, for lookups that visit
/// only the cells a query covers. Built once per projection, in data units; the points
/// keep their indices. Non-finite points are kept (indices stay aligned) but never found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Grid {
    points: Vec<Xy>,
    origin: Xy,
    cell: f64,
    cols: usize,
    rows: usize,
    /// Cell `c` holds `order[starts[c]..starts[c + 1]]` (row-major cells), ascending.
    starts: Vec<u32>,
    order: Vec<u32>,
}

impl Grid {
    pub fn new(points: Vec<Xy>) -> Self {
        let Some(b) = Rect::bounding(&points) else {
            return Self {
                points,
                ..Self::default()
            };
        };
        let n = points.len() as f64;
        let (w, h) = (b.max[0] - b.min[0], b.max[1] - b.min[1]);
        // About one point per cell on average; for a thin strip (or a line) the longer
        // side bounds the cell so neither side gets more than n cells.
        let cell = (w * h / n).sqrt().max(w.max(h) / n);
        let cell = if cell > 0.0 && cell.is_finite() {
            cell
        } else {
            1.0
        };
        let cols = (w / cell) as usize + 1;
        let rows = (h / cell) as usize + 1;
        let mut grid = Self {
            points,
            origin: b.min,
            cell,
            cols,
            rows,
            starts: vec![0; cols * rows + 1],
            order: Vec::new(),
        };
        let cells: Vec<Option<usize>> = grid.points.iter().map(|&p| grid.cell_of(p)).collect();
        for c in cells.iter().flatten() {
            grid.starts[c + 1] += 1;
        }
        for c in 0..cols * rows {
            grid.starts[c + 1] += grid.starts[c];
        }
        let mut next: Vec<u32> = grid.starts[..cols * rows].to_vec();
        grid.order = vec![0; grid.starts[cols * rows] as usize];
        for (i, c) in cells.iter().enumerate() {
            if let Some(c) = *c {
                grid.order[next[c] as usize] = i as u32;
                next[c] += 1;
            }
        }
        grid
    }

    pub fn points(&self) -> &[Xy] {
        &self.points
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    fn cell_of(&self, p: Xy) -> Option<usize> {
        if !(p[0].is_finite() && p[1].is_finite()) {
            return None;
        }
        let col = (((p[0] - self.origin[0]) / self.cell) as usize).min(self.cols - 1);
        let row = (((p[1] - self.origin[1]) / self.cell) as usize).min(self.rows - 1);
        Some(row * self.cols + col)
    }

    /// The cells `lo..=hi` along one axis cover, or `None` if they miss the grid.
    fn span(&self, lo: f64, hi: f64, axis: usize) -> Option<(usize, usize)> {
        let cells = [self.cols, self.rows][axis];
        let (lo, hi) = (
            (lo - self.origin[axis]) / self.cell,
            (hi - self.origin[axis]) / self.cell,
        );
        // NaN bounds compare false and fall out here too.
        if cells == 0 || !(hi >= 0.0 && lo < cells as f64 && lo <= hi) {
            return None;
        }
        // Float-to-int casts saturate: a huge query is clamped, never wrapped.
        Some((lo.max(0.0) as usize, (hi as usize).min(cells - 1)))
    }

    /// Every point index in the cells that `r` overlaps (a superset of those in `r`).
    fn candidates(&self, r: Rect) -> impl Iterator<Item = usize> + '_ {
        let cols = self.span(r.min[0], r.max[0], 0);
        let rows = self.span(r.min[1], r.max[1], 1);
        let (c0, c1, r0, r1) = match (cols, rows) {
            (Some((c0, c1)), Some((r0, r1))) => (c0, c1, r0, r1),
            // An empty range of rows: nothing.
            _ => (0, 0, 1, 0),
        };
        (r0..=r1).flat_map(move |row| {
            let first = self.starts[row * self.cols + c0] as usize;
            let last = self.starts[row * self.cols + c1 + 1] as usize;
            self.order[first..last].iter().map(|&i| i as usize)
        })
    }

    /// The point nearest to `at` no further than `radius`, the lower index on a tie.
    pub fn nearest(&self, at: Xy, radius: f64) -> Option<usize> {
        let near = Rect {
            min: [at[0] - radius, at[1] - radius],
            max: [at[0] + radius, at[1] + radius],
        };
        self.candidates(near)
            .map(|i| {
                let p = self.points[i];
                (i, (p[0] - at[0]).powi(2) + (p[1] - at[1]).powi(2))
            })
            .filter(|&(_, d)| d <= radius * radius)
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
            .map(|(i, _)| i)
    }

    /// The points inside `r`, in index order.
    pub fn in_rect(&self, r: Rect) -> Vec<usize> {
        let mut found: Vec<usize> = self
            .candidates(r)
            .filter(|&i| r.contains(self.points[i]))
            .collect();
        found.sort_unstable();
        found
    }

    /// The points inside the polygon `vertices` ([`point_in_polygon`]), in index order.
    pub fn in_polygon(&self, vertices: &[Xy]) -> Vec<usize> {
        let Some(b) = Rect::bounding(vertices).filter(|_| vertices.len() >= 3) else {
            return Vec::new();
        };
        let mut found: Vec<usize> = self
            .candidates(b)
            .filter(|&i| point_in_polygon(self.points[i], vertices))
            .collect();
        found.sort_unstable();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift: reproducible pseudo-random numbers in [0, 1).
    fn rng(seed: u64) -> impl FnMut() -> f64 {
        let mut x = seed;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn close(a: Xy, b: Xy) -> bool {
        (a[0] - b[0]).abs() < 1e-9 && (a[1] - b[1]).abs() < 1e-9
    }

    /// Clustered points, as a map has them: dense blobs, a sparse haze and far outliers.
    fn map_like(n: usize, seed: u64) -> Vec<Xy> {
        let mut r = rng(seed);
        (0..n)
            .map(|i| match i % 10 {
                0 => [r() * 20.0 - 10.0, r() * 12.0 - 6.0],
                9 if i % 100 == 9 => [r() * 400.0 - 200.0, r() * 2.0],
                k => {
                    let c = [(k % 3) as f64 * 4.0 - 4.0, (k % 2) as f64 * 3.0];
                    [c[0] + r() * 0.8, c[1] + r() * 0.8]
                }
            })
            .collect()
    }

    #[test]
    fn screen_and_data_coordinates_round_trip_with_y_up() {
        let v = Viewport {
            size: [640.0, 440.0],
            centre: [1.0, -2.0],
            scale: 50.0,
        };
        assert_eq!(v.to_screen([1.0, -2.0]), [320.0, 220.0]);
        // One unit right and up is 50 px right and 50 px up the screen.
        assert_eq!(v.to_screen([2.0, -1.0]), [370.0, 170.0]);
        let mut r = rng(1);
        for _ in 0..100 {
            let p = [r() * 100.0 - 50.0, r() * 100.0 - 50.0];
            assert!(close(v.to_data(v.to_screen(p)), p));
        }
    }

    #[test]
    fn fit_shows_every_point_inside_the_padding_and_touches_it() {
        let points = map_like(500, 7);
        let v = Viewport::fit(&points, [640.0, 440.0], 16.0);
        let screen: Vec<Xy> = points.iter().map(|&p| v.to_screen(p)).collect();
        let b = Rect::bounding(&screen).unwrap();
        let eps = 1e-9;
        assert!(b.min[0] >= 16.0 - eps && b.max[0] <= 624.0 + eps, "{b:?}");
        assert!(b.min[1] >= 16.0 - eps && b.max[1] <= 424.0 + eps, "{b:?}");
        // The limiting axis (x: the outliers are wide) spans the whole room.
        assert!((b.min[0] - 16.0).abs() < 1e-6 && (b.max[0] - 624.0).abs() < 1e-6);
        // Centred on the other axis.
        assert!(((b.min[1] + b.max[1]) / 2.0 - 220.0).abs() < 1e-6);
    }

    #[test]
    fn fit_of_nothing_or_one_place_is_finite() {
        for points in [vec![], vec![[3.0, 4.0]; 5], vec![[f64::NAN, 1.0]]] {
            let v = Viewport::fit(&points, [100.0, 100.0], 10.0);
            assert!(v.scale.is_finite() && v.scale > 0.0, "{points:?}: {v:?}");
            assert!(v.centre.iter().all(|c| c.is_finite()));
        }
        let v = Viewport::fit(&[[3.0, 4.0]; 5], [100.0, 100.0], 10.0);
        assert_eq!(v.to_screen([3.0, 4.0]), [50.0, 50.0]);
        // A vertical line: fitted by its height alone.
        let v = Viewport::fit(&[[1.0, 0.0], [1.0, 8.0]], [100.0, 100.0], 10.0);
        assert_eq!((v.scale, v.to_screen([1.0, 8.0])), (10.0, [50.0, 10.0]));
    }

    #[test]
    fn zoom_keeps_the_point_under_the_pointer_and_respects_the_limits() {
        let v = Viewport {
            size: [640.0, 440.0],
            centre: [0.0, 0.0],
            scale: 10.0,
        };
        let at = [100.0, 300.0];
        let under = v.to_data(at);
        let z = v.zoom_about(at, 2.5, 1.0, 1000.0);
        assert_eq!(z.scale, 25.0);
        assert!(close(z.to_screen(under), at));
        assert!(close(z.to_data(at), under));
        // Clamped at either end, the fixed point still fixed.
        let z = v.zoom_about(at, 1e6, 1.0, 1000.0);
        assert_eq!(z.scale, 1000.0);
        assert!(close(z.to_data(at), under));
        let z = v.zoom_about(at, 1e-6, 1.0, 1000.0);
        assert_eq!(z.scale, 1.0);
        assert!(close(z.to_data(at), under));
        // In then out by the same factor: back where it was.
        let back = v
            .zoom_about(at, 3.0, 1.0, 1000.0)
            .zoom_about(at, 1.0 / 3.0, 1.0, 1000.0);
        assert!(close(back.centre, v.centre) && (back.scale - v.scale).abs() < 1e-12);
        // A nonsense factor changes nothing.
        assert_eq!(v.zoom_about(at, f64::NAN, 1.0, 1000.0), v);
    }

    #[test]
    fn pan_moves_the_content_with_the_drag() {
        let v = Viewport {
            size: [640.0, 440.0],
            centre: [5.0, 5.0],
            scale: 4.0,
        };
        let p = [7.0, 3.0];
        let moved = v.pan([30.0, -12.0]);
        let (a, b) = (v.to_screen(p), moved.to_screen(p));
        assert!(close([b[0] - a[0], b[1] - a[1]], [30.0, -12.0]));
        assert_eq!(moved.scale, v.scale);
        let seen = v.visible();
        assert!(close(seen.min, [5.0 - 80.0, 5.0 - 55.0]) && close(seen.max, [85.0, 60.0]));
    }

    #[test]
    fn point_in_polygon_on_hand_checked_shapes() {
        let square = [[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0]];
        assert!(point_in_polygon([2.0, 2.0], &square));
        assert!(!point_in_polygon([5.0, 2.0], &square));
        assert!(!point_in_polygon([2.0, -0.1], &square));
        // A "C": the notch on the right is outside.
        let c = [
            [0.0, 0.0],
            [6.0, 0.0],
            [6.0, 2.0],
            [2.0, 2.0],
            [2.0, 4.0],
            [6.0, 4.0],
            [6.0, 6.0],
            [0.0, 6.0],
        ];
        assert!(point_in_polygon([1.0, 3.0], &c));
        assert!(point_in_polygon([5.0, 1.0], &c));
        assert!(!point_in_polygon([4.0, 3.0], &c));
        // A bow tie crossing itself: both lobes in, the far sides out.
        let bow = [[0.0, 0.0], [4.0, 4.0], [4.0, 0.0], [0.0, 4.0]];
        assert!(point_in_polygon([0.5, 2.0], &bow) && point_in_polygon([3.5, 2.0], &bow));
        assert!(!point_in_polygon([2.0, 3.5], &bow) && !point_in_polygon([2.0, 0.5], &bow));
        // Degenerate lassos enclose nothing.
        assert!(!point_in_polygon([0.0, 0.0], &[]));
        assert!(!point_in_polygon([1.0, 0.0], &[[0.0, 0.0], [2.0, 0.0]]));
    }

    #[test]
    fn point_in_polygon_agrees_with_the_radius_of_star_shaped_polygons() {
        // A star-shaped polygon around its centre: a point is inside exactly when it is
        // nearer the centre than the boundary is along the same direction — computed
        // here by intersecting that ray with the edge it meets, no crossing count.
        let mut r = rng(99);
        for _ in 0..50 {
            // Angles jittered within m sectors: consecutive ones are less than half a
            // turn apart (m ≥ 5), so the centre is inside and every ray meets one edge.
            let m = 5 + (r() * 30.0) as usize;
            let angles: Vec<f64> = (0..m)
                .map(|k| (k as f64 + r() * 0.95) / m as f64 * std::f64::consts::TAU)
                .collect();
            let vertices: Vec<Xy> = angles
                .iter()
                .map(|a| {
                    let d = 0.5 + r() * 2.0;
                    [d * a.cos(), d * a.sin()]
                })
                .collect();
            let boundary = |dir: Xy| -> f64 {
                (0..m)
                    .filter_map(|i| {
                        let (a, b) = (vertices[i], vertices[(i + 1) % m]);
                        // Solve t·dir = a + s·(b − a) for t > 0, s in [0, 1].
                        let e = [b[0] - a[0], b[1] - a[1]];
                        let det = dir[0] * (-e[1]) + e[0] * dir[1];
                        if det.abs() < 1e-15 {
                            return None;
                        }
                        let t = (a[0] * (-e[1]) + e[0] * a[1]) / det;
                        let s = (dir[0] * a[1] - dir[1] * a[0]) / det;
                        (t > 0.0 && (-1e-12..=1.0 + 1e-12).contains(&s)).then_some(t)
                    })
                    .fold(f64::INFINITY, f64::min)
            };
            for _ in 0..200 {
                let p = [r() * 6.0 - 3.0, r() * 6.0 - 3.0];
                let d = (p[0] * p[0] + p[1] * p[1]).sqrt();
                let edge = boundary([p[0] / d, p[1] / d]);
                // Points within rounding of the boundary may go either way.
                if (d - edge).abs() < 1e-9 {
                    continue;
                }
                assert_eq!(
                    point_in_polygon(p, &vertices),
                    d < edge,
                    "{p:?} at {d}, boundary at {edge}"
                );
            }
        }
    }

    /// The nearest within `radius` by looking at every point.
    fn brute_nearest(points: &[Xy], at: Xy, radius: f64) -> Option<usize> {
        points
            .iter()
            .enumerate()
            .map(|(i, p)| (i, (p[0] - at[0]).powi(2) + (p[1] - at[1]).powi(2)))
            .filter(|&(_, d)| d <= radius * radius)
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
            .map(|(i, _)| i)
    }

    #[test]
    fn nearest_agrees_with_brute_force() {
        for (n, seed) in [(1, 3), (2, 4), (50, 5), (3000, 6)] {
            let points = map_like(n, seed);
            let grid = Grid::new(points.clone());
            let mut r = rng(seed + 100);
            let mut found = 0;
            for _ in 0..2000 {
                let at = [r() * 60.0 - 30.0, r() * 20.0 - 8.0];
                let radius = [0.01, 0.3, 2.0, 50.0][(r() * 4.0) as usize];
                let want = brute_nearest(&points, at, radius);
                assert_eq!(grid.nearest(at, radius), want, "n={n} at {at:?} r={radius}");
                found += usize::from(want.is_some());
            }
            assert!(
                found > 0,
                "no query hit anything: the test would prove nothing"
            );
        }
    }

    #[test]
    fn nearest_breaks_ties_by_index_and_skips_non_finite_points() {
        let points = vec![[f64::NAN, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 1.0]];
        let grid = Grid::new(points);
        assert_eq!(grid.nearest([1.0, 1.0], 0.5), Some(1));
        assert_eq!(grid.nearest([0.1, 0.0], 0.5), Some(2));
        assert_eq!(grid.nearest([5.0, 5.0], 0.5), None);
        assert_eq!(grid.nearest([f64::NAN, 0.0], 1e9), None);
        assert_eq!(Grid::new(vec![]).nearest([0.0, 0.0], 1e9), None);
        assert_eq!(
            Grid::new(vec![[f64::NAN; 2]]).nearest([0.0, 0.0], 1e9),
            None
        );
    }

    #[test]
    fn rectangles_agree_with_brute_force() {
        let points = map_like(3000, 11);
        let grid = Grid::new(points.clone());
        let mut r = rng(12);
        for _ in 0..500 {
            let a = [r() * 80.0 - 40.0, r() * 20.0 - 8.0];
            let b = [a[0] + (r() - 0.5) * 30.0, a[1] + (r() - 0.5) * 10.0];
            let rect = Rect::spanning(a, b);
            let want: Vec<usize> = (0..points.len())
                .filter(|&i| rect.contains(points[i]))
                .collect();
            assert_eq!(grid.in_rect(rect), want, "{rect:?}");
        }
        // The whole plane, and a box beside everything.
        let all = Rect::spanning([-1e300, -1e300], [1e300, 1e300]);
        assert_eq!(grid.in_rect(all).len(), points.len());
        assert!(grid
            .in_rect(Rect::spanning([1e6, 1e6], [2e6, 2e6]))
            .is_empty());
    }

    #[test]
    fn lassos_agree_with_brute_force() {
        let points = map_like(3000, 21);
        let grid = Grid::new(points.clone());
        let mut r = rng(22);
        for _ in 0..200 {
            // A wobbly loop, sometimes crossing itself, as a hand draws one.
            let centre = [r() * 20.0 - 10.0, r() * 8.0 - 2.0];
            let m = 3 + (r() * 40.0) as usize;
            let lasso: Vec<Xy> = (0..m)
                .map(|k| {
                    let a = k as f64 / m as f64 * std::f64::consts::TAU + r() * 0.8;
                    let d = 1.0 + r() * 6.0;
                    [centre[0] + d * a.cos(), centre[1] + d * a.sin()]
                })
                .collect();
            let want: Vec<usize> = (0..points.len())
                .filter(|&i| point_in_polygon(points[i], &lasso))
                .collect();
            assert_eq!(grid.in_polygon(&lasso), want);
        }
        assert!(grid.in_polygon(&[[0.0, 0.0], [1.0, 1.0]]).is_empty());
    }

    #[test]
    fn a_grid_of_ten_thousand_has_about_one_point_per_cell() {
        let grid = Grid::new(map_like(10_000, 31));
        let cells = grid.cols * grid.rows;
        assert!(
            (5_000..=40_000).contains(&cells),
            "{} × {} cells",
            grid.cols,
            grid.rows
        );
        assert_eq!(grid.order.len(), 10_000);
        // A thin strip does not make a huge grid.
        let line: Vec<Xy> = (0..1000).map(|i| [i as f64, 1e-12 * i as f64]).collect();
        let grid = Grid::new(line);
        assert!(grid.cols * grid.rows <= 3 * 1000 + 1);
        assert_eq!(grid.nearest([500.2, 0.0], 1.0), Some(500));
    }
}
