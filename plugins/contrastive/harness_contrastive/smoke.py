"""How a smoke run shrinks this plugin's own config keys (read by
:func:`harness.testing.shrink_options` for every config that imports the plugin): the MoCo
queue, and the frames VideoMoCo's generator drops (fewer than the shrunk clip's 4)."""

SHRINK_RULES = {
    'queue_size': lambda v: min(v, 8),
    'drop': lambda v: min(v, 1),
}
