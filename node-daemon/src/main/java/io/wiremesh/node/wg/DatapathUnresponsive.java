package io.wiremesh.node.wg;

import java.io.IOException;

/**
 * A userspace datapath took a UAPI request (or its socket exists) but gave no complete answer within
 * {@link UapiDevice#TIMEOUT}: a process that hangs, not one that is gone. The node agent stops asking it
 * anything else for the pass, names the Ready condition {@code DatapathUnresponsive} and goes on with what
 * needs no datapath (routes, egress, status); the datapath's own liveness probe restarts it.
 */
public final class DatapathUnresponsive extends IOException {
    public DatapathUnresponsive(String message) {
        super(message);
    }

    /** Whether {@code e} or one of its causes is a {@link DatapathUnresponsive}. */
    public static boolean in(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) if (t instanceof DatapathUnresponsive) return true;
        return false;
    }
}
