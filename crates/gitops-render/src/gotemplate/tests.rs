#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use super::*;

fn data() -> Value {
    let mut m = BTreeMap::new();
    m.insert("name".to_owned(), Value::from("web"));
    m.insert("n".to_owned(), Value::Float(3.0));
    m.insert("big".to_owned(), Value::Float(1_000_000.0));
    m.insert("zero".to_owned(), Value::Int(0));
    m.insert("empty".to_owned(), Value::from(""));
    m.insert("null".to_owned(), Value::Nil);
    m.insert("on".to_owned(), Value::Bool(true));
    m.insert(
        "list".to_owned(),
        Value::list(vec![Value::from("a"), Value::from("b"), Value::from("c")]),
    );
    let mut inner = BTreeMap::new();
    inner.insert("z".to_owned(), Value::Int(26));
    inner.insert("a".to_owned(), Value::Int(1));
    inner.insert("m".to_owned(), Value::Int(13));
    m.insert("map".to_owned(), Value::map(inner));
    Value::map(m)
}

fn run(text: &str) -> Result<String, String> {
    let mut t = Templates::new();
    t.parse("t", text)?;
    t.execute(&builtin_funcs(), "t", &data())
        .map_err(|e| e.to_string())
}

#[test]
fn table() {
    let cases: &[(&str, &str)] = &[
        ("plain text", "plain text"),
        ("{{ .name }}", "web"),
        ("{{.name}}-{{ .n }}", "web-3"),
        ("{{ .big }}", "1e+06"),
        ("{{ .missing }}", "<no value>"),
        ("{{ .null }}", "<no value>"),
        ("a  {{- .name -}}  b", "awebb"),
        ("a {{- /* c */ -}} b", "ab"),
        ("a{{/* comment */}}b", "ab"),
        ("x\n  {{- if .on }}\n  yes\n  {{- end }}", "x\n  yes"),
        ("{{ if .zero }}t{{ else }}f{{ end }}", "f"),
        (
            "{{ if .empty }}t{{ else if .on }}on{{ else }}f{{ end }}",
            "on",
        ),
        ("{{ if .list }}t{{ end }}", "t"),
        ("{{ if .missing }}t{{ else }}f{{ end }}", "f"),
        ("{{ with .name }}{{ . }}{{ end }}", "web"),
        (
            "{{ with .missing }}x{{ else with .name }}{{ . }}{{ end }}",
            "web",
        ),
        ("{{ with .missing }}x{{ else }}none{{ end }}", "none"),
        ("{{ range .list }}{{ . }}{{ end }}", "abc"),
        (
            "{{ range $i, $v := .list }}{{ $i }}{{ $v }},{{ end }}",
            "0a,1b,2c,",
        ),
        ("{{ range $v := .list }}{{ $v }}{{ end }}", "abc"),
        (
            "{{ range $k, $v := .map }}{{ $k }}={{ $v }};{{ end }}",
            "a=1;m=13;z=26;",
        ),
        ("{{ range .missing }}x{{ else }}empty{{ end }}", "empty"),
        ("{{ range 3 }}{{ . }}{{ end }}", "012"),
        (
            "{{ range .list }}{{ if eq . \"b\" }}{{ break }}{{ end }}{{ . }}{{ end }}",
            "a",
        ),
        (
            "{{ range .list }}{{ if eq . \"b\" }}{{ continue }}{{ end }}{{ . }}{{ end }}",
            "ac",
        ),
        ("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "2"),
        (
            "{{ $x := 1 }}{{ if true }}{{ $x = 5 }}{{ end }}{{ $x }}",
            "5",
        ),
        ("{{ range .list }}{{ $.name }}{{ end }}", "webwebweb"),
        (
            "{{ define \"x\" }}[{{ . }}]{{ end }}{{ template \"x\" .name }}",
            "[web]",
        ),
        ("{{ block \"b\" .name }}<{{ . }}>{{ end }}", "<web>"),
        (
            "{{ eq 1 1 }} {{ eq 1 2 3 1 }} {{ ne \"a\" \"b\" }}",
            "true true true",
        ),
        (
            "{{ lt 1 2 }} {{ le 2 2 }} {{ gt 1 2 }} {{ ge \"b\" \"a\" }}",
            "true true false true",
        ),
        (
            "{{ and 1 0 }} {{ and 1 2 }} {{ or 0 \"\" }} {{ or 0 \"x\" }}",
            "0 2  x",
        ),
        ("{{ and false .missing.field }}", "false"),
        ("{{ not .on }} {{ not 0 }}", "false true"),
        ("{{ len .list }} {{ len .name }} {{ len .map }}", "3 3 3"),
        ("{{ index .list 1 }} {{ index .map \"m\" }}", "b 13"),
        ("{{ slice .list 1 }} {{ slice .name 1 2 }}", "[b c] e"),
        ("{{ print \"a\" 1 2 \"b\" }}", "a1 2b"),
        ("{{ println 1 \"a\" }}", "1 a\n"),
        (
            "{{ printf \"%s-%d-%v-%q\" \"a\" 5 .list \"q\" }}",
            "a-5-[a b c]-\"q\"",
        ),
        (
            "{{ printf \"%5s|%-5s|%05d|%x|%X|%t|%%\" \"ab\" \"cd\" 42 255 \"hi\" true }}",
            "   ab|cd   |00042|ff|6869|true|%",
        ),
        (
            "{{ printf \"%.2f %f %v %g %e\" 3.14159 1.5 0.1 100000.0 1234.5 }}",
            "3.14 1.500000 0.1 100000 1.234500e+03",
        ),
        ("{{ printf \"%d\" \"x\" }}", "%!d(string=x)"),
        ("{{ printf \"%s\" }}", "%!s(MISSING)"),
        ("{{ printf \"%s\" 1 }}", "%!s(int=1)"),
        ("{{ printf \"%v\" .map }}", "map[a:1 m:13 z:26]"),
        ("{{ printf \"%T %T %T\" 1 \"s\" .n }}", "int string float64"),
        (
            "{{ html \"<a href='x'>&\\\"\" }}",
            "&lt;a href=&#39;x&#39;&gt;&amp;&#34;",
        ),
        ("{{ js \"it's <b>\" }}", "it\\'s \\u003Cb\\u003E"),
        ("{{ urlquery \"a b&c=d/é\" }}", "a+b%26c%3Dd%2F%C3%A9"),
        ("{{ .name | printf \"%s!\" }}", "web!"),
        ("{{ \"x\" | printf \"%s%s\" \"y\" }}", "yx"),
        ("{{ (index .list 0) }}{{ (.map).a }}", "a1"),
        (
            "{{ 0x1F }} {{ 1e3 }} {{ 'a' }} {{ -5 }} {{ 1_000 }}",
            "31 1000 97 -5 1000",
        ),
        ("{{ `raw\\n` }}", "raw\\n"),
        ("{{ \"esc\\t\\u00e9\" }}", "esc\té"),
        ("{{ print nil }}", "<nil>"),
        // A later definition that is only whitespace does not replace an earlier one.
        (
            "{{ define \"x\" }}a{{ end }}{{ define \"x\" }} \n {{ end }}<{{ template \"x\" }}>",
            "<a>",
        ),
        // Escapes are resolved in template names as in values.
        (
            "{{ define \"a\\tb\" }}x{{ end }}{{ template \"a\\u0009b\" }}{{ \"q\\\"\" }}",
            "xq\"",
        ),
        // Field chains on dot, variables and parenthesized pipelines.
        (
            "{{ $m := . }}{{ $m.map.a }} {{ .map.m }} {{ (.map).z }}",
            "1 13 26",
        ),
        // Each template has its own variables: a called one neither sees nor changes the
        // caller's, and `$` is its own data.
        (
            "{{ define \"inner\" }}{{ $x := 2 }}{{ $x = 3 }}[{{ $x }}{{ $ }}]{{ end }}{{ $x := 1 }}{{ template \"inner\" \"d\" }}{{ $x }}{{ $x = 4 }}{{ range $i, $v := .list }}{{ template \"inner\" $v }}{{ end }}{{ $x }}",
            "[3d]1[3a][3b][3c]4",
        ),
        ("{{ .list }} {{ .on }}", "[a b c] true"),
    ];
    let mut failures = Vec::new();
    for (tpl, want) in cases {
        match run(tpl) {
            Ok(got) if got == *want => {}
            other => failures.push(format!("{tpl:?}: want {want:?}, got {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn errors() {
    let cases: &[(&str, &str)] = &[
        (
            "{{ .missing.field }}",
            "template: t:1:11: executing \"t\" at <.missing.field>: nil pointer evaluating interface {}.field",
        ),
        (
            "{{ $d := . }}{{ $d.name.x }}",
            "template: t:1:16: executing \"t\" at <$d.name.x>: can't evaluate field x in type string",
        ),
        (
            "{{ .name.x }}",
            "template: t:1:8: executing \"t\" at <.name.x>: can't evaluate field x in type string",
        ),
        (
            "{{ eq 1 \"a\" }}",
            "template: t:1:3: executing \"t\" at <eq 1 \"a\">: error calling eq: incompatible types for comparison",
        ),
        (
            "{{ eq .n 3 }}",
            "template: t:1:3: executing \"t\" at <eq .n 3>: error calling eq: incompatible types for comparison",
        ),
        (
            "{{ lt .list 1 }}",
            "template: t:1:3: executing \"t\" at <lt .list 1>: error calling lt: invalid type for comparison",
        ),
        (
            "{{ index .list 5 }}",
            "template: t:1:3: executing \"t\" at <index .list 5>: error calling index: index out of range: 5",
        ),
        (
            "{{ nofunc 1 }}",
            "template: t:1:3: executing \"t\" at <nofunc 1>: function \"nofunc\" not defined",
        ),
        (
            "{{ template \"nope\" }}",
            "template: t:1:3: executing \"t\" at <template \"nope\">: template \"nope\" not defined",
        ),
        (
            "{{ .missing | printf }}",
            "template: t:1:14: executing \"t\" at <printf>: invalid value; expected string",
        ),
        (
            "{{ nil | print }}",
            "template: t:1:3: executing \"t\" at <nil>: nil is not a command",
        ),
        // Constants in the node text: strings quoted (escapes kept), literals as written.
        (
            "{{ nofunc \"a\\\"b\" true 'x' 0x1F 1.50 }}",
            "template: t:1:3: executing \"t\" at <nofunc \"a\\\"b\" true 'x' 0x1F 1.50>: function \"nofunc\" not defined",
        ),
        (
            "line1\n  {{ len 3 }}",
            "template: t:2:5: executing \"t\" at <len 3>: error calling len: len of type int",
        ),
    ];
    let mut failures = Vec::new();
    for (tpl, want) in cases {
        match run(tpl) {
            Err(got) if got == *want => {}
            other => failures.push(format!("{tpl:?}: want {want:?}, got {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn parse_errors() {
    for (tpl, want) in [
        ("{{ if .x }}", "template: t:1:11: unexpected EOF"),
        ("{{ end }}", "template: t:1:3: unexpected {{end}}"),
        (
            "{{ $undefined }}",
            "template: t:1:3: undefined variable \"$undefined\"",
        ),
        ("{{ .x", "template: t:1:5: unclosed action"),
        ("{{ \"abc }}", "template: t:1:3: unterminated quoted string"),
    ] {
        assert_eq!(run(tpl).unwrap_err(), want, "{tpl}");
    }
}

#[test]
fn set_on_shared_map_is_visible() {
    let d = data();
    if let Value::Map(m) = &d {
        let alias = Value::Map(m.clone());
        if let Value::Map(a) = alias {
            a.borrow_mut().insert("added".to_owned(), Value::Int(1));
        }
        assert!(m.borrow().contains_key("added"));
    }
}

#[test]
fn float_formatting_matches_go() {
    use super::fmt::format_float_g;
    for (f, want) in [
        (3.0, "3"),
        (0.1, "0.1"),
        (1e6, "1e+06"),
        (123_456.0, "123456"),
        (1_234_567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.5, "-2.5"),
        (1e21, "1e+21"),
    ] {
        assert_eq!(format_float_g(f, None), want, "{f}");
    }
}

#[test]
fn list_keeps_order_from_one_to_many_items() {
    let mut l = super::parse::List::new();
    assert!(l.is_empty());
    for i in 0..4 {
        l.push(i);
        assert_eq!(&l[..], (0..=i).collect::<Vec<_>>().as_slice());
    }
}

#[test]
fn from_json_owned_equals_from_json() {
    let j = serde_json::json!({"b": [1, 2.5, "s", null, {"z": true}], "a": {"k": -3}, "n": null});
    for keep_ints in [false, true] {
        assert_eq!(
            Value::from_json_owned(j.clone(), keep_ints),
            Value::from_json(&j, keep_ints)
        );
    }
}
