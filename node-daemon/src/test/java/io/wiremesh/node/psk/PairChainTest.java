package io.wiremesh.node.psk;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.node.keys.KemKey;
import io.wiremesh.node.psk.ExchangeMessage.Reason;
import io.wiremesh.node.psk.ExchangeMessage.Type;
import io.wiremesh.node.psk.PairChain.Event;
import io.wiremesh.node.psk.PairChain.Step;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The epoch state machine of one pair, driven message by message with real ML-KEM-768 keys and the
 * real codec (every message is encoded, authenticated and decoded as on the wire).
 */
class PairChainTest {
    static final Duration INTERVAL = Duration.ofMinutes(2);
    static final String A = "node-a", B = "node-b"; // A sorts first: the initiator
    static final String KEY_A = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", KEY_B = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=";
    static final byte[] MAC = new byte[32];

    @TempDir
    Path dir;
    KemKey kemB;
    PairChain a, b;
    long now = 1_800_000_000_000L;
    /** The peer's latest handshake as each side's interface reports it (epoch seconds). */
    long handshake;

    @BeforeEach
    void setUp() throws Exception {
        kemB = KemKey.loadOrCreate(dir);
        a = new PairChain(A, B);
        b = new PairChain(B, A);
        a.bind(KEY_A, KEY_B);
        b.bind(KEY_B, KEY_A);
        handshake = now / 1000;
    }

    Step tickA() {
        return a.tick(now, INTERVAL, kemB.publicKeyBase64(), handshake, KemKey::encapsulate);
    }

    Step tickB() {
        return b.tick(now, INTERVAL, null, handshake, KemKey::encapsulate);
    }

    /** Over the wire: encoded, authenticated, decoded. */
    static ExchangeMessage wire(ExchangeMessage m) throws Exception {
        byte[] d = m.encode(MAC);
        return ExchangeMessage.decode(d, d.length, (s, r) -> MAC);
    }

    Step toB(ExchangeMessage m) throws Exception {
        return b.receive(wire(m), now, kemB.publicKeyBase64(), kemB::decapsulate);
    }

    Step toA(ExchangeMessage m) throws Exception {
        return a.receive(wire(m), now, null, ct -> { throw new AssertionError("the initiator never decapsulates"); });
    }

    /** One full exchange: offer, ACK; returns the epoch both hold. */
    long rotate() throws Exception {
        Step offer = tickA();
        assertThat(offer.send().type()).isEqualTo(Type.OFFER);
        Step ack = toB(offer.send());
        assertThat(ack.keyChanged()).isTrue();
        assertThat(ack.send().type()).isEqualTo(Type.ACK);
        Step done = toA(ack.send());
        assertThat(done.keyChanged()).isTrue();
        assertThat(done.event()).isEqualTo(Event.ROTATED);
        assertThat(PairChain.sameKey(a, b)).isTrue();
        assertThat(a.epoch()).isEqualTo(b.epoch());
        return a.epoch();
    }

    @Test
    void theNodeWhoseNameSortsFirstOffersAndBothEndWithTheSameKeyEveryInterval() throws Exception {
        assertThat(a.initiator()).isTrue();
        assertThat(b.initiator()).isFalse();
        Step hello = tickB();
        assertThat(hello.send().type()).as("the responder announces its epoch once").isEqualTo(Type.NACK);
        assertThat(hello.send().epoch()).isZero();
        assertThat(tickB().send()).as("and never offers").isNull();
        assertThat(rotate()).isEqualTo(1);
        String first = a.presharedKey();
        now += 1000;
        assertThat(tickA().send()).as("not due before the interval").isNull();
        now += INTERVAL.toMillis();
        assertThat(rotate()).isEqualTo(2);
        assertThat(a.presharedKey()).isNotEqualTo(first);
        assertThat(b.presharedKey()).isEqualTo(a.presharedKey());
    }

