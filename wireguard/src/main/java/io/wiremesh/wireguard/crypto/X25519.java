package io.wiremesh.wireguard.crypto;

/** Curve25519 Diffie-Hellman (BouncyCastle's implementation: measured faster than the JDK's XDH here). */
public final class X25519 {
    private X25519() {}

    public static byte[] generatePrivateKey() {
        byte[] k = new byte[Keys.KEY_LEN];
        org.bouncycastle.math.ec.rfc7748.X25519.generatePrivateKey(Keys.random(), k);
        return k;
    }

    public static byte[] publicKey(byte[] privateKey) {
        byte[] pub = new byte[Keys.KEY_LEN];
        org.bouncycastle.math.ec.rfc7748.X25519.generatePublicKey(privateKey, 0, pub, 0);
        return pub;
    }

    /**
     * DH(private, public). Returns null for a low-order public key (all-zero shared secret),
     * which WireGuard treats as a failed handshake.
     */
    public static byte[] dh(byte[] privateKey, byte[] publicKey) {
        byte[] out = new byte[Keys.KEY_LEN];
        boolean ok = org.bouncycastle.math.ec.rfc7748.X25519.calculateAgreement(privateKey, 0, publicKey, 0, out, 0);
        return ok ? out : null;
    }
}
