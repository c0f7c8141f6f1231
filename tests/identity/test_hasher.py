from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, identify_hasher, make_password

from okpay.identity.passwords import Argon2idHasher


def test_passwords_are_argon2id_with_owasp_parameters() -> None:
    encoded = Argon2idHasher().encode("Correct-horse-9-battery", Argon2idHasher().salt())
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert Argon2idHasher().verify("Correct-horse-9-battery", encoded)
    assert not Argon2idHasher().verify("wrong-password-1!", encoded)


def test_hashes_with_django_defaults_are_upgraded(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["okpay.identity.passwords.Argon2idHasher"]
    old = Argon2PasswordHasher().encode("Correct-horse-9-battery", Argon2PasswordHasher().salt())
    assert identify_hasher(old).must_update(old)
    upgraded: list[str] = []
    assert check_password("Correct-horse-9-battery", old, setter=upgraded.append)
    assert upgraded == ["Correct-horse-9-battery"]  # Django's setter re-hashes it with our parameters
    new = make_password("Correct-horse-9-battery")
    assert "$m=19456,t=2,p=1$" in new
    assert check_password("Correct-horse-9-battery", new)
