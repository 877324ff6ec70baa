"""The NYU Depth v2 layout for ssl-harness: ``nyuv2`` (surface normals and depth of the 1449
labeled images, the official 795 train / 654 test split), read as it lies on disk, a demo
generator rendering rooms with exact geometry, and the converter from the official files."""
