//! The in-process model: binary and multinomial logistic regression behind one type.
//!
//! This is what the server calls and what the harness uses as its oracle, so a row's answer must
//! not depend on the batch it arrives in. linfa's own `predict_probabilities` multiplies the whole
//! batch with ndarray's `dot`, whose summation order is chosen per matrix shape; here each row is
//! scored alone, summing in feature order with plain `f64` arithmetic (Rust never fuses it into
//! FMA), so the same row gives the same bits in any batch, binary and build profile.
//!
//! A model fitted on scaled features carries its [`Preprocessing`] step (this crate's
//! [`Standardize`], or any of scikit-learn's linear scalers as a [`Scale`]) and applies it to
//! every row first, so clients send raw features and cannot forget the scaler.
//!
//! Three ways turn scores into probabilities, as scikit-learn has them: the logistic function
//! of one score (binary), the softmax of one score per class (multinomial), and one-vs-rest:
//! each class's logistic function, divided by their sum.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::inputs::columns::{EncodeError, Scratch};
use crate::inputs::{Batch, Cell, Columns, Table, Value, ValueError};
use crate::preprocessing::Preprocessing;
use crate::rows::Rows;

/// Which logistic regression an artifact holds, and so how its scores become probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Two classes, linfa's `LogisticRegression`: the logistic function of one score.
    Binary,
    /// Two or more classes, linfa's `MultiLogisticRegression`: the softmax of one score per
    /// class.
    Multinomial,
    /// Three or more classes fitted one against the rest (scikit-learn's liblinear,
    /// `multi_class="ovr"`, `OneVsRestClassifier`, `SGDClassifier`): each class's logistic
    /// function, divided by their sum. Stored as linfa's `MultiLogisticRegression` holds its
    /// weights.
    OneVsRest,
}

impl Kind {
    /// The name used in the artifact and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Binary => "binary",
            Kind::Multinomial => "multinomial",
            Kind::OneVsRest => "one_vs_rest",
        }
    }

    /// How the kind turns scores into probabilities, in words, for the documents that say it.
    pub fn probabilities(self) -> &'static str {
        match self {
            Kind::Binary => "the logistic function of one score",
            Kind::Multinomial => "the softmax of one score per class",
            Kind::OneVsRest => {
                "each class's logistic function divided by their sum (one-vs-rest; all zeros \
                 when every one underflows to zero, as scikit-learn's OneVsRestClassifier answers)"
            }
        }
    }
}

/// Why a checked batch could not be predicted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PredictError {
    /// The rows were checked against another model's features.
    #[error("rows have {found} features, the model expects {expected}")]
    Width { expected: usize, found: usize },
    /// Finite inputs so large that the linear score is no longer a finite number. Values
    /// within [`Model::largest_safe_value`] never get here: they are refused first.
    #[error("row {row}: the feature values are too large, the model's score overflows")]
    ScoreOverflow { row: usize },
    /// A value that does not fit its feature (a categorical model asked with numbers only).
    #[error("row {row}, feature {feature:?}: {problem}")]
    Value {
        row: usize,
        feature: String,
        problem: ValueError,
    },
    /// A value beyond the range within which every score stays finite.
    #[error(
        "row {row}, feature {feature}: {value} is beyond ±{bound}, the range within which this model's scores stay finite"
    )]
    OutOfRange {
        row: usize,
        feature: String,
        value: f64,
        bound: f64,
    },
}

/// The answer for one row: the predicted class and a probability per class, in class order.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Index into [`Model::classes`].
    pub class: usize,
    /// One probability per class, in the order of [`Model::classes`]; they sum to 1.
    pub probabilities: Vec<f64>,
}

/// A fitted logistic regression, reduced to what prediction needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The inputs clients send, in order.
    features: Vec<String>,
    classes: Vec<String>,
    preprocessing: Option<Preprocessing>,
    /// A format 3 model's inputs and column blocks; its weights apply to their output.
    columns: Option<Box<Columns>>,
    scorer: Scorer,
    /// [`Model::largest_safe_value`], computed once.
    range: f64,
}

