package io.wiremesh.wireguard.device;

import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.routing.AllowedIps;
import io.wiremesh.wireguard.session.IndexTable;
import io.wiremesh.wireguard.session.Keypair;
import java.util.LinkedHashMap;

/**
 * The device's peer registry: public key -> {@link Peer} in insertion order, an array snapshot of
 * them, the cryptokey routing table (AllowedIPs, whitepaper 2) and the receiver-index table
 * (whitepaper 5.4: every message names its session or pending handshake by our index).
 *
 * <p>Writes serialize on this object. The snapshot, the AllowedIPs tries and the index table are
 * replaced on write, so the per-packet reads ({@link #all}, route and index lookups) take no lock.
 */
final class Peers {
    private final LinkedHashMap<String, Peer> byKey = new LinkedHashMap<>();
    private volatile Peer[] snapshot = new Peer[0];
    private final AllowedIps<Peer> allowedIps = new AllowedIps<>();
    private final IndexTable<Object> indices = new IndexTable<>();

    /** The peer with this 32-byte public key, or null. */
    synchronized Peer get(byte[] publicKey) {
        return byKey.get(Keys.toHex(publicKey));
    }

    /** Registers {@code p} (the caller checked there is none with its key yet). */
    synchronized void add(Peer p) {
        byKey.put(Keys.toHex(p.publicKey), p);
        snapshot = byKey.values().toArray(new Peer[0]);
    }

    /** Unregisters {@code p} and its AllowedIPs; false when it was not registered. */
    synchronized boolean remove(Peer p) {
        if (byKey.remove(Keys.toHex(p.publicKey)) == null) return false;
        snapshot = byKey.values().toArray(new Peer[0]);
        allowedIps.removeValue(p);
        return true;
    }

    /** All peers in insertion order; a snapshot, never modified, shared: do not write to it. */
    Peer[] all() {
        return snapshot;
    }

    /** Cryptokey routing: destination -> peer on the way out, source -> allowed peer on the way in. */
    AllowedIps<Peer> allowedIps() {
        return allowedIps;
    }

    /** Receiver index -> {@link Keypair} or {@link Peer} (pending handshake). */
    IndexTable<Object> indices() {
        return indices;
    }

    /** Forgets a retired session's index and erases its keys. */
    void retire(Keypair kp) {
        indices.remove(kp.localIndex, kp);
        kp.destroy();
    }
}
