//! Which probability column is which class. A V2 or KServe V1 server states no class order
//! anywhere: its answer is a row of numbers per request row. The order is given by the user,
//! learnt from the labels the server answers beside its probabilities (each row's label is the
//! class of its largest probability: the one permutation consistent with every row), or, with
//! nothing to learn from, assumed to be the artifact's — and the report says which.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// How the order was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Found {
    /// Given with `--classes`.
    Given,
    /// Learnt from the labels the server answers beside its probabilities.
    Labels,
    /// The artifact's: the server answers no labels to learn from.
    Assumed,
}

/// The class of each probability column, and how that was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassOrder {
    pub classes: Vec<String>,
    pub found: Found,
    /// The rows the order was learnt from or checked against (those with a label).
    pub rows: usize,
    /// Rows whose label is not the class of their largest probability: possible only with a
    /// given order (a binary threshold other than 0.5 is legitimate), counted, not fatal.
    pub label_mismatches: usize,
}

impl fmt::Display for ClassOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] ", self.classes.join(", "))?;
        match self.found {
            Found::Given => write!(f, "as given")?,
            Found::Labels => write!(f, "learnt from the labels of {} rows", self.rows)?,
            Found::Assumed => write!(f, "assumed: the artifact's, no labels to learn from")?,
        }
        if self.label_mismatches > 0 {
            write!(
                f,
                "; {} of {} rows labelled other than their most probable class",
                self.label_mismatches, self.rows
            )?;
        }
        Ok(())
    }
}

/// One row as a server answered it: its label, if it answers labels, and its probabilities,
/// if it answers them, in its own column order.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    pub label: Option<String>,
    pub probabilities: Option<Vec<f64>>,
}

/// `label` as one of `known`: the same text, or the same number (a server may answer class
/// `1` as `1.0`).
pub fn known_label<'a>(label: &str, known: &'a [String]) -> Option<&'a String> {
    known.iter().find(|k| *k == label).or_else(|| {
        let number = label.parse::<f64>().ok()?;
        known.iter().find(|k| k.parse::<f64>().ok() == Some(number))
    })
}

/// The column of the largest probability, or none on a tie for the largest (such a row says
/// nothing about the order).
fn largest(p: &[f64]) -> Option<usize> {
    let best = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b]))?;
    let ties = p.iter().filter(|v| **v == p[best]).count();
    (ties == 1).then_some(best)
}

/// The class order of a server's answers to rows of a model with classes `known` (the
/// artifact's order): `given` when the user gave one, else learnt from the rows that carry
/// both a label and probabilities, else assumed. Learning fails, in one line saying what was
/// seen, when the labels fit no order or several.
pub fn resolve(
    known: &[String],
    given: Option<&[String]>,
    answers: &[Columns],
) -> Result<ClassOrder, String> {
    let labelled: Vec<(&str, &[f64])> = answers
        .iter()
        .filter_map(|a| Some((a.label.as_deref()?, a.probabilities.as_deref()?)))
        .collect();
    if let Some(given) = given {
        let mut sorted = (given.to_vec(), known.to_vec());
        sorted.0.sort();
        sorted.1.sort();
        if sorted.0 != sorted.1 {
            return Err(format!(
                "--classes {} are not the artifact's classes {}",
                given.join(","),
                known.join(",")
            ));
        }
        let label_mismatches = labelled
            .iter()
            .filter(|(label, p)| {
                largest(p).is_none_or(|k| known_label(label, given) != given.get(k))
            })
            .count();
        return Ok(ClassOrder {
            classes: given.to_vec(),
            found: Found::Given,
            rows: labelled.len(),
            label_mismatches,
        });
    }
    if labelled.is_empty() {
        return Ok(ClassOrder {
            classes: known.to_vec(),
            found: Found::Assumed,
            rows: 0,
            label_mismatches: 0,
        });
    }
    learn(known, &labelled).map(|classes| ClassOrder {
        classes,
        found: Found::Labels,
        rows: labelled.len(),
        label_mismatches: 0,
    })
}

