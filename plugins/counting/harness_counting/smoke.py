"""How a smoke run shrinks this plugin's own config keys (read by
:func:`harness.testing.shrink_options` for every config that imports the plugin): the core
shrinks every ``size`` to at most 16, so the crop's tiles are 8 pixels and fc6 is built for
their (padded) map."""

SHRINK_RULES = {
    'tile_size': lambda v: min(v, 8),
}
