//! Per-feature scaling before the linear model: the standardization `train --standardize`
//! fits, and scikit-learn's linear scalers as imported. A model of numbers applies one to the
//! whole row; a model with column blocks applies a [`Scale`] to the columns of one block.

use serde::{Deserialize, Serialize};

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

/// One of scikit-learn's linear scalers, per feature, in the order scikit-learn computes it:
/// `x - subtract`, then `/ divide`, then `* multiply`, then `+ add`, then clamped to `clip`;
/// a step that is absent is skipped, not done with a neutral value, so the bits are
/// scikit-learn's. `StandardScaler` and `RobustScaler` subtract and divide (each only when
/// their switches say), `MaxAbsScaler` divides, `MinMaxScaler` multiplies, adds and, with
/// `clip=True`, clamps to its `feature_range`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    /// The scikit-learn class it reproduces.
    pub scaler: String,
    pub subtract: Option<Vec<f64>>,
    pub divide: Option<Vec<f64>>,
    pub multiply: Option<Vec<f64>>,
    pub add: Option<Vec<f64>>,
    /// `[low, high]`, applied as `min(max(x, low), high)`, as numpy's `clip`.
    pub clip: Option<[f64; 2]>,
}

impl Scale {
    /// The scaled row, in feature order.
    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .enumerate()
            .map(|(j, &v)| self.apply_one(j, v))
            .collect()
    }

    /// Feature `j`'s value `v`, scaled.
    pub fn apply_one(&self, j: usize, mut v: f64) -> f64 {
        if let Some(s) = &self.subtract {
            v -= s[j];
        }
        if let Some(d) = &self.divide {
            v /= d[j];
        }
        if let Some(m) = &self.multiply {
            v *= m[j];
        }
        if let Some(a) = &self.add {
            v += a[j];
        }
        if let Some([low, high]) = self.clip {
            v = v.max(low).min(high);
        }
        v
    }

    /// How feature `j` is bounded after this scaler, given how it was before: with every input
    /// within `±x`, a value within `±(gain·x + shift)` becomes one within the `(gain, shift)`
    /// returned. A clip bounds it whatever `x` is.
    pub fn bound(&self, j: usize, (gain, shift): (f64, f64)) -> (f64, f64) {
        let at = |v: &Option<Vec<f64>>, default: f64| v.as_ref().map_or(default, |v| v[j]);
        if let Some([low, high]) = self.clip {
            return (0.0, low.abs().max(high.abs()));
        }
        let (d, k) = (at(&self.divide, 1.0).abs(), at(&self.multiply, 1.0).abs());
        (
            gain * k / d,
            (shift + at(&self.subtract, 0.0).abs()) * k / d + at(&self.add, 0.0).abs(),
        )
    }

    /// Each per-feature vector with its name, for the checks of their lengths and values.
    pub fn vectors(&self) -> [(&'static str, Option<&Vec<f64>>); 4] {
        [
            ("subtract", self.subtract.as_ref()),
            ("divide", self.divide.as_ref()),
            ("multiply", self.multiply.as_ref()),
            ("add", self.add.as_ref()),
        ]
    }
}

/// A step applied to each row before the linear model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Preprocessing {
    /// `(x - mean) / scale`, per feature: what `train --standardize` fits.
    Standardize(Standardize),
    /// A scikit-learn scaler, imported.
    Scale(Scale),
}

impl Preprocessing {
    /// How feature `j` is bounded after this step, given how it was before (see
    /// [`Scale::bound`]).
    pub fn bound(&self, j: usize, (gain, shift): (f64, f64)) -> (f64, f64) {
        match self {
            Preprocessing::Standardize(s) => {
                (gain / s.scale[j], (shift + s.mean[j].abs()) / s.scale[j])
            }
            Preprocessing::Scale(s) => s.bound(j, (gain, shift)),
        }
    }

    /// The preprocessed row, in feature order.
    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        match self {
            Preprocessing::Standardize(s) => s.apply(x),
            Preprocessing::Scale(s) => s.apply(x),
        }
    }
}
