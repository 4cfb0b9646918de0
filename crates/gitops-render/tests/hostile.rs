//! A repository is untrusted input: hostile sources end in a clear error (or the output Helm or
//! kustomize would give) within bounded time and memory, never in a crash. Each test is named
//! after the attack it stops.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use gitops_render::{helm, kustomize};

/// A gzipped tar of `entries` (path, contents).
fn chart_archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // `set_path` refuses `..`; the attacker's tools do not.
        let bytes = name.as_bytes();
        header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        header.set_cksum();
        tar.append(&header, *data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// Writes [`chart_archive`] of `entries` to `path`.
fn write_chart_archive(path: &Path, entries: &[(&str, &[u8])]) {
    std::fs::write(path, chart_archive(entries)).unwrap();
}

const CHART_YAML: &[u8] = b"apiVersion: v2\nname: bomb\nversion: 0.1.0\n";

fn load_error(entries: &[(&str, &[u8])]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("bomb-0.1.0.tgz");
    write_chart_archive(&archive, entries);
    match helm::chart::load(&archive) {
        Ok(_) => panic!("the archive loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn chart_archive_inflating_past_helms_chart_size_is_refused() {
    // 26 files of 4 MiB: each under Helm's per-file cap, 104 MiB together.
    let four_mib = vec![b'#'; 4 << 20];
    let names: Vec<String> = (0..26).map(|i| format!("bomb/files/f{i}.txt")).collect();
    let mut entries: Vec<(&str, &[u8])> = vec![("bomb/Chart.yaml", CHART_YAML)];
    entries.extend(names.iter().map(|n| (n.as_str(), four_mib.as_slice())));
    let err = load_error(&entries);
    assert!(
        err.contains("decompressed chart is larger than the maximum size 104857600 bytes"),
        "{err}"
    );
}

#[test]
fn chart_archive_file_inflating_past_helms_file_size_is_refused() {
    let big = vec![b'#'; (5 << 20) + 1];
    let err = load_error(&[
        ("bomb/Chart.yaml", CHART_YAML),
        ("bomb/templates/big.yaml", &big),
    ]);
    assert!(
        err.contains(
            "decompressed chart file `bomb/templates/big.yaml` is larger than the maximum file \
             size 5242880 bytes"
        ),
        "{err}"
    );
}

#[test]
fn chart_archive_entry_leaving_the_chart_directory_is_refused() {
    let cm = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n";
    let err = load_error(&[
        ("bomb/Chart.yaml", CHART_YAML),
        ("bomb/templates/../../x.yaml", cm),
    ]);
    assert!(
        err.contains("chart illegally references parent directory: `bomb/templates/../../x.yaml`"),
        "{err}"
    );
    let err = load_error(&[("bomb/Chart.yaml", CHART_YAML), ("bomb//etc/x.yaml", cm)]);
    assert!(
        err.contains("chart illegally contains absolute paths"),
        "{err}"
    );
    let err = load_error(&[("Chart.yaml", CHART_YAML)]);
    assert!(
        err.contains("chart illegally contains content outside the base directory: `Chart.yaml`"),
        "{err}"
    );
}

#[test]
fn chart_archives_nested_more_than_a_hundred_deep_are_refused() {
    let nested = |levels: usize| {
        let mut archive = chart_archive(&[("bomb/Chart.yaml", CHART_YAML)]);
        for _ in 0..levels {
            archive = chart_archive(&[
                ("bomb/Chart.yaml", CHART_YAML),
                ("bomb/charts/bomb-0.1.0.tgz", &archive),
            ]);
        }
        archive
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb-0.1.0.tgz");
    std::fs::write(&path, nested(100)).unwrap();
    assert!(helm::chart::load(&path).is_ok());
    std::fs::write(&path, nested(101)).unwrap();
    let err = helm::chart::load(&path).unwrap_err().to_string();
    assert!(
        err.ends_with("subcharts are nested more than 100 deep below the chart"),
        "{}",
        &err[err.len().saturating_sub(200)..]
    );
}

#[test]
fn chart_archive_entry_with_dot_dot_inside_the_chart_is_cleaned_as_helm_cleans_it() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("ok-0.1.0.tgz");
    let cm = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n";
    write_chart_archive(
        &archive,
        &[
            ("bomb/Chart.yaml", CHART_YAML),
            ("bomb/files/../templates/./x.yaml", cm),
        ],
    );
    let chart = helm::chart::load(&archive).unwrap();
    assert_eq!(chart.templates.len(), 1);
    assert_eq!(chart.templates[0].0, "templates/x.yaml");
}

#[test]
fn jsonnet_string_doubled_forty_times_is_refused_before_it_is_written_out() {
    let code = r#"local f(s, n) = if n == 0 then s else f(s + s, n - 1); {big: f("x", 40)}"#;
    let dir = tempfile::tempdir().unwrap();
    let err =
        gitops_render::jsonnet::evaluate_snippet("doubling", code, dir.path(), &Default::default())
            .unwrap_err();
    assert!(
        err.to_string()
            .contains("the output is larger than 104857600 bytes"),
        "{err}"
    );
    // Wide output is measured without holding it: two hundred million array elements.
    let err = gitops_render::jsonnet::evaluate_snippet(
        "wide",
        "std.range(1, 200000000)",
        dir.path(),
        &Default::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("the output is larger than 104857600 bytes"),
        "{err}"
    );
}

/// A chart directory with `templates/cm.yaml` holding `template` and `values.yaml` holding
/// `values`.
fn chart_dir(template: &str, values: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::write(dir.path().join("Chart.yaml"), CHART_YAML).unwrap();
    std::fs::write(dir.path().join("values.yaml"), values).unwrap();
    std::fs::write(dir.path().join("templates/cm.yaml"), template).unwrap();
    dir
}

fn render_error(dir: &tempfile::TempDir) -> String {
    match helm::render_chart(dir.path(), &helm::HelmOptions::default()) {
        Ok(_) => panic!("the chart rendered"),
        Err(e) => e.to_string(),
    }
}

const RECURSION: &str = r#"{{- define "r" }}{{ if gt (int .) 0 }}{{ template "r" (sub . 1) }}{{ end }}{{ end -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: x
data:
  a: "{{ template "r" (int .Values.depth) }}"
"#;

#[test]
fn template_recursion_ten_thousand_deep_renders_and_deeper_than_the_bound_is_refused() {
    // Each level is a call and an `if`: 9,999 levels are 19,998 nested steps.
    let dir = chart_dir(RECURSION, "depth: 9998\n");
    let out = helm::render_chart(dir.path(), &helm::HelmOptions::default()).unwrap();
    assert_eq!(out.objects().unwrap().len(), 1);
    let dir = chart_dir(RECURSION, "depth: 100000\n");
    let err = render_error(&dir);
    assert!(
        err.contains("exceeded maximum template depth (20000)"),
        "{err}"
    );
}

#[test]
fn include_chain_through_five_templates_stops_at_helms_include_limit() {
    let mut template = String::new();
    for (name, next) in [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("e", "a")] {
        template.push_str(&format!(
            "{{{{- define \"{name}\" }}}}{{{{ if gt (int .) 0 }}}}{{{{ include \"{next}\" (sub . 1) }}}}{{{{ end }}}}{{{{ end -}}}}\n"
        ));
    }
    template.push_str("a: \"{{ include \"a\" (int .Values.depth) }}\"\n");
    let err = render_error(&chart_dir(&template, "depth: 6000\n"));
    assert!(
        err.contains(
            "rendering template has a nested reference name: a: unable to execute template"
        ),
        "{}",
        &err[err.len().saturating_sub(300)..]
    );
}

#[test]
fn template_nested_ten_thousand_and_one_parentheses_deep_is_refused() {
    let template = format!("{{{{ {}1{} }}}}\n", "(".repeat(10_001), ")".repeat(10_001));
    let err = render_error(&chart_dir(&template, ""));
    assert!(err.contains("max expression depth exceeded"), "{err}");
    let template = format!(
        "{}x{}\n",
        "{{ if true }}".repeat(10_001),
        "{{ end }}".repeat(10_001)
    );
    let err = render_error(&chart_dir(&template, ""));
    assert!(err.contains("max expression depth exceeded"), "{err}");
}

#[test]
fn until_a_hundred_million_is_refused_instead_of_allocating_gigabytes() {
    let template = "n: \"{{ len (until 100000000) }}\"\n";
    let err = render_error(&chart_dir(template, ""));
    assert!(
        err.contains("100000000 items are more than the 1000000 a list may be built with"),
        "{err}"
    );
    let template = "n: \"{{ repeat 100000000 \"xx\" | len }}\"\n";
    let err = render_error(&chart_dir(template, ""));
    assert!(
        err.contains("a string of 200000000 bytes is more than the 16777216"),
        "{err}"
    );
}

#[test]
fn values_schema_referring_to_itself_is_an_error_not_a_stack_overflow() {
    let dir = chart_dir("a: b\n", "x: 1\n");
    std::fs::write(dir.path().join("values.schema.json"), r##"{"$ref": "#"}"##).unwrap();
    let err = render_error(&dir);
    assert!(err.contains("(reference cycle)"), "{err}");
}

#[test]
fn set_with_a_huge_index_or_a_deep_key_is_refused() {
    let dir = chart_dir("a: b\n", "");
    let mut options = helm::HelmOptions::default();
    options.set = vec!["a[99999999999]=1".to_owned()];
    let err = helm::render_chart(dir.path(), &options)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("index of 99999999999 is greater than maximum supported index of 65536"),
        "{err}"
    );
    let mut into = serde_json::Map::new();
    let deep = format!("{}=1", vec!["a"; 60_000].join("."));
    let err = helm::set_value(&deep, &mut into, false).unwrap_err();
    assert!(
        err.contains("maximum supported nested level of 30"),
        "{err}"
    );
}

/// A chain of `depth` kustomizations, each including the next; the last one has a ConfigMap.
fn overlay_chain(depth: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..depth {
        let level = dir.path().join(format!("l{i}"));
        std::fs::create_dir(&level).unwrap();
        std::fs::write(
            level.join("kustomization.yaml"),
            format!("resources:\n- ../l{}\n", i + 1),
        )
        .unwrap();
    }
    let base = dir.path().join(format!("l{depth}"));
    std::fs::create_dir(&base).unwrap();
    std::fs::write(base.join("kustomization.yaml"), "resources:\n- cm.yaml\n").unwrap();
    std::fs::write(
        base.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
    )
    .unwrap();
    dir
}

#[test]
fn kustomize_overlay_chain_two_thousand_deep_builds_as_kustomize_builds_it() {
    let chain = overlay_chain(2_000);
    let objects =
        kustomize::build(&chain.path().join("l0"), &kustomize::Options::default()).unwrap();
    assert_eq!(objects.len(), 1);
}

#[test]
fn kustomize_overlay_chain_deeper_than_ten_thousand_is_refused() {
    let chain = overlay_chain(10_001);
    let err = kustomize::build(&chain.path().join("l0"), &kustomize::Options::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("l10000/kustomization.yaml: resources[0]: `../l10001`: kustomizations are nested more than 10000 deep"),
        "{err}"
    );
}

#[test]
fn helm_release_values_from_target_path_sixty_thousand_deep_or_with_a_huge_index_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let deep = vec!["a"; 60_000].join(".");
    let units = format!(
        r"
apiVersion: v1
kind: ConfigMap
metadata: {{name: v, namespace: flux-system}}
data: {{v: x}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: deep, namespace: flux-system}}
spec:
  chart: {{spec: {{chart: ./chart, sourceRef: {{kind: GitRepository, name: flux-system}}}}}}
  valuesFrom: [{{kind: ConfigMap, name: v, valuesKey: v, targetPath: {deep}}}]
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: wide, namespace: flux-system}}
spec:
  chart: {{spec: {{chart: ./chart, sourceRef: {{kind: GitRepository, name: flux-system}}}}}}
  valuesFrom: [{{kind: ConfigMap, name: v, valuesKey: v, targetPath: 'a[99999999999]'}}]
"
    );
    std::fs::create_dir_all(root.join("clusters/x")).unwrap();
    std::fs::write(root.join("clusters/x/units.yaml"), units).unwrap();
    let chart = chart_dir("a: b\n", "");
    std::fs::rename(chart.path(), root.join("chart")).unwrap();
    let discovery = gitops_render::repo::discover(
        root,
        "clusters/x",
        &gitops_render::repo::RepoOptions::default(),
    );
    let error = |name: &str| {
        let unit = discovery
            .units
            .iter()
            .find(|d| d.unit.id.name == name)
            .unwrap_or_else(|| panic!("no unit {name}"));
        match unit.output.as_ref() {
            Some(Err(e)) => e.clone(),
            other => panic!("{name} rendered: {other:?}"),
        }
    };
    assert_eq!(
        error("deep"),
        "spec.valuesFrom: ConfigMap/v key `v`: value name nested level is greater than maximum \
         supported nested level of 30"
    );
    assert_eq!(
        error("wide"),
        "spec.valuesFrom: ConfigMap/v key `v`: index of 99999999999 is greater than maximum \
         supported index of 65536"
    );
}
