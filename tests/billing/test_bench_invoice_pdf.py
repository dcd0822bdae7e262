"""The invoice_pdf benchmark record runs and has the agreed shape, and leaves no billable milestone for a later
workload (inside `make test`; outside a test transaction, as `make bench` runs it)."""

import pytest

from projects.models import Milestone
from tests.benchmarks.workloads import invoice_pdf

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_invoice_pdf_record_has_the_agreed_shape():
    (record,) = invoice_pdf.run("tiny")
    d = record.as_dict()
    assert d["name"] == "invoice_pdf" and d["goal_ratio"] == 1.2
    assert d["ours_s"] > 0 and d["baseline_s"] > 0 and d["queries"] <= 10
    assert not Milestone.objects.exists()
