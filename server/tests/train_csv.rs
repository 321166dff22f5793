//! `train` on a CSV of one's own: string labels, binary and multinomial, determinism wherever
//! the file lives, and one clear line for each kind of bad data.

use std::process::Command;

use server::preprocessing::Preprocessing;
use server::train::{self, Features, Options, TrainError};
use server::{Artifact, Kind, Rows};

/// A small table with three string classes that a linear model separates.
fn flowers() -> String {
    let mut csv = String::from("petal length,petal width,colour code,species\n");
    for i in 0..30 {
        let jitter = f64::from(i % 5) * 0.1;
        let (species, base) = match i % 3 {
            0 => ("rosa", 1.0),
            1 => ("tulipa", 4.0),
            _ => ("iris", 7.0),
        };
        csv.push_str(&format!(
            "{},{},{},{species}\n",
            base + jitter,
            base / 2.0 + jitter,
            i % 7
        ));
    }
    csv
}

fn options(target: &str) -> Options {
    Options::new("flowers", target)
}

fn train_str(csv: &str, options: &Options) -> Result<train::Trained, TrainError> {
    train::train_bytes(csv.as_bytes(), "flowers.csv", options)
}

fn refusal(csv: &str, options: &Options) -> String {
    match train_str(csv, options) {
        Ok(_) => panic!("trained on bad data:\n{csv}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn string_labels_train_a_multinomial_model_with_those_labels() {
    let trained = train_str(&flowers(), &options("species")).unwrap();
    let artifact = Artifact::from_bytes(&trained.artifact, "flowers.json").unwrap();
    let model = artifact.model();
    assert_eq!(model.kind(), Kind::Multinomial);
    // linfa's order for a multinomial model: the labels sorted.
    assert_eq!(model.classes(), ["iris", "rosa", "tulipa"]);
    assert_eq!(
        model.features(),
        ["petal_length", "petal_width", "colour_code"]
    );
    let rows = Rows::from_rows(&[[1.0, 0.5, 3.0], [7.2, 3.6, 1.0]], model.features()).unwrap();
    let labels: Vec<&str> = model
        .predict(&rows)
        .unwrap()
        .iter()
        .map(|p| model.classes()[p.class].as_str())
        .collect();
    assert_eq!(labels, ["rosa", "iris"]);
    let training = artifact.training().unwrap();
    assert_eq!(training.data_file, "flowers.csv");
    assert_eq!(training.label, "the values of species, as written");
}

#[test]
fn two_labels_make_a_binary_model_and_above_makes_two() {
    let two: String = flowers()
        .lines()
        .filter(|l| !l.ends_with("iris"))
        .collect::<Vec<_>>()
        .join("\n");
    let trained = train_str(&two, &options("species")).unwrap();
    assert_eq!(trained.model.kind(), Kind::Binary);

    let above = Options {
        above: Some(3.0),
        class_names: Some(vec!["short".into(), "long".into()]),
        features: Features::Exclude(vec!["species".into(), "colour code".into()]),
        ..options("petal length")
    };
    let trained = train_str(&flowers(), &above).unwrap();
    assert_eq!(trained.model.kind(), Kind::Binary);
    assert_eq!(trained.model.features(), ["petal_width"]);
    let mut classes = trained.model.classes().to_vec();
    classes.sort();
    assert_eq!(classes, ["long", "short"]);
}

#[test]
fn the_same_bytes_give_the_same_artifact_wherever_the_file_lives() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let artifacts: Vec<Vec<u8>> = dirs
        .iter()
        .map(|dir| {
            let path = dir.path().join("flowers.csv");
            std::fs::write(&path, flowers()).unwrap();
            train::train(&path, &options("species")).unwrap().artifact
        })
        .collect();
    assert!(
        artifacts[0] == artifacts[1],
        "the artifact depends on the path"
    );
}

#[test]
fn each_kind_of_bad_data_stops_with_one_line_naming_where() {
    let header = "a,b,label\n";
    let rows = |n: usize| -> String {
        (0..n)
            .map(|i| format!("{i},{},{}\n", i * 2, ["x", "y"][i % 2]))
            .collect()
    };
    let cases: Vec<(String, Options, &str)> = vec![
        (
            String::new(),
            options("label"),
            "flowers.csv: the file is empty",
        ),
        (
            header.into(),
            options("label"),
            "flowers.csv: the header has no data rows under it",
        ),
        (
            format!("{header}{}", rows(10)),
            options("class"),
            r#"flowers.csv: no column named "class"; the columns are ["a", "b", "label"]"#,
        ),
        (
            format!(
                ",a,b,label\n{}",
                rows(10)
                    .lines()
                    .enumerate()
                    .map(|(i, r)| format!("{i},{r}\n"))
                    .collect::<String>()
            ),
            options("label"),
            r#"flowers.csv: column 1 ("") is a row index, as pandas writes it with to_csv(): a model that learns row numbers is meaningless in production; drop it with --exclude "", or write the CSV with index=False"#,
        ),
        (
            format!(
                "a,Unnamed: 0,b,label\n{}",
                rows(10)
                    .lines()
                    .map(|r| r.replacen(',', ",7,", 1) + "\n")
                    .collect::<String>()
            ),
            options("label"),
            r#"flowers.csv: column 2 ("Unnamed: 0") is a row index, as pandas writes it with to_csv(): a model that learns row numbers is meaningless in production; drop it with --exclude "Unnamed: 0", or write the CSV with index=False"#,
        ),
        (
            format!("a b,a_b,label\n{}", rows(10)),
            options("label"),
            r#"flowers.csv: columns "a b" and "a_b" both read as feature "a_b""#,
        ),
        (
            format!("{header}{}1.5,2,x\n", rows(10)),
            Options {
                categorical: vec!["a".into()],
                ..options("label")
            },
            r#"flowers.csv: line 12, column "a": "1.5" is not an integer, so the column cannot be --categorical"#,
        ),
        (
            format!("{header}{}1,2,x\n", rows(10)),
            Options {
                categorical: vec!["label".into()],
                ..options("label")
            },
            r#"--categorical "label": the column is not a feature"#,
        ),
        (
            format!("{header}{}1,,x\n", rows(10)),
            options("label"),
            r#"flowers.csv: line 12, column "b": a numeric value is missing; pass --impute mean or --impute median to fill such gaps, or drop the column with --exclude "b""#,
        ),
        (
            format!("{header}{}1,NaN,x\n", rows(10)),
            options("label"),
            r#"flowers.csv: line 12, column "b": a numeric value is missing; pass --impute mean or --impute median to fill such gaps, or drop the column with --exclude "b""#,
        ),
        (
            format!("{header}{}1,2,NA\n", rows(10)),
            options("label"),
            r#"flowers.csv: line 12, column "label": the cell is missing"#,
        ),
        (
            format!("{header}{}inf,1,x\n", rows(10)),
            options("label"),
            r#"flowers.csv: line 12, column "a": "inf" is not a finite number"#,
        ),
        (
            format!("{header}{}1,2\n", rows(10)),
            options("label"),
            "flowers.csv: line 12: 2 fields, the header has 3",
        ),
        (
            format!("{header}1,2,x\n3,4,x\n"),
            options("label"),
            r#"flowers.csv: the target "label" holds one class only, "x": a classifier needs two"#,
        ),
        (
            format!("{header}1,2,v\n3,4,w\n5,6,x\n7,8,y\n9,0,z\n"),
            options("label"),
            "flowers.csv: 4 training rows for 5 classes: every class needs a row",
        ),
        (
            format!("{header}{}9,9,z\n", rows(4)),
            options("label"),
            r#"flowers.csv: line 6: class "z" appears only in held-out rows (every 5th), so the model could never predict it"#,
        ),
        (
            format!("a;b;label\n{}", rows(10).replace(',', ";")),
            options("label"),
            r#"flowers.csv: the header is one column, "a;b;label", which looks ';'-separated: pass --delimiter ';'"#,
        ),
        (
            format!("{header}{}", rows(10)),
            Options {
                above: Some(1.0),
                class_names: Some(vec!["a".into(), "b".into(), "c".into()]),
                ..options("a")
            },
            "--class-names gives 3 names; --above makes two classes",
        ),
        (
            format!(
                "a,b,code\n{}",
                (0..10)
                    .map(|i| format!("{i},1,{}\n", i % 3))
                    .collect::<String>()
            ),
            Options {
                class_names: Some(vec!["zero".into(), "one".into()]),
                ..options("code")
            },
            r#"flowers.csv: line 4, column "code": "2" is not one of the class codes 0..1 that --class-names names"#,
        ),
    ];
    for (csv, options, expected) in cases {
        let message = refusal(&csv, &options);
        assert_eq!(message, expected);
        assert!(!message.contains('\n'), "{message}");
    }
}

/// The binary: a missing file and bad data each stop it with exit code 1 and one line.
#[test]
fn the_train_command_stops_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such.csv");
    let output = Command::new(env!("CARGO_BIN_EXE_train"))
        .args([
            "--data",
            missing.to_str().unwrap(),
            "--target",
            "y",
            "--name",
            "m",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr,
        format!(
            "train: {}: cannot read the data: No such file or directory (os error 2)\n",
            missing.display()
        )
    );

    let data = dir.path().join("flowers.csv");
    std::fs::write(&data, flowers()).unwrap();
    let out = dir.path().join("flowers.json");
    let output = Command::new(env!("CARGO_BIN_EXE_train"))
        .args([
            "--data",
            data.to_str().unwrap(),
            "--target",
            "species",
            "--name",
            "flowers",
        ])
        .args(["--standardize", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let artifact = Artifact::load(&out).unwrap();
    assert!(matches!(
        artifact.model().preprocessing(),
        Some(Preprocessing::Standardize(_))
    ));
}
