"""NYUv2 surface normals and depth for ssl-harness (docs/image-evals.md §4, docs/methods.md §6):
the ``nyuv2`` evaluator, its dense probe, data steps, metrics and losses."""
