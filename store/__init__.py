"""Domain and persistence. Imports neither `bot` nor `web`."""
