package io.wiremesh.wireguard.session;

import io.wiremesh.wireguard.Protocol;
import io.wiremesh.wireguard.crypto.ChaChaPoly;
import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.SessionKey;
import java.util.concurrent.atomic.AtomicLong;

/** One transport session: a send key with its counter, a receive key with its replay window. */
public final class Keypair {
    public final SessionKey sendKey;
    public final SessionKey receiveKey;
    public final boolean initiator;
    public final int localIndex;
    public final int remoteIndex;
    public final long createdNanos;
    public final Object owner;
    private final AtomicLong sendNonce = new AtomicLong();
    public final ReplayWindow replay = new ReplayWindow();
    private volatile boolean destroyed;

    public Keypair(byte[] send, byte[] receive, boolean initiator, int localIndex, int remoteIndex,
                   long createdNanos, Object owner) {
        this.sendKey = ChaChaPoly.key(send);
        this.receiveKey = ChaChaPoly.key(receive);
        Keys.zero(send);
        Keys.zero(receive);
        this.initiator = initiator;
        this.localIndex = localIndex;
        this.remoteIndex = remoteIndex;
        this.createdNanos = createdNanos;
        this.owner = owner;
    }

    /** Next send counter, or -1 when the key may not send any more (REJECT_AFTER_MESSAGES, age, erased). */
    public long nextNonce(long nowNanos) {
        if (destroyed || expired(nowNanos)) return -1;
        long n;
        do {
            n = sendNonce.get();
            // Never increment past the limit: a wrapped counter would reuse a nonce.
            if (Long.compareUnsigned(n, Protocol.REJECT_AFTER_MESSAGES) >= 0) return -1;
        } while (!sendNonce.compareAndSet(n, n + 1));
        return n;
    }

    /** The counter the next packet would be sent with (without taking it); for a handover. */
    public long peekNonce() {
        return sendNonce.get();
    }

    /** Continues the send counter of a predecessor's copy of this session ({@code handover}); never moves it back. */
    public void continueFrom(long nonce) {
        sendNonce.accumulateAndGet(nonce, Math::max);
    }

    /** Stop sending on this session (the local key changed); receiving still works until it expires. */
    public void expireSending() {
        sendNonce.set(Protocol.REJECT_AFTER_MESSAGES);
    }

    public boolean expired(long nowNanos) {
        return nowNanos - createdNanos >= Protocol.REJECT_AFTER_TIME;
    }

    public boolean destroyed() {
        return destroyed;
    }

    /** Erase key material; late packets on this session are then dropped. */
    public void destroy() {
        destroyed = true;
        sendKey.destroy();
        receiveKey.destroy();
    }
}
