package io.wiremesh.wireguard.session;

import io.wiremesh.wireguard.crypto.Keys;
import java.util.HashMap;
import java.util.Map;

/**
 * Receiver index -> session or pending handshake. Lookups happen once per received packet, so the
 * table is an immutable open-addressing array replaced on write (writes happen once per
 * handshake): reads take no lock and allocate nothing.
 */
public final class IndexTable<T> {
    private record Table(int[] keys, Object[] values, int mask) {}

    private final Map<Integer, T> entries = new HashMap<>();
    private volatile Table table = new Table(new int[8], new Object[8], 7);

    @SuppressWarnings("unchecked")
    public T get(int index) {
        Table t = table;
        int i = mix(index) & t.mask;
        while (true) {
            Object v = t.values[i];
            if (v == null) return null;
            if (t.keys[i] == index) return (T) v;
            i = (i + 1) & t.mask;
        }
    }

    /** Allocates a fresh random index for {@code value}. */
    public synchronized int add(T value) {
        int index;
        do {
            index = Keys.random().nextInt();
        } while (index == 0 || entries.containsKey(index));
        entries.put(index, value);
        rebuild();
        return index;
    }

    /** Registers {@code value} under a given index (a session taken over); false when the index is taken. */
    public synchronized boolean put(int index, T value) {
        if (index == 0 || entries.containsKey(index)) return false;
        entries.put(index, value);
        rebuild();
        return true;
    }

    public synchronized void replace(int index, T value) {
        if (entries.containsKey(index)) {
            entries.put(index, value);
            rebuild();
        }
    }

    public synchronized void remove(int index, T expected) {
        if (entries.remove(index, expected)) rebuild();
    }

    public synchronized int size() {
        return entries.size();
    }

    private void rebuild() {
        int cap = Integer.highestOneBit(Math.max(8, entries.size() * 3)) << 1;
        int[] keys = new int[cap];
        Object[] values = new Object[cap];
        for (Map.Entry<Integer, T> e : entries.entrySet()) {
            int i = mix(e.getKey()) & (cap - 1);
            while (values[i] != null) i = (i + 1) & (cap - 1);
            keys[i] = e.getKey();
            values[i] = e.getValue();
        }
        table = new Table(keys, values, cap - 1);
    }

    private static int mix(int x) {
        x ^= x >>> 16;
        x *= 0x45d9f3b;
        return x ^ (x >>> 16);
    }
}
