package io.wiremesh.node.mesh;

import io.wiremesh.node.wg.WireGuardDevice;
import io.wiremesh.node.wg.WireGuardDevice.PeerConfig;
import io.wiremesh.node.wg.WireGuardDevice.PeerState;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Puts a {@link PeerPlan}'s peers on the WireGuard interface, writing only the peers that
 * differ. What the interface holds is read in full (one GET of every peer) only when unknown: at
 * first, after {@link #invalidate()} (the interface was configured or re-created), after a failed
 * write, and when the record is older than {@link #REREAD_AFTER_NANOS} at a call (the node-daemon
 * calls at least that often: someone may have changed the interface behind its back); between
 * reads, the daemon's record of its own writes stands in for it. So one join or leave
 * in an N-node mesh costs one peer write and one route, not a read of N peers.
 */
final class PeerSync {
    /** The longest the record of the interface is trusted before it is read again: 30 s. */
    static final long REREAD_AFTER_NANOS = 30_000_000_000L;

    private final WireGuardDevice device;
    private final LongSupplier nanoTime;
    private Map<String, PeerState> known;
    /** Allowed-IP prefix -> public key of the peer holding it, for {@link #known}. */
    private Map<String, String> owners;
    private long readAt;

    PeerSync(WireGuardDevice device, LongSupplier nanoTime) {
        this.device = device;
        this.nanoTime = nanoTime;
    }

    /**
     * Makes the interface hold {@code plan}'s peers (its routes are the caller's: {@link NodeReconciler.Step#ROUTES}).
     *
     * @param complete whether the plan comes from a complete view of the mesh: only then are peers
     *                 the plan does not name removed (an incomplete view must not drop a live peer)
     * @throws IOException when the interface or the kernel refuses; the record is dropped, the next call reads again
     */
    synchronized void apply(PeerPlan plan, boolean complete) throws IOException {
        Map<String, PeerState> current = current();
        try {
            for (PeerConfig p : plan.peers().values()) {
                PeerState have = current.get(p.publicKey());
                if (WireGuardDevice.upToDate(p, have)) continue;
                device.upsertPeer(p, have);
                current.put(p.publicKey(), written(p, have));
                moveAllowedIps(current, owners, p);
            }
            if (complete) {
                for (String key : List.copyOf(current.keySet())) {
                    if (plan.peers().containsKey(key)) continue;
                    device.removePeer(key);
                    PeerState gone = current.remove(key);
                    if (gone != null) for (String ip : gone.allowedIps()) owners.remove(io.wiremesh.api.net.Cidr.parse(ip).toString(), key);
                }
            }
        } catch (IOException | RuntimeException e) {
            known = null;
            throw e;
        }
    }

    /**
     * Sets one peer's preshared key (base64; null: none), touching nothing else of it: one write, no
     * read of the other peers while the record is trusted.
     *
     * @return true when the peer holds the key now, or is not on the interface (the sync that adds it brings the key)
     * @throws IOException when the interface refuses; the record is dropped
     */
    synchronized boolean presharedKey(String publicKey, String presharedKey) throws IOException {
        Map<String, PeerState> current = current();
        PeerState have = current.get(publicKey);
        if (have == null) return true;
        if (java.util.Objects.equals(have.presharedKey(), presharedKey)) return true;
        PeerConfig p = new PeerConfig(publicKey, null, have.allowedIps(), have.persistentKeepalive(), presharedKey);
        try {
            device.upsertPeer(p, have);
        } catch (IOException | RuntimeException e) {
            known = null;
            throw e;
        }
        current.put(publicKey, written(p, have));
        return true;
    }

    /** The interface was configured, re-created or switched: its peers are read again at the next {@link #apply}. */
    synchronized void invalidate() {
        known = null;
    }

    private Map<String, PeerState> current() throws IOException {
        long now = nanoTime.getAsLong();
        if (known == null || now - readAt > REREAD_AFTER_NANOS) {
            Map<String, PeerState> read = new HashMap<>();
            Map<String, String> holders = new HashMap<>();
            for (PeerState p : device.peers()) {
                read.put(p.publicKey(), p);
                for (String ip : p.allowedIps()) holders.put(io.wiremesh.api.net.Cidr.parse(ip).toString(), p.publicKey());
            }
            known = read;
            owners = holders;
            readAt = now;
        }
        return known;
    }

    /**
     * WireGuard gives an allowed IP to the peer that was written last (cryptokey routing: one owner per
     * prefix), taking it from any other: the record does the same, so it never shows a prefix on a peer
     * that lost it. {@code owners} (prefix -> public key) keeps this O(prefixes written).
     */
    static void moveAllowedIps(Map<String, PeerState> record, Map<String, String> owners, PeerConfig written) {
        for (String ip : written.allowedIps()) {
            String prefix = io.wiremesh.api.net.Cidr.parse(ip).toString();
            String previous = owners.put(prefix, written.publicKey());
            if (previous == null || previous.equals(written.publicKey())) continue;
            PeerState other = record.get(previous);
            if (other == null) continue;
            List<String> kept = other.allowedIps().stream().filter(x -> !io.wiremesh.api.net.Cidr.parse(x).toString().equals(prefix)).toList();
            record.put(previous, new PeerState(other.publicKey(), other.endpoint(), kept, other.lastHandshakeEpochSeconds(), other.rxBytes(),
                    other.txBytes(), other.persistentKeepalive(), other.presharedKey()));
        }
    }

    /** The peer as the interface holds it after {@code wanted} was written over {@code before} (null: new). */
    static PeerState written(PeerConfig wanted, PeerState before) {
        String endpoint = wanted.endpoint() != null ? wanted.endpoint() : before == null ? null : before.endpoint();
        return new PeerState(wanted.publicKey(), endpoint, List.copyOf(wanted.allowedIps()), before == null ? 0 : before.lastHandshakeEpochSeconds(),
                before == null ? 0 : before.rxBytes(), before == null ? 0 : before.txBytes(), wanted.persistentKeepalive(), wanted.presharedKey());
    }
}
