"""SuperNode authentication checks with the pinned flwr's own code.

verify <json>        <json> holds HTTP headers a Java NodeSigner made ("headers") and
                     gRPC values ("grpc": base64 key, timestamp, base64 signature); checks them
                     as flwr's SuperLink does (superlink/routers/fleet/node_auth.py and
                     server/superlink/fleet/grpc_rere/node_auth_server_interceptor.py) and
                     prints one verdict per case as JSON: "accepted" or the reason
keyfiles <dir>       loads <dir>/java_openssh (Java-written OpenSSH private key) as
                     flower-supernode does, <dir>/java.pub as `flwr supernode register` does,
                     prints both public keys as flwr serializes them; writes a Python key as
                     <dir>/py_openssh (OpenSSH) and <dir>/py_pkcs8.pem with its public PEM
"""

import base64
import binascii
import datetime
import json
import os
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_ssh_private_key
from flwr.common.constant import SYSTEM_TIME_TOLERANCE, TIMESTAMP_TOLERANCE
from flwr.supercore.date import now
from flwr.supercore.primitives.asymmetric import (
    bytes_to_public_key,
    generate_key_pairs,
    public_key_to_bytes,
    verify_signature,
)


def check(public_key: bytes, timestamp: str, signature: bytes) -> str:
    """The SuperLink's checks (node_auth.authenticate_node), minus the node-id lookup."""
    try:
        signed_at = datetime.datetime.fromisoformat(timestamp)
        age = (now() - signed_at).total_seconds()
        if not -SYSTEM_TIME_TOLERANCE < age < TIMESTAMP_TOLERANCE + SYSTEM_TIME_TOLERANCE:
            return "timestamp outside the allowed window"
        key = bytes_to_public_key(public_key)
        if public_key_to_bytes(key) != public_key:
            return "public key bytes differ from cryptography's PEM"
        if not verify_signature(key, timestamp.encode("ascii"), signature):
            return "invalid signature"
        return "accepted"
    except (KeyError, ValueError, TypeError, UnicodeError, binascii.Error) as exc:
        return f"rejected: {exc}"


def verify(path):
    with open(path, encoding="utf-8") as f:
        cases = json.load(f)
    verdicts = {}
    for name, case in cases.items():
        if "headers" in case:
            h = case["headers"]
            try:
                verdicts[name] = check(
                    base64.b64decode(h["flwr-public-key"], validate=True),
                    h["flwr-timestamp"],
                    base64.b64decode(h["flwr-signature"], validate=True),
                )
            except (KeyError, binascii.Error) as exc:
                verdicts[name] = f"rejected: {exc!r}"
        else:
            g = case["grpc"]
            verdicts[name] = check(
                base64.b64decode(g["key"]), g["timestamp"], base64.b64decode(g["signature"])
            )
    print(json.dumps(verdicts))


def keyfiles(d):
    with open(os.path.join(d, "java_openssh"), "rb") as f:
        sk = load_ssh_private_key(f.read(), None)
    assert isinstance(sk, ec.EllipticCurvePrivateKey) and sk.curve.name == "secp384r1"
    with open(os.path.join(d, "java.pub"), "rb") as f:
        pk = serialization.load_ssh_public_key(f.read())
    py_sk, py_pk = generate_key_pairs()
    with open(os.path.join(d, "py_openssh"), "wb") as f:
        f.write(
            py_sk.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.OpenSSH,
                serialization.NoEncryption(),
            )
        )
    with open(os.path.join(d, "py_pkcs8.pem"), "wb") as f:
        f.write(
            py_sk.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    with open(os.path.join(d, "py_sec1.pem"), "wb") as f:
        f.write(
            py_sk.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    print(
        json.dumps(
            {
                "java_private_public_pem": public_key_to_bytes(sk.public_key()).decode(),
                "java_pub_pem": public_key_to_bytes(pk).decode(),
                "py_public_pem": public_key_to_bytes(py_pk).decode(),
                "py_openssh_pub": py_pk.public_bytes(
                    serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
                ).decode(),
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1] == "verify":
        verify(sys.argv[2])
    else:
        keyfiles(sys.argv[2])
