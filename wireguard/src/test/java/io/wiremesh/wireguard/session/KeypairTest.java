package io.wiremesh.wireguard.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.wireguard.Protocol;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class KeypairTest {
    private static Keypair kp(boolean initiator, int index) {
        return new Keypair(new byte[32], new byte[32], initiator, index, index + 1000, 0, "peer");
    }

    @Test
    void nonceNeverPassesTheRejectLimitAndNeverWraps() {
        Keypair k = kp(true, 1);
        assertThat(k.nextNonce(0)).isEqualTo(0);
        assertThat(k.nextNonce(0)).isEqualTo(1);
        k.expireSending();
        for (int i = 0; i < 20_000; i++) assertThat(k.nextNonce(0)).isEqualTo(-1);
    }

    @Test
    void destroyErasesTheKeys() {
        Keypair k = new Keypair(new byte[32], new byte[32], true, 1, 2, 0, "peer");
        k.destroy();
        assertThat(k.sendKey.isDestroyed()).isTrue();
        assertThat(k.receiveKey.isDestroyed()).isTrue();
        assertThat(k.nextNonce(0)).isEqualTo(-1);
        org.assertj.core.api.Assertions.assertThatThrownBy(k.sendKey::getEncoded).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void sessionsExpireAfterRejectAfterTime() {
        Keypair k = kp(true, 1);
        assertThat(k.nextNonce(Protocol.REJECT_AFTER_TIME - 1)).isGreaterThanOrEqualTo(0);
        assertThat(k.nextNonce(Protocol.REJECT_AFTER_TIME)).isEqualTo(-1);
    }

    @Test
    void responderSessionWaitsInNextUntilConfirmed() {
        List<Keypair> retired = new ArrayList<>();
        Keypairs ks = new Keypairs(retired::add);
        Keypair first = kp(true, 1);
        ks.install(first);
        assertThat(ks.current()).isSameAs(first);

        Keypair responder = kp(false, 2);
        ks.install(responder);
        assertThat(ks.next()).isSameAs(responder);
        assertThat(ks.current()).isSameAs(first);
        assertThat(ks.received(first)).isFalse();
        assertThat(ks.received(responder)).isTrue();
        assertThat(ks.current()).isSameAs(responder);
        assertThat(ks.previous()).isSameAs(first);
        assertThat(ks.next()).isNull();

        Keypair third = kp(true, 3);
        ks.install(third);
        assertThat(ks.current()).isSameAs(third);
        assertThat(ks.previous()).isSameAs(responder);
        assertThat(retired).containsExactly(first);

        ks.clear();
        assertThat(retired).containsExactly(first, responder, third);
        assertThat(ks.current()).isNull();
    }

    @Test
    void indexTableFindsAddsAndRemoves() {
        IndexTable<String> t = new IndexTable<>();
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < 500; i++) ids.add(t.add("v" + i));
        for (int i = 0; i < 500; i++) assertThat(t.get(ids.get(i))).isEqualTo("v" + i);
        t.replace(ids.get(3), "x");
        assertThat(t.get(ids.get(3))).isEqualTo("x");
        t.remove(ids.get(3), "v3");
        assertThat(t.get(ids.get(3))).isEqualTo("x");
        t.remove(ids.get(3), "x");
        assertThat(t.get(ids.get(3))).isNull();
        assertThat(t.size()).isEqualTo(499);
    }
}
