"""Siamese Image Modeling (SiameseIM) as an ssl-harness method plugin."""
