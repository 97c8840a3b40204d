package io.wiremesh.node.cni;

import io.wiremesh.api.cni.CniErrorCode;

/** A CNI failure with its spec error code (spec section "Error"), answered to the plugin as a failed reply. */
public final class CniException extends Exception {
    public final CniErrorCode code;
    public final String details;

    /**
     * @param code    the well-known code the runtime acts on (e.g. 11 retries later, 3 skips clean-up)
     * @param msg     the short message
     * @param details the longer explanation (what to do about it), or null
     */
    public CniException(CniErrorCode code, String msg, String details) {
        super(msg);
        this.code = code;
        this.details = details;
    }
}
