package io.wiremesh.wireguard.crypto;

import java.util.Arrays;
import javax.crypto.SecretKey;

/**
 * A ChaCha20 key that can really be erased: the JDK's SecretKeySpec does not implement
 * destroy(), so expired session keys would linger until garbage collection.
 */
public final class SessionKey implements SecretKey {
    private final byte[] key;
    private volatile boolean destroyed;

    public SessionKey(byte[] key) {
        if (key.length != Keys.KEY_LEN) throw new IllegalArgumentException("ChaCha20 keys are 32 bytes");
        this.key = key.clone();
    }

    @Override
    public String getAlgorithm() {
        return "ChaCha20";
    }

    @Override
    public String getFormat() {
        return "RAW";
    }

    @Override
    public byte[] getEncoded() {
        if (destroyed) throw new IllegalStateException("key destroyed");
        return key.clone();
    }

    @Override
    public void destroy() {
        destroyed = true;
        Arrays.fill(key, (byte) 0);
    }

    @Override
    public boolean isDestroyed() {
        return destroyed;
    }
}
