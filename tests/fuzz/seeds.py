#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses from the repository's test
data: seeds.py OUTDIR [REPO] makes OUTDIR/{backend,parse,updater}/.

backend: the requests of tests/unit/rb_cases/*.case, each case file as one
  connection (its requests in order, so transactions and key changes come
  in sequence) and each request on its own; ${ID}, ${SERIAL}, ${WSERIAL}
  are expanded to the template store's values (tests/fuzz/fuzz_store.c).
parse: the string literals of tests/unit/test_{dname,addr,rdata}.c with
  the harness's selector byte (0 names, 1 addresses, 2 "TYPE content",
  3 SOA content).
updater: HTTP requests built around the URLs and query strings of
  tests/unit/test_dd.c, plus a few fixed ones (pipelining, chunked bodies,
  Basic credentials, X-Forwarded-For).
"""
import base64
import hashlib
import os
import re
import sys

out = sys.argv[1]
repo = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), '..', '..')
unit = os.path.join(repo, 'tests', 'unit')
n = 0


def put(kind, data):
    global n
    d = os.path.join(out, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), 'wb') as f:
        f.write(data)
    n += 1


C_STR = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


def c_unescape(s):
    """The bytes of a C string literal's body (the escapes the tests use)."""
    o, i = bytearray(), 0
    simple = {'n': 10, 't': 9, 'r': 13, '\\': 92, '"': 34, "'": 39, '0': 0}
    while i < len(s):
        c = s[i]
        if c != '\\':
            o += c.encode()
            i += 1
            continue
        e = s[i + 1]
        if e == 'x':
            m = re.match(r'[0-9a-fA-F]{1,2}', s[i + 2:])
            o.append(int(m.group(0), 16))
            i += 2 + len(m.group(0))
        elif e in '01234567' and re.match(r'[0-7]{1,3}', s[i + 1:]).group(0) != '0':
            m = re.match(r'[0-7]{1,3}', s[i + 1:])
            o.append(int(m.group(0), 8) & 0xff)
            i += 1 + len(m.group(0))
        else:
            o.append(simple.get(e, ord(e)))
            i += 2
    return bytes(o)


def literals(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        text = f.read()
    return [c_unescape(m.group(1)) for m in C_STR.finditer(text)]


# backend
vals = {'${ID}': '1', '${SERIAL}': '2024010100', '${WSERIAL}': '100'}
cases = os.path.join(unit, 'rb_cases')
for name in sorted(os.listdir(cases)):
    reqs = []
    with open(os.path.join(cases, name), encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('>hex '):
                reqs.append(bytes.fromhex(line[5:].replace(' ', '')))
            elif line.startswith('> '):
                for k, v in vals.items():
                    line = line.replace(k, v)
                reqs.append(line[2:].encode())
    for r in reqs:
        put('backend', r + b'\n')
    put('backend', b'\n'.join(reqs) + b'\n')

# parse
for lit in literals(os.path.join(unit, 'test_dname.c')):
    put('parse', b'\x00' + lit)
for lit in literals(os.path.join(unit, 'test_addr.c')):
    put('parse', b'\x01' + lit)
TYPE = re.compile(rb'^(?:[A-Z][A-Z0-9]*|TYPE[0-9]+)$')
with open(os.path.join(unit, 'test_rdata.c'), encoding='utf-8') as f:
    for line in f:
        lits = [c_unescape(m.group(1)) for m in C_STR.finditer(line)]
        if len(lits) >= 2 and TYPE.match(lits[0]):
            put('parse', b'\x02' + lits[0] + b' ' + lits[1])
            if lits[0] == b'SOA':
                put('parse', b'\x03' + lits[1])
        elif len(lits) == 1 and len(lits[0].split()) == 7:
            put('parse', b'\x03' + lits[0])
put('parse', b'\x03ns1.example.com hostmaster.example.com 2024010100 10800 3600 604800 300')

# updater: the first byte is the read size (0: all at once)
auth = base64.b64encode(b'dyn.example.com:fuzz-token-0123456789abcdef')
fixed = [
    b'GET /nic/update?hostname=dyn.example.com&myip=192.0.2.9 HTTP/1.1\r\nHost: x\r\n'
    b'Authorization: Basic ' + auth + b'\r\nUser-Agent: ddclient/3.10\r\n\r\n',
    b'GET /nic/update?hostname=dyn.example.com,h.w.test&myip=192.0.2.9,2001:db8::9'
    b'&token=fuzz-token-0123456789abcdef HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1, ::ffff:192.0.2.4\r\n'
    b'X-Real-IP: 192.0.2.5\r\n\r\nGET /ip HTTP/1.1\r\n\r\nHEAD /health HTTP/1.0\r\n\r\n',
    b'POST /nic/update HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    b'GET http://u:p@host/nic/update?username=dyn.example.com&password=fuzz-token-0123456789abcdef'
    b'&myipv6=2001:db8::1 HTTP/1.1\r\nConnection: close\r\n\r\n',
    b'GET /nic/update?hostname=%64yn.example.com&myip=%3Cipaddr%3E HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc',
]
for i, r in enumerate(fixed):
    put('updater', bytes([0]) + r)
    put('updater', bytes([1 + i % 15]) + r)
for lit in literals(os.path.join(unit, 'test_dd.c')):
    if lit.startswith(b'/'):
        url = lit
    elif b'=' in lit and b' ' not in lit:
        url = b'/nic/update?' + lit
    else:
        continue
    put('updater', b'\x00GET ' + url + b' HTTP/1.1\r\nHost: x\r\n\r\n')

print('seeds: %d files in %s' % (n, out))
