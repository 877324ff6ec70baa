"""Transitive Invariance: the triplet ranking loss against hand-worked cases (hard-negative
selection included) and the transitive graph."""
from __future__ import annotations

import math

import pytest
import torch

from harness_transitive.graph import components, count_kinds, positive_pairs
from harness_transitive.losses import select_negatives, triplet_ranking_loss


def at(*degrees):
    """Unit 2-d features at the given angles."""
    return torch.tensor([[math.cos(math.radians(d)), math.sin(math.radians(d))]
                         for d in degrees])


def test_loss_by_hand():
    """Pair 0: a at 0, p at 60 degrees (s(a,p) = 0.5); pair 1: two samples at 90 degrees
    (s = 1), another group. Margin 1, neg_num 4, so the sum is divided by 2 * 4 * 2 = 16.
    - pair 0's candidates, both at 90: s(a,n) = 0, violation 0 - 0.5 + 1 = 0.5 > 0, so both are
      taken; each costs max(0, 0 - 0.5 + 1) = 0.5 from the anchor and
      max(0, cos 30 - 0.5 + 1) = 1.366 from the positive;
    - pair 1's candidates: sample 0 (s = cos 90 = 0: violation 0 - 1 + 1 = 0, not taken) and
      sample 1 (s = cos 30: taken), costing cos 30 - 1 + 1 from each end."""
    features, groups = at(0, 60, 90, 90), torch.tensor([0, 0, 1, 1])
    assert float(triplet_ranking_loss(features[:2], groups[:2])) == 0.0  # no other group
    cos30 = math.cos(math.radians(30))
    expected = (2 * (0.5 + (cos30 - 0.5 + 1)) + 2 * cos30) / 16
    loss = triplet_ranking_loss(features, groups, margin=1.0)
    assert float(loss) == pytest.approx(expected, abs=1e-6)


def test_negatives_are_the_margin_violators_of_other_groups():
    features = at(0, 10, 5, 100, 170, 180)
    groups = torch.tensor([0, 0, 0, 1, 2, 2])
    unit = torch.nn.functional.normalize(features, dim=1)
    mask = select_negatives(unit @ unit.t(), groups, margin=0.2)
    # pair 0 (0 and 10 degrees, s = 0.985): sample 2 shares its group; 100 degrees has
    # s = -0.17 -> violation -0.17 - 0.985 + 0.2 < 0: not a violator; 170/180 neither
    assert mask[0].tolist() == [False] * 6
    mask = select_negatives(unit @ unit.t(), groups, margin=2.0)  # everything violates
    assert mask[0].tolist() == [False, False, False, True, True, True]


def test_with_more_violators_than_neg_num_half_are_hard_and_half_random():
    """Anchor at 0, positive at 0; negatives of other groups at 10, 20, ..., 90 degrees, all
    violating a margin of 2. neg_num 4: the hard pool is the 4 most similar (10-40 degrees),
    2 are drawn from it; 2 more from the other 7 left."""
    features = at(0, 0, *range(10, 100, 10))
    groups = torch.tensor([0, 0] + list(range(1, 10)))
    unit = torch.nn.functional.normalize(features, dim=1)
    hard_pool = {2, 3, 4, 5}
    seen_random = set()
    for seed in range(30):
        generator = torch.Generator().manual_seed(seed)
        mask = select_negatives(unit @ unit.t(), groups, margin=2.0, neg_num=4,
                                generator=generator)[0]
        chosen = set(torch.nonzero(mask).flatten().tolist())
        assert len(chosen) == 4 and len(chosen & hard_pool) >= 2
        seen_random |= chosen - hard_pool
    assert seen_random == set(range(6, 11))  # the random half reaches every other violator
    only_hard = select_negatives(unit @ unit.t(), groups, margin=2.0, neg_num=4,
                                 hard_ratio=1.0, rand_ratio=0.0)[0]
    assert set(torch.nonzero(only_hard).flatten().tolist()) == hard_pool


def test_the_loss_trains_pairs_together_and_groups_apart():
    torch.manual_seed(0)
    features = torch.randn(8, 16, requires_grad=True)
    groups = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    optimizer = torch.optim.SGD([features], lr=0.5)
    losses = []
    for step in range(40):
        loss = triplet_ranking_loss(features, groups, margin=0.5,
                                    generator=torch.Generator().manual_seed(step))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.2 * losses[0]


