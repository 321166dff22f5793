//! The vector the coefficients apply to, described as ordered column blocks, and computed from
//! one row of cells.
//!
//! A block names some inputs and the steps their values go through, as a scikit-learn
//! `ColumnTransformer` entry does: impute (a number or a category, with missing-indicator
//! columns), scale, one-hot, ordinal, missing-indicator; a block with no steps passes its
//! numbers through. Blocks are concatenated in order, so an imported pipeline's coefficients
//! apply unchanged and a trained model writes its blocks in the order it fitted them.
//!
//! [`Columns::new`] checks a description once (widths, kinds, positions) and compiles it: every
//! category becomes an index, every one-hot lookup a table. [`Columns::encode`] then computes a
//! row with plain arithmetic in column order, so a row's vector does not depend on its batch,
//! and it reuses two buffers for a whole batch.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::inputs::{Category, Cell, Feature, Input, Kind, ValueError};
use crate::preprocessing::Scale;

/// One block of the expanded vector, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// The inputs this block takes, in the order its steps see them.
    pub features: Vec<String>,
    /// Applied in order; none passes the numbers through.
    pub steps: Vec<Step>,
}

/// One step of a block, over every column it is given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Missing values take a fixed value, as scikit-learn's `SimpleImputer`.
    Impute(Impute),
    /// One of scikit-learn's linear scalers.
    Scale(Scale),
    /// One column per category, as scikit-learn's `OneHotEncoder`.
    OneHot(OneHot),
    /// One column holding the category's position, as scikit-learn's `OrdinalEncoder`.
    Ordinal(Ordinal),
    /// Only 0/1 columns saying which values were missing, as scikit-learn's `MissingIndicator`.
    MissingIndicator(MissingIndicator),
}

/// `SimpleImputer`: each column's fill value; then, with `add_indicator`, one 0/1 column per
/// listed position, after the imputed columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Impute {
    /// Per column: a number, a category, or `null` where the column is dropped (scikit-learn
    /// drops a column that had no value in training).
    pub fill: Vec<Option<Literal>>,
    /// Positions (into this step's columns) that get a missing-indicator column, in order.
    #[serde(default)]
    pub indicators: Vec<usize>,
}

/// A fill value: a category or a number, read by the kind of the column it fills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Literal {
    Category(Category),
    Number(f64),
}

/// What a category outside the known ones does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unknown {
    /// Refused, naming the value.
    Error,
    /// Every column of that feature is 0.
    Ignore,
}

/// `OneHotEncoder`: per column, its categories in output order (`null` is the missing value
/// seen in training, last, as scikit-learn sorts it) and the one that has no column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneHot {
    pub categories: Vec<Vec<Option<Category>>>,
    /// Per column, the category dropped (its rows are all 0), or `null`.
    pub drop: Vec<Option<Category>>,
    pub unknown: Unknown,
}

/// `OrdinalEncoder`: per column, its categories; a value becomes its position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ordinal {
    pub categories: Vec<Vec<Option<Category>>>,
    /// What an unknown category becomes; `null` refuses it.
    pub unknown_value: Option<f64>,
    /// What a missing value becomes; `null` refuses it.
    pub missing_value: Option<f64>,
}

/// `MissingIndicator`: one 0/1 column per listed position, and nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissingIndicator {
    pub positions: Vec<usize>,
}

