package io.wiremesh.wireguard.noise;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.wireguard.crypto.ChaChaPoly;
import io.wiremesh.wireguard.crypto.Keys;
import java.io.InputStream;
import java.util.HexFormat;
import java.util.Properties;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Known-answer test: with fixed static, ephemeral and preshared keys, the messages and transport
 * keys must equal those computed independently by kat/noise_kat.py (Python, from the whitepaper).
 */
class HandshakeKnownAnswerTest {
    private static final HexFormat HEX = HexFormat.of();
    private static Properties kat;

    @BeforeAll
    static void load() throws Exception {
        kat = new Properties();
        try (InputStream in = HandshakeKnownAnswerTest.class.getResourceAsStream("/kat/noise_kat.properties")) {
            kat.load(in);
        }
    }

    private static byte[] v(String name) {
        return HEX.parseHex(kat.getProperty(name));
    }

    private static int index(String name) {
        return (int) Long.parseLong(kat.getProperty(name), 16);
    }

    @Test
    void initiationResponseAndTransportKeysMatchTheIndependentComputation() {
        Identity initiator = new Identity(v("static_i"));
        Identity responder = new Identity(v("static_r"));

        Handshake hsI = new Handshake(initiator, responder.publicKey);
        hsI.setPresharedKey(v("psk"));
        byte[] init = hsI.createInitiation(index("index_i"), v("ephemeral_i"), v("timestamp"));
        new CookieGenerator(responder.publicKey).addMacs(init, 0);
        assertThat(HEX.formatHex(init)).isEqualTo(kat.getProperty("initiation"));

        Handshake.Initiation opened = Handshake.openInitiation(responder, init);
        assertThat(opened).isNotNull();
        assertThat(opened.remoteStatic()).isEqualTo(initiator.publicKey);
        Handshake hsR = new Handshake(responder, opened.remoteStatic());
        hsR.setPresharedKey(v("psk"));
        assertThat(hsR.consumeInitiation(opened, 0)).isEqualTo(Handshake.Verdict.ACCEPTED);
        byte[] resp = hsR.createResponse(index("index_r"), v("ephemeral_r"));
        new CookieGenerator(initiator.publicKey).addMacs(resp, 0);
        assertThat(HEX.formatHex(resp)).isEqualTo(kat.getProperty("response"));

        assertThat(hsI.consumeResponse(resp)).isTrue();
        Handshake.SessionKeys ki = hsI.deriveKeys();
        Handshake.SessionKeys kr = hsR.deriveKeys();
        assertThat(ki.initiator()).isTrue();
        assertThat(kr.initiator()).isFalse();
        assertThat(HEX.formatHex(ki.sendKey())).isEqualTo(kat.getProperty("initiator_send"));
        assertThat(HEX.formatHex(ki.receiveKey())).isEqualTo(kat.getProperty("initiator_receive"));
        assertThat(kr.sendKey()).isEqualTo(ki.receiveKey());
        assertThat(kr.receiveKey()).isEqualTo(ki.sendKey());
        assertThat(ki.remoteIndex()).isEqualTo(index("index_r"));
        assertThat(kr.remoteIndex()).isEqualTo(index("index_i"));

        // Key material of the handshake is erased once the session exists.
        assertThat(hsI.holdsEphemeralState()).isFalse();
        assertThat(hsR.holdsEphemeralState()).isFalse();
        assertThat(hsI.state()).isEqualTo(Handshake.State.ZEROED);

        byte[] sealed = ChaChaPoly.seal(ki.sendKey(), 0, v("payload"), new byte[0]);
        byte[] expected = v("transport");
        byte[] body = java.util.Arrays.copyOfRange(expected, 16, expected.length);
        assertThat(sealed).isEqualTo(body);
    }

    @Test
    void macsAreCheckedByTheReceiver() {
        Identity responder = new Identity(v("static_r"));
        Handshake hsI = new Handshake(new Identity(v("static_i")), responder.publicKey);
        byte[] init = hsI.createInitiation(1, v("ephemeral_i"), v("timestamp"));
        new CookieGenerator(responder.publicKey).addMacs(init, 0);
        CookieChecker checker = new CookieChecker(responder);
        assertThat(checker.checkMac1(init)).isTrue();
        init[20] ^= 1;
        assertThat(checker.checkMac1(init)).isFalse();
    }

