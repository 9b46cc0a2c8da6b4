"""Each person's language (SPEC §11): Italian or English, NULL for the firm's
default (the setting ui.language, Italian unless changed)."""

SQL = """
ALTER TABLE users ADD COLUMN language TEXT CHECK (language IN ('it', 'en'));
"""
