// 10,000 objects: 5,000 ConfigMaps and 5,000 Deployments built from shared templates with
// string concatenation, object composition and comprehensions, as a generated app-of-apps would.
local labels(i) = { app: 'app-' + i, tier: ['web', 'api', 'worker'][i % 3], team: 'team-' + (i % 17) };
local configMap(i) = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'config-' + i, namespace: 'ns-' + (i % 20), labels: labels(i) },
  data: { ['key-' + k]: std.toString(i * k) for k in std.range(0, 4) },
};
local deployment(i) = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'app-' + i, namespace: 'ns-' + (i % 20), labels: labels(i) },
  spec: {
    replicas: 1 + i % 3,
    selector: { matchLabels: labels(i) },
    template: {
      metadata: { labels: labels(i) },
      spec: {
        containers: [{
          name: 'main',
          image: 'registry.example/app:' + (i % 5) + '.' + (i % 7) + '.' + (i % 11),
          ports: [{ containerPort: 8080 + p } for p in std.range(0, 1)],
          env: [{ name: 'INDEX', value: std.toString(i) }, { name: 'MODE', value: 'on' }],
        }],
      },
    },
  },
};
std.flattenArrays([[configMap(i), deployment(i)] for i in std.range(0, 4999)])
