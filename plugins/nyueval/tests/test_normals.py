"""The normals metrics against an independent float64 reference (atan2 of the cross and dot
products), pooling over the test set, known angles, the zero-length prediction rule, the
40-word codebook (labels, decoding, k-means) and the two training losses."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from harness_nyueval.normals import (IGNORE_INDEX, METRICS, NormalErrorPool, angular_errors,
                                     classification_loss, codebook_labels, cosine_loss,
                                     decode_classes, kmeans_codebook, normal_metrics)


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def reference_angles(pred, gt):
    """Degrees between vectors, by atan2(|a x b|, a . b): not the arccos formula under test."""
    cross = np.linalg.norm(np.cross(pred, gt), axis=-1)
    dot = np.sum(pred * gt, axis=-1)
    return np.degrees(np.arctan2(cross, dot))


def reference_median(values):
    ordered = sorted(float(v) for v in values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def rotated(gt, degrees, seed=0):
    """Each unit normal of ``gt`` ([M, 3]) turned by its angle in ``degrees`` about an axis
    perpendicular to it (Rodrigues' formula; the axis is random)."""
    rng = np.random.default_rng(seed)
    axis = unit(np.cross(gt, rng.normal(size=gt.shape)))
    theta = np.radians(np.asarray(degrees, dtype=np.float64))[:, None]
    # axis is perpendicular to gt, so the (axis . gt) term of Rodrigues' formula vanishes
    return gt * np.cos(theta) + np.cross(axis, gt) * np.sin(theta)


def random_normals(rng, shape):
    return unit(rng.normal(size=(*shape, 3)))


# ---------------------------------------------------------------------------------- metrics


def test_angular_errors_match_an_independent_reference():
    rng = np.random.default_rng(1)
    gt = random_normals(rng, (2, 7, 9))
    pred = rng.normal(size=(2, 7, 9, 3)) * rng.uniform(0.1, 10.0, size=(2, 7, 9, 1))
    valid = rng.random((2, 7, 9)) < 0.6
    pred[~valid] = np.nan  # never read

    errors = angular_errors(pred, gt, valid)

    expected = reference_angles(pred[valid], gt[valid])
    assert errors.dtype == np.float64
    assert errors.shape == (int(valid.sum()),)
    np.testing.assert_allclose(errors, expected, rtol=0, atol=1e-9)
    metrics = normal_metrics(errors)
    assert list(metrics) == list(METRICS)
    assert metrics['mean'] == pytest.approx(sum(expected) / len(expected), abs=1e-9)
    assert metrics['median'] == pytest.approx(reference_median(expected), abs=1e-9)
    for threshold, name in ((11.25, 'within_11.25'), (22.5, 'within_22.5'), (30, 'within_30')):
        share = 100.0 * sum(1 for e in expected if e < threshold) / len(expected)
        assert metrics[name] == pytest.approx(share, abs=1e-12)


def test_angular_errors_of_torch_inputs_and_one_image():
    rng = np.random.default_rng(2)
    gt = random_normals(rng, (5, 6))
    pred = rng.normal(size=(5, 6, 3))
    valid = rng.random((5, 6)) < 0.5
    from_torch = angular_errors(torch.tensor(pred, dtype=torch.float32),
                                torch.tensor(gt, dtype=torch.float32), torch.tensor(valid))
    assert from_torch.dtype == np.float64
    np.testing.assert_allclose(from_torch, reference_angles(pred[valid], gt[valid]), atol=1e-4)


def test_known_angles_give_exact_thresholds():
    rng = np.random.default_rng(3)
    gt = random_normals(rng, (4,))
    pred = rotated(gt, [10, 10, 20, 40]) * 3.0  # the length of the prediction does not count

    errors = angular_errors(pred.reshape(1, 4, 3), gt.reshape(1, 4, 3), np.ones((1, 4), bool))

    np.testing.assert_allclose(errors, [10, 10, 20, 40], atol=1e-9)
    metrics = normal_metrics(errors)
    assert metrics['within_11.25'] == 50.0
    assert metrics['within_22.5'] == 75.0
    assert metrics['within_30'] == 75.0
    assert metrics['mean'] == pytest.approx(20.0, abs=1e-9)
    assert metrics['median'] == pytest.approx(15.0, abs=1e-9)


def test_the_threshold_is_strict():
    assert normal_metrics([11.25, 22.5, 30.0, 0.0])['within_11.25'] == 25.0
    assert normal_metrics([11.25, 22.5, 30.0, 0.0])['within_30'] == 75.0


def test_pooled_median_is_not_the_mean_of_image_medians():
    rng = np.random.default_rng(4)
    pool = NormalErrorPool()
    first_angles, second_angles = [1, 2, 3], [10, 20, 30, 40, 50]
    for angles, shape in ((first_angles, (2, 3)), (second_angles, (3, 4))):
        gt = random_normals(rng, shape)
        valid = np.zeros(shape, bool)
        valid.flat[rng.choice(valid.size, len(angles), replace=False)] = True
        pred = np.full(shape + (3,), np.nan)
        pred[valid] = rotated(gt[valid], angles)
        pool.add(pred, gt, valid)

    metrics = pool.metrics()

    assert pool.count == 8
    # pooled: the median of 1, 2, 3, 10, 20, 30, 40, 50; per image the medians are 2 and 30
    assert metrics['median'] == pytest.approx(15.0, abs=1e-9)
    assert abs(metrics['median'] - (2 + 30) / 2) > 0.5
    assert metrics['mean'] == pytest.approx(156 / 8, abs=1e-9)
    assert metrics['within_11.25'] == pytest.approx(100 * 4 / 8)
    np.testing.assert_allclose(np.sort(pool.errors()), [1, 2, 3, 10, 20, 30, 40, 50],
                               atol=1e-9)


def test_pool_of_added_errors_equals_metrics_of_all():
    pool = NormalErrorPool()
    pool.add_errors(np.array([5.0, 50.0]))
    pool.add_errors(torch.tensor([7.0]))
    assert pool.metrics() == normal_metrics([5.0, 50.0, 7.0])
    assert pool.metrics()['median'] == 7.0


def test_zero_length_prediction_is_ninety_degrees_and_opposite_is_180():
    gt = np.array([[[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]])
    pred = np.array([[[0.0, 0.0, 0.0], [0.0, -2.0, 0.0], [0.5, 0.0, 0.0]]])
    errors = angular_errors(pred, gt, np.ones((1, 3), bool))
    np.testing.assert_allclose(errors, [90.0, 180.0, 0.0], atol=1e-12)


def test_identical_normals_are_zero_not_nan():
    rng = np.random.default_rng(5)
    gt = random_normals(rng, (50, 50))
    errors = angular_errors(gt * 7.3, gt, np.ones((50, 50), bool))
    assert np.isfinite(errors).all()
    assert errors.max() < 1e-5


def test_bad_inputs_are_refused():
    gt = np.array([[[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]])
    pred = np.array([[[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]])
    # a zero-length ground truth is fine where invalid, a data error where valid
    assert angular_errors(pred, gt, np.array([[True, False]])).tolist() == [0.0]
    with pytest.raises(ValueError, match='zero'):
        angular_errors(pred, gt, np.array([[True, True]]))
    with pytest.raises(ValueError, match='finite'):
        angular_errors(np.full_like(pred, np.nan), pred, np.array([[True, False]]))
    with pytest.raises(ValueError, match='shape'):
        angular_errors(pred[:, :1], pred, np.array([[True, True]]))
    with pytest.raises(ValueError, match='mask'):
        angular_errors(pred, pred, np.array([True, True]))
    with pytest.raises(ValueError, match='no valid'):
        normal_metrics(np.zeros(0))


# --------------------------------------------------------------------------------- codebook

CODEBOOK = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def test_codebook_labels_pick_the_nearest_word_and_ignore_invalid():
    normals = np.array([[[0.1, 0.2, 0.9], [0.3, 0.9, 0.1], [0.7, 0.2, -0.1]],
                        [[-0.1, 0.0, 5.0], [9.0, 9.0, 0.0], [0.0, 0.0, 0.0]]])
    valid = np.array([[True, True, True], [False, True, False]])

    labels = codebook_labels(normals, valid, CODEBOOK * 4.0)  # word lengths do not count

    assert labels.dtype == np.int64
    # [9, 9, 0] ties between words 1 and 2: the lower index wins
    assert labels.tolist() == [[0, 1, 2], [IGNORE_INDEX, 1, IGNORE_INDEX]]


def test_decode_classes_is_the_normalised_expectation():
    probabilities = np.array([[[1.0, 0.5], [0.0, 0.5], [0.0, 0.0]]])  # [N=1, K=3, H=1, W=2]
    probabilities = probabilities[:, :, None, :]

    normals = decode_classes(probabilities, CODEBOOK)
    from_torch = decode_classes(torch.tensor(probabilities, dtype=torch.float32), CODEBOOK)

    assert isinstance(normals, np.ndarray) and normals.shape == (1, 1, 2, 3)
    np.testing.assert_allclose(normals[0, 0, 0], [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(normals[0, 0, 1], [0, np.sqrt(0.5), np.sqrt(0.5)], atol=1e-12)
    assert isinstance(from_torch, torch.Tensor) and from_torch.dtype == torch.float32
    np.testing.assert_allclose(from_torch.numpy(), normals, atol=1e-6)
    with pytest.raises(ValueError, match='codebook'):
        decode_classes(probabilities[:, :2], CODEBOOK)


def test_decoded_zero_vector_scores_ninety_degrees():
    opposite = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]])
    normals = decode_classes(np.full((1, 2, 1, 1), 0.5), opposite)
    assert np.all(normals == 0)
    errors = angular_errors(normals, np.array([[[[0.0, 1.0, 0.0]]]]), np.ones((1, 1, 1), bool))
    assert errors.tolist() == [90.0]


def test_kmeans_recovers_three_separated_clusters():
    rng = np.random.default_rng(6)
    centres = unit(np.array([[0.0, 0.0, 1.0], [1.0, 0.2, 0.0], [-0.3, -1.0, 0.1]]))
    members = np.concatenate([unit(c + 0.05 * rng.normal(size=(200, 3))) for c in centres])
    truth = np.repeat(np.arange(3), 200)

    codebook = kmeans_codebook(members * 2.0, k=3, seed=0)

    assert codebook.shape == (3, 3) and codebook.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(codebook, axis=1), 1.0, atol=1e-12)
    angles = np.degrees(np.arccos(np.clip(centres @ codebook.T, -1, 1)))
    assert angles.min(axis=1).max() < 2.0  # every true centre has a word within 2 degrees
    labels = codebook_labels(members, np.ones(len(members), bool), codebook)
    # the clustering is the true one up to the order of the words
    for cluster in range(3):
        assert len(set(labels[truth == cluster].tolist())) == 1
    assert len(set(labels.tolist())) == 3
    np.testing.assert_array_equal(codebook, kmeans_codebook(members, k=3, seed=0))


def test_kmeans_codebook_of_40_words_is_deterministic_per_seed_and_reads_valid():
    rng = np.random.default_rng(7)
    normals = random_normals(rng, (30, 40))
    valid = rng.random((30, 40)) < 0.7
    normals[~valid] = 0.0  # would be refused if read

    first = kmeans_codebook(normals, k=40, seed=3, valid=valid, max_samples=500)
    again = kmeans_codebook(normals, k=40, seed=3, valid=valid, max_samples=500)
    other = kmeans_codebook(normals, k=40, seed=4, valid=valid, max_samples=500)

    assert first.shape == (40, 3)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert len(np.unique(first.round(6), axis=0)) == 40
    with pytest.raises(ValueError, match='zero'):
        kmeans_codebook(normals, k=40)
    with pytest.raises(ValueError, match='codebook of 40'):
        kmeans_codebook(random_normals(rng, (10,)), k=40)


# ----------------------------------------------------------------------------------- losses


def test_cosine_loss_hand_values_and_mask():
    gt = torch.tensor([[[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]])
    identical = torch.tensor([[[0.0, 0.0, 2.0]]])
    orthogonal = torch.tensor([[[1.0, 0.0, 0.0]]])
    opposite = torch.tensor([[[0.0, 0.0, -1.0]]])
    one = torch.ones(1, 1, dtype=torch.bool)
    assert cosine_loss(identical, gt[:, :1], one).item() == pytest.approx(0.0, abs=1e-7)
    assert cosine_loss(orthogonal, gt[:, :1], one).item() == pytest.approx(1.0, abs=1e-7)
    assert cosine_loss(opposite, gt[:, :1], one).item() == pytest.approx(2.0, abs=1e-7)
    assert cosine_loss(torch.zeros(1, 1, 3), gt[:, :1], one).item() == pytest.approx(1.0)

    # pixels: identical (loss 0), orthogonal (1), then two masked ones that would cost 1 and 2
    pred = torch.tensor([[[0.0, 0.0, 3.0], [0.0, 1.0, 0.0], [1e6, 0.0, 0.0], [-1.0, 0, 0]]],
                        requires_grad=True)
    valid = torch.tensor([[True, True, False, False]])
    loss = cosine_loss(pred, gt, valid)
    assert loss.item() == pytest.approx(0.5, abs=1e-7)
    loss.backward()
    assert pred.grad[0, 1].abs().sum() > 0  # the orthogonal pixel is pulled towards gt
    assert pred.grad[0, 2:].abs().sum() == 0  # masked pixels get nothing


def test_cosine_loss_falls_under_gradient_descent_and_handles_no_valid_pixel():
    torch.manual_seed(0)
    gt = F.normalize(torch.randn(2, 4, 4, 3), dim=-1)
    pred = torch.randn(2, 4, 4, 3, requires_grad=True)
    valid = torch.rand(2, 4, 4) < 0.7
    start = cosine_loss(pred, gt, valid).item()
    optimizer = torch.optim.Adam([pred], lr=0.1)
    for _ in range(50):
        optimizer.zero_grad()
        cosine_loss(pred, gt, valid).backward()
        optimizer.step()
    assert cosine_loss(pred, gt, valid).item() < 0.2 * start

    empty = cosine_loss(pred, gt, torch.zeros(2, 4, 4, dtype=torch.bool))
    assert empty.item() == 0.0
    empty.backward()  # still in the graph


def test_classification_loss_averages_over_labelled_pixels():
    logits = torch.tensor([[[[2.0, 0.0, 5.0]], [[0.0, 1.0, -5.0]]]])  # [N=1, K=2, H=1, W=3]
    labels = torch.tensor([[[0, 1, IGNORE_INDEX]]])
    expected = (-np.log(np.exp(2) / (np.exp(2) + 1)) - np.log(np.e / (1 + np.e))) / 2
    assert classification_loss(logits, labels).item() == pytest.approx(expected, rel=1e-6)
    assert classification_loss(logits, torch.full((1, 1, 3), IGNORE_INDEX)).item() == 0.0
