//! A batch of feature rows, checked once where input enters so that inner code never re-checks.

use thiserror::Error;

/// Why a batch of feature rows was refused. Rows and features are counted from 0.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum InputError {
    /// The batch holds no rows at all.
    #[error("the batch is empty: send at least one row")]
    Empty,
    /// A row has the wrong number of values.
    #[error("row {row}: expected {expected} features, found {found}")]
    Width {
        row: usize,
        expected: usize,
        found: usize,
    },
    /// A value is NaN or infinite.
    #[error("row {row}, feature {feature}: value must be a finite number")]
    NonFinite { row: usize, feature: String },
}

/// A non-empty batch of rows, each exactly `width` finite values long, stored row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    values: Vec<f64>,
    width: usize,
}

impl Rows {
    /// Checks `rows` against the feature names a model expects, in order.
    ///
    /// The names only serve the error messages: a caller learns which feature was wrong.
    pub fn from_rows<R: AsRef<[f64]>>(rows: &[R], features: &[String]) -> Result<Rows, InputError> {
        let width = features.len();
        let mut values = Vec::with_capacity(rows.len() * width);
        for (row, r) in rows.iter().enumerate() {
            let r = r.as_ref();
            if r.len() != width {
                return Err(InputError::Width {
                    row,
                    expected: width,
                    found: r.len(),
                });
            }
            values.extend_from_slice(r);
        }
        Rows::from_flat(values, features)
    }

    /// Checks a row-major buffer of `len / features.len()` rows.
    pub fn from_flat(values: Vec<f64>, features: &[String]) -> Result<Rows, InputError> {
        let width = features.len();
        if values.is_empty() || width == 0 {
            return Err(InputError::Empty);
        }
        if !values.len().is_multiple_of(width) {
            return Err(InputError::Width {
                row: values.len() / width,
                expected: width,
                found: values.len() % width,
            });
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(InputError::NonFinite {
                row: i / width,
                feature: features[i % width].clone(),
            });
        }
        Ok(Rows { values, width })
    }

    /// The number of values in each row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The number of rows; never zero.
    pub fn len(&self) -> usize {
        self.values.len() / self.width
    }

    /// Always false: an empty batch is refused at construction. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The rows in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[f64]> {
        self.values.chunks_exact(self.width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("f{i}")).collect()
    }

    #[test]
    fn accepts_rows_of_the_right_width() {
        let rows = Rows::from_rows(&[[1.0, 2.0], [3.0, 4.0]], &names(2)).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.iter().nth(1), Some(&[3.0, 4.0][..]));
    }

    #[test]
    fn refuses_each_bad_shape_with_its_own_error() {
        let f = names(2);
        let empty: [[f64; 2]; 0] = [];
        assert_eq!(Rows::from_rows(&empty, &f), Err(InputError::Empty));
        assert_eq!(
            Rows::from_rows(&[vec![1.0, 2.0], vec![1.0]], &f),
            Err(InputError::Width {
                row: 1,
                expected: 2,
                found: 1
            })
        );
        assert_eq!(
            Rows::from_rows(&[[1.0, 2.0], [3.0, f64::INFINITY]], &f),
            Err(InputError::NonFinite {
                row: 1,
                feature: "f1".into()
            })
        );
        assert_eq!(
            Rows::from_flat(vec![1.0, 2.0, 3.0], &f),
            Err(InputError::Width {
                row: 1,
                expected: 2,
                found: 1
            })
        );
        let message = Rows::from_flat(vec![f64::NAN, 0.0], &f)
            .unwrap_err()
            .to_string();
        assert_eq!(message, "row 0, feature f0: value must be a finite number");
    }
}
