"""The random-initialisation baseline: the reference row of every leaderboard."""
