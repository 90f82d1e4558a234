#!/usr/bin/env python3
"""Writes inputs.txt and custom_inputs.txt: the parser corpus (one datagram per line).

Escapes in the output: \\n \\r \\t \\0 \\\\ and \\xHH; lines starting with '#' are
comments. The expected outputs (expected.jsonl, custom_expected.jsonl) are written by
the parsers test with RESYNCWATCH_UPDATE_GOLDENS=1 and then read and checked by hand.
Deterministic: no randomness, so the goldens only change when this script does.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def esc(s: bytes) -> str:
    out = []
    for b in s:
        c = chr(b)
        if c == '\\':
            out.append('\\\\')
        elif c == '\n':
            out.append('\\n')
        elif c == '\r':
            out.append('\\r')
        elif c == '\t':
            out.append('\\t')
        elif b == 0:
            out.append('\\0')
        elif b < 0x20 or b >= 0x7f:
            out.append('\\x%02x' % b)
        else:
            out.append(c)
    line = ''.join(out)
    if line.startswith('#'):
        line = '\\x23' + line[1:]
    return line


PHONES = [  # model, mac (colon form), serial
    ('CP-8851-3PCC', '00:12:34:ab:45:de', 'FCH2251A1B2'),
    ('CP-7841-3PCC', '00:0e:08:12:34:56', 'FCH2312B7K9'),
    ('CP-6841-3PCC', '00:0e:08:64:23:f2', 'FCH2405C001'),
    ('CP-8845-3PCC', '00:0e:08:ab:cd:01', 'FCH2233Z8X1'),
    ('CP-8832-3PCC', 'c4:b9:cd:81:1e:29', 'FCH2251A0QQ'),
    ('ATA192-3PCC', '00:0e:08:aa:00:19', 'FCH2211ATA1'),
    ('SPA112', '00:0e:08:aa:01:12', '88012BA01234'),
    ('SPA504G', '00:0e:08:aa:05:04', 'CBT12345678'),
    ('SPA2102', '00:0e:08:aa:bb:cc', 'FM500H12345'),
    ('SPA-2000', '00:0e:08:aa:a0:10', '4FM00012345'),
]

URLS = [
    'http://10.23.45.67:80/8851-3PCC.xml',
    'tftp://192.168.1.200/basic.txt',
    'https://prov.example.net:443/cisco/000e081234.xml',
    'tftp://[2001:db8::5]:69/c.cfg',
    'https://prov.telco.com/cisco/$MA.cfg',
    'http://[2001:db8:0:1::20]/p/$MA.xml',
    'http://prov.telco.com:8080/profiles/$MA.xml',
    'https://admin:s3cret@prov.telco.com/secure/$MA.xml',
    '[--key MySecret] tftp://10.1.1.1/enc/$MA.cfg',
    'tftp://10.2.3.200:69/spa$PSN.bin',
]

ERRORS = ['http_get failed', 'corrupt file', 'file not found', 'tftp timeout',
          'http_get failed: 404 Not Found', 'internal error']
FIRMWARE = ['sip88xx.12-0-1MPP-14.loads', '5.1.10', 'sip78xx.11-3-2MPP0001-598',
            'spa50x-7-6-2e.bin']

MONTHS = ['Nov 25 08:00:01', 'Nov  5 08:00:01', 'Nov 24 23:59:59', 'Nov 26 09:30:00',
          'Dec 31 23:59:59', 'Jan  1 00:00:00']


def mac_forms(mac):
    hexs = mac.replace(':', '')
    return {'MA': hexs.lower(), 'MAU': hexs.upper(), 'MAC': mac.lower()}


def phone_text(kind, model, mac, i):
    url = URLS[i % len(URLS)].replace('$MA', mac.replace(':', ''))
    url = url.replace('$PSN', ''.join(ch for ch in model if ch.isdigit()))
    if kind == 'resync_request':
        return f'{model} {mac} -- Requesting resync {url}'
    if kind == 'resync_success':
        return f'{model} {mac} -- Successful resync {url}'
    if kind == 'resync_failure':
        return f'{model} {mac} -- Resync failed: {ERRORS[i % len(ERRORS)]}'
    if kind == 'upgrade_request':
        return f'{model} {mac} -- Requesting upgrade {url}'
    if kind == 'upgrade_success':
        return f'{model} {mac} -- Successful upgrade {url} -- {FIRMWARE[i % len(FIRMWARE)]}'
    return f'{model} {mac} -- Upgrade failed: {ERRORS[(i + 2) % len(ERRORS)]}'


KINDS = ['resync_request', 'resync_success', 'resync_failure', 'upgrade_request',
         'upgrade_success', 'upgrade_failure']


def main():
    lines = []

    def section(title):
        lines.append('# ' + title)

    def add(s):
        lines.append(esc(s.encode() if isinstance(s, str) else s))

    section('the reference document\'s example lines')
    for s in [
        'CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync http://10.23.45.67:80/8851-3PCC.xml',
        'CP-8851-3PCC 00:12:34:ab:45:de -- Successful resync http://10.23.45.67:80/8851-3PCC.xml',
        'CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: http_get failed',
        'CP-6841-3PCC 00:0e:08:ab:cd:ef -- Requesting resync tftp://192.168.1.200/basic.txt',
        'SPA-2000 00:0e:08:aa:a0:10 -- Resync failed: corrupt file',
        'SPA2102 00:0e:08:aa:bb:cc -- Successful upgrade tftp://10.2.3.200:69/spa2102.bin -- 5.1.10',
        '<134>Nov 25 08:00:01 001234ab45de CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync http://10.23.45.67:80/8851-3PCC.xml',
        '<134>Nov  5 08:00:01 CP-7841-3PCC 00:0e:08:12:34:56 -- Successful resync https://prov.example.net:443/cisco/000e081234.xml',
        '<131>2026-11-25T08:00:02.123456+00:00 relay01 CP-7841-3PCC 00:0e:08:12:34:56 -- Resync failed: http_get failed',
        '<134>1 2026-11-25T08:00:01.000Z relay01 phone - - - CP-8845-3PCC 00:0e:08:ab:cd:01 -- Requesting resync tftp://[2001:db8::5]:69/c.cfg',
    ]:
        add(s)

    section('every template x every phone, bare (older SPA firmware sends no header)')
    i = 0
    for kind in KINDS:
        for model, mac, sn in PHONES:
            add(phone_text(kind, model, mac, i))
            i += 1

    section('phone datagrams: <PRI> BSD timestamp, each identifier form')
    for n, (model, mac, sn) in enumerate(PHONES):
        forms = mac_forms(mac)
        for k, (form, ident) in enumerate([('none', None), ('MA', forms['MA']),
                                           ('MAU', forms['MAU']), ('MAC', forms['MAC']),
                                           ('SN', sn)]):
            kind = KINDS[(n + k) % len(KINDS)]
            sev = 3 if 'failure' in kind else 6
            ts = MONTHS[(n + k) % len(MONTHS)]
            text = phone_text(kind, model, mac, n * 5 + k)
            head = f'<{16 * 8 + sev}>{ts} '
            add(head + (ident + ' ' if ident else '') + text)

    section('rsyslog relays: the MAC split into a tag "00:" (files and forwards)')
    for n, (model, mac, sn) in enumerate(PHONES):
        if not mac.startswith('00:'):
            continue
        kind = KINDS[n % len(KINDS)]
        text = phone_text(kind, model, mac, n)
        split = text.replace(' 00:', ' 00: ', 1)
        add(f'<134>Nov 25 08:00:{n:02d} ' + split)          # forwarded
        add(f'Nov 25 08:00:{n:02d} ' + split)               # traditional file format
        add(f'2026-11-25T08:00:{n:02d}.123456+00:00 ' + split)  # RSYSLOG_FileFormat

    section('relays: their host name (and tag) in front of the phone text')
    for n, (model, mac, sn) in enumerate(PHONES):
        kind = KINDS[(n + 1) % len(KINDS)]
        text = phone_text(kind, model, mac, n + 3)
        add(f'<134>Nov 25 08:01:{n:02d} relay01 ' + text)
        add(f'<134>2026-11-25T08:01:{n:02d}.000001+01:00 relay01.example.net ' + text)
        add(f'<134>Nov 25 08:01:{n:02d} relay01 phones: ' + text)
        add(f'<134>Nov 25 08:01:{n:02d} relay01 phones[4242]: ' + text)
        add(f'Nov 25 08:01:{n:02d} relay01 ' + text)         # syslog-ng file line
        add(f'Nov {n + 1:2d} 08:01:00 relay02 ' + text)     # year-less, padded day
        add(f'2026-11-25T08:01:{n:02d}.123456+00:00 relay01 ' + text)
        add(f'<134>Nov 25 08:01:{n:02d} relay01 {mac_forms(mac)["MA"]} ' + text)

    section('RFC 5424: NILVALUE, several SD elements, escapes, BOM')
    for n, (model, mac, sn) in enumerate(PHONES):
        kind = KINDS[(n + 2) % len(KINDS)]
        text = phone_text(kind, model, mac, n + 5)
        add(f'<134>1 2026-11-25T08:02:{n:02d}.000Z relay01 phone - - - ' + text)
        add(f'<134>1 - - - - - - ' + text)
        add(f'<134>1 2026-11-25T08:02:{n:02d}+01:00 relay01 phone 1234 ID47 '
            f'[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]'
            f'[examplePriority@32473 class="high"] ' + text)
        add(f'<134>1 2026-11-25T08:02:{n:02d}Z relay01 phone - - '
            f'[meta@1 note="a \\"quoted\\" \\] bracket and \\\\ slash"] \ufeff' + text)
    # rsyslog forwarding a phone message as RFC 5424: the model and MAC group moved
    add('<134>1 2026-11-25T08:03:00Z CP-6841-3PCC 00 - - - 0e:08:64:23:f2 -- Requesting resync tftp://192.168.1.200/basic.txt')
    add('<134>1 2026-11-25T08:03:00Z 001234ab45de CP-8851-3PCC - - - 00:12:34:ab:45:de -- Resync failed: http_get failed')

    section('debug output (Debug_Level): known phones, kind debug')
    debug = [
        '<135>Nov 25 08:00:01 001234ab45de [0]Reg Addr Change(0) 0:0->a0a0102:5060',
        '<135>Nov 25 08:00:01 00:0e:08:12:34:56 RSE_DEBUG: reference domain:prov.telco.com',
        '<135>Nov 25 08:00:01 FCH2251A1B2 sipdev: NOTIFY event=resync',
        '<135>Nov 25 08:00:01 000E08AB CD01 not an identifier',
        'CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync',
        'CP-8851-3PCC 00:12:34:ab:45:de -- Provisioning is disabled',
        '<134>Nov 25 08:00:01 CP-7841-3PCC 00:0e:08:12:34:56 -- Resync skipped: line busy',
        '<134>Nov 25 08:00:01 relay01 CP-7841-3PCC 00:0e:08:12:34:56 -- line 1 registered',
        'SIP/2.0 200 OK\nVia: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-1\nFrom: <sip:100@10.0.0.1>;tag=1\nTo: <sip:100@10.0.0.1>;tag=2\nCall-ID: 1@10.0.0.5\nCSeq: 1 REGISTER\nContent-Length: 0\n',
        'INVITE sip:200@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5060\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n',
        'NOTIFY sip:100@10.0.0.5:5060 SIP/2.0\nEvent: resync\nContent-Length: 0',
        '<135>Nov 25 08:00:01 001234ab45de SIP/2.0 401 Unauthorized\nWWW-Authenticate: Digest realm="x"',
        '<191>Nov 25 08:00:01 c4b9cd811e29 [1]:RTP Rx Up',
        '<191>Nov 25 08:00:01 C4B9CD811E29 prov: start',
        '<191>1 2026-11-25T08:00:01Z relay01 CP-8832-3PCC - - - cfg: downloaded 12345 bytes',
        'SPA504G 00:0e:08:aa:05:04 -- Provisioning on hold',
    ]
    for s in debug:
        add(s)

    section('unknown: text that names no phone')
    for s in [
        '<13>Nov 25 08:00:01 myhost sshd[123]: Accepted publickey for root',
        '<30>Nov 25 08:00:01 myhost systemd[1]: Started Session 3 of user root.',
        'hello world',
        '<134>Nov 25 08:00:01 relay01 rsyslogd: [origin software="rsyslogd"] start',
        '<134>1 2026-11-25T08:00:01Z host app - - - plain message',
        '<134>Nov 25 08:00:01',
        '<134>Nov 25 08:00:01 ',
        '<0>x',
        '<191>message at the highest PRI',
    ]:
        add(s)

    section('hostile input')
    lines.append('')                       # empty datagram
    add('<13')
    add('<999>')
    add('<999>Nov 25 08:00:01 x')
    add('<>Nov 25 08:00:01 x')
    add('<1a>x')
    add('<0001>x')
    add('   ')
    add('\t \t')
    add(b'<134>Nov 25 08:00:01 CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: \x00http_get')
    add(b'\x00\x00\x00')
    add(b'<134>Nov 25 08:00:01 CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: \xff\xfe bad \xc3(')
    add(b'\xff\xff\xff\xff')
    add('A' * 65536)
    add('<134>Nov 25 08:00:01 CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: ' + 'x' * 65000)
    add('<134>1 2026-11-25T08:00:01Z relay01 phone - - [unterminated x="1" CP-8851-3PCC')
    add('<134>1 2026-11-25T08:00:01Z relay01')
    add('<134>1 2026-11-25T08:00:01Z relay01 phone - - x')
    add('<134>Feb 30 08:00:01 CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: bad date')
    add('<134>Nov 25 25:61:99 CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: bad time')
    add('<134>2026-13-45T99:00:00Z relay01 x')
    add('CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync http://')
    add('CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync http://[2001:db8::5/x')
    add('CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync http://h:99999/x')
    add('CP-8851-3PCC 00:00:00:00:00:00 -- Resync failed: zero mac')
    add('<134>Nov 25 08:00:01 ' + ' '.join(['00:'] * 50))
    add('\r\n')
    add('<134>Nov 25 08:00:01 CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: http_get failed\r')

    with open(os.path.join(HERE, 'inputs.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')

    custom = []
    for s in [
        'CP-8851-3PCC FCH2251A1B2 001234ab45de resync start http://10.23.45.67/p.xml',
        'CP-8851-3PCC FCH2251A1B2 001234ab45de resync ok http://10.23.45.67:8080/p.xml',
        '<134>Nov 25 08:00:01 CP-8851-3PCC FCH2251A1B2 001234ab45de resync ok https://prov.example.net/p.xml',
        'RSYNC FAIL 001234AB45DE err=http_get failed code=17',
        'RSYNC FAIL C4B9CD811E29 err=corrupt file code=3',
        'fw 8851-3PCC V03 sip88xx.12-0-1MPP-14.loads upgrade from prov.telco.com port 443 path /fw/x.loads',
        'CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: http_get failed',
        'CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync http://10.23.45.67:80/8851-3PCC.xml',
        'CP-8851-3PCC 00:12:34:ab:45:de -- Successful resync http://10.23.45.67:80/8851-3PCC.xml',
        'CP-8851-3PCC 00:12:34:ab:45:de -- Requesting upgrade http://10.23.45.67/fw.loads',
        '<134>Nov 25 08:00:01 relay01 CP-8851-3PCC FCH2251A1B2 001234ab45de resync start tftp://[2001:db8::5]/p.xml',
    ]:
        custom.append(esc(s.encode()))
    with open(os.path.join(HERE, 'custom_inputs.txt'), 'w') as f:
        f.write('\n'.join(custom) + '\n')


if __name__ == '__main__':
    main()