/// Why a column description cannot be used.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ColumnsError {
    #[error("the artifact lists no inputs")]
    NoInputs,
    #[error("input {0:?} is listed twice")]
    DuplicateInput(String),
    #[error("block {block}: {0:?} is not an input", .name)]
    NotAnInput { block: usize, name: String },
    #[error("block {block}, step {step} ({what}): {found} values for {expected} columns")]
    Width {
        block: usize,
        step: usize,
        what: &'static str,
        expected: usize,
        found: usize,
    },
    #[error(
        "block {block}, step {step} ({what}): position {position} is beyond its {width} columns"
    )]
    Position {
        block: usize,
        step: usize,
        what: &'static str,
        position: usize,
        width: usize,
    },
    #[error("block {block}, step {step} ({what}): column {position} holds {found} values")]
    ColumnKind {
        block: usize,
        step: usize,
        what: &'static str,
        position: usize,
        found: &'static str,
    },
    #[error("block {block}: column {position} still holds categories at the end; encode them")]
    Unencoded { block: usize, position: usize },
    #[error("block {block}, step {step} ({what}): {problem}")]
    Value {
        block: usize,
        step: usize,
        what: &'static str,
        problem: String,
    },
    #[error("the blocks make {found} columns, the fitted model has {expected} weights")]
    Total { expected: usize, found: usize },
}

/// A value that a block could not encode; decoding refuses such values first, so this is only
/// reached by cells made without checking them against every block.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("feature {feature:?}: {problem}")]
pub struct EncodeError {
    pub feature: String,
    pub problem: ValueError,
}

/// The two working rows a block's steps pass between them, reused across a batch.
#[derive(Debug, Default)]
pub struct Scratch {
    a: Vec<Cell>,
    b: Vec<Cell>,
}

/// The inputs and their blocks, checked and compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    features: Vec<Feature>,
    blocks: Vec<Compiled>,
    width: usize,
    /// Per output column, how a numeric input's magnitude reaches it: `|out| <= gain·|x| + shift`.
    bounds: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
struct Compiled {
    inputs: Vec<usize>,
    steps: Vec<Op>,
    /// Before each step and after the last, the input each column still carries (for
    /// messages).
    origins: Vec<Vec<Option<usize>>>,
}

/// A step with categories turned into indices.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Impute {
        fill: Vec<Option<Cell>>,
        indicators: Vec<usize>,
    },
    Scale(Scale),
    OneHot(Vec<Hot>),
    Ordinal(Vec<Codes>),
    MissingIndicator(Vec<usize>),
}

/// One column's one-hot table.
#[derive(Debug, Clone, PartialEq)]
struct Hot {
    width: usize,
    /// By category index.
    known: Vec<Slot>,
    unknown: Slot,
    missing: Slot,
}

/// Where a value's 1 goes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Column(usize),
    Zeros,
    Refused,
}

/// One column's ordinal codes.
#[derive(Debug, Clone, PartialEq)]
struct Codes {
    /// By category index.
    known: Vec<Option<f64>>,
    unknown: Option<f64>,
    missing: Option<f64>,
}

/// What a working column holds while a block is compiled.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Held {
    input: Option<usize>,
    kind: Kind,
    /// How a numeric input's magnitude reaches it.
    gain: f64,
    shift: f64,
}

/// A value's fate while a block is walked, for what a feature accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    Missing,
    Unknown,
    Known,
}

