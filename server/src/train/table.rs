//! Reading a headed CSV into typed feature columns and target cells, as people have such files:
//! a column of numbers is numeric, a column holding anything else is categorical, and a cell is
//! missing when it is empty or one of pandas' default NA strings. What cannot be used stops with
//! one line that names the file, the line and the column.

use csv::{ReaderBuilder, StringRecord};

use crate::inputs::Category;
use crate::train::{Features, TrainError};

/// The strings `pandas.read_csv` reads as missing by default (its `STR_NA_VALUES`), and the
/// empty cell.
pub(crate) const NA_VALUES: [&str; 19] = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// Whether a trimmed cell is a missing value.
pub fn is_missing(cell: &str) -> bool {
    NA_VALUES.contains(&cell)
}

/// One feature column, typed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Column {
    /// Finite numbers; `None` where the cell is missing.
    Numeric(Vec<Option<f64>>),
    /// Categories (strings, or integers for a column made categorical by name); `None` where
    /// the cell is missing.
    Categorical(Vec<Option<Category>>),
}

/// The table as training needs it.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Feature names, normalised (see [`normalise`]), in column order.
    pub features: Vec<String>,
    /// The feature columns as written in the header, for messages.
    pub headers: Vec<String>,
    /// One typed column per feature.
    pub columns: Vec<Column>,
    /// The target column as written in the header.
    pub target: String,
    /// The target cell of each data line, trimmed, with its file line number.
    pub y: Vec<(u64, String)>,
}

impl Table {
    /// The rows as numbers, when every column is numeric and no cell is missing: the table
    /// format 2 describes.
    pub fn numbers(&self) -> Option<Vec<Vec<f64>>> {
        let columns: Vec<&Vec<Option<f64>>> = self
            .columns
            .iter()
            .map(|c| match c {
                Column::Numeric(values) => Some(values),
                Column::Categorical(_) => None,
            })
            .collect::<Option<_>>()?;
        (0..self.y.len())
            .map(|i| columns.iter().map(|c| c[i]).collect())
            .collect()
    }
}

/// `"fixed acidity"` → `fixed_acidity`: names that are easy to use as JSON keys.
pub(crate) fn normalise(column: &str) -> String {
    column
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Delimiters a file may really use when the header reads as a single column.
const OTHER_DELIMITERS: [char; 4] = [';', '\t', '|', ','];

/// Reads `bytes` (the file called `file`) with `delimiter`; `target` and the feature selection
/// name columns as written in the header or normalised.
pub(crate) fn read(
    bytes: &[u8],
    file: &str,
    delimiter: u8,
    target: &str,
    selection: &Features,
    categorical: &[String],
) -> Result<Table, TrainError> {
    let file = file.to_owned();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(TrainError::Empty { file });
    }
    let mut reader = ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(bytes);
    let csv = |line, source| TrainError::Csv {
        file: file.clone(),
        line,
        source,
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| csv(1, e))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let normalised: Vec<String> = header.iter().map(|h| normalise(h)).collect();
    let find = |name: &str| {
        header
            .iter()
            .zip(&normalised)
            .position(|(h, n)| h == name || *n == normalise(name))
    };

    let Some(target_at) = find(target) else {
        if let [only] = header.as_slice()
            && let Some(sep) = OTHER_DELIMITERS
                .into_iter()
                .find(|c| *c != char::from(delimiter) && only.contains(*c))
        {
            return Err(TrainError::Delimiter {
                file,
                header: only.clone(),
                delimiter: sep,
            });
        }
        return Err(TrainError::NoColumn {
            file,
            column: target.to_owned(),
            columns: header,
        });
    };

    let mut chosen: Vec<usize> = match selection {
        Features::All => (0..header.len()).collect(),
        Features::Only(names) | Features::Exclude(names) => {
            let mut at = vec![];
            for name in names {
                let i = find(name).ok_or_else(|| TrainError::NoColumn {
                    file: file.clone(),
                    column: name.clone(),
                    columns: header.clone(),
                })?;
                at.push(i);
            }
            match selection {
                Features::Exclude(_) => (0..header.len()).filter(|i| !at.contains(i)).collect(),
                _ => at,
            }
        }
    };
    if matches!(selection, Features::Only(_)) && chosen.contains(&target_at) {
        return Err(TrainError::TargetIsFeature {
            column: header[target_at].clone(),
        });
    }
    chosen.retain(|i| *i != target_at);
    // pandas writes its row index as a first column with an empty name, and reads it back as
    // "Unnamed: 0"; on sorted data the row number alone predicts the class.
    if let Some(&i) = chosen
        .iter()
        .find(|&&i| header[i].is_empty() || header[i] == "Unnamed: 0")
    {
        return Err(TrainError::IndexColumn {
            file,
            position: i + 1,
            column: header[i].clone(),
        });
    }
    if chosen.is_empty() {
        return Err(TrainError::NoFeatures { file });
    }
    for (k, &i) in chosen.iter().enumerate() {
        if let Some(&j) = chosen[..k]
            .iter()
            .find(|&&j| normalised[j] == normalised[i])
        {
            return Err(TrainError::DuplicateColumn {
                file,
                first: header[j].clone(),
                second: header[i].clone(),
                name: normalised[i].clone(),
            });
        }
    }

    let mut forced = vec![false; chosen.len()];
    for name in categorical {
        let i = find(name).ok_or_else(|| TrainError::NoColumn {
            file: file.clone(),
            column: name.clone(),
            columns: header.clone(),
        })?;
        match chosen.iter().position(|&c| c == i) {
            Some(k) => forced[k] = true,
            None => {
                return Err(TrainError::NotAFeature {
                    column: header[i].clone(),
                });
            }
        }
    }

    let mut cells: Vec<Vec<String>> = vec![vec![]; chosen.len()];
    let mut lines = vec![];
    let mut y = vec![];
    let mut record = StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv(line, e)),
        }
        let line = record.position().map_or(line, |p| p.line());
        if record.len() != header.len() {
            return Err(TrainError::FieldCount {
                file,
                line,
                expected: header.len(),
                found: record.len(),
            });
        }
        for (column, &i) in cells.iter_mut().zip(&chosen) {
            column.push(record[i].trim().to_owned());
        }
        let label = record[target_at].trim();
        if is_missing(label) {
            return Err(TrainError::EmptyCell {
                file,
                line,
                column: header[target_at].clone(),
            });
        }
        lines.push(line);
        y.push((line, label.to_owned()));
    }
    if y.is_empty() {
        return Err(TrainError::NoRows { file });
    }
    let columns = cells
        .into_iter()
        .zip(&chosen)
        .zip(forced)
        .map(|((cells, &i), forced)| typed(cells, &lines, &file, &header[i], forced))
        .collect::<Result<_, _>>()?;
    Ok(Table {
        features: chosen.iter().map(|&i| normalised[i].clone()).collect(),
        headers: chosen.iter().map(|&i| header[i].clone()).collect(),
        columns,
        target: header[target_at].clone(),
        y,
    })
}

