use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn roundtrip(value: &Value) -> Value {
    let text = to_string(value);
    parse_value(&text, Schema::Yaml12).unwrap_or_else(|e| panic!("{e}\n---\n{text}"))
}

#[test]
fn awkward_scalars_round_trip_under_both_schemas() {
    let value = json!({
        "on": "on", "yes": "yes", "NO": "NO", "hex": "0x10", "exp": "1e3", "tilde": "~",
        "null": null, "empty": "", "octal": "0755", "time": "2001-12-14", "sexagesimal": "1:20",
        "long": 9_007_199_254_740_993_i64, "max": u64::MAX, "min": i64::MIN,
        "float": 1000.0, "small": 1e-7, "neg": -0.5, "true": true,
        "multi": "line one\nline two\n", "strip": "a\nb", "keep": "a\n\n", "indented": "  x\ny\n",
        "trailing space": "a \nb", "tab": "a\tb", "quote": "it's", "colon": "a: b", "hash": "a #b",
        "dash": "- x", "star": "*x", "unicode": "héllo ✓", "ctrl": "\u{1}", "cr": "a\rb",
        "list": [[1, 2], [], {}, {"a": [{"b": null}]}, "- x"],
    });
    let text = to_string(&value);
    assert_eq!(parse_value(&text, Schema::Yaml12).unwrap(), value, "{text}");
    assert_eq!(parse_value(&text, Schema::Yaml11).unwrap(), value, "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn yaml_1_1_reads_booleans_and_converts_keys() {
    let v = parse_value("on: yes\nn: off\n", Schema::Yaml11).unwrap();
    assert_eq!(v, json!({"true": true, "false": false}));
    let v = parse_value("on: yes\nn: off\n", Schema::Yaml12).unwrap();
    assert_eq!(v, json!({"on": "yes", "n": "off"}));
}

#[test]
fn documents_keep_their_start_lines_and_indices() {
    let docs = parse_documents(
        "# c\na: 1\n---\n---\n\n# x\nb: 2\n...\n---\n- 3\n",
        Schema::Yaml12,
    )
    .unwrap();
    let summary: Vec<_> = docs
        .iter()
        .map(|d| (d.index, d.line, d.value.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, 2, json!({"a": 1})),
            (1, 4, Value::Null),
            (2, 7, json!({"b": 2})),
            (3, 10, json!([3])),
        ]
    );
}

#[test]
fn syntax_errors_carry_line_and_column() {
    let err = parse_documents("a: 1\nb: [1, 2\nc: 3\n", Schema::Yaml12).unwrap_err();
    assert_eq!(err.position.line, 3, "{err}");
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn duplicate_keys_are_errors_in_yaml_1_2_and_last_wins_in_1_1() {
    let err = parse_value("a: 1\nb: 2\na: 3\n", Schema::Yaml12).unwrap_err();
    assert_eq!(
        err.to_string(),
        "3:1: mapping key `a` already defined at line 1"
    );
    assert_eq!(
        parse_value("a: 1\na: 3\n", Schema::Yaml11).unwrap(),
        json!({"a": 3})
    );
}

#[test]
fn anchors_aliases_and_merge_keys_expand() {
    let text =
        "base: &b {x: 1, y: 2}\nother: &o {z: 3}\nderived:\n  <<: [*b, *o]\n  y: 9\nlist: *b\n";
    let v = parse_value(text, Schema::Yaml12).unwrap();
    assert_eq!(v["derived"], json!({"x": 1, "z": 3, "y": 9}));
    assert_eq!(v["list"], json!({"x": 1, "y": 2}));
}

#[test]
fn alias_bombs_are_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let err = parse_value(&text, Schema::Yaml12).unwrap_err();
    assert!(err.message.contains("aliases expand"), "{err}");
}

#[test]
fn a_large_scalar_aliased_thousands_of_times_is_refused() {
    // 1 MB aliased 4,000 times would expand to 4 GB while the node count stays tiny.
    let mut text = format!("big: &big {}\nlist:\n", "x".repeat(1_000_000));
    for _ in 0..4_000 {
        text.push_str("- *big\n");
    }
    let err = parse_value(&text, Schema::Yaml12).unwrap_err();
    assert_eq!(err.position.line, 18);
    assert!(
        err.message
            .contains("aliases expand to more than 15728640 bytes of text"),
        "{err}"
    );
}

#[test]
fn explicit_tags_override_resolution() {
    let v = parse_value(
        "a: !!str 10\nb: !!int \"10\"\nc: !!float 1\nd: !custom on\n",
        Schema::Yaml12,
    )
    .unwrap();
    assert_eq!(v, json!({"a": "10", "b": 10, "c": 1.0, "d": "on"}));
    let err = parse_value("a: !!int ten\n", Schema::Yaml12).unwrap_err();
    assert_eq!(err.to_string(), "1:10: cannot decode `ten` as a !!int");
}

#[test]
fn locate_finds_nested_fields() {
    let text = "a: 1\n---\nspec:\n  containers:\n  - name: web\n    image: nginx\n";
    assert_eq!(
        locate(text, Schema::Yaml12, 1, "/spec/containers/0/image"),
        Some(Position {
            line: 6,
            column: 12
        })
    );
    assert_eq!(
        locate(text, Schema::Yaml12, 1, "/spec/containers"),
        Some(Position { line: 5, column: 5 })
    );
    assert_eq!(
        locate(text, Schema::Yaml12, 0, "/a"),
        Some(Position { line: 1, column: 4 })
    );
    assert_eq!(locate(text, Schema::Yaml12, 1, "/nope"), None);
}

#[test]
fn multi_document_output_uses_separators() {
    let out = to_string_multi([&json!({"a": 1}), &json!({"b": [1]})]);
    assert_eq!(out, "a: 1\n---\nb:\n- 1\n");
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[a-z0-9 :#\\-\n'\"]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("on"),
            Just("NO"),
            Just("0x1F"),
            Just("1e3"),
            Just("~"),
            Just("- ")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn write_then_parse_gives_back_the_same_value(value in arb_value()) {
        prop_assert_eq!(&roundtrip(&value), &value);
        let text = to_string(&value);
        prop_assert_eq!(parse_value(&text, Schema::Yaml11).unwrap(), value);
    }
}
