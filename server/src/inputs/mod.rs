//! A model's inputs as clients send them, for tables as people have them: each feature numeric
//! or categorical, any value possibly missing.
//!
//! A format 3 artifact describes its inputs and, in [`columns`], the ordered blocks that turn
//! one such row into the vector its coefficients apply to. Requests are decoded into [`Cell`]s
//! against this description ([`Feature::cell`]), so that what reaches the model is already
//! checked: a number where a number belongs, a known category (or one the model may ignore),
//! a missing value only where something fills or encodes it.
//!
//! A categorical feature's categories are kept as [`Category`] values in one vocabulary per
//! feature; a cell holds the index into it, so encoding a row does no string work.

pub mod columns;

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use columns::{Block, Columns, OneHot, Ordinal, Step, Unknown};

/// A category as the data holds it. JSON gives its type: `"male"`, `3`, `true`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Category {
    Bool(bool),
    Integer(i64),
    Text(String),
}

impl fmt::Display for Category {
    /// As JSON writes it, so a message shows `"male"` apart from `3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Category::Bool(b) => write!(f, "{b}"),
            Category::Integer(i) => write!(f, "{i}"),
            Category::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// Whether a feature takes numbers or categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Numeric,
    Categorical,
}

/// One feature as clients send it, in the order array rows list them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub name: String,
    pub kind: Kind,
}

/// One value of a checked row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    /// A finite number, for a numeric feature.
    Number(f64),
    /// A known category: an index into the feature's [`Feature::categories`].
    Category(u32),
    /// A category the model has not seen, accepted because every block ignores it.
    Unknown,
    /// A missing value, accepted because every block fills or encodes it.
    Missing,
}

/// A value as a request holds it, before it is checked against a feature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Number(f64),
    Text(&'a str),
}

/// A value owned, as fixtures and generated rows keep it and as JSON writes it: `null`, a
/// category (a string, an integer, a boolean) or a number. A whole number reads back as an
/// integer category; as a [`Value`] it is that number, so a numeric feature takes it too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Datum {
    Missing,
    Category(Category),
    Number(f64),
}

impl Datum {
    /// The value as a request holds it.
    pub fn value(&self) -> Value<'_> {
        match self {
            Datum::Missing => Value::Null,
            Datum::Category(Category::Bool(b)) => Value::Bool(*b),
            Datum::Category(Category::Integer(i)) => Value::Number(*i as f64),
            Datum::Category(Category::Text(s)) => Value::Text(s),
            Datum::Number(v) => Value::Number(*v),
        }
    }

    /// The number this value is, if it is one.
    pub fn number(&self) -> Option<f64> {
        match self.value() {
            Value::Number(v) => Some(v),
            _ => None,
        }
    }
}

/// Why a value does not fit its feature.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ValueError {
    #[error("expected a number, found {found}")]
    NotANumber { found: String },
    #[error("the value must be a finite number")]
    NonFinite,
    #[error("expected a category ({expected}), found {found}")]
    NotACategory {
        expected: &'static str,
        found: String,
    },
    #[error("unknown category {found}; known: {known}")]
    UnknownCategory { found: String, known: String },
    #[error("the value is missing (null), and this model has nothing to fill it with")]
    Missing,
}

/// A feature as the decoder and the documents need it: its kind, its categories and what it
/// accepts beyond them.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    pub name: String,
    pub kind: Kind,
    /// The categories any block knows, in the order the blocks list them (the missing value,
    /// where a block knows it as a category, is not among them: it is [`Cell::Missing`]).
    pub categories: Vec<Category>,
    /// `null` is accepted: every block that takes this feature fills or encodes it.
    pub accepts_missing: bool,
    /// A category outside [`Feature::categories`] is accepted: every block ignores it.
    pub accepts_unknown: bool,
    /// No block takes this feature (scikit-learn's `ColumnTransformer` dropped it): a request
    /// may leave it out.
    pub optional: bool,
    lookup: Lookup,
}

/// Category → index, by the category's own type, so a request's `&str` needs no allocation.
#[derive(Debug, Clone, PartialEq, Default)]
struct Lookup {
    text: HashMap<String, u32>,
    integers: HashMap<i64, u32>,
    bools: [Option<u32>; 2],
}

impl Feature {
    pub(crate) fn new(input: &Input, categories: Vec<Category>) -> Feature {
        let mut lookup = Lookup::default();
        for (i, category) in categories.iter().enumerate() {
            let i = i as u32;
            match category {
                Category::Text(s) => {
                    lookup.text.insert(s.clone(), i);
                }
                Category::Integer(n) => {
                    lookup.integers.insert(*n, i);
                }
                Category::Bool(b) => lookup.bools[usize::from(*b)] = Some(i),
            }
        }
        Feature {
            name: input.name.clone(),
            kind: input.kind,
            categories,
            accepts_missing: false,
            accepts_unknown: false,
            optional: false,
            lookup,
        }
    }

