"""Instance-discrimination baselines (MoCo v2, BYOL, SimSiam) on two clips of a video."""