impl Columns {
    /// Checks `blocks` over `inputs` and compiles them; `expected` is the fitted model's width.
    pub fn new(
        inputs: &[Input],
        blocks: &[Block],
        expected: usize,
    ) -> Result<Columns, ColumnsError> {
        if inputs.is_empty() {
            return Err(ColumnsError::NoInputs);
        }
        if let Some((_, input)) = inputs
            .iter()
            .enumerate()
            .find(|(i, input)| inputs[..*i].iter().any(|o| o.name == input.name))
        {
            return Err(ColumnsError::DuplicateInput(input.name.clone()));
        }
        let at = |block: usize, name: &String| {
            inputs
                .iter()
                .position(|i| i.name == *name)
                .ok_or_else(|| ColumnsError::NotAnInput {
                    block,
                    name: name.clone(),
                })
        };
        // Every category any block knows, per input, in first-seen order.
        let mut vocabularies: Vec<Vec<Category>> = vec![vec![]; inputs.len()];
        let mut indices = vec![];
        for (b, block) in blocks.iter().enumerate() {
            let index: Vec<usize> = block
                .features
                .iter()
                .map(|name| at(b, name))
                .collect::<Result<_, _>>()?;
            let mut held: Vec<Held> = index
                .iter()
                .map(|&i| Held::input(i, inputs[i].kind))
                .collect();
            for (s, step) in block.steps.iter().enumerate() {
                let mut learn = |column: usize, category: &Category| {
                    if let Some(input) = held[column].input {
                        let vocabulary = &mut vocabularies[input];
                        if !vocabulary.contains(category) {
                            vocabulary.push(category.clone());
                        }
                    }
                };
                match step {
                    Step::Impute(impute) => {
                        for (column, fill) in impute.fill.iter().enumerate().take(held.len()) {
                            if let Some(Literal::Category(c)) = fill {
                                learn(column, c);
                            }
                        }
                    }
                    Step::OneHot(OneHot { categories, .. })
                    | Step::Ordinal(Ordinal { categories, .. }) => {
                        for (column, known) in categories.iter().enumerate().take(held.len()) {
                            for c in known.iter().flatten() {
                                learn(column, c);
                            }
                        }
                    }
                    _ => {}
                }
                held = after(&held, step, b, s)?;
            }
            if let Some(position) = held.iter().position(|h| h.kind == Kind::Categorical) {
                return Err(ColumnsError::Unencoded { block: b, position });
            }
            indices.push(index);
        }
        let mut features: Vec<Feature> = inputs
            .iter()
            .zip(vocabularies)
            .map(|(input, categories)| Feature::new(input, categories))
            .collect();

        let mut compiled = vec![];
        let mut bounds = vec![];
        for (b, (block, index)) in blocks.iter().zip(indices).enumerate() {
            let mut held: Vec<Held> = index
                .iter()
                .map(|&i| Held::input(i, inputs[i].kind))
                .collect();
            let mut steps = vec![];
            let mut origins = vec![];
            for (s, step) in block.steps.iter().enumerate() {
                origins.push(held.iter().map(|h| h.input).collect());
                steps.push(compile(step, &held, &features).map_err(|problem| {
                    ColumnsError::Value {
                        block: b,
                        step: s,
                        what: step.name(),
                        problem,
                    }
                })?);
                held = after(&held, step, b, s)?;
            }
            origins.push(held.iter().map(|h| h.input).collect());
            bounds.extend(held.iter().map(|h| (h.gain, h.shift)));
            compiled.push(Compiled {
                inputs: index,
                steps,
                origins,
            });
        }
        if bounds.len() != expected {
            return Err(ColumnsError::Total {
                expected,
                found: bounds.len(),
            });
        }
        for (i, feature) in features.iter_mut().enumerate() {
            let uses: Vec<(&Compiled, usize)> = compiled
                .iter()
                .flat_map(|c| {
                    c.inputs
                        .iter()
                        .enumerate()
                        .filter(move |(_, input)| **input == i)
                        .map(move |(p, _)| (c, p))
                })
                .collect();
            // A feature no block takes is optional: any value, or none, is ignored.
            feature.optional = uses.is_empty();
            feature.accepts_missing = uses.iter().all(|(c, p)| c.walk(*p, Fate::Missing));
            feature.accepts_unknown = feature.kind == Kind::Categorical
                && uses.iter().all(|(c, p)| c.walk(*p, Fate::Unknown));
        }
        Ok(Columns {
            features,
            blocks: compiled,
            width: bounds.len(),
            bounds,
        })
    }

    /// The inputs, in the order array rows list them.
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// The width of the encoded vector.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Per encoded column, `(gain, shift)`: with every numeric input within `±x`, the column is
    /// within `±(gain·x + shift)`.
    pub fn bounds(&self) -> &[(f64, f64)] {
        &self.bounds
    }

