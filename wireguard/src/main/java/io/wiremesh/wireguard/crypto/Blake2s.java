package io.wiremesh.wireguard.crypto;

import org.bouncycastle.crypto.digests.Blake2sDigest;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * The whitepaper's HASH, MAC, HMAC and KDF functions, all built on BLAKE2s.
 * Used on the handshake path only, so allocation here is acceptable.
 */
public final class Blake2s {
    public static final int HASH_LEN = 32;
    public static final int MAC_LEN = 16;

    private Blake2s() {}

    /** HASH(input...): BLAKE2s-256 over the concatenation of the inputs. */
    public static byte[] hash(byte[]... inputs) {
        Blake2sDigest d = new Blake2sDigest(256);
        for (byte[] in : inputs) d.update(in, 0, in.length);
        byte[] out = new byte[HASH_LEN];
        d.doFinal(out, 0);
        return out;
    }

    /** MAC(key, input): keyed BLAKE2s with a 16-byte output (not HMAC). */
    public static void mac(byte[] key, byte[] msg, int off, int len, byte[] out, int outOff) {
        Blake2sDigest d = new Blake2sDigest(key, MAC_LEN, null, null);
        d.update(msg, off, len);
        d.doFinal(out, outOff);
    }

    public static byte[] hmac(byte[] key, byte[]... inputs) {
        HMac h = new HMac(new Blake2sDigest(256));
        h.init(new KeyParameter(key));
        for (byte[] in : inputs) h.update(in, 0, in.length);
        byte[] out = new byte[HASH_LEN];
        h.doFinal(out, 0);
        return out;
    }

    /** KDFn(key, input): the HKDF-like chain of the whitepaper, returning n 32-byte outputs. */
    public static byte[][] kdf(int n, byte[] key, byte[] input) {
        byte[] t0 = hmac(key, input);
        byte[][] out = new byte[n][];
        byte[] prev = new byte[0];
        for (int i = 0; i < n; i++) {
            prev = hmac(t0, prev, new byte[] {(byte) (i + 1)});
            out[i] = prev;
        }
        Keys.zero(t0);
        return out;
    }
}
