package io.wiremesh.wireguard.noise;

/** Field offsets of the four message types (whitepaper section 5.4); integers are little-endian. */
public final class Messages {
    private Messages() {}

    // Handshake initiation: type, reserved, sender, ephemeral, static, timestamp, mac1, mac2.
    public static final int INIT_SENDER = 4;
    public static final int INIT_EPHEMERAL = 8;
    public static final int INIT_STATIC = 40;
    public static final int INIT_TIMESTAMP = 88;
    public static final int INIT_MAC1 = 116;
    public static final int INIT_MAC2 = 132;

    // Handshake response: type, reserved, sender, receiver, ephemeral, empty, mac1, mac2.
    public static final int RESP_SENDER = 4;
    public static final int RESP_RECEIVER = 8;
    public static final int RESP_EPHEMERAL = 12;
    public static final int RESP_EMPTY = 44;
    public static final int RESP_MAC1 = 60;
    public static final int RESP_MAC2 = 76;

    // Cookie reply: type, reserved, receiver, nonce, encrypted cookie.
    public static final int COOKIE_RECEIVER = 4;
    public static final int COOKIE_NONCE = 8;
    public static final int COOKIE_ENCRYPTED = 32;

    // Transport data: type, reserved, receiver, counter, packet.
    public static final int DATA_RECEIVER = 4;
    public static final int DATA_COUNTER = 8;
    public static final int DATA_PAYLOAD = 16;

    public static int getInt(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    public static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
        b[off + 2] = (byte) (v >>> 16);
        b[off + 3] = (byte) (v >>> 24);
    }

    public static byte[] slice(byte[] b, int off, int len) {
        byte[] out = new byte[len];
        System.arraycopy(b, off, out, 0, len);
        return out;
    }
}