    @Test
    void theInitiatorInstallsOnlyOnTheAckAndTheResponderBeforeSendingIt() throws Exception {
        Step offer = tickA();
        assertThat(offer.keyChanged()).isFalse();
        assertThat(a.presharedKey()).as("nothing installed before the ACK").isNull();
        Step ack = toB(offer.send());
        assertThat(ack.keyChanged()).as("the responder installs, then ACKs").isTrue();
        assertThat(b.presharedKey()).isNotNull();
        assertThat(a.presharedKey()).isNull();
        toA(ack.send());
        assertThat(a.presharedKey()).isEqualTo(b.presharedKey());
    }

    @Test
    void theFirstStepWaitsForTheStartDelay() throws Exception {
        a = new PairChain(A, B, 3000);
        a.bind(KEY_A, KEY_B);
        assertThat(tickA().send()).isNull();
        now += 2999;
        assertThat(tickA().send()).isNull();
        now += 1;
        assertThat(tickA().send().type()).isEqualTo(Type.OFFER);
    }

    @Test
    void aLostAckIsRecoveredByTheSameOfferResent() throws Exception {
        rotate();
        now += INTERVAL.toMillis();
        Step offer = tickA();
        Step lostAck = toB(offer.send());
        assertThat(lostAck.keyChanged()).isTrue();
        now += 500;
        assertThat(tickA().send()).as("resent after a second, not before").isNull();
        now += 600;
        Step resent = tickA();
        assertThat(resent.send()).isEqualTo(offer.send());
        Step again = toB(resent.send());
        assertThat(again.keyChanged()).as("the same offer is not taken twice").isFalse();
        assertThat(again.send().type()).isEqualTo(Type.ACK);
        toA(again.send());
        assertThat(PairChain.sameKey(a, b)).isTrue();
        assertThat(a.epoch()).isEqualTo(2);
    }

    @Test
    void resendsBackOffAndAnUnansweredOfferFailsThenAFreshOneIsMade() throws Exception {
        rotate();
        now += INTERVAL.toMillis();
        ExchangeMessage first = tickA().send();
        int sent = 0;
        long start = now;
        Step s = null;
        while (now + 100 - start < PairChain.giveUpAfter(INTERVAL).toMillis()) {
            now += 100;
            handshake = now / 1000; // the old session still carries traffic
            s = tickA();
            if (s.send() != null) sent++;
        }
        assertThat(sent).as("1, 2, 4, 8, 8 ... seconds apart within the give-up time").isBetween(4, 12);
        now += 100;
        s = tickA();
        assertThat(s.event()).isEqualTo(Event.FAILED);
        assertThat(s.send()).as("a fresh encapsulation").isNotNull();
        assertThat(s.send().ciphertext()).isNotEqualTo(first.ciphertext());
        assertThat(a.epoch()).as("the installed key stays until an ACK").isEqualTo(1);
    }

    @Test
    void anInitiatorRestartedBeforeTheAckRedoesTheEpochFromTheKeyItHolds() throws Exception {
        rotate();
        var stored = a.stored();
        now += INTERVAL.toMillis();
        toB(tickA().send()); // B takes epoch 2; the ACK never arrives: A restarts
        a = PairChain.restore(A, B, stored, 0);
        a.bind(KEY_A, KEY_B);
        assertThat(a.epoch()).isEqualTo(1);
        now += 2000;
        Step offer = tickA();
        assertThat(offer.send()).as("offers at once after a start").isNotNull();
        assertThat(offer.send().epoch()).isEqualTo(2);
        assertThat(offer.send().base()).isEqualTo(1);
        Step ack = toB(offer.send());
        assertThat(ack.keyChanged()).isTrue();
        toA(ack.send());
        assertThat(PairChain.sameKey(a, b)).isTrue();
        assertThat(a.epoch()).isEqualTo(2);
    }

