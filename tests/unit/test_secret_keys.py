"""The keyring that encrypts stored secrets: no database, just keys and values."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from orderhub.adapters.store import secrets as secret_box


def _ring(*keys: str) -> secret_box.Keyring:
    return secret_box.load("sqlite:///unused.db", secret_box.KeySource(keys=",".join(keys)))


def test_a_value_carries_its_key_id_and_reads_back_only_in_its_own_column() -> None:
    key = secret_box.new_key()
    ring = _ring(key)
    sealed = ring.encrypt("shops.webhook_secret", "s3cret-🦋")
    kid = secret_box.key_id(base64.urlsafe_b64decode(key))
    assert sealed.startswith(f"ohsec1:{kid}:") and "s3cret" not in sealed
    assert secret_box.stored_key_id(sealed) == kid
    assert ring.decrypt("shops.webhook_secret", sealed) == "s3cret-🦋"
    assert ring.encrypt("shops.webhook_secret", "s3cret-🦋") != sealed  # a fresh nonce every time
    with pytest.raises(secret_box.SecretKeyError, match="damaged"):
        ring.decrypt("destinations.secret", sealed)  # moved to another column


def test_older_keys_still_decrypt_and_the_first_encrypts() -> None:
    old, new = secret_box.new_key(), secret_box.new_key()
    sealed_old = _ring(old).encrypt("destinations.secret", "erp")
    both = _ring(new, old)
    assert both.decrypt("destinations.secret", sealed_old) == "erp"
    assert secret_box.stored_key_id(both.encrypt("destinations.secret", "erp")) == both.current_id != \
        secret_box.stored_key_id(sealed_old)
    with pytest.raises(secret_box.SecretKeyError, match="not among the keys in ORDERHUB_SECRET_KEY"):
        _ring(new).decrypt("destinations.secret", sealed_old, "destination erp")


def test_a_legacy_clear_value_is_read_as_it_is() -> None:
    assert _ring(secret_box.new_key()).decrypt("shops.access_token", "shpat_clear") == "shpat_clear"
    assert secret_box.stored_key_id("shpat_clear") is None


def test_the_key_file_is_made_0600_and_picked_up_again_when_another_process_rotates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    ring = secret_box.load(url, secret_box.KeySource())
    path = tmp_path / "o.db.keys"
    assert ring.path == path and stat.S_IMODE(path.stat().st_mode) == 0o600
    first = ring.current_id
    added = secret_box.new_key()
    secret_box.write_key_file(path, [added, *(base64.urlsafe_b64encode(k).decode() for k in ring.keys)])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sealed = _ring(added).encrypt("subscriptions.secret", "whsec_x")
    assert ring.decrypt("subscriptions.secret", sealed) == "whsec_x"  # reread on an unknown key id
    assert ring.current_id != first and first in ring.ids