def test_transitivity_adds_the_cross_pairs_of_an_inter_edge():
    intra = [(1, 2), (3, 4)]     # A=1 tracked to A'=2; B=3 tracked to B'=4
    inter = [(1, 3)]             # A and B look alike
    pairs = positive_pairs(intra, inter)
    assert pairs == {(1, 2): 'intra', (3, 4): 'intra', (1, 3): 'inter',
                     (2, 4): 'transitive', (1, 4): 'transitive', (2, 3): 'transitive'}
    assert count_kinds(pairs) == {'intra': 2, 'inter': 1, 'transitive': 3}
    assert set(positive_pairs(intra, inter, kinds='intra')) == {(1, 2), (3, 4)}
    assert set(positive_pairs(intra, inter, kinds='inter')) == {(1, 3)}
    assert components(pairs) == {1: 1, 2: 1, 3: 1, 4: 1}
    assert components(positive_pairs(intra, inter, kinds='intra')) == {1: 1, 2: 1, 3: 3, 4: 3}
    with pytest.raises(ValueError, match='kinds must be one of'):
        positive_pairs(intra, inter, kinds='both')


# ----------------------------------------------------------------------- mining intra edges


def moving_patch_video(frames=8, size=64, step=2, start=(10, 24), side=16, seed=0):
    """A textured square moving ``step`` pixels right per frame over a still textured
    background: ``(video [T, H, W, 3], the square's top-left corner per frame)``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    background = rng.integers(0, 120, (size, size, 3), dtype=np.uint8)
    texture = rng.integers(130, 256, (side, side, 3), dtype=np.uint8)
    video, corners = [], []
    for t in range(frames):
        frame = background.copy()
        x, y = start[0] + step * t, start[1]
        frame[y:y + side, x:x + side] = texture
        video.append(frame)
        corners.append((x, y))
    return np.stack(video), corners


def test_a_moving_object_is_found_and_followed_to_where_it_went():
    from harness_transitive.mining import mine_tracks

    video, corners = moving_patch_video()
    (track,) = mine_tracks(video, size=16, per_window=1, window=8)
    x0, y0 = corners[0]
    assert abs(track.first[0] - x0) <= 4 and abs(track.first[1] - y0) <= 4
    moved = track.last[0] - track.first[0]
    assert 10 <= moved <= 16 and abs(track.last[1] - track.first[1]) <= 2  # 14 px to the right
    assert (track.start, track.end) == (0, 7) and track.motion > 1.0


def test_a_still_video_gives_no_tracks_and_boxes_do_not_overlap():
    import numpy as np

    from harness_transitive.mining import mine_tracks, salient_boxes

    video, _ = moving_patch_video(step=0)
    assert mine_tracks(video, size=16) == []
    magnitude = np.zeros((32, 32))
    magnitude[4:12, 4:12] = 5.0
    magnitude[20:28, 20:28] = 3.0
    boxes = salient_boxes(magnitude, 8, 5)
    assert [box for box, _ in boxes] == [(4, 4, 12, 12), (20, 20, 28, 28)]
    assert [round(score, 6) for _, score in boxes] == [5.0, 3.0]


def test_inter_edges_join_look_alikes_of_different_instances_only():
    import numpy as np

    from harness_transitive.graph import inter_edges

    rng = np.random.default_rng(0)
    centres = np.eye(8)[:3] * 10  # three looks
    # instances 0..3 with two patches each; instance 0 and 2 share look 0, 1 and 3 look 1;
    # patch 8 (instance 4) is alone with look 2
    looks = [0, 0, 1, 1, 0, 0, 1, 1, 2]
    instance = [0, 0, 1, 1, 2, 2, 3, 3, 4]
    features = centres[looks] + rng.normal(0, 0.1, (9, 8))
    edges = inter_edges(features, instance, cluster_size=3)
    assert edges and all(instance[a] != instance[b] and looks[a] == looks[b] for a, b in edges)
    assert {frozenset((instance[a], instance[b])) for a, b in edges} == {
        frozenset((0, 2)), frozenset((1, 3))}
    assert not any(8 in edge for edge in edges)


# ------------------------------------------------------------------ mining stage and dataset


def test_mining_cuts_first_and_last_patch_of_each_track_and_caches_them(tmp_path):
    from harness_transitive.mining import mine_tracks
    from harness_transitive.patches import load_or_mine, mining_options

    video, _ = moving_patch_video()
    reads = []

    def read(path, max_frames):
        reads.append(path)
        if path == 'broken.avi':
            raise OSError('cannot decode')
        return video[:max_frames] if path == 'moving.avi' else video[:1].repeat(8, axis=0)

    options = mining_options(dict(size=16, per_window=1, window=8, max_frames=8))
    paths = ['moving.avi', 'broken.avi', 'still.avi']
    mined = load_or_mine(paths, options, tmp_path, log=lambda line: None, read=read)
    assert mined.patches.shape == (2, 16, 16, 3)  # one track: its first and last patch
    assert mined.track.tolist() == [0, 0] and mined.video.tolist() == [0, 0]
    assert mined.intra_edges == [(0, 1)] and mined.skipped == ['broken.avi']
    (track,) = mine_tracks(video, size=16, per_window=1, window=8)
    (x0, y0, x1, y1), (u0, v0, u1, v1) = track.first, track.last
    assert (mined.patches[0] == video[0, y0:y1, x0:x1]).all()
    assert (mined.patches[1] == video[7, v0:v1, u0:u1]).all()
    again = load_or_mine(paths, options, tmp_path, log=lambda line: None, read=read)
    assert len(reads) == 3  # the second call read the cache, no video
    assert (again.patches == mined.patches).all() and again.skipped == mined.skipped
    other = load_or_mine(paths, dict(options, per_window=2), tmp_path, log=lambda line: None,
                         read=read)
    assert len(reads) == 6 and len(other) == 4  # other options: mined again (two tracks)


def test_an_unknown_mining_option_is_named():
    from harness_transitive.patches import mining_options

    with pytest.raises(ValueError, match='unknown mining option.*sizes'):
        mining_options(dict(sizes=3))


def patch_pairs(pairs='all', tracks=3):
    """A MinedPatchPairs over ``tracks`` tracks of constant patches (no videos), intra-only."""
    import numpy as np

    from harness_transitive.dataset import MinedPatchPairs
    from harness_transitive.patches import PatchSet

    dataset = MinedPatchPairs.__new__(MinedPatchPairs)
    dataset.pairs = pairs
    patches = np.stack([np.full((8, 8, 3), k, np.uint8) for k in range(2 * tracks)])
    dataset.patchset = PatchSet(patches, np.repeat(np.arange(tracks), 2),
                                np.zeros(2 * tracks, int), ['v.avi'], [])
    dataset.pipeline = lambda results: results
    dataset.set_graph(None)
    return dataset


def test_the_graph_starts_intra_only_and_the_inter_edges_bring_transitive_pairs():
    dataset = patch_pairs('all')
    assert dataset.partners == {0: [1], 1: [0], 2: [3], 3: [2], 4: [5], 5: [4]}
    assert len(set(dataset.groups.tolist())) == 3
    counts = dataset.set_graph([(1, 2)])  # track 0's last patch looks like track 1's first
    assert counts == {'intra': 3, 'inter': 1, 'transitive': 3}  # 0-2, 0-3, 1-3
    assert dataset.partners[0] == [1, 2, 3] and dataset.partners[4] == [5]
    assert dataset.groups[0] == dataset.groups[3] != dataset.groups[4]
    item = dataset.prepare_data(0)
    assert item['anchor'][0, 0, 0] == 0 and item['positive'][0, 0, 0] in (1, 2, 3)


def test_inter_pairs_alone_train_only_the_patches_that_have_one():
    dataset = patch_pairs('inter')
    dataset.set_graph([(1, 2)])
    assert dataset.trainable == [1, 2]
    for index in range(len(dataset)):  # every item is one of the two inter pairs
        item = dataset.prepare_data(index)
        assert {int(item['anchor'][0, 0, 0]), int(item['positive'][0, 0, 0])} == {1, 2}


def test_the_pair_sampler_makes_two_views_of_the_configured_size():
    import numpy as np

    from harness_transitive.dataset import SamplePatchPair

    sampler = SamplePatchPair(view=dict(size=12, decode_size=16))
    out = sampler({'anchor': np.zeros((8, 8, 3), np.uint8),
                   'positive': np.ones((8, 8, 3), np.uint8), 'group': 7})['inputs']
    assert out['anchor']['image'].shape == (3, 16, 16) and out['group'] == 7
    assert int(out['positive']['augment']['size']) == 12
    assert sampler.random_inputs(3)['anchor'].shape == (3, 3, 12, 12)


# ------------------------------------------------------------------------ model and hook


def small_model():
    import importlib

    from harness_transitive.model import TransitiveTriplet

    for module in ('harness.data.augment', 'harness_backbones.image'):  # register the parts
        importlib.import_module(module)

    torch.manual_seed(0)
    backbone = dict(type='harness.ResNet18Slim')
    return TransitiveTriplet(backbone, feat_dim=128, hidden_dim=32, embed_dim=16,
                             data_preprocessor=dict(type='harness.AugmentViews'))


def test_the_triplet_loss_falls_over_a_few_steps_on_fixed_pairs():
    from harness.testing import assert_trains

    model = small_model()
    inputs = {'anchor': torch.randn(6, 3, 24, 24), 'positive': torch.randn(6, 3, 24, 24),
              'group': torch.arange(6)}
    first = assert_trains(model, inputs)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(15):
        optimizer.zero_grad()
        loss = model(inputs)['loss_triplet']
        loss.backward()
        optimizer.step()
    assert float(model(inputs)['loss_triplet'].detach()) < 0.5 * first
    assert model(inputs, mode='tensor').shape == (6, 128)


def fake_runner(dataset, model, work_dir, *, iteration=0, workers=0, max_iters=10):
    from types import SimpleNamespace

    lines = []
    loader = SimpleNamespace(dataset=dataset, num_workers=workers)
    return SimpleNamespace(train_dataloader=loader, model=model, work_dir=str(work_dir),
                           iter=iteration, max_iters=max_iters, seed=0,
                           logger=SimpleNamespace(info=lines.append), lines=lines)


def test_the_graph_hook_clusters_the_networks_features_at_graph_iter_and_saves_them(tmp_path):
    import json

    from harness_transitive.hooks import GRAPH_FILE, TransitiveGraph

    dataset, model = patch_pairs('all', tracks=4), small_model()
    hook = TransitiveGraph(graph_iter=3, view_size=16, cluster_size=4)
    runner = fake_runner(dataset, model, tmp_path, iteration=2)
    hook.before_train(runner)
    hook.before_train_iter(runner, 0)
    assert dataset.inter is None and not (tmp_path / GRAPH_FILE).exists()
    runner.iter = 3
    hook.before_train_iter(runner, 0)
    saved = json.loads((tmp_path / GRAPH_FILE).read_text())
    assert saved['iter'] == 3 and [tuple(e) for e in saved['inter']] == dataset.inter
    assert dataset.inter and all(dataset.patchset.track[a] != dataset.patchset.track[b]
                                 for a, b in dataset.inter)
    assert 'inter-instance edges' in runner.lines[-1]
    resumed = patch_pairs('all', tracks=4)  # a resumed run reads the saved graph
    hook.before_train(fake_runner(resumed, None, tmp_path, iteration=5))
    assert resumed.inter == dataset.inter


def test_the_graph_hook_refuses_loader_workers_and_a_graph_after_the_last_iteration(tmp_path):
    from harness.errors import ConfigError
    from harness_transitive.hooks import TransitiveGraph

    hook = TransitiveGraph(graph_iter=3, view_size=16)
    with pytest.raises(ConfigError, match='num_workers=0'):
        hook.before_train(fake_runner(patch_pairs(), None, tmp_path, workers=2))
    with pytest.raises(ConfigError, match='graph_iter=3 leaves no iteration'):
        hook.before_train(fake_runner(patch_pairs(), None, tmp_path, max_iters=3))
    hook.before_train(fake_runner(patch_pairs('intra'), None, tmp_path, workers=2))  # no graph


def test_a_diverged_first_stage_is_one_clear_error_not_a_kmeans_traceback(tmp_path):
    from harness.errors import ConfigError
    from harness_transitive.hooks import TransitiveGraph

    model = small_model()
    with torch.no_grad():
        model.backbone.net.conv1.weight.fill_(float('nan'))
    hook = TransitiveGraph(graph_iter=0, view_size=16)
    with pytest.raises(ConfigError, match='not finite at iteration 0: training diverged'):
        hook.before_train_iter(fake_runner(patch_pairs(), model, tmp_path), 0)


# ---------------------------------------------- the 2015 network's head and solver, [code]


def test_the_embedding_is_relu7_l2_normalised():
    """fc7 is followed by ReLU (relu7) and the L2 ``Norm`` layer, as in the 2015 network: every
    embedding is non-negative and of unit length, so cosines lie in [0, 1]."""
    model = small_model()
    assert isinstance(model.head[-1], torch.nn.ReLU)
    torch.manual_seed(1)
    with torch.no_grad():
        embeddings = model.embed(torch.randn(8, 3, 24, 24))
        fc7 = model.head(model.fc6_inputs(torch.randn(8, 3, 24, 24)))
    assert embeddings.shape == (8, 16)
    assert bool((embeddings >= 0).all()) and bool((embeddings == 0).any())
    torch.testing.assert_close(embeddings.norm(dim=1), torch.ones(8))
    assert bool((fc7 >= 0).all())
    cosines = embeddings @ embeddings.t()
    assert float(cosines.min()) >= 0.0


def test_a_flattened_head_reads_the_whole_pool5_map():
    """head_input='flatten': fc6 takes VGG-16's pool5 map of a 224-pixel view, 512 x 7 x 7
    (the 2015 network's fc6 input); a view of another size is refused, and the spatial layout
    of the map reaches the embedding (pooling would not see it)."""
    import importlib

    from harness_transitive.model import TransitiveTriplet

    importlib.import_module('harness_backbones.image')
    torch.manual_seed(0)
    vgg = TransitiveTriplet(dict(type='harness.VGG16'), feat_dim=512, hidden_dim=8,
                            embed_dim=4, head_input='flatten', input_size=224)
    assert vgg.head[0].in_features == 512 * 7 * 7 and vgg.map_shape == (512, 7, 7)
    with pytest.raises(ValueError, match=r'input_size=224'):
        vgg.embed(torch.randn(2, 3, 128, 128))
    slim = TransitiveTriplet(dict(type='harness.ResNet18Slim'), feat_dim=128, hidden_dim=32,
                             embed_dim=16, head_input='flatten', input_size=64).eval()
    assert slim.head[0].in_features == 128 * 2 * 2
    image = torch.randn(1, 3, 64, 64)
    maps = slim.backbone(image)
    moved = maps.roll(1, dims=-1)  # the same values, elsewhere: the same global average
    torch.testing.assert_close(moved.mean((-2, -1)), maps.mean((-2, -1)))
    assert not torch.allclose(slim.head(moved.flatten(1)), slim.head(maps.flatten(1)))
    with pytest.raises(ValueError, match='needs input_size'):
        TransitiveTriplet(dict(type='harness.ResNet18Slim'), feat_dim=128, head_input='flatten')


def test_the_paper_config_is_the_2015_codes_network_data_layer_and_solver():
    from harness.api import pick_config
    from harness.config import load_pretrain_config
    from harness.plugins import PluginManager

    method = PluginManager().components['method']['transitive'].info
    cfg = load_pretrain_config(pick_config(method.configs, 'paper', 'transitive')[1])
    model = cfg.model
    assert (model.hidden_dim, model.embed_dim, model.head_input, model.input_size) == \
        (4096, 1024, 'flatten', 224)
    assert (model.margin, model.neg_num, model.hard_ratio, model.rand_ratio) == (1.0, 4, 0.5, 0.5)
    assert cfg.train_dataloader.batch_size == 40  # pairs: 80 images
    view = cfg.train_dataloader.dataset.pipeline[0].view
    assert (view.size, view.decode_size) == (224, 224)
    assert view.augment.scale == ((224 / 227) ** 2, (224 / 227) ** 2)
    assert (view.augment.ratio, view.augment.flip) == ((1.0, 1.0), 0.5)
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum, optimizer.weight_decay) == \
        ('SGD', 0.001, 0.9, 5e-4)
    assert dict(cfg.optim_wrapper.paramwise_cfg) == dict(bias_lr_mult=2.0, bias_decay_mult=0.0)
    assert cfg.train_cfg.max_iters == 600000
    (step,) = cfg.param_scheduler
    assert (step.type, step.milestones, step.gamma) == \
        ('MultiStepLR', [100000, 200000, 300000, 400000, 500000], 0.1)
