"""Client documents: folder trees per client and documents stored once per content."""

SQL = """
"""
