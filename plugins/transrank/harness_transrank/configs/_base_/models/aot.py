# Arrow of Time (Wei et al., CVPR 2018): forward vs reversed playback, binary CE.
# The set of transformations, shared by its demo and paper configs: the sampler's (each config
# puts it into the sampler of its scale) and the head's, which scores each transformation.
_base_ = ['./recognizer.py']

# clips_per_video: how many of the video's transformed clips a step sees (None: all of them)
_transformations = dict(
    temporal=['1x', 'reverse'],
    rotation=False, clips_per_video=2)
model = dict(num_temporal=len(_transformations['temporal']),
             rotation=_transformations['rotation'], loss='ce')
