"""Delivery sends every message once: with a mail server slower than a lease, with two
services at once, and over STARTTLS with a login."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app import create_app
from app.core import outbox
from app.core.outbox import OutboxMessage, deliver_due, enqueue_email
from app.extensions import db
from tests.faults import harness

MESSAGES = 8


@pytest.fixture
def smtp_port():
    port = harness.free_port()
    yield port
    harness.release_port(port)


def test_a_slow_mail_server_gets_each_message_once_from_two_services(
    settings, smtp_port, monkeypatch
):
    """Given a server slower per message than a lease lasts over a whole batch, two
    services delivering at once send every message exactly once."""
    app = create_app(replace(settings, smtp_host="127.0.0.1", smtp_port=smtp_port))
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the embedded database has one delivery service")
        for n in range(MESSAGES):
            enqueue_email(f"rep{n}@example.org", "Konsultation", "Du är inbjuden.")
        db.session.commit()
        queued = {m.message_id for m in db.session.scalars(db.select(OutboxMessage))}
    # A lease of one second, a server that takes a third of one per message: a batch of
    # eight would outlive its lease; one message never does.
    monkeypatch.setattr(outbox, "LEASE", timedelta(seconds=1))
    mailbox = harness.Mailbox(0.3)
    server = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    server.start()
    barrier = threading.Barrier(2)

    def service() -> None:
        """As `flask outbox deliver --loop` does: round after round, until all is sent."""
        with app.app_context():
            barrier.wait()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                deliver_due()
                unsent = db.select(db.func.count()).where(OutboxMessage.sent_at.is_(None))
                if db.session.scalar(unsent) == 0:
                    return
                db.session.rollback()
                time.sleep(0.2)

    try:
        services = [threading.Thread(target=service) for _ in range(2)]
        for thread in services:
            thread.start()
        for thread in services:
            thread.join(timeout=60)
    finally:
        server.stop()
    assert dict(mailbox.message_ids) == dict.fromkeys(queued, 1)
    with app.app_context():
        db.engine.dispose()


def self_signed() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


class Authenticator:
    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"relay-password"
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)


def test_mail_goes_over_starttls_with_a_login(settings, smtp_port, tmp_path):
    certificate, key = self_signed()
    (tmp_path / "cert.pem").write_bytes(certificate)
    (tmp_path / "key.pem").write_bytes(key)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    mailbox, authenticator = harness.Mailbox(), Authenticator()
    server = Controller(
        mailbox, hostname="127.0.0.1", port=smtp_port, tls_context=server_tls,
        require_starttls=True, authenticator=authenticator, auth_require_tls=True,
    )  # fmt: skip
    server.start()
    app = create_app(
        replace(
            settings, smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_security="starttls",
            smtp_username="utvag", smtp_password="relay-password",
            smtp_ca_file=str(tmp_path / "cert.pem"),
        )
    )  # fmt: skip
    try:
        with app.app_context():
            enqueue_email("rep@example.org", "Konsultation", "Du är inbjuden.")
            db.session.commit()
            assert deliver_due() == (1, 0)
            db.engine.dispose()
    finally:
        server.stop()
    assert sum(mailbox.message_ids.values()) == 1
    assert authenticator.logins == ["utvag"]


def test_a_server_whose_certificate_is_not_trusted_gets_nothing(settings, smtp_port, tmp_path):
    certificate, key = self_signed()
    (tmp_path / "cert.pem").write_bytes(certificate)
    (tmp_path / "key.pem").write_bytes(key)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    mailbox = harness.Mailbox()
    server = Controller(mailbox, hostname="127.0.0.1", port=smtp_port, tls_context=server_tls)
    server.start()
    app = create_app(
        replace(settings, smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_security="starttls")
    )
    try:
        with app.app_context():
            enqueue_email("rep@example.org", "Konsultation", "Du är inbjuden.")
            db.session.commit()
            assert deliver_due() == (0, 1)
            db.engine.dispose()
    finally:
        server.stop()
    assert sum(mailbox.message_ids.values()) == 0
