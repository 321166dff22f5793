//! The README's examples, run as a newcomer runs them, so that none can drift: every shell
//! block is read command by command; `train` and `import` run as the binaries, `curl` against
//! the service in-process (the model being the one the example before it serves), and every
//! output the README shows is compared with what the code answers, to the byte. A SHA-256 is
//! shown as its first 8 digits and `…`; the output is abbreviated the same way before the
//! comparison, nothing else is.
//!
//! A command that shows output must be one this test runs: an example that cannot be checked
//! here does not show what it prints.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use server::Artifact;
use server::contract::Config;
use server::contract::answer::read_answer;
use server::http::Service;

use crate::util::fixtures;

/// One command of a shell block, and the output lines shown under it.
#[derive(Debug)]
struct Example {
    line: usize,
    words: Vec<String>,
    shown: Vec<String>,
}

/// Every command of every `sh` block of `text`, with the line it starts on.
fn examples(text: &str) -> Vec<Example> {
    let lines: Vec<&str> = text.lines().collect();
    let mut examples: Vec<Example> = vec![];
    let mut i = 0;
    while i < lines.len() {
        if lines[i] != "```sh" {
            i += 1;
            continue;
        }
        i += 1;
        while i < lines.len() && lines[i] != "```" {
            let line = lines[i];
            if let Some(output) = line.strip_prefix('#') {
                let example = examples
                    .last_mut()
                    .unwrap_or_else(|| panic!("README.md:{}: output before any command", i + 1));
                example.shown.push(output.to_owned());
                i += 1;
            } else if line.trim().is_empty() {
                i += 1;
            } else {
                let (words, next) = words(&lines, i);
                examples.push(Example {
                    line: i + 1,
                    words,
                    shown: vec![],
                });
                i = next;
            }
        }
    }
    examples
}

/// The words of the command that starts on `lines[start]`, as a POSIX shell splits them
/// (quotes, a backslash before a newline, a `#` comment), and the line after it.
fn words(lines: &[&str], start: usize) -> (Vec<String>, usize) {
    let (mut words, mut word, mut quote) = (vec![], None::<String>, None::<char>);
    let mut i = start;
    loop {
        let line = lines[i];
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.get_or_insert_default().push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    word.get_or_insert_default();
                }
                (None, '\\') if chars.peek().is_none() => break,
                (None, '#') if word.is_none() => {
                    // A comment ends the command with its line.
                    words.extend(word.take());
                    return (words, i + 1);
                }
                (None, c) if c.is_whitespace() => words.extend(word.take()),
                (None, c) => word.get_or_insert_default().push(c),
            }
        }
        i += 1;
        match quote {
            Some(_) => word.get_or_insert_default().push('\n'),
            None if line.ends_with('\\') => words.extend(word.take()),
            None => {
                words.extend(word.take());
                return (words, i);
            }
        }
    }
}

/// The output as the README shows it: continuation lines joined without their indent.
fn shown(lines: &[String]) -> String {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.strip_prefix(' ').unwrap_or(l)
            } else {
                l.trim_start()
            }
        })
        .collect()
}

/// Every SHA-256 (64 hexadecimal digits) abbreviated to its first 8 and `…`.
fn abbreviated(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_hexdigit()) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let run = rest
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(rest.len());
        if run == 64 {
            out.push_str(&rest[..8]);
            out.push('…');
        } else {
            out.push_str(&rest[..run]);
        }
        rest = &rest[run..];
    }
    out + rest
}

/// What the README's commands do to a newcomer's checkout: a working directory with the
/// repository's fixtures, the services started so far, and the model the next `curl` reaches.
struct Walk {
    dir: tempfile::TempDir,
    serving: Option<PathBuf>,
    services: BTreeMap<Option<PathBuf>, Service>,
}

impl Walk {
    fn new() -> Walk {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(fixtures(), dir.path().join("fixtures")).unwrap();
        Walk {
            dir,
            serving: None,
            services: BTreeMap::new(),
        }
    }

    /// Runs `example` if it is one this test runs; returns what it printed (or answered), or
    /// `None` for a command this test does not run.
    fn run(&mut self, example: &Example) -> Option<String> {
        let words: Vec<&str> = example
            .words
            .iter()
            .map(String::as_str)
            .skip_while(|w| w.contains('='))
            .collect();
        match words.as_slice() {
            ["mkdir", "-p", dir] => {
                std::fs::create_dir_all(self.dir.path().join(dir)).unwrap();
                Some(String::new())
            }
            [
                "cargo",
                "run",
                "-p",
                "server",
                "--bin",
                bin @ ("train" | "import"),
                "--",
                args @ ..,
            ] => {
                let program = match *bin {
                    "train" => env!("CARGO_BIN_EXE_train"),
                    _ => env!("CARGO_BIN_EXE_import"),
                };
                let output = Command::new(program)
                    .args(args)
                    .current_dir(self.dir.path())
                    .output()
                    .unwrap();
                assert!(
                    output.status.success(),
                    "README.md:{}: {bin} failed: {}",
                    example.line,
                    String::from_utf8_lossy(&output.stderr)
                );
                Some(String::from_utf8(output.stdout).unwrap())
            }
            ["cargo", "run", "-p", "server"] => {
                self.serving = None;
                Some(String::new())
            }
            // The image serves the artifact it was built with, as the service in-process does.
            ["cargo", "run", "-p", "harness", "--", "image", rest @ ..] => {
                self.serving = match rest {
                    ["--artifact", path, ..] => Some(self.dir.path().join(path)),
                    _ => None,
                };
                Some(String::new())
            }
            ["curl", args @ ..] => Some(self.curl(example.line, args)),
            _ => None,
        }
    }

