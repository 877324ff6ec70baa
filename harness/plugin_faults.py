"""Where a plugin broke: the plugin's own file and line of an exception, and its modules'
syntax checked without importing them.

A plugin is found through its entry point's module; its *root* is the folder of that module's
top-level package (the file itself for a plugin that is one module). An exception raised while
loading the plugin, calling its hooks or importing its model modules is described in one line
with the deepest frame of the traceback that lies inside the root (the plugin's own code, not
importlib's or pluggy's frames); a SyntaxError carries its file and line itself::

    SyntaxError: invalid syntax (/abs/path/harness_barlow/plugin.py, line 12)
    ModuleNotFoundError: No module named 'lightly' (/abs/path/harness_barlow/model.py, line 3)

:func:`syntax_error` compiles every Python file under the root that has no valid cached
bytecode (what the import system checks), so ``harness list`` finds a model module that would
not import, although it imports no model module (no torch).
"""
from __future__ import annotations

import importlib.util
import traceback
from pathlib import Path
from typing import Iterator


def plugin_root(module_name: str) -> Path | None:
    """The folder of ``module_name``'s top-level package, or the module's file for a top-level
    module; found without importing it (None when it cannot be found). A namespace package
    (no ``__init__.py``, shared by several distributions) gives the folder of the module's own
    package instead."""
    parts = module_name.split('.')
    try:
        spec = importlib.util.find_spec(parts[0])
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    if spec.origin and spec.origin not in ('namespace', 'built-in', 'frozen') and \
            Path(spec.origin).exists():
        return Path(spec.origin).resolve().parent if locations else Path(spec.origin).resolve()
    for location in locations:  # a namespace package: the module's own package in it
        base = Path(location).joinpath(*parts[1:-1])
        if len(parts) > 2 and base.is_dir():
            return base.resolve()
        for candidate in (base / parts[-1], base / f'{parts[-1]}.py'):
            if len(parts) == 2 and candidate.exists():
                return candidate.resolve()
    return None


def _inside(filename: str, root: Path | None) -> bool:
    if root is None or not filename or filename.startswith('<'):
        return False
    try:
        path = Path(filename).resolve()
    except OSError:
        return False
    return path == root or root in path.parents


def error_site(exc: BaseException, root: Path | None = None) -> tuple[str, int] | None:
    """``(file, line)`` where ``exc`` broke the plugin under ``root``: a SyntaxError's own file
    and line, else the deepest traceback frame inside ``root``, else (no frame there, or no
    root) the deepest frame; None without a traceback."""
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        return str(Path(exc.filename).resolve()) if not exc.filename.startswith('<') \
            else exc.filename, exc.lineno
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [frame for frame in frames if _inside(frame.filename, root)]
    frame = (inside or frames or [None])[-1]
    if frame is None:
        return None
    return frame.filename, frame.lineno


def describe(exc: BaseException, root: Path | None = None) -> str:
    """One line: ``Type: message (file, line N)``, the place by :func:`error_site`."""
    site = error_site(exc, root)
    if isinstance(exc, SyntaxError):  # its str() names the file without its folder
        message = exc.msg or 'invalid syntax'
    else:
        message = ' '.join(str(exc).split())
    where = f' ({site[0]}, line {site[1]})' if site else ''
    return f'{type(exc).__name__}: {message}{where}' if message else \
        f'{type(exc).__name__}{where}'


def _python_files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob('*.py')):
        if '__pycache__' not in path.parts:
            yield path


def _bytecode_current(path: Path) -> bool:
    """Whether ``path`` has cached bytecode the import system would use (so it compiled)."""
    try:
        stat = path.stat()
        with open(importlib.util.cache_from_source(str(path)), 'rb') as cached:
            header = cached.read(16)
    except (OSError, ValueError, NotImplementedError):
        return False
    return (len(header) == 16 and header[:4] == importlib.util.MAGIC_NUMBER
            and int.from_bytes(header[4:8], 'little') == 0
            and int.from_bytes(header[8:12], 'little') == int(stat.st_mtime) & 0xFFFFFFFF
            and int.from_bytes(header[12:16], 'little') == stat.st_size & 0xFFFFFFFF)


def syntax_error(root: Path | None) -> SyntaxError | None:
    """The first SyntaxError of a Python file under ``root`` (compiled, not imported: no
    module code runs), or None. Files whose cached bytecode is current are not compiled again."""
    if root is None or not root.exists():
        return None
    for path in _python_files(root):
        if _bytecode_current(path):
            continue
        try:
            compile(path.read_bytes(), str(path), 'exec', dont_inherit=True)
        except SyntaxError as exc:
            return exc
        except (OSError, ValueError):  # unreadable, or null bytes: the import reports it
            continue
    return None
