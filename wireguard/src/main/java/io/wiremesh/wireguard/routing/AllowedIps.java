package io.wiremesh.wireguard.routing;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Cryptokey routing table (whitepaper section 3): longest-prefix match from an IP address to
 * the peer allowed to use it, for IPv4 and IPv6. Used on send (destination picks the peer) and
 * on receive (the source must belong to the peer that sent the packet).
 *
 * <p>Reads happen per packet on several threads; writes happen on configuration changes. The
 * tries are immutable and swapped atomically on write, so lookups take no lock, never see a
 * half-applied change and allocate nothing.
 */
public final class AllowedIps<T> {
    private static final class Node {
        Node zero;
        Node one;
        Object value;
    }

    private final LinkedHashMap<Prefix, T> entries = new LinkedHashMap<>();
    private volatile Node v4 = new Node();
    private volatile Node v6 = new Node();

    /** Inserts or moves {@code prefix} to {@code value} (a prefix belongs to exactly one peer). */
    public synchronized void insert(Prefix prefix, T value) {
        entries.remove(prefix);
        entries.put(prefix, value);
        rebuild(prefix.isV4());
    }

    public synchronized boolean remove(Prefix prefix, T value) {
        if (!entries.remove(prefix, value)) return false;
        rebuild(prefix.isV4());
        return true;
    }

    public synchronized void removeValue(T value) {
        removeIf(e -> e.getValue() == value);
    }

    private void removeIf(Predicate<Map.Entry<Prefix, T>> p) {
        boolean changed = false;
        for (Iterator<Map.Entry<Prefix, T>> it = entries.entrySet().iterator(); it.hasNext(); ) {
            if (p.test(it.next())) {
                it.remove();
                changed = true;
            }
        }
        if (changed) {
            rebuild(true);
            rebuild(false);
        }
    }

    /** Prefixes of {@code value} in insertion order (the order wireguard-go reports them in). */
    public synchronized List<Prefix> prefixesOf(T value) {
        List<Prefix> out = new ArrayList<>();
        for (Map.Entry<Prefix, T> e : entries.entrySet()) if (e.getValue() == value) out.add(e.getKey());
        return out;
    }

    public synchronized int size() {
        return entries.size();
    }

    /** Longest-prefix match of an IPv4 address given as a big-endian int. */
    @SuppressWarnings("unchecked")
    public T lookupV4(int addr) {
        Node n = v4;
        Object best = n.value;
        for (int i = 31; i >= 0 && n != null; i--) {
            n = ((addr >>> i) & 1) == 0 ? n.zero : n.one;
            if (n != null && n.value != null) best = n.value;
        }
        return (T) best;
    }

    /** Longest-prefix match of an IPv6 address given as two big-endian longs. */
    @SuppressWarnings("unchecked")
    public T lookupV6(long hi, long lo) {
        Node n = v6;
        Object best = n.value;
        for (int i = 0; i < 128 && n != null; i++) {
            long word = i < 64 ? hi : lo;
            int bit = (int) ((word >>> (63 - (i & 63))) & 1);
            n = bit == 0 ? n.zero : n.one;
            if (n != null && n.value != null) best = n.value;
        }
        return (T) best;
    }

    /** Looks up the IPv4 or IPv6 address at {@code offset} of {@code buf} (absolute index). */
    public T lookup(ByteBuffer buf, int offset, boolean v4Address) {
        return v4Address ? lookupV4(buf.getInt(offset)) : lookupV6(buf.getLong(offset), buf.getLong(offset + 8));
    }

    public T lookup(byte[] address) {
        ByteBuffer b = ByteBuffer.wrap(address);
        return lookup(b, 0, address.length == 4);
    }

    private void rebuild(boolean family4) {
        Node root = new Node();
        for (Map.Entry<Prefix, T> e : entries.entrySet()) {
            Prefix p = e.getKey();
            if (p.isV4() != family4) continue;
            Node n = root;
            byte[] a = p.address();
            for (int i = 0; i < p.bits(); i++) {
                int bit = (a[i >>> 3] >>> (7 - (i & 7))) & 1;
                if (bit == 0) n = n.zero == null ? (n.zero = new Node()) : n.zero;
                else n = n.one == null ? (n.one = new Node()) : n.one;
            }
            n.value = e.getValue();
        }
        if (family4) v4 = root;
        else v6 = root;
    }
}