#[derive(Debug, Clone, PartialEq)]
enum Scorer {
    /// `p(classes[1]) = 1 / (1 + exp(-(w·x + b)))`, labelled `classes[1]` when `p >= threshold`.
    Binary {
        weights: Vec<f64>,
        intercept: f64,
        threshold: f64,
    },
    /// `softmax(W·x + b)`, one weight row per class.
    Multinomial {
        weights: Vec<Vec<f64>>,
        intercepts: Vec<f64>,
    },
    /// `σ(W·x + b)` per class, divided by its sum; one weight row per class.
    OneVsRest {
        weights: Vec<Vec<f64>>,
        intercepts: Vec<f64>,
    },
}

impl Model {
    /// A binary model; `classes` is `[negative, positive]`.
    ///
    /// The caller (the artifact loader) has checked that the lengths agree.
    pub(crate) fn binary(
        features: Vec<String>,
        classes: [String; 2],
        weights: Vec<f64>,
        intercept: f64,
        threshold: f64,
    ) -> Model {
        Model::new(
            features,
            classes.into(),
            Scorer::Binary {
                weights,
                intercept,
                threshold,
            },
        )
    }

    /// A multinomial model with one weight row and intercept per class.
    pub(crate) fn multinomial(
        features: Vec<String>,
        classes: Vec<String>,
        weights: Vec<Vec<f64>>,
        intercepts: Vec<f64>,
    ) -> Model {
        Model::new(
            features,
            classes,
            Scorer::Multinomial {
                weights,
                intercepts,
            },
        )
    }

    /// A one-vs-rest model with one weight row and intercept per class.
    pub(crate) fn one_vs_rest(
        features: Vec<String>,
        classes: Vec<String>,
        weights: Vec<Vec<f64>>,
        intercepts: Vec<f64>,
    ) -> Model {
        Model::new(
            features,
            classes,
            Scorer::OneVsRest {
                weights,
                intercepts,
            },
        )
    }

    fn new(features: Vec<String>, classes: Vec<String>, scorer: Scorer) -> Model {
        Model {
            features,
            classes,
            preprocessing: None,
            columns: None,
            range: f64::MAX,
            scorer,
        }
        .with_range()
    }

    /// The same model, preprocessing each row first. The caller (the artifact loader) has
    /// checked that the lengths agree with the features.
    pub(crate) fn with_preprocessing(mut self, preprocessing: Option<Preprocessing>) -> Model {
        self.preprocessing = preprocessing;
        self.with_range()
    }

    /// The same model, encoding each row of inputs through `columns` first; the caller (the
    /// artifact loader) has checked that their width is the weights'.
    pub(crate) fn with_columns(mut self, columns: Columns) -> Model {
        self.features = columns.features().iter().map(|f| f.name.clone()).collect();
        self.columns = Some(Box::new(columns));
        self.with_range()
    }

    /// A format 3 model's inputs and column blocks.
    pub fn columns(&self) -> Option<&Columns> {
        self.columns.as_deref()
    }

    fn with_range(mut self) -> Model {
        self.range = self.largest_safe_value();
        self
    }

    /// The step applied to each row before scoring, if any.
    pub fn preprocessing(&self) -> Option<&Preprocessing> {
        self.preprocessing.as_ref()
    }

    /// Which regression this is.
    pub fn kind(&self) -> Kind {
        match self.scorer {
            Scorer::Binary { .. } => Kind::Binary,
            Scorer::Multinomial { .. } => Kind::Multinomial,
            Scorer::OneVsRest { .. } => Kind::OneVsRest,
        }
    }

    /// Feature names in the order rows must list their values.
    pub fn features(&self) -> &[String] {
        &self.features
    }

