"""The plugin manager: loads entry-point group ``harness`` and collects what plugins register.

pluggy owns identity and hook calling; this module owns the rest: isolating plugins that fail to
import or break the hook contract (:mod:`harness.hookspecs`), blocking (``-p no:NAME``), explicit
loading (``-p module``), and duplicate detection.
Set ``HARNESS_DISABLE_PLUGIN_AUTOLOAD=1`` to load no entry points (then ``-p module`` loads
plugins one by one), as pytest does with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.metadata as metadata
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import pluggy

from harness import hookspecs
from harness.api import BackboneInfo, DatasetInfo, EvaluatorInfo, MethodInfo
from harness.errors import PluginError
from harness.plugin_faults import describe, error_site, plugin_root, syntax_error

GROUP = 'harness'
AUTOLOAD_ENV = 'HARNESS_DISABLE_PLUGIN_AUTOLOAD'

from harness import hookimpl  # noqa: E402,F401  (re-exported)

KINDS = {
    'method': ('harness_register_methods', MethodInfo),
    'backbone': ('harness_register_backbones', BackboneInfo),
    'evaluator': ('harness_register_evaluators', EvaluatorInfo),
    'dataset': ('harness_register_datasets', DatasetInfo),
}


@dataclass
class PluginRecord:
    """One plugin as the user sees it in ``harness plugins``."""

    name: str
    distribution: str | None
    version: str | None
    module: str
    registers: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None
    #: hookimpls of this plugin that match no hookspec (misspelt hooks); it is not loaded then
    unknown_hooks: list[str] = field(default_factory=list)
    #: the folder of the plugin's top-level package (its file for a one-module plugin)
    root: Path | None = None
    #: where it broke, in the plugin's own code (:mod:`harness.plugin_faults`), and the
    #: exception (``--debug`` shows its traceback)
    error_file: str | None = None
    error_line: int | None = None
    exception: BaseException | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        """``'name' (dist DIST)``, or ``'name'`` for a module loaded with ``-p``."""
        return f"'{self.name}' (dist {self.distribution})" if self.distribution else \
            f"'{self.name}'"

    def as_json(self) -> dict[str, Any]:
        return {'name': self.name, 'distribution': self.distribution, 'version': self.version,
                'module': self.module, 'registers': self.registers, 'error': self.error,
                'error_file': self.error_file, 'error_line': self.error_line}

    def fail(self, exc: BaseException, prefix: str = '') -> None:
        """Record ``exc`` as this plugin's load error: one line with the file and line of the
        plugin's own code where it broke."""
        self.exception = exc
        self.error = prefix + describe(exc, self.root)
        site = error_site(exc, self.root)
        self.error_file, self.error_line = site if site else (None, None)


@dataclass(frozen=True)
class Registered:
    """A registered component with the plugin that registered it."""

    info: Any
    plugin: PluginRecord

    @property
    def label(self) -> str:
        dist = self.plugin.distribution or self.plugin.module
        return f'{dist} {self.plugin.version}' if self.plugin.version else dist


def parse_plugin_options(options: Iterable[str]) -> tuple[set[str], list[str]]:
    """Split ``-p`` values into blocked names (``no:NAME``) and modules to load."""
    blocked, explicit = set(), []
    for option in options:
        if option.startswith('no:'):
            blocked.add(option[3:])
        else:
            explicit.append(option)
    return blocked, explicit


