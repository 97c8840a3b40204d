package io.wiremesh.wireguard.timers;

import static io.wiremesh.wireguard.Protocol.*;

import java.util.random.RandomGenerator;

/**
 * The per-peer timer state machine of the whitepaper (section 6) with wireguard-go's event names.
 * Sans-I/O: events move deadlines; {@link #expire(long)} reports which timers fired and the
 * peer performs the matching action. Time is whatever clock the caller passes in, so tests drive
 * it with a fake clock.
 */
public final class Timers {
    public enum Timer { RETRANSMIT_HANDSHAKE, SEND_KEEPALIVE, NEW_HANDSHAKE, ZERO_KEY_MATERIAL, PERSISTENT_KEEPALIVE }

    private static final long STOPPED = Long.MAX_VALUE;
    private static final Timer[] TIMERS = Timer.values();

    private final long[] deadline = new long[TIMERS.length];
    private final RandomGenerator random;
    private int handshakeAttempts;
    private boolean needAnotherKeepalive;
    private boolean sentLastMinuteHandshake;
    private int persistentKeepaliveInterval;

    public Timers(RandomGenerator random) {
        this.random = random;
        java.util.Arrays.fill(deadline, STOPPED);
    }

    private long jitter() {
        return random.nextLong(REKEY_TIMEOUT_JITTER_MAX);
    }

    private void set(Timer t, long at) {
        deadline[t.ordinal()] = at;
    }

    private void stop(Timer t) {
        deadline[t.ordinal()] = STOPPED;
    }

    public synchronized boolean pending(Timer t) {
        return deadline[t.ordinal()] != STOPPED;
    }

    public synchronized long deadline(Timer t) {
        return deadline[t.ordinal()];
    }

    /** Earliest pending deadline, or Long.MAX_VALUE. */
    public synchronized long nextDeadline() {
        long min = STOPPED;
        for (long d : deadline) min = Math.min(min, d);
        return min;
    }

    // --- events ---

    /** Data (not a keepalive) was sent: expect an answer within KEEPALIVE_TIMEOUT + REKEY_TIMEOUT, else rekey. */
    public synchronized void dataSent(long now) {
        if (!pending(Timer.NEW_HANDSHAKE)) set(Timer.NEW_HANDSHAKE, now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter());
    }

    /** Data was received: we owe the peer a packet within KEEPALIVE_TIMEOUT (passive keepalive). */
    public synchronized void dataReceived(long now) {
        if (!pending(Timer.SEND_KEEPALIVE)) set(Timer.SEND_KEEPALIVE, now + KEEPALIVE_TIMEOUT);
        else needAnotherKeepalive = true;
    }

    /** Any authenticated packet was sent: it serves as the keepalive. */
    public synchronized void anyAuthenticatedPacketSent() {
        stop(Timer.SEND_KEEPALIVE);
    }

    /** Any authenticated packet was received: the peer is alive, no need to rekey for silence. */
    public synchronized void anyAuthenticatedPacketReceived() {
        stop(Timer.NEW_HANDSHAKE);
    }

    /** Any authenticated packet was sent or received: restart the persistent keepalive. */
    public synchronized void anyAuthenticatedPacketTraversal(long now) {
        if (persistentKeepaliveInterval > 0) set(Timer.PERSISTENT_KEEPALIVE, now + persistentKeepaliveInterval * SECOND);
    }

    public synchronized void handshakeInitiated(long now) {
        set(Timer.RETRANSMIT_HANDSHAKE, now + REKEY_TIMEOUT + jitter());
    }

    public synchronized void handshakeComplete() {
        stop(Timer.RETRANSMIT_HANDSHAKE);
        handshakeAttempts = 0;
        sentLastMinuteHandshake = false;
    }

    /** A session was derived: erase everything if nothing new happens for REJECT_AFTER_TIME * 3. */
    public synchronized void sessionDerived(long now) {
        set(Timer.ZERO_KEY_MATERIAL, now + REJECT_AFTER_TIME * 3);
    }

    public synchronized void setPersistentKeepalive(int seconds) {
        persistentKeepaliveInterval = seconds;
        if (seconds == 0) stop(Timer.PERSISTENT_KEEPALIVE);
    }

    public synchronized int persistentKeepalive() {
        return persistentKeepaliveInterval;
    }

    /** A non-retry initiation starts a new round of attempts. */
    public synchronized void resetAttempts() {
        handshakeAttempts = 0;
    }

