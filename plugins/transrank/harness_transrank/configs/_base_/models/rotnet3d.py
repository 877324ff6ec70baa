# 3D-RotNet (Jing & Tian, 2018): 4-way rotation of the whole clip, CE; no temporal
# transformation.
# The set of transformations, shared by its demo and paper configs: the sampler's (each config
# puts it into the sampler of its scale) and the head's, which scores each transformation.
_base_ = ['./recognizer.py']

# clips_per_video: how many of the video's transformed clips a step sees (None: all of them)
_transformations = dict(
    temporal=['1x'],
    rotation=True, clips_per_video=1)
# one temporal transformation (1x) is nothing to recognise: no temporal head
model = dict(num_temporal=0, rotation=_transformations['rotation'], loss='ce')
