"""Trial reports: HTML (jinja2)."""
