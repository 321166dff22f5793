//! The bad-input catalogue, generated for any model from its features, classes and name, so
//! every model served gets every bad-input check. Where the contract fixes the message (an
//! `ApiError` built from the values that went wrong), the case expects it whole; where the
//! message is the JSON parser's, it expects the fragment the service adds.
//!
//! The cases are data: one [`Case`] builder line each, grouped by family — [`seed`] (this
//! project's `/predict` and the routes around it), [`v2`] (the Open Inference Protocol's JSON
//! form, one tensor or one input per feature), [`binary`] (its binary tensor data extension)
//! and [`v1`] (KServe's V1 protocol).

mod binary;
mod case;
mod seed;
mod subject;
mod v1;
mod v2;

use server::Artifact;
use server::contract::fixtures::BadInputs;

use case::Case;
use subject::Subject;

/// Every request the service must refuse, for `oracle`'s model.
pub fn generate(oracle: &Artifact) -> BadInputs {
    let subject = Subject::new(oracle);
    let cases = [seed::cases, v2::cases, binary::cases, v1::cases]
        .into_iter()
        .flat_map(|family| family(&subject))
        .collect();
    BadInputs {
        model: oracle.name().to_owned(),
        cases,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_of_bad_input_is_in_the_catalogue() {
        let catalogue = generate(&Artifact::embedded().unwrap());
        assert_eq!(catalogue.model, "wine-quality");
        assert_eq!(catalogue.cases.len(), 58);
        let names: Vec<&str> = catalogue.cases.iter().map(|c| c.name.as_str()).collect();
        for name in [
            "a value beyond the model's range",
            "feature given twice",
            "v2 NaN token",
            "v2 unknown version",
            "v2 binary sizes do not add up to the body",
            "v2 binary header is not JSON",
            "v2 one input per feature, one missing",
            "v1 unknown model",
        ] {
            assert!(names.contains(&name), "{name} is missing");
        }
        // Every expected status is an error status, with a message to look for; no two cases
        // share a name, so a report names one request.
        assert!(
            catalogue
                .cases
                .iter()
                .all(|c| c.status >= 400 && !c.error_contains.is_empty())
        );
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
    }

    #[test]
    fn a_model_with_categories_and_gaps_gets_their_bad_values() {
        let path = crate::fixtures::repository_root().join("fixtures/models/penguins.json");
        let catalogue = generate(&Artifact::load(&path).unwrap());
        let names: Vec<&str> = catalogue.cases.iter().map(|c| c.name.as_str()).collect();
        for name in [
            "a string where a number is expected",
            "a number where a category is expected",
            "an unknown category",
            "null where nothing fills it",
            "v2 an unknown category",
            "v2 null where nothing fills it",
            "v2 a datatype that does not fit a number",
            "v2 a datatype that does not fit a category",
            "v2 fraction in an integer tensor",
        ] {
            assert!(names.contains(&name), "{name} is missing from {names:?}");
        }
        let unknown = &catalogue.cases[names
            .iter()
            .position(|n| *n == "an unknown category")
            .unwrap()];
        assert_eq!(unknown.status, 422);
        assert!(
            unknown
                .error_contains
                .contains(r#"feature "island": unknown category "never seen""#),
            "{}",
            unknown.error_contains
        );
    }
}