    /// Whether every input is numeric and no block does more than scale: such a model takes a
    /// plain numeric row.
    pub fn numeric_only(&self) -> bool {
        self.features.iter().all(|f| f.kind == Kind::Numeric)
    }

    /// Appends one row's [`Columns::width`] values to `out`, in block order.
    pub fn encode(
        &self,
        row: &[Cell],
        out: &mut Vec<f64>,
        scratch: &mut Scratch,
    ) -> Result<(), EncodeError> {
        for block in &self.blocks {
            block
                .encode(row, out, &mut scratch.a, &mut scratch.b)
                .map_err(|(input, problem)| EncodeError {
                    feature: self.features[input].name.clone(),
                    problem,
                })?;
        }
        Ok(())
    }
}

impl Held {
    fn input(input: usize, kind: Kind) -> Held {
        Held {
            input: Some(input),
            kind,
            gain: 1.0,
            shift: 0.0,
        }
    }

    fn number(shift: f64) -> Held {
        Held {
            input: None,
            kind: Kind::Numeric,
            gain: 0.0,
            shift,
        }
    }
}

impl Step {
    /// The step's name, as the artifact writes it.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Impute(_) => "impute",
            Step::Scale(_) => "scale",
            Step::OneHot(_) => "one_hot",
            Step::Ordinal(_) => "ordinal",
            Step::MissingIndicator(_) => "missing_indicator",
        }
    }
}

/// The columns after `step`, checking that it fits the columns before it.
fn after(held: &[Held], step: &Step, block: usize, s: usize) -> Result<Vec<Held>, ColumnsError> {
    let what = step.name();
    let width = |found: usize| {
        if found == held.len() {
            Ok(())
        } else {
            Err(ColumnsError::Width {
                block,
                step: s,
                what,
                expected: held.len(),
                found,
            })
        }
    };
    let positions = |list: &[usize]| {
        list.iter().try_for_each(|&position| {
            if position < held.len() {
                Ok(())
            } else {
                Err(ColumnsError::Position {
                    block,
                    step: s,
                    what,
                    position,
                    width: held.len(),
                })
            }
        })
    };
    let all = |kind: Kind| match held.iter().position(|h| h.kind != kind) {
        None => Ok(()),
        Some(position) => Err(ColumnsError::ColumnKind {
            block,
            step: s,
            what,
            position,
            found: match held[position].kind {
                Kind::Numeric => "numeric",
                Kind::Categorical => "categorical",
            },
        }),
    };
    Ok(match step {
        Step::Impute(impute) => {
            width(impute.fill.len())?;
            positions(&impute.indicators)?;
            let mut next: Vec<Held> = held
                .iter()
                .zip(&impute.fill)
                .filter_map(|(h, fill)| {
                    let fill = fill.as_ref()?;
                    let magnitude = match fill {
                        Literal::Number(v) => v.abs(),
                        Literal::Category(Category::Integer(v)) => *v as f64,
                        Literal::Category(_) => 0.0,
                    };
                    Some(Held {
                        shift: h.shift + magnitude.abs(),
                        ..*h
                    })
                })
                .collect();
            next.extend(impute.indicators.iter().map(|_| Held::number(1.0)));
            next
        }
        Step::Scale(scale) => {
            all(Kind::Numeric)?;
            for (_, values) in scale.vectors() {
                if let Some(values) = values {
                    width(values.len())?;
                }
            }
            held.iter()
                .enumerate()
                .map(|(j, h)| {
                    let (gain, shift) = scale.bound(j, (h.gain, h.shift));
                    // A clip bounds the column whatever its input: it no longer follows it.
                    if scale.clip.is_some() {
                        Held::number(shift)
                    } else {
                        Held { gain, shift, ..*h }
                    }
                })
                .collect()
        }
        Step::OneHot(one_hot) => {
            all(Kind::Categorical)?;
            width(one_hot.categories.len())?;
            width(one_hot.drop.len())?;
            let columns: usize = one_hot
                .categories
                .iter()
                .zip(&one_hot.drop)
                .map(|(c, d)| c.len() - usize::from(d.is_some()))
                .sum();
            vec![Held::number(1.0); columns]
        }
        Step::Ordinal(ordinal) => {
            all(Kind::Categorical)?;
            width(ordinal.categories.len())?;
            held.iter()
                .zip(&ordinal.categories)
                .map(|(_, c)| {
                    let largest = [ordinal.unknown_value, ordinal.missing_value]
                        .into_iter()
                        .flatten()
                        .fold(c.len() as f64, |m, v| m.max(v.abs()));
                    Held::number(largest)
                })
                .collect()
        }
        Step::MissingIndicator(indicator) => {
            positions(&indicator.positions)?;
            vec![Held::number(1.0); indicator.positions.len()]
        }
    })
}

