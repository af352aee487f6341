#!/usr/bin/env python3
"""Writes the seed corpora of the L2TP fuzz targets into corpus/<target>/.

Seeds come from the hand-written golden messages (tests/l2tp/golden_messages.cc) plus a few
packets built here from the RFC formats (data headers, hidden AVPs, AVP values). Run it again
after changing the goldens:  python3 tests/fuzz/make_seeds.py
"""
import hashlib
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "l2tp", "golden_messages.cc")


def golden_messages():
    text = open(GOLDEN).read()
    literals = re.findall(r'"([^"]*)"', text)
    messages, current = [], None
    for lit in literals:
        hexchars = lit.replace(" ", "")
        is_hex = hexchars != "" and re.fullmatch(r"[0-9a-f]+", hexchars) is not None
        if is_hex and hexchars.startswith(("c803", "c802")) and len(hexchars) >= 24:
            if current:
                messages.append(current)
            current = hexchars
        elif is_hex and current is not None:
            current += hexchars
        else:
            if current:
                messages.append(current)
            current = None
    if current:
        messages.append(current)
    return [bytes.fromhex(m) for m in messages]


def avp(attr, value, m=True, h=False, vendor=0):
    flags = (0x8000 if m else 0) | (0x4000 if h else 0) | (6 + len(value))
    return flags.to_bytes(2, "big") + vendor.to_bytes(2, "big") + attr.to_bytes(2, "big") + value


def hide(attr, value, secret, rv):
    sub = len(value).to_bytes(2, "big") + value
    out, b = b"", hashlib.md5(attr.to_bytes(2, "big") + secret + rv).digest()
    for i in range(0, len(sub), 16):
        c = bytes(x ^ y for x, y in zip(sub[i:i + 16], b))
        out += c
        b = hashlib.md5(secret + c).digest()
    return out


def v2_control(avps, tunnel=1, session=2):
    body = b"".join(avps)
    return bytes.fromhex("c802") + (12 + len(body)).to_bytes(2, "big") + \
        tunnel.to_bytes(2, "big") + session.to_bytes(2, "big") + bytes(4) + body


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    goldens = golden_messages()
    assert len(goldens) >= 30, len(goldens)
    rv = bytes(range(16))
    hidden_icrq = v2_control([
        avp(0, (10).to_bytes(2, "big")),
        avp(36, rv),
        avp(14, hide(14, bytes.fromhex("0a0b"), b"secret", rv), h=True),
        avp(15, hide(15, (7).to_bytes(4, "big"), b"secret", rv), h=True),
        avp(1, bytes(4) + b"vendor", m=False, vendor=9),
        avp(58, (0x12345678).to_bytes(4, "big") + (3).to_bytes(2, "big") + b"x", m=False),
    ])
    for i, g in enumerate(goldens):
        write("l2tp_message_fuzz", "golden_%02d" % i, g)
        if g[1] == 3:
            write("l2tp_message_fuzz", "golden_ip_%02d" % i, bytes(4) + g)
        write("l2tp_header_fuzz", "control_%02d" % i, g[:12])
    write("l2tp_message_fuzz", "hidden_icrq", hidden_icrq)
    data = {
        "v3_udp_cookie4_sublayer": "0003 0000 deadbeef 01020304 40000102 aabb",
        "v3_ip_cookie8": "00000007 0102030405060708 55",
        "v2_all_options": "4b02 0013 0001 0002 0003 0000 0002 0000 ff03c0",
        "v2_minimal": "0002 0005 0006 21",
        "ip_control": "00000000 c803000c 00000001 00000000",
    }
    for name, hexstr in data.items():
        write("l2tp_header_fuzz", name, bytes.fromhex(hexstr.replace(" ", "")))
    for attr, value in [(14, bytes.fromhex("1234")), (30, b"a" * 20), (13, bytes(16))]:
        secret = b"secret"
        seed = attr.to_bytes(2, "big") + bytes([len(secret)]) + secret + bytes([len(rv)]) + rv + \
            hide(attr, value, secret, rv)
        write("l2tp_hidden_fuzz", "attr_%d" % attr, seed)
    values = [
        (0, b""), (1, b"\x00\x05"), (2, b"\x00\x00\x00\x2a"), (3, bytes(range(8))),
        (4, b"lcce-a"), (5, b"\x01\x02\x03\x04"), (6, b"\x00\x05\x00\x04"),
        (7, b"\x00\x02\x00\x08AVP 0:256"), (8, b"\x01\x00"), (9, b"\x00\x10\x5aok"),
        (10, bytes(2) + bytes(range(24))), (11, bytes(2) + b"\xff" * 8),
        (12, b"\x00" + bytes(16)), (13, b"\x00\x01\x00\x02"),
    ]
    # Engine: mode byte, then datagrams as (2-byte length, bytes): whole exchanges.
    def frames(msgs):
        return b"".join(len(m).to_bytes(2, "big") + m for m in msgs)
    v3 = [g for g in goldens if g[1] == 3]
    v2 = [g for g in goldens if g[1] == 2]
    write("l2tp_engine_fuzz", "v3_udp_exchange", b"\x00" + frames(v3))
    write("l2tp_engine_fuzz", "v3_ip_exchange", b"\x01" + frames([bytes(4) + g for g in v3]))
    write("l2tp_engine_fuzz", "v3_udp_initiator", b"\x04" + frames(v3[1:]))
    write("l2tp_engine_fuzz", "v3_auth", b"\x02" + frames(v3[:3]))
    write("l2tp_engine_fuzz", "v2_exchange", b"\x00" + frames(v2))
    write("l2tp_engine_fuzz", "v2_hidden", b"\x02" + frames([v2[0], hidden_icrq]))
    for kind, value in values:
        write("l2tp_avp_value_fuzz", "kind_%02d" % kind, bytes([kind]) + value)


if __name__ == "__main__":
    main()