    /// Sends the request `curl` would, with curl's defaults, to the model being served.
    fn curl(&mut self, line: usize, args: &[&str]) -> String {
        let (mut url, mut headers, mut data) = (None, vec![], None);
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match *arg {
                "-s" => {}
                "-H" => headers.push(args.next().unwrap().to_string()),
                "-d" => data = Some(args.next().unwrap().to_string()),
                url_arg if !url_arg.starts_with('-') => url = Some(url_arg),
                other => panic!("README.md:{line}: curl {other} is not understood here"),
            }
        }
        let url = url.unwrap_or_else(|| panic!("README.md:{line}: curl without a URL"));
        let path = &url[url
            .find('/')
            .unwrap_or_else(|| panic!("README.md:{line}: {url}"))..];
        let method = if data.is_some() { "POST" } else { "GET" };
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost:8000\r\nUser-Agent: curl\r\nAccept: */*\r\n"
        );
        for header in &headers {
            request.push_str(&format!("{header}\r\n"));
        }
        if let Some(body) = &data {
            // curl's own default for -d, unless a header says otherwise.
            if !headers
                .iter()
                .any(|h| h.to_ascii_lowercase().starts_with("content-type:"))
            {
                request.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
            }
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        request.push_str(data.as_deref().unwrap_or_default());

        let service = self.service();
        let mut stream = TcpStream::connect(service.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let answer = read_answer(&mut std::io::BufReader::new(stream)).unwrap();
        assert_eq!(
            answer.status, 200,
            "README.md:{line}: curl was answered {}: {}",
            answer.status, answer.body
        );
        answer.body
    }

    fn service(&mut self) -> &Service {
        let serving = self.serving.clone();
        self.services.entry(serving).or_insert_with_key(|path| {
            let artifact = match path {
                Some(path) => Artifact::load(path).unwrap(),
                None => Artifact::embedded().unwrap(),
            };
            let config = Config {
                host: [127, 0, 0, 1].into(),
                port: 0,
                ..Config::default()
            };
            Service::launch(&config, artifact, SystemTime::now()).unwrap()
        })
    }
}

/// Runs the README's examples in order: `Ok` with how many outputs were compared, or every
/// output that differs.
fn walk(readme: &str) -> Result<usize, Vec<String>> {
    let mut walk = Walk::new();
    let (mut compared, mut differ) = (0, vec![]);
    for example in examples(readme) {
        let printed = walk.run(&example);
        if example.shown.is_empty() {
            continue;
        }
        let Some(printed) = printed else {
            differ.push(format!(
                "README.md:{}: {:?} shows output this test does not run",
                example.line, example.words
            ));
            continue;
        };
        compared += 1;
        let (expected, got) = (shown(&example.shown), abbreviated(printed.trim_end()));
        if expected != got {
            differ.push(format!(
                "README.md:{}: {} shows\n  {expected}\nbut it prints\n  {got}",
                example.line, example.words[0]
            ));
        }
    }
    if differ.is_empty() {
        Ok(compared)
    } else {
        Err(differ)
    }
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap()
}

#[test]
fn every_output_the_readme_shows_is_what_the_code_prints() {
    let compared = walk(&readme()).unwrap_or_else(|differ| panic!("{}", differ.join("\n")));
    // The two requests of "Ask it", the train and import walkthrough, the own model's request.
    assert!(compared >= 5, "only {compared} outputs compared");
}

#[test]
fn one_changed_byte_of_a_shown_output_is_found() {
    let readme = readme();
    for (from, to) in [
        ("\"label\":\"bad\"", "\"label\":\"bed\""),
        ("sha256 fa0d1d0e…", "sha256 fa0d1d0f…"),
    ] {
        assert!(readme.contains(from), "the README no longer shows {from}");
        let changed = readme.replacen(from, to, 1);
        let differ = walk(&changed).expect_err("a changed output went unnoticed");
        assert_eq!(differ.len(), 1, "{differ:?}");
    }
}

#[test]
fn commands_split_as_a_shell_splits_them() {
    let block = [
        "curl -s x/y -H 'A: b' \\",
        "  -d '{\"a\":",
        "  1}'   # note",
        "next",
    ];
    let (words, next) = words(&block, 0);
    assert_eq!(
        words,
        ["curl", "-s", "x/y", "-H", "A: b", "-d", "{\"a\":\n  1}"]
    );
    assert_eq!(next, 3);
    assert_eq!(
        abbreviated(&format!("sha256 {}; x", "ab".repeat(32))),
        "sha256 abababab…; x"
    );
    assert_eq!(abbreviated("short ab12 hex"), "short ab12 hex");
}