    @Test
    void replayedAndFloodingInitiationsAreRejected() {
        Identity initiator = new Identity(v("static_i"));
        Identity responder = new Identity(v("static_r"));
        Handshake hsI = new Handshake(initiator, responder.publicKey);
        Handshake hsR = new Handshake(responder, initiator.publicKey);

        byte[] first = hsI.createInitiation(1, Keys.random().generateSeed(32), Tai64n.of(1000, 0));
        Handshake.Initiation in = Handshake.openInitiation(responder, first);
        assertThat(hsR.consumeInitiation(in, 0)).isEqualTo(Handshake.Verdict.ACCEPTED);
        // The same message again (a replay) carries the same timestamp.
        assertThat(hsR.consumeInitiation(Handshake.openInitiation(responder, first), 10 * 1_000_000_000L))
                .isEqualTo(Handshake.Verdict.REPLAYED_TIMESTAMP);
        // An older timestamp is a replay as well.
        byte[] older = hsI.createInitiation(2, Keys.random().generateSeed(32), Tai64n.of(999, 0));
        assertThat(hsR.consumeInitiation(Handshake.openInitiation(responder, older), 20 * 1_000_000_000L))
                .isEqualTo(Handshake.Verdict.REPLAYED_TIMESTAMP);
        // A fresh one arriving within HANDSHAKE_INITIATION_RATE of the last accepted is a flood.
        byte[] fast = hsI.createInitiation(3, Keys.random().generateSeed(32), Tai64n.of(1001, 0));
        assertThat(hsR.consumeInitiation(Handshake.openInitiation(responder, fast), 5_000_000L))
                .isEqualTo(Handshake.Verdict.FLOOD);
        assertThat(hsR.consumeInitiation(Handshake.openInitiation(responder, fast), 30_000_000L))
                .isEqualTo(Handshake.Verdict.ACCEPTED);
    }

    @Test
    void mismatchedPresharedKeysFailTheResponse() {
        Identity initiator = new Identity(v("static_i"));
        Identity responder = new Identity(v("static_r"));
        Handshake hsI = new Handshake(initiator, responder.publicKey);
        hsI.setPresharedKey(v("psk"));
        Handshake hsR = new Handshake(responder, initiator.publicKey);
        byte[] init = hsI.createInitiation(1, v("ephemeral_i"), v("timestamp"));
        assertThat(hsR.consumeInitiation(Handshake.openInitiation(responder, init), 0)).isEqualTo(Handshake.Verdict.ACCEPTED);
        byte[] resp = hsR.createResponse(2, v("ephemeral_r"));
        assertThat(hsI.consumeResponse(resp)).isFalse();
    }

    @Test
    void tamperedInitiationDoesNotOpen() {
        Identity responder = new Identity(v("static_r"));
        Handshake hsI = new Handshake(new Identity(v("static_i")), responder.publicKey);
        byte[] init = hsI.createInitiation(1, v("ephemeral_i"), v("timestamp"));
        init[50] ^= 0x40;
        assertThat(Handshake.openInitiation(responder, init)).isNull();
    }

    @Test
    void cookieReplyRoundTripEnablesMac2() {
        Identity initiator = new Identity(v("static_i"));
        Identity responder = new Identity(v("static_r"));
        CookieGenerator gen = new CookieGenerator(responder.publicKey);
        CookieChecker checker = new CookieChecker(responder);
        byte[] source = {10, 0, 0, 1, 0x20, 0x4e};
        Handshake hsI = new Handshake(initiator, responder.publicKey);

        byte[] init = hsI.createInitiation(7, v("ephemeral_i"), v("timestamp"));
        gen.addMacs(init, 0);
        assertThat(checker.checkMac2(init, source, 0)).isFalse();
        byte[] reply = checker.createReply(init, 7, source, 0);
        assertThat(Messages.getInt(reply, Messages.COOKIE_RECEIVER)).isEqualTo(7);
        assertThat(gen.consumeReply(reply, 0)).isTrue();

        byte[] again = hsI.createInitiation(8, v("ephemeral_i"), v("timestamp"));
        gen.addMacs(again, 1);
        assertThat(checker.checkMac2(again, source, 1)).isTrue();
        assertThat(checker.checkMac2(again, new byte[] {10, 0, 0, 2, 0x20, 0x4e}, 1)).isFalse();
        // A stale cookie (older than two minutes) is no longer sent.
        byte[] late = hsI.createInitiation(9, v("ephemeral_i"), v("timestamp"));
        gen.addMacs(late, 121 * 1_000_000_000L);
        assertThat(java.util.Arrays.copyOfRange(late, Messages.INIT_MAC2, late.length)).containsOnly(0);
    }
}
