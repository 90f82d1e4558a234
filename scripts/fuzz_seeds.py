#!/usr/bin/env python3
"""Writes the seed corpus of a text-input fuzz target (scripts/fuzz) from tests/data.

Usage: fuzz_seeds.py TARGET TEST_DATA_DIR CORPUS_DIR
  parse: one datagram per seed, from tests/data/parsers/*inputs.txt (escapes decoded).
  frame: those datagrams as TCP streams (octet counting, LF, mixed) plus the rsyslog
         archive, after the target's two header bytes (frame limit, read size).
  tls:   the same octet-counted streams after the TLS target's mode byte.
"""
import hashlib
import os
import sys


def unescape(line):
    out, i = bytearray(), 0
    while i < len(line):
        c = line[i]
        if c == '\\' and i + 1 < len(line):
            n = line[i + 1]
            if n == 'x':
                out.append(int(line[i + 2:i + 4], 16))
                i += 4
                continue
            out += {'n': b'\n', 'r': b'\r', 't': b'\t', '0': b'\0', '\\': b'\\'}.get(n, n.encode())
            i += 2
            continue
        out += c.encode()
        i += 1
    return bytes(out)


def datagrams(data_dir):
    src = os.path.join(data_dir, 'parsers')
    for name in sorted(os.listdir(src)):
        if not name.endswith('inputs.txt'):
            continue
        for line in open(os.path.join(src, name), encoding='utf-8').read().split('\n'):
            if line and not line.startswith('#'):
                yield unescape(line)


def octets(msgs):
    return b''.join(b'%d %s' % (len(m), m) for m in msgs)


def streams(data_dir):
    msgs = list(datagrams(data_dir))
    for i in range(0, len(msgs), 8):
        group = msgs[i:i + 8]
        yield octets(group)
        yield b''.join(m.replace(b'\n', b' ') + b'\n' for m in group)
        yield b''.join((b'%d %s' % (len(m), m)) if k % 2 else m.replace(b'\n', b' ') + b'\r\n'
                       for k, m in enumerate(group))
    with open(os.path.join(data_dir, 'store', 'rsyslog_archive.log'), 'rb') as f:
        yield f.read()[:60000]


def main():
    target, data_dir, corpus = sys.argv[1:4]
    if target == 'parse':
        seeds = datagrams(data_dir)
    elif target == 'frame':
        # Frame limit 1 + 255 = 256 bytes, reads of 1 + 6 = 7 bytes.
        seeds = (b'\xff\x06' + s for s in streams(data_dir))
    elif target == 'tls':
        seeds = (b'\x01' + octets([m]) for m in datagrams(data_dir))
    else:
        sys.exit('fuzz_seeds.py: no text seeds for ' + target)
    os.makedirs(corpus, exist_ok=True)
    for data in seeds:
        with open(os.path.join(corpus, hashlib.sha1(data).hexdigest()), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
