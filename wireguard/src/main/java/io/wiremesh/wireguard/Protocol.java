package io.wiremesh.wireguard;

import java.nio.charset.StandardCharsets;

/**
 * Constants of the WireGuard whitepaper (section 5 and 6), under the paper's names, so the
 * code can be read with the paper beside it.
 */
public final class Protocol {
    private Protocol() {}

    public static final byte[] CONSTRUCTION =
            "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s".getBytes(StandardCharsets.US_ASCII);
    public static final byte[] IDENTIFIER = "WireGuard v1 zx2c4 Jason@zx2c4.com".getBytes(StandardCharsets.US_ASCII);
    public static final byte[] LABEL_MAC1 = "mac1----".getBytes(StandardCharsets.US_ASCII);
    public static final byte[] LABEL_COOKIE = "cookie--".getBytes(StandardCharsets.US_ASCII);

    // Section 6.1: message counts and times (nanoseconds).
    public static final long REKEY_AFTER_MESSAGES = 1L << 60;
    /** 2^64 - 2^13 - 1, compared as unsigned. */
    public static final long REJECT_AFTER_MESSAGES = -1L - (1L << 13);
    public static final long SECOND = 1_000_000_000L;
    public static final long REKEY_AFTER_TIME = 120 * SECOND;
    public static final long REJECT_AFTER_TIME = 180 * SECOND;
    public static final long REKEY_ATTEMPT_TIME = 90 * SECOND;
    public static final long REKEY_TIMEOUT = 5 * SECOND;
    public static final long KEEPALIVE_TIMEOUT = 10 * SECOND;
    /** Extra random delay added to handshake retransmissions, so peers do not synchronise. */
    public static final long REKEY_TIMEOUT_JITTER_MAX = 334_000_000L;
    public static final int MAX_TIMER_HANDSHAKES = (int) (REKEY_ATTEMPT_TIME / REKEY_TIMEOUT);
    public static final long COOKIE_REFRESH_TIME = 120 * SECOND;
    /**
     * A sender stops using a cookie this long before the receiver's secret may rotate, so a mac2 in
     * flight is not made with an expired cookie (the kernel's COOKIE_SECRET_LATENCY, cookie.c).
     */
    public static final long COOKIE_SECRET_LATENCY = 5 * SECOND;
    /**
     * How long a device stays "under load" (cookies required) after its handshake queue was last at
     * least 1/8 full: wireguard-go's UnderLoadAfterTime, the kernel's UNDER_LOAD_TIMEOUT (1 s).
     */
    public static final long UNDER_LOAD_AFTER_TIME = SECOND;
    /** Initiations from one peer faster than this are dropped (flood protection, as wireguard-go). */
    public static final long HANDSHAKE_INITIATION_RATE = SECOND / 50;

    // Message types and sizes (section 5.4).
    public static final byte MESSAGE_INITIATION = 1;
    public static final byte MESSAGE_RESPONSE = 2;
    public static final byte MESSAGE_COOKIE_REPLY = 3;
    public static final byte MESSAGE_TRANSPORT = 4;

    public static final int INITIATION_SIZE = 148;
    public static final int RESPONSE_SIZE = 92;
    public static final int COOKIE_REPLY_SIZE = 64;
    /** type(1) reserved(3) receiver(4) counter(8). */
    public static final int TRANSPORT_HEADER_SIZE = 16;
    public static final int TRANSPORT_MIN_SIZE = TRANSPORT_HEADER_SIZE + 16;
    public static final int PADDING_MULTIPLE = 16;

    /** Largest IP packet carried; UDP payloads above this plus overhead are dropped. */
    public static final int MAX_CONTENT_SIZE = 65535 - TRANSPORT_MIN_SIZE - 28;
    public static final int DEFAULT_MTU = 1420;
    public static final int DEFAULT_LISTEN_PORT = 0;
}
