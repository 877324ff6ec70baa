"""ssl-harness: compare self-supervised visual representation learning methods on equal terms.

Plugins implement the hooks of :mod:`harness.hookspecs`, marked with :data:`hookimpl`.
"""
import pluggy

__version__ = '0.1.0'

#: Marker for plugin hook implementations: ``@harness.hookimpl``.
hookimpl = pluggy.HookimplMarker('harness')