/// `step` with its categories as indices into each column's feature.
fn compile(step: &Step, held: &[Held], features: &[Feature]) -> Result<Op, String> {
    let feature = |column: usize| held[column].input.map(|i| &features[i]);
    Ok(match step {
        Step::Impute(impute) => Op::Impute {
            fill: impute
                .fill
                .iter()
                .enumerate()
                .map(|(column, fill)| {
                    let Some(fill) = fill else { return Ok(None) };
                    let cell = match (held[column].kind, fill) {
                        (Kind::Numeric, Literal::Number(v)) => Cell::Number(*v),
                        (Kind::Numeric, Literal::Category(Category::Integer(v))) => {
                            Cell::Number(*v as f64)
                        }
                        (Kind::Categorical, Literal::Category(c)) => Cell::Category(
                            feature(column)
                                .and_then(|f| f.index(c))
                                .ok_or_else(|| format!("column {column}: fill {c} is unknown"))?,
                        ),
                        (kind, fill) => {
                            return Err(format!(
                                "column {column}: fill {fill:?} does not fit a {kind:?} column"
                            ));
                        }
                    };
                    Ok(Some(cell))
                })
                .collect::<Result<_, String>>()?,
            indicators: impute.indicators.clone(),
        },
        Step::Scale(scale) => {
            if let Some(j) = scale
                .divide
                .iter()
                .flatten()
                .position(|d| *d == 0.0 || !d.is_finite())
            {
                return Err(format!(
                    "column {j}: divides by {}",
                    scale.divide.as_ref().map_or(0.0, |d| d[j])
                ));
            }
            if let Some([low, high]) = scale.clip
                && low > high
            {
                return Err(format!(
                    "the clip's low bound {low} is above its high bound {high}"
                ));
            }
            Op::Scale(scale.clone())
        }
        Step::OneHot(one_hot) => {
            let ignore = one_hot.unknown == Unknown::Ignore;
            let absent = if ignore { Slot::Zeros } else { Slot::Refused };
            let mut hots = vec![];
            for (column, (categories, drop)) in
                one_hot.categories.iter().zip(&one_hot.drop).enumerate()
            {
                let Some(f) = feature(column) else {
                    return Err(format!("column {column} holds no input's categories"));
                };
                if let Some(d) = drop
                    && !categories.iter().any(|c| c.as_ref() == Some(d))
                {
                    return Err(format!(
                        "column {column}: the dropped category {d} is not one of its categories"
                    ));
                }
                let mut known = vec![absent; f.categories.len()];
                let mut missing = absent;
                let mut next = 0;
                for category in categories {
                    let slot = if category.is_some() && category == drop {
                        Slot::Zeros
                    } else {
                        next += 1;
                        Slot::Column(next - 1)
                    };
                    match category {
                        Some(c) => {
                            let i = f
                                .index(c)
                                .ok_or_else(|| format!("column {column}: {c} is not indexed"))?;
                            known[i as usize] = slot;
                        }
                        None => missing = slot,
                    }
                }
                hots.push(Hot {
                    width: next,
                    known,
                    unknown: absent,
                    missing,
                });
            }
            Op::OneHot(hots)
        }
        Step::Ordinal(ordinal) => {
            let mut codes = vec![];
            for (column, categories) in ordinal.categories.iter().enumerate() {
                let Some(f) = feature(column) else {
                    return Err(format!("column {column} holds no input's categories"));
                };
                let mut known = vec![ordinal.unknown_value; f.categories.len()];
                let mut missing = ordinal.missing_value;
                for (position, category) in categories.iter().enumerate() {
                    match category {
                        Some(c) => {
                            let i = f
                                .index(c)
                                .ok_or_else(|| format!("column {column}: {c} is not indexed"))?;
                            known[i as usize] = Some(position as f64);
                        }
                        None => missing = ordinal.missing_value,
                    }
                }
                codes.push(Codes {
                    known,
                    unknown: ordinal.unknown_value,
                    missing,
                });
            }
            Op::Ordinal(codes)
        }
        Step::MissingIndicator(indicator) => Op::MissingIndicator(indicator.positions.clone()),
    })
}

