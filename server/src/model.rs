//! The in-process model: binary and multinomial logistic regression behind one type.
//!
//! This is what the server calls and what the harness uses as its oracle, so a row's answer must
//! not depend on the batch it arrives in. linfa's own `predict_probabilities` multiplies the whole
//! batch with ndarray's `dot`, whose summation order is chosen per matrix shape; here each row is
//! scored alone, summing in feature order with plain `f64` arithmetic (Rust never fuses it into
//! FMA), so the same row gives the same bits in any batch, binary and build profile.
//!
//! A model trained on standardized features carries its [`Standardize`] step and applies it to
//! every row first, so clients send raw features and cannot forget the scaler.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::rows::Rows;

/// Which of the two logistic regressions an artifact holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Two classes, linfa's `LogisticRegression`.
    Binary,
    /// Two or more classes with a softmax, linfa's `MultiLogisticRegression`.
    Multinomial,
}

impl Kind {
    /// The name used in the artifact and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Binary => "binary",
            Kind::Multinomial => "multinomial",
        }
    }
}

/// Why a checked batch could not be predicted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PredictError {
    /// The rows were checked against another model's features.
    #[error("rows have {found} features, the model expects {expected}")]
    Width { expected: usize, found: usize },
    /// Finite inputs so large that the linear score is no longer a finite number.
    #[error("row {row}: the feature values are too large, the model's score overflows")]
    ScoreOverflow { row: usize },
}

/// The answer for one row: the predicted class and a probability per class, in class order.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Index into [`Model::classes`].
    pub class: usize,
    /// One probability per class, in the order of [`Model::classes`]; they sum to 1.
    pub probabilities: Vec<f64>,
}

/// Standardization fitted on the training rows: each feature becomes `(x - mean) / scale`, as
/// scikit-learn's `StandardScaler` computes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Standardize {
    pub mean: Vec<f64>,
    /// The population standard deviation, or 1 for a constant feature.
    pub scale: Vec<f64>,
}

impl Standardize {
    /// Fits the mean and scale of each column of `rows` (all of one width, at least one row).
    pub fn fit(rows: &[Vec<f64>]) -> Standardize {
        let width = rows.first().map_or(0, Vec::len);
        let n = rows.len() as f64;
        let mean: Vec<f64> = (0..width)
            .map(|j| rows.iter().fold(0.0, |acc, r| acc + r[j]) / n)
            .collect();
        let scale = (0..width)
            .map(|j| {
                let var = rows
                    .iter()
                    .fold(0.0, |acc, r| acc + (r[j] - mean[j]) * (r[j] - mean[j]))
                    / n;
                let sd = var.sqrt();
                if sd == 0.0 || !sd.is_finite() {
                    1.0
                } else {
                    sd
                }
            })
            .collect();
        Standardize { mean, scale }
    }

    /// The standardized row, in feature order.
    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(self.mean.iter().zip(&self.scale))
            .map(|(x, (m, s))| (x - m) / s)
            .collect()
    }
}

/// A fitted logistic regression, reduced to what prediction needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    features: Vec<String>,
    classes: Vec<String>,
    standardize: Option<Standardize>,
    scorer: Scorer,
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
        Model {
            features,
            classes: classes.into(),
            standardize: None,
            scorer: Scorer::Binary {
                weights,
                intercept,
                threshold,
            },
        }
    }

    /// A multinomial model with one weight row and intercept per class.
    pub(crate) fn multinomial(
        features: Vec<String>,
        classes: Vec<String>,
        weights: Vec<Vec<f64>>,
        intercepts: Vec<f64>,
    ) -> Model {
        Model {
            features,
            classes,
            standardize: None,
            scorer: Scorer::Multinomial {
                weights,
                intercepts,
            },
        }
    }

    /// The same model, standardizing each row first. The caller (the artifact loader) has
    /// checked that the lengths agree with the features.
    pub(crate) fn with_standardize(mut self, standardize: Option<Standardize>) -> Model {
        self.standardize = standardize;
        self
    }

    /// The standardization applied to each row before scoring, if any.
    pub fn standardize(&self) -> Option<&Standardize> {
        self.standardize.as_ref()
    }

    /// Which regression this is.
    pub fn kind(&self) -> Kind {
        match self.scorer {
            Scorer::Binary { .. } => Kind::Binary,
            Scorer::Multinomial { .. } => Kind::Multinomial,
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

    /// Predicts every row of a checked batch; each row is scored on its own.
    pub fn predict(&self, rows: &Rows) -> Result<Vec<Prediction>, PredictError> {
        if rows.width() != self.features.len() {
            return Err(PredictError::Width {
                expected: self.features.len(),
                found: rows.width(),
            });
        }
        rows.iter()
            .enumerate()
            .map(|(row, values)| {
                self.predict_row(values)
                    .ok_or(PredictError::ScoreOverflow { row })
            })
            .collect()
    }

    /// Scores one row of the right width; `None` when the score is not finite.
    fn predict_row(&self, x: &[f64]) -> Option<Prediction> {
        let standardized;
        let x = match &self.standardize {
            Some(s) => {
                standardized = s.apply(x);
                &standardized
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
                let scores: Vec<f64> = weights
                    .iter()
                    .zip(intercepts)
                    .map(|(w, b)| dot(w, x) + b)
                    .collect();
                if !scores.iter().all(|z| z.is_finite()) {
                    return None;
                }
                let (class, max) = argmax(&scores);
                let exps: Vec<f64> = scores.iter().map(|z| (z - max).exp()).collect();
                let sum: f64 = exps.iter().sum();
                Some(Prediction {
                    class,
                    probabilities: exps.iter().map(|e| e / sum).collect(),
                })
            }
        }
    }
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
    fn an_overflowing_score_is_an_error_naming_the_row() {
        let model = Model::multinomial(
            names(2),
            vec!["a".into(), "b".into()],
            vec![vec![1.0, 1.0], vec![1.0, -1.0]],
            vec![0.0, 0.0],
        );
        let rows = Rows::from_rows(&[[1.0, 1.0], [1e308, 1e308]], &names(2)).unwrap();
        assert_eq!(
            model.predict(&rows),
            Err(PredictError::ScoreOverflow { row: 1 })
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
        let scaled = raw.clone().with_standardize(Some(s.clone()));
        let x = Rows::from_rows(&[[4.0, 6.0]], &names(2)).unwrap();
        let same = Rows::from_rows(&[s.apply(&[4.0, 6.0])], &names(2)).unwrap();
        assert_eq!(scaled.predict(&x), raw.predict(&same));
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