    @Test
    void aResponderThatLostItsStateMakesTheInitiatorStartANewChainAboveItsEpoch() throws Exception {
        rotate();
        rotateAfterInterval();
        // B lost everything but its WireGuard key; A offers epoch 3 based on 2.
        b = new PairChain(B, A);
        b.bind(KEY_B, KEY_A);
        now += INTERVAL.toMillis();
        Step nack = toB(tickA().send());
        assertThat(nack.send().type()).isEqualTo(Type.NACK);
        assertThat(nack.send().reason()).isEqualTo(Reason.EPOCH);
        assertThat(toA(nack.send()).event()).isEqualTo(Event.FAILED);
        now += 10;
        Step offer = tickA();
        assertThat(offer.send().base()).as("a new chain").isZero();
        assertThat(offer.send().epoch()).isEqualTo(3);
        toA(toB(offer.send()).send());
        assertThat(PairChain.sameKey(a, b)).isTrue();
        now += INTERVAL.toMillis();
        assertThat(tickA().send().base()).as("chained again from then on").isEqualTo(3);
    }

    @Test
    void anInitiatorThatLostItsStateIsToldTheEpochToStartAbove() throws Exception {
        rotate();
        rotateAfterInterval();
        a = new PairChain(A, B);
        a.bind(KEY_A, KEY_B);
        now += 1000;
        Step offer = tickA();
        assertThat(offer.send().epoch()).isEqualTo(1);
        Step nack = toB(offer.send());
        assertThat(nack.send().reason()).isEqualTo(Reason.EPOCH);
        assertThat(nack.send().epoch()).isEqualTo(2);
        toA(nack.send());
        Step again = tickA();
        assertThat(again.send().epoch()).isEqualTo(3);
        toA(toB(again.send()).send());
        assertThat(PairChain.sameKey(a, b)).isTrue();
    }

    @Test
    void aRestartedResponderWithoutItsChainIsNoticedAtOnceNotAtTheNextInterval() throws Exception {
        rotate();
        now += 5000;
        assertThat(tickA().send()).as("not due").isNull();
        // B restarts with its chain files gone (its WireGuard key kept): it announces epoch 0.
        b = new PairChain(B, A);
        b.bind(KEY_B, KEY_A);
        Step hello = tickB();
        Step heard = toA(hello.send());
        assertThat(heard.event()).as("an announcement, not a failure").isEqualTo(Event.NONE);
        Step offer = tickA();
        assertThat(offer.send()).as("offered at once").isNotNull();
        assertThat(offer.send().base()).as("a new chain").isZero();
        toA(toB(offer.send()).send());
        assertThat(PairChain.sameKey(a, b)).isTrue();
    }

    @Test
    void anAnnouncementThatCrossesAFittingOfferChangesNothing() throws Exception {
        Step offer = tickA(); // a's first offer and b's announcement cross on the wire
        Step hello = tickB();
        assertThat(toA(hello.send())).as("the pending offer answers it").isEqualTo(Step.NOTHING);
        toA(toB(offer.send()).send());
        assertThat(PairChain.sameKey(a, b)).isTrue();
    }

    @Test
    void aResponderThatDroppedItsKeyTakesANewChainWhateverItsEpoch() throws Exception {
        rotate();
        rotateAfterInterval();
        // B fell back (no key, epoch 2 kept); A lost its state (epoch 0). A's new chain at epoch 1 must be taken.
        now += PairChain.FALLBACK_HANDSHAKE_AGE.toMillis() + 60_000;
        handshake = 0;
        assertThat(tickB().event()).isEqualTo(Event.FELL_BACK);
        handshake = now / 1000;
        a = new PairChain(A, B);
        a.bind(KEY_A, KEY_B);
        Step offer = tickA();
        assertThat(offer.send().epoch()).isEqualTo(1);
        Step ack = toB(offer.send());
        assertThat(ack.send().type()).isEqualTo(Type.ACK);
        toA(ack.send());
        assertThat(PairChain.sameKey(a, b)).isTrue();
    }

    @Test
    void aRestartedResponderThatKeptItsChainChangesNothing() throws Exception {
        rotate();
        var stored = b.stored();
        b = PairChain.restore(B, A, stored, 0);
        b.bind(KEY_B, KEY_A);
        now += 5000;
        assertThat(toA(tickB().send())).isEqualTo(Step.NOTHING);
        assertThat(tickA().send()).as("no offer before the interval").isNull();
        assertThat(PairChain.sameKey(a, b)).isTrue();
    }

