package io.wiremesh.wireguard.crypto;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import javax.crypto.SecretKey;

/**
 * A ChaCha20 key that can really be erased: the JDK's SecretKeySpec does not implement
 * destroy(), so expired session keys would linger until garbage collection. Native AEADs get a copy
 * in native memory ({@link #address}), erased with the key and freed with this object, never
 * earlier: a packet still in flight with an erased key then fails to seal or open, never crashes.
 */
public final class SessionKey implements SecretKey {
    private final byte[] key;
    private volatile boolean destroyed;
    private volatile MemorySegment nativeCopy;

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

    /** The address of the 32 key bytes in native memory (made on first use; all zeros once destroyed). */
    public long address() {
        MemorySegment s = nativeCopy;
        if (s == null) {
            synchronized (this) {
                s = nativeCopy;
                if (s == null) {
                    s = Arena.ofAuto().allocate(Keys.KEY_LEN, 16);
                    if (!destroyed) MemorySegment.copy(key, 0, s, ValueLayout.JAVA_BYTE, 0, Keys.KEY_LEN);
                    nativeCopy = s;
                }
            }
        }
        return s.address();
    }

    @Override
    public void destroy() {
        destroyed = true;
        Arrays.fill(key, (byte) 0);
        synchronized (this) {
            MemorySegment s = nativeCopy;
            if (s != null) s.fill((byte) 0);
        }
    }

    @Override
    public boolean isDestroyed() {
        return destroyed;
    }
}
