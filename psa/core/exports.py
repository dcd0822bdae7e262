"""CSV writing shared by every export (time, invoices, the ledger journal, the ledger and revenue reports).

A spreadsheet evaluates a cell that starts with `=`, `+`, `-` or `@` (and some start one after a tab or a
carriage return), so a consultant's time note or a client's name could become a formula in finance's workbook
(CSV injection). Every export writes through `csv_writer`, which prefixes such a text cell with an apostrophe:
spreadsheets show it as text and never evaluate it. A value that is a number - a Decimal or int, or text that
is a plain decimal such as "-12.50" - is written as it is, so a negative amount stays a number.
"""

import csv
import re
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def csv_cell(value) -> object:
    """The value as the writer should write it: numbers unchanged, formula-like text as text."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return value
    if isinstance(value, int | Decimal):
        return value
    if value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class _SafeWriter:
    def __init__(self, stream, **kwargs) -> None:
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, row):
        return self._writer.writerow([csv_cell(value) for value in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(stream, **kwargs) -> _SafeWriter:
    """`csv.writer` for exports: the same interface, with formula-like text cells neutralised."""
    return _SafeWriter(stream, **kwargs)
