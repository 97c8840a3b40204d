#!/usr/bin/python3
"""Handshake-initiation flood for bench/handshake-flood.sh.

Sends WireGuard handshake initiations (whitepaper 5.4.2) to a responder at RATE per second for
SECONDS: random ephemeral, static and timestamp fields (so no real peer), a valid MAC1 (anyone can
compute it from the responder's public key), MAC2 zero. A responder that is under load answers with a
cookie reply (5.4.7) instead of spending a Diffie-Hellman computation. Prints one line:
"sent N cookie_replies M other_replies K".
Usage: flood.py HOST PORT RESPONDER_PUBKEY_BASE64 RATE SECONDS
"""
import base64, hashlib, os, socket, sys, threading, time

host, port, pub, rate, seconds = sys.argv[1], int(sys.argv[2]), base64.b64decode(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
mac1_key = hashlib.blake2s(b"mac1----" + pub).digest()
messages = []
for _ in range(4096):
    body = bytes([1, 0, 0, 0]) + os.urandom(4) + os.urandom(32) + os.urandom(48) + os.urandom(28)
    messages.append(body + hashlib.blake2s(body, digest_size=16, key=mac1_key).digest() + bytes(16))

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.connect((host, port))
counts = {"cookie": 0, "other": 0}
stop = threading.Event()

def receive():
    s.settimeout(0.2)
    while not stop.is_set():
        try:
            m = s.recv(2048)
        except (socket.timeout, ConnectionRefusedError):
            continue
        counts["cookie" if len(m) == 64 and m[0] == 3 else "other"] += 1

t = threading.Thread(target=receive, daemon=True)
t.start()
sent, start, batch = 0, time.monotonic(), max(1, rate // 1000)
while True:
    now = time.monotonic() - start
    if now >= seconds:
        break
    due = int(now * rate)
    while sent < due:
        for _ in range(min(batch, due - sent)):
            try:
                s.send(messages[sent & 4095])
            except (BlockingIOError, ConnectionRefusedError):
                pass
            sent += 1
    time.sleep(0.0005)
time.sleep(1.0)
stop.set()
t.join()
print("sent %d cookie_replies %d other_replies %d" % (sent, counts["cookie"], counts["other"]))
