#!/usr/bin/env python3
"""Independent check of vectors.json against FORMAT.md, with pyca/cryptography.

Not run by `go test` (it needs Python): run `python3 testdata/crosscheck.py` from sse/
after changing FORMAT.md or the vectors. It re-derives every known answer from the
byte-level description alone.
"""
import base64, hashlib, hmac, json, os, struct
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

P = 65536
v = json.load(open(os.path.join(os.path.dirname(__file__), "vectors.json")))

def hkdf(secret, salt, info):
    return HKDF(hashes.SHA256(), 32, salt, info).derive(secret)

def s(x):
    x = x.encode() if isinstance(x, str) else x
    return struct.pack(">I", len(x)) + x

for sv in v["streams"]:
    key, pre = bytes.fromhex(sv["key"]), bytes.fromhex(sv["prefix"])
    pt = bytes(i % 251 for i in range(sv["plain_size"]))
    hdr = b"CFSE\x01\x01\x00\x00" + pre
    out, i = hdr, 0
    while True:
        final = (i + 1) * P >= len(pt)
        out += AESGCM(key).encrypt(pre + struct.pack(">Q", i), pt[i * P:(i + 1) * P], hdr + bytes([final]))
        if final:
            break
        i += 1
    assert len(out) == sv["cipher_size"], sv["name"]
    assert hashlib.sha256(out).hexdigest() == sv["cipher_sha256"], sv["name"]
    assert out[:64].hex() == sv["cipher_head"] and out[-32:].hex() == sv["cipher_tail"], sv["name"]

for sv in v["sealed_deks"]:
    b = sv["Binding"]
    ctx = b["Context"] or {}
    enc = (b"\x01" + s(b["Bucket"]) + s(b["Key"]) + s(b["VersionID"]) + s(b["Mode"])
           + struct.pack(">I", b["KeyVersion"]) + s(b["CMKID"]) + struct.pack(">I", len(ctx))
           + b"".join(s(k) + s(ctx[k]) for k in sorted(ctx)))
    assert enc.hex() == sv["canonical"], sv["name"]
    rnd = bytes.fromhex(sv["rand"])
    salt, nonce = rnd[:16], rnd[16:]
    key = hkdf(bytes.fromhex(sv["kek"]), salt, b"coffer dek seal v1")
    sealed = b"CFDK\x01" + salt + nonce + AESGCM(key).encrypt(nonce, bytes.fromhex(sv["dek"]), b"CFDK\x01" + enc)
    assert sealed.hex() == sv["sealed"], sv["name"]

for pv in v["part_keys"]:
    key = hkdf(bytes.fromhex(pv["upload_dek"]), bytes.fromhex(pv["salt"]), b"coffer part" + struct.pack(">I", pv["part"]))
    assert key.hex() == pv["part_key"], pv["part"]

for cv in v["sse_c"]:
    ck, salt = base64.b64decode(cv["key_b64"]), bytes.fromhex(cv["salt"])
    assert base64.b64encode(hashlib.md5(ck).digest()).decode() == cv["key_md5_b64"]
    assert hkdf(ck, salt, b"coffer sse-c kek v1").hex() == cv["kek"]
    assert hmac.new(ck, b"coffer sse-c verify v1" + salt, "sha256").hexdigest() == cv["mac"]

rv = v["ring"]
enc, root, rnd = bytes.fromhex(rv["encoding"]), bytes.fromhex(rv["root"]), bytes.fromhex(rv["rand"])
assert enc[:5] == b"CFMR\x01"
(count,) = struct.unpack(">I", enc[5:9])
off = 9
for i in range(count):
    version, state, sec, nsec, n = struct.unpack(">IBqIB", enc[off:off + 18])
    sealed = enc[off + 18:off + 18 + n]
    off += 18 + n
    assert state == (1 if i == count - 1 else 2) and n == 60
    assert sealed[:12] == rnd[12 * i:12 * (i + 1)]
    material = AESGCM(root).decrypt(sealed[:12], sealed[12:], b"CFMR\x01" + struct.pack(">I", version))
    assert material == bytes((0x50 if version == 1 else 0x70) + j for j in range(32)), version
assert off == len(enc)
print("vectors.json agrees with FORMAT.md")
