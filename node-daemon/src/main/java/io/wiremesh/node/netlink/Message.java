package io.wiremesh.node.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

/** Builds one netlink message: nlmsghdr, a fixed family header, then (nested) rtattr attributes, 4-byte aligned. */
final class Message {
    static final int HEADER = 16;
    private final ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.nativeOrder());
    private final ArrayDeque<Integer> nests = new ArrayDeque<>();

    Message(short type, int flags) {
        b.putInt(0).putShort(type).putShort((short) flags).putInt(0).putInt(0);
    }

    Message u8(int v) {
        b.put((byte) v);
        return this;
    }

    Message u16(int v) {
        b.putShort((short) v);
        return this;
    }

    Message u32(int v) {
        b.putInt(v);
        return this;
    }

    Message attr(int type, byte[] data) {
        b.putShort((short) (4 + data.length)).putShort((short) type).put(data);
        align();
        return this;
    }

    Message attr16(int type, int value) {
        return attr(type, ByteBuffer.allocate(2).order(ByteOrder.nativeOrder()).putShort((short) value).array());
    }

    Message attr8(int type, int value) {
        return attr(type, new byte[] {(byte) value});
    }

    Message attr(int type, int value) {
        return attr(type, ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(value).array());
    }

    Message attr(int type, String value) {
        byte[] s = value.getBytes(StandardCharsets.US_ASCII);
        byte[] z = new byte[s.length + 1];
        System.arraycopy(s, 0, z, 0, s.length);
        return attr(type, z);
    }

    Message begin(int type) {
        nests.push(b.position());
        b.putShort((short) 0).putShort((short) type);
        return this;
    }

    Message end() {
        int start = nests.pop();
        b.putShort(start, (short) (b.position() - start));
        return this;
    }

    private void align() {
        while ((b.position() & 3) != 0) b.put((byte) 0);
    }

    /** The finished message with length and sequence number filled in. */
    ByteBuffer finish(int seq) {
        align();
        b.putInt(0, b.position());
        b.putInt(8, seq);
        ByteBuffer out = b.duplicate().order(ByteOrder.nativeOrder());
        out.flip();
        return out;
    }
}
