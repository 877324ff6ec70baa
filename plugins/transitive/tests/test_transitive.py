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
