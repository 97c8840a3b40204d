package io.wiremesh.wireguard.session;

import java.util.function.Consumer;

/**
 * The previous / current / next sessions of a peer (whitepaper 5.4.6 and wireguard-go's
 * keypair.go). A responder's new session waits in {@code next} until the initiator proves it
 * has it by sending data with it.
 */
public final class Keypairs {
    private volatile Keypair previous;
    private volatile Keypair current;
    private volatile Keypair next;
    private final Consumer<Keypair> retire;

    /** {@code retire} is called for each session that is dropped (to free its index and erase it). */
    public Keypairs(Consumer<Keypair> retire) {
        this.retire = retire;
    }

    public Keypair current() {
        return current;
    }

    public Keypair previous() {
        return previous;
    }

    public Keypair next() {
        return next;
    }

    public synchronized void install(Keypair kp) {
        if (kp.initiator) {
            Keypair oldPrevious = previous;
            if (next != null) {
                previous = next;
                next = null;
                retireIf(current);
            } else {
                previous = current;
            }
            retireIf(oldPrevious);
            current = kp;
        } else {
            retireIf(next);
            next = kp;
            retireIf(previous);
            previous = null;
        }
    }

    /**
     * Called for every authenticated packet received on {@code kp}; rotates {@code next} into
     * {@code current} on its first use. Returns true when that rotation happened (handshake complete
     * from the responder's point of view).
     */
    public boolean received(Keypair kp) {
        if (next != kp) return false;
        synchronized (this) {
            if (next != kp) return false;
            retireIf(previous);
            previous = current;
            current = kp;
            next = null;
            return true;
        }
    }

    /** Installs a predecessor's sessions as they were ({@code handover}); any of them may be null. */
    public synchronized void restore(Keypair previous, Keypair current, Keypair next) {
        clear();
        this.previous = previous;
        this.current = current;
        this.next = next;
    }

    public synchronized void clear() {
        retireIf(previous);
        retireIf(current);
        retireIf(next);
        previous = current = next = null;
    }

    private void retireIf(Keypair kp) {
        if (kp != null) retire.accept(kp);
    }
}
