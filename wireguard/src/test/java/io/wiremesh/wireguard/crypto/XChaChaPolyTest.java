package io.wiremesh.wireguard.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class XChaChaPolyTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void hchacha20MatchesTheDraftTestVector() {
        // draft-irtf-cfrg-xchacha-03, section 2.2.1
        byte[] key = new byte[32];
        for (int i = 0; i < 32; i++) key[i] = (byte) i;
        byte[] out = XChaChaPoly.hchacha20(key, HEX.parseHex("000000090000004a0000000031415927"));
        assertThat(HEX.formatHex(out)).isEqualTo("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc");
    }

    @Test
    void sealOpenRoundTripAndTamperDetection() {
        byte[] key = Keys.random().generateSeed(32);
        byte[] nonce = Keys.random().generateSeed(24);
        byte[] sealed = XChaChaPoly.seal(key, nonce, "cookie".getBytes(), "ad".getBytes());
        assertThat(XChaChaPoly.open(key, nonce, sealed, "ad".getBytes())).isEqualTo("cookie".getBytes());
        sealed[0] ^= 1;
        assertThat(XChaChaPoly.open(key, nonce, sealed, "ad".getBytes())).isNull();
    }

    @Test
    void inPlaceTransportSealAndOpenOnDirectBuffers() {
        ChaChaPoly c = new ChaChaPoly();
        var key = ChaChaPoly.key(Keys.random().generateSeed(32));
        ByteBuffer buf = ByteBuffer.allocateDirect(2048);
        ByteBuffer view = buf.duplicate();
        byte[] plain = new byte[1420];
        Keys.random().nextBytes(plain);
        buf.put(16, plain);
        view.limit(16 + plain.length).position(16);
        buf.limit(2048).position(16);
        int n = c.seal(key, 42, view, buf);
        assertThat(n).isEqualTo(plain.length + ChaChaPoly.TAG_LEN);
        view.limit(16 + n).position(16);
        buf.limit(2048).position(16);
        assertThat(c.open(key, 42, view, buf)).isEqualTo(plain.length);
        byte[] back = new byte[plain.length];
        buf.get(16, back);
        assertThat(back).isEqualTo(plain);
        view.limit(16 + n).position(16);
        buf.limit(2048).position(16);
        assertThat(c.open(key, 43, view, buf)).isEqualTo(-1);
    }
}
