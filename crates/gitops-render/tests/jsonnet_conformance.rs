//! Jsonnet conformance on google/jsonnet's `test_suite` and on the ext/TLA/-J cases of
//! `test_cmd`, read from `../shared/corpus/jsonnet` when it is present.
//!
//! The suite's rules (test_suite/RUNNING.md): files named `tla.*` get `--tla-str var1=test
//! --tla-code var2={x:1,y:2}`, the others the same as ext vars; `error.*` files must fail; the
//! others must print their `.golden` (or `true` without one). Outputs are compared as JSON
//! values; error messages are not compared (jrsonnet words them its own way), only that an
//! error happens. Known failures are listed in `KNOWN_FAILURES` with the reason; the test fails
//! when a test outside that list fails, or when one in it starts passing (update the list).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gitops_render::jsonnet::{self, ExtValue, JsonnetOptions};
use serde_json::Value;

/// Tests jrsonnet 0.5.0-pre98 evaluates differently from go-jsonnet/C++ jsonnet, and why.
const KNOWN_FAILURES: &[(&str, &str)] = &[
    (
        "error.recursive_object_non_term.jsonnet",
        "jrsonnet does not count object-field recursion against --max-stack; unbounded recursion \
         overflows the native stack and aborts the process (go-jsonnet: max stack frames exceeded)",
    ),
    (
        "error.trace_one_param.jsonnet",
        "jrsonnet's std.trace takes the message as an optional parameter (go-jsonnet requires both)",
    ),
    (
        "error.trace_two_param.jsonnet",
        "jrsonnet's std.trace converts a non-string message instead of refusing it",
    ),
    (
        "invariant_manifest.jsonnet",
        "jrsonnet's std.setInter accepts arrays only; go-jsonnet also takes a string (as an array \
         of characters)",
    ),
    (
        "recursive_function.jsonnet",
        "jrsonnet has no tail-call optimisation for `tailstrict`: a 10,000-deep tail recursion \
         exceeds the stack limit (go-jsonnet runs it in constant stack)",
    ),
];

fn corpus() -> Option<PathBuf> {
    gitops_testenv::corpus::path("jsonnet")
}

fn suite_options(name: &str) -> JsonnetOptions {
    let mut vars = BTreeMap::new();
    vars.insert("var1".to_owned(), ExtValue::Str("test".to_owned()));
    vars.insert("var2".to_owned(), ExtValue::Code("{x:1,y:2}".to_owned()));
    let mut options = JsonnetOptions::default();
    if name.starts_with("tla.") {
        options.tlas = vars;
    } else {
        options.ext_vars = vars;
    }
    options
}

enum Outcome {
    Pass,
    Fail(String),
}

fn run_suite_test(name: &str) -> Outcome {
    let file = Path::new(name);
    let result = jsonnet::evaluate_file(file, &suite_options(name));
    let golden = std::fs::read_to_string(format!("{name}.golden")).ok();
    if name.starts_with("error.") {
        return match result {
            Err(_) => Outcome::Pass,
            Ok(v) => Outcome::Fail(format!("expected an error, got {v}")),
        };
    }
    // std.trace writes to stderr, which the suite merges into the golden; ours goes to the log.
    let expected = golden.map_or_else(
        || "true".to_owned(),
        |g| {
            g.lines()
                .filter(|l| !l.starts_with("TRACE: "))
                .collect::<Vec<_>>()
                .join("\n")
        },
    );
    let Ok(expected) = serde_json::from_str::<Value>(&expected) else {
        return match result {
            Ok(v) => Outcome::Fail(format!("golden is not JSON; we printed {v}")),
            Err(e) => Outcome::Fail(format!("golden is not JSON; we failed: {e}")),
        };
    };
    match result {
        Ok(v) if v == expected => Outcome::Pass,
        Ok(v) => Outcome::Fail(format!("output differs: {}", short(&v.to_string()))),
        Err(e) => Outcome::Fail(format!("error: {}", short(&e.to_string()))),
    }
}