impl Compiled {
    /// Whether a value at `position` that is missing (or an unknown category) gets through
    /// every step of this block.
    fn walk(&self, position: usize, start: Fate) -> bool {
        let (mut position, mut fate) = (position, start);
        for op in &self.steps {
            match op {
                Op::Impute { fill, .. } => {
                    let Some(kept) = fill[position] else {
                        return true;
                    };
                    if fate == Fate::Missing {
                        fate = if matches!(kept, Cell::Missing) {
                            Fate::Missing
                        } else {
                            Fate::Known
                        };
                    }
                    position = fill[..position].iter().filter(|f| f.is_some()).count();
                }
                Op::Scale(_) => {
                    if fate != Fate::Known {
                        return false;
                    }
                }
                Op::OneHot(hots) => {
                    let hot = &hots[position];
                    return match fate {
                        Fate::Missing => hot.missing != Slot::Refused,
                        Fate::Unknown => hot.unknown != Slot::Refused,
                        Fate::Known => true,
                    };
                }
                Op::Ordinal(codes) => {
                    let codes = &codes[position];
                    return match fate {
                        Fate::Missing => codes.missing.is_some(),
                        Fate::Unknown => codes.unknown.is_some(),
                        Fate::Known => true,
                    };
                }
                Op::MissingIndicator(_) => return true,
            }
        }
        fate == Fate::Known
    }

