package io.wiremesh.wireguard.timers;

import static io.wiremesh.wireguard.Protocol.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.wireguard.timers.Timers.Action;
import io.wiremesh.wireguard.timers.Timers.Timer;
import java.util.EnumSet;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The timer state machine alone, driven by explicit times. */
class TimersTest {
    private final Timers t = new Timers(new SplittableRandom(1));

    @Test
    void retransmitsEveryRekeyTimeoutPlusJitterThenGivesUp() {
        long now = 0;
        t.handshakeInitiated(now);
        int retries = 0;
        while (true) {
            long d = t.deadline(Timer.RETRANSMIT_HANDSHAKE);
            assertThat(d - now).isBetween(REKEY_TIMEOUT, REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX);
            assertThat(t.expire(d - 1)).isEmpty();
            now = d;
            EnumSet<Action> a = t.expire(now);
            if (a.contains(Action.GIVE_UP_HANDSHAKE)) break;
            assertThat(a).containsExactly(Action.SEND_INITIATION_RETRY);
            retries++;
            t.handshakeInitiated(now); // the peer sends the retry
        }
        // 1 initial + MAX_TIMER_HANDSHAKES + 1 retries ~ REKEY_ATTEMPT_TIME, then give up.
        assertThat(retries).isEqualTo(MAX_TIMER_HANDSHAKES + 1);
        assertThat(now).isBetween(REKEY_ATTEMPT_TIME, REKEY_ATTEMPT_TIME + 2 * REKEY_TIMEOUT + 20 * REKEY_TIMEOUT_JITTER_MAX);
        // After giving up, key material is erased REJECT_AFTER_TIME * 3 later.
        assertThat(t.deadline(Timer.ZERO_KEY_MATERIAL)).isEqualTo(now + REJECT_AFTER_TIME * 3);
        assertThat(t.expire(now + REJECT_AFTER_TIME * 3)).containsExactly(Action.ZERO_KEYS);
    }

    @Test
    void handshakeCompleteStopsRetransmission() {
        t.handshakeInitiated(0);
        t.handshakeComplete();
        assertThat(t.pending(Timer.RETRANSMIT_HANDSHAKE)).isFalse();
        assertThat(t.handshakeAttempts()).isZero();
        assertThat(t.expire(REKEY_ATTEMPT_TIME * 10)).isEmpty();
    }

    @Test
    void passiveKeepaliveAfterReceivingDataWithoutReplying() {
        t.dataReceived(0);
        assertThat(t.deadline(Timer.SEND_KEEPALIVE)).isEqualTo(KEEPALIVE_TIMEOUT);
        t.dataReceived(SECOND); // more data meanwhile: another keepalive will be owed
        assertThat(t.expire(KEEPALIVE_TIMEOUT)).containsExactly(Action.SEND_KEEPALIVE);
        assertThat(t.deadline(Timer.SEND_KEEPALIVE)).isEqualTo(2 * KEEPALIVE_TIMEOUT);
        assertThat(t.expire(2 * KEEPALIVE_TIMEOUT)).containsExactly(Action.SEND_KEEPALIVE);
        assertThat(t.pending(Timer.SEND_KEEPALIVE)).isFalse();
    }

    @Test
    void sendingAnythingCancelsThePassiveKeepalive() {
        t.dataReceived(0);
        t.anyAuthenticatedPacketSent();
        assertThat(t.expire(KEEPALIVE_TIMEOUT * 2)).isEmpty();
    }

    @Test
    void dataSentWithoutAnswerStartsANewHandshake() {
        t.dataSent(0);
        long d = t.deadline(Timer.NEW_HANDSHAKE);
        assertThat(d).isBetween(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT, KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX);
        t.dataSent(SECOND); // does not push the deadline
        assertThat(t.deadline(Timer.NEW_HANDSHAKE)).isEqualTo(d);
        assertThat(t.expire(d)).containsExactly(Action.SEND_INITIATION);
    }

    @Test
    void receivingAnAnswerCancelsTheNewHandshake() {
        t.dataSent(0);
        t.anyAuthenticatedPacketReceived();
        assertThat(t.expire(KEEPALIVE_TIMEOUT * 3)).isEmpty();
    }

    @Test
    void persistentKeepaliveRestartsOnEveryTraversal() {
        t.setPersistentKeepalive(25);
        t.anyAuthenticatedPacketTraversal(0);
        t.anyAuthenticatedPacketTraversal(10 * SECOND);
        assertThat(t.expire(25 * SECOND)).isEmpty();
        assertThat(t.expire(35 * SECOND)).containsExactly(Action.SEND_KEEPALIVE);
        t.setPersistentKeepalive(0);
        t.anyAuthenticatedPacketTraversal(40 * SECOND);
        assertThat(t.expire(1000 * SECOND)).isEmpty();
    }

    @Test
    void sessionDerivedSchedulesZeroingOfKeyMaterial() {
        t.sessionDerived(0);
        assertThat(t.expire(REJECT_AFTER_TIME * 3 - 1)).isEmpty();
        assertThat(t.expire(REJECT_AFTER_TIME * 3)).containsExactly(Action.ZERO_KEYS);
    }

    @Test
    void lastMinuteHandshakeOncePerSession() {
        assertThat(t.lastMinuteHandshake()).isTrue();
        assertThat(t.lastMinuteHandshake()).isFalse();
        t.handshakeComplete();
        assertThat(t.lastMinuteHandshake()).isTrue();
    }
}
