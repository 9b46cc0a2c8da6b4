"""The events record keeps no index by client (m022 gave it one).

Every writing command writes an event in its transaction, and an index is one
more page written at each commit: for a one-event command (`task add`) an
eighth of what the event cost, counted in instructions (bench/automation.py). It served only `events list --client`, a read that now
goes along the ids (`--since` bounds it), as every other filter of the record
does. The nightly coupon check keeps its partial index, which costs only the
rows it holds.
"""

SQL = """
DROP INDEX events_client;
"""
