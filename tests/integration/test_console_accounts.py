"""Console users and sessions on a real database: passwords hashed with Argon2id, sign-in that
does not tell a wrong name from a wrong password, throttling, and sessions that end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from orderhub.adapters.store.schema import console_sessions, console_users
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.services.console import accounts, throttle
from orderhub.services.console.accounts import AccountError, SignInRefused

IDLE, LONGEST = timedelta(hours=8), timedelta(hours=24)
PASSWORD = "correct horse battery 🐎"


def _sign_in(hub: Hub, username: str, password: str = PASSWORD, ip: str = "10.0.0.1") -> accounts.SignedIn:
    return accounts.sign_in(hub.db, username, password, ip=ip, user_agent="pytest", idle=IDLE)


def _session(hub: Hub, token: str, **kw: object) -> accounts.Session | None:
    return accounts.session(hub.db, token, idle=IDLE, longest=LONGEST, **kw)  # type: ignore[arg-type]


def test_a_user_signs_in_and_out_and_only_hashes_are_stored(hub: Hub) -> None:
    accounts.add_user(hub.db, "Zoë 🌸", PASSWORD, "operator")
    signed = _sign_in(hub, "zoë 🌸")  # names are the same whatever their case
    assert (signed.username, signed.role) == ("Zoë 🌸", "operator")
    with hub.db.read() as conn:
        stored = conn.execute(select(console_users.c.password_hash, console_users.c.last_sign_in_at)).one()
        session_ids = conn.execute(select(console_sessions.c.id)).scalars().all()
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    assert stored.last_sign_in_at is not None
    assert session_ids and signed.token not in session_ids  # the row holds the token's hash
    current = _session(hub, signed.token)
    assert current is not None and (current.username, current.role, current.csrf_token) == (
        "Zoë 🌸", "operator", signed.csrf_token)
    assert current.may("operator") and current.may("viewer") and not current.may("admin")
    accounts.sign_out(hub.db, signed.token)
    assert _session(hub, signed.token) is None
    assert _session(hub, "not-a-token") is None and _session(hub, None) is None  # type: ignore[arg-type]


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(hub: Hub) -> None:
    accounts.add_user(hub.db, "ana", PASSWORD, "viewer")
    answers = []
    for name, password in (("ana", "wrong password here"), ("nobody", PASSWORD), ("ana", "x" * 5000)):
        with pytest.raises(SignInRefused) as refused:
            _sign_in(hub, name, password)
        answers.append(str(refused.value))
    assert answers == ["wrong username or password"] * 3


def test_failures_throttle_the_address_for_the_name_then_the_address_not_the_owner(hub: Hub) -> None:
    accounts.add_user(hub.db, "ana", PASSWORD, "admin")
    for n in range(accounts.MAX_FAILURES_PER_PAIR):
        with pytest.raises(SignInRefused, match="wrong username or password"):
            _sign_in(hub, "ana", f"guess number {n}", ip="10.0.1.1")
    with pytest.raises(SignInRefused, match="too many failed sign-ins") as refused:
        _sign_in(hub, "ana", ip="10.0.1.1")  # that address waits, even with the right password
    assert refused.value.retry_after is not None and 890 <= refused.value.retry_after <= 901
    for n in range(10):  # failures from many other addresses do not lock the name ...
        with pytest.raises(SignInRefused, match="wrong username or password"):
            _sign_in(hub, "ana", f"guess number {n}", ip=f"10.0.2.{n}")
    assert _sign_in(hub, "ana", ip="10.9.9.9").role == "admin"  # ... for the owner's own address
    accounts.add_user(hub.db, "bo", PASSWORD, "viewer")
    for n in range(accounts.MAX_FAILURES_PER_ADDRESS):
        with pytest.raises(SignInRefused):
            _sign_in(hub, f"guess-{n}", "whatever password", ip="203.0.113.7")
    with pytest.raises(SignInRefused, match="too many"):
        _sign_in(hub, "bo", ip="203.0.113.7")
    assert _sign_in(hub, "bo", ip="198.51.100.1").role == "viewer"  # another address is not held back


def test_a_success_forgets_the_address_failures_for_the_name(hub: Hub) -> None:
    accounts.add_user(hub.db, "ana", PASSWORD, "admin")
    for _ in range(3):
        for n in range(accounts.MAX_FAILURES_PER_PAIR - 1):
            with pytest.raises(SignInRefused, match="wrong username or password"):
                _sign_in(hub, "ana", f"typo number {n}")
        assert _sign_in(hub, "ana").role == "admin"


def test_failures_from_many_addresses_slow_those_addresses_not_a_fresh_one(hub: Hub) -> None:
    accounts.add_user(hub.db, "ana", PASSWORD, "admin")
    for n in range(throttle.MAX_FAILURES_PER_USER + 1):  # the name is past its failures, from everywhere
        with pytest.raises(SignInRefused, match="wrong username or password"):
            _sign_in(hub, "ana", f"guess number {n}", ip=f"10.0.3.{n}")
    with pytest.raises(SignInRefused, match="wrong username or password"):
        _sign_in(hub, "ana", "another guess", ip="10.0.3.0")  # failed here before: the slow lane's one turn
    with pytest.raises(SignInRefused, match="too many") as slowed:
        _sign_in(hub, "ana", PASSWORD, ip="10.0.3.1")  # failed here before: waits for the next turn
    assert slowed.value.retry_after == int(throttle.SLOW_LANE.total_seconds())
    assert _sign_in(hub, "ana", ip="10.9.9.9").role == "admin"  # the owner's own address: at once


def test_a_name_that_casefolds_past_its_length_is_still_throttled(hub: Hub) -> None:
    long_name = "\ufb03" * 64  # 64 characters, 192 once casefolded
    for n in range(throttle.MAX_FAILURES_PER_PAIR):
        with pytest.raises(SignInRefused, match="wrong username or password"):
            _sign_in(hub, long_name, f"guess number {n}")
    with pytest.raises(SignInRefused, match="too many"):
        _sign_in(hub, long_name, "one more guess")


def test_sessions_end_when_idle_too_long_at_their_longest_and_when_the_user_changes(hub: Hub) -> None:
    accounts.add_user(hub.db, "ana", PASSWORD, "admin")
    token = _sign_in(hub, "ana").token
    assert _session(hub, token, now=utcnow() + IDLE - timedelta(minutes=5)) is not None  # and extends it
    assert _session(hub, token, now=utcnow() + IDLE + timedelta(hours=1)) is not None  # extended above
    assert _session(hub, token, now=utcnow() + LONGEST + timedelta(minutes=1)) is None  # however active
    assert _session(hub, token) is None  # and it is gone
    token = _sign_in(hub, "ana").token
    accounts.set_password(hub.db, "ANA", "a brand new password")
    assert _session(hub, token) is None
    token = _sign_in(hub, "ana", "a brand new password").token
    accounts.set_disabled(hub.db, "ana", True)
    assert _session(hub, token) is None
    with pytest.raises(SignInRefused, match="wrong username or password"):
        _sign_in(hub, "ana", "a brand new password")
    accounts.set_disabled(hub.db, "ana", False)
    accounts.set_role(hub.db, "ana", "viewer")
    assert _sign_in(hub, "ana", "a brand new password").role == "viewer"


@pytest.mark.parametrize(("username", "password", "role", "problem"), [
    ("", PASSWORD, "viewer", "must not be empty"),
    ("x" * 65, PASSWORD, "viewer", "at most 64 characters"),
    ("line\nbreak", PASSWORD, "viewer", "control character"),
    ("evil\u202egnp.exe", PASSWORD, "viewer", "control character"),
    ("ana", "too short", "viewer", "at least 12 characters"),
    ("ana", PASSWORD, "root", "unknown role 'root'"),
])
def test_bad_users_are_refused_with_the_reason(hub: Hub, username: str, password: str, role: str,
                                               problem: str) -> None:
    with pytest.raises(AccountError, match=problem):
        accounts.add_user(hub.db, username, password, role)


def test_names_with_emoji_joiners_are_fine_and_unique_without_case(hub: Hub) -> None:
    accounts.add_user(hub.db, "👩‍💻 Dev", PASSWORD, "viewer")
    with pytest.raises(AccountError, match="exists already"):
        accounts.add_user(hub.db, "👩‍💻 DEV", PASSWORD, "admin")
