package io.wiremesh.node.psk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/** The KDF chain of the preshared keys between two nodes. */
class PresharedKeyChainTest {
    private static byte[] bytes(int seed, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (seed * 31 + i);
        return b;
    }

    private final byte[] ss = bytes(1, 32), ct = bytes(2, 1088), previous = bytes(3, 32);

    /** RFC 5869 written out with HMAC-SHA256: Extract, then one block of Expand (L = 32). */
    private static byte[] reference(byte[] salt, byte[] ikm, byte[] info) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(salt, "HmacSHA256"));
        byte[] prk = mac.doFinal(ikm);
        mac.init(new SecretKeySpec(prk, "HmacSHA256"));
        mac.update(info);
        mac.update((byte) 1);
        return mac.doFinal();
    }

    @Test
    void isHkdfSha256OverTheSecretSaltedWithThePreviousKey() throws Exception {
        byte[] a = "node-a".getBytes(StandardCharsets.UTF_8), b = "node-b".getBytes(StandardCharsets.UTF_8);
        byte[] label = "wiremesh psk v1".getBytes(StandardCharsets.US_ASCII);
        byte[] info = ByteBuffer.allocate(label.length + 2 + a.length + 2 + b.length + 8 + 32).put(label).putShort((short) a.length).put(a)
                .putShort((short) b.length).put(b).putLong(7).put(MessageDigest.getInstance("SHA-256").digest(ct)).array();
        assertThat(PresharedKeyChain.next(previous, ss, "node-a", "node-b", 7, ct)).isEqualTo(reference(previous, ss, info));
        assertThat(PresharedKeyChain.next(null, ss, "node-a", "node-b", 7, ct)).as("a chain starts from 32 zero bytes")
                .isEqualTo(reference(new byte[32], ss, info));
    }

    @Test
    void bothNodesDeriveTheSameKeyWhicheverWayRoundTheyNameThePair() {
        assertThat(PresharedKeyChain.next(previous, ss, "node-a", "node-b", 3, ct))
                .isEqualTo(PresharedKeyChain.next(previous, ss, "node-b", "node-a", 3, ct)).hasSize(32);
    }

    @Test
    void everyInputChangesTheKey() {
        byte[] k = PresharedKeyChain.next(previous, ss, "node-a", "node-b", 3, ct);
        byte[] otherCt = ct.clone();
        otherCt[0] ^= 1;
        byte[] otherSs = ss.clone();
        otherSs[31] ^= 1;
        byte[] otherPrevious = previous.clone();
        otherPrevious[5] ^= 1;
        for (byte[] other : new byte[][] {
                PresharedKeyChain.next(otherPrevious, ss, "node-a", "node-b", 3, ct),
                PresharedKeyChain.next(null, ss, "node-a", "node-b", 3, ct),
                PresharedKeyChain.next(previous, otherSs, "node-a", "node-b", 3, ct),
                PresharedKeyChain.next(previous, ss, "node-a", "node-c", 3, ct),
                PresharedKeyChain.next(previous, ss, "node-a", "node-b", 4, ct),
                PresharedKeyChain.next(previous, ss, "node-a", "node-b", 3, otherCt)}) {
            assertThat(Arrays.equals(k, other)).isFalse();
        }
    }

    @Test
    void namesAreLengthPrefixedSoTheyCannotBeShiftedAcrossTheBoundary() {
        assertThat(PresharedKeyChain.next(previous, ss, "ab", "c", 1, ct)).isNotEqualTo(PresharedKeyChain.next(previous, ss, "a", "bc", 1, ct));
    }

    @Test
    void badInputIsRefused() {
        assertThatThrownBy(() -> PresharedKeyChain.next(previous, new byte[16], "a", "b", 1, ct)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PresharedKeyChain.next(new byte[31], ss, "a", "b", 1, ct)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PresharedKeyChain.next(previous, ss, "a", "a", 1, ct)).hasMessageContaining("two different nodes");
        assertThatThrownBy(() -> PresharedKeyChain.next(previous, ss, "a", "b", 0, ct)).hasMessageContaining("epochs start at 1");
    }
}
