package io.wiremesh.node.ipam;

import com.fasterxml.jackson.jr.ob.JSON;
import io.wiremesh.api.net.Cidr;
import io.wiremesh.node.StateFiles;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Pod addresses from the node's block(s), one per family per attachment (container ID + interface).
 * Every change is written to disk before it is acknowledged, so a restart never hands out an
 * address that is in use. Addresses are handed out round-robin after the last one, so a released
 * address is not immediately reused. Reserved: the network address, the first address (the node's
 * wiremesh0 / gateway address) and, for IPv4, the broadcast address.
 *
 * <p>A state file that cannot be read (not JSON, not the shape written here, unreadable on disk) is
 * never guessed at or overwritten: until it is restored or removed, every call that needs the state
 * fails with {@link UnreadableStateException} saying so, and {@link #problem()} gives the reason. Each
 * such call reads the file again, so a repair takes effect without a restart.
 */
public final class Ipam {
    public record Allocation(String address, String containerId, String ifName, String podNamespace, String podName) {
        public boolean v6() {
            return address.indexOf(':') >= 0;
        }
    }

    /** The pool is full. */
    public static final class ExhaustedException extends IOException {
        public ExhaustedException(String msg) {
            super(msg);
        }
    }

    /** The state file cannot be read: no address is handed out or released until it is restored or removed. */
    public static final class UnreadableStateException extends IOException {
        public UnreadableStateException(String msg) {
            super(msg);
        }
    }

    private final Path file;
    private final List<Cidr> blocks;
    private final List<Allocation> allocations = new ArrayList<>();
    private final Map<Boolean, BigInteger> last = new HashMap<>();
    private String unreadable; // why the file could not be read, or null

    /** The state in {@code file} (none yet when it does not exist) for addresses from {@code blocks}. */
    public Ipam(Path file, List<Cidr> blocks) {
        this.file = file;
        this.blocks = List.copyOf(blocks);
        load();
    }

    private void load() {
        allocations.clear();
        last.clear();
        try {
            if (Files.exists(file)) parse(Files.readAllBytes(file));
            unreadable = null;
        } catch (IOException | RuntimeException e) {
            allocations.clear();
            last.clear();
            String detail = String.valueOf(e.getMessage()).lines().findFirst().orElse("").strip();
            unreadable = "pod addresses: " + file + " cannot be read (" + e.getClass().getSimpleName() + (detail.isEmpty() ? "" : ": " + detail)
                    + "); no pod on this node gets an address until it can, since an address in use could be handed out twice."
                    + " Restore the file, or delete this node's pods that have pod-network addresses and then remove it";
        }
    }

    @SuppressWarnings("unchecked")
    private void parse(byte[] json) throws IOException {
        Map<String, Object> state = JSON.std.mapFrom(json);
        if (state == null) throw new IOException("empty");
        for (Object o : (List<Object>) state.getOrDefault("allocations", List.of())) {
            Map<String, Object> a = (Map<String, Object>) o;
            Allocation allocation = new Allocation((String) a.get("address"), (String) a.get("containerId"), (String) a.get("ifName"),
                    (String) a.get("podNamespace"), (String) a.get("podName"));
            if (allocation.address() == null || allocation.containerId() == null || allocation.ifName() == null) {
                throw new IOException("an allocation without address, containerId or ifName: " + a);
            }
            allocations.add(allocation);
        }
        Map<String, Object> l = (Map<String, Object>) state.getOrDefault("last", Map.of());
        l.forEach((k, v) -> last.put(k.equals("6"), new BigInteger((String) v)));
    }

    /** Reads the file again if it was unreadable; throws while it still is. */
    private void requireReadable() throws UnreadableStateException {
        String problem = problem();
        if (problem != null) throw new UnreadableStateException(problem);
    }

    /**
     * Why no pod address can be handed out on this node (the state file cannot be read: what and what to
     * do), or null when the state is in hand. Reads the file again if it was unreadable.
     */
    public synchronized String problem() {
        if (unreadable != null) load();
        return unreadable;
    }

    private void save() throws IOException {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("blocks", blocks.stream().map(Cidr::toString).toList());
        Map<String, Object> l = new LinkedHashMap<>();
        last.forEach((v6, a) -> l.put(v6 ? "6" : "4", a.toString()));
        state.put("last", l);
        List<Map<String, Object>> list = new ArrayList<>();
        for (Allocation a : allocations) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("address", a.address());
            m.put("containerId", a.containerId());
            m.put("ifName", a.ifName());
            if (a.podNamespace() != null) m.put("podNamespace", a.podNamespace());
            if (a.podName() != null) m.put("podName", a.podName());
            list.add(m);
        }
        state.put("allocations", list);
        StateFiles.writeAtomically(file, JSON.std.with(JSON.Feature.PRETTY_PRINT_OUTPUT).asBytes(state));
    }

    /** The attachment's addresses, one per block; an existing allocation is returned as is (ADD retried). */
    public synchronized List<Allocation> allocate(String containerId, String ifName, String podNamespace, String podName) throws IOException {
        requireReadable();
        List<Allocation> existing = find(containerId, ifName);
        if (!existing.isEmpty()) return existing;
        List<Allocation> made = new ArrayList<>();
        for (Cidr block : blocks) {
            BigInteger a = next(block);
            if (a == null) {
                throw new ExhaustedException("no free address in " + block + " (" + allocations.stream().filter(x -> x.v6() == block.v6()).count()
                        + " in use): the node's block is full");
            }
            last.put(block.v6(), a);
            made.add(new Allocation(format(a, block.v6()), containerId, ifName, podNamespace, podName));
        }
        allocations.addAll(made);
        save();
        return made;
    }

    private BigInteger next(Cidr block) {
        Set<String> used = new java.util.HashSet<>();
        for (Allocation a : allocations) used.add(a.address());
        BigInteger first = block.network().add(BigInteger.TWO);                          // .0 network, .1 gateway
        BigInteger lastAddr = block.v6() ? block.last() : block.last().subtract(BigInteger.ONE); // no v4 broadcast
        BigInteger size = lastAddr.subtract(first).add(BigInteger.ONE);
        if (size.signum() <= 0) return null;
        BigInteger start = last.containsKey(block.v6()) && block.contains(new Cidr(last.get(block.v6()), block.totalBits(), block.v6()))
                ? last.get(block.v6()).add(BigInteger.ONE) : first;
        long tries = size.min(BigInteger.valueOf(1 << 20)).longValue();
        BigInteger a = start;
        for (long i = 0; i < tries; i++) {
            if (a.compareTo(lastAddr) > 0 || a.compareTo(first) < 0) a = first;
            if (!used.contains(format(a, block.v6()))) return a;
            a = a.add(BigInteger.ONE);
        }
        return null;
    }

    /** The attachment's addresses (empty: none recorded). */
    public synchronized List<Allocation> find(String containerId, String ifName) throws UnreadableStateException {
        requireReadable();
        return allocations.stream().filter(a -> a.containerId().equals(containerId) && a.ifName().equals(ifName)).toList();
    }

    /** Releases the attachment's addresses; empty when it had none (DEL is idempotent). */
    public synchronized List<Allocation> release(String containerId, String ifName) throws IOException {
        requireReadable();
        List<Allocation> gone = find(containerId, ifName);
        if (!gone.isEmpty()) {
            allocations.removeAll(gone);
            save();
        }
        return gone;
    }

    /** Releases every attachment not in {@code keep} ("containerId/ifName"); returns what was released. */
    public synchronized List<Allocation> retainOnly(Set<String> keep) throws IOException {
        requireReadable();
        List<Allocation> gone = allocations.stream().filter(a -> !keep.contains(a.containerId() + "/" + a.ifName())).toList();
        if (!gone.isEmpty()) {
            allocations.removeAll(gone);
            save();
        }
        return gone;
    }

    /** Every allocation (none while the state file is unreadable). */
    public synchronized List<Allocation> all() {
        return List.copyOf(allocations);
    }

    public synchronized long free(boolean v6) {
        for (Cidr b : blocks) {
            if (b.v6() != v6) continue;
            BigInteger usable = b.size().subtract(BigInteger.valueOf(v6 ? 2 : 3));
            BigInteger f = usable.subtract(BigInteger.valueOf(allocations.stream().filter(a -> a.v6() == v6).count()));
            return f.bitLength() < 63 ? f.longValue() : Long.MAX_VALUE;
        }
        return 0;
    }

    static String format(BigInteger a, boolean v6) {
        byte[] raw = a.toByteArray();
        byte[] b = new byte[v6 ? 16 : 4];
        for (int i = 0; i < Math.min(raw.length, b.length); i++) b[b.length - 1 - i] = raw[raw.length - 1 - i];
        try {
            String s = InetAddress.getByAddress(b).getHostAddress();
            return v6 ? new Cidr(a, 128, true).toString().replace("/128", "") : s;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
