//! Rows for any model, as a client writes them: per input a number, a category or `null`,
//! drawn from what the model takes, and the V2 tensors that carry them.
//!
//! A model of numbers only (formats 1 and 2) takes a row of numbers and, on V2, one `[N, F]`
//! FP64 tensor. A model with column blocks (format 3) takes per input a number or a category
//! (a string, an integer, a boolean), `null` where it fills or encodes a missing value, and
//! an unseen category where it ignores one; on V2, one tensor per input, named as it, as
//! MLServer's pandas codec sends a data frame.

use proptest::prelude::*;
use serde_json::{Value, json};
use server::Artifact;
use server::inputs::{Category, Datum, Kind};

/// One row, one value per input in the model's order.
pub type Row = Vec<Datum>;

/// What the harness knows of a model's inputs: enough to draw rows and to shape requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub inputs: Vec<Input>,
    /// How V2 carries a batch: one `[N, F]` tensor, or one tensor per input.
    pub tensors: Tensors,
}

/// One input: its name, its values, and whether `null` is accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub name: String,
    pub values: Values,
    pub nullable: bool,
}

/// What values an input takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Numbers, within the training range when one is known (else [0, 1]).
    Numeric { range: (f64, f64) },
    /// Categories, in the model's order; `unseen` is a category the model has not seen, when
    /// the model ignores such a category.
    Categorical {
        categories: Vec<Category>,
        unseen: Option<Category>,
    },
}

/// How V2 carries a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tensors {
    /// One `[N, F]` FP64 tensor.
    Matrix,
    /// One `[N]` tensor per input, named as the input.
    PerInput,
}

impl Schema {
    /// The inputs of `artifact`'s model, with its training ranges.
    pub fn of(artifact: &Artifact) -> Schema {
        let model = artifact.model();
        let Some(columns) = model.columns() else {
            return Schema::numeric(model.features(), ranges(artifact));
        };
        let ranges = artifact.input_ranges();
        let inputs = columns
            .features()
            .iter()
            .enumerate()
            .map(|(i, feature)| Input {
                name: feature.name.clone(),
                nullable: feature.accepts_missing,
                values: match feature.kind {
                    Kind::Numeric => Values::Numeric {
                        range: ranges
                            .and_then(|r| r.get(i).copied().flatten())
                            .map_or((0.0, 1.0), |r| (r.min, r.max)),
                    },
                    Kind::Categorical => Values::Categorical {
                        categories: feature.categories.clone(),
                        unseen: feature
                            .accepts_unknown
                            .then(|| unseen(&feature.categories))
                            .flatten(),
                    },
                },
            })
            .collect();
        Schema {
            inputs,
            tensors: Tensors::PerInput,
        }
    }

    /// A model of numbers only, with these names and ranges.
    pub fn numeric(names: &[String], ranges: Vec<(f64, f64)>) -> Schema {
        Schema::new(
            names
                .iter()
                .zip(ranges)
                .map(|(name, range)| Input {
                    name: name.clone(),
                    values: Values::Numeric { range },
                    nullable: false,
                })
                .collect(),
        )
    }

    /// These inputs, carried by V2 as one `[N, F]` tensor when all are numbers that may not be
    /// missing, else one tensor per input.
    pub fn new(inputs: Vec<Input>) -> Schema {
        let numbers_only = inputs
            .iter()
            .all(|i| !i.nullable && matches!(i.values, Values::Numeric { .. }));
        Schema {
            inputs,
            tensors: if numbers_only {
                Tensors::Matrix
            } else {
                Tensors::PerInput
            },
        }
    }

    /// The input names, in order.
    pub fn names(&self) -> Vec<String> {
        self.inputs.iter().map(|i| i.name.clone()).collect()
    }

    pub fn width(&self) -> usize {
        self.inputs.len()
    }

    /// What random rows draw beyond numbers, for a report: "" for a model of numbers.
    pub fn drawn(&self) -> String {
        let mut kinds = vec![];
        let categorical = |i: &&Input| matches!(i.values, Values::Categorical { .. });
        if self.inputs.iter().any(|i| categorical(&i)) {
            kinds.push("categories");
        }
        if self.inputs.iter().any(|i| i.nullable) {
            kinds.push("nulls");
        }
        if self.inputs.iter().any(|i| {
            matches!(
                i.values,
                Values::Categorical {
                    unseen: Some(_),
                    ..
                }
            )
        }) {
            kinds.push("unseen categories");
        }
        kinds.iter().map(|k| format!(", {k}")).collect()
    }

    /// The middle of every range, and the first category of every categorical input.
    pub fn middle(&self) -> Row {
        self.inputs
            .iter()
            .map(|input| match &input.values {
                Values::Numeric { range: (min, max) } => Datum::Number(min + (max - min) / 2.0),
                Values::Categorical { categories, .. } => first(categories),
            })
            .collect()
    }

