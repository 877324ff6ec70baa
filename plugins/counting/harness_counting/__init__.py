"""Learning to Count: representation learning by counting visual primitives (Noroozi,
Pirsiavash, Favaro, ICCV 2017)."""
