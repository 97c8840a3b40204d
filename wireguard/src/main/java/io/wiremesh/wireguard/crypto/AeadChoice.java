package io.wiremesh.wireguard.crypto;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * Chooses the transport AEAD once per process: OpenSSL when it loads and seals a test packet exactly
 * as the JDK does and opens it again, else the JDK; {@code WIREMESH_WG_AEAD} (jdk|openssl) forces a
 * choice. Says what it chose on standard error, once.
 */
final class AeadChoice {
    static final AeadChoice INSTANCE = choose(System.getenv("WIREMESH_WG_AEAD"));

    private final Supplier<Aead> factory;
    final String name;

    private AeadChoice(Supplier<Aead> factory) {
        this.factory = factory;
        this.name = factory.get().name();
    }

    Aead create() {
        return factory.get();
    }

    private static AeadChoice choose(String forced) {
        if ("jdk".equalsIgnoreCase(forced)) return new AeadChoice(ChaChaPoly::new);
        String why;
        try {
            if (OpenSslChaChaPoly.available() && agrees(new OpenSslChaChaPoly())) {
                return new AeadChoice(OpenSslChaChaPoly::new);
            }
            why = OpenSslChaChaPoly.available() ? "it disagreed with the JDK on a test packet" : OpenSslChaChaPoly.unavailableReason();
        } catch (RuntimeException | LinkageError e) {
            why = e.toString();
        }
        if ("openssl".equalsIgnoreCase(forced)) throw new IllegalStateException("WIREMESH_WG_AEAD=openssl, but " + why);
        System.err.println("wiremesh-wg: transport crypto: the JDK's ChaCha20-Poly1305 (OpenSSL not used: " + why + ")");
        return new AeadChoice(ChaChaPoly::new);
    }

    /** Seals a test packet with both, compares, and opens both ways. */
    static boolean agrees(Aead candidate) {
        byte[] k = new byte[32];
        for (int i = 0; i < k.length; i++) k[i] = (byte) (i * 7 + 1);
        SessionKey key = new SessionKey(k);
        Aead jdk = new ChaChaPoly();
        ByteBuffer plain = ByteBuffer.allocateDirect(1500);
        for (int i = 0; i < 1333; i++) plain.put(i, (byte) (i * 31));
        plain.limit(1333);
        ByteBuffer a = ByteBuffer.allocateDirect(1500), b = ByteBuffer.allocateDirect(1500);
        int na = jdk.seal(key, 0x0102030405060708L, plain.duplicate(), a);
        int nb = candidate.seal(key, 0x0102030405060708L, plain.duplicate(), b);
        if (na != nb || a.limit(na).position(0).compareTo(b.limit(nb).position(0)) != 0) return false;
        ByteBuffer out = ByteBuffer.allocateDirect(1500);
        if (candidate.open(key, 0x0102030405060708L, a.duplicate(), out) != 1333) return false;
        byte[] got = new byte[1333], want = new byte[1333];
        out.get(0, got);
        plain.get(0, want);
        if (!Arrays.equals(got, want)) return false;
        b.put(100, (byte) (b.get(100) ^ 1));
        return candidate.open(key, 0x0102030405060708L, b.duplicate(), out.clear()) == -1;
    }
}
