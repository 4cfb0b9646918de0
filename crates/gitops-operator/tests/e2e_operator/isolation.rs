//! Render isolation (issue 19): a hostile commit fails its own unit with a condition that says
//! which bound it hit, and every other unit of the same operator keeps reconciling.

use super::*;

/// Jsonnet that builds a 3-billion-character string while evaluating (only its length is
/// written out, so the output limit never sees it): no memory budget holds it.
const MEMORY_BOMB: &str = "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bomb' },\n\
                           data: { n: std.toString(std.length(std.join('',\n\
                             std.makeArray(300000000, function(i) 'xxxxxxxxxx')))) } }\n";

/// Jsonnet that runs far longer than the render deadline in little memory (the range is lazy).
const ENDLESS: &str = "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'spin' },\n\
                         data: { n: std.toString(std.foldl(function(a, x) a + 1,\n\
                           std.range(1, 2000000000), 0)) } }\n";

#[tokio::test]
async fn hostile_commits_fail_their_units_while_a_healthy_unit_keeps_reconciling() {
    let good = configmap_yaml("good", "one");
    let mut world = World::new(
        "op-isolate",
        &[
            ("good/cm.yaml", &good),
            ("bomb/main.jsonnet", MEMORY_BOMB),
            ("spin/main.jsonnet", ENDLESS),
        ],
    )
    .await;
    world.operator = Some(Operator::start_with(
        world.name(),
        "gitops-operator",
        &[
            "--lease-duration",
            "4s",
            "--http-addr",
            "127.0.0.1:0",
            "--render-timeout",
            "8s",
            "--render-memory-mib",
            "1536",
        ],
    ));
    world.create_source("1s").await;
    for name in ["good", "bomb", "spin"] {
        world
            .create_unit(name, json!({"path": format!("./{name}"), "interval": "1m"}))
            .await;
    }
    let units = world.units();
    for (name, expected) in [
        ("bomb", "more memory than its 1536 MiB budget"),
        ("spin", "longer than its 8s limit"),
    ] {
        let message = eventually(&format!("unit {name} Ready=False"), LONG, || async {
            let unit = units.get(name).await?;
            let status = unit.status.unwrap_or_default();
            Ok(ready(&status.conditions)
                .filter(|c| c.status.as_str() == "False" && c.reason == "BuildFailed")
                .map(|c| c.message.clone()))
        })
        .await
        .unwrap();
        assert!(message.contains(expected), "{name}: {message}");
    }
    world.ready_at("good", &world.head()).await;
    // The operator survived both and still follows new commits.
    let second = world.commit(&[("good/cm.yaml", Some(&configmap_yaml("good", "two")))]);
    world.ready_at("good", &second).await;
    assert_eq!(world.configmap_data("good").await.as_deref(), Some("two"));
    drop(world.operator.take());
}
