package io.wiremesh.node.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** One netlink attribute (type without the nested/byte-order flags, and its payload). */
record Attr(int type, ByteBuffer data) {
    static final int NLA_F_NESTED = 0x8000;
    static final int NLA_TYPE_MASK = 0x3fff;

    /** The attributes in {@code b} from {@code offset} to the end. */
    static List<Attr> parse(ByteBuffer b, int offset) {
        List<Attr> out = new ArrayList<>();
        for (int off = offset; off + 4 <= b.limit(); ) {
            int len = b.getShort(off) & 0xffff;
            if (len < 4 || off + len > b.limit()) break;
            ByteBuffer d = b.slice(off + 4, len - 4).order(ByteOrder.nativeOrder());
            out.add(new Attr(b.getShort(off + 2) & NLA_TYPE_MASK, d));
            off += (len + 3) & ~3;
        }
        return out;
    }

    List<Attr> nested() {
        return parse(data, 0);
    }

    byte[] bytes() {
        byte[] a = new byte[data.remaining()];
        data.get(0, a);
        return a;
    }
}
