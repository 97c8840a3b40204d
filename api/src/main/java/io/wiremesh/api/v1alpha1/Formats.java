package io.wiremesh.api.v1alpha1;

/** Validation patterns shared by the CRD schemas (enforced by the API server) and the operator. */
public final class Formats {
    private Formats() {}

    /** An IPv4 or IPv6 prefix in CIDR notation. The operator re-checks it semantically. */
    public static final String CIDR = "^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}/([0-9]|[12][0-9]|3[0-2])"
            + "|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))$";
    /** An IPv4 or IPv6 address, without a prefix length. */
    public static final String IP = "^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*)$";
    /** A Curve25519 public key, base64 (32 bytes: the last character carries 4 bits). */
    public static final String WG_KEY = "^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$";
    /** The largest generation any schema accepts (2^53 - 1: exact in JSON numbers everywhere), so no counter overflows. */
    public static final long MAX_GENERATION = 9007199254740991L;
    /** host:port with an IPv4 address or a bracketed IPv6 address. */
    public static final String ENDPOINT = "^(([0-9]{1,3}\\.){3}[0-9]{1,3}|\\[[0-9a-fA-F:.]+\\]):[0-9]{1,5}$";
}