    /// A row of `number` in every numeric input and the first category in every categorical
    /// one: a valid request made to order.
    pub fn filled(&self, number: f64) -> Row {
        self.inputs
            .iter()
            .map(|input| match &input.values {
                Values::Numeric { .. } => Datum::Number(number),
                Values::Categorical { categories, .. } => first(categories),
            })
            .collect()
    }

    /// `n` rows, the same for every call with the same seed: numbers within the ranges, any
    /// category, and (for a format 3 model) a `null` or an unseen category now and then where
    /// the model takes one. A model of numbers only draws one value per input, as it always
    /// has, so its generated cases do not change.
    pub fn within(&self, n: usize, seed: u64) -> Vec<Row> {
        let mut rng = SplitMix(seed);
        (0..n)
            .map(|_| {
                self.inputs
                    .iter()
                    .map(|input| input.draw(&mut rng))
                    .collect()
            })
            .collect()
    }

    /// Random batches of 1 to 20 rows for proptest: numbers from ordinary to extreme
    /// ([`number`]), any category, and `null` or an unseen category where the model takes one.
    pub fn batches(&self) -> BoxedStrategy<Vec<Row>> {
        let row: Vec<BoxedStrategy<Datum>> = self.inputs.iter().map(Input::strategy).collect();
        prop::collection::vec(row, 1..=20).boxed()
    }

    /// The V2 tensors of `rows` as JSON, with `input` naming a [`Tensors::Matrix`] tensor.
    pub fn tensors_json(&self, rows: &[Row], input: &str) -> Vec<Value> {
        match self.tensors {
            Tensors::Matrix => vec![json!({
                "name": input, "shape": [rows.len(), self.width()], "datatype": "FP64",
                "data": rows.concat(),
            })],
            Tensors::PerInput => self
                .inputs
                .iter()
                .enumerate()
                .map(|(j, feature)| {
                    let column: Vec<&Datum> = rows.iter().map(|r| &r[j]).collect();
                    let mut tensor = json!({
                        "name": feature.name, "shape": [rows.len()],
                        "datatype": feature.datatype(), "data": column,
                    });
                    if feature.datatype() == "BYTES" {
                        tensor["parameters"] = json!({"content_type": "str"});
                    }
                    tensor
                })
                .collect(),
        }
    }

    /// The V2 tensors of `rows` as binary tensor data where it can carry them, and the bytes.
    /// A number that is missing is NaN (and an integer column with a gap FP64, as pandas holds
    /// it); a `BYTES` or `BOOL` column with a gap has no binary form and goes as JSON.
    pub fn tensors_binary(&self, rows: &[Row], input: &str) -> (Vec<Value>, Vec<u8>) {
        let mut bytes = vec![];
        let mut tensor = |name: &str, shape: Value, datatype: &str, data: Vec<u8>| {
            let size = data.len();
            bytes.extend(data);
            json!({"name": name, "shape": shape, "datatype": datatype,
                   "parameters": {"binary_data_size": size}})
        };
        if self.tensors == Tensors::Matrix {
            let data = rows
                .iter()
                .flatten()
                .flat_map(|v| v.number().unwrap_or(f64::NAN).to_le_bytes())
                .collect();
            let shape = json!([rows.len(), self.width()]);
            return (vec![tensor(input, shape, "FP64", data)], bytes);
        }
        let mut tensors = vec![];
        for (j, feature) in self.inputs.iter().enumerate() {
            let column: Vec<&Datum> = rows.iter().map(|r| &r[j]).collect();
            let gap = column.iter().any(|v| **v == Datum::Missing);
            let shape = json!([rows.len()]);
            let name = feature.name.as_str();
            let t = match feature.datatype() {
                "INT64" if !gap => tensor(
                    name,
                    shape,
                    "INT64",
                    column
                        .iter()
                        .flat_map(|v| (v.number().unwrap_or_default() as i64).to_le_bytes())
                        .collect(),
                ),
                "FP64" | "INT64" => tensor(
                    name,
                    shape,
                    "FP64",
                    column
                        .iter()
                        .flat_map(|v| v.number().unwrap_or(f64::NAN).to_le_bytes())
                        .collect(),
                ),
                "BYTES" if !gap => tensor(
                    name,
                    shape,
                    "BYTES",
                    column
                        .iter()
                        .flat_map(|v| {
                            let text = match v {
                                Datum::Category(Category::Text(s)) => s.as_bytes(),
                                _ => &[],
                            };
                            (text.len() as u32)
                                .to_le_bytes()
                                .into_iter()
                                .chain(text.iter().copied())
                        })
                        .collect(),
                ),
                "BOOL" if !gap => tensor(
                    name,
                    shape,
                    "BOOL",
                    column
                        .iter()
                        .map(|v| u8::from(**v == Datum::Category(Category::Bool(true))))
                        .collect(),
                ),
                datatype => json!({"name": name, "shape": shape, "datatype": datatype,
                                   "data": column}),
            };
            tensors.push(t);
        }
        (tensors, bytes)
    }
}

