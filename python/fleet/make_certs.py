#!/usr/bin/env python3
"""Create TLS material and SuperNode auth keys for local (loopback) Fleet tests.

    python make_certs.py --out DIR [--nodes 2]

Writes into DIR (git-ignored: python/fleet/.certs/ by default):
  ca.crt / ca.key             self-signed CA (P-384, 7 days)
  server.pem / server.key     SuperLink cert signed by the CA, SAN 127.0.0.1, ::1, localhost
  node<i> / node<i>.pub       SuperNode auth keys: ECDSA P-384 in OpenSSH format
                              (private: "-----BEGIN OPENSSH PRIVATE KEY-----",
                               public:  "ecdsa-sha2-nistp384 AAAA... node<i>") - the
                              formats `flower-supernode --auth-supernode-private-key` and
                              `flwr supernode register` load.
SuperLink flags: --ssl-ca-certfile ca.crt --ssl-certfile server.pem --ssl-keyfile server.key
Prints a JSON summary of the paths.
"""

import argparse
import datetime
import ipaddress
import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_OUT = Path(__file__).resolve().parent / ".certs"


def _write_key_pem(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def make_tls(out: Path, days: int = 7) -> dict[str, str]:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flower-java test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
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
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    srv_key = ec.generate_private_key(ec.SECP384R1())
    srv_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(srv_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (out / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_key_pem(out / "ca.key", ca_key)
    (out / "server.pem").write_bytes(srv_cert.public_bytes(serialization.Encoding.PEM))
    _write_key_pem(out / "server.key", srv_key)
    return {
        k: str(out / f)
        for k, f in (
            ("ca", "ca.crt"),
            ("ca_key", "ca.key"),
            ("server_cert", "server.pem"),
            ("server_key", "server.key"),
        )
    }


def make_node_key(out: Path, name: str) -> dict[str, str]:
    key = ec.generate_private_key(ec.SECP384R1())
    priv = out / name
    priv.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    priv.chmod(0o600)
    pub = out / f"{name}.pub"
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        + f" {name}\n".encode()
    )
    return {"private": str(priv), "public": str(pub)}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--nodes", type=int, default=2, help="number of SuperNode key pairs")
    ap.add_argument("--days", type=int, default=7)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    summary = make_tls(args.out, args.days)
    summary["nodes"] = [make_node_key(args.out, f"node{i}") for i in range(args.nodes)]
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