    @Test
    void anAckConfirmingAnotherKeyOfTheSameEpochStartsANewChain() throws Exception {
        rotate();
        now += INTERVAL.toMillis();
        Step first = tickA();
        // The initiator restarts before B's ACK: it redoes epoch 2 with a new offer...
        var stored = a.stored();
        toB(first.send());
        a = PairChain.restore(A, B, stored, 0);
        a.bind(KEY_A, KEY_B);
        Step second = tickA();
        Step ackSecond = toB(second.send());
        // ...and a copy of the first offer, still in flight, reaches B after the second.
        Step ackFirst = toB(first.send());
        assertThat(ackFirst.keyChanged()).as("B redoes the epoch again, from the same previous key").isTrue();
        toA(ackSecond.send()); // A installs the second offer's key; B now holds the first's
        assertThat(PairChain.sameKey(a, b)).isFalse();
        now += INTERVAL.toMillis();
        Step third = tickA();
        Step ack = toB(third.send());
        if (ack.send().type() == Type.ACK) {
            assertThat(toA(ack.send()).event()).as("the confirmation is of another key").isIn(Event.FAILED, Event.ROTATED);
        } else {
            toA(ack.send());
        }
        for (int i = 0; i < 3 && !PairChain.sameKey(a, b); i++) {
            now += 10;
            Step again = tickA();
            if (again.send() != null) toA(toB(again.send()).send());
        }
        assertThat(PairChain.sameKey(a, b)).as("healed by a new chain within a few messages, not at the fallback").isTrue();
    }

    @Test
    void aNewMlKemKeyOfTheResponderIsUsedOnceItIsPublished() throws Exception {
        rotate();
        KemKey old = kemB;
        Files.delete(dir.resolve(KemKey.FILE));
        kemB = KemKey.loadOrCreate(dir); // B lost its ML-KEM key and made a new one
        now += INTERVAL.toMillis();
        // A still sees the old published key.
        Step offer = a.tick(now, INTERVAL, old.publicKeyBase64(), handshake, KemKey::encapsulate);
        Step nack = toB(offer.send());
        assertThat(nack.send().reason()).isEqualTo(Reason.KEM_KEY);
        assertThat(b.epoch()).isEqualTo(1);
        toA(nack.send());
        now += 1000;
        Step next = tickA(); // the new key is published now
        assertThat(next.send().kemKeyId()).isEqualTo(ExchangeMessage.kemKeyId(kemB.publicKeyBase64()));
        toA(toB(next.send()).send());
        assertThat(PairChain.sameKey(a, b)).isTrue();
        assertThat(a.epoch()).isEqualTo(2);
    }

    @Test
    void aChangedPublishedMlKemKeyIsOfferedToAtOnce() throws Exception {
        rotate();
        now += 5000;
        Files.delete(dir.resolve(KemKey.FILE));
        kemB = KemKey.loadOrCreate(dir);
        Step offer = tickA();
        assertThat(offer.send()).as("well before the interval").isNotNull();
        toA(toB(offer.send()).send());
        assertThat(a.epoch()).isEqualTo(2);
    }

    @Test
    void aNewWireGuardKeyOfEitherNodeStartsTheChainOverWithoutAKeyOnBothSides() throws Exception {
        rotate();
        assertThat(a.bind(KEY_A, KEY_B)).isFalse();
        // B was re-imaged: a new WireGuard key, its old chain files still there (or not).
        String newB = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=";
        assertThat(b.bind(newB, KEY_A)).as("B's own key changed: none to install").isTrue();
        assertThat(a.bind(KEY_A, newB)).as("A sees B's new key: none either").isTrue();
        assertThat(a.presharedKey()).isNull();
        assertThat(b.presharedKey()).isNull();
        now += 1000;
        Step offer = tickA();
        assertThat(offer.send().base()).isZero();
        toA(toB(offer.send()).send());
        assertThat(PairChain.sameKey(a, b)).isTrue();
        var restored = PairChain.restore(B, A, b.stored(), 0);
        assertThat(restored.bind(newB, KEY_A)).as("stored with both keys").isFalse();
        assertThat(restored.presharedKey()).isEqualTo(b.presharedKey());
    }

