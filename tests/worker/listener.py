"""A tiny HTTP(S) server on 127.0.0.1 and a free port for the download tests: it counts every
connection made to it, records every request it reads, and answers as the test tells it."""

from __future__ import annotations

import dataclasses
import datetime
import http.server
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

Answer = Callable[[http.server.BaseHTTPRequestHandler, threading.Event], None]


@dataclasses.dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]


class Listener:
    """`with Listener(serve(b"...")) as listener:` a server answering every GET with `answer`;
    `connections` counts the TCP connections accepted, `requests` the requests read."""

    def __init__(self, answer: Answer, *, tls: ssl.SSLContext | None = None) -> None:
        self.connections = 0
        self.requests: list[Seen] = []
        self.server_names: list[str | None] = []
        self._stopping = threading.Event()
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.requests.append(Seen(self.path, dict(self.headers.items())))
                answer(self, listener._stopping)

            def log_message(self, *args) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            block_on_close = False

            def verify_request(self, request, client_address) -> bool:
                listener.connections += 1
                return True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls is not None:
            tls.sni_callback = lambda _socket, name, _context: self.server_names.append(name)
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def origin(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def url(self, path: str = "/x") -> str:
        return self.origin + path

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()


def serve(body: bytes, *, length: int | None = None) -> Answer:
    """200 with `body`; Content-Length `length` (the body's own by default), none when -1."""

    def answer(handler: http.server.BaseHTTPRequestHandler, _stopping: threading.Event) -> None:
        handler.send_response(200)
        if length != -1:
            handler.send_header("Content-Length", str(len(body) if length is None else length))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def redirect(location: str, *, status: int = 302) -> Answer:
    def answer(handler: http.server.BaseHTTPRequestHandler, _stopping: threading.Event) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def trickle(handler: http.server.BaseHTTPRequestHandler, stopping: threading.Event) -> None:
    """200, then one byte every 50 ms for as long as the client stays."""
    handler.send_response(200)
    handler.end_headers()
    while not stopping.is_set():
        try:
            handler.wfile.write(b"x")
            handler.wfile.flush()
        except OSError:
            return
        time.sleep(0.05)


def tls_for(names: list[str], folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context whose certificate is for `names`, signed by a new test authority;
    and that authority's certificate (PEM) for clients to trust (SSL_CERT_FILE)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def certificate(subject: str, key, issuer: str, issuer_key, *, authority: bool):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=authority, path_length=None), critical=True)
        )
        if authority:
            builder = builder.add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            ).add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name) for name in names]),
                critical=False,
            ).add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                critical=False,
            )
        return builder.sign(issuer_key, hashes.SHA256())

    authority_key = ec.generate_private_key(ec.SECP256R1())
    authority = certificate(
        "Test authority", authority_key, "Test authority", authority_key, authority=True
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = certificate(names[0], server_key, "Test authority", authority_key, authority=False)
    pem = serialization.Encoding.PEM
    authority_file = folder / "authority.pem"
    authority_file.write_bytes(authority.public_bytes(pem))
    chain_file = folder / "server.pem"
    chain_file.write_bytes(
        server.public_bytes(pem)
        + server_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain_file)
    return context, authority_file
