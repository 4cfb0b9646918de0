local lib = import 'lib.libsonnet';
{ a: lib.a, b: [x * 2 for x in std.range(1, 3)], c: std.format('%s', 'x'), d: importstr 'lib.libsonnet' }
