"""The mail outbox: queued messages, delivery attempts, final states."""

SQL = """
"""