impl Values {
    /// Every category a row may hold: the known ones, then the unseen one where it is ignored.
    fn categories(&self) -> Vec<Datum> {
        match self {
            Values::Numeric { .. } => vec![],
            Values::Categorical { categories, unseen } => categories
                .iter()
                .chain(unseen)
                .cloned()
                .map(Datum::Category)
                .collect(),
        }
    }
}

impl Input {
    /// The V2 datatype of this input's tensor: as the service's metadata states it.
    pub fn datatype(&self) -> &'static str {
        match &self.values {
            Values::Numeric { .. } => "FP64",
            Values::Categorical { categories, .. } => match categories.first() {
                Some(Category::Integer(_)) => "INT64",
                Some(Category::Bool(_)) => "BOOL",
                _ => "BYTES",
            },
        }
    }

    fn draw(&self, rng: &mut SplitMix) -> Datum {
        match &self.values {
            Values::Numeric { range: (min, max) } => {
                let value = Datum::Number(min + (max - min) * rng.next_unit());
                // A second draw only where a gap is possible: numeric models draw as before.
                if self.nullable && rng.next_unit() < 0.1 {
                    Datum::Missing
                } else {
                    value
                }
            }
            Values::Categorical { .. } => {
                let mut choices = self.values.categories();
                if self.nullable {
                    choices.push(Datum::Missing);
                }
                let at = (rng.next_unit() * choices.len() as f64) as usize;
                choices
                    .get(at.min(choices.len().saturating_sub(1)))
                    .cloned()
                    .unwrap_or(Datum::Missing)
            }
        }
    }

    fn strategy(&self) -> BoxedStrategy<Datum> {
        let value: BoxedStrategy<Datum> = match &self.values {
            Values::Numeric { .. } => number().prop_map(Datum::Number).boxed(),
            Values::Categorical { .. } => {
                let choices = self.values.categories();
                if choices.is_empty() {
                    Just(Datum::Missing).boxed()
                } else {
                    prop::sample::select(choices).boxed()
                }
            }
        };
        if self.nullable {
            prop_oneof![9 => value, 1 => Just(Datum::Missing)].boxed()
        } else {
            value
        }
    }
}

/// Rows of numbers as rows of values.
pub fn numbers(rows: &[Vec<f64>]) -> Vec<Row> {
    rows.iter()
        .map(|r| r.iter().copied().map(Datum::Number).collect())
        .collect()
}

/// Numbers from ordinary to extreme: typical magnitudes, far outside any training range,
/// signed zeros, subnormals, and values large enough to overflow the score.
pub fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -100.0..100.0f64,
        2 => -1e6..1e6f64,
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => Just(5e-324),
        1 => Just(-2.2250738585072014e-308),
        1 => Just(1e300),
        1 => Just(-1e300),
        1 => any::<f64>().prop_filter("finite", |v| v.is_finite()),
    ]
}

/// Each feature's range: the artifact's, or [0, 1] when it records none (format 1, and a
/// categorical input).
pub fn ranges(artifact: &Artifact) -> Vec<(f64, f64)> {
    match artifact.input_ranges() {
        Some(ranges) => ranges
            .iter()
            .map(|r| r.map_or((0.0, 1.0), |r| (r.min, r.max)))
            .collect(),
        None => vec![(0.0, 1.0); artifact.model().features().len()],
    }
}

/// A category of the same type as `known` that is not among them: what an unseen value looks
/// like to the model. None for booleans that are both known.
pub fn unseen(known: &[Category]) -> Option<Category> {
    let candidate = match known.first() {
        Some(Category::Integer(_)) => Category::Integer(
            known
                .iter()
                .filter_map(|c| match c {
                    Category::Integer(i) => Some(*i),
                    _ => None,
                })
                .max()
                .unwrap_or(0)
                .saturating_add(1),
        ),
        Some(Category::Bool(_)) => [false, true]
            .into_iter()
            .map(Category::Bool)
            .find(|b| !known.contains(b))?,
        _ => {
            let mut text = "never seen".to_owned();
            while known.contains(&Category::Text(text.clone())) {
                text.push('!');
            }
            Category::Text(text)
        }
    };
    (!known.contains(&candidate)).then_some(candidate)
}

fn first(categories: &[Category]) -> Datum {
    categories
        .first()
        .cloned()
        .map_or(Datum::Missing, Datum::Category)
}

/// A small deterministic generator (SplitMix64): drawn rows must not depend on a crate's RNG.
struct SplitMix(u64);

impl SplitMix {
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unseen_category_is_of_the_known_type_and_not_known() {
        let text = [Category::Text("never seen".into())];
        assert_eq!(unseen(&text), Some(Category::Text("never seen!".into())));
        assert_eq!(
            unseen(&[Category::Integer(3), Category::Integer(1)]),
            Some(Category::Integer(4))
        );
        assert_eq!(unseen(&[Category::Bool(false), Category::Bool(true)]), None);
        assert_eq!(unseen(&[Category::Bool(true)]), Some(Category::Bool(false)));
    }
}
