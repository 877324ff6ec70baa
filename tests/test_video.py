"""Decoding frames: :func:`harness.data.video.read_frames` gives exactly the frames asked for,
in their order, decoding stretches of nearby frames instead of seeking to each."""
from __future__ import annotations

import numpy as np
import pytest

from harness.data.video import MAX_GAP, open_video, read_frames


class RecordingReader:
    """A reader whose frame i is filled with i, recording each get_batch's indices."""

    def __init__(self, length: int):
        self.length, self.calls = length, []

    def __len__(self):
        return self.length

    def get_batch(self, indices):
        self.calls.append(list(indices))
        frames = np.zeros((len(indices), 2, 2, 3), np.uint8)
        frames[:] = np.asarray(indices, np.uint8)[:, None, None, None]

        class Batch:
            def asnumpy(self):
                return frames

        return Batch()


def test_frames_at_most_max_gap_apart_are_one_stretch_and_a_wider_gap_a_seek():
    reader = RecordingReader(100)
    frames = read_frames(reader, [0, 2, 4, 4 + MAX_GAP, 5 + 2 * MAX_GAP])
    assert reader.calls == [list(range(0, 5 + MAX_GAP)), [5 + 2 * MAX_GAP]]
    assert frames[:, 0, 0, 0].tolist() == [0, 2, 4, 4 + MAX_GAP, 5 + 2 * MAX_GAP]


def test_unsorted_and_repeated_indices_come_back_in_their_order():
    reader = RecordingReader(40)
    frames = read_frames(reader, [9, 3, 9, 5])
    assert reader.calls == [list(range(3, 10))]
    assert frames[:, 0, 0, 0].tolist() == [9, 3, 9, 5]


@pytest.mark.parametrize('indices', [
    list(range(0, 24, 2)),           # every other frame: one stretch
    [1, 3, 3, 0, 22, 21],            # unsorted, repeated, two stretches
    [0, 20],                         # a gap wider than MAX_GAP: two seeks
    list(range(5, 13)),              # consecutive
])
def test_the_frames_are_the_ones_decord_gives_for_each_index(small_demo, indices):
    path = str(sorted(small_demo.rglob('*.avi'))[0])
    reader = open_video(path)
    assert len(reader) >= 24
    expected = np.stack([open_video(path)[i].asnumpy() for i in indices])
    got = read_frames(reader, indices)
    assert got.shape == expected.shape and got.dtype == np.uint8
    assert np.array_equal(got, expected)
