"""Ed25519 keys, key files and the partners' keyring; signing and verifying envelopes."""

import logging
import os
import stat

import msgspec
import pytest

from skyweave.share import (
    BadSignature,
    Envelope,
    Keyring,
    KeyFileError,
    UnknownSender,
    Unsigned,
    generate_key,
    generate_nation_keys,
    load_private_key,
    load_public_key,
    private_key_b64,
    public_key_b64,
    save_private_key,
    save_public_key,
    sign_envelope,
    verify_envelope,
)


def env(**kw):
    base = dict(kind="status", sender="USA", node="usa-1", seq=1, msg_id="USA:usa-1:1", t=0.0, recipient="JPN",
                releasable_to=("JPN", "USA"), payload=b"body")
    base.update(kw)
    return Envelope(**base)


def test_nation_key_files_modes_and_round_trip(tmp_path):
    os.umask(0o022)
    pubs = generate_nation_keys(["USA", "JPN", "AUS"], tmp_path / "keys")
    for nation in ("USA", "JPN", "AUS"):
        assert stat.S_IMODE((tmp_path / "keys" / f"{nation}.key").stat().st_mode) == 0o600
        assert stat.S_IMODE(pubs[nation].stat().st_mode) == 0o644
        key = load_private_key(tmp_path / "keys" / f"{nation}.key")
        assert public_key_b64(load_public_key(pubs[nation])) == public_key_b64(key)
    ring = Keyring.from_config({n: str(p) for n, p in pubs.items()})
    assert ring.nations == ("AUS", "JPN", "USA")
    with pytest.raises(KeyFileError, match="exists"):
        generate_nation_keys(["USA"], tmp_path / "keys")


def test_private_key_file_is_0600_even_with_a_permissive_umask(tmp_path):
    old = os.umask(0)
    try:
        p = save_private_key(generate_key(), tmp_path / "k.pem")
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_base64_keys_and_keyring_config(tmp_path, caplog):
    key = generate_key()
    (tmp_path / "seed.b64").write_text(private_key_b64(key) + "\n")
    os.chmod(tmp_path / "seed.b64", 0o644)
    with caplog.at_level(logging.WARNING, logger="skyweave.share.signing"):
        loaded = load_private_key(tmp_path / "seed.b64")
    assert "accessible by group/others" in caplog.text
    assert public_key_b64(loaded) == public_key_b64(key)
    ring = Keyring.from_config({"USA": public_key_b64(key)})
    assert Keyring.from_config(ring.to_config()).to_config() == ring.to_config()
    pem = (save_public_key(key, tmp_path / "usa.pub")).read_text()
    assert public_key_b64(load_public_key(pem)) == public_key_b64(key)


@pytest.mark.parametrize("src,words", [
    ("no/such/file.pub", "cannot read"),
    ("QUJD" * 11, "32-byte"),
    ("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n", "not a readable PEM"),
])
def test_bad_public_keys_are_named(src, words):
    with pytest.raises(KeyFileError, match=words):
        load_public_key(src)


def test_non_ed25519_pem_is_refused(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(KeyFileError, match="Ed25519"):
        load_public_key(pem.decode())


def test_sign_and_verify():
    usa, other = generate_key(), generate_key()
    ring = Keyring({"USA": usa.public_key()})
    signed = sign_envelope(env(), usa)
    assert len(signed.sig) == 64
    verify_envelope(signed, ring)
    with pytest.raises(Unsigned):
        verify_envelope(env(), ring)
    with pytest.raises(BadSignature):  # forged: right sender name, wrong key
        verify_envelope(sign_envelope(env(), other), ring)
    with pytest.raises(BadSignature):  # tampered after signing: recipient rewritten
        verify_envelope(msgspec.structs.replace(signed, recipient="AUS"), ring)
    with pytest.raises(UnknownSender):
        verify_envelope(sign_envelope(env(sender="GBR", msg_id="GBR:usa-1:1"), other), ring)
    ring.remove("USA")  # revocation
    with pytest.raises(UnknownSender):
        verify_envelope(signed, ring)
