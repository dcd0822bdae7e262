"""The text of a PDF for assertions, read with pypdf (a Python library: no Debian poppler-utils needed).

Layout mode keeps a table row on one line with its cells in order, as `pdftotext -layout` did.
"""

import io
from pathlib import Path

from pypdf import PdfReader


def pdf_text(pdf: bytes | str | Path) -> str:
    source = io.BytesIO(pdf) if isinstance(pdf, bytes) else str(pdf)
    reader = PdfReader(source)
    return "\n".join(page.extract_text(extraction_mode="layout") for page in reader.pages)