    /// Class labels in the order of [`Prediction::probabilities`].
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The largest magnitude a feature value may have for every score of every row to stay
    /// finite, rounded down to a power of ten: what the OpenAPI document states as the range of
    /// a value, so that a value within it is answered, never refused as an overflow.
    pub fn largest_safe_value(&self) -> f64 {
        // Per weight column, how a value reaches it: scaled by `gain`, moved by `shift`.
        let width = self.features.len();
        let (gain, shift): (Vec<f64>, Vec<f64>) = match &self.columns {
            Some(columns) => columns.bounds().iter().copied().unzip(),
            None => self.preprocessed_bounds(width),
        };
        let rows: Vec<(&[f64], f64)> = match &self.scorer {
            Scorer::Binary {
                weights, intercept, ..
            } => vec![(weights.as_slice(), *intercept)],
            Scorer::Multinomial {
                weights,
                intercepts,
            }
            | Scorer::OneVsRest {
                weights,
                intercepts,
            } => weights
                .iter()
                .map(Vec::as_slice)
                .zip(intercepts.iter().copied())
                .collect(),
        };
        let budget = f64::MAX / 4.0;
        let bound = rows
            .iter()
            .map(|(w, b)| {
                let growth: f64 = w.iter().zip(&gain).map(|(w, g)| w.abs() * g).sum();
                let fixed: f64 =
                    w.iter().zip(&shift).map(|(w, s)| w.abs() * s).sum::<f64>() + b.abs();
                if growth == 0.0 {
                    f64::MAX
                } else {
                    (budget - fixed) / growth
                }
            })
            .fold(f64::MAX, f64::min);
        // Parsed rather than computed, so that the power of ten is the double nearest to it.
        let exponent = bound.log10().floor().min(307.0) as i32;
        format!("1e{exponent}").parse().unwrap_or(1.0)
    }

    /// Per feature, how the preprocessing scales a value (`gain`) and moves it (`shift`).
    fn preprocessed_bounds(&self, width: usize) -> (Vec<f64>, Vec<f64>) {
        (0..width)
            .map(|j| match &self.preprocessing {
                None => (1.0, 0.0),
                Some(p) => p.bound(j, (1.0, 0.0)),
            })
            .unzip()
    }

    /// Predicts every row of a checked batch; each row is scored on its own.
    pub fn predict(&self, rows: &Rows) -> Result<Vec<Prediction>, PredictError> {
        if rows.width() != self.features.len() {
            return Err(PredictError::Width {
                expected: self.features.len(),
                found: rows.width(),
            });
        }
        if let Some(columns) = &self.columns {
            let mut cells = Vec::with_capacity(rows.len() * rows.width());
            for (row, values) in rows.iter().enumerate() {
                for (feature, &v) in columns.features().iter().zip(values) {
                    let cell =
                        feature
                            .cell(Value::Number(v))
                            .map_err(|problem| PredictError::Value {
                                row,
                                feature: feature.name.clone(),
                                problem,
                            })?;
                    cells.push(cell);
                }
            }
            return self.predict_table(&Table::new(cells, rows.width()));
        }
        rows.iter()
            .enumerate()
            .map(|(row, values)| {
                if let Some(j) = values.iter().position(|v| v.abs() > self.range) {
                    return Err(PredictError::OutOfRange {
                        row,
                        feature: self.features[j].clone(),
                        value: values[j],
                        bound: self.range,
                    });
                }
                self.predict_row(values)
                    .ok_or(PredictError::ScoreOverflow { row })
            })
            .collect()
    }

    /// Predicts every row of a checked batch, numbers or cells.
    pub fn predict_batch(&self, batch: &Batch) -> Result<Vec<Prediction>, PredictError> {
        match batch {
            Batch::Rows(rows) => self.predict(rows),
            Batch::Table(table) => self.predict_table(table),
        }
    }

