"""django-hordak, run side by side with PSA's posting for the journal_post_vs_hordak benchmark.

Hordak needs Django 5.0 (PSA runs Django 6), so it lives in its own virtual environment (.venv-hordak, built by
`make bench` from requirements.txt here) and its own database; `post.py` runs there as a separate process with
`settings.py` and reports its timings as JSON. Nothing in this folder is imported by PSA's Django.
"""
