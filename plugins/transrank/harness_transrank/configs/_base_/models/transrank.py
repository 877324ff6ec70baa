# TransRank (docs/methods.md §1, §8): K = 3 temporal transformations {1x, 2x, 4x} (or
# {1x, 2x, reverse}) and 4-way rotation, every transformation of a video in each step, each
# family's scores ranked with margin 1.
# The set of transformations, shared by its demo and paper configs: the sampler's (each config
# puts it into the sampler of its scale) and the head's, which scores each transformation.
_base_ = ['./recognizer.py']

# clips_per_video: how many of the video's transformed clips a step sees (None: all of them);
# aspect: the aspect-ratio family's stretch factors (off: none; the paper's runs leave it out)
_transformations = dict(
    temporal=['1x', '2x', '4x'],
    rotation=True, aspect=[], clips_per_video=None)
model = dict(num_temporal=len(_transformations['temporal']),
             rotation=_transformations['rotation'],
             num_aspect=len(_transformations['aspect']), loss='rank')