    /// Predicts every row of a checked table of inputs; each row is encoded and scored on its
    /// own. A model without column blocks takes a table of numbers only.
    pub fn predict_table(&self, table: &Table) -> Result<Vec<Prediction>, PredictError> {
        if table.width() != self.features.len() {
            return Err(PredictError::Width {
                expected: self.features.len(),
                found: table.width(),
            });
        }
        let Some(columns) = &self.columns else {
            let mut values = Vec::with_capacity(table.len() * table.width());
            for (row, cells) in table.iter().enumerate() {
                for (j, cell) in cells.iter().enumerate() {
                    match cell {
                        Cell::Number(v) => values.push(*v),
                        _ => {
                            return Err(PredictError::Value {
                                row,
                                feature: self.features[j].clone(),
                                problem: ValueError::Missing,
                            });
                        }
                    }
                }
            }
            let rows =
                Rows::from_flat(values, &self.features).map_err(|_| PredictError::Width {
                    expected: self.features.len(),
                    found: table.width(),
                })?;
            return self.predict(&rows);
        };
        let mut encoded = Vec::with_capacity(columns.width());
        let mut scratch = Scratch::default();
        table
            .iter()
            .enumerate()
            .map(|(row, cells)| {
                let beyond = cells
                    .iter()
                    .position(|c| matches!(c, Cell::Number(v) if v.abs() > self.range));
                if let Some(j) = beyond {
                    let Cell::Number(value) = cells[j] else {
                        unreachable!("found as a number")
                    };
                    return Err(PredictError::OutOfRange {
                        row,
                        feature: self.features[j].clone(),
                        value,
                        bound: self.range,
                    });
                }
                encoded.clear();
                columns.encode(cells, &mut encoded, &mut scratch).map_err(
                    |EncodeError { feature, problem }| PredictError::Value {
                        row,
                        feature,
                        problem,
                    },
                )?;
                self.predict_row(&encoded)
                    .ok_or(PredictError::ScoreOverflow { row })
            })
            .collect()
    }

    /// Scores one row of the right width; `None` when the score is not finite.
    fn predict_row(&self, x: &[f64]) -> Option<Prediction> {
        let preprocessed;
        let x = match &self.preprocessing {
            Some(step) => {
                preprocessed = step.apply(x);
                &preprocessed
            }
            None => x,
        };
        match &self.scorer {
            Scorer::Binary {
                weights,
                intercept,
                threshold,
            } => {
                let z = dot(weights, x) + intercept;
                if !z.is_finite() {
                    return None;
                }
                let positive = 1.0 / (1.0 + (-z).exp());
                Some(Prediction {
                    class: usize::from(positive >= *threshold),
                    probabilities: vec![1.0 - positive, positive],
                })
            }
            Scorer::Multinomial {
                weights,
                intercepts,
            } => {
                let scores = scores(weights, intercepts, x)?;
                let (class, max) = argmax(&scores);
                let exps: Vec<f64> = scores.iter().map(|z| (z - max).exp()).collect();
                let sum = numpy_sum(&exps);
                Some(Prediction {
                    class,
                    probabilities: exps.iter().map(|e| e / sum).collect(),
                })
            }
            Scorer::OneVsRest {
                weights,
                intercepts,
            } => {
                let scores = scores(weights, intercepts, x)?;
                let (class, _) = argmax(&scores);
                let sigmoids: Vec<f64> = scores.iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect();
                let sum = numpy_sum(&sigmoids);
                // scikit-learn's OneVsRestClassifier leaves a row whose every sigmoid underflowed
                // at zeros (its LogisticRegression would divide 0 by 0); the label is the
                // largest score either way.
                let probabilities = if sum == 0.0 {
                    sigmoids
                } else {
                    sigmoids.iter().map(|p| p / sum).collect()
                };
                Some(Prediction {
                    class,
                    probabilities,
                })
            }
        }
    }
}

/// One score per weight row, or `None` when one is not finite.
fn scores(weights: &[Vec<f64>], intercepts: &[f64], x: &[f64]) -> Option<Vec<f64>> {
    let scores: Vec<f64> = weights
        .iter()
        .zip(intercepts)
        .map(|(w, b)| dot(w, x) + b)
        .collect();
    scores.iter().all(|z| z.is_finite()).then_some(scores)
}

/// The sum of `values` in the order numpy's `sum` adds a row (its pairwise summation: in
/// order below 8 values, eight running sums up to 128, halves beyond), so that a softmax or
/// one-vs-rest normalisation divides by the bits scikit-learn divides by.
fn numpy_sum(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 8 {
        return values.iter().fold(0.0, |acc, v| acc + v);
    }
    if n > 128 {
        let half = n / 2 - (n / 2) % 8;
        return numpy_sum(&values[..half]) + numpy_sum(&values[half..]);
    }
    let whole = n - n % 8;
    let mut r: [f64; 8] = std::array::from_fn(|k| values[k]);
    for block in values[8..whole].chunks_exact(8) {
        for (acc, v) in r.iter_mut().zip(block) {
            *acc += v;
        }
    }
    let head = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    values[whole..].iter().fold(head, |acc, v| acc + v)
}

