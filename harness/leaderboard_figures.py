"""One figure per leaderboard table (SVG), written beside the markdown by ``harness
leaderboard render`` (:func:`harness.leaderboard.render`).

A figure has one panel per metric of its table and one line per row, in the table's order. A
reproduced row is its mean with its std as an error bar and its per-seed values as small crosses;
a reported row (a paper's number) is a diamond; a reference row (random init, any variant) is
grey. The SVG is a pure function of the table: matplotlib's default style plus :data:`STYLE`
(a fixed ``svg.hashsalt`` for the ids, text kept as text), no date or version written, so
unchanged records give the same bytes. matplotlib is imported here only, when a figure is drawn.
"""

from __future__ import annotations

import io
from pathlib import Path

from harness.io import atomic_write_bytes
from harness.leaderboard import Table, metric_names

#: Reference rows: the methods registered as ``MethodInfo.reference`` (random init, with or
#: without a variant such as bn_calibrated). The board is a function of the records alone, so
#: they are named here rather than looked up in the plugins.
REFERENCE_METHODS = frozenset({'random'})

STYLE = {
    'svg.hashsalt': 'ssl-harness-leaderboard',
    'svg.fonttype': 'none',  # text as <text>: small, searchable, no glyph outlines
    'font.family': 'DejaVu Sans',
    'font.size': 9,
    'axes.grid': True,
    'axes.grid.axis': 'x',
    'axes.axisbelow': True,
    'grid.alpha': 0.4,
}
#: How each kind of row is drawn, and its legend entry.
KINDS = {
    'reproduced': dict(color='#1f77b4', marker='o', label='reproduced: mean ± std'),
    'reference': dict(color='#7f7f7f', marker='s',
                      label='reference (random init): mean ± std'),
    'reported': dict(color='#d62728', marker='D', label='reported (paper)'),
}
SEED_LABEL = 'one seed'


def row_kind(record: dict) -> str:
    if record['source'] == 'reported':
        return 'reported'
    return 'reference' if record['method']['name'] in REFERENCE_METHODS else 'reproduced'


def row_labels(records: list[dict]) -> list[str]:
    """``method (variant) · backbone`` per row; a repeated label gets ``#2``, ``#3``..."""
    labels, seen = [], {}
    for record in records:
        label = record['method']['name']
        if record.get('variant'):
            label += f" ({record['variant']})"
        label = f"{label} · {record['backbone']['name']}"
        seen[label] = seen.get(label, 0) + 1
        labels.append(label if seen[label] == 1 else f'{label} #{seen[label]}')
    return labels


def _text(text: str) -> str:
    """Text drawn as written: a ``$`` starts no formula."""
    return text.replace('$', r'\$')


def _axis_label(metric: str, records: list[dict]) -> str:
    entry = next(r['metrics'][metric] for r in records if metric in r['metrics'])
    unit = f" ({entry['unit']})" if entry.get('unit') else ''
    better = 'higher' if entry['higher_is_better'] else 'lower'
    return f'{metric}{unit}, {better} is better'


def draw(table: Table) -> bytes:
    """The SVG of ``table``'s figure."""
    import matplotlib
    import matplotlib.style
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    records, metrics = table.records, metric_names(table.records) or ['(no metric)']
    kinds = [row_kind(record) for record in records]
    with matplotlib.style.context('default'), matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(1.5 + 3.0 * len(metrics), 1.2 + 0.3 * len(records)),
                        layout='constrained')
        axes = figure.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
        seeds = False
        for ax, metric in zip(axes, metrics):
            for y, (record, kind) in enumerate(zip(records, kinds)):
                entry = record['metrics'].get(metric)
                if entry is None:
                    continue
                style = KINDS[kind]
                per_seed = entry.get('per_seed') or {}
                if per_seed:
                    seeds = True
                    values = [per_seed[seed] for seed in sorted(per_seed)]
                    ax.plot(values, [y] * len(values), linestyle='none', marker='x',
                            markersize=4, color=style['color'], alpha=0.7)
                ax.errorbar(entry['value'], y, xerr=entry.get('std'), marker=style['marker'],
                            color=style['color'], markersize=5, capsize=3, linestyle='none')
            if metric in metric_names(records):
                ax.set_xlabel(_text(_axis_label(metric, records)))
        axes[0].set_yticks(range(len(records)), [_text(label) for label in row_labels(records)])
        axes[0].set_ylim(len(records) - 0.5, -0.5)  # first row on top, as in the table
        figure.suptitle(_text(f'{table.eval} / {table.protocol} ({table.part} data)'))
        handles = [Line2D([], [], linestyle='none', color=KINDS[kind]['color'],
                          marker=KINDS[kind]['marker'], label=KINDS[kind]['label'])
                   for kind in KINDS if kind in kinds]
        if seeds:
            handles.append(Line2D([], [], linestyle='none', color='#444444', marker='x',
                                  markersize=4, label=SEED_LABEL))
        columns = len(handles) if len(metrics) > 1 else 2  # as wide as the panels
        figure.legend(handles=handles, loc='outside lower center', ncols=columns,
                      frameon=False)
        buffer = io.BytesIO()
        figure.savefig(buffer, format='svg', bbox_inches='tight',
                       metadata={'Date': None, 'Creator': None})
    return buffer.getvalue()


def write_figures(tables: list[Table], folder) -> bool:
    """Write each table's figure into ``folder`` (only where its bytes changed) and remove the
    SVGs of tables that are gone (the folder too, once empty); True if anything changed."""
    folder = Path(folder)
    changed = False
    for table in tables:
        path, data = folder / table.figure, draw(table)
        if not (path.is_file() and path.read_bytes() == data):
            atomic_write_bytes(path, data)
            changed = True
    if folder.is_dir():
        wanted = {table.figure for table in tables}
        for path in sorted(folder.glob('*.svg')):
            if path.name not in wanted:
                path.unlink()
                changed = True
        if not any(folder.iterdir()):
            folder.rmdir()
    return changed
