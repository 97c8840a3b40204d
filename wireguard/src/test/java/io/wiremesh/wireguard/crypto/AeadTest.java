package io.wiremesh.wireguard.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The transport AEADs: the JDK's against RFC 8439's test vector (section 2.8.2, through the
 * handshake helper, which takes additional data), and OpenSSL's against the JDK's on random packets
 * of every size up to 1,500 bytes, in place, tampered, and with an erased key.
 */
class AeadTest {
    private static final HexFormat HEX = HexFormat.of();
    private final Random random = new Random(3);

    @Test
    void jdkMatchesRfc8439() {
        byte[] key = HEX.parseHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
        byte[] aad = HEX.parseHex("50515253c0c1c2c3c4c5c6c7");
        byte[] plain = ("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
                + "sunscreen would be it.").getBytes();
        // RFC nonce 07000000 4041424344454647: as WireGuard's layout, 4 bytes then a little-endian counter.
        byte[] nonceTail = HEX.parseHex("4041424344454647");
        long counter = ByteBuffer.wrap(nonceTail).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        byte[] sealed = sealWithPrefix(key, 0x07, counter, plain, aad);
        assertThat(HEX.formatHex(sealed, sealed.length - 16, sealed.length)).isEqualTo("1ae10b594f09e26a7e902ecbd0600691");
        assertThat(HEX.formatHex(sealed, 0, 16)).isEqualTo("d31a8d34648e60db7b86afbc53ef7ec2");
    }

    /** RFC 8439's vector uses a non-zero first nonce word; WireGuard's is zero, so go through the JDK directly. */
    private static byte[] sealWithPrefix(byte[] key, int first, long counter, byte[] plain, byte[] aad) {
        try {
            javax.crypto.Cipher c = javax.crypto.Cipher.getInstance("ChaCha20-Poly1305");
            byte[] nonce = new byte[12];
            nonce[0] = (byte) first;
            ByteBuffer.wrap(nonce).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(4, counter);
            c.init(javax.crypto.Cipher.ENCRYPT_MODE, ChaChaPoly.key(key), new javax.crypto.spec.IvParameterSpec(nonce));
            c.updateAAD(aad);
            return c.doFinal(plain);
        } catch (java.security.GeneralSecurityException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void openSslSealsAndOpensExactlyAsTheJdk() {
        assumeTrue(OpenSslChaChaPoly.available(), "libcrypto.so.3: " + OpenSslChaChaPoly.unavailableReason());
        Aead jdk = new ChaChaPoly();
        Aead ossl = new OpenSslChaChaPoly();
        ByteBuffer out = ByteBuffer.allocateDirect(1600);
        for (int len = 0; len <= 1500; len += 1 + random.nextInt(7)) {
            byte[] k = new byte[32];
            random.nextBytes(k);
            SessionKey key = new SessionKey(k);
            long counter = random.nextLong();
            byte[] plain = new byte[len];
            random.nextBytes(plain);
            // Both in place at the datapath's offset (16: room for the transport header).
            ByteBuffer byJdk = ByteBuffer.allocateDirect(1600).put(16, plain);
            ByteBuffer byOpenSsl = ByteBuffer.allocateDirect(1600).put(16, plain);
            int na = jdk.seal(key, counter, byJdk.duplicate().limit(16 + len).position(16), byJdk.duplicate().position(16));
            int nb = ossl.seal(key, counter, byOpenSsl.duplicate().limit(16 + len).position(16), byOpenSsl.duplicate().position(16));
            assertThat(nb).isEqualTo(na).isEqualTo(len + 16);
            assertThat(byOpenSsl.duplicate().limit(16 + nb).position(16)).as("length %d", len)
                    .isEqualTo(byJdk.duplicate().limit(16 + na).position(16));
            // OpenSSL opens what the JDK sealed, in place.
            assertThat(ossl.open(key, counter, byJdk.duplicate().limit(16 + na).position(16), byJdk.duplicate().position(16))).isEqualTo(len);
            byte[] back = new byte[len];
            byJdk.get(16, back);
            assertThat(back).isEqualTo(plain);
            // A flipped bit anywhere is refused by both.
            int at = 16 + random.nextInt(nb);
            byOpenSsl.put(at, (byte) (byOpenSsl.get(at) ^ 0x40));
            assertThat(ossl.open(key, counter, byOpenSsl.duplicate().limit(16 + nb).position(16), out.clear())).isEqualTo(-1);
            assertThat(jdk.open(key, counter, byOpenSsl.duplicate().limit(16 + nb).position(16), out.clear())).isEqualTo(-1);
        }
    }

    @Test
    void openSslRefusesAnErasedKeyAndFallsBackForHeapBuffers() {
        assumeTrue(OpenSslChaChaPoly.available(), "libcrypto.so.3: " + OpenSslChaChaPoly.unavailableReason());
        Aead ossl = new OpenSslChaChaPoly();
        SessionKey key = new SessionKey(new byte[32]);
        ByteBuffer d = ByteBuffer.allocateDirect(100);
        int n = ossl.seal(key, 1, d.duplicate().limit(40).position(10), d.duplicate().position(10));
        assertThat(n).isEqualTo(46);
        ByteBuffer heap = ByteBuffer.allocate(100);
        heap.put(0, d, 0, 100);
        assertThat(ossl.open(key, 1, heap.duplicate().limit(56).position(10), ByteBuffer.allocate(100))).isEqualTo(30);
        key.destroy();
        assertThatThrownBy(() -> ossl.seal(key, 2, d.duplicate().limit(40).position(10), d.duplicate().position(10)))
                .isInstanceOf(IllegalStateException.class);
        assertThat(ossl.open(key, 1, d.duplicate().limit(56).position(10), ByteBuffer.allocateDirect(100))).isEqualTo(-1);
    }

    @Test
    void theChoiceIsOpenSslWhereItAgreesWithTheJdk() {
        assumeTrue(OpenSslChaChaPoly.available(), "libcrypto.so.3: " + OpenSslChaChaPoly.unavailableReason());
        assertThat(AeadChoice.agrees(new OpenSslChaChaPoly())).isTrue();
        assertThat(AeadChoice.agrees(new ChaChaPoly())).isTrue();
        assertThat(Aead.create().name()).isEqualTo(System.getenv("WIREMESH_WG_AEAD") == null ? "openssl" : System.getenv("WIREMESH_WG_AEAD"));
    }
}
