"""The template a task made once from it came from (`task add --template`): a
recurring instance names its template in template_id, tied to its occurrence; a
one-off task had only a line in its history, which a rename of the template
leaves behind. Read where a template's rule follows its tasks (signing/on_status.py)."""

SQL = """
ALTER TABLE tasks ADD COLUMN from_template_id INTEGER REFERENCES task_templates(id);
"""
