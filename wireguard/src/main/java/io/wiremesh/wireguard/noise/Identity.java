package io.wiremesh.wireguard.noise;

import io.wiremesh.wireguard.Protocol;
import io.wiremesh.wireguard.crypto.Blake2s;
import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.X25519;

/** The local static key pair and the keys derived from it for MAC1 checks and cookie replies. */
public final class Identity {
    public final byte[] privateKey;
    public final byte[] publicKey;
    /** HASH(LABEL_MAC1 || S_pub): verifies mac1 of messages sent to us. */
    public final byte[] mac1Key;
    /** HASH(LABEL_COOKIE || S_pub): encrypts cookie replies we send. */
    public final byte[] cookieKey;

    public Identity(byte[] privateKey) {
        this.privateKey = privateKey.clone();
        this.publicKey = X25519.publicKey(this.privateKey);
        this.mac1Key = Blake2s.hash(Protocol.LABEL_MAC1, publicKey);
        this.cookieKey = Blake2s.hash(Protocol.LABEL_COOKIE, publicKey);
    }

    public void destroy() {
        Keys.zero(privateKey);
    }
}
