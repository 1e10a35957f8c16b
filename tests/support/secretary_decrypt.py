#!/usr/bin/env python3
"""Decrypt one secretary ENC[NACL,...] envelope, the way secretary 0.8.0 does.

Test helper for lab (see docs/secretary.md). It needs PyNaCl and nothing else.

An envelope made by `secretary encrypt` (or `lab secrets encrypt`) is a NaCl box
sealed with the *config* private key for the *master* public key. Opening it needs
the other two halves: the master private key and the config public key. The
box payload is base64 (standard alphabet, padded) of nonce(24) || tag(16) || ciphertext.

Usage:
    python3 secretary_decrypt.py --master-private-key KEY_OR_FILE \
        --config-public-key KEY_OR_FILE ENVELOPE

`--sender-public-key` is an alias of `--config-public-key`. A key is given as bare
base64 (44 characters), as PEM text, or as the path of a key file such as
`keys/master-private-key.pem`. ENVELOPE may contain whitespace or line breaks
inside the brackets (`secretary encrypt -w` output); `-` reads it from stdin.

The plaintext is written to stdout byte for byte, with no newline added.
Exit status: 0 on success, 1 if the envelope or a key is malformed or the box
does not open (wrong keys or tampered data), 2 on bad usage.
"""

import argparse
import base64
import binascii
import os
import re
import sys

try:
    from nacl.exceptions import CryptoError
    from nacl.public import Box, PrivateKey, PublicKey
except ImportError:  # pragma: no cover - reported to the caller
    sys.stderr.write("secretary_decrypt.py needs PyNaCl (pip install pynacl)\n")
    sys.exit(1)

KEY_LEN = 32
NONCE_LEN = 24
TAG_LEN = 16

# A whole NACL envelope; the body may hold ASCII whitespace (wrapped output).
ENVELOPE = re.compile(r"ENC\[NACL,([A-Za-z0-9+/=\s]+)\]", re.ASCII)
PEM_BEGIN = re.compile(r"-----BEGIN ([^-\r\n]*)-----")


class Failure(Exception):
    pass


def strict_b64decode(text, what):
    """Standard base64 with padding, no other characters (whitespace removed first)."""
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as err:
        raise Failure("%s is not valid base64 (%s)" % (what, err))


def parse_key_text(text, what):
    """Parse secretary's key text: PEM with any type label, or bare base64."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        lines = text.splitlines()
        begin = PEM_BEGIN.fullmatch(lines[0].strip())
        if begin is None or len(lines) < 3:
            raise Failure("%s: malformed PEM block" % what)
        label = begin.group(1)
        if lines[-1].strip() != "-----END %s-----" % label:
            raise Failure("%s: PEM block has no matching END line" % what)
        body = "".join(lines[1:-1])
    else:
        body = text
    raw = strict_b64decode(body, what)
    if len(raw) != KEY_LEN:
        raise Failure("%s: expected a %d byte key, got %d bytes" % (what, KEY_LEN, len(raw)))
    return raw


def load_key(value, what):
    """A key given as a file path (if such a file exists) or as literal text."""
    if os.path.isfile(value):
        try:
            with open(value, "r", encoding="ascii") as handle:
                return parse_key_text(handle.read(), "%s (%s)" % (what, value))
        except (OSError, UnicodeDecodeError) as err:
            raise Failure("%s: cannot read %s (%s)" % (what, value, err))
    return parse_key_text(value, what)


def decrypt(envelope, master_private, config_public):
    match = ENVELOPE.fullmatch(envelope.strip())
    if match is None:
        raise Failure("expected one ENC[NACL,<base64>] envelope")
    payload = strict_b64decode(match.group(1), "envelope body")
    if len(payload) < NONCE_LEN + TAG_LEN:
        raise Failure("envelope too short: %d bytes, need at least %d" % (len(payload), NONCE_LEN + TAG_LEN))
    nonce, sealed = payload[:NONCE_LEN], payload[NONCE_LEN:]
    box = Box(PrivateKey(master_private), PublicKey(config_public))
    try:
        return box.decrypt(sealed, nonce)
    except CryptoError:
        raise Failure("failed to decrypt (incorrect keys or tampered envelope)")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Decrypt a secretary ENC[NACL,...] envelope.")
    parser.add_argument("--master-private-key", required=True, metavar="KEY_OR_FILE",
                        help="master private key (daemon side), base64, PEM text or key file")
    parser.add_argument("--config-public-key", "--sender-public-key", dest="config_public_key",
                        required=True, metavar="KEY_OR_FILE",
                        help="public key of the pair whose private half sealed the envelope "
                             "(config-public-key for `secretary encrypt` output)")
    parser.add_argument("envelope", metavar="ENVELOPE", help="ENC[NACL,...] text, or - for stdin")
    args = parser.parse_args(argv)

    try:
        envelope = sys.stdin.read() if args.envelope == "-" else args.envelope
        master_private = load_key(args.master_private_key, "master private key")
        config_public = load_key(args.config_public_key, "config public key")
        plaintext = decrypt(envelope, master_private, config_public)
    except Failure as err:
        sys.stderr.write("secretary_decrypt: %s\n" % err)
        return 1
    sys.stdout.buffer.write(plaintext)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
