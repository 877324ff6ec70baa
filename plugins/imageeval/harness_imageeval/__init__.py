"""Image evaluators for ssl-harness: ``imagenet`` (probes on an ImageNet-style folder)."""
