"""How a smoke run shrinks this plugin's own config keys (read by
:func:`harness.testing.shrink_options` for every config that imports the plugin): the graph is
built at the first iteration, which a two-iteration run reaches; the flattened head is built
for the views' shrunk size (the core shrinks every ``size`` to at most 16)."""

SHRINK_RULES = {
    'graph_iter': lambda v: 0,
    'input_size': lambda v: min(v, 16),
}
