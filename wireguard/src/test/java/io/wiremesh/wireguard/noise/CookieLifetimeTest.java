package io.wiremesh.wireguard.noise;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.wireguard.Protocol;
import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.X25519;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Cookies over time (whitepaper 5.4.7; kernel cookie.c), driven by explicit nanosecond clocks: the
 * receiver's secret is good for two minutes and then replaced, so a cookie from before no longer makes
 * a valid mac2; the sender uses a cookie only while the receiver's secret cannot have rotated yet
 * (two minutes less five seconds of latency), then sends mac2 as zeros again.
 */
class CookieLifetimeTest {
    private static final long S = 1_000_000_000L;
    private final Identity responder = new Identity(X25519.generatePrivateKey());
    private final Identity initiator = new Identity(X25519.generatePrivateKey());
    private final CookieChecker checker = new CookieChecker(responder);
    private final CookieGenerator generator = new CookieGenerator(responder.publicKey);
    private final byte[] source = {10, 0, 0, 1, (byte) 0xca, 0x6c};
    private int index;

    private byte[] initiation(long now) {
        byte[] msg = new Handshake(initiator, responder.publicKey).createInitiation(++index, Keys.random().generateSeed(32),
                Tai64n.of(1000 + index, 0));
        generator.addMacs(msg, now);
        return msg;
    }

    private static boolean hasMac2(byte[] msg) {
        byte[] mac2 = Arrays.copyOfRange(msg, msg.length - 16, msg.length);
        return !Arrays.equals(mac2, new byte[16]);
    }

    @Test
    void theSecretLastsTwoMinutesAndTheSenderStopsUsingItsCookieFiveSecondsBefore() {
        long t0 = 7 * S;
        byte[] first = initiation(t0);
        assertThat(hasMac2(first)).as("no cookie yet").isFalse();
        assertThat(checker.checkMac2(first, source, t0)).isFalse();
        // Under load: the responder answers with a cookie reply; the initiator takes the cookie.
        byte[] reply = checker.createReply(first, 1, source, t0);
        assertThat(generator.consumeReply(reply, t0)).isTrue();

        byte[] retry = initiation(t0 + S);
        assertThat(hasMac2(retry)).isTrue();
        assertThat(checker.checkMac2(retry, source, t0 + S)).as("mac2 with the fresh cookie").isTrue();
        assertThat(checker.checkMac2(retry, new byte[] {10, 0, 0, 2, (byte) 0xca, 0x6c}, t0 + S)).as("from another address").isFalse();

        long edge = Protocol.COOKIE_REFRESH_TIME - Protocol.COOKIE_SECRET_LATENCY;
        byte[] late = initiation(t0 + edge - S);
        assertThat(hasMac2(late)).as("cookie still used 1 s before the sender's limit").isTrue();
        assertThat(checker.checkMac2(late, source, t0 + edge - S)).isTrue();
        assertThat(hasMac2(initiation(t0 + edge))).as("cookie dropped by the sender at 115 s").isFalse();

        // The responder's secret is older than two minutes: a mac2 made with the old cookie is refused ...
        assertThat(checker.checkMac2(late, source, t0 + Protocol.COOKIE_REFRESH_TIME + 1)).isFalse();
        // ... and the next cookie reply comes from a new secret, under which the old mac2 stays invalid.
        byte[] reply2 = checker.createReply(late, 2, source, t0 + Protocol.COOKIE_REFRESH_TIME + S);
        assertThat(checker.checkMac2(late, source, t0 + Protocol.COOKIE_REFRESH_TIME + S)).isFalse();
        byte[] fresh = initiation(t0 + Protocol.COOKIE_REFRESH_TIME + S);
        assertThat(generator.consumeReply(reply2, t0 + Protocol.COOKIE_REFRESH_TIME + S)).as("reply to the last initiation sent").isFalse();
        byte[] reply3 = checker.createReply(fresh, 3, source, t0 + Protocol.COOKIE_REFRESH_TIME + S);
        assertThat(generator.consumeReply(reply3, t0 + Protocol.COOKIE_REFRESH_TIME + S)).isTrue();
        byte[] again = initiation(t0 + Protocol.COOKIE_REFRESH_TIME + 2 * S);
        assertThat(checker.checkMac2(again, source, t0 + Protocol.COOKIE_REFRESH_TIME + 2 * S)).as("the new secret's cookie works").isTrue();
    }
}
