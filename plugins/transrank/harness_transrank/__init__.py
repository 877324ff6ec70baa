"""TransRank: self-supervised video representation learning via ranking-based transformation recognition."""
