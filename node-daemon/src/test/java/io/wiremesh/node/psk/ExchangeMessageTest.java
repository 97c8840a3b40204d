package io.wiremesh.node.psk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wiremesh.wireguard.crypto.X25519;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The exchange's datagrams: shape, authentication, and what is refused. */
class ExchangeMessageTest {
    static final byte[] CT = new byte[ExchangeMessage.CIPHERTEXT_BYTES];
    static final byte[] ID = new byte[32];

    @Test
    void bothNodesDeriveTheSameMacKeyFromTheirWireGuardKeysAndNoOneElseDoes() {
        byte[] a = X25519.generatePrivateKey(), b = X25519.generatePrivateKey(), c = X25519.generatePrivateKey();
        byte[] ab = ExchangeMessage.macKey(X25519.dh(a, X25519.publicKey(b)), "n1", "n2");
        byte[] ba = ExchangeMessage.macKey(X25519.dh(b, X25519.publicKey(a)), "n2", "n1");
        byte[] cb = ExchangeMessage.macKey(X25519.dh(c, X25519.publicKey(b)), "n1", "n2");
        assertThat(ab).isEqualTo(ba).hasSize(32);
        assertThat(cb).isNotEqualTo(ab);
        assertThat(ExchangeMessage.macKey(X25519.dh(a, X25519.publicKey(b)), "n1", "n3")).as("bound to the names").isNotEqualTo(ab);
    }

    @Test
    void everyTypeRoundTrips() throws Exception {
        byte[] key = new byte[32];
        Arrays.fill(key, (byte) 7);
        ExchangeMessage offer = ExchangeMessage.offer("node-a", "node-b", 5, 4, ID, CT);
        byte[] d = offer.encode(key);
        assertThat(d.length).as("fits a 1,280-byte IPv6 MTU with UDP/IP headers").isLessThan(1280 - 48);
        ExchangeMessage back = ExchangeMessage.decode(d, d.length, (s, r) -> key);
        assertThat(back.type()).isEqualTo(ExchangeMessage.Type.OFFER);
        assertThat(back.epoch()).isEqualTo(5);
        assertThat(back.base()).isEqualTo(4);
        assertThat(back.ciphertext()).isEqualTo(CT);
        byte[] conf = ExchangeMessage.confirmation(key, 5);
        byte[] a = ExchangeMessage.ack("node-b", "node-a", 5, conf).encode(key);
        assertThat(a).hasSize(4 + 1 + 1 + 1 + 6 + 1 + 6 + 8 + 32 + 32);
        ExchangeMessage ack = ExchangeMessage.decode(a, a.length, (s, r) -> key);
        assertThat(ack.confirmation()).isEqualTo(conf);
        byte[] n = ExchangeMessage.nack("node-b", "node-a", 9, ExchangeMessage.Reason.EPOCH).encode(key);
        ExchangeMessage nack = ExchangeMessage.decode(n, n.length, (s, r) -> key);
        assertThat(nack.reason()).isEqualTo(ExchangeMessage.Reason.EPOCH);
        assertThat(nack.epoch()).isEqualTo(9);
    }

    @Test
    void aWrongMacAnUnknownSenderOrABrokenDatagramIsRejected() {
        byte[] key = new byte[32], other = new byte[32];
        other[0] = 1;
        byte[] d = ExchangeMessage.offer("node-a", "node-b", 1, 0, ID, CT).encode(key);
        assertThatThrownBy(() -> ExchangeMessage.decode(d, d.length, (s, r) -> other)).isInstanceOf(ExchangeMessage.Rejected.class).hasMessageContaining("bad mac");
        assertThatThrownBy(() -> ExchangeMessage.decode(d, d.length, (s, r) -> null)).hasMessageContaining("not a pair");
        byte[] flipped = d.clone();
        flipped[40] ^= 1;
        assertThatThrownBy(() -> ExchangeMessage.decode(flipped, flipped.length, (s, r) -> key)).isInstanceOf(ExchangeMessage.Rejected.class);
        assertThatThrownBy(() -> ExchangeMessage.decode(d, 30, (s, r) -> key)).isInstanceOf(ExchangeMessage.Rejected.class);
        assertThatThrownBy(() -> ExchangeMessage.decode(new byte[100], 100, (s, r) -> key)).hasMessageContaining("not an exchange message");
    }

    @Test
    void theExchangesPortIsTheOneAfterWireGuardsAndNeverIt() {
        assertThat(ExchangeMessage.port(51820)).isEqualTo(51821);
        assertThat(ExchangeMessage.port(51821)).isEqualTo(51822);
        assertThat(ExchangeMessage.port(65535)).isEqualTo(65534);
    }
}