    /// The index of `category`, if known.
    pub fn index(&self, category: &Category) -> Option<u32> {
        match category {
            Category::Text(s) => self.lookup.text.get(s.as_str()).copied(),
            Category::Integer(n) => self.lookup.integers.get(n).copied(),
            Category::Bool(b) => self.lookup.bools[usize::from(*b)],
        }
    }

    /// What type this feature's categories are, in words: `"a string"`, `"an integer"`, …
    pub fn category_type(&self) -> &'static str {
        match self.categories.first() {
            Some(Category::Integer(_)) => "an integer",
            Some(Category::Bool(_)) => "a boolean",
            _ => "a string",
        }
    }

    /// Whether the categories are integers, so that a whole number is one.
    pub fn integer_categories(&self) -> bool {
        matches!(self.categories.first(), Some(Category::Integer(_)))
    }

    /// How `/model`, V2 metadata and the OpenAPI document describe this feature.
    pub fn describe(&self) -> FeatureDescription<'_> {
        FeatureDescription {
            name: &self.name,
            kind: self.kind,
            categories: (self.kind == Kind::Categorical).then_some(self.categories.as_slice()),
            nullable: self.accepts_missing,
            unknown: (self.kind == Kind::Categorical).then_some(if self.accepts_unknown {
                "ignore"
            } else {
                "error"
            }),
            optional: self.optional,
        }
    }

    /// The V2 datatype its values travel in: `FP64`, `BYTES`, `INT64` for integer categories,
    /// `BOOL` for boolean ones.
    pub fn datatype(&self) -> &'static str {
        match self.kind {
            Kind::Numeric => "FP64",
            Kind::Categorical if self.integer_categories() => "INT64",
            Kind::Categorical if self.boolean_categories() => "BOOL",
            Kind::Categorical => "BYTES",
        }
    }

    /// Whether the categories are booleans.
    pub fn boolean_categories(&self) -> bool {
        matches!(self.categories.first(), Some(Category::Bool(_)))
    }

    /// Checks one value against this feature.
    pub fn cell(&self, value: Value<'_>) -> Result<Cell, ValueError> {
        match (self.kind, value) {
            (_, Value::Null) if self.accepts_missing => Ok(Cell::Missing),
            // NaN is how numpy and pandas hold a gap (a float column, or integer categories
            // with a gap): where a gap is accepted, it is one.
            (_, Value::Number(v)) if v.is_nan() && self.accepts_missing => Ok(Cell::Missing),
            (_, Value::Null) => Err(ValueError::Missing),
            (Kind::Numeric, Value::Number(v)) if v.is_finite() => Ok(Cell::Number(v)),
            (Kind::Numeric, Value::Number(_)) => Err(ValueError::NonFinite),
            (Kind::Numeric, other) => Err(ValueError::NotANumber {
                found: shown(other),
            }),
            (Kind::Categorical, value) => {
                let category = match value {
                    Value::Text(s) if !self.integer_categories() && !self.boolean_categories() => {
                        match self.lookup.text.get(s) {
                            Some(&i) => return Ok(Cell::Category(i)),
                            None => Category::Text(s.to_owned()),
                        }
                    }
                    Value::Number(v)
                        if self.integer_categories()
                            && v.fract() == 0.0
                            && v.abs() < 9_007_199_254_740_992.0 =>
                    {
                        Category::Integer(v as i64)
                    }
                    Value::Bool(b) if self.boolean_categories() => Category::Bool(b),
                    other => {
                        return Err(ValueError::NotACategory {
                            expected: self.category_type(),
                            found: shown(other),
                        });
                    }
                };
                match self.index(&category) {
                    Some(i) => Ok(Cell::Category(i)),
                    None if self.accepts_unknown => Ok(Cell::Unknown),
                    None => Err(ValueError::UnknownCategory {
                        found: category.to_string(),
                        known: self.known(),
                    }),
                }
            }
        }
    }

    /// The known categories as a message lists them, at most 20.
    fn known(&self) -> String {
        const SHOWN: usize = 20;
        let mut list: Vec<String> = self
            .categories
            .iter()
            .take(SHOWN)
            .map(Category::to_string)
            .collect();
        if self.categories.len() > SHOWN {
            list.push(format!("… {} more", self.categories.len() - SHOWN));
        }
        format!("[{}]", list.join(", "))
    }
}

