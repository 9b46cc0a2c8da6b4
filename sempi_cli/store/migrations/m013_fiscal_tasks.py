"""Fiscal deadline tasks made before the fix: their description named the command
to explain them with a literal CLIENT instead of the client's id, and their time
tracking was off although every ordinary task has it on (docs/tasks.md)."""

SQL = """
UPDATE tasks
SET description = replace(description, 'sempi scheduler explain CLIENT ',
                          'sempi scheduler explain ' || CAST(client_id AS TEXT) || ' ')
WHERE external_key LIKE 'fiscal:%' AND client_id IS NOT NULL
  AND description LIKE '%sempi scheduler explain CLIENT %';

UPDATE tasks SET time_tracking = 1
WHERE external_key LIKE 'fiscal:%' AND time_tracking = 0;
"""
