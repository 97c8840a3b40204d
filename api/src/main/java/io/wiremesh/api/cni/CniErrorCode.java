package io.wiremesh.api.cni;

/**
 * The well-known CNI error codes that wiremesh reports, as the {@code code} of the error object a plugin
 * prints (CNI spec 1.1.0, section "Error", table of well-known error codes:
 * https://github.com/containernetworking/cni/blob/main/SPEC.md#error). Codes 0-99 are reserved for
 * the spec; 100 and above would be plugin specific (wiremesh defines none). The node-daemon's replies
 * carry the same numbers, so the plugin passes them through unchanged.
 */
public enum CniErrorCode {
    /** 1: incompatible CNI version. */
    INCOMPATIBLE_VERSION(1),
    /** 2: unsupported field in network configuration; the message must contain the field's key and value. */
    UNSUPPORTED_FIELD(2),
    /**
     * 3: container unknown or does not exist; tells the runtime that no network clean-up (such as a DEL)
     * is needed.
     */
    UNKNOWN_CONTAINER(3),
    /** 4: invalid necessary environment variables (CNI_COMMAND, CNI_CONTAINERID, ...); the message must name them. */
    INVALID_ENV(4),
    /** 5: I/O failure, e.g. the network configuration could not be read from stdin. */
    IO_FAILURE(5),
    /** 6: failed to decode content, e.g. the network configuration or version information does not parse. */
    DECODE_FAILURE(6),
    /** 7: invalid network configuration: a validation of the configuration did not pass. */
    INVALID_CONFIG(7),
    /** 11: try again later: a transient condition that should clear up; the runtime should retry. */
    TRY_AGAIN_LATER(11),
    /** 50: the plugin is not available, i.e. cannot service ADD requests (spec 1.1.0, for STATUS). */
    NOT_AVAILABLE(50),
    /**
     * 51: the plugin is not available, and existing containers in the network may have limited
     * connectivity (spec 1.1.0, for STATUS).
     */
    NOT_AVAILABLE_LIMITED_CONNECTIVITY(51);

    private final int code;

    CniErrorCode(int code) {
        this.code = code;
    }

    /** The number on the wire (the error object's {@code code}). */
    public int code() {
        return code;
    }
}
