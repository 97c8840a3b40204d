#!/usr/bin/env python3
"""Independent computation of a WireGuard handshake, for the Java known-answer tests.

Written from the whitepaper (section 5.4) with Python's hashlib/hmac and the `cryptography`
package, sharing no code with the Java implementation. Regenerate noise_kat.properties with:
    python3 noise_kat.py > noise_kat.properties
"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def HASH(*parts):
    return hashlib.blake2s(b"".join(parts)).digest()


def MAC(key, data):
    return hashlib.blake2s(data, key=key, digest_size=16).digest()


def HMAC(key, data):
    return hmac.new(key, data, hashlib.blake2s).digest()


def KDF(n, key, data):
    t0 = HMAC(key, data)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = HMAC(t0, prev + bytes([i]))
        out.append(prev)
    return out


def AEAD(key, counter, plain, ad):
    return ChaCha20Poly1305(key).encrypt(b"\0" * 4 + struct.pack("<Q", counter), plain, ad)


def pub(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(*RAW)


def DH(priv, pubkey):
    return X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(pubkey))


def key(seed):
    return hashlib.sha256(seed.encode()).digest()


S_i, S_r = key("initiator static"), key("responder static")
E_i, E_r = key("initiator ephemeral"), key("responder ephemeral")
Q = key("preshared")
TIMESTAMP = bytes.fromhex("400000006553f100" "00000000")
I_i, I_r = 0x11223344, 0x55667788

C = HASH(b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")
H = HASH(C + b"WireGuard v1 zx2c4 Jason@zx2c4.com")

# Initiation
Ci, Hi = C, HASH(H + pub(S_r))
Ci = KDF(1, Ci, pub(E_i))[0]
Hi = HASH(Hi + pub(E_i))
Ci, k = KDF(2, Ci, DH(E_i, pub(S_r)))
enc_static = AEAD(k, 0, pub(S_i), Hi)
Hi = HASH(Hi + enc_static)
Ci, k = KDF(2, Ci, DH(S_i, pub(S_r)))
enc_time = AEAD(k, 0, TIMESTAMP, Hi)
Hi = HASH(Hi + enc_time)
init = bytes([1, 0, 0, 0]) + struct.pack("<I", I_i) + pub(E_i) + enc_static + enc_time
init += MAC(HASH(b"mac1----" + pub(S_r)), init) + b"\0" * 16

# Response
Cr, Hr = Ci, Hi
Cr = KDF(1, Cr, pub(E_r))[0]
Hr = HASH(Hr + pub(E_r))
Cr = KDF(1, Cr, DH(E_r, pub(E_i)))[0]
Cr = KDF(1, Cr, DH(E_r, pub(S_i)))[0]
Cr, t, k = KDF(3, Cr, Q)
Hr = HASH(Hr + t)
enc_empty = AEAD(k, 0, b"", Hr)
resp = bytes([2, 0, 0, 0]) + struct.pack("<II", I_r, I_i) + pub(E_r) + enc_empty
resp += MAC(HASH(b"mac1----" + pub(S_i)), resp) + b"\0" * 16

T_i_send, T_i_recv = KDF(2, Cr, b"")
payload = b"hello, wireguard"  # 16 bytes: no padding needed
data = bytes([4, 0, 0, 0]) + struct.pack("<IQ", I_r, 0) + AEAD(T_i_send, 0, payload, b"")

for name, value in [
    ("static_i", S_i), ("static_r", S_r), ("ephemeral_i", E_i), ("ephemeral_r", E_r), ("psk", Q),
    ("timestamp", TIMESTAMP), ("index_i", struct.pack(">I", I_i)), ("index_r", struct.pack(">I", I_r)),
    ("initiation", init), ("response", resp), ("initiator_send", T_i_send), ("initiator_receive", T_i_recv),
    ("payload", payload), ("transport", data),
]:
    print(f"{name}={value.hex()}")
