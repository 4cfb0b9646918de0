//! `gitops build CHART` against the `helm template` goldens of the corpus
//! (`../shared/corpus/helm/pkg/cmd/testdata/template-cases.yaml`), skipped when absent. Every
//! case runs; those expecting an error must fail, the others must print the golden exactly.

#[test]
fn helm_template_goldens_pass() {
    let Some(cmd_dir) = gitops_testenv::corpus::path("helm/pkg/cmd") else {
        return;
    };
    let cases = std::fs::read_to_string(cmd_dir.join("testdata/template-cases.yaml")).unwrap();
    let doc = gitops_core::yaml::parse_value(&cases, gitops_core::yaml::Schema::Yaml12).unwrap();
    let (mut pass, mut failures) = (0, Vec::new());
    let list = doc["cases"].as_array().unwrap();
    for case in list {
        let name = case["name"].as_str().unwrap();
        let args: Vec<String> = case["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gitops"));
        // `helm template` = `gitops build`; with no chart, ours must fail as Helm does.
        cmd.arg("build")
            .args(args.get(1..).unwrap_or_default())
            .current_dir(&cmd_dir)
            .env_remove("RUST_LOG");
        // The Go test harness renders with Kubernetes v1.20.0 unless told otherwise.
        if !args.iter().any(|a| a == "--kube-version") {
            cmd.args(["--kube-version", "1.20.0"]);
        }
        let out = cmd.output().unwrap();
        let want_error = case["wantError"].as_bool().unwrap_or(false);
        let golden = std::fs::read_to_string(cmd_dir.join(case["golden"].as_str().unwrap()))
            .unwrap_or_default();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let ok = if want_error {
            !out.status.success()
        } else {
            out.status.success() && stdout == golden
        };
        if ok {
            pass += 1;
        } else {
            failures.push(format!(
                "{name}: exit {:?}\n--- want\n{golden}\n--- got\n{stdout}{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    println!("helm template goldens: {pass}/{} pass", list.len());
    assert_eq!(pass + failures.len(), list.len(), "every case runs");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
