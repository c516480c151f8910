"""A simulated store till (POS terminal) that speaks orderhub's POS sync API: it enrols with a one-time code,
sells from a catalogue, keeps every sale in its own SQLite file until orderhub acknowledges it, and syncs in
batches through network failures, offline spells, resends, duplicates and shuffled batches
(``orderhub simulate pos``).
"""