class PluginManager:
    """A typed facade over pluggy's manager; nothing else calls ``pm.hook`` untyped."""

    def __init__(self, plugin_options: Sequence[str] = (), *, autoload: bool | None = None,
                 entry_points: Iterable[metadata.EntryPoint] | None = None):
        self._pm = pluggy.PluginManager(GROUP)
        self._pm.add_hookspecs(hookspecs)
        self.plugins: list[PluginRecord] = []
        self.blocked, explicit = parse_plugin_options(plugin_options)
        if autoload is None:
            autoload = not os.environ.get(AUTOLOAD_ENV)
        if autoload:
            if entry_points is None:
                entry_points = metadata.entry_points(group=GROUP)
            for entry_point in sorted(entry_points, key=lambda ep: ep.name):
                self._load_entry_point(entry_point)
        for module in explicit:
            self._load_module(module)
        self._reject_unknown_hooks()
        self._components: dict[str, dict[str, Registered]] | None = None
        self._sources_checked = False

    # -- loading ---------------------------------------------------------------------------
    def _load_entry_point(self, entry_point: metadata.EntryPoint) -> None:
        dist = getattr(entry_point, 'dist', None)
        record = PluginRecord(entry_point.name, dist.name if dist else None,
                              dist.version if dist else None, entry_point.value)
        if entry_point.name in self.blocked:
            return
        self.plugins.append(record)
        record.root = plugin_root(entry_point.module)
        try:
            module = entry_point.load()
        except Exception as exc:  # a broken plugin must not take the others down
            record.fail(exc)
            return
        self._register(record, module)

    def _load_module(self, module_name: str) -> None:
        record = PluginRecord(module_name, None, None, module_name)
        self.plugins.append(record)
        record.root = plugin_root(module_name)
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            record.fail(exc)
            return
        self._register(record, module)

    def _register(self, record: PluginRecord, module: Any) -> None:
        if self._pm.is_registered(module) or self._pm.has_plugin(record.name):
            record.error = f'already loaded under another name ({module.__name__})'
            return
        try:
            self._pm.register(module, name=record.name)
        except Exception as exc:  # e.g. a hookimpl that does not match its spec
            record.fail(exc)

    def _reject_unknown_hooks(self) -> None:
        """Unload each plugin with a hookimpl that matches no hookspec, recording why.

        pluggy's ``check_pending`` raises for the first such hookimpl of any plugin; a plugin
        with a misspelt hook is broken (a misspelt lifecycle hook would silently never run), but
        like a plugin that fails to import it must not take the others down: so it is
        unregistered and the check repeated until every remaining hookimpl has its spec.
        """
        by_name = {p.name: p for p in self.plugins}
        while True:
            try:
                self._pm.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                plugin = exc.plugin
            record = by_name[self._pm.get_name(plugin)]
            record.unknown_hooks = sorted(
                caller.name for caller in self._pm.get_hookcallers(plugin) or ()
                if not caller.has_spec() and any(impl.plugin is plugin and not impl.optionalhook
                                                 for impl in caller.get_hookimpls()))
            first = record.unknown_hooks[0]
            more = len(record.unknown_hooks) - 1
            record.error = (f'{first!r} is no harness hook; {_hook_hint(first)}'
                            + (f' (and {more} more unknown hook{"s" * (more > 1)})'
                               if more else ''))
            code = getattr(getattr(plugin, first, None), '__code__', None)
            if code is not None:  # where the misspelt hook is defined
                record.error_file, record.error_line = code.co_filename, code.co_firstlineno
            self._pm.unregister(plugin)

    def check_hooks(self) -> None:
        """Raise a one-line PluginError if a plugin implements a hook that does not exist (a
        run must not go on without it: a misspelt lifecycle hook would silently not run)."""
        for plugin in self.plugins:
            if plugin.unknown_hooks:
                hook = plugin.unknown_hooks[0]
                raise PluginError(f'plugin {plugin.label} implements {hook!r}, which is no '
                                  f'harness hook; {_hook_hint(hook)}')

    # -- registration ----------------------------------------------------------------------
    @property
    def components(self) -> dict[str, dict[str, Registered]]:
        if self._components is None:
            self._components = self._collect()
        return self._components

    def _collect(self) -> dict[str, dict[str, Registered]]:
        found: dict[str, dict[str, Registered]] = {kind: {} for kind in KINDS}
        for kind, (hook_name, info_type) in KINDS.items():
            for plugin, items in self._registered_by_plugin(hook_name, info_type):
                for item in items:
                    previous = found[kind].get(item.name)
                    entry = Registered(item, plugin)
                    if previous is not None:
                        raise PluginError(
                            f"{kind} '{item.name}' is registered by two plugins: "
                            f'{previous.label} and {entry.label}; uninstall one, or block one '
                            f'with -p no:{plugin.name}')
                    found[kind][item.name] = entry
                    plugin.registers.setdefault(kind, []).append(item.name)
        return found

    def _registered_by_plugin(self, hook_name: str, info_type: type
                              ) -> Iterator[tuple[PluginRecord, list[Any]]]:
        """``(plugin, what it registered)`` for each plugin implementing ``hook_name``, in
        registration order; a plugin whose hook raises or registers something other than an
        ``info_type`` gets that as its error and is passed over.

        The hook is called through pluggy (argument checks, tracing), but once per plugin: one
        ``pm.hook.NAME(register=...)`` call would stop at the first plugin that raises and could
        not tell which plugin registered what, so each call goes to a subset hook caller that
        holds one plugin's hookimpl only.
        """
        by_name = {p.name: p for p in self.plugins}
        hook = getattr(self._pm.hook, hook_name)
        impls = list(reversed(hook.get_hookimpls()))  # pluggy keeps them last-registered first
        for impl in impls:
            plugin = by_name[impl.plugin_name]
            if plugin.error:
                continue
            others = [other.plugin for other in impls if other is not impl]
            items: list[Any] = []
            try:
                self._pm.subset_hook_caller(hook_name, others)(register=items.append)
                for item in items:
                    if not isinstance(item, info_type):
                        raise TypeError(f'{hook_name} registered {item!r}, '
                                        f'expected a {info_type.__name__}')
            except Exception as exc:
                plugin.fail(exc)
                continue
            yield plugin, items

    def get(self, kind: str, name: str) -> Registered:
        """The registered ``kind`` called ``name``; an unknown name raises a one-line
        PluginError naming the closest registered names."""
        table = self.components[kind]
        if name in table:
            return table[name]
        failed = [p for p in self.plugins if p.error]
        if failed:  # the name may be one the broken plugin would have registered
            first = _likeliest(failed, name)
            more = len(failed) - 1
            also = (f" (and {more} more plugin{'s' * (more > 1)} failed: see 'harness list')"
                    if more else '')
            raise PluginError(f"plugin {first.label} failed to load: {first.error}; {kind} "
                              f"'{name}' is not registered (is it that plugin's?){also}"
                              ) from first.exception
        close = difflib.get_close_matches(name, list(table), n=3, cutoff=0.4)
        hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else \
            f"known: {', '.join(sorted(table)) or 'none'}."
        raise PluginError(f"unknown {kind} '{name}'; {hint} (see 'harness list')")

    def load_errors(self) -> list[PluginRecord]:
        """The plugins that failed: to import, to register, by a misspelt hook, or by a module
        of their package that does not compile (checked here, without importing it)."""
        self.components  # registration errors surface here too
        if not self._sources_checked:
            self._sources_checked = True
            for plugin in self.plugins:
                if not plugin.error:
                    broken = syntax_error(plugin.root)
                    if broken is not None:
                        plugin.fail(broken)
        return [p for p in self.plugins if p.error]

    def plugin_of(self, module: str, default: PluginRecord | None = None
                  ) -> PluginRecord | None:
        """The plugin whose package holds ``module`` (by its root), else ``default``."""
        spec = None
        try:
            spec = importlib.util.find_spec(module)
        except Exception:  # noqa: BLE001 - its package does not import: no spec to go by
            pass
        origin = Path(spec.origin).resolve() if spec and spec.origin and \
            spec.origin not in ('namespace', 'built-in', 'frozen') else None
        root = plugin_root(module) if origin is None else None  # found without importing
        for plugin in self.plugins:
            if plugin.root is None:
                continue
            if origin is not None and (origin == plugin.root or plugin.root in origin.parents):
                return plugin
            if root is not None and root == plugin.root:
                return plugin
        return default

    def import_modules(self, modules: Iterable[str], owner: PluginRecord | None = None) -> None:
        """Import ``modules`` (the model modules a run's configs and components name); one
        that fails is its plugin's failure (the plugin whose package holds it, else
        ``owner``): a one-line PluginError naming the plugin, the module and the file and
        line where it broke, raised from the import's exception. A module that is not there at
        all is passed over: the config check names the config key that names it."""
        for module in modules:
            try:
                if importlib.util.find_spec(module) is None:
                    continue
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name is not None and (module == exc.name or
                                             module.startswith(f'{exc.name}.')):
                    continue  # the module itself (or its package) is missing, not broken
                self._import_failed(module, owner, exc)
            except Exception as exc:
                self._import_failed(module, owner, exc)

    def _import_failed(self, module: str, owner: PluginRecord | None,
                       exc: BaseException) -> None:
        """Raise the failed import of ``module`` as its plugin's failure (recorded on it)."""
        plugin = self.plugin_of(module, owner)
        message = f'module {module} failed to import: {describe(exc, plugin and plugin.root)}'
        if plugin is None:
            raise PluginError(message) from exc
        plugin.fail(exc, prefix=f'module {module} failed to import: ')
        raise PluginError(f'plugin {plugin.label}: {message}') from exc

    # -- lifecycle hooks (typed) -----------------------------------------------------------
    def run_start(self, run: Any) -> None:
        self._pm.hook.harness_run_start(run=run)

    def pretrain_end(self, run: Any, backbone_weights: str, reused: bool) -> None:
        self._pm.hook.harness_pretrain_end(run=run, backbone_weights=backbone_weights,
                                           reused=reused)

    def record_written(self, run: Any, record: dict, path: Any) -> None:
        self._pm.hook.harness_record_written(run=run, record=record, path=path)


def _hook_hint(name: str) -> str:
    """``did you mean 'NAME'?`` with the closest hookspec, or where the hooks are listed."""
    hooks = [n for n in vars(hookspecs) if n.startswith('harness_')]
    close = difflib.get_close_matches(name, hooks, n=1, cutoff=0.6)
    return f'did you mean {close[0]!r}?' if close else \
        'the hooks are listed in harness/hookspecs.py'


def _likeliest(failed: Sequence[PluginRecord], name: str) -> PluginRecord:
    """The failed plugin whose name or distribution is closest to ``name`` (the first when
    none is close)."""
    def closeness(plugin: PluginRecord) -> float:
        return max(difflib.SequenceMatcher(None, name, label).ratio()
                   for label in (plugin.name, plugin.distribution or plugin.module))

    return max(failed, key=closeness)