/// `Σ w_i x_i` summed in index order, so the result depends on nothing but the two slices.
fn dot(w: &[f64], x: &[f64]) -> f64 {
    w.iter().zip(x).fold(0.0, |acc, (w, x)| acc + w * x)
}

/// The first index of the largest score, and that score. `scores` is non-empty.
fn argmax(scores: &[f64]) -> (usize, f64) {
    scores
        .iter()
        .copied()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, z)| {
            if z > best.1 { (i, z) } else { best }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocessing::{Scale, Standardize};

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("f{i}")).collect()
    }

    #[test]
    fn binary_labels_the_positive_class_from_the_threshold() {
        let model = Model::binary(
            names(2),
            ["no".into(), "yes".into()],
            vec![1.0, -1.0],
            0.0,
            0.5,
        );
        let rows = Rows::from_rows(&[[2.0, 1.0], [1.0, 2.0], [1.0, 1.0]], &names(2)).unwrap();
        let got = model.predict(&rows).unwrap();
        assert_eq!(
            got.iter().map(|p| p.class).collect::<Vec<_>>(),
            [1, 0, 1],
            "a score of 0 gives p = 0.5, which is on the positive side"
        );
        assert_eq!(got[2].probabilities, [0.5, 0.5]);
    }

    #[test]
    fn multinomial_picks_the_largest_score_and_normalises() {
        let model = Model::multinomial(
            names(1),
            vec!["a".into(), "b".into(), "c".into()],
            vec![vec![1.0], vec![2.0], vec![0.0]],
            vec![0.0, 0.0, 1.5],
        );
        let rows = Rows::from_rows(&[[1.0], [-1.0]], &names(1)).unwrap();
        let got = model.predict(&rows).unwrap();
        assert_eq!(got[0].class, 1);
        assert_eq!(got[1].class, 2);
        for p in &got {
            assert!((p.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn a_value_beyond_the_safe_range_is_an_error_naming_row_and_feature() {
        let model = Model::multinomial(
            names(2),
            vec!["a".into(), "b".into()],
            vec![vec![1.0, 1.0], vec![1.0, -1.0]],
            vec![0.0, 0.0],
        );
        let rows = Rows::from_rows(&[[1.0, 1.0], [1.0, 1e308]], &names(2)).unwrap();
        assert_eq!(
            model.predict(&rows),
            Err(PredictError::OutOfRange {
                row: 1,
                feature: "f1".into(),
                value: 1e308,
                bound: 1e307,
            })
        );
    }

    #[test]
    fn standardization_is_fitted_like_scikit_learns_and_applied_before_scoring() {
        let rows = vec![vec![1.0, 5.0], vec![3.0, 5.0]];
        let s = Standardize::fit(&rows);
        // Population standard deviation; a constant column gets scale 1.
        assert_eq!(
            s,
            Standardize {
                mean: vec![2.0, 5.0],
                scale: vec![1.0, 1.0]
            }
        );
        assert_eq!(s.apply(&[4.0, 6.0]), [2.0, 1.0]);

        let raw = Model::binary(names(2), ["a".into(), "b".into()], vec![1.0, 1.0], 0.0, 0.5);
        let scaled = raw
            .clone()
            .with_preprocessing(Some(Preprocessing::Standardize(s.clone())));
        let x = Rows::from_rows(&[[4.0, 6.0]], &names(2)).unwrap();
        let same = Rows::from_rows(&[s.apply(&[4.0, 6.0])], &names(2)).unwrap();
        assert_eq!(scaled.predict(&x), raw.predict(&same));
    }

    #[test]
    fn one_vs_rest_divides_each_sigmoid_by_their_sum() {
        let model = Model::one_vs_rest(
            names(1),
            vec!["a".into(), "b".into(), "c".into()],
            vec![vec![1.0], vec![-1.0], vec![0.0]],
            vec![0.0, 0.0, 0.0],
        );
        let rows = Rows::from_rows(&[[2.0], [-1e3]], &names(1)).unwrap();
        let got = model.predict(&rows).unwrap();
        let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
        let (a, b, c) = (sigmoid(2.0), sigmoid(-2.0), sigmoid(0.0));
        let sum = a + b + c;
        assert_eq!(got[0].probabilities, [a / sum, b / sum, c / sum]);
        assert_eq!(got[0].class, 0);
        // Scores of -1000, 1000 and 0: nothing underflows, class b wins.
        assert_eq!(got[1].class, 1);

        // Every sigmoid underflows: zeros, as OneVsRestClassifier answers, and the largest
        // score still names the class.
        let far = Model::one_vs_rest(
            names(1),
            vec!["a".into(), "b".into(), "c".into()],
            vec![vec![-1.0], vec![-2.0], vec![-1.5]],
            vec![0.0, 0.0, 0.0],
        );
        let rows = Rows::from_rows(&[[1e4]], &names(1)).unwrap();
        let got = far.predict(&rows).unwrap();
        assert_eq!(got[0].probabilities, [0.0, 0.0, 0.0]);
        assert_eq!(got[0].class, 0);
    }

    #[test]
    fn sums_add_in_numpys_pairwise_order() {
        let values: Vec<f64> = (0..300).map(|i| 1.0 / f64::from(i + 1)).collect();
        // Below 8 values: in order.
        assert_eq!(
            numpy_sum(&values[..5]),
            (((values[0] + values[1]) + values[2]) + values[3]) + values[4]
        );
        // 9 values: eight running sums, combined in pairs, then the ninth.
        let v = &values[..9];
        let pairs = ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
        assert_eq!(numpy_sum(v), pairs + v[8]);
        // Beyond 128: halves at a multiple of 8.
        assert_eq!(
            numpy_sum(&values),
            numpy_sum(&values[..144]) + numpy_sum(&values[144..])
        );
    }

    #[test]
    fn a_scale_step_skips_what_it_lacks_and_clamps_last() {
        let scale = Scale {
            scaler: "MinMaxScaler".into(),
            subtract: None,
            divide: None,
            multiply: Some(vec![0.5, 2.0]),
            add: Some(vec![0.25, -1.0]),
            clip: Some([0.0, 1.0]),
        };
        assert_eq!(scale.apply(&[1.0, 0.75]), [0.75, 0.5]);
        assert_eq!(scale.apply(&[3.0, -4.0]), [1.0, 0.0]);
        let robust = Scale {
            scaler: "RobustScaler".into(),
            subtract: Some(vec![1.0]),
            divide: Some(vec![4.0]),
            multiply: None,
            add: None,
            clip: None,
        };
        assert_eq!(robust.apply(&[3.0]), [0.5]);
    }

    #[test]
    fn values_within_the_safe_range_never_overflow() {
        let model = Model::multinomial(
            names(2),
            vec!["a".into(), "b".into()],
            vec![vec![3.0, -1e5], vec![-2.0, 1.0]],
            vec![1.0, -1.0],
        );
        let bound = model.largest_safe_value();
        assert_eq!(bound, 1e302);
        for row in [[bound, -bound], [bound, bound], [-bound, bound]] {
            let rows = Rows::from_rows(&[row], &names(2)).unwrap();
            assert!(model.predict(&rows).is_ok(), "{row:?}");
        }
        let beyond = Rows::from_rows(&[[0.0, 1e306]], &names(2)).unwrap();
        assert!(model.predict(&beyond).is_err());
    }

    #[test]
    fn rows_checked_for_another_model_are_refused() {
        let model = Model::binary(names(2), ["a".into(), "b".into()], vec![1.0, 1.0], 0.0, 0.5);
        let rows = Rows::from_rows(&[[1.0]], &names(1)).unwrap();
        assert_eq!(
            model.predict(&rows),
            Err(PredictError::Width {
                expected: 2,
                found: 1
            })
        );
    }
}