/// One column's cells, typed: numeric when every present cell is a number (a non-finite one is
/// refused), categorical otherwise or when `forced` (then every present cell must be an
/// integer).
fn typed(
    cells: Vec<String>,
    lines: &[u64],
    file: &str,
    column: &str,
    forced: bool,
) -> Result<Column, TrainError> {
    let numbers: Option<Vec<Option<f64>>> = cells
        .iter()
        .map(|c| {
            if is_missing(c) {
                Some(None)
            } else {
                c.parse::<f64>().ok().map(Some)
            }
        })
        .collect();
    let Some(numbers) = numbers else {
        if forced {
            let (k, cell) = cells
                .iter()
                .enumerate()
                .find(|(_, c)| !is_missing(c) && c.parse::<f64>().is_err())
                .expect("a cell that is not a number");
            return Err(not_an_integer(file, lines[k], column, cell));
        }
        return Ok(Column::Categorical(
            cells
                .into_iter()
                .map(|c| (!is_missing(&c)).then_some(Category::Text(c)))
                .collect(),
        ));
    };
    if let Some(k) = numbers
        .iter()
        .position(|v| v.is_some_and(|v| !v.is_finite()))
    {
        return Err(TrainError::NotFinite {
            file: file.to_owned(),
            line: lines[k],
            column: column.to_owned(),
            value: cells[k].clone(),
        });
    }
    if !forced {
        return Ok(Column::Numeric(numbers));
    }
    numbers
        .iter()
        .zip(&cells)
        .zip(lines)
        .map(|((v, cell), line)| match v {
            None => Ok(None),
            Some(v) if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 => {
                Ok(Some(Category::Integer(*v as i64)))
            }
            Some(_) => Err(not_an_integer(file, *line, column, cell)),
        })
        .collect::<Result<_, _>>()
        .map(Column::Categorical)
}

fn not_an_integer(file: &str, line: u64, column: &str, cell: &str) -> TrainError {
    TrainError::NotAnInteger {
        file: file.to_owned(),
        line,
        column: column.to_owned(),
        value: cell.to_owned(),
    }
}

/// A cell as a finite number.
pub(crate) fn number(cell: &str, file: &str, line: u64, column: &str) -> Result<f64, TrainError> {
    let cell = cell.trim();
    let at = || (file.to_owned(), line, column.to_owned());
    if is_missing(cell) {
        let (file, line, column) = at();
        return Err(TrainError::EmptyCell { file, line, column });
    }
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => {
            let (file, line, column) = at();
            Err(TrainError::NotFinite {
                file,
                line,
                column,
                value: cell.to_owned(),
            })
        }
        Err(_) => {
            let (file, line, column) = at();
            Err(TrainError::NotANumber {
                file,
                line,
                column,
                value: cell.to_owned(),
            })
        }
    }
}
