package io.wiremesh.wireguard.device;

/** Why a packet was dropped; every drop is counted under one of these. */
public enum Drop {
    TOO_SHORT,
    BAD_TYPE,
    BAD_SIZE,
    BAD_MAC1,
    COOKIE_REQUIRED,
    RATE_LIMITED,
    BAD_HANDSHAKE,
    UNKNOWN_PEER,
    REPLAYED_TIMESTAMP,
    INITIATION_FLOOD,
    UNKNOWN_INDEX,
    EXPIRED_SESSION,
    DECRYPT_FAILED,
    REPLAYED_COUNTER,
    BAD_INNER_PACKET,
    DISALLOWED_SOURCE,
    NO_ROUTE,
    NO_ENDPOINT,
    QUEUE_FULL,
    STAGED_OVERFLOW,
    SEND_FAILED,
    TUN_WRITE_FAILED
}
