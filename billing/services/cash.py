"""Saving a cash forecast as a snapshot, so its accuracy against actual cash can be shown later."""

from datetime import date

from django.contrib.auth.models import User
from django.db import transaction

from billing.models import CashForecastLine, CashForecastSnapshot
from billing.selectors.cash_forecast import Scenario, cash_forecast
from psa.core.exceptions import PermissionDeniedError, ValidationFailed
from psa.core.fx import convert
from psa.core.roles import Role, has_role
from psa.core.totals import rates_available


@transaction.atomic
def cash_forecast_snapshot_save(
    *, as_of: date, by: User, scenario: Scenario | None = None, note: str = ""
) -> CashForecastSnapshot:
    """Compute the forecast for `as_of` under `scenario` and store every bucket's figure per kind and currency,
    weekly and monthly, with the functional value at the rates of `as_of` (null where a currency has no rate: the
    snapshot names it). Finance and administrators only. One transaction; the lines in one insert."""
    if not has_role(by, Role.FINANCE, Role.ADMIN):
        raise PermissionDeniedError("Only finance may save a cash forecast.")
    if len(note) > 200:
        raise ValidationFailed("The note is too long.", fields={"note": ["Use at most 200 characters."]})
    scenario = scenario or Scenario()
    forecast = cash_forecast(as_of=as_of, scenario=scenario)
    currencies = {c for table in (forecast.weekly, forecast.monthly) for c in table.cells}
    rates, missing = rates_available(currencies, on=as_of)
    snapshot = CashForecastSnapshot.objects.create(
        as_of=as_of,
        note=note,
        scenario=scenario.as_dict(),
        functional_currency=forecast.monthly.functional,
        rates_text=forecast.monthly.rates_text or forecast.weekly.rates_text,
        missing_rates=", ".join(missing),
        created_by=by,
    )
    lines = []
    for table in (forecast.weekly, forecast.monthly):
        for currency, kinds in table.cells.items():
            rate = rates.get(currency)
            for kind, values in kinds.items():
                for (start, end), amount in zip(table.buckets, values, strict=True):
                    if not amount:
                        continue
                    lines.append(
                        CashForecastLine(
                            snapshot=snapshot,
                            granularity=table.granularity,
                            bucket_start=start,
                            bucket_end=end,
                            kind=kind,
                            currency=currency,
                            amount=amount,
                            functional=convert(amount=amount, rate=rate) if rate is not None else None,
                        )
                    )
    CashForecastLine.objects.bulk_create(lines)
    return snapshot
