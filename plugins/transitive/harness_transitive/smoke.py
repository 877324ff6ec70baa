"""How a smoke run shrinks this plugin's own config keys (read by
:func:`harness.testing.shrink_options` for every config that imports the plugin): the graph is
built at the first iteration, which a two-iteration run reaches."""

SHRINK_RULES = {
    'graph_iter': lambda v: 0,
}
