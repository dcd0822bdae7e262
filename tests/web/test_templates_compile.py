"""Every template compiles: an unknown filter or tag (an include that uses a library it does not load) fails here,
not as a 500 on the one page that renders it."""

from pathlib import Path

import pytest
from django.template.loader import get_template

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
NAMES = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*") if p.suffix in {".html", ".txt", ".xml"})


def test_there_are_templates_to_check():
    assert len(NAMES) > 100


@pytest.mark.parametrize("name", NAMES)
def test_the_template_compiles(name):
    get_template(name)
