"""Settings describe themselves, from_env reads what they describe, and the settings reference
lists every ORDERHUB_* variable the code reads."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from orderhub.config import Settings, environment_fields
from orderhub.reference import markdown
from orderhub.reference import settings as settings_reference

SRC = Path(__file__).resolve().parents[2] / "src" / "orderhub"


def test_every_setting_but_extra_names_its_variable_and_says_what_it_means() -> None:
    for f in fields(Settings):
        if f.name == "extra":
            assert f.metadata["env"] is None
            continue
        assert re.fullmatch(r"ORDERHUB_[A-Z0-9_]+", f.metadata["env"]), f.name
        assert f.metadata["description"].strip(), f.name
    names = [env for _, env in environment_fields()]
    assert len(names) == len(set(names))


def test_from_env_reads_each_variable_as_its_field_says(monkeypatch: pytest.MonkeyPatch) -> None:
    for _, env in environment_fields():
        monkeypatch.delenv(env, raising=False)
    assert Settings.from_env() == Settings()
    for env, value in {"ORDERHUB_DATABASE_URL": "postgresql+psycopg://db/orderhub", "ORDERHUB_MAX_ATTEMPTS": "3",
                       "ORDERHUB_LEASE_SECONDS": "2.5", "ORDERHUB_SQLITE_SYNCHRONOUS": "normal",
                       "ORDERHUB_LOG_LEVEL": "debug", "ORDERHUB_LOG_FORMAT": "Text", "ORDERHUB_SMTP_TLS": " SSL ",
                       "ORDERHUB_OPEN_ENDPOINTS": "metrics, Docs", "ORDERHUB_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
                       "ORDERHUB_SFTP_HOST": "", "ORDERHUB_SECRET_KEY": "k1,k2"}.items():
        monkeypatch.setenv(env, value)
    s = Settings.from_env()
    assert (s.database_url, s.max_attempts, s.lease_seconds) == ("postgresql+psycopg://db/orderhub", 3, 2.5)
    assert (s.sqlite_synchronous, s.log_level, s.log_json, s.smtp_tls) == ("NORMAL", "DEBUG", False, "ssl")
    assert s.open_endpoints == frozenset({"metrics", "docs"}) and s.trusted_proxies == ("10.0.0.0/8", "::1")
    assert s.sftp_host is None and s.secret_key == "k1,k2" and s.extra == {}
    assert "k1,k2" not in repr(s)
    monkeypatch.setenv("ORDERHUB_LOG_FORMAT", "JSON")
    assert Settings.from_env().log_json is True


@pytest.mark.parametrize(("env", "value", "says"), [
    ("ORDERHUB_MAX_ATTEMPTS", "many", "ORDERHUB_MAX_ATTEMPTS must be an integer, got 'many'"),
    ("ORDERHUB_LEASE_SECONDS", "soon", "ORDERHUB_LEASE_SECONDS must be a number, got 'soon'"),
    ("ORDERHUB_CONSOLE_SECURE_COOKIES", "maybe", "ORDERHUB_CONSOLE_SECURE_COOKIES must be one of auto, always, "
                                                 "never, got 'maybe'"),
    ("ORDERHUB_OPEN_ENDPOINTS", "metrics,admin", "ORDERHUB_OPEN_ENDPOINTS takes metrics, docs"),
    ("ORDERHUB_TRUSTED_PROXIES", "10.0.0.300", "ORDERHUB_TRUSTED_PROXIES: '10.0.0.300' is not an address"),
])
def test_a_value_that_cannot_be_read_stops_the_start_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch, env: str, value: str, says: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SystemExit, match=re.escape(says)):
        Settings.from_env()


def test_the_reference_lists_every_setting_with_its_type_default_and_meaning() -> None:
    text = settings_reference.reference()
    for f, env in environment_fields():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{env}`{{#{env}}} |"))
        assert row.endswith(f"| {markdown.text(f.metadata['description'])} |")
    assert "| `ORDERHUB_MAX_WEBHOOK_BYTES`{#ORDERHUB_MAX_WEBHOOK_BYTES} | integer | `5242880` (5 MiB) |" in text
    assert ("| `ORDERHUB_SMTP_TLS`{#ORDERHUB_SMTP_TLS} | one of: `starttls`, `required`, `ssl`, `off` | `starttls` |"
            in text)
    assert "| `ORDERHUB_LOG_FORMAT`{#ORDERHUB_LOG_FORMAT} | json or text | `json` |" in text
    assert "| `ORDERHUB_SFTP_HOST`{#ORDERHUB_SFTP_HOST} | text | unset |" in text


def _variables_in_source() -> set[str]:
    found = set()
    for path in SRC.rglob("*.py"):
        found |= set(re.findall(r"ORDERHUB_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
    return {name for name in found if not name.endswith("_")}  # ORDERHUB_SFTP_* names a family, not a variable


def test_every_orderhub_variable_the_code_mentions_is_in_the_reference() -> None:
    used = _variables_in_source()
    assert {"ORDERHUB_OUTBOUND_ALLOWED_HOSTS", "ORDERHUB_JOB_MODULES", "ORDERHUB_DATABASE_URL"} <= used
    text = settings_reference.reference()
    missing = sorted(name for name in used if f"{{#{name}}}" not in text)
    assert not missing, f"not in the settings reference: {', '.join(missing)} (a Settings field, or READ_ELSEWHERE)"
