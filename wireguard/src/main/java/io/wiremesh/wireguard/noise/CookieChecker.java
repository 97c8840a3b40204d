package io.wiremesh.wireguard.noise;

import io.wiremesh.wireguard.Protocol;
import io.wiremesh.wireguard.crypto.Blake2s;
import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.XChaChaPoly;
import java.security.MessageDigest;
import java.util.Arrays;

/**
 * Receiver side of the MACs (whitepaper 5.4.4 and 5.4.7): checks mac1 of every handshake message
 * and, under load, mac2 against a cookie bound to the sender's address; issues cookie replies.
 */
public final class CookieChecker {
    private final byte[] mac1Key;
    private final byte[] cookieKey;
    private final byte[] secret = new byte[32];
    private long secretSetAt = Long.MIN_VALUE;

    public CookieChecker(Identity local) {
        this.mac1Key = local.mac1Key;
        this.cookieKey = local.cookieKey;
    }

    public boolean checkMac1(byte[] msg) {
        int mac1 = msg.length - 2 * Blake2s.MAC_LEN;
        byte[] expected = new byte[Blake2s.MAC_LEN];
        Blake2s.mac(mac1Key, msg, 0, mac1, expected, 0);
        return MessageDigest.isEqual(expected, Arrays.copyOfRange(msg, mac1, mac1 + Blake2s.MAC_LEN));
    }

    /** mac2 must equal MAC(cookie(source), msg up to mac2), with a cookie secret younger than two minutes. */
    public synchronized boolean checkMac2(byte[] msg, byte[] source, long nowNanos) {
        if (secretSetAt == Long.MIN_VALUE || nowNanos - secretSetAt > Protocol.COOKIE_REFRESH_TIME) return false;
        byte[] cookie = new byte[Blake2s.MAC_LEN];
        Blake2s.mac(secret, source, 0, source.length, cookie, 0);
        int mac2 = msg.length - Blake2s.MAC_LEN;
        byte[] expected = new byte[Blake2s.MAC_LEN];
        Blake2s.mac(cookie, msg, 0, mac2, expected, 0);
        return MessageDigest.isEqual(expected, Arrays.copyOfRange(msg, mac2, msg.length));
    }

    /** Builds a cookie reply for {@code msg} (an initiation or response) that arrived from {@code source}. */
    public synchronized byte[] createReply(byte[] msg, int receiverIndex, byte[] source, long nowNanos) {
        if (secretSetAt == Long.MIN_VALUE || nowNanos - secretSetAt > Protocol.COOKIE_REFRESH_TIME) {
            Keys.random().nextBytes(secret);
            secretSetAt = nowNanos;
        }
        byte[] cookie = new byte[Blake2s.MAC_LEN];
        Blake2s.mac(secret, source, 0, source.length, cookie, 0);
        byte[] reply = new byte[Protocol.COOKIE_REPLY_SIZE];
        reply[0] = Protocol.MESSAGE_COOKIE_REPLY;
        Messages.putInt(reply, Messages.COOKIE_RECEIVER, receiverIndex);
        byte[] nonce = new byte[XChaChaPoly.NONCE_LEN];
        Keys.random().nextBytes(nonce);
        System.arraycopy(nonce, 0, reply, Messages.COOKIE_NONCE, nonce.length);
        int mac1 = msg.length - 2 * Blake2s.MAC_LEN;
        byte[] enc = XChaChaPoly.seal(cookieKey, nonce, cookie, Arrays.copyOfRange(msg, mac1, mac1 + Blake2s.MAC_LEN));
        System.arraycopy(enc, 0, reply, Messages.COOKIE_ENCRYPTED, enc.length);
        return reply;
    }
}
