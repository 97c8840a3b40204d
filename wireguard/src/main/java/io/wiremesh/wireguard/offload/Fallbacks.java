package io.wiremesh.wireguard.offload;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Offloaded writes the kernel refused and that were carried out without the offload instead: a UDP_SEGMENT
 * sendmsg re-sent one datagram per call, a TUN superpacket written as its segments (counted only when that went
 * through: a path that refuses every datagram is not an offload's fault). Counted by kind and by the
 * refusal's errno (the causes udp(7) and the kernel's udp_send_skb give: EINVAL for a segment above the path's MTU,
 * more than 64 segments or checksums off; EIO for a route through IPsec, a device without checksum offload or
 * UDP-Lite; EMSGSIZE, ENOBUFS, ENOMEM, EPERM from netfilter; EOPNOTSUPP and ENOPROTOOPT from a kernel without the
 * offload), each cause said once on stderr. Process-wide: a datapath process serves one interface.
 */
public final class Fallbacks {
    /** What was refused. */
    public enum Kind {
        /** A sendmsg with UDP_SEGMENT (udp(7) generic segmentation offload). */
        UDP_SEGMENTATION,
        /** A TUN write of a coalesced TCP superpacket (virtio-net GSO). */
        TUN_COALESCING;

        /** The metric label: lower case. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The errno names counted by name; any other is {@code other}. */
    public static final List<String> CAUSES = List.of("EPERM", "EIO", "ENOMEM", "EINVAL", "EMSGSIZE", "ENOPROTOOPT", "EOPNOTSUPP", "ENOBUFS", "other");
    private static final int[] ERRNOS = {1, 5, 12, 22, 90, 92, 95, 105};
    private static final ConcurrentHashMap<String, LongAdder> COUNTS = new ConcurrentHashMap<>();

    private Fallbacks() {}

    /** The name {@link #CAUSES} uses for {@code errno} (x86-64/arm64 numbering). */
    public static String cause(int errno) {
        for (int i = 0; i < ERRNOS.length; i++) if (ERRNOS[i] == errno) return CAUSES.get(i);
        return "other";
    }

    /** Counts one refusal of {@code kind} with {@code errno}; the first of each cause is said, with {@code what} was done instead. */
    public static void record(Kind kind, int errno, String what) {
        String cause = cause(errno);
        LongAdder n = COUNTS.computeIfAbsent(kind + "/" + cause, k -> new LongAdder());
        boolean first = n.sum() == 0;
        n.increment();
        if (first) System.err.println("wiremesh-wg: " + kind.label().replace('_', ' ') + " refused by the kernel (" + cause
                + (cause.equals("other") ? " " + errno : "") + "): " + what);
    }

    /** How many refusals of {@code kind} had {@code cause} (one of {@link #CAUSES}) since the process started. */
    public static long count(Kind kind, String cause) {
        LongAdder n = COUNTS.get(kind + "/" + cause);
        return n == null ? 0 : n.sum();
    }
}
