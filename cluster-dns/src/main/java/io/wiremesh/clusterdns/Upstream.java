package io.wiremesh.clusterdns;

import java.util.Optional;
import org.xbill.DNS.Message;

/** Where names that are not the cluster's are resolved: upstream DNS servers ({@link Forwarder}), or a fake in tests. */
public interface Upstream {
    /**
     * Sends a query and waits for its response.
     *
     * @param query a query of one question (its ID is the caller's; implementations may send another)
     * @return the response, with the query's ID and question; empty when no server answered in time
     */
    Optional<Message> exchange(Message query);

    /** No upstream: every forwarded question is answered SERVFAIL. */
    Upstream NONE = q -> Optional.empty();
}
