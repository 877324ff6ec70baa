"""Video dataset layouts: UCF101, HMDB51, Kinetics-400 and a plain folder of videos, each read
from its on-disk layout and with a generator writing a small demo in that layout."""
