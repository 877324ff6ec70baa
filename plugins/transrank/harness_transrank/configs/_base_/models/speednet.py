# SpeedNet (Benaim et al., CVPR 2020): normal speed vs sped up, binary CE.
# The set of transformations, shared by its demo and paper configs: the sampler's (each config
# puts it into the sampler of its scale) and the head's, which scores each transformation.
_base_ = ['./recognizer.py']

# clips_per_video: how many of the video's transformed clips a step sees (None: all of them)
_transformations = dict(
    temporal=['1x', '2x'],
    rotation=False, clips_per_video=2)
model = dict(num_temporal=len(_transformations['temporal']),
             rotation=_transformations['rotation'], loss='ce')