fn short(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    line.chars().take(160).collect()
}

/// Runs one suite test named by `JSONNET_SUITE_ONE` (in a child process of
/// [`jsonnet_test_suite`], so that a crash of the evaluator counts as one failure).
#[test]
fn run_one_suite_test() {
    let Some(name) = std::env::var_os("JSONNET_SUITE_ONE") else {
        return;
    };
    match run_suite_test(&name.to_string_lossy()) {
        Outcome::Pass => println!("RESULT PASS"),
        Outcome::Fail(why) => println!("RESULT FAIL {why}"),
    }
}

#[test]
fn jsonnet_test_suite() {
    if std::env::var_os("JSONNET_SUITE_ONE").is_some() {
        return;
    }
    let Some(corpus) = corpus() else { return };
    let suite = corpus.join("test_suite");
    let mut names: Vec<String> = std::fs::read_dir(&suite)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jsonnet"))
        .collect();
    names.sort();
    let known: BTreeMap<&str, &str> = KNOWN_FAILURES.iter().copied().collect();
    let (mut passed, mut failed) = (0, Vec::new());
    let exe = std::env::current_exe().unwrap();
    for name in &names {
        // Relative paths, as the suite's runner passes them (std.thisFile, error locations).
        let output = std::process::Command::new(&exe)
            .args([
                "--exact",
                "run_one_suite_test",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("JSONNET_SUITE_ONE", name)
            .current_dir(&suite)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let result = stdout
            .lines()
            .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r));
        match result {
            Some("PASS") => passed += 1,
            Some(fail) => failed.push((name.clone(), fail.trim_start_matches("FAIL ").to_owned())),
            None => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let why = stderr
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                failed.push((name.clone(), format!("crashed: {}", short(why))));
            }
        }
    }
    println!("jsonnet test_suite: {passed}/{} passed", names.len());
    let mut unexpected = Vec::new();
    for (name, why) in &failed {
        let note = known.get(name.as_str()).copied().unwrap_or("UNEXPECTED");
        println!("  FAIL {name}: {why}\n       known: {note}");
        if !known.contains_key(name.as_str()) {
            unexpected.push(name.clone());
        }
    }
    let now_passing: Vec<_> = known
        .keys()
        .filter(|k| !failed.iter().any(|(n, _)| n == *k))
        .collect();
    assert!(unexpected.is_empty(), "unexpected failures: {unexpected:?}");
    assert!(
        now_passing.is_empty(),
        "known failures now pass: {now_passing:?}"
    );
}

/// One `test_cmd` case that uses only the flags `gitops build` exposes.
struct CmdCase {
    name: String,
    exit_code: i64,
    options: JsonnetOptions,
    program: Program,
    stdout: Option<String>,
    stderr: Option<String>,
}

enum Program {
    File(String),
    Snippet(String),
}

