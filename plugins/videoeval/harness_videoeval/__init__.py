"""Video evaluators: UCF101 / HMDB51 action recognition (mmaction2) and temporal probes."""