    /// Appends this block's columns for one row; on a value it cannot encode, the input and
    /// why.
    fn encode(
        &self,
        row: &[Cell],
        out: &mut Vec<f64>,
        a: &mut Vec<Cell>,
        b: &mut Vec<Cell>,
    ) -> Result<(), (usize, ValueError)> {
        a.clear();
        a.extend(self.inputs.iter().map(|&i| row[i]));
        for (op, origins) in self.steps.iter().zip(&self.origins) {
            b.clear();
            // Decoding refuses what a block cannot take, so this names a value that was
            // checked against other blocks' categories only.
            let refuse = |column: usize, cell: Cell| {
                let input = origins
                    .get(column)
                    .copied()
                    .flatten()
                    .unwrap_or(self.inputs[0]);
                let problem = match cell {
                    Cell::Missing => ValueError::Missing,
                    _ => ValueError::UnknownCategory {
                        found: "this category".into(),
                        known: "a block that takes this feature does not know it".into(),
                    },
                };
                (input, problem)
            };
            match op {
                Op::Impute { fill, indicators } => {
                    for (cell, fill) in a.iter().zip(fill) {
                        match (cell, fill) {
                            (_, None) => {}
                            (Cell::Missing, Some(value)) => b.push(*value),
                            (cell, Some(_)) => b.push(*cell),
                        }
                    }
                    for &p in indicators {
                        b.push(Cell::Number(f64::from(u8::from(a[p] == Cell::Missing))));
                    }
                }
                Op::Scale(scale) => {
                    for (j, cell) in a.iter().enumerate() {
                        match cell {
                            Cell::Number(v) => b.push(Cell::Number(scale.apply_one(j, *v))),
                            other => return Err(refuse(j, *other)),
                        }
                    }
                }
                Op::OneHot(hots) => {
                    for (j, (cell, hot)) in a.iter().zip(hots).enumerate() {
                        let slot = match cell {
                            Cell::Category(i) => hot.known[*i as usize],
                            Cell::Unknown => hot.unknown,
                            Cell::Missing => hot.missing,
                            Cell::Number(_) => Slot::Refused,
                        };
                        let start = b.len();
                        b.resize(start + hot.width, Cell::Number(0.0));
                        match slot {
                            Slot::Column(c) => b[start + c] = Cell::Number(1.0),
                            Slot::Zeros => {}
                            Slot::Refused => return Err(refuse(j, *cell)),
                        }
                    }
                }
                Op::Ordinal(codes) => {
                    for (j, (cell, codes)) in a.iter().zip(codes).enumerate() {
                        let code = match cell {
                            Cell::Category(i) => codes.known[*i as usize],
                            Cell::Unknown => codes.unknown,
                            Cell::Missing => codes.missing,
                            Cell::Number(_) => None,
                        };
                        match code {
                            Some(v) => b.push(Cell::Number(v)),
                            None => return Err(refuse(j, *cell)),
                        }
                    }
                }
                Op::MissingIndicator(positions) => {
                    for &p in positions {
                        b.push(Cell::Number(f64::from(u8::from(a[p] == Cell::Missing))));
                    }
                }
            }
            std::mem::swap(a, b);
        }
        let last = self.origins.last().map_or(&[][..], Vec::as_slice);
        for (j, cell) in a.iter().enumerate() {
            match cell {
                Cell::Number(v) => out.push(*v),
                Cell::Missing => {
                    let input = last.get(j).copied().flatten().unwrap_or(self.inputs[0]);
                    return Err((input, ValueError::Missing));
                }
                // The columns' check leaves no category unencoded at the end.
                Cell::Category(_) | Cell::Unknown => unreachable!("an unencoded category"),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Option<Category> {
        Some(Category::Text(s.into()))
    }

    fn inputs() -> Vec<Input> {
        vec![
            Input {
                name: "island".into(),
                kind: Kind::Categorical,
            },
            Input {
                name: "mass".into(),
                kind: Kind::Numeric,
            },
            Input {
                name: "sex".into(),
                kind: Kind::Categorical,
            },
        ]
    }

    fn blocks(unknown: Unknown) -> Vec<Block> {
        vec![
            Block {
                features: vec!["island".into(), "sex".into()],
                steps: vec![Step::OneHot(OneHot {
                    categories: vec![
                        vec![text("Biscoe"), text("Dream"), text("Torgersen")],
                        vec![text("female"), text("male"), None],
                    ],
                    drop: vec![text("Biscoe"), None],
                    unknown,
                })],
            },
            Block {
                features: vec!["mass".into()],
                steps: vec![
                    Step::Impute(Impute {
                        fill: vec![Some(Literal::Number(4000.0))],
                        indicators: vec![0],
                    }),
                    Step::Scale(Scale {
                        scaler: "StandardScaler".into(),
                        subtract: Some(vec![4000.0, 0.5]),
                        divide: Some(vec![500.0, 0.5]),
                        multiply: None,
                        add: None,
                        clip: None,
                    }),
                ],
            },
        ]
    }

    fn encode(columns: &Columns, row: &[Cell]) -> Result<Vec<f64>, EncodeError> {
        let mut out = vec![];
        columns.encode(row, &mut out, &mut Scratch::default())?;
        Ok(out)
    }

    #[test]
    fn blocks_concatenate_their_columns_in_order() {
        let columns = Columns::new(&inputs(), &blocks(Unknown::Error), 7).unwrap();
        let island = &columns.features()[0];
        assert_eq!(island.categories.len(), 3);
        let dream = Cell::Category(island.index(&Category::Text("Dream".into())).unwrap());
        let male = Cell::Category(1);
        // Dream, Torgersen (Biscoe dropped) | female, male, missing | mass, indicator.
        assert_eq!(
            encode(&columns, &[dream, Cell::Number(4500.0), male]).unwrap(),
            [1.0, 0.0, 0.0, 1.0, 0.0, 1.0, -1.0]
        );
        assert_eq!(
            encode(&columns, &[Cell::Category(0), Cell::Missing, Cell::Missing]).unwrap(),
            [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0]
        );
    }

    #[test]
    fn what_each_feature_accepts_follows_from_its_blocks() {
        let strict = Columns::new(&inputs(), &blocks(Unknown::Error), 7).unwrap();
        let accepts: Vec<(bool, bool)> = strict
            .features()
            .iter()
            .map(|f| (f.accepts_missing, f.accepts_unknown))
            .collect();
        // island: no missing category, unknown refused; mass: imputed; sex: missing seen.
        assert_eq!(accepts, [(false, false), (true, false), (true, false)]);
        let lenient = Columns::new(&inputs(), &blocks(Unknown::Ignore), 7).unwrap();
        assert!(lenient.features()[0].accepts_missing && lenient.features()[0].accepts_unknown);
        assert_eq!(
            encode(
                &lenient,
                &[Cell::Unknown, Cell::Number(4000.0), Cell::Unknown]
            )
            .unwrap(),
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]
        );
    }

    #[test]
    fn a_description_that_does_not_fit_is_refused_naming_the_place() {
        assert_eq!(
            Columns::new(&inputs(), &blocks(Unknown::Error), 6),
            Err(ColumnsError::Total {
                expected: 6,
                found: 7
            })
        );
        let mut scaled_categories = blocks(Unknown::Error);
        scaled_categories[1].features = vec!["sex".into()];
        assert_eq!(
            Columns::new(&inputs(), &scaled_categories, 7)
                .unwrap_err()
                .to_string(),
            "block 1, step 1 (scale): column 0 holds categorical values"
        );
        let mut unencoded = blocks(Unknown::Error);
        unencoded.push(Block {
            features: vec!["sex".into()],
            steps: vec![],
        });
        assert_eq!(
            Columns::new(&inputs(), &unencoded, 8),
            Err(ColumnsError::Unencoded {
                block: 2,
                position: 0
            })
        );
    }

    #[test]
    fn a_column_dropped_by_the_imputer_shifts_the_next_steps() {
        let inputs = vec![
            Input {
                name: "a".into(),
                kind: Kind::Numeric,
            },
            Input {
                name: "b".into(),
                kind: Kind::Numeric,
            },
        ];
        let blocks = vec![Block {
            features: vec!["a".into(), "b".into()],
            steps: vec![
                Step::Impute(Impute {
                    fill: vec![None, Some(Literal::Number(2.0))],
                    indicators: vec![0, 1],
                }),
                Step::Scale(Scale {
                    scaler: "MaxAbsScaler".into(),
                    subtract: None,
                    divide: Some(vec![4.0, 1.0, 1.0]),
                    multiply: None,
                    add: None,
                    clip: None,
                }),
            ],
        }];
        let columns = Columns::new(&inputs, &blocks, 3).unwrap();
        assert!(columns.features().iter().all(|f| f.accepts_missing));
        assert_eq!(
            encode(&columns, &[Cell::Missing, Cell::Missing]).unwrap(),
            [0.5, 1.0, 1.0]
        );
        assert_eq!(
            encode(&columns, &[Cell::Number(9.0), Cell::Number(8.0)]).unwrap(),
            [2.0, 0.0, 0.0]
        );
    }
}
