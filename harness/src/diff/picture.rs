//! The diff as a picture: one scatter per class of p(from) against p(to), the diagonal drawn
//! (where every point lies when nothing changed), rows whose label changed marked in red. A
//! user deciding a rollout looks, then reads the table.
//!
//! The file stays small for any number of rows: points are thinned to one per cell of a
//! [`GRID`]×[`GRID`] grid per class and kind (changed or not), which a reader cannot tell apart
//! at the drawn size anyway.

use std::collections::BTreeSet;

use plotters::prelude::*;

/// One class's probability in one row, on both sides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub class: usize,
    pub from: f64,
    pub to: f64,
    /// The row's label changed.
    pub changed: bool,
}

/// Cells per axis: points closer than 1/GRID are drawn once.
pub const GRID: f64 = 100.0;
const PANEL: u32 = 360;
const COLUMNS: usize = 3;

/// The points of class `class` worth drawing: one per grid cell, the changed ones kept apart.
fn thinned(points: &[Point], class: usize) -> Vec<Point> {
    let mut seen = BTreeSet::new();
    points
        .iter()
        .filter(|p| p.class == class)
        .filter(|p| {
            let cell = |v: f64| (v.clamp(0.0, 1.0) * GRID).round() as u32;
            seen.insert((p.changed, cell(p.from), cell(p.to)))
        })
        .copied()
        .collect()
}

/// The SVG document: `title` above one panel per class of `classes`, each with its `points`.
pub fn svg(title: &str, classes: &[&str], points: &[Point]) -> Result<String, String> {
    let columns = classes.len().clamp(1, COLUMNS);
    let rows = classes.len().div_ceil(columns).max(1);
    let size = (PANEL * columns as u32, PANEL * rows as u32 + 30);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        let fail = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let (heading, panels) = root.split_vertically(30);
        heading
            .titled(title, ("sans-serif", 16))
            .map_err(|e| fail(&e))?;
        for (k, (area, class)) in panels
            .split_evenly((rows, columns))
            .iter()
            .zip(classes)
            .enumerate()
        {
            let mut chart = ChartBuilder::on(area)
                .caption(format!("p({class})"), ("sans-serif", 14))
                .margin(8)
                .x_label_area_size(30)
                .y_label_area_size(40)
                .build_cartesian_2d(0.0..1.0, 0.0..1.0)
                .map_err(|e| fail(&e))?;
            chart
                .configure_mesh()
                .x_desc("from")
                .y_desc("to")
                .x_labels(5)
                .y_labels(5)
                .draw()
                .map_err(|e| fail(&e))?;
            chart
                .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], &BLACK.mix(0.4)))
                .map_err(|e| fail(&e))?;
            let points = thinned(points, k);
            for changed in [false, true] {
                let style = if changed {
                    RED.filled()
                } else {
                    BLUE.mix(0.6).filled()
                };
                chart
                    .draw_series(
                        points
                            .iter()
                            .filter(|p| p.changed == changed)
                            .map(|p| Circle::new((p.from, p.to), 2, style)),
                    )
                    .map_err(|e| fail(&e))?;
            }
        }
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(class: usize, from: f64, to: f64, changed: bool) -> Point {
        Point {
            class,
            from,
            to,
            changed,
        }
    }

    #[test]
    fn points_closer_than_a_cell_are_drawn_once_and_changes_apart() {
        let points = [
            point(0, 0.5, 0.5, false),
            point(0, 0.5 + 1e-9, 0.5, false),
            point(0, 0.5, 0.5, true),
            point(1, 0.5, 0.5, false),
            point(0, 0.9, 0.1, false),
        ];
        assert_eq!(thinned(&points, 0).len(), 3);
        assert_eq!(thinned(&points, 1).len(), 1);
    }

    #[test]
    fn thousands_of_scattered_rows_stay_within_the_grid() {
        // Every point in its own place: at most one per cell survives.
        let points: Vec<Point> = (0..200_000)
            .map(|i| {
                let x = (i as f64 * 0.618_033_988_75).fract();
                let y = (i as f64 * 0.414_213_562_37).fract();
                point(0, x, y, false)
            })
            .collect();
        let kept = thinned(&points, 0).len();
        assert!(kept <= ((GRID + 1.0) * (GRID + 1.0)) as usize, "{kept}");
        assert!(kept < points.len());
    }

    #[test]
    fn the_picture_has_a_panel_per_class_its_diagonal_and_its_changes_in_red() {
        use std::collections::BTreeMap;
        let classes = vec!["bad".to_string(), "good".to_string()];
        let answer = |label: &str, p: f64| -> crate::diff::RowAnswer {
            Ok((
                label.to_string(),
                BTreeMap::from([("bad".to_string(), 1.0 - p), ("good".to_string(), p)]),
            ))
        };
        let rows = vec![vec![]; 3];
        let from = [answer("good", 0.9), answer("bad", 0.45), answer("bad", 0.2)];
        let to = [
            answer("good", 0.9),
            answer("good", 0.55),
            answer("bad", 0.2),
        ];
        let report = crate::diff::DiffReport::compare(
            "a",
            "b",
            &classes,
            &rows,
            &from,
            &to,
            Default::default(),
        );
        let svg = svg("a against b", &["bad", "good"], &report.points).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains("\np(bad)\n") && svg.contains("\np(good)\n"));
        // One changed row, one red point per class.
        assert_eq!(svg.matches("#FF0000").count(), 2, "{svg}");
        assert!(svg.contains("<polyline"));
    }
}
