# Independent model of weft admission v1 (admission.h), for known answers.
# Not run by the suite (it needs python3-cryptography); it produced the
# known answers in tests/unit/test_admission.c and can regenerate them.
import hashlib, hmac, struct, sys
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives import serialization

def H(*parts):
    h = hashlib.blake2s()
    for p in parts: h.update(p)
    return h.digest()
def HMAC(k, d): return hmac.new(k, d, hashlib.blake2s).digest()
def KDF(ck, data, n):
    t0 = HMAC(ck, data); out = []; prev = b''
    for i in range(1, n + 1):
        prev = HMAC(t0, prev + bytes([i])); out.append(prev)
    return out
def MAC(k, d, n=16): return hashlib.blake2s(d, key=k, digest_size=n).digest()
def clamp(k):
    k = bytearray(k); k[0] &= 248; k[31] = (k[31] & 127) | 64; return bytes(k)
def pub(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
def DH(priv, p):
    return X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(p))
def AEAD(k, pt, ad): return ChaCha20Poly1305(k).encrypt(b'\0' * 12, pt, ad)
def seq(start, n): return bytes((start + i) & 0xff for i in range(n))

def kpass(passcode, S, ops=1, mem=8192):
    salt = H(b"weft passcode v1", S)[:16]
    return Argon2id(salt=salt, length=32, iterations=ops, lanes=1,
                    memory_cost=mem // 1024).derive(passcode)

def rec(fam=0, cidr=0, addr=b''):
    if fam == 0: return bytes(20)
    return bytes([fam, cidr, 0, 0]) + addr + bytes(16 - len(addr))

def request(S, c_priv, e_priv, index, ts, Kp, prefixes, raw_payload=None):
    C = pub(c_priv); E = pub(e_priv)
    ck = H(b"weft admission v1"); h = H(ck, S)
    hdr = bytes([0x57, 0x01, 0, 0]) + struct.pack('<I', index)
    h = H(h, hdr)
    h = H(h, E); ck, = KDF(ck, E, 1)
    ck, k = KDF(ck, DH(e_priv, S), 2)
    es = AEAD(k, C, h); h = H(h, es)
    ck, k = KDF(ck, DH(c_priv, S), 2)
    proof = HMAC(Kp, h + C + ts) if Kp else bytes(32)
    if raw_payload is None:
        pl = ts + proof + bytes([len(prefixes), 0, 0, 0])
        pl += b''.join(rec(*p) for p in prefixes) + bytes(20 * (8 - len(prefixes)))
    else:
        pl = raw_payload(ts, proof)
    assert len(pl) == 208
    ep = AEAD(k, pl, h); h = H(h, ep)
    msg = hdr + E + es + ep
    mac1 = MAC(H(b"mac1----", S), msg)
    return msg + mac1 + bytes(16), dict(h=h, ck=ck, E=E, C=C, index=index)

def response(st, es_priv, payload):
    E = pub(es_priv)
    hdr = bytes([0x57, 0x02, 0, 0]) + struct.pack('<I', st['index'])
    h = H(st['h'], hdr); ck = st['ck']
    h = H(h, E); ck, = KDF(ck, E, 1)
    ck, = KDF(ck, DH(es_priv, st['E']), 1)
    ck, k = KDF(ck, DH(es_priv, st['C']), 2)
    assert len(payload) == 124
    msg = hdr + E + AEAD(k, payload, h)
    return msg + MAC(H(b"mac1----", st['C']), msg)

def resp_payload(status, dns_count, recs):
    recs = recs + [bytes(20)] * (6 - len(recs))
    return bytes([status, dns_count, 0, 0]) + b''.join(recs)

def v4(*b): return bytes(b)
def hx(b): return b.hex()

s_priv = clamp(seq(0x41, 32)); S = pub(s_priv)
c_priv = clamp(seq(0x01, 32)); C = pub(c_priv)
index = struct.unpack('<I', seq(0x10, 4))[0]
e_priv = clamp(seq(0x14, 32))
ts = struct.pack('>Q', (1 << 62) + 1600000001) + bytes(4)
Kp = kpass(b"correct horse battery staple", S)
fd66 = bytes.fromhex('fd660000000000000000000000000000')
def fd66_host(n): return fd66[:15] + bytes([n])
prefixes = [(4, 24, v4(192, 168, 1, 0)), (6, 64, bytes.fromhex('fd000001000000000000000000000000'))]
req, st = request(S, c_priv, e_priv, index, ts, Kp, prefixes)
es_priv = clamp(seq(0xb0, 32))
ok_payload = resp_payload(0, 1, [rec(4, 16, v4(10, 66, 0, 2)), rec(6, 64, fd66_host(2)),
                                 rec(4, 16, v4(10, 66, 0, 1)), rec(6, 64, fd66_host(1)),
                                 rec(4, 32, v4(10, 66, 0, 1))])
resp = response(st, es_priv, ok_payload)

def out(name, b):
    print('static const char %s[] =' % name)
    h = b.hex()
    for i in range(0, len(h), 64):
        print('\t"%s"%s' % (h[i:i+64], ';' if i + 64 >= len(h) else ''))

out('kat_passcode_key', Kp)
out('kat_request', req)
out('kat_response', resp)

# Authentic but malformed: each is a request from the KAT client (same
# keys, same randomness) whose payload breaks one rule.
def pl_with(count=2, reserved=b'\0\0\0', recs=None):
    recs = recs if recs is not None else [rec(*p) for p in prefixes]
    def f(ts_, proof):
        r = recs + [bytes(20)] * (8 - len(recs))
        return ts_ + proof + bytes([count]) + reserved + b''.join(r)
    return f
bad_requests = {
    'count_9': pl_with(count=9),
    'count_short': pl_with(count=1),
    'reserved': pl_with(reserved=b'\0\1\0'),
    'host_bits': pl_with(count=1, recs=[rec(4, 24, v4(192, 168, 1, 7))]),
    'cidr_33': pl_with(count=1, recs=[rec(4, 33, v4(192, 168, 1, 0))]),
    'family_5': pl_with(count=1, recs=[rec(5, 8, v4(10, 0, 0, 0))]),
    'v4_tail': pl_with(count=1, recs=[rec(4, 8, v4(10, 0, 0, 0) + b'\0\0\0\1')]),
    'rec_reserved': pl_with(count=1, recs=[bytes([4, 8, 0, 1]) + v4(10, 0, 0, 0) + bytes(12)]),
}
print('/* Authentic requests (KAT keys and randomness) with one payload rule broken. */')
for name, f in bad_requests.items():
    m, _ = request(S, c_priv, e_priv, index, ts, Kp, prefixes, raw_payload=f)
    out('bad_request_' + name, m)

bad_responses = {
    'status_5': resp_payload(5, 0, []),
    'ok_no_address': resp_payload(0, 0, [bytes(20), bytes(20), rec(4, 16, v4(10, 66, 0, 1))]),
    'refusal_with_address': resp_payload(2, 0, [rec(4, 16, v4(10, 66, 0, 2))]),
    'dns_count_3': resp_payload(0, 3, [rec(4, 16, v4(10, 66, 0, 2))]),
    'dns_not_host': resp_payload(0, 1, [rec(4, 16, v4(10, 66, 0, 2)), bytes(20), bytes(20), bytes(20), rec(4, 24, v4(10, 66, 0, 0))]),
    'dns_unused_set': resp_payload(0, 0, [rec(4, 16, v4(10, 66, 0, 2)), bytes(20), bytes(20), bytes(20), rec(4, 32, v4(10, 66, 0, 1))]),
    'v6_in_v4_slot': resp_payload(0, 0, [rec(6, 64, fd66_host(2))]),
    'reserved': bytes([0, 0, 1, 0]) + rec(4, 16, v4(10, 66, 0, 2)) + bytes(100),
}
print('/* Authentic responses to kat_request with one payload rule broken. */')
for name, pl in bad_responses.items():
    out('bad_response_' + name, response(st, es_priv, pl))
