//! What the V2 and V1 checks share: parity of a server's answers with the oracle once its
//! class order is known, and how a model it does not serve must be refused.

use server::Artifact;
use server::contract::fixtures;

use crate::answers::one_line;
use crate::checks::{Figure, Passed, Verdict, ensure, why};
use crate::classes::{self, ClassOrder, Columns};
use crate::protocol::ProtocolOptions;
use crate::rows::{Row, Schema};

/// Rows drawn within the oracle's ranges, asked of the server in batches of 50 (under any
/// server's default limits) through `ask`, and compared with the oracle.
pub fn parity(
    oracle: &Artifact,
    options: &ProtocolOptions,
    ask: impl Fn(&[Row]) -> Result<Vec<Columns>, String>,
) -> (Verdict, Option<ClassOrder>) {
    let rows = Schema::of(oracle).within(options.rows, 11);
    let answers = rows
        .chunks(50)
        .map(ask)
        .collect::<Result<Vec<_>, _>>()
        .map(|batches| batches.concat());
    match answers {
        Ok(answers) => compare(oracle, &rows, &answers, options),
        Err(why) => (Err(why), None),
    }
}

/// A request for a model the server does not serve must get a 4xx; a status other than 404
/// is a finding.
pub fn unknown_model_refused(status: u16, body: &str) -> Verdict {
    ensure!(
        (400..500).contains(&status),
        "a request for an unknown model answered {status}: {}",
        one_line(body)
    );
    let finding = (status != 404).then(|| format!("an unknown model answered {status}, not 404"));
    Ok(Passed::new(format!("refused with {status}")).finding(finding))
}

/// The oracle's answers to `rows` against a server's, once its class order is known: labels
/// equal where it answers labels, probabilities within the tolerance where it answers them.
fn compare(
    oracle: &Artifact,
    rows: &[Row],
    answers: &[Columns],
    options: &ProtocolOptions,
) -> (Verdict, Option<ClassOrder>) {
    let model = oracle.model();
    let classes = model.classes();
    let order = match classes::resolve(classes, options.classes.as_deref(), answers) {
        Ok(order) => order,
        Err(why) => return (Err(why), None),
    };
    let verdict = (|| {
        let expected = fixtures::checked(model, rows)
            .map_err(why)
            .and_then(|r| model.predict_batch(&r).map_err(why))?;
        let (mut identical, mut values, mut largest) = (0usize, 0usize, 0.0f64);
        let mut worst = String::new();
        for (row, (want, got)) in expected.iter().zip(answers).enumerate() {
            let (label, probabilities) = order.name(got);
            let expected_label = &classes[want.class];
            ensure!(
                got.label.is_none() || &label == expected_label,
                "row {row}: label {label:?}, the artifact says {expected_label:?} (row {:?})",
                rows[row]
            );
            if got.probabilities.is_none() {
                continue;
            }
            ensure!(
                probabilities.len() == classes.len(),
                "row {row}: {} probabilities for {} classes",
                got.probabilities.as_ref().map_or(0, Vec::len),
                classes.len()
            );
            for (c, want) in want.probabilities.iter().enumerate() {
                let got = probabilities[&classes[c]];
                let difference = (got - want).abs();
                values += 1;
                identical += usize::from(got.to_bits() == want.to_bits());
                if difference > largest || worst.is_empty() {
                    largest = largest.max(difference);
                    worst = format!(
                        "row {row}, class {}: {got:e} ({:#018x}) against {want:e} ({:#018x})",
                        classes[c],
                        got.to_bits(),
                        want.to_bits()
                    );
                }
            }
        }
        let labels = answers.iter().filter(|a| a.label.is_some()).count();
        let summary = if values == 0 {
            format!("{labels} labels equal; no probabilities answered")
        } else {
            format!(
                "{identical} of {values} values bit-identical; largest difference {largest:e} \
                 ({worst}); tolerance {:e}",
                options.tolerance
            )
        };
        let within =
            largest <= options.tolerance && (options.tolerance > 0.0 || identical == values);
        ensure!(within, "{summary}");
        Ok(Passed::new(format!(
            "{} rows within the training ranges: {summary}{}",
            rows.len(),
            if values == 0 {
                String::new()
            } else {
                format!("; class order {order}")
            }
        ))
        .with(Figure::new(
            "bit-identical values",
            identical as f64,
            "values",
        ))
        .with(Figure::new("largest difference", largest, "")))
    })();
    // Labels alone are compared by name: no column order was read.
    let read = answers.iter().any(|a| a.probabilities.is_some());
    (verdict, read.then_some(order))
}
