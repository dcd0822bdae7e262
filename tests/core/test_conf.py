"""Every PSA_* setting is declared once in psa/conf.py, with its default, and read without a default of its own."""

import re
from pathlib import Path

import environ
import pytest
from django.conf import settings

from psa.conf import DECLARED, FIRM_NAMES, env_read, settings_value

ROOT = Path(__file__).resolve().parents[2]
CODE = [p for app in ("psa", "crm", "projects", "ledger", "billing") for p in (ROOT / app).rglob("*.py")]


def test_every_psa_setting_the_code_reads_is_declared():
    read = set()
    for path in CODE:
        read |= set(re.findall(r"settings\.(PSA_[A-Z0-9_]+)", path.read_text()))
        read |= set(re.findall(r'settings_value\("(PSA_[A-Z0-9_]+)"\)', path.read_text()))
    assert read - set(DECLARED) - FIRM_NAMES == set()


def test_no_code_reads_a_psa_setting_with_a_default_of_its_own():
    offenders = [str(p) for p in CODE if re.search(r'getattr\(\s*settings,\s*"PSA_', p.read_text())]
    assert offenders == []


def test_every_declared_setting_is_a_django_setting():
    assert [name for name in DECLARED if not hasattr(settings, name)] == []


def test_the_environment_is_read_as_the_declared_defaults_type(monkeypatch):
    monkeypatch.setattr(environ.Env, "ENVIRON", {"PSA_BILLING_LEASE_S": "45", "PSA_WEBHOOKS_ALLOW_PRIVATE": "true"})
    env = environ.Env()
    assert env_read(env, "PSA_BILLING_LEASE_S") == 45
    assert env_read(env, "PSA_WEBHOOKS_ALLOW_PRIVATE") is True
    assert env_read(env, "PSA_EXC_CAP_DAYS") == 30
    roles = env_read(env, "PSA_MFA_REQUIRED_ROLES")
    roles.append("finance")
    assert DECLARED["PSA_MFA_REQUIRED_ROLES"].default == []


def test_an_undeclared_name_is_refused():
    with pytest.raises(KeyError):
        settings_value("PSA_NOT_A_SETTING")
