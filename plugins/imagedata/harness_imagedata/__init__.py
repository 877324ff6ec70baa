"""Image dataset layouts for ssl-harness: ``imagenet`` (an ImageNet-style class folder)."""
