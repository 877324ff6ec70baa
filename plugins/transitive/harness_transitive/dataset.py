"""Positive pairs of the Transitive Invariance graph for mmengine (docs/methods.md §4).

:class:`MinedPatchPairs` reads a list of videos (any layout the harness reads: it is built
from the same list file as every pretraining set), mines it once (:mod:`harness_transitive.
patches`, cached) and serves one positive pair per item: item ``i`` is patch ``i`` with a
partner drawn from the current pair graph. The graph starts as the intra-instance edges alone;
:class:`harness_transitive.hooks.TransitiveGraph` adds the inter-instance edges (and with them
the transitive pairs) once a first-stage network exists (:meth:`MinedPatchPairs.set_graph`).
The patches live in memory, so the loader needs no workers, and must have none: a worker's
copy of the dataset would never see the new graph.

:class:`SamplePatchPair` is the pipeline step that turns the two patches into views for the
model's ``AugmentViews`` preprocessor.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from harness.api import prepare_image, ViewSpec, VideoListDataset, DataError, DATASETS, TRANSFORMS
from harness_transitive.graph import KINDS, Edge, components, count_kinds, positive_pairs
from harness_transitive.patches import load_or_mine, mining_options


@DATASETS.register_module()
class MinedPatchPairs(VideoListDataset):
    """Positive patch pairs mined from the videos listed in ``ann_file`` (see the module doc).

    mining: options of the mining stage (:data:`harness_transitive.patches.MINING_DEFAULTS`).
    pairs: which pairs train the second stage: ``'all'`` (intra, inter and transitive),
    ``'intra'`` or ``'inter'`` alone (the paper's ablations). cache_dir: where mined patches
    are cached (default: a ``mined`` folder beside ``ann_file``).
    """

    def __init__(self, *args, mining: Mapping[str, Any] | None = None, pairs: str = 'all',
                 cache_dir: str | None = None, **kwargs):
        if pairs not in KINDS:
            raise ValueError(f"pairs must be one of {', '.join(KINDS)}, got {pairs!r}")
        self.mining, self.pairs, self.cache_dir = mining_options(mining), pairs, cache_dir
        self.patchset = None
        super().__init__(*args, **kwargs)

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        super().full_init()
        from mmengine.logging import print_log

        from harness.api import main_process_first

        videos = [self.get_data_info(i)['filename'] for i in range(super().__len__())]
        cache = Path(self.cache_dir) if self.cache_dir else Path(self.ann_file).parent / 'mined'
        with main_process_first():  # one process mines, the others read its cache
            self.patchset = load_or_mine(videos, self.mining, cache,
                                         log=lambda line: print_log(line, logger='current'))
        if not len(self.patchset):
            raise DataError(f'no moving patch was found in the {len(videos)} videos of '
                            f'{self.ann_file}; the transitive graph needs videos with motion')
        self.set_graph(None)

    def set_graph(self, inter: list[Edge] | None) -> dict[str, int]:
        """Train on the intra-instance edges alone (``inter`` None: the first stage), or on the
        configured ``pairs`` of the intra edges and the ``inter`` edges. Returns how many
        pairs of each kind there are."""
        intra = self.patchset.intra_edges
        pairs = positive_pairs(intra, [], kinds='intra') if inter is None else \
            positive_pairs(intra, inter, kinds=self.pairs)
        partners: dict[int, list[int]] = {}
        for a, b in sorted(pairs):
            partners.setdefault(a, []).append(b)
            partners.setdefault(b, []).append(a)
        if not partners:
            raise DataError(f'the transitive graph has no {self.pairs} pairs; mine more videos '
                            'or use pairs=all')
        self.partners, self.trainable = partners, sorted(partners)
        group = components(pairs)
        self.groups = np.array([group.get(node, -1 - node) for node in range(len(self))])
        self.inter = None if inter is None else list(inter)
        return count_kinds(pairs)

    def __len__(self) -> int:
        return len(self.patchset) if self.patchset is not None else super().__len__()

    def prepare_data(self, idx: int) -> Any:
        node = idx if idx in self.partners else self.trainable[idx % len(self.trainable)]
        choices = self.partners[node]
        partner = choices[np.random.randint(len(choices))]
        patches = self.patchset.patches
        return self.pipeline({'anchor': patches[node], 'positive': patches[partner],
                              'group': int(self.groups[node])})


@TRANSFORMS.register_module()
class SamplePatchPair:
    """mmengine transform: ``results['anchor']``, ``results['positive']`` (``uint8 [S, S,
    3]`` patches) and ``results['group']`` -> ``results['inputs'] = {'anchor': view,
    'positive': view, 'group': int}``, each view resized to its intermediate size with its
    augmentation parameters drawn (:func:`harness.data.images.prepare_image`) for the model's
    ``AugmentViews`` preprocessor. view: one :class:`~harness.data.views.ViewSpec` without
    ``frames`` (``size``, ``augment``, ``decode_size``)."""

    def __init__(self, view: Mapping[str, Any]):
        self.view = ViewSpec(frames=1, **dict(view))

    def __call__(self, results: dict) -> dict:
        results['inputs'] = {'anchor': prepare_image(results['anchor'], self.view),
                             'positive': prepare_image(results['positive'], self.view),
                             'group': results['group']}
        return results

    def random_inputs(self, batch_size: int) -> dict[str, Any]:
        """Random batched inputs shaped like the model receives them after augmentation (for
        model tests): every pair its own group."""
        size = self.view.size
        return {'anchor': torch.randn(batch_size, 3, size, size),
                'positive': torch.randn(batch_size, 3, size, size),
                'group': torch.arange(batch_size)}

    def __repr__(self) -> str:
        return f'{type(self).__name__}(view={self.view})'