/// The one permutation of `known` under which every row's label is the class of its largest
/// probability.
fn learn(known: &[String], rows: &[(&str, &[f64])]) -> Result<Vec<String>, String> {
    let give = "give the order with --classes";
    let width = known.len();
    // Column → (class, first row that says so).
    let mut column: BTreeMap<usize, (&String, usize)> = BTreeMap::new();
    for (row, (label, p)) in rows.iter().enumerate() {
        if p.len() != width {
            return Err(format!(
                "row {row} has {} probabilities for the artifact's {width} classes",
                p.len()
            ));
        }
        let class = known_label(label, known).ok_or_else(|| {
            format!(
                "the server labels row {row} {label:?}, not one of the artifact's classes {}",
                known.join(",")
            )
        })?;
        let Some(k) = largest(p) else { continue };
        match column.get(&k) {
            Some((other, first)) if *other != class => {
                return Err(format!(
                    "the server's labels fit no class order: column {k} is the largest in row \
                     {first}, labelled {other:?}, and in row {row}, labelled {class:?}; {give}"
                ));
            }
            Some(_) => {}
            None => {
                if let Some((other, _)) = column.iter().find(|(_, (c, _))| *c == class) {
                    return Err(format!(
                        "the server's labels fit no class order: {class:?} labels rows whose \
                         largest probability is in column {other} and in column {k}; {give}"
                    ));
                }
                column.insert(k, (class, row));
            }
        }
    }
    let unplaced: Vec<&String> = known
        .iter()
        .filter(|c| !column.values().any(|(placed, _)| placed == c))
        .collect();
    match unplaced.as_slice() {
        [] => {}
        [only] => {
            let free = (0..width).find(|k| !column.contains_key(k)).unwrap_or(0);
            column.insert(free, (only, 0));
        }
        several => {
            return Err(format!(
                "several class orders fit the server's labels: no row of {} is most probable \
                 as {}; {give}",
                rows.len(),
                several
                    .iter()
                    .map(|c| format!("{c:?}"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
        }
    }
    Ok(column.into_values().map(|(c, _)| c.clone()).collect())
}

impl ClassOrder {
    /// A row's answer by class name: its label (the server's, else the class of its largest
    /// probability, the first on a tie) and its probabilities keyed by class.
    pub fn name(&self, answer: &Columns) -> (String, BTreeMap<String, f64>) {
        let probabilities: BTreeMap<String, f64> = answer
            .probabilities
            .iter()
            .flat_map(|p| self.classes.iter().cloned().zip(p.iter().copied()))
            .collect();
        let label = match (&answer.label, &answer.probabilities) {
            (Some(label), _) => known_label(label, &self.classes)
                .cloned()
                .unwrap_or_else(|| label.clone()),
            (None, Some(p)) => {
                let best = (0..p.len()).fold(0, |best, k| if p[k] > p[best] { k } else { best });
                self.classes.get(best).cloned().unwrap_or_default()
            }
            (None, None) => String::new(),
        };
        (label, probabilities)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn row(label: &str, p: &[f64]) -> Columns {
        Columns {
            label: Some(label.into()),
            probabilities: Some(p.to_vec()),
        }
    }

    #[test]
    fn the_order_is_learnt_from_the_labels_whatever_the_artifact_lists() {
        let known = names(&["good", "bad"]);
        let answers = [row("good", &[0.2, 0.8]), row("bad", &[0.9, 0.1])];
        let order = resolve(&known, None, &answers).unwrap();
        assert_eq!(order.classes, names(&["bad", "good"]));
        assert_eq!(order.found, Found::Labels);
        let (label, p) = order.name(&answers[0]);
        assert_eq!(label, "good");
        assert_eq!(p["good"], 0.8);
        assert_eq!(p["bad"], 0.2);
    }

    #[test]
    fn one_class_never_most_probable_takes_the_last_column() {
        let known = names(&["a", "b", "c"]);
        let answers = [row("c", &[0.1, 0.2, 0.7]), row("a", &[0.1, 0.6, 0.3])];
        let order = resolve(&known, None, &answers).unwrap();
        assert_eq!(order.classes, names(&["b", "a", "c"]));
    }

    #[test]
    fn labels_that_fit_no_order_or_several_stop_in_one_line() {
        let known = names(&["a", "b", "c"]);
        let clash = [row("a", &[0.9, 0.1, 0.0]), row("b", &[0.8, 0.2, 0.0])];
        let error = resolve(&known, None, &clash).unwrap_err();
        assert!(error.contains("fit no class order"), "{error}");
        assert!(!error.contains('\n'));
        let split = [row("a", &[0.9, 0.1, 0.0]), row("a", &[0.1, 0.8, 0.1])];
        assert!(
            resolve(&known, None, &split)
                .unwrap_err()
                .contains("fit no")
        );
        let few = [row("a", &[0.9, 0.1, 0.0])];
        let error = resolve(&known, None, &few).unwrap_err();
        assert!(error.contains("several class orders"), "{error}");
        let stranger = [row("z", &[0.9, 0.1, 0.0])];
        assert!(
            resolve(&known, None, &stranger)
                .unwrap_err()
                .contains("\"z\"")
        );
    }

    #[test]
    fn a_given_order_counts_the_rows_it_does_not_explain() {
        let known = names(&["no", "yes"]);
        let given = names(&["no", "yes"]);
        // A threshold of 0.3: labelled "yes" at 0.4.
        let answers = [row("yes", &[0.6, 0.4]), row("no", &[0.9, 0.1])];
        let order = resolve(&known, Some(&given), &answers).unwrap();
        assert_eq!((order.found, order.label_mismatches), (Found::Given, 1));
        assert!(order.to_string().contains("1 of 2 rows"));
        let wrong = names(&["no", "maybe"]);
        assert!(resolve(&known, Some(&wrong), &answers).is_err());
    }

    #[test]
    fn without_labels_the_order_is_assumed_and_numeric_labels_match() {
        let known = names(&["0", "1"]);
        let unlabelled = [Columns {
            label: None,
            probabilities: Some(vec![0.3, 0.7]),
        }];
        let order = resolve(&known, None, &unlabelled).unwrap();
        assert_eq!(order.found, Found::Assumed);
        assert_eq!(order.name(&unlabelled[0]).0, "1");
        let numeric = [row("1.0", &[0.3, 0.7]), row("0.0", &[0.6, 0.4])];
        assert_eq!(
            resolve(&known, None, &numeric).unwrap().classes,
            names(&["0", "1"])
        );
    }
}
