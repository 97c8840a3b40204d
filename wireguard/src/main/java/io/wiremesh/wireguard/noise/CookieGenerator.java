package io.wiremesh.wireguard.noise;

import io.wiremesh.wireguard.Protocol;
import io.wiremesh.wireguard.crypto.Blake2s;
import io.wiremesh.wireguard.crypto.XChaChaPoly;
import java.util.Arrays;

/**
 * Sender side of the MACs (whitepaper 5.4.4), one per peer: mac1 keyed by the peer's public key on
 * every handshake message, mac2 keyed by the last cookie the peer sent us while it is fresh.
 */
public final class CookieGenerator {
    private final byte[] mac1Key;
    private final byte[] cookieKey;
    private byte[] cookie;
    private long cookieSetAt;
    private byte[] lastMac1;

    public CookieGenerator(byte[] remoteStatic) {
        this.mac1Key = Blake2s.hash(Protocol.LABEL_MAC1, remoteStatic);
        this.cookieKey = Blake2s.hash(Protocol.LABEL_COOKIE, remoteStatic);
    }

    /** Fills mac1 and mac2 of a handshake message (the last 32 bytes). */
    public synchronized void addMacs(byte[] msg, long nowNanos) {
        int mac1 = msg.length - 2 * Blake2s.MAC_LEN;
        int mac2 = msg.length - Blake2s.MAC_LEN;
        Blake2s.mac(mac1Key, msg, 0, mac1, msg, mac1);
        lastMac1 = Arrays.copyOfRange(msg, mac1, mac2);
        // Fresh enough that the receiver's secret cannot have rotated by the time it arrives (kernel cookie.c).
        if (cookie != null && nowNanos - cookieSetAt < Protocol.COOKIE_REFRESH_TIME - Protocol.COOKIE_SECRET_LATENCY) {
            Blake2s.mac(cookie, msg, 0, mac2, msg, mac2);
        } else {
            Arrays.fill(msg, mac2, msg.length, (byte) 0);
        }
    }

    /** Consumes a cookie reply to our last handshake message; false when it does not authenticate. */
    public synchronized boolean consumeReply(byte[] reply, long nowNanos) {
        if (lastMac1 == null || reply.length != Protocol.COOKIE_REPLY_SIZE) return false;
        byte[] nonce = Arrays.copyOfRange(reply, Messages.COOKIE_NONCE, Messages.COOKIE_ENCRYPTED);
        byte[] enc = Arrays.copyOfRange(reply, Messages.COOKIE_ENCRYPTED, Protocol.COOKIE_REPLY_SIZE);
        byte[] c = XChaChaPoly.open(cookieKey, nonce, enc, lastMac1);
        if (c == null) return false;
        cookie = c;
        cookieSetAt = nowNanos;
        lastMac1 = null;
        return true;
    }
}
