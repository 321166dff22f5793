//! Reading a headed CSV into feature rows and target cells, refusing anything that is not a
//! clean table of finite numbers with one line that names the file, the line and the column.

use csv::{ReaderBuilder, StringRecord};

use crate::train::{Features, TrainError};

/// The table as training needs it.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Feature names, normalised (see [`normalise`]), in column order.
    pub features: Vec<String>,
    /// The target column as written in the header.
    pub target: String,
    /// One row of feature values per data line.
    pub x: Vec<Vec<f64>>,
    /// The target cell of each data line, trimmed, with its file line number.
    pub y: Vec<(u64, String)>,
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

    let mut table = Table {
        features: chosen.iter().map(|&i| normalised[i].clone()).collect(),
        target: header[target_at].clone(),
        x: vec![],
        y: vec![],
    };
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
        let mut row = Vec::with_capacity(chosen.len());
        for &i in &chosen {
            row.push(number(&record[i], &file, line, &header[i])?);
        }
        let label = record[target_at].trim();
        if label.is_empty() {
            return Err(TrainError::EmptyCell {
                file,
                line,
                column: header[target_at].clone(),
            });
        }
        table.x.push(row);
        table.y.push((line, label.to_owned()));
    }
    if table.x.is_empty() {
        return Err(TrainError::NoRows { file });
    }
    Ok(table)
}

/// A cell as a finite number.
pub(crate) fn number(cell: &str, file: &str, line: u64, column: &str) -> Result<f64, TrainError> {
    let cell = cell.trim();
    let at = || (file.to_owned(), line, column.to_owned());
    if cell.is_empty() {
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
