"""The second stage of Transitive Invariance (docs/methods.md §4): at iteration
``graph_iter`` the network trained so far on the intra-instance edges is the first-stage
self-supervised network; its features of every mined patch are clustered into many small
clusters (:func:`harness_transitive.graph.inter_edges`), which gives the inter-instance
edges, and the dataset trains from then on on the configured pairs (intra, inter and the
transitive pairs they imply).

The paper's first stage is a separate network (Doersch et al.'s context prediction); here
it is this network after its intra-edge stage (Wang & Gupta 2015's objective), so one run
needs nothing but videos. The edges are saved in the work dir, so a resumed run trains on
the same graph.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from harness.api import ConfigError, HOOKS

GRAPH_FILE = 'transitive_graph.json'


@HOOKS.register_module()
class TransitiveGraph(Hook):
    """Builds the inter-instance edges at ``graph_iter`` (see the module doc).

    cluster_size: the mean number of patches per k-means cluster. view_size: the side the
    patches are resized to before the network (the training views' size).
    """

    priority = 'NORMAL'

    def __init__(self, graph_iter: int, view_size: int, cluster_size: int = 4,
                 batch_size: int = 256):
        self.graph_iter, self.view_size = int(graph_iter), int(view_size)
        self.cluster_size, self.batch_size = int(cluster_size), int(batch_size)

    def before_train(self, runner) -> None:
        dataset = runner.train_dataloader.dataset
        if dataset.pairs == 'intra':
            return
        if runner.train_dataloader.num_workers:
            raise ConfigError('the transitive graph changes during training, which loader '
                              'workers would not see: set train_dataloader.num_workers=0 (the '
                              'patches are in memory; workers would not speed it up)')
        if self.graph_iter >= runner.max_iters:
            raise ConfigError(f'graph_iter={self.graph_iter} leaves no iteration of the '
                              f'{runner.max_iters} to train on the {dataset.pairs} pairs; '
                              'make it smaller than train_cfg.max_iters')
        saved = Path(runner.work_dir) / GRAPH_FILE
        if runner.iter > self.graph_iter and saved.is_file():  # resumed after the graph
            edges = [tuple(edge) for edge in json.loads(saved.read_text())['inter']]
            self._use(runner, edges, 'read from ' + str(saved))
        elif runner.iter > self.graph_iter:
            self._build(runner)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if runner.iter == self.graph_iter and \
                runner.train_dataloader.dataset.pairs != 'intra':
            self._build(runner)

    def _build(self, runner) -> None:
        from mmengine.dist import is_main_process

        from harness.api import atomic_write_text
        from harness_transitive.graph import inter_edges

        dataset = runner.train_dataloader.dataset
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        patches = torch.from_numpy(dataset.patchset.patches)
        features = model.describe(patches, self.view_size, self.batch_size)
        if not torch.isfinite(features).all():
            raise ConfigError(
                f'the features of the mined patches are not finite at iteration {runner.iter}: '
                'training diverged before the graph was built; lower the learning rate or '
                'build the graph earlier (graph_iter)')
        edges = inter_edges(features.numpy(), dataset.patchset.track,
                            cluster_size=self.cluster_size, seed=runner.seed or 0)
        if is_main_process():
            atomic_write_text(Path(runner.work_dir) / GRAPH_FILE,
                              json.dumps({'iter': runner.iter, 'inter': edges}))
        self._use(runner, edges, f'built from the features at iteration {runner.iter}')

    def _use(self, runner, edges, how: str) -> None:
        counts = runner.train_dataloader.dataset.set_graph(edges)
        runner.logger.info(f'transitive graph {how}: {len(edges)} inter-instance edges; '
                           f'training pairs: ' +
                           ', '.join(f'{kind} {n}' for kind, n in counts.items()))
