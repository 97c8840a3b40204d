package io.wiremesh.clusterdns;

import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;

/**
 * One request's bytes to its response's bytes, for either transport: {@link Wire} reads and writes,
 * the {@link Resolver} answers, {@link Metrics} counts. Safe for concurrent use.
 */
public final class Exchange {
    /** How the request came, which decides the response's size limit. */
    public enum Transport { UDP, TCP }

    private final Resolver resolver;
    private final Metrics metrics;

    /**
     * @param resolver answers parsed queries
     * @param metrics counts requests and responses
     */
    public Exchange(Resolver resolver, Metrics metrics) {
        this.resolver = resolver;
        this.metrics = metrics;
    }

    /**
     * @param request a whole DNS message (without TCP length prefix)
     * @param transport where it came from
     * @return the response's bytes, at most 512 bytes or the query's EDNS0 size over UDP, 65535 over TCP;
     *         null when nothing is to be sent (see {@link Wire.Drop})
     */
    public byte[] handle(byte[] request, Transport transport) {
        metrics.request(transport);
        byte[] out = switch (Wire.parse(request)) {
            case Wire.Drop d -> null;
            case Wire.Reply r -> r.bytes();
            case Wire.Query q -> {
                Message response = resolver.resolve(q.message());
                int limit = transport == Transport.UDP ? Wire.udpLimit(q.message()) : Wire.MAX_TCP_SIZE;
                yield Wire.encode(response, q.message(), limit);
            }
        };
        if (out == null) {
            metrics.dropped();
            return null;
        }
        try {
            Header h = new Header(out);
            metrics.response(h.getRcode(), h.getFlag(Flags.TC));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("a response this server made is unreadable", e);
        }
        return out;
    }
}