    /**
     * Whether a received session is old enough that the initiator should rekey before it is rejected
     * (REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT); true at most once per session.
     */
    public synchronized boolean lastMinuteHandshake() {
        if (sentLastMinuteHandshake) return false;
        sentLastMinuteHandshake = true;
        return true;
    }

    public synchronized void stopAll() {
        java.util.Arrays.fill(deadline, STOPPED);
        handshakeAttempts = 0;
        needAnotherKeepalive = false;
        sentLastMinuteHandshake = false;
    }

    // --- expiry ---

    /** What the peer must do after {@link #expire}. */
    public enum Action { SEND_INITIATION_RETRY, GIVE_UP_HANDSHAKE, SEND_KEEPALIVE, SEND_INITIATION, ZERO_KEYS }

    /**
     * Fires every timer whose deadline is at or before {@code now} and returns the actions, in a
     * fixed order. State changes that belong to the timer itself (attempt counting, re-arming) happen here.
     */
    public synchronized java.util.EnumSet<Action> expire(long now) {
        java.util.EnumSet<Action> actions = java.util.EnumSet.noneOf(Action.class);
        if (deadline[Timer.RETRANSMIT_HANDSHAKE.ordinal()] <= now) {
            stop(Timer.RETRANSMIT_HANDSHAKE);
            if (handshakeAttempts > MAX_TIMER_HANDSHAKES) {
                // Give up: drop what waited for this handshake; erase keys later if nothing changes.
                stop(Timer.SEND_KEEPALIVE);
                if (!pending(Timer.ZERO_KEY_MATERIAL)) set(Timer.ZERO_KEY_MATERIAL, now + REJECT_AFTER_TIME * 3);
                actions.add(Action.GIVE_UP_HANDSHAKE);
            } else {
                handshakeAttempts++;
                actions.add(Action.SEND_INITIATION_RETRY);
            }
        }
        if (deadline[Timer.SEND_KEEPALIVE.ordinal()] <= now) {
            stop(Timer.SEND_KEEPALIVE);
            actions.add(Action.SEND_KEEPALIVE);
            if (needAnotherKeepalive) {
                needAnotherKeepalive = false;
                set(Timer.SEND_KEEPALIVE, now + KEEPALIVE_TIMEOUT);
            }
        }
        if (deadline[Timer.NEW_HANDSHAKE.ordinal()] <= now) {
            stop(Timer.NEW_HANDSHAKE);
            actions.add(Action.SEND_INITIATION);
        }
        if (deadline[Timer.ZERO_KEY_MATERIAL.ordinal()] <= now) {
            stop(Timer.ZERO_KEY_MATERIAL);
            actions.add(Action.ZERO_KEYS);
        }
        if (deadline[Timer.PERSISTENT_KEEPALIVE.ordinal()] <= now) {
            stop(Timer.PERSISTENT_KEEPALIVE);
            if (persistentKeepaliveInterval > 0) actions.add(Action.SEND_KEEPALIVE);
        }
        return actions;
    }

    public synchronized int handshakeAttempts() {
        return handshakeAttempts;
    }

    public synchronized boolean needAnotherKeepalive() {
        return needAnotherKeepalive;
    }

    public synchronized boolean sentLastMinuteHandshake() {
        return sentLastMinuteHandshake;
    }

    /** Nanoseconds left per pending timer at {@code now}, by {@link Timer} name (a handover carries them). */
    public synchronized java.util.Map<String, Long> remaining(long now) {
        java.util.Map<String, Long> left = new java.util.LinkedHashMap<>();
        for (Timer t : TIMERS) if (deadline[t.ordinal()] != STOPPED) left.put(t.name(), deadline[t.ordinal()] - now);
        return left;
    }

    /** Continues a predecessor's timers ({@link #remaining}); names this release does not know are skipped. */
    public synchronized void restore(java.util.Map<String, Long> remaining, long now, int attempts, boolean anotherKeepalive, boolean lastMinute) {
        java.util.Arrays.fill(deadline, STOPPED);
        for (Timer t : TIMERS) {
            Long left = remaining.get(t.name());
            if (left != null) deadline[t.ordinal()] = now + left;
        }
        handshakeAttempts = attempts;
        needAnotherKeepalive = anotherKeepalive;
        sentLastMinuteHandshake = lastMinute;
    }
}