/// A feature as the service describes it to clients.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureDescription<'a> {
    pub name: &'a str,
    pub kind: Kind,
    /// The known categories; absent for a numeric feature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<&'a [Category]>,
    /// Whether `null` (a missing value) is accepted.
    pub nullable: bool,
    /// What an unknown category does: `error` or `ignore`; absent for a numeric feature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<&'static str>,
    /// Present, and true, when the model ignores the feature: a request may leave it out.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// A value as a message shows it.
fn shown(value: Value<'_>) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        // A whole number as the client most likely wrote it: `1`, not `1.0`.
        Value::Number(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
        Value::Number(v) if v.is_nan() => "NaN".into(),
        Value::Number(v) if v.is_infinite() => {
            if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
        }
        Value::Number(v) => serde_json::to_string(&v).unwrap_or_else(|_| v.to_string()),
        Value::Text(s) => format!("{s:?}"),
    }
}

/// A checked batch as a decoder gives it: numbers for a model of numeric features, cells for a
/// model with column blocks.
#[derive(Debug, Clone, PartialEq)]
pub enum Batch {
    Rows(crate::rows::Rows),
    Table(Table),
}

impl Batch {
    /// The number of rows; never zero.
    pub fn len(&self) -> usize {
        match self {
            Batch::Rows(rows) => rows.len(),
            Batch::Table(table) => table.len(),
        }
    }

    /// Always false: an empty batch is refused before one is made.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A numeric model's rows, for the decoders' tests.
    #[cfg(test)]
    pub(crate) fn rows(&self) -> &crate::rows::Rows {
        match self {
            Batch::Rows(rows) => rows,
            Batch::Table(_) => panic!("a numeric model's batch is rows"),
        }
    }
}

/// A non-empty batch of checked rows of cells, one cell per input, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    cells: Vec<Cell>,
    width: usize,
}

impl Table {
    /// A batch of `cells.len() / width` rows; the caller has checked each cell against its
    /// feature and the count against the width.
    pub fn new(cells: Vec<Cell>, width: usize) -> Table {
        debug_assert!(width > 0 && !cells.is_empty() && cells.len().is_multiple_of(width));
        Table { cells, width }
    }

    /// The number of cells in each row: the model's input count.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The number of rows; never zero.
    pub fn len(&self) -> usize {
        self.cells.len() / self.width
    }

    /// Always false: an empty batch is refused before a table is made.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The rows in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[Cell]> {
        self.cells.chunks_exact(self.width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn categorical(categories: &[Category]) -> Feature {
        let input = Input {
            name: "sex".into(),
            kind: Kind::Categorical,
        };
        Feature::new(&input, categories.to_vec())
    }

    #[test]
    fn a_category_is_found_by_its_own_type() {
        let sex = categorical(&[
            Category::Text("female".into()),
            Category::Text("male".into()),
        ]);
        assert_eq!(sex.cell(Value::Text("male")), Ok(Cell::Category(1)));
        assert_eq!(
            sex.cell(Value::Number(1.0)),
            Err(ValueError::NotACategory {
                expected: "a string",
                found: "1".into()
            })
        );
        assert_eq!(
            sex.cell(Value::Text("x")).unwrap_err().to_string(),
            r#"unknown category "x"; known: ["female", "male"]"#
        );
        assert_eq!(sex.cell(Value::Null), Err(ValueError::Missing));

        let class = categorical(&[Category::Integer(1), Category::Integer(3)]);
        assert_eq!(class.cell(Value::Number(3.0)), Ok(Cell::Category(1)));
        assert!(matches!(
            class.cell(Value::Number(1.5)),
            Err(ValueError::NotACategory { .. })
        ));
        assert!(matches!(
            class.cell(Value::Text("1")),
            Err(ValueError::NotACategory { .. })
        ));
    }

    #[test]
    fn unknown_and_missing_pass_only_where_accepted() {
        let mut sex = categorical(&[Category::Text("female".into())]);
        sex.accepts_missing = true;
        sex.accepts_unknown = true;
        assert_eq!(sex.cell(Value::Null), Ok(Cell::Missing));
        assert_eq!(sex.cell(Value::Text("x")), Ok(Cell::Unknown));
        // A wrong type is never an unknown category.
        assert!(sex.cell(Value::Bool(true)).is_err());
    }

    #[test]
    fn a_numeric_feature_takes_finite_numbers() {
        let input = Input {
            name: "mass".into(),
            kind: Kind::Numeric,
        };
        let mass = Feature::new(&input, vec![]);
        assert_eq!(mass.cell(Value::Number(2.5)), Ok(Cell::Number(2.5)));
        assert_eq!(
            mass.cell(Value::Number(f64::NAN)),
            Err(ValueError::NonFinite)
        );
        assert_eq!(
            mass.cell(Value::Text("heavy")).unwrap_err().to_string(),
            r#"expected a number, found "heavy""#
        );
    }
}