    @Test
    void keysThatNoLongerMatchAreDroppedOnBothSidesOnceHandshakesFail() throws Exception {
        rotate();
        // Something made the two keys differ and no exchange gets through (the tunnel needs the keys).
        now += PairChain.FALLBACK_HANDSHAKE_AGE.toMillis() - 10_000;
        assertThat(tickB().keyChanged()).as("a handshake younger than 150 s: the session is fine").isFalse();
        now += 20_000;
        Step dropB = tickB();
        assertThat(dropB.keyChanged()).isTrue();
        assertThat(dropB.event()).isEqualTo(Event.FELL_BACK);
        assertThat(b.presharedKey()).isNull();
        Step dropA = tickA();
        assertThat(dropA.event()).isEqualTo(Event.FELL_BACK);
        assertThat(a.presharedKey()).isNull();
        assertThat(dropA.send().base()).as("and a new chain is offered").isZero();
    }

    @Test
    void aHealthyPairNeverFallsBackEvenWhenIdle() throws Exception {
        Duration hour = Duration.ofHours(1);
        Step offer = a.tick(now, hour, kemB.publicKeyBase64(), 0, KemKey::encapsulate);
        toA(toB(offer.send()).send());
        now += hour.toMillis() - 1000; // no handshake for almost an hour: nothing was sent
        assertThat(a.tick(now, hour, kemB.publicKeyBase64(), handshake, KemKey::encapsulate).keyChanged()).isFalse();
        assertThat(b.tick(now, hour, null, handshake, KemKey::encapsulate).keyChanged()).isFalse();
        assertThat(a.tick(now, hour, kemB.publicKeyBase64(), -1, KemKey::encapsulate).keyChanged()).as("unknown handshake").isFalse();
    }

    @Test
    void onlyTheNamedPairIsHeardAndOnlyInItsRole() throws Exception {
        Step offer = tickA();
        ExchangeMessage forOther = ExchangeMessage.offer(A, "node-c", 1, 0, offer.send().kemKeyId(), offer.send().ciphertext());
        assertThat(toB(forOther)).isEqualTo(Step.NOTHING);
        ExchangeMessage fromB = ExchangeMessage.offer(B, A, 1, 0, offer.send().kemKeyId(), offer.send().ciphertext());
        assertThat(toA(fromB)).as("the initiator takes no offers").isEqualTo(Step.NOTHING);
        ExchangeMessage forgedAck = ExchangeMessage.ack(B, A, 1, new byte[32]);
        Step other = toA(forgedAck);
        assertThat(other.keyChanged()).as("a confirmation of another key installs nothing").isFalse();
        assertThat(other.event()).as("and starts a new chain").isEqualTo(Event.FAILED);
        assertThat(a.presharedKey()).isNull();
    }

    @Test
    void aChainStoredWithoutTheOwnKeyKeepsItsKeyWhenThePeerKeyIsUnchanged() throws Exception {
        rotate();
        var stored = new java.util.HashMap<>(b.stored());
        stored.remove("ownPublicKey");
        PairChain old = PairChain.restore(B, A, stored, 0);
        assertThat(old.bind(KEY_B, KEY_A)).isFalse();
        assertThat(old.presharedKey()).isEqualTo(b.presharedKey());
        assertThat(old.stored()).containsEntry("ownPublicKey", KEY_B);
    }

    @Test
    void storedStateRoundTripsAndBadStateIsRefused() throws Exception {
        rotate();
        rotateAfterInterval();
        PairChain again = PairChain.restore(B, A, b.stored(), 0);
        assertThat(again.presharedKey()).isEqualTo(b.presharedKey());
        assertThat(again.epoch()).isEqualTo(2);
        var bad = new java.util.HashMap<>(b.stored());
        bad.put("key", "AAAA");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> PairChain.restore(B, A, bad, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    private void rotateAfterInterval() throws Exception {
        now += INTERVAL.toMillis();
        handshake = now / 1000;
        rotate();
    }
}
