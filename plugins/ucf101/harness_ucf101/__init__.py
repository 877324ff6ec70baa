"""UCF101 action recognition evaluation (mmaction2)."""