fn parse_case(case: &Value, dir: &Path) -> Option<CmdCase> {
    let args: Vec<&str> = case["args"]
        .as_array()?
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let mut options = JsonnetOptions::default();
    let mut program = None;
    // Only the cases about the flags `gitops build` exposes.
    let relevant = args.iter().any(|a| {
        matches!(
            *a,
            "--ext-str"
                | "-V"
                | "--ext-code"
                | "--tla-str"
                | "-A"
                | "--tla-code"
                | "-J"
                | "--jpath"
        )
    });
    if !relevant {
        return None;
    }
    let mut i = 0;
    while i < args.len() {
        let flag = args[i];
        let value = args.get(i + 1).copied();
        let kv = |v: Option<&str>| {
            let (k, v) = v?.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        };
        match flag {
            "--ext-str" | "-V" => {
                let (k, v) = kv(value)?;
                options.ext_vars.insert(k, ExtValue::Str(v));
            }
            "--ext-code" => {
                let (k, v) = kv(value)?;
                options.ext_vars.insert(k, ExtValue::Code(v));
            }
            "--tla-str" | "-A" => {
                let (k, v) = kv(value)?;
                options.tlas.insert(k, ExtValue::Str(v));
            }
            "--tla-code" => {
                let (k, v) = kv(value)?;
                options.tlas.insert(k, ExtValue::Code(v));
            }
            "-J" | "--jpath" => options.library_paths.push(match value? {
                "" => PathBuf::new(),
                v => dir.join(v),
            }),
            "-e" => program = Some(Program::Snippet(value?.to_owned())),
            file if !file.starts_with('-') => {
                program = Some(Program::File(file.to_owned()));
                i += 1;
                continue;
            }
            _ => return None,
        }
        i += 2;
    }
    let golden = |key: &str| {
        case.get(key)
            .and_then(Value::as_str)
            .map(|f| std::fs::read_to_string(dir.join(f)).unwrap())
    };
    Some(CmdCase {
        name: case["name"].as_str()?.to_owned(),
        exit_code: case["exit_code"].as_i64()?,
        options,
        program: program?,
        stdout: golden("golden_stdout"),
        stderr: golden("golden_stderr"),
    })
}

#[test]
fn jsonnet_cmd_cases_for_ext_vars_tlas_and_library_paths() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("test_cmd");
    let text = std::fs::read_to_string(dir.join("cases.yaml")).unwrap();
    let doc = gitops_core::yaml::parse_value(&text, gitops_core::yaml::Schema::Yaml12).unwrap();
    let mut checked = 0;
    for case in doc["cases"].as_array().unwrap() {
        let Some(case) = parse_case(case, &dir) else {
            continue;
        };
        let result = match &case.program {
            Program::Snippet(code) => {
                jsonnet::evaluate_snippet("<cmdline>", code, &dir, &case.options)
            }
            Program::File(file) => jsonnet::evaluate_file(&dir.join(file), &case.options),
        };
        match (case.exit_code, result) {
            (0, Ok(value)) => {
                let expected: Value =
                    serde_json::from_str(case.stdout.as_deref().unwrap_or("null")).unwrap();
                assert_eq!(value, expected, "{}", case.name);
            }
            (1, Err(err)) => {
                // The words differ from go-jsonnet's (first line of its stderr, shown in the
                // message), so ours are checked against jrsonnet's wording of the same error.
                let golden = case.stderr.unwrap_or_default();
                let theirs = golden.lines().next().unwrap_or_default();
                let ours = err.to_string();
                println!(
                    "{}: go-jsonnet: {theirs}\n{}  ours: {ours}",
                    case.name,
                    " ".repeat(case.name.len())
                );
                let fragment = EXPECTED_ERRORS
                    .iter()
                    .find(|(name, _)| *name == case.name)
                    .map_or("", |(_, fragment)| *fragment);
                assert!(
                    !fragment.is_empty(),
                    "{}: no expected error listed",
                    case.name
                );
                assert!(
                    ours.contains(fragment),
                    "{}: expected {fragment:?} in {ours}",
                    case.name
                );
            }
            (code, result) => panic!("{}: expected exit code {code}, got {result:?}", case.name),
        }
        checked += 1;
    }
    println!("jsonnet test_cmd: {checked} ext/TLA/-J cases checked");
    assert!(checked >= 20, "only {checked} cases found");
}

/// What our error says for the `test_cmd` cases that must fail (go-jsonnet's wording in the
/// comment).
const EXPECTED_ERRORS: &[(&str, &str)] = &[
    // ERROR: -J argument was empty string
    ("jpath8", "library path (-J) is an empty string"),
    // RUNTIME ERROR: undefined external variable: x
    (
        "ext3",
        "<cmdline>:1:11: external variable is not defined: x",
    ),
    // RUNTIME ERROR: function has no parameter y
    ("tla3", "<cmdline>: parameter y is not defined"),
    // RUNTIME ERROR: function has no parameter x
    ("tla7", "<cmdline>: parameter x is not defined"),
];
