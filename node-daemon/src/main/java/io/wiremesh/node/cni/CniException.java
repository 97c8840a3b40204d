package io.wiremesh.node.cni;

/** A CNI failure with its spec error code (spec section "Error"). */
public final class CniException extends Exception {
    public static final int INCOMPATIBLE_VERSION = 1;
    public static final int UNSUPPORTED_FIELD = 2;
    public static final int UNKNOWN_CONTAINER = 3;
    public static final int INVALID_ENV = 4;
    public static final int IO_FAILURE = 5;
    public static final int DECODE_FAILURE = 6;
    public static final int INVALID_CONFIG = 7;
    public static final int TRY_AGAIN_LATER = 11;
    public static final int NOT_AVAILABLE = 50;

    public final int code;
    public final String details;

    public CniException(int code, String msg, String details) {
        super(msg);
        this.code = code;
        this.details = details;
    }
}
