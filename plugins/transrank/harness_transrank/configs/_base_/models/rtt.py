# RTT (Jenni et al., ECCV 2020): speeds 1x-8x and periodic / random / warp as one CE over the
# union of the transformation labels (docs/methods.md §1, §7).
# The set of transformations, shared by its demo and paper configs: the sampler's (each config
# puts it into the sampler of its scale) and the head's, which scores each transformation.
_base_ = ['./recognizer.py']

# clips_per_video: how many of the video's transformed clips a step sees (None: all of them)
_transformations = dict(
    temporal=['1x', '2x', '4x', '8x', 'periodic', 'random', 'warp'],
    rotation=False, clips_per_video=2)
model = dict(num_temporal=len(_transformations['temporal']),
             rotation=_transformations['rotation'], loss='ce')
